package stack

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
)

// TestScheduleOverlapSkip backfills three missed times of a schedule with the
// default overlap policy while each run takes a while: with "skip", a time
// whose predecessor still runs starts nothing, so fewer runs start than times
// matched, and Temporal counts the skips.
func TestScheduleOverlapSkip(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(3 * time.Second):
		case <-r.Context().Done():
		}
		w.Write([]byte("ok"))
	}))
	defer slow.Close()
	u, _ := url.Parse(slow.URL)
	s := startStack(t, Config{HTTPAllowHosts: []string{u.Host}})
	c := withApprover(t, apiClient{t: t, url: s.URL, key: testAdminKey})
	c.apply(fmt.Sprintf(`apiVersion: telos/v1
kind: Agent
metadata: { name: slowpoke }
spec:
  purpose: { category: operations, statement: Check the status page every hour for the on-call engineer. }
  steps:
    - id: check
      purpose: Read the status page that answers slowly.
      connector: http.get
      with: { url: "%s/status" }
`, slow.URL))
	var sch scheduleDoc
	c.json("POST", "/v1/agents/slowpoke/schedules", map[string]any{"every": "1h", "paused": true}, http.StatusCreated, &sch)
	if sch.Overlap != "skip" {
		t.Fatalf("overlap: got %q, want skip", sch.Overlap)
	}
	h := s.Temporal.ScheduleClient().GetHandle(context.Background(), sch.ID)
	end := time.Now().Truncate(time.Hour)
	if err := h.Backfill(context.Background(), client.ScheduleBackfillOptions{Backfill: []client.ScheduleBackfill{
		// Off-the-hour bounds: exactly three matching times, end-3h..end-1h.
		{Start: end.Add(-3*time.Hour - 30*time.Minute), End: end.Add(-30 * time.Minute), Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP},
	}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	var d *client.ScheduleDescription
	for time.Now().Before(deadline) {
		var err error
		if d, err = h.Describe(context.Background()); err != nil {
			t.Fatal(err)
		}
		if d.Info.NumActions+d.Info.NumActionsSkippedOverlap >= 3 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if d.Info.NumActions != 1 || d.Info.NumActionsSkippedOverlap != 2 {
		t.Errorf("backfill of 3 times: got %d started and %d skipped, want 1 and 2", d.Info.NumActions, d.Info.NumActionsSkippedOverlap)
	}
}
