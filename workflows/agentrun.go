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
	"github.com/telos-dev/telos/llm"
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
	// Turn, Conversation and ToolResults drive one turn of an agent step;
	// ToolCall makes the attempt one of its tool calls.
	Turn         int              `json:"turn,omitempty"`
	Conversation string           `json:"conversation,omitempty"` // blob ref of the messages so far
	ToolResults  []ToolResult     `json:"tool_results,omitempty"`
	ToolCall     *llm.ToolCall    `json:"tool_call,omitempty"`
	Run          StepRun          `json:"run"`
	Step         agents.Step      `json:"step"`
	Outputs      map[string]Value `json:"outputs,omitempty"`
}

// ToolResult is a tool call's answer, given back to the model.
type ToolResult struct {
	ID      string `json:"id"`
	Content string `json:"content"`
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
		var out StepResult
		var err error
		if st.Agent != nil {
			out, err = runAgentStep(ctx, sin)
		} else {
			actx := workflow.WithActivityOptions(ctx, StepActivityOptions(st))
			err = workflow.ExecuteActivity(actx, RunStepActivity, sin).Get(actx, &out)
		}
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

// ErrAgentLimit ends an agent step that reached one of its limits.
const ErrAgentLimit = "agent_limit"

// turnOutput is what an agent turn returns through history: the tool calls
// to make, or the final answer, and where the conversation is stored.
type turnOutput struct {
	Text         string         `json:"text"`
	ToolCalls    []llm.ToolCall `json:"tool_calls"`
	Conversation string         `json:"conversation"`
}

// runAgentStep is the loop of an agent step: a model turn, then each tool
// call it asks for, each its own activity and ledger record, until the model
// answers or a limit — turns, tool calls, tokens, or the same call three
// times — ends the step with a clear error.
func runAgentStep(ctx workflow.Context, in StepInput) (StepResult, error) {
	st := in.Step
	maxTurns, maxCalls, tokenBudget := st.Agent.Limits()
	stop := func(format string, args ...any) (StepResult, error) {
		return StepResult{}, temporal.NewNonRetryableApplicationError("stopped: "+fmt.Sprintf(format, args...), ErrAgentLimit, nil)
	}
	var total StepResult
	calls := 0
	seen := map[string]int{}
	for turn := 1; ; turn++ {
		if turn > maxTurns {
			return stop("%d turns (max_turns) without a final answer", maxTurns)
		}
		opts := StepActivityOptions(st)
		opts.ActivityID = fmt.Sprintf("step/%s/turn/%d", st.ID, turn)
		in.Turn, in.ToolCall = turn, nil
		var res StepResult
		tctx := workflow.WithActivityOptions(ctx, opts)
		if err := workflow.ExecuteActivity(tctx, RunStepActivity, in).Get(tctx, &res); err != nil {
			return StepResult{}, err
		}
		total.Usage, total.Cost = total.Usage.Add(res.Usage), total.Cost+res.Cost
		var out turnOutput
		if err := json.Unmarshal(res.Output.Inline, &out); err != nil {
			return StepResult{}, fmt.Errorf("agent turn output: %w", err)
		}
		if len(out.ToolCalls) == 0 {
			total.Output = res.Output
			return total, nil
		}
		if total.Usage.Total() >= tokenBudget {
			return stop("%d tokens used, the step's token_budget is %d", total.Usage.Total(), tokenBudget)
		}
		in.Conversation, in.ToolResults = out.Conversation, nil
		for _, tc := range out.ToolCalls {
			calls++
			if calls > maxCalls {
				return stop("%d tool calls (max_tool_calls)", maxCalls)
			}
			key := tc.Name + "\x00" + tc.Arguments
			if seen[key]++; seen[key] >= 3 {
				return stop("the model asked for %s with the same arguments 3 times", tc.Name)
			}
			call := tc
			topts := StepActivityOptions(st)
			topts.ActivityID = fmt.Sprintf("step/%s/tool/%d", st.ID, calls)
			tin := in
			tin.ToolCall, tin.ToolResults = &call, nil
			var tres StepResult
			cctx := workflow.WithActivityOptions(ctx, topts)
			if err := workflow.ExecuteActivity(cctx, RunStepActivity, tin).Get(cctx, &tres); err != nil {
				return StepResult{}, err
			}
			var content struct {
				Content string `json:"content"`
			}
			_ = json.Unmarshal(tres.Output.Inline, &content)
			in.ToolResults = append(in.ToolResults, ToolResult{ID: tc.ID, Content: content.Content})
		}
	}
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
