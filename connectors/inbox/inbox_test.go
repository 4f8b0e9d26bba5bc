package inbox_test

import (
	"context"
	"errors"
	"testing"

	"github.com/telos-dev/telos/connectors"
	"github.com/telos-dev/telos/connectors/inbox"
)

// fakeStore is a Store whose behaviour each test sets.
type fakeStore struct {
	deliverMessage func(ctx context.Context, m inbox.Message) (string, error)
}

func (f fakeStore) DeliverMessage(ctx context.Context, m inbox.Message) (string, error) {
	return f.deliverMessage(ctx, m)
}

func newRegistry(t *testing.T, store inbox.Store) *connectors.Registry {
	t.Helper()
	r := connectors.NewRegistry()
	for _, a := range inbox.Actions(store) {
		r.Register(a)
	}
	return r
}

func TestDeliver(t *testing.T) {
	var got []inbox.Message
	store := fakeStore{deliverMessage: func(_ context.Context, m inbox.Message) (string, error) {
		got = append(got, m)
		return "m-1", nil
	}}
	reg := newRegistry(t, store)

	res, err := reg.Call(context.Background(), "inbox.deliver", connectors.Request{
		RunID: "run-7", Agent: "digest", Team: "platform", StepID: "deliver",
		Input: map[string]any{"text": "two releases need action", "title": "Echo digest"},
	})
	if err != nil {
		t.Fatalf("got error %v, want none", err)
	}
	want := inbox.Message{
		Team: "platform", Agent: "digest", RunID: "run-7", StepID: "deliver",
		Title: "Echo digest", Text: "two releases need action",
	}
	if len(got) != 1 || got[0] != want {
		t.Errorf("got delivered %+v, want [%+v]", got, want)
	}
	if res.OutcomeRef != "inbox:m-1" {
		t.Errorf("got outcome ref %q, want %q", res.OutcomeRef, "inbox:m-1")
	}
	if res.Output["message_id"] != "m-1" {
		t.Errorf("got message_id %v, want %q", res.Output["message_id"], "m-1")
	}
	if err := reg.CheckOutput("inbox.deliver", res.Output); err != nil {
		t.Errorf("output does not match the declared schema: %v", err)
	}
}

func TestDeliverRefusals(t *testing.T) {
	store := fakeStore{deliverMessage: func(context.Context, inbox.Message) (string, error) {
		t.Errorf("got a delivery, want none")
		return "", nil
	}}
	reg := newRegistry(t, store)

	tests := []struct {
		name string
		req  connectors.Request
		code string
	}{
		{"team in input", connectors.Request{Team: "platform", Input: map[string]any{"text": "hi", "team": "finance"}}, connectors.CodeInvalidInput},
		{"no text", connectors.Request{Team: "platform", Input: map[string]any{"title": "t"}}, connectors.CodeInvalidInput},
		{"text not a string", connectors.Request{Team: "platform", Input: map[string]any{"text": 3.0}}, connectors.CodeInvalidInput},
		{"run without team", connectors.Request{Input: map[string]any{"text": "hi"}}, connectors.CodeInvalidInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := reg.Call(context.Background(), "inbox.deliver", tt.req)
			var cerr *connectors.Error
			if !errors.As(err, &cerr) || cerr.Code != tt.code {
				t.Errorf("got %v, want code %q", err, tt.code)
			}
		})
	}
}

func TestDeliverDryRun(t *testing.T) {
	store := fakeStore{deliverMessage: func(context.Context, inbox.Message) (string, error) {
		t.Errorf("got a delivery in a dry run, want none")
		return "", nil
	}}
	res, err := newRegistry(t, store).Call(context.Background(), "inbox.deliver", connectors.Request{
		Team: "platform", DryRun: true, Input: map[string]any{"text": "hi"},
	})
	if err != nil {
		t.Fatalf("got error %v, want none", err)
	}
	if res.Output["dry_run"] != true || res.OutcomeRef != "" {
		t.Errorf("got %v %q, want dry_run output and no outcome", res.Output, res.OutcomeRef)
	}
}

func TestDeliverIdempotencyIsTheStores(t *testing.T) {
	// A store that de-duplicates on RunID and StepID, as the real one must.
	stored := map[[2]string]string{}
	store := fakeStore{deliverMessage: func(_ context.Context, m inbox.Message) (string, error) {
		key := [2]string{m.RunID, m.StepID}
		if id, ok := stored[key]; ok {
			return id, nil
		}
		stored[key] = "m-" + m.StepID
		return stored[key], nil
	}}
	reg := newRegistry(t, store)
	req := connectors.Request{RunID: "run-1", StepID: "s", Team: "platform", Input: map[string]any{"text": "hi"}}
	first, err := reg.Call(context.Background(), "inbox.deliver", req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := reg.Call(context.Background(), "inbox.deliver", req)
	if err != nil {
		t.Fatal(err)
	}
	if first.OutcomeRef != again.OutcomeRef || len(stored) != 1 {
		t.Errorf("got refs %q and %q with %d stored, want the same ref and 1 stored", first.OutcomeRef, again.OutcomeRef, len(stored))
	}
}

func TestDeliverStoreError(t *testing.T) {
	boom := errors.New("database is locked")
	store := fakeStore{deliverMessage: func(context.Context, inbox.Message) (string, error) { return "", boom }}
	_, err := newRegistry(t, store).Call(context.Background(), "inbox.deliver", connectors.Request{
		Team: "platform", Input: map[string]any{"text": "hi"},
	})
	if !errors.Is(err, boom) {
		t.Errorf("got %v, want it to wrap %v", err, boom)
	}
}
