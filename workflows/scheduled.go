package workflows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/telos-dev/telos/agents"
	"github.com/telos-dev/telos/store"
)

// ScheduledInput is what a Temporal Schedule starts: which agent to run and
// with what inputs. The version is read when the run starts, so a schedule
// always runs the agent's approved version of the moment.
type ScheduledInput struct {
	ScheduleID string         `json:"schedule_id"`
	Team       string         `json:"team"`
	Agent      string         `json:"agent"`
	Owner      string         `json:"owner"`
	Inputs     map[string]any `json:"inputs,omitempty"`
}

// PreparedRun is a scheduled run ready to start, or the reason it is skipped.
type PreparedRun struct {
	Run  RunInput `json:"run"`
	Skip string   `json:"skip,omitempty"`
}

// Activity names of scheduled runs.
const (
	PrepareScheduledRunActivity = "PrepareScheduledRun"
	PauseScheduleActivity       = "PauseSchedule"
)

// ScheduledRun is the workflow a schedule starts: it records the run (trigger
// "schedule:<id>"), interprets the approved version like any run, and pauses
// the schedule when the run hit a budget, so it stops spending until someone
// resumes it.
func ScheduledRun(ctx workflow.Context, in ScheduledInput) (RunResult, error) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 5, NonRetryableErrorTypes: []string{ErrInvalid}},
	})
	var prep PreparedRun
	if err := workflow.ExecuteActivity(actx, PrepareScheduledRunActivity, in).Get(actx, &prep); err != nil {
		return RunResult{}, err
	}
	if prep.Skip != "" {
		workflow.GetLogger(ctx).Info("scheduled run skipped", "schedule", in.ScheduleID, "reason", prep.Skip)
		return RunResult{Status: "skipped", Error: prep.Skip}, nil
	}
	res, err := AgentRun(ctx, prep.Run)
	if err != nil || res.Status != "budget_exceeded" {
		return res, err
	}
	note := "paused: a run hit its budget (" + res.Error + "); resume when the budget has room"
	if err := workflow.ExecuteActivity(actx, PauseScheduleActivity, in.ScheduleID, note).Get(actx, nil); err != nil {
		return res, fmt.Errorf("pause schedule: %w", err)
	}
	return res, nil
}

// ScheduleControl pauses schedules; the stack implements it with the Temporal client.
type ScheduleControl interface {
	Pause(ctx context.Context, id, note string) error
}

// ScheduleStore is what scheduled runs need from the store.
type ScheduleStore interface {
	AgentState(ctx context.Context, team, name string) (store.AgentState, error)
	AgentVersion(ctx context.Context, team, name string, version int) (store.AgentVersion, error)
	CreateRun(ctx context.Context, r store.Run) error
	PutBlob(ctx context.Context, data []byte) (string, error)
}

// ScheduleActivities does the I/O of ScheduledRun.
type ScheduleActivities struct {
	Store     ScheduleStore
	Schedules ScheduleControl
}

// PrepareScheduledRun loads the agent's approved version and records the run.
// A suspended, archived or unapproved agent is skipped, not failed. Retries
// are safe: the run id follows from the workflow id.
func (a *ScheduleActivities) PrepareScheduledRun(ctx context.Context, in ScheduledInput) (PreparedRun, error) {
	info := activity.GetInfo(ctx)
	st, err := a.Store.AgentState(ctx, in.Team, in.Agent)
	if errors.Is(err, store.ErrNotFound) {
		return PreparedRun{Skip: "the agent no longer exists"}, nil
	}
	if err != nil {
		return PreparedRun{}, err
	}
	switch {
	case st.Status != store.AgentActive:
		return PreparedRun{Skip: "the agent is " + st.Status}, nil
	case st.ApprovedVersion == 0:
		return PreparedRun{Skip: "the agent has no approved version"}, nil
	}
	v, err := a.Store.AgentVersion(ctx, in.Team, in.Agent, st.ApprovedVersion)
	if err != nil {
		return PreparedRun{}, err
	}
	var ag agents.Agent
	if err := json.Unmarshal(v.Spec, &ag); err != nil {
		return PreparedRun{}, err
	}
	inputs, err := agents.ValidateInputs(ag.Spec, in.Inputs)
	if err != nil {
		return PreparedRun{}, temporal.NewNonRetryableApplicationError("schedule inputs: "+err.Error(), ErrInvalid, nil)
	}
	runID := "run_" + store.Hash([]byte(info.WorkflowExecution.ID))[:24]
	trigger := "schedule:" + in.ScheduleID
	run := RunInput{RunID: runID, Team: in.Team, Agent: in.Agent, Version: v.Version, Owner: v.Owner, Trigger: trigger, Spec: ag.Spec}
	b, err := json.Marshal(inputs)
	if err != nil {
		return PreparedRun{}, err
	}
	if len(b) > InlineLimit {
		if run.Inputs.Ref, err = a.Store.PutBlob(ctx, b); err != nil {
			return PreparedRun{}, err
		}
	} else {
		run.Inputs.Inline = b
	}
	err = a.Store.CreateRun(ctx, store.Run{ID: runID, Team: in.Team, Agent: in.Agent, Version: v.Version, Owner: in.Owner,
		Trigger: trigger, Status: store.RunRunning, WorkflowID: info.WorkflowExecution.ID})
	if err != nil && !errors.Is(err, store.ErrConflict) {
		return PreparedRun{}, err
	}
	return PreparedRun{Run: run}, nil
}

// PauseSchedule pauses a schedule with a note saying why.
func (a *ScheduleActivities) PauseSchedule(ctx context.Context, id, note string) error {
	return a.Schedules.Pause(ctx, id, note)
}
