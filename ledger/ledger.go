// Package ledger defines the record Telos keeps of every step attempt: what it
// was for, which model and tokens it used, what it cost exactly and what it
// produced. Records are keyed by (workflow run id, activity id, attempt) so a
// replayed or re-delivered activity never writes twice.
package ledger

import (
	"time"

	"github.com/telos-dev/telos/agents"
)

// Status of one step attempt.
const (
	StatusCompleted      = "completed"
	StatusFailed         = "failed"
	StatusBudgetExceeded = "budget_exceeded"
	StatusCanceled       = "canceled"
	// StatusRefused marks a write to a destination the spec does not declare.
	StatusRefused = "refused"
)

// Entry is one step attempt.
type Entry struct {
	ID int64 `json:"-"`
	// Idempotency key.
	WorkflowRunID string `json:"-"`
	ActivityID    string `json:"-"`
	Attempt       int    `json:"attempt"`

	RunID           string `json:"run_id"`
	Agent           string `json:"agent"`
	Version         int    `json:"version"`
	Team            string `json:"team"`
	Owner           string `json:"owner"`
	Trigger         string `json:"trigger"`
	StepID          string `json:"step_id"`
	Kind            string `json:"kind"`
	Action          string `json:"action,omitempty"`
	Purpose         string `json:"purpose"`
	PurposeCategory string `json:"purpose_category"`

	Provider string `json:"provider"`
	Model    string `json:"model"`
	agents.Usage
	Cost           agents.Money `json:"cost_usd"`
	PriceVersion   string       `json:"price_version,omitempty"`
	Unpriced       bool         `json:"unpriced"`
	Simulated      bool         `json:"simulated"`
	UsageEstimated bool         `json:"usage_estimated"`

	Status     string    `json:"status"`
	Error      string    `json:"error"`
	OutcomeRef string    `json:"outcome_ref,omitempty"`
	OutputRef  string    `json:"output_ref,omitempty"`
	PromptHash string    `json:"prompt_hash,omitempty"`
	AnswerHash string    `json:"answer_hash,omitempty"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
}

// Totals sums usage and cost over entries. Unpriced counts entries whose cost is
// unknown; their tokens are in the totals but their cost is not, and every view
// must say so.
type Totals struct {
	agents.Usage
	Cost      agents.Money `json:"cost_usd"`
	Unpriced  int64        `json:"unpriced_entries"`
	Simulated int64        `json:"simulated_entries"`
	Entries   int64        `json:"entries"`
}

// Add counts e into t.
func (t *Totals) Add(e Entry) {
	t.Usage = t.Usage.Add(e.Usage)
	t.Cost += e.Cost
	t.Entries++
	if e.Unpriced {
		t.Unpriced++
	}
	if e.Simulated {
		t.Simulated++
	}
}
