// Package workflows holds the AgentRun workflow, a deterministic interpreter of
// an agent spec, and the activities that do its I/O: LLM calls, connector
// actions, the ledger and the run's final status.
package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/telos-dev/telos/agents"
)

// TaskQueue is where AgentRun workflows and their activities are scheduled.
const TaskQueue = "telos-agents"

// Error types that end a step without retrying.
const (
	ErrBudgetExceeded = "budget_exceeded"
	ErrInvalid        = "invalid"
	ErrNonRetryable   = "non_retryable"
	ErrRefused        = "refused"
)

// InlineLimit is the largest value passed through workflow history; anything
// larger is stored in the store and passed by reference. A value inline is
// copied into the input of every step that references it, so the limit is
// well below Temporal's payload limit: 64 steps reading a 16 KiB output add
// 1 MiB of history, far from the 50 MiB limit.
const InlineLimit = 16 << 10

// Value is JSON data that is either inline or stored under a blob hash.
type Value struct {
	Inline json.RawMessage `json:"inline,omitempty"`
	Ref    string          `json:"ref,omitempty"`
}

// RunInput starts one AgentRun.
type RunInput struct {
	RunID   string      `json:"run_id"`
	Team    string      `json:"team"`
	Agent   string      `json:"agent"`
	Version int         `json:"version"`
	Owner   string      `json:"owner"`
	Trigger string      `json:"trigger"`
	DryRun  bool        `json:"dry_run,omitempty"`
	Spec    agents.Spec `json:"spec"`
	Inputs  Value       `json:"inputs"`
}

// RunResult is how a run ended.
type RunResult struct {
	Status  string           `json:"status"`
	Error   string           `json:"error,omitempty"`
	Outputs map[string]Value `json:"outputs,omitempty"`
}

// StepRun is what a step needs to know about its run. It leaves out the
// spec: every activity's input is kept in the workflow history, so carrying
// the whole spec into each step would grow the history with steps × spec size.
type StepRun struct {
	RunID    string         `json:"run_id"`
	Team     string         `json:"team"`
	Agent    string         `json:"agent"`
	Version  int            `json:"version"`
	Owner    string         `json:"owner"`
	Trigger  string         `json:"trigger"`
	DryRun   bool           `json:"dry_run,omitempty"`
	Model    string         `json:"model,omitempty"`
	Category string         `json:"category"`
	Budget   *agents.Budget `json:"budget,omitempty"`
	// Allow is the spec's declared write destinations.
	Allow  map[string][]string `json:"allow,omitempty"`
	Inputs Value               `json:"inputs"`
}

// stepRun is the part of a run its steps need.
func (in RunInput) stepRun() StepRun {
	return StepRun{RunID: in.RunID, Team: in.Team, Agent: in.Agent, Version: in.Version, Owner: in.Owner, Trigger: in.Trigger,
		DryRun: in.DryRun, Model: in.Spec.Model, Category: in.Spec.Purpose.Category, Budget: in.Spec.Budget, Allow: in.Spec.Allow, Inputs: in.Inputs}
}

// StepInput is what the step activity needs: the run, the step, the run's
// inputs and the outputs of the earlier steps this step references.
type StepInput struct {
	Run     StepRun          `json:"run"`
	Step    agents.Step      `json:"step"`
	Outputs map[string]Value `json:"outputs,omitempty"`
}

// StepResult is what one step produced.
type StepResult struct {
	Output Value        `json:"output"`
	Usage  agents.Usage `json:"usage"`
	Cost   agents.Money `json:"cost"`
}

// FinishInput records a run's final status.
type FinishInput struct {
	RunID  string `json:"run_id"`
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
}

// Activity names, registered by the worker.
const (
	RunStepActivity   = "RunStep"
	FinishRunActivity = "FinishRun"
)

// Defaults for step attempts.
const (
	llmTimeout       = 2 * time.Minute
	connectorTimeout = time.Minute
	// Steps heartbeat so that canceling a run reaches the running attempt.
	// The SDK sends heartbeats at most every 0.8 × the timeout, and a
	// cancellation reaches the attempt only with a heartbeat's answer.
	heartbeatTimeout  = 5 * time.Second
	heartbeatInterval = time.Second
)

// StepActivityOptions returns the timeouts and retry policy of a step: LLM
// steps retry rate limits, 5xx and timeouts with backoff, at most 3 attempts;
// nothing retries invalid input or a budget refusal.
func StepActivityOptions(st agents.Step) workflow.ActivityOptions {
	timeout := connectorTimeout
	if st.LLM != nil {
		timeout = llmTimeout
	}
	if st.TimeoutSeconds > 0 {
		timeout = time.Duration(st.TimeoutSeconds) * time.Second
	}
	return workflow.ActivityOptions{
		ActivityID:          "step/" + st.ID,
		StartToCloseTimeout: timeout,
		HeartbeatTimeout:    heartbeatTimeout,
		// A canceled run waits for the attempt to stop, so its ledger entry
		// is written before the run's final status.
		WaitForCancellation: true,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        30 * time.Second,
			MaximumAttempts:        3,
			NonRetryableErrorTypes: []string{ErrBudgetExceeded, ErrInvalid, ErrNonRetryable, ErrRefused},
		},
	}
}

// AgentRun interprets a spec: one activity per step, in order, each given the
// outputs of the earlier steps it references. It never does I/O itself.
func AgentRun(ctx workflow.Context, in RunInput) (RunResult, error) {
	logger := workflow.GetLogger(ctx)
	outputs := make(map[string]Value, len(in.Spec.Steps))
	run := in.stepRun()
	res := RunResult{Status: "completed", Outputs: outputs}

	for _, st := range in.Spec.Steps {
		refs := agents.StepRefs(st)
		sin := StepInput{Run: run, Step: st, Outputs: make(map[string]Value, len(refs))}
		for _, id := range refs {
			sin.Outputs[id] = outputs[id]
		}
		actx := workflow.WithActivityOptions(ctx, StepActivityOptions(st))
		var out StepResult
		err := workflow.ExecuteActivity(actx, RunStepActivity, sin).Get(actx, &out)
		if err != nil {
			res.Status, res.Error = statusOf(err), fmt.Sprintf("step %s: %s", st.ID, errorMessage(err))
			if ctx.Err() != nil {
				res.Status, res.Error = "canceled", fmt.Sprintf("step %s: canceled", st.ID)
			}
			logger.Info("step ended the run", "step", st.ID, "status", res.Status)
			break
		}
		outputs[st.ID] = out.Output
	}

	// Record the final status even when the run was canceled.
	fctx, cancel := workflow.NewDisconnectedContext(ctx)
	defer cancel()
	fctx = workflow.WithActivityOptions(fctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 10},
	})
	if err := workflow.ExecuteActivity(fctx, FinishRunActivity, FinishInput{RunID: in.RunID, Status: res.Status, Error: res.Error}).Get(fctx, nil); err != nil {
		return res, fmt.Errorf("record run status: %w", err)
	}
	return res, nil
}

// statusOf maps a step failure to the run's status.
func statusOf(err error) string {
	var canceled *temporal.CanceledError
	if errors.As(err, &canceled) {
		return "canceled"
	}
	var app *temporal.ApplicationError
	if errors.As(err, &app) && app.Type() == ErrBudgetExceeded {
		return "budget_exceeded"
	}
	return "failed"
}

// errorMessage is the innermost message of a workflow error chain, without
// Temporal's activity wrapping.
func errorMessage(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Message()
	}
	var canceled *temporal.CanceledError
	if errors.As(err, &canceled) {
		return "canceled"
	}
	var timeout *temporal.TimeoutError
	if errors.As(err, &timeout) {
		return "timed out"
	}
	return err.Error()
}
