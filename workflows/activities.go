package workflows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/telos-dev/telos/agents"
	"github.com/telos-dev/telos/budget"
	"github.com/telos-dev/telos/connectors"
	"github.com/telos-dev/telos/connectors/inbox"
	"github.com/telos-dev/telos/ledger"
	"github.com/telos-dev/telos/llm"
	"github.com/telos-dev/telos/store"
)

// Store is what the activities need from the store.
type Store interface {
	AppendLedger(ctx context.Context, e ledger.Entry) (bool, error)
	PutBlob(ctx context.Context, data []byte) (string, error)
	Blob(ctx context.Context, hash string) ([]byte, error)
	FinishRun(ctx context.Context, id, status, errMsg string) error
	TeamBudget(ctx context.Context, team string) (store.TeamBudget, error)
	Categories(ctx context.Context) ([]store.Category, error)
	RecordAlert(ctx context.Context, scope, windowStart string, threshold int) (bool, error)
	DeliverMessage(ctx context.Context, m inbox.Message) (string, error)
	AppendAudit(ctx context.Context, e store.AuditEntry) error
}

// Activities does the I/O of AgentRun. Register it on a worker with
// RegisterActivity; its dependencies are injected, never global.
type Activities struct {
	Store      Store
	Connectors *connectors.Registry
	// Provider answers LLM steps of real runs; Sim answers dry runs.
	Provider     llm.Provider
	ProviderName string
	Sim          llm.Provider
	Prices       agents.PriceTable
	// Budgets holds hard budgets in Redis: every LLM call reserves its
	// worst case against each budget that applies before it is made.
	Budgets *budget.Engine
	Now     func() time.Time
	// AfterLLM, when set, runs after the provider answered and before the
	// attempt completes. Tests use it to fail an attempt that has already cost
	// money and prove that the ledger keeps both attempts.
	AfterLLM func(ctx context.Context, stepID string, attempt int32) error
}

// defaultMaxTokens is what a step without max_tokens is assumed to spend at
// most when its budget is checked.
const defaultMaxTokens = 1024

// RunStep runs one step attempt — an LLM call, a connector action, or one
// turn or tool call of an agent step — and writes its ledger entry, whatever
// the outcome.
func (a *Activities) RunStep(ctx context.Context, in StepInput) (StepResult, error) {
	switch {
	case in.ToolCall != nil:
		return a.attempt(ctx, in, "tool", in.ToolCall.Name, func(scope agents.Scope, e *ledger.Entry) (map[string]any, error) {
			return a.runTool(ctx, in, e)
		})
	case in.Step.Agent != nil:
		return a.attempt(ctx, in, "agent", "", func(scope agents.Scope, e *ledger.Entry) (map[string]any, error) {
			return a.runTurn(ctx, in, scope, e)
		})
	case in.Step.LLM != nil:
		return a.attempt(ctx, in, "llm", "", func(scope agents.Scope, e *ledger.Entry) (map[string]any, error) {
			return a.runLLM(ctx, in, scope, e)
		})
	}
	return a.attempt(ctx, in, "connector", in.Step.Connector, func(scope agents.Scope, e *ledger.Entry) (map[string]any, error) {
		return a.runConnector(ctx, in, scope, e)
	})
}

// attempt runs body as one ledger-recorded attempt.
func (a *Activities) attempt(ctx context.Context, in StepInput, kind, action string, body func(agents.Scope, *ledger.Entry) (map[string]any, error)) (StepResult, error) {
	info := activity.GetInfo(ctx)
	stop := heartbeat(ctx)
	defer stop()
	e := ledger.Entry{
		WorkflowRunID:   info.WorkflowExecution.RunID,
		ActivityID:      info.ActivityID,
		Attempt:         int(info.Attempt),
		RunID:           in.Run.RunID,
		Agent:           in.Run.Agent,
		Version:         in.Run.Version,
		Team:            in.Run.Team,
		Owner:           in.Run.Owner,
		Trigger:         in.Run.Trigger,
		StepID:          in.Step.ID,
		Kind:            kind,
		Action:          action,
		Purpose:         in.Step.Purpose,
		PurposeCategory: in.Run.Category,
		StartedAt:       a.now(),
	}
	var res StepResult
	var output map[string]any
	scope, err := a.scope(ctx, in)
	if err == nil {
		output, err = body(scope, &e)
	}
	if err == nil {
		res.Output, e.OutputRef, err = a.storeValue(ctx, output)
	}
	e.FinishedAt = a.now()
	e.Status = ledger.StatusCompleted
	if err != nil {
		e.Status, e.Error = ledger.StatusFailed, err.Error()
		var app *temporal.ApplicationError
		if errors.As(err, &app) {
			e.Error = app.Message()
			switch app.Type() {
			case ErrBudgetExceeded:
				e.Status = ledger.StatusBudgetExceeded
			case ErrRefused:
				e.Status = ledger.StatusRefused
			}
		}
		if errors.Is(ctx.Err(), context.Canceled) {
			e.Status = ledger.StatusCanceled
		}
	}
	if in.ToolCall != nil && e.Status == ledger.StatusCompleted {
		if failed, _ := output["error"].(string); failed != "" {
			// The tool's failure went back to the model as its result.
			e.Status, e.Error = ledger.StatusFailed, failed
			if refused, _ := output["refused"].(bool); refused {
				e.Status = ledger.StatusRefused
			}
		}
	}
	// The ledger write must survive the attempt's own cancellation.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if _, lerr := a.Store.AppendLedger(wctx, e); lerr != nil {
		return StepResult{}, fmt.Errorf("write ledger: %w", lerr)
	}
	if err != nil {
		if ctx.Err() != nil {
			return StepResult{}, ctx.Err() // reported to the workflow as canceled
		}
		return StepResult{}, err
	}
	res.Usage, res.Cost = e.Usage, e.Cost
	return res, nil
}

func (a *Activities) runLLM(ctx context.Context, in StepInput, scope agents.Scope, e *ledger.Entry) (map[string]any, error) {
	st := in.Step.LLM
	system, err := agents.RenderText(st.System, scope)
	if err != nil {
		return nil, invalid("llm.system: %v", err)
	}
	prompt, err := agents.RenderText(st.Prompt, scope)
	if err != nil {
		return nil, invalid("llm.prompt: %v", err)
	}
	resp, err := a.callModel(ctx, in, e, llm.Request{Model: firstSet(st.Model, in.Run.Model), System: system, Prompt: prompt, MaxTokens: st.MaxTokens, Temperature: st.Temperature})
	if err != nil {
		return nil, err
	}
	return map[string]any{"text": resp.Text, "model": e.Model, "provider": e.Provider}, nil
}

// callModel makes one LLM call under the run's budgets and fills the ledger
// entry with its usage and exact cost.
func (a *Activities) callModel(ctx context.Context, in StepInput, e *ledger.Entry, req llm.Request) (llm.Response, error) {
	provider, providerName := a.Provider, a.ProviderName
	if in.Run.DryRun || provider == nil {
		provider, providerName = a.Sim, "sim"
	}
	system, prompt := req.Text()
	e.Provider, e.Model = providerName, req.Model
	e.PromptHash = store.Hash([]byte(system + "\x00" + prompt))
	price, priced := a.Prices.Lookup(req.Model)
	e.PriceVersion = a.Prices.Version

	resv, err := a.reserve(ctx, in, e, system, prompt, req.MaxTokens, price, priced)
	if err != nil {
		return llm.Response{}, err
	}
	// Settling and releasing must happen even when the attempt is canceled.
	bctx := context.WithoutCancel(ctx)

	resp, err := provider.Complete(ctx, req)
	if err != nil {
		if resv != nil {
			if rerr := a.Budgets.Release(bctx, resv); rerr != nil {
				activity.GetLogger(ctx).Warn("release budget reservation", "error", rerr)
			}
		}
		return llm.Response{}, providerError(err)
	}
	e.Usage, e.Simulated, e.UsageEstimated = resp.Usage, resp.Simulated, resp.UsageEstimated
	e.AnswerHash = store.Hash([]byte(resp.Text))
	if priced {
		cost, err := price.Cost(resp.Usage)
		if err != nil {
			return llm.Response{}, temporal.NewNonRetryableApplicationError("price usage: "+err.Error(), ErrNonRetryable, nil)
		}
		e.Cost = cost
	} else {
		e.Unpriced = true
	}
	if resv != nil {
		// The call happened: its actual cost counts, even past a limit.
		crossings, err := a.Budgets.Settle(bctx, resv, e.Cost, resp.Usage.Total())
		if err != nil {
			activity.GetLogger(ctx).Warn("settle budget reservation", "error", err)
		}
		var over []string
		for _, c := range crossings {
			a.alert(bctx, in, c)
			if c.Percent == 100 && ((c.Limit.USD > 0 && c.Spent.USD > c.Limit.USD) || (c.Limit.Tokens > 0 && c.Spent.Tokens > c.Limit.Tokens)) {
				over = append(over, fmt.Sprintf("%s %s", c.Limit.Scope, c.Limit.Window))
			}
		}
		// The provider answered with more than max_tokens allowed for: the
		// spend is recorded, and the run stops before doing anything more.
		if len(over) > 0 {
			return llm.Response{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf(
				"this call cost $%s (%d tokens), more than was reserved, and passed the budget of %s", e.Cost, resp.Usage.Total(), strings.Join(over, ", ")), ErrBudgetExceeded, nil)
		}
	}
	if a.AfterLLM != nil {
		if err := a.AfterLLM(ctx, in.Step.ID, activity.GetInfo(ctx).Attempt); err != nil {
			return llm.Response{}, err
		}
	}
	return resp, nil
}

func firstSet(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// reserve takes the call's worst case — its counted prompt plus max_tokens,
// priced — against every budget that applies, atomically. A call that would
// pass any hard budget does not happen: the step fails as budget_exceeded and
// is not retried.
func (a *Activities) reserve(ctx context.Context, in StepInput, e *ledger.Entry, system, prompt string, maxTokens int, price agents.Price, priced bool) (*budget.Reservation, error) {
	if a.Budgets == nil {
		return nil, nil
	}
	limits, err := a.limits(ctx, in)
	if err != nil || len(limits) == 0 {
		return nil, err
	}
	tok, err := llm.NewTokenizer(e.Model)
	if err != nil {
		return nil, err
	}
	if maxTokens <= 0 {
		maxTokens = defaultMaxTokens
	}
	est := agents.Usage{InputTokens: int64(tok.CountChat(system, prompt)), OutputTokens: int64(maxTokens)}
	var estCost agents.Money
	if priced {
		if estCost, err = price.Cost(est); err != nil {
			return nil, invalid("estimate cost: %v", err)
		}
	} else {
		for _, l := range limits {
			if l.USD > 0 {
				return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf(
					"model %q has no price, so the %s %s budget in dollars cannot be enforced; add it to the price table", e.Model, l.Scope, l.Window), ErrBudgetExceeded, nil)
			}
		}
	}
	id := fmt.Sprintf("%s/%s/%d", e.WorkflowRunID, e.ActivityID, e.Attempt)
	resv, err := a.Budgets.Reserve(ctx, id, limits, estCost, est.Total())
	var ex *budget.ExceededError
	if errors.As(err, &ex) {
		return nil, temporal.NewNonRetryableApplicationError(ex.Error(), ErrBudgetExceeded, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("budget: %w", err)
	}
	return resv, nil
}

// limits are the hard budgets of a call: the agent's per-run, per-day and
// per-month budgets, its team's and its purpose category's monthly budgets.
// A dry run is a forecast, so only its per-run budget applies.
func (a *Activities) limits(ctx context.Context, in StepInput) ([]budget.Limit, error) {
	var out []budget.Limit
	add := func(scope string, w budget.Window, l *agents.Limit) error {
		if l == nil {
			return nil
		}
		lim := budget.Limit{Scope: scope, Window: w}
		if l.Tokens != nil {
			lim.Tokens = *l.Tokens
		}
		if l.USD != nil {
			m, err := agents.ParseUSD(*l.USD)
			if err != nil {
				return invalid("budget of %s: %v", scope, err)
			}
			lim.USD = m
		}
		if lim.USD > 0 || lim.Tokens > 0 {
			out = append(out, lim)
		}
		return nil
	}
	agent := "agent:" + in.Run.Team + "/" + in.Run.Agent
	if b := in.Run.Budget; b != nil {
		if err := add("run:"+in.Run.RunID, budget.PerRun, b.PerRun); err != nil {
			return nil, err
		}
		if !in.Run.DryRun {
			if err := add(agent, budget.PerDay, b.PerDay); err != nil {
				return nil, err
			}
			if err := add(agent, budget.PerMonth, b.PerMonth); err != nil {
				return nil, err
			}
		}
	}
	if in.Run.DryRun {
		return out, nil
	}
	tb, err := a.Store.TeamBudget(ctx, in.Run.Team)
	if err != nil {
		return nil, err
	}
	if tb.MonthlyUSD != nil || tb.MonthlyTokens != nil {
		out = append(out, budget.Limit{Scope: "team:" + in.Run.Team, Window: budget.PerMonth, USD: deref(tb.MonthlyUSD), Tokens: deref(tb.MonthlyTokens)})
	}
	cats, err := a.Store.Categories(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range cats {
		if c.Name == in.Run.Category && (c.MonthlyUSD != nil || c.MonthlyTokens != nil) {
			out = append(out, budget.Limit{Scope: "category:" + c.Name, Window: budget.PerMonth, USD: deref(c.MonthlyUSD), Tokens: deref(c.MonthlyTokens)})
		}
	}
	return out, nil
}

// alert tells the team and the audit log, once per window, that a budget
// reached 50, 80 or 100 percent.
func (a *Activities) alert(ctx context.Context, in StepInput, c budget.Crossing) {
	logger := activity.GetLogger(ctx)
	window := "run"
	if !c.Start.IsZero() {
		window = c.Start.Format(time.RFC3339)
	}
	fresh, err := a.Store.RecordAlert(ctx, c.Limit.Scope+"/"+string(c.Limit.Window), window, c.Percent)
	if err != nil || !fresh {
		if err != nil {
			logger.Warn("record budget alert", "error", err)
		}
		return
	}
	var parts []string
	if c.Limit.USD > 0 {
		parts = append(parts, fmt.Sprintf("spent $%s of $%s", c.Spent.USD, c.Limit.USD))
	}
	if c.Limit.Tokens > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d tokens", c.Spent.Tokens, c.Limit.Tokens))
	}
	text := fmt.Sprintf("Budget %s (%s window from %s) reached %d%%: %s.", c.Limit.Scope, c.Limit.Window, window, c.Percent, strings.Join(parts, ", "))
	if _, err := a.Store.DeliverMessage(ctx, inbox.Message{Team: in.Run.Team, Agent: in.Run.Agent,
		RunID: fmt.Sprintf("budget:%s:%s:%s:%d", c.Limit.Scope, c.Limit.Window, window, c.Percent), StepID: "alert",
		Title: fmt.Sprintf("Budget %s at %d%%", c.Limit.Scope, c.Percent), Text: text}); err != nil {
		logger.Warn("deliver budget alert", "error", err)
	}
	if err := a.Store.AppendAudit(ctx, store.AuditEntry{Actor: "telos", ActorRole: "system", Action: "budget.threshold",
		ObjectKind: "budget", ObjectID: c.Limit.Scope + "/" + string(c.Limit.Window), Team: in.Run.Team,
		Detail: fmt.Sprintf("%d%% in window %s (run %s)", c.Percent, window, in.Run.RunID)}); err != nil {
		logger.Warn("audit budget alert", "error", err)
	}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func (a *Activities) runConnector(ctx context.Context, in StepInput, scope agents.Scope, e *ledger.Entry) (map[string]any, error) {
	with, err := agents.Render(anyMap(in.Step.With), scope)
	if err != nil {
		return nil, invalid("with: %v", err)
	}
	args, _ := with.(map[string]any)
	// Writes go only where the spec declares, whatever the prompt or the
	// model asked for; a refusal is recorded and never retried.
	if act, ok := a.Connectors.Lookup(in.Step.Connector); ok && act.Class == connectors.Write {
		connector, _, _ := strings.Cut(act.ID, ".")
		if allowed, dest := agents.DestinationAllowed(in.Run.Allow, connector, args[act.Destination]); !allowed {
			return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf(
				"refused: %s to %q is not declared in spec.allow.%s", act.ID, dest, connector), ErrRefused, nil)
		}
	}
	res, err := a.Connectors.Call(ctx, in.Step.Connector, connectors.Request{
		RunID: in.Run.RunID, Agent: in.Run.Agent, Team: in.Run.Team, StepID: in.Step.ID,
		Input: args, DryRun: in.Run.DryRun,
	})
	if err != nil {
		act, _ := a.Connectors.Lookup(in.Step.Connector)
		return nil, connectorError(err, act.Class == connectors.Write)
	}
	e.OutcomeRef = res.OutcomeRef
	if res.Output == nil {
		res.Output = map[string]any{}
	}
	return res.Output, nil
}

// heartbeat records heartbeats until stopped, so that the server can tell the
// attempt about a cancellation while it waits on a slow model or upstream.
func heartbeat(ctx context.Context) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(heartbeatInterval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx)
			}
		}
	}()
	return func() { close(done) }
}

// FinishRun records a run's final status.
func (a *Activities) FinishRun(ctx context.Context, in FinishInput) error {
	return a.Store.FinishRun(ctx, in.RunID, in.Status, in.Error)
}

// scope builds the data `${{ }}` references can reach.
func (a *Activities) scope(ctx context.Context, in StepInput) (agents.Scope, error) {
	s := agents.Scope{
		Steps: make(map[string]map[string]any, len(in.Outputs)),
		Run: map[string]any{
			"id": in.Run.RunID, "agent": in.Run.Agent, "version": in.Run.Version,
			"team": in.Run.Team, "trigger": in.Run.Trigger,
		},
	}
	if err := a.loadValue(ctx, in.Run.Inputs, &s.Inputs); err != nil {
		return s, fmt.Errorf("load inputs: %w", err)
	}
	for id, v := range in.Outputs {
		var out map[string]any
		if err := a.loadValue(ctx, v, &out); err != nil {
			return s, fmt.Errorf("load output of step %s: %w", id, err)
		}
		s.Steps[id] = out
	}
	return s, nil
}

// storeValue stores v as a blob (the ledger points at it) and returns it
// inline when it is small enough for workflow history.
func (a *Activities) storeValue(ctx context.Context, v any) (Value, string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return Value{}, "", fmt.Errorf("encode output: %w", err)
	}
	ref, err := a.Store.PutBlob(ctx, b)
	if err != nil {
		return Value{}, "", err
	}
	if len(b) > InlineLimit {
		return Value{Ref: ref}, ref, nil
	}
	return Value{Inline: b}, ref, nil
}

// LoadValue decodes a Value, fetching it from the store when it is a reference.
func LoadValue(ctx context.Context, st interface {
	Blob(context.Context, string) ([]byte, error)
}, v Value, dst any) error {
	b := []byte(v.Inline)
	if v.Ref != "" {
		var err error
		if b, err = st.Blob(ctx, v.Ref); err != nil {
			return err
		}
	}
	if len(b) == 0 {
		return nil
	}
	return json.Unmarshal(b, dst)
}

func (a *Activities) loadValue(ctx context.Context, v Value, dst any) error {
	return LoadValue(ctx, a.Store, v, dst)
}

func (a *Activities) now() time.Time {
	if a.Now != nil {
		return a.Now().UTC()
	}
	return time.Now().UTC()
}

func anyMap(m map[string]any) any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func invalid(format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), ErrInvalid, nil)
}

// providerError turns an LLM failure into a Temporal error that retries only
// rate limits, server errors and timeouts.
func providerError(err error) error {
	var pe *llm.Error
	if errors.As(err, &pe) {
		if !pe.Retryable {
			return temporal.NewNonRetryableApplicationError("llm: "+pe.Error(), ErrNonRetryable, nil)
		}
		return temporal.NewApplicationErrorWithOptions("llm: "+pe.Error(), "llm_retryable", temporal.ApplicationErrorOptions{NextRetryDelay: pe.RetryAfter})
	}
	return temporal.NewApplicationError("llm: "+err.Error(), "llm_retryable")
}

// connectorError turns a connector failure into a Temporal error. A failed
// write is retried only when the upstream refused it before acting (rate
// limited): after a timeout or a 5xx it may have acted, and doing it twice is
// worse than failing.
func connectorError(err error, write bool) error {
	var ce *connectors.Error
	if errors.As(err, &ce) {
		switch {
		case ce.Code == "invalid_input":
			return temporal.NewNonRetryableApplicationError(ce.Error(), ErrInvalid, nil)
		case !ce.Retryable || (write && !ce.RateLimited):
			return temporal.NewNonRetryableApplicationError(ce.Error(), ErrNonRetryable, nil)
		}
		return temporal.NewApplicationErrorWithOptions(ce.Error(), "connector_retryable", temporal.ApplicationErrorOptions{NextRetryDelay: ce.RetryAfter})
	}
	if write {
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrNonRetryable, nil)
	}
	return temporal.NewApplicationError(err.Error(), "connector_retryable")
}

// maxToolResult bounds what one tool call gives back to the model.
const maxToolResult = 16 << 10

// runTurn is one model turn of an agent step: the conversation so far plus
// the last tool results go to the model with the step's tools; the new
// conversation is stored, and the tool calls (or the answer) come back.
func (a *Activities) runTurn(ctx context.Context, in StepInput, scope agents.Scope, e *ledger.Entry) (map[string]any, error) {
	st := in.Step.Agent
	var msgs []llm.Message
	if in.Conversation == "" {
		system, err := agents.RenderText(st.System, scope)
		if err != nil {
			return nil, invalid("agent.system: %v", err)
		}
		prompt, err := agents.RenderText(st.Prompt, scope)
		if err != nil {
			return nil, invalid("agent.prompt: %v", err)
		}
		if system != "" {
			msgs = append(msgs, llm.Message{Role: "system", Content: system})
		}
		msgs = append(msgs, llm.Message{Role: "user", Content: prompt})
	} else if err := a.loadValue(ctx, Value{Ref: in.Conversation}, &msgs); err != nil {
		return nil, fmt.Errorf("load conversation: %w", err)
	}
	for _, r := range in.ToolResults {
		msgs = append(msgs, llm.Message{Role: "tool", ToolCallID: r.ID, Content: r.Content})
	}
	var tools []llm.Tool
	for _, name := range st.Tools {
		act, ok := a.Connectors.Lookup(name)
		if !ok {
			return nil, invalid("agent.tools: unknown action %q", name)
		}
		tools = append(tools, llm.Tool{Name: act.ID, Description: act.Description, Parameters: act.InputSchema})
	}
	resp, err := a.callModel(ctx, in, e, llm.Request{Model: firstSet(st.Model, in.Run.Model), Messages: msgs, Tools: tools, MaxTokens: st.MaxTokens})
	if err != nil {
		return nil, err
	}
	msgs = append(msgs, llm.Message{Role: "assistant", Content: resp.Text, ToolCalls: resp.ToolCalls})
	b, err := json.Marshal(msgs)
	if err != nil {
		return nil, err
	}
	ref, err := a.Store.PutBlob(ctx, b)
	if err != nil {
		return nil, err
	}
	calls := resp.ToolCalls
	if calls == nil {
		calls = []llm.ToolCall{}
	}
	return map[string]any{"text": resp.Text, "tool_calls": calls, "conversation": ref, "turn": in.Turn, "model": e.Model, "provider": e.Provider}, nil
}

// runTool makes one tool call of an agent step. The tool must be one the
// step declares, and writes go only to declared destinations. A call the
// tool refuses or fails goes back to the model as the result, so the model
// can correct itself; only retryable failures fail the attempt.
func (a *Activities) runTool(ctx context.Context, in StepInput, e *ledger.Entry) (map[string]any, error) {
	tc := in.ToolCall
	declared := false
	for _, t := range in.Step.Agent.Tools {
		declared = declared || t == tc.Name
	}
	result := func(content string, failed error, refused bool) map[string]any {
		out := map[string]any{"content": content}
		if failed != nil {
			out["error"], out["refused"] = failed.Error(), refused
		}
		return out
	}
	if !declared {
		err := fmt.Errorf("refused: %s is not one of this step's tools", tc.Name)
		return result(err.Error(), err, true), nil
	}
	var args map[string]any
	if err := json.Unmarshal([]byte(firstSet(tc.Arguments, "{}")), &args); err != nil {
		err = fmt.Errorf("invalid_input: the arguments are not a JSON object")
		return result(err.Error(), err, false), nil
	}
	act, _ := a.Connectors.Lookup(tc.Name)
	if act.Class == connectors.Write {
		connector, _, _ := strings.Cut(act.ID, ".")
		if allowed, dest := agents.DestinationAllowed(in.Run.Allow, connector, args[act.Destination]); !allowed {
			err := fmt.Errorf("refused: %s to %q is not declared in spec.allow.%s", act.ID, dest, connector)
			return result(err.Error(), err, true), nil
		}
	}
	res, err := a.Connectors.Call(ctx, tc.Name, connectors.Request{
		RunID: in.Run.RunID, Agent: in.Run.Agent, Team: in.Run.Team, StepID: in.Step.ID + "/" + tc.ID,
		Input: args, DryRun: in.Run.DryRun,
	})
	if err != nil {
		var ce *connectors.Error
		if errors.As(err, &ce) && ce.Retryable && (act.Class == connectors.Read || ce.RateLimited) {
			return nil, connectorError(err, act.Class == connectors.Write)
		}
		return result("error: "+err.Error(), err, false), nil
	}
	e.OutcomeRef = res.OutcomeRef
	b, err := json.Marshal(res.Output)
	if err != nil {
		return nil, err
	}
	content := string(b)
	if len(content) > maxToolResult {
		content = content[:maxToolResult] + "…(truncated)"
	}
	return result(content, nil, false), nil
}
