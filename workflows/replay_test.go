package workflows

import (
	"testing"

	"go.temporal.io/sdk/worker"
)

// TestReplayRecordedHistory replays the history of a real run, recorded from
// the embedded Temporal server by the stack's end-to-end test (regenerate with
// TELOS_RECORD_HISTORY=$PWD/workflows/testdata/agentrun-v1.json go test
// -run TestSimStack ./stack/). If a change to AgentRun breaks determinism for
// runs already in flight, this test fails; guard such changes with
// workflow.GetVersion.
func TestReplayRecordedHistory(t *testing.T) {
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflow(AgentRun)
	if err := r.ReplayWorkflowHistoryFromJSONFile(nil, "testdata/agentrun-v1.json"); err != nil {
		t.Fatalf("replay: %v", err)
	}
}
