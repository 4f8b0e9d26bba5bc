package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/telos-dev/telos/agents"
	"github.com/telos-dev/telos/store"
	"github.com/telos-dev/telos/workflows"
)

// Schedule defaults: skip a run while the previous one still runs, and catch
// up on missed runs only within 10 minutes (not Temporal's long default), so
// an outage does not replay a backlog of spend.
const (
	defaultCatchup = 10 * time.Minute
	forecastWindow = 30 * 24 * time.Hour
)

var overlapPolicies = map[string]enumspb.ScheduleOverlapPolicy{
	"skip":         enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
	"buffer_one":   enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE,
	"buffer_all":   enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ALL,
	"cancel_other": enumspb.SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER,
	"allow_all":    enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL,
}

type scheduleRequest struct {
	Cron          *string        `json:"cron"`
	Every         *string        `json:"every"`
	Timezone      *string        `json:"timezone"`
	Overlap       *string        `json:"overlap"`
	CatchupWindow *string        `json:"catchup_window"`
	Inputs        map[string]any `json:"inputs"`
	Paused        *bool          `json:"paused"`
}

type scheduleView struct {
	ID              string     `json:"id"`
	Agent           string     `json:"agent"`
	Team            string     `json:"team"`
	Cron            string     `json:"cron,omitempty"`
	Every           string     `json:"every,omitempty"`
	Timezone        string     `json:"timezone"`
	Overlap         string     `json:"overlap"`
	CatchupWindow   string     `json:"catchup_window"`
	Paused          bool       `json:"paused"`
	Note            string     `json:"note,omitempty"`
	NextRuns        []string   `json:"next_runs"`
	Forecast        *forecastV `json:"monthly_forecast,omitempty"`
	RecentRunsCount int        `json:"runs_started"`
}

type forecastV struct {
	RunsPerMonth int64        `json:"runs_per_month"`
	PerRun       agents.Money `json:"cost_per_run_usd"`
	Cost         agents.Money `json:"cost_usd"`
	Source       string       `json:"estimate_source"`
}

// scheduleSpec checks a request and builds the Temporal spec and policies;
// partial updates start from the current values.
func scheduleSpec(req scheduleRequest, cur *client.ScheduleSpec, curPolicy *client.SchedulePolicies) (client.ScheduleSpec, client.SchedulePolicies, error) {
	var spec client.ScheduleSpec
	policy := client.SchedulePolicies{Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP, CatchupWindow: defaultCatchup}
	if cur != nil {
		spec = *cur
	}
	if curPolicy != nil {
		policy = *curPolicy
	}
	var errs fieldErrors
	if req.Cron != nil && req.Every != nil {
		errs.add("cron", "set either cron or every, not both")
	}
	if req.Cron != nil {
		c := strings.TrimSpace(*req.Cron)
		if n := len(strings.Fields(c)); (!(strings.HasPrefix(c, "@") && n == 1) && n != 5) || strings.ContainsAny(c, "#\n") || strings.HasPrefix(c, "@every") {
			errs.add("cron", `must be a 5-field cron expression such as "0 9 * * MON" or a descriptor such as "@daily"`)
		}
		// Temporal turns the expression into a calendar and keeps the text
		// after "#" as the calendar's comment: that is how it is shown back.
		spec.CronExpressions, spec.Intervals, spec.Calendars = []string{c + " #" + c}, nil, nil
	}
	if req.Every != nil {
		d, err := time.ParseDuration(*req.Every)
		if err != nil || d < time.Minute {
			errs.add("every", `must be a duration of at least 1m, such as "1h" or "30m"`)
		}
		spec.Intervals, spec.CronExpressions, spec.Calendars = []client.ScheduleIntervalSpec{{Every: d}}, nil, nil
	}
	if cur == nil && req.Cron == nil && req.Every == nil {
		errs.add("cron", "required: set cron or every")
	}
	if req.Timezone != nil {
		if _, err := time.LoadLocation(*req.Timezone); err != nil || *req.Timezone == "" || *req.Timezone == "Local" {
			errs.add("timezone", "must be an IANA time zone such as \"Europe/Berlin\"")
		}
		spec.TimeZoneName = *req.Timezone
	}
	if spec.TimeZoneName == "" {
		spec.TimeZoneName = "UTC"
	}
	if req.Overlap != nil {
		p, ok := overlapPolicies[*req.Overlap]
		if !ok {
			errs.add("overlap", "must be one of skip, buffer_one, buffer_all, cancel_other, allow_all")
		}
		policy.Overlap = p
	}
	if req.CatchupWindow != nil {
		d, err := time.ParseDuration(*req.CatchupWindow)
		if err != nil || d < 10*time.Second || d > 7*24*time.Hour {
			errs.add("catchup_window", `must be a duration from 10s to 168h, such as "10m"`)
		}
		policy.CatchupWindow = d
	}
	return spec, policy, errs.err()
}

// scheduleAgent loads the agent of a schedule route and checks the caller may
// manage its schedules.
func (s *Server) scheduleAgent(c echo.Context) (store.AgentState, error) {
	st, err := s.visibleAgent(c)
	if err != nil {
		return st, err
	}
	if !principal(c).CanWrite(st.Team) {
		return st, newError(http.StatusForbidden, "only the agent's team manages its schedules")
	}
	return st, nil
}

func schedulePrefix(st store.AgentState) string { return "telos." + st.Team + "." + st.Name + "." }

// scheduleHandle finds a schedule of the agent; other agents' schedules are not found.
func (s *Server) scheduleHandle(c echo.Context, st store.AgentState) (client.ScheduleHandle, *client.ScheduleDescription, error) {
	id := c.Param("id")
	if !strings.HasPrefix(id, schedulePrefix(st)) {
		return nil, nil, store.ErrNotFound
	}
	h := s.Temporal.ScheduleClient().GetHandle(c.Request().Context(), id)
	d, err := h.Describe(c.Request().Context())
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return nil, nil, store.ErrNotFound
	}
	if err != nil {
		return nil, nil, err
	}
	return h, d, nil
}

// createSchedule schedules the agent's approved version.
func (s *Server) createSchedule(c echo.Context) error {
	ctx := c.Request().Context()
	st, err := s.scheduleAgent(c)
	if err != nil {
		return err
	}
	var req scheduleRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	spec, policy, err := scheduleSpec(req, nil, nil)
	if err != nil {
		return err
	}
	if st.ApprovedVersion == 0 {
		return newError(http.StatusConflict, "only approved agents are scheduled: submit the agent for review first")
	}
	if st.Status != store.AgentActive {
		return newError(http.StatusConflict, "the agent is "+st.Status)
	}
	if err := s.checkScheduleInputs(c, st, req.Inputs); err != nil {
		return err
	}
	id := schedulePrefix(st) + s.NewID()[:10]
	_, err = s.Temporal.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:            id,
		Spec:          spec,
		Overlap:       policy.Overlap,
		CatchupWindow: policy.CatchupWindow,
		Paused:        req.Paused != nil && *req.Paused,
		Action: &client.ScheduleWorkflowAction{
			ID:        "sched-" + id,
			Workflow:  workflows.ScheduledRun,
			Args:      []any{workflows.ScheduledInput{ScheduleID: id, Team: st.Team, Agent: st.Name, Owner: principal(c).User, Inputs: req.Inputs}},
			TaskQueue: workflows.TaskQueue,
		},
	})
	var inv *serviceerror.InvalidArgument
	if errors.As(err, &inv) {
		return fieldError(http.StatusUnprocessableEntity, "cron", "the schedule was refused: "+inv.Message)
	}
	if err != nil {
		return err
	}
	// A calendar that never matches (31 February) is a mistake, not a schedule.
	if times, err := s.matchingTimes(c, id, s.Now(), s.Now().Add(400*24*time.Hour)); err == nil && len(times) == 0 {
		_ = s.Temporal.ScheduleClient().GetHandle(ctx, id).Delete(ctx)
		return fieldError(http.StatusUnprocessableEntity, "cron", "never fires: no matching time in the next 400 days")
	}
	if err := s.Store.AppendAudit(ctx, s.audit(c, "schedule.created", "schedule", id, st.Team, describeSpec(spec))); err != nil {
		return err
	}
	c.Response().Header().Set("Location", "/v1/agents/"+st.Name+"/schedules/"+id)
	return s.showSchedule(c, st, id, http.StatusCreated)
}

// checkScheduleInputs validates a schedule's inputs against the approved version.
func (s *Server) checkScheduleInputs(c echo.Context, st store.AgentState, inputs map[string]any) error {
	av, err := s.Store.AgentVersion(c.Request().Context(), st.Team, st.Name, st.ApprovedVersion)
	if err != nil {
		return err
	}
	a, err := decodeAgent(av)
	if err != nil {
		return err
	}
	_, err = agents.ValidateInputs(a.Spec, inputs)
	return err
}

func describeSpec(spec client.ScheduleSpec) string {
	if len(spec.CronExpressions) > 0 {
		c, _, _ := strings.Cut(spec.CronExpressions[0], " #")
		return "cron=" + c + " tz=" + spec.TimeZoneName
	}
	if len(spec.Intervals) > 0 {
		return "every=" + spec.Intervals[0].Every.String()
	}
	return ""
}

// showSchedule answers with a schedule, its next runs and its monthly forecast.
func (s *Server) showSchedule(c echo.Context, st store.AgentState, id string, status int) error {
	c.SetParamNames("name", "id")
	c.SetParamValues(st.Name, id)
	_, d, err := s.scheduleHandle(c, st)
	if err != nil {
		return err
	}
	v, err := s.viewSchedule(c, st, id, d)
	if err != nil {
		return err
	}
	return c.JSON(status, v)
}

func (s *Server) viewSchedule(c echo.Context, st store.AgentState, id string, d *client.ScheduleDescription) (scheduleView, error) {
	v := scheduleView{ID: id, Agent: st.Name, Team: st.Team, NextRuns: []string{}}
	if sp := d.Schedule.Spec; sp != nil {
		v.Timezone = sp.TimeZoneName
		if len(sp.CronExpressions) > 0 {
			v.Cron, _, _ = strings.Cut(sp.CronExpressions[0], " #")
		}
		if len(sp.Calendars) > 0 && v.Cron == "" {
			v.Cron = sp.Calendars[0].Comment
		}
		if len(sp.Intervals) > 0 {
			v.Every = sp.Intervals[0].Every.String()
		}
	}
	if p := d.Schedule.Policy; p != nil {
		for name, pol := range overlapPolicies {
			if pol == p.Overlap {
				v.Overlap = name
			}
		}
		v.CatchupWindow = p.CatchupWindow.String()
	}
	if ss := d.Schedule.State; ss != nil {
		v.Paused, v.Note = ss.Paused, ss.Note
	}
	v.RecentRunsCount = d.Info.NumActions
	f, times, err := s.monthlyForecast(c, st, id)
	if err != nil {
		return v, err
	}
	// Next runs come from the same fresh answer as the forecast; the
	// schedule's description lags behind an edit.
	for _, t := range times[:min(5, len(times))] {
		v.NextRuns = append(v.NextRuns, t.UTC().Format(time.RFC3339))
	}
	v.Forecast = f
	return v, nil
}

// monthlyForecast is runs in the next 30 days (as Temporal will start them,
// time zone and daylight saving included) × the estimated cost of one run.
func (s *Server) monthlyForecast(c echo.Context, st store.AgentState, id string) (*forecastV, []time.Time, error) {
	ctx := c.Request().Context()
	now := s.Now()
	times, err := s.matchingTimes(c, id, now, now.Add(forecastWindow))
	if err != nil {
		return nil, nil, err
	}
	av, err := s.Store.AgentVersion(ctx, st.Team, st.Name, st.ApprovedVersion)
	if err != nil {
		return nil, nil, err
	}
	a, err := decodeAgent(av)
	if err != nil {
		return nil, nil, err
	}
	est, err := s.estimate(c, st, av.Version, a.Spec)
	if err != nil {
		return nil, nil, err
	}
	n := int64(len(times))
	return &forecastV{RunsPerMonth: n, PerRun: est.Cost, Cost: est.Cost * agents.Money(n), Source: est.Source}, times, nil
}

// matchingTimes asks Temporal when a schedule fires between from and to.
func (s *Server) matchingTimes(c echo.Context, id string, from, to time.Time) ([]time.Time, error) {
	resp, err := s.Temporal.WorkflowService().ListScheduleMatchingTimes(c.Request().Context(), &workflowservice.ListScheduleMatchingTimesRequest{
		Namespace: s.Namespace, ScheduleId: id, StartTime: timestamppb.New(from), EndTime: timestamppb.New(to),
	})
	if err != nil {
		return nil, fmt.Errorf("schedule matching times: %w", err)
	}
	out := make([]time.Time, 0, len(resp.GetStartTime()))
	for _, t := range resp.GetStartTime() {
		out = append(out, t.AsTime())
	}
	return out, nil
}

func (s *Server) listSchedules(c echo.Context) error {
	st, err := s.visibleAgent(c)
	if err != nil {
		return err
	}
	ids, err := s.agentSchedules(c, st)
	if err != nil {
		return err
	}
	items := []scheduleView{}
	for _, id := range ids {
		d, err := s.Temporal.ScheduleClient().GetHandle(c.Request().Context(), id).Describe(c.Request().Context())
		if err != nil {
			continue // deleted meanwhile
		}
		v, err := s.viewSchedule(c, st, id, d)
		if err != nil {
			return err
		}
		items = append(items, v)
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items})
}

// agentSchedules lists the ids of an agent's schedules.
func (s *Server) agentSchedules(c echo.Context, st store.AgentState) ([]string, error) {
	it, err := s.Temporal.ScheduleClient().List(c.Request().Context(), client.ScheduleListOptions{PageSize: 1000})
	if err != nil {
		return nil, err
	}
	var ids []string
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return nil, err
		}
		if strings.HasPrefix(e.ID, schedulePrefix(st)) {
			ids = append(ids, e.ID)
		}
	}
	return ids, nil
}

func (s *Server) getSchedule(c echo.Context) error {
	st, err := s.visibleAgent(c)
	if err != nil {
		return err
	}
	return s.showSchedule(c, st, c.Param("id"), http.StatusOK)
}

// patchSchedule edits a schedule's timing, policies or inputs.
func (s *Server) patchSchedule(c echo.Context) error {
	ctx := c.Request().Context()
	st, err := s.scheduleAgent(c)
	if err != nil {
		return err
	}
	h, d, err := s.scheduleHandle(c, st)
	if err != nil {
		return err
	}
	var req scheduleRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	spec, policy, err := scheduleSpec(req, d.Schedule.Spec, d.Schedule.Policy)
	if err != nil {
		return err
	}
	if req.Inputs != nil {
		if err := s.checkScheduleInputs(c, st, req.Inputs); err != nil {
			return err
		}
	}
	err = h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
		sch := in.Description.Schedule
		sch.Spec, sch.Policy = &spec, &policy
		if act, ok := sch.Action.(*client.ScheduleWorkflowAction); ok && req.Inputs != nil {
			act.Args = []any{workflows.ScheduledInput{ScheduleID: h.GetID(), Team: st.Team, Agent: st.Name, Owner: principal(c).User, Inputs: req.Inputs}}
		}
		return &client.ScheduleUpdate{Schedule: &sch}, nil
	}})
	if err != nil {
		return err
	}
	if err := s.Store.AppendAudit(ctx, s.audit(c, "schedule.updated", "schedule", h.GetID(), st.Team, describeSpec(spec))); err != nil {
		return err
	}
	// The scheduler applies updates asynchronously; answer with what was set.
	d.Schedule.Spec, d.Schedule.Policy = &spec, &policy
	v, err := s.viewSchedule(c, st, h.GetID(), d)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (s *Server) deleteSchedule(c echo.Context) error {
	ctx := c.Request().Context()
	st, err := s.scheduleAgent(c)
	if err != nil {
		return err
	}
	h, _, err := s.scheduleHandle(c, st)
	if err != nil {
		return err
	}
	if err := h.Delete(ctx); err != nil {
		return err
	}
	if err := s.Store.AppendAudit(ctx, s.audit(c, "schedule.deleted", "schedule", h.GetID(), st.Team, "")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// scheduleAction pauses, resumes or triggers a schedule now.
func (s *Server) scheduleAction(action string) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		st, err := s.scheduleAgent(c)
		if err != nil {
			return err
		}
		h, _, err := s.scheduleHandle(c, st)
		if err != nil {
			return err
		}
		note := "by " + principal(c).User
		switch action {
		case "pause":
			err = h.Pause(ctx, client.SchedulePauseOptions{Note: "paused " + note})
		case "resume":
			if st.Status != store.AgentActive {
				return newError(http.StatusConflict, "the agent is "+st.Status+"; resume the agent first")
			}
			err = h.Unpause(ctx, client.ScheduleUnpauseOptions{Note: "resumed " + note})
		case "trigger":
			if st.Status != store.AgentActive {
				return newError(http.StatusConflict, "the agent is "+st.Status)
			}
			err = h.Trigger(ctx, client.ScheduleTriggerOptions{Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL})
		}
		if err != nil {
			return err
		}
		if err := s.Store.AppendAudit(ctx, s.audit(c, "schedule."+action, "schedule", h.GetID(), st.Team, "")); err != nil {
			return err
		}
		if action == "trigger" {
			return c.JSON(http.StatusAccepted, map[string]string{"id": h.GetID(), "status": "triggered"})
		}
		return s.showSchedule(c, st, h.GetID(), http.StatusOK)
	}
}

// pauseAgentSchedules pauses (or, resuming, unpauses) every schedule of an
// agent with a note naming why, when the agent is suspended or resumed.
func (s *Server) pauseAgentSchedules(c echo.Context, st store.AgentState, pause bool) error {
	ids, err := s.agentSchedules(c, st)
	if err != nil {
		return err
	}
	const note = "paused: the agent is suspended"
	for _, id := range ids {
		h := s.Temporal.ScheduleClient().GetHandle(c.Request().Context(), id)
		if pause {
			err = h.Pause(c.Request().Context(), client.SchedulePauseOptions{Note: note})
		} else if d, derr := h.Describe(c.Request().Context()); derr == nil && d.Schedule.State != nil && d.Schedule.State.Note == note {
			err = h.Unpause(c.Request().Context(), client.ScheduleUnpauseOptions{Note: "the agent was resumed"})
		}
		if err != nil {
			return err
		}
	}
	return nil
}
