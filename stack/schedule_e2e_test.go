package stack

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/telos-dev/telos/agents"
)

type scheduleDoc struct {
	ID            string   `json:"id"`
	Cron          string   `json:"cron"`
	Every         string   `json:"every"`
	Timezone      string   `json:"timezone"`
	Overlap       string   `json:"overlap"`
	CatchupWindow string   `json:"catchup_window"`
	Paused        bool     `json:"paused"`
	Note          string   `json:"note"`
	NextRuns      []string `json:"next_runs"`
	Forecast      struct {
		RunsPerMonth int64  `json:"runs_per_month"`
		PerRun       string `json:"cost_per_run_usd"`
		Cost         string `json:"cost_usd"`
		Source       string `json:"estimate_source"`
	} `json:"monthly_forecast"`
}

// TestSchedules schedules an approved agent on the embedded Temporal server:
// defaults (skip overlaps, 10-minute catch-up), the monthly forecast, the
// daylight-saving change in Europe/Berlin, trigger now with the run's
// trigger recorded, pause on suspension, and pause when a run hits its budget.
func TestSchedules(t *testing.T) {
	s := startStack(t, Config{})
	c := withApprover(t, apiClient{t: t, url: s.URL, key: testAdminKey})
	c.apply(testAgent("weekly"))
	var dry runDoc
	c.json("POST", "/v1/agents/weekly/runs", map[string]any{"dry_run": true}, http.StatusAccepted, &dry)
	dry = c.wait(dry.ID)

	// Drafts are not scheduled.
	c.approverKey = ""
	c.apply(testAgent("drafty"))
	if status, body := c.do("POST", "/v1/agents/drafty/schedules", "application/json", []byte(`{"cron":"@daily"}`)); status != http.StatusConflict {
		t.Errorf("schedule a draft: got %d, want 409: %s", status, body)
	}
	for body, path := range map[string]string{
		`{"cron":"0 9 * *"}`:                   "cron",
		`{"every":"10s"}`:                      "every",
		`{"cron":"@daily","timezone":"Mars"}`:  "timezone",
		`{"cron":"@daily","overlap":"maybe"}`:  "overlap",
		`{"cron":"@daily","every":"1h"}`:       "cron",
		`{"cron":"@daily","catchup_window":5}`: "catchup_window",
	} {
		status, resp := c.do("POST", "/v1/agents/weekly/schedules", "application/json", []byte(body))
		if status != http.StatusUnprocessableEntity || !strings.Contains(string(resp), `"path":"`+path+`"`) {
			t.Errorf("%s: got %d %s, want 422 at %s", body, status, resp, path)
		}
	}

	var sch scheduleDoc
	c.json("POST", "/v1/agents/weekly/schedules", map[string]any{"cron": "0 9 * * *", "timezone": "Europe/Berlin"}, http.StatusCreated, &sch)
	if sch.Cron != "0 9 * * *" || sch.Overlap != "skip" || sch.CatchupWindow != "10m0s" || sch.Timezone != "Europe/Berlin" || sch.Paused || len(sch.NextRuns) == 0 {
		t.Errorf("schedule: got %+v, want skip overlaps, a 10m catch-up window, Europe/Berlin, active", sch)
	}
	perRun, _ := agents.ParseUSD(dry.Totals.Cost)
	if sch.Forecast.Source != "dry_runs" || sch.Forecast.PerRun != perRun.String() || sch.Forecast.RunsPerMonth < 29 || sch.Forecast.RunsPerMonth > 31 ||
		sch.Forecast.Cost != (perRun*agents.Money(sch.Forecast.RunsPerMonth)).String() {
		t.Errorf("forecast: got %+v, want about 30 runs × %s", sch.Forecast, perRun)
	}

	// 09:00 in Berlin is 08:00 UTC before the 2027-03-28 change and 07:00 after.
	resp, err := s.Temporal.WorkflowService().ListScheduleMatchingTimes(context.Background(), &workflowservice.ListScheduleMatchingTimesRequest{
		Namespace: "default", ScheduleId: sch.ID,
		StartTime: timestamppb.New(time.Date(2027, 3, 27, 0, 0, 0, 0, time.UTC)), EndTime: timestamppb.New(time.Date(2027, 3, 30, 0, 0, 0, 0, time.UTC)),
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ts := range resp.GetStartTime() {
		got = append(got, ts.AsTime().UTC().Format(time.RFC3339))
	}
	if want := "[2027-03-27T08:00:00Z 2027-03-28T07:00:00Z 2027-03-29T07:00:00Z]"; fmt.Sprint(got) != want {
		t.Errorf("daylight saving: got %v, want %s", got, want)
	}

	// Trigger now: a run starts with the schedule as its trigger.
	c.json("POST", "/v1/agents/weekly/schedules/"+sch.ID+"/trigger", nil, http.StatusAccepted, nil)
	run := waitScheduledRun(t, c, "weekly", "schedule:"+sch.ID)
	if run.Status != "completed" {
		t.Errorf("scheduled run: got %+v", run)
	}

	// Suspending the agent pauses its schedules; resuming resumes them.
	c.json("POST", "/v1/agents/weekly/suspend", nil, http.StatusOK, nil)
	c.json("GET", "/v1/agents/weekly/schedules/"+sch.ID, nil, http.StatusOK, &sch)
	if !sch.Paused || sch.Note != "paused: the agent is suspended" {
		t.Errorf("after suspend: got paused=%v note=%q", sch.Paused, sch.Note)
	}
	if status, _ := c.do("POST", "/v1/agents/weekly/schedules/"+sch.ID+"/trigger", "", nil); status != http.StatusConflict {
		t.Errorf("trigger a suspended agent: got %d, want 409", status)
	}
	approver := apiClient{t: t, url: s.URL, key: testAdminKey}
	_ = approver
	c.json("POST", "/v1/agents/weekly/resume", nil, http.StatusOK, nil)
	c.json("GET", "/v1/agents/weekly/schedules/"+sch.ID, nil, http.StatusOK, &sch)
	if sch.Paused {
		t.Errorf("after resume: still paused (%q)", sch.Note)
	}

	// Edit, list, delete.
	id := sch.ID
	sch = scheduleDoc{}
	c.json("PATCH", "/v1/agents/weekly/schedules/"+id, map[string]any{"every": "6h"}, http.StatusOK, &sch)
	if sch.Every != "6h0m0s" || sch.Cron != "" || sch.Forecast.RunsPerMonth != 120 {
		t.Errorf("after edit: got every=%q cron=%q runs=%d, want 6h, no cron, 120 runs", sch.Every, sch.Cron, sch.Forecast.RunsPerMonth)
	}
	var list struct{ Items []scheduleDoc }
	c.json("GET", "/v1/agents/weekly/schedules", nil, http.StatusOK, &list)
	if len(list.Items) != 1 || list.Items[0].ID != sch.ID {
		t.Errorf("list: got %+v", list.Items)
	}
	var dossier struct {
		Monthly *struct {
			Runs int64  `json:"runs_per_month"`
			Cost string `json:"cost_usd"`
		} `json:"monthly_forecast"`
	}
	c.json("GET", "/v1/agents/weekly/versions/1/dossier", nil, http.StatusOK, &dossier)
	if dossier.Monthly == nil || dossier.Monthly.Runs != 120 || dossier.Monthly.Cost != (perRun*120).String() {
		t.Errorf("dossier forecast: got %+v, want 120 runs × %s", dossier.Monthly, perRun)
	}
	c.json("DELETE", "/v1/agents/weekly/schedules/"+sch.ID, nil, http.StatusNoContent, nil)
	if status, _ := c.do("GET", "/v1/agents/weekly/schedules/"+sch.ID, "", nil); status != http.StatusNotFound {
		t.Errorf("deleted schedule: got %d, want 404", status)
	}

	// A run that hits its budget pauses the schedule.
	c = withApprover(t, apiClient{t: t, url: s.URL, key: testAdminKey})
	c.apply(strings.Replace(testAgent("tight"), "  model: gpt-4o-mini", "  model: gpt-4o-mini\n  budget: { per_run: { tokens: 10 } }", 1))
	c.json("POST", "/v1/agents/tight/schedules", map[string]any{"every": "24h"}, http.StatusCreated, &sch)
	c.json("POST", "/v1/agents/tight/schedules/"+sch.ID+"/trigger", nil, http.StatusAccepted, nil)
	if run := waitScheduledRun(t, c, "tight", "schedule:"+sch.ID); run.Status != "budget_exceeded" {
		t.Errorf("tight run: got %q, want budget_exceeded", run.Status)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		c.json("GET", "/v1/agents/tight/schedules/"+sch.ID, nil, http.StatusOK, &sch)
		if sch.Paused || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !sch.Paused || !strings.Contains(sch.Note, "budget") {
		t.Errorf("after a budget stop: got paused=%v note=%q, want paused for the budget", sch.Paused, sch.Note)
	}
}

// waitScheduledRun waits for the first run of agent with the given trigger to finish.
func waitScheduledRun(t *testing.T, c apiClient, agent, trigger string) runDoc {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		var runs struct {
			Items []struct {
				ID      string `json:"id"`
				Trigger string `json:"trigger"`
			} `json:"items"`
		}
		c.json("GET", "/v1/runs?agent="+agent, nil, http.StatusOK, &runs)
		for _, r := range runs.Items {
			if r.Trigger == trigger {
				return c.wait(r.ID)
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("no run of %s with trigger %s", agent, trigger)
	return runDoc{}
}
