package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/telos-dev/telos/agents"
	"github.com/telos-dev/telos/ledger"
	"github.com/telos-dev/telos/store"
	"github.com/telos-dev/telos/workflows"
)

type startRunRequest struct {
	Inputs map[string]any `json:"inputs"`
	// DryRun runs a version on sim with write actions recorded but not
	// performed; any version may dry-run. Only the approved version runs for real.
	DryRun  bool `json:"dry_run"`
	Version int  `json:"version"`
}

// idempotencyTTL is how long an Idempotency-Key maps to its run.
const idempotencyTTL = 24 * time.Hour

var idempotencyPattern = regexp.MustCompile(`^[\x21-\x7e]{1,255}$`)

// startRun validates the inputs, records the run and starts its workflow.
// With an Idempotency-Key, a repeated request returns the first run.
func (s *Server) startRun(c echo.Context) error {
	ctx := c.Request().Context()
	p := principal(c)
	st, err := s.visibleAgent(c)
	if err != nil {
		return err
	}
	var req startRunRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	version, trigger, err := runnableVersion(p, st, req)
	if err != nil {
		return err
	}
	av, err := s.Store.AgentVersion(ctx, st.Team, st.Name, version)
	if err != nil {
		return err
	}
	var a agents.Agent
	if err := json.Unmarshal(av.Spec, &a); err != nil {
		return err
	}
	inputs, err := agents.ValidateInputs(a.Spec, req.Inputs)
	if err != nil {
		return err
	}

	id := "run_" + s.NewID()
	key := c.Request().Header.Get("Idempotency-Key")
	if key != "" {
		if !idempotencyPattern.MatchString(key) {
			return fieldError(http.StatusBadRequest, "Idempotency-Key", "must be 1-255 visible ASCII characters")
		}
		// The run id follows from the key, so even without Redis a repeated
		// request cannot start a second run.
		id = "run_" + store.Hash([]byte(av.Team + "\x00" + av.Name + "\x00" + p.User + "\x00" + key))[:24]
		// The key remembers the request it was first used with: the same key
		// with a different request is a client bug, not a retry.
		rkey := s.redisKey("idem:" + id)
		fingerprint := store.Hash([]byte(fmt.Sprintf("%v|%d|%s", req.DryRun, req.Version, mustJSON(inputs))))
		ok, err := s.Redis.SetNX(ctx, rkey, fingerprint, idempotencyTTL).Result()
		if err != nil {
			return fmt.Errorf("idempotency key: %w", err)
		}
		if !ok {
			if first, err := s.Redis.Get(ctx, rkey).Result(); err == nil && first != fingerprint {
				return fieldError(http.StatusUnprocessableEntity, "Idempotency-Key", "already used with a different request")
			}
			return s.existingRun(c, id)
		}
	}

	in := workflows.RunInput{RunID: id, Team: av.Team, Agent: av.Name, Version: av.Version, Owner: av.Owner, Trigger: trigger, DryRun: req.DryRun, Spec: a.Spec}
	b, err := json.Marshal(inputs)
	if err != nil {
		return err
	}
	if len(b) > workflows.InlineLimit {
		if in.Inputs.Ref, err = s.Store.PutBlob(ctx, b); err != nil {
			return err
		}
	} else {
		in.Inputs.Inline = b
	}
	run := store.Run{ID: id, Team: av.Team, Agent: av.Name, Version: av.Version, Owner: p.User, Trigger: trigger,
		Status: store.RunRunning, WorkflowID: "agentrun-" + id, IdempotencyKey: key}
	if err := s.Store.CreateRun(ctx, run); errors.Is(err, store.ErrConflict) && key != "" {
		return s.existingRun(c, id)
	} else if err != nil {
		return err
	}
	_, err = s.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       run.WorkflowID,
		TaskQueue:                workflows.TaskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		Memo:                     map[string]any{"agent": av.Name, "team": av.Team},
	}, workflows.AgentRun, in)
	if err != nil {
		s.Logger.Error("start workflow", "run", id, "error", err)
		_ = s.Store.FinishRun(ctx, id, store.RunFailed, "could not start the workflow")
		if key != "" {
			s.Redis.Del(ctx, s.redisKey("idem:"+id))
		}
		return newError(http.StatusServiceUnavailable, "could not start the run; try again")
	}
	c.Response().Header().Set("Location", "/v1/runs/"+id)
	return c.JSON(http.StatusAccepted, map[string]string{"id": id, "status": store.RunRunning})
}

// redisKey prefixes a Redis key with the installation's prefix.
func (s *Server) redisKey(k string) string {
	p := s.RedisPrefix
	if p == "" {
		p = "telos"
	}
	return p + ":" + k
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// runnableVersion decides which version a run request may run and how: a dry
// run of any version, or a real run of the approved version of an active agent.
func runnableVersion(p Principal, st store.AgentState, req startRunRequest) (int, string, error) {
	if req.Version < 0 {
		return 0, "", fieldError(http.StatusUnprocessableEntity, "version", "must be a positive integer")
	}
	if st.Status == store.AgentArchived {
		return 0, "", newError(http.StatusConflict, "the agent is archived")
	}
	if req.DryRun {
		if !p.CanWrite(st.Team) && !p.Reviews(st.Team) {
			return 0, "", store.ErrNotFound
		}
		v := req.Version
		if v == 0 {
			v = st.LatestVersion
		}
		return v, "dry-run", nil
	}
	if !p.CanWrite(st.Team) {
		return 0, "", newError(http.StatusForbidden, "only the agent's team runs it; reviewers may dry-run it")
	}
	switch {
	case st.Status == store.AgentSuspended:
		return 0, "", newError(http.StatusConflict, "the agent is suspended; a reviewer or admin must resume it before it runs")
	case st.ApprovedVersion == 0:
		return 0, "", newError(http.StatusConflict, "the agent has no approved version: dry-run it with {\"dry_run\": true}, then submit it for review")
	case req.Version != 0 && req.Version != st.ApprovedVersion:
		return 0, "", fieldError(http.StatusConflict, "version", fmt.Sprintf("only the approved version (%d) runs for real; other versions may dry-run", st.ApprovedVersion))
	}
	return st.ApprovedVersion, "api", nil
}

// existingRun answers a repeated Idempotency-Key with the run it started.
func (s *Server) existingRun(c echo.Context, id string) error {
	r, err := s.Store.Run(c.Request().Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return newError(http.StatusConflict, "a run with this Idempotency-Key is being started; retry shortly")
	}
	if err != nil {
		return err
	}
	c.Response().Header().Set("Location", "/v1/runs/"+id)
	c.Response().Header().Set("Idempotent-Replayed", "true")
	return c.JSON(http.StatusAccepted, map[string]string{"id": r.ID, "status": r.Status})
}

// visibleRun loads a run the caller may see; other teams' runs are not found.
func (s *Server) visibleRun(c echo.Context) (store.Run, error) {
	r, err := s.Store.Run(c.Request().Context(), c.Param("id"))
	if err != nil {
		return store.Run{}, err
	}
	if !canSee(c, r.Team) {
		return store.Run{}, store.ErrNotFound
	}
	return r, nil
}

type runView struct {
	ID         string      `json:"id"`
	Agent      string      `json:"agent"`
	Team       string      `json:"team"`
	Version    int         `json:"version"`
	Owner      string      `json:"owner"`
	Trigger    string      `json:"trigger"`
	Status     string      `json:"status"`
	Error      string      `json:"error,omitempty"`
	CreatedAt  time.Time   `json:"created_at"`
	FinishedAt *time.Time  `json:"finished_at,omitempty"`
	Steps      []stepView  `json:"steps,omitempty"`
	Totals     *totalsView `json:"totals,omitempty"`
}

type stepView struct {
	ID         string       `json:"id"`
	Kind       string       `json:"kind"`
	Purpose    string       `json:"purpose"`
	Action     string       `json:"action,omitempty"`
	Model      string       `json:"model,omitempty"`
	Status     string       `json:"status"`
	Attempts   int          `json:"attempts"`
	Usage      agents.Usage `json:"usage"`
	Cost       agents.Money `json:"cost_usd"`
	Unpriced   bool         `json:"unpriced"`
	Simulated  bool         `json:"simulated"`
	Error      string       `json:"error,omitempty"`
	OutcomeRef string       `json:"outcome_ref,omitempty"`
}

type totalsView struct {
	InputTokens       int64        `json:"input_tokens"`
	CachedInputTokens int64        `json:"cached_input_tokens"`
	OutputTokens      int64        `json:"output_tokens"`
	ReasoningTokens   int64        `json:"reasoning_tokens"`
	Cost              agents.Money `json:"cost_usd"`
	UnpricedEntries   int64        `json:"unpriced_entries"`
	SimulatedEntries  int64        `json:"simulated_entries"`
}

func viewTotals(t ledger.Totals) *totalsView {
	return &totalsView{t.InputTokens, t.CachedInputTokens, t.OutputTokens, t.ReasoningTokens, t.Cost, t.Unpriced, t.Simulated}
}

func viewRun(r store.Run) runView {
	v := runView{ID: r.ID, Agent: r.Agent, Team: r.Team, Version: r.Version, Owner: r.Owner, Trigger: r.Trigger,
		Status: r.Status, Error: r.Error, CreatedAt: r.CreatedAt}
	if !r.FinishedAt.IsZero() {
		v.FinishedAt = &r.FinishedAt
	}
	return v
}

// getRun shows a run with one line per step of its spec (every attempt's
// tokens and cost summed) and the run's totals.
func (s *Server) getRun(c echo.Context) error {
	ctx := c.Request().Context()
	r, err := s.visibleRun(c)
	if err != nil {
		return err
	}
	if r.Status == store.RunRunning {
		r = s.reconcile(c, r)
	}
	av, err := s.Store.AgentVersion(ctx, r.Team, r.Agent, r.Version)
	if err != nil {
		return err
	}
	var a agents.Agent
	if err := json.Unmarshal(av.Spec, &a); err != nil {
		return err
	}
	entries, err := s.Store.RunLedger(ctx, r.ID)
	if err != nil {
		return err
	}
	v := viewRun(r)
	var total ledger.Totals
	byStep := map[string]*stepView{}
	for _, st := range a.Spec.Steps {
		sv := stepView{ID: st.ID, Kind: st.Kind(), Purpose: st.Purpose, Action: st.Connector, Status: "pending"}
		if st.LLM != nil {
			sv.Model = st.LLM.Model
			if sv.Model == "" {
				sv.Model = a.Spec.Model
			}
		}
		v.Steps = append(v.Steps, sv)
	}
	for i := range v.Steps {
		byStep[v.Steps[i].ID] = &v.Steps[i]
	}
	for _, e := range entries {
		total.Add(e)
		sv := byStep[e.StepID]
		if sv == nil {
			continue
		}
		sv.Attempts++
		sv.Usage = sv.Usage.Add(e.Usage)
		sv.Cost += e.Cost
		sv.Unpriced = sv.Unpriced || e.Unpriced
		sv.Simulated = sv.Simulated || e.Simulated
		sv.Status, sv.Error = e.Status, e.Error
		if e.Status == ledger.StatusFailed && r.Status == store.RunRunning {
			sv.Status = "retrying"
		}
		if e.OutcomeRef != "" {
			sv.OutcomeRef = e.OutcomeRef
		}
	}
	if r.Status != store.RunRunning {
		for i := range v.Steps {
			if v.Steps[i].Status == "pending" {
				v.Steps[i].Status = "skipped"
			}
		}
	}
	v.Totals = viewTotals(total)
	return c.JSON(http.StatusOK, v)
}

// reconcile catches a run whose workflow ended without recording its status
// (terminated by an operator, timed out, or stopped by a Temporal limit) and
// records it, so no run stays "running" forever.
func (s *Server) reconcile(c echo.Context, r store.Run) store.Run {
	ctx := c.Request().Context()
	d, err := s.Temporal.DescribeWorkflowExecution(ctx, r.WorkflowID, "")
	if err != nil || d.GetWorkflowExecutionInfo() == nil {
		return r
	}
	status, msg := "", ""
	switch d.GetWorkflowExecutionInfo().GetStatus() {
	case enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED:
		status, msg = store.RunFailed, "the workflow was terminated"
	case enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
		status, msg = store.RunFailed, "the workflow timed out"
	case enumspb.WORKFLOW_EXECUTION_STATUS_FAILED:
		status, msg = store.RunFailed, "the workflow failed"
	case enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:
		status, msg = store.RunCanceled, "canceled"
	default:
		return r
	}
	if err := s.Store.FinishRun(ctx, r.ID, status, msg); err != nil {
		return r
	}
	if fresh, err := s.Store.Run(ctx, r.ID); err == nil {
		return fresh
	}
	return r
}

func (s *Server) listRuns(c echo.Context) error {
	limit := 50
	if l := c.QueryParam("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 500 {
			return fieldError(http.StatusBadRequest, "limit", "must be an integer from 1 to 500")
		}
		limit = n
	}
	if cur := c.QueryParam("cursor"); cur != "" {
		if r, err := s.Store.Run(c.Request().Context(), cur); err != nil || !canSee(c, r.Team) {
			return fieldError(http.StatusBadRequest, "cursor", "is not a run id from a previous page")
		}
	}
	runs, err := s.Store.ListRuns(c.Request().Context(), store.RunFilter{
		Team: teamScope(c, true), Agent: c.QueryParam("agent"), Before: c.QueryParam("cursor"), Limit: limit,
	})
	if err != nil {
		return err
	}
	items := make([]runView, 0, len(runs))
	for _, r := range runs {
		items = append(items, viewRun(r))
	}
	out := map[string]any{"items": items}
	if len(runs) == limit {
		out["next_cursor"] = runs[len(runs)-1].ID
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) cancelRun(c echo.Context) error {
	r, err := s.visibleRun(c)
	if err != nil {
		return err
	}
	if r.Status != store.RunRunning {
		return newError(http.StatusConflict, "the run has already finished as "+r.Status)
	}
	if err := s.Temporal.CancelWorkflow(c.Request().Context(), r.WorkflowID, ""); err != nil {
		return fmt.Errorf("cancel workflow: %w", err)
	}
	return c.JSON(http.StatusAccepted, map[string]string{"id": r.ID, "status": "canceling"})
}

func (s *Server) runLedger(c echo.Context) error {
	r, err := s.visibleRun(c)
	if err != nil {
		return err
	}
	entries, err := s.Store.RunLedger(c.Request().Context(), r.ID)
	if err != nil {
		return err
	}
	// ledger.Entry is the wire form: its JSON leaves out only the
	// idempotency key (workflow run and activity ids).
	return c.JSON(http.StatusOK, map[string]any{"items": entries})
}

// usage sums the ledger per group over a time range.
func (s *Server) usage(c echo.Context) error {
	group := c.QueryParam("group_by")
	if group == "" {
		group = "agent"
	}
	valid := false
	for _, g := range store.UsageGroups() {
		valid = valid || g == group
	}
	if !valid {
		return fieldError(http.StatusBadRequest, "group_by", "must be one of agent, team, purpose, model, day")
	}
	from, err := parseTimeParam(c, "from")
	if err != nil {
		return err
	}
	to, err := parseTimeParam(c, "to")
	if err != nil {
		return err
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		return fieldError(http.StatusBadRequest, "to", "must be after from")
	}
	rows, err := s.Store.Usage(c.Request().Context(), store.UsageQuery{GroupBy: group, Team: teamScope(c, true), From: from, To: to})
	if err != nil {
		return err
	}
	type item struct {
		Key string `json:"key"`
		totalsView
		Entries int64 `json:"entries"`
	}
	items := make([]item, 0, len(rows))
	var all ledger.Totals
	for _, r := range rows {
		items = append(items, item{r.Key, *viewTotals(r.Totals), r.Entries})
		all.Usage = all.Usage.Add(r.Usage)
		all.Cost += r.Cost
		all.Unpriced += r.Unpriced
		all.Simulated += r.Simulated
	}
	return c.JSON(http.StatusOK, map[string]any{"group_by": group, "items": items, "totals": viewTotals(all)})
}

// parseTimeParam reads an RFC 3339 time or a YYYY-MM-DD date (UTC midnight).
func parseTimeParam(c echo.Context, name string) (time.Time, error) {
	v := c.QueryParam(name)
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	return time.Time{}, fieldError(http.StatusBadRequest, name, "must be an RFC 3339 time or a YYYY-MM-DD date")
}

func (s *Server) inbox(c echo.Context) error {
	msgs, err := s.Store.Inbox(c.Request().Context(), teamScope(c, false), 50)
	if err != nil {
		return err
	}
	type item struct {
		ID        string    `json:"id"`
		Team      string    `json:"team"`
		Agent     string    `json:"agent"`
		RunID     string    `json:"run_id"`
		StepID    string    `json:"step_id"`
		Title     string    `json:"title"`
		Text      string    `json:"text"`
		CreatedAt time.Time `json:"created_at"`
	}
	items := make([]item, 0, len(msgs))
	for _, m := range msgs {
		items = append(items, item{m.ID, m.Team, m.Agent, m.RunID, m.StepID, m.Title, m.Text, m.CreatedAt})
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items})
}
