package stack

import (
	"context"
	"os"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
)

// TestScheduleCatchupWindow stops the embedded Temporal server for longer
// than a schedule's catch-up window and starts it again on the same state:
// the times missed while it was down are dropped and counted, not replayed
// as a backlog of runs. (Telos's schedules use 10 minutes; the test uses
// Temporal's 10-second minimum to stay short.)
func TestScheduleCatchupWindow(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for a server outage")
	}
	dir := t.TempDir()
	cfg := Config{DataDir: dir, Addr: "127.0.0.1:0", RunAPI: true, RunWorker: true, AdminKey: testAdminKey,
		RedisURL: os.Getenv("TELOS_TEST_REDIS_URL"), FilesRoot: "../examples/data"}
	s1, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	h, err := s1.Temporal.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:            "catchup-test",
		Spec:          client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: 2 * time.Second}}},
		CatchupWindow: 10 * time.Second,
		Action:        &client.ScheduleWorkflowAction{ID: "catchup-wf", Workflow: "NoOp", TaskQueue: "catchup-nobody"},
	})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if d, err := h.Describe(ctx); err == nil && d.Info.NumActions >= 1 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	s1.Close()
	time.Sleep(16 * time.Second) // longer than the catch-up window

	s2, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	h = s2.Temporal.ScheduleClient().GetHandle(ctx, "catchup-test")
	var missed int64
	deadline = time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if d, err := h.Describe(ctx); err == nil && d.Info.NumActionsMissedCatchupWindow > 0 {
			missed = int64(d.Info.NumActionsMissedCatchupWindow)
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	if missed == 0 {
		t.Errorf("no action was counted as missed after a 16 s outage with a 10 s catch-up window")
	}
}
