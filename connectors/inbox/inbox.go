// Package inbox provides inbox.deliver, the offline stand-in for chat
// delivery: it hands a message to a Store (the Telos database in practice),
// where the team reads it, instead of posting to Slack or email. It lets
// agents run end to end, and be reviewed, on a machine with no network.
package inbox

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/telos-dev/telos/connectors"
)

// Message is one delivery to a team's inbox.
type Message struct {
	// Team is the team that owns the run; messages never go to another team.
	Team string
	// Agent, RunID and StepID say where the message came from. A store
	// de-duplicates on RunID and StepID, so a retried step delivers once.
	Agent, RunID, StepID string
	Title, Text          string
}

// Store keeps delivered messages.
type Store interface {
	// DeliverMessage stores m and returns its id. Delivering again for the
	// same RunID and StepID must return the first message's id without
	// storing a second one.
	DeliverMessage(ctx context.Context, m Message) (id string, err error)
}

// Actions returns inbox.deliver over store.
func Actions(store Store) []connectors.Action {
	return []connectors.Action{{
		ID:          "inbox.deliver",
		Class:       connectors.Write,
		Description: "Deliver a message to the inbox of the team that owns the agent.",
		InputSchema: json.RawMessage(`{
			"type": "object",
			"properties": {
				"text": {"type": "string", "minLength": 1, "description": "The message."},
				"title": {"type": "string", "description": "A short title."}
			},
			"required": ["text"],
			"additionalProperties": false
		}`),
		OutputSchema: json.RawMessage(`{
			"type": "object",
			"properties": {"message_id": {"type": "string"}, "dry_run": {"type": "boolean"}}
		}`),
		// The team is the run's, not a parameter: an agent cannot choose
		// another team's inbox.
		Destination: "team",
		Do: func(ctx context.Context, req connectors.Request) (connectors.Result, error) {
			return deliver(ctx, store, req)
		},
	}}
}

func deliver(ctx context.Context, store Store, req connectors.Request) (connectors.Result, error) {
	if req.Team == "" {
		return connectors.Result{}, connectors.Errorf(connectors.CodeInvalidInput, "inbox.deliver: the run has no team")
	}
	if req.DryRun {
		return connectors.Result{Output: map[string]any{"dry_run": true}}, nil
	}
	text, _ := req.Input["text"].(string)
	title, _ := req.Input["title"].(string)
	id, err := store.DeliverMessage(ctx, Message{
		Team:   req.Team,
		Agent:  req.Agent,
		RunID:  req.RunID,
		StepID: req.StepID,
		Title:  title,
		Text:   text,
	})
	if err != nil {
		return connectors.Result{}, fmt.Errorf("inbox.deliver to team %q: %w", req.Team, err)
	}
	return connectors.Result{
		Output:     map[string]any{"message_id": id},
		OutcomeRef: "inbox:" + id,
	}, nil
}
