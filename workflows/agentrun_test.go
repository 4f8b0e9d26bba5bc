package workflows

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"go.temporal.io/sdk/testsuite"

	"github.com/telos-dev/telos/agents"
	"github.com/telos-dev/telos/budget"
	"github.com/telos-dev/telos/connectors"
	"github.com/telos-dev/telos/connectors/files"
	"github.com/telos-dev/telos/connectors/inbox"
	"github.com/telos-dev/telos/ledger"
	"github.com/telos-dev/telos/llm"
	"github.com/telos-dev/telos/store"
)

// fakeProvider answers with complete, a hand-written function field.
type fakeProvider struct {
	complete func(req llm.Request) (llm.Response, error)
}

func (f fakeProvider) Complete(_ context.Context, req llm.Request) (llm.Response, error) {
	return f.complete(req)
}

type harness struct {
	env   *testsuite.TestWorkflowEnvironment
	store *store.Store
	root  string
	acts  *Activities
}

func newHarness(t *testing.T, provider llm.Provider) *harness {
	t.Helper()
	dir := t.TempDir()
	st, err := store.OpenSQLite(context.Background(), filepath.Join(dir, "telos.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	root := filepath.Join(dir, "files")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	reg := connectors.NewRegistry()
	for _, a := range files.Actions(files.Config{Root: root}) {
		reg.Register(a)
	}
	for _, a := range inbox.Actions(st) {
		reg.Register(a)
	}
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { rdb.Close() })
	acts := &Activities{Store: st, Connectors: reg, Sim: llm.NewSim(), Prices: agents.DefaultPrices(), Budgets: budget.New(rdb, time.UTC, st)}
	if provider != nil {
		acts.Provider, acts.ProviderName = provider, "openai"
	}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(AgentRun)
	env.RegisterActivity(acts)
	return &harness{env: env, store: st, root: root, acts: acts}
}

// run executes spec as run id "run_test" and returns the result and ledger.
func (h *harness) run(t *testing.T, doc string, inputs map[string]any) (RunResult, []ledger.Entry) {
	t.Helper()
	a, err := agents.Parse([]byte(doc))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if err := agents.Validate(a, h.acts.Connectors); err != nil {
		t.Fatalf("validate: %v", err)
	}
	in, err := agents.ValidateInputs(a.Spec, inputs)
	if err != nil {
		t.Fatalf("inputs: %v", err)
	}
	b, _ := json.Marshal(in)
	ctx := context.Background()
	if err := h.store.CreateRun(ctx, store.Run{ID: "run_test", Team: "platform", Agent: a.Metadata.Name, Version: 1, Owner: "ana", Trigger: "api", Status: store.RunRunning, WorkflowID: "wf"}); err != nil {
		t.Fatal(err)
	}
	h.env.ExecuteWorkflow(AgentRun, RunInput{RunID: "run_test", Team: "platform", Agent: a.Metadata.Name, Version: 1, Owner: "ana", Trigger: "api", Spec: a.Spec, Inputs: Value{Inline: b}})
	if !h.env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	if err := h.env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow error: %v", err)
	}
	var res RunResult
	if err := h.env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	entries, err := h.store.RunLedger(ctx, "run_test")
	if err != nil {
		t.Fatal(err)
	}
	run, err := h.store.Run(ctx, "run_test")
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != res.Status {
		t.Errorf("stored run status: got %q, want %q", run.Status, res.Status)
	}
	return res, entries
}

const threeSteps = `apiVersion: telos/v1
kind: Agent
metadata: { name: notes-digest, team: platform }
spec:
  purpose: { category: engineering-productivity, statement: Flag breaking changes before the upgrade review. }
  model: gpt-4o-mini
  inputs:
    file: { type: string, required: true }
  steps:
    - id: fetch
      purpose: Read the release notes.
      connector: files.read
      with: { path: "${{ inputs.file }}" }
    - id: summarize
      purpose: Pick out breaking changes.
      llm:
        prompt: "List breaking changes:\n${{ steps.fetch.output.content }}"
        max_tokens: 200
    - id: deliver
      purpose: Deliver the digest.
      connector: inbox.deliver
      with: { title: "Digest for ${{ run.agent }}", text: "${{ steps.summarize.output.text }}" }
`

func TestAgentRunSimChainsOutputs(t *testing.T) {
	h := newHarness(t, nil)
	notes := "# Changelog\n\n## v2.0.0\n\n- BREAKING: the Context interface changed.\n- Added a router option.\n\n## v1.9.0\n\n- Fixed a typo.\n"
	if err := os.WriteFile(filepath.Join(h.root, "notes.md"), []byte(notes), 0o644); err != nil {
		t.Fatal(err)
	}
	res, entries := h.run(t, threeSteps, map[string]any{"file": "notes.md"})
	if res.Status != "completed" {
		t.Fatalf("status: got %q (%s), want completed", res.Status, res.Error)
	}
	if len(entries) != 3 {
		t.Fatalf("ledger: got %d entries, want 3", len(entries))
	}
	tok, err := llm.NewTokenizer("gpt-4o-mini")
	if err != nil {
		t.Fatal(err)
	}
	e := entries[1]
	wantIn := int64(tok.CountChat("", "List breaking changes:\n"+notes))
	if e.Kind != "llm" || e.Provider != "sim" || !e.Simulated || e.InputTokens != wantIn || e.Attempt != 1 || e.Status != ledger.StatusCompleted {
		t.Errorf("llm entry: got kind=%s provider=%s simulated=%v input=%d attempt=%d status=%s, want llm/sim/true/%d/1/completed",
			e.Kind, e.Provider, e.Simulated, e.InputTokens, e.Attempt, e.Status, wantIn)
	}
	price, _ := agents.DefaultPrices().Lookup("gpt-4o-mini")
	wantCost, _ := price.Cost(e.Usage)
	if e.Cost != wantCost || e.Cost == 0 || e.Unpriced {
		t.Errorf("sim cost: got %s (unpriced %v), want %s priced as gpt-4o-mini", e.Cost, e.Unpriced, wantCost)
	}
	msgs, err := h.store.Inbox(context.Background(), "platform", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0].Title != "Digest for notes-digest" || !strings.Contains(msgs[0].Text, "BREAKING: the Context interface changed.") {
		t.Errorf("inbox: got %+v", msgs)
	}
	if entries[2].OutcomeRef != "inbox:"+msgs[0].ID {
		t.Errorf("outcome ref: got %q, want inbox:%s", entries[2].OutcomeRef, msgs[0].ID)
	}
}

func TestAgentRunPassesLargeOutputsByReference(t *testing.T) {
	var gotPrompt string
	h := newHarness(t, fakeProvider{complete: func(req llm.Request) (llm.Response, error) {
		gotPrompt = req.Prompt
		return llm.Response{Text: "ok", Usage: agents.Usage{InputTokens: 10, OutputTokens: 1}, Provider: "openai"}, nil
	}})
	big := strings.Repeat("- fixed a bug in the pool\n", 8000) // 208 KB
	if err := os.WriteFile(filepath.Join(h.root, "big.md"), []byte(big), 0o644); err != nil {
		t.Fatal(err)
	}
	res, entries := h.run(t, threeSteps, map[string]any{"file": "big.md"})
	if res.Status != "completed" {
		t.Fatalf("status: got %q (%s), want completed", res.Status, res.Error)
	}
	fetch := res.Outputs["fetch"]
	if fetch.Ref == "" || len(fetch.Inline) != 0 {
		t.Errorf("fetch output: got ref %q and %d inline bytes, want a reference only", fetch.Ref, len(fetch.Inline))
	}
	if fetch.Ref != entries[0].OutputRef {
		t.Errorf("ref: got %q, want the ledger's output ref %q", fetch.Ref, entries[0].OutputRef)
	}
	if gotPrompt != "List breaking changes:\n"+big {
		t.Errorf("prompt: got %d bytes, want the whole %d-byte file", len(gotPrompt), len(big)+len("List breaking changes:\n"))
	}
	if len(res.Outputs["summarize"].Inline) == 0 {
		t.Error("small outputs must stay inline")
	}
}

func TestAgentRunRetries(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus string
		wantTries  int
	}{
		{"server error retried three times", &llm.Error{StatusCode: 500, Retryable: true, Message: "upstream failed"}, "failed", 3},
		{"rate limit retried three times", &llm.Error{StatusCode: 429, Retryable: true, Message: "slow down"}, "failed", 3},
		{"bad request never retried", &llm.Error{StatusCode: 400, Message: "bad model"}, "failed", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, fakeProvider{complete: func(llm.Request) (llm.Response, error) { return llm.Response{}, tt.err }})
			if err := os.WriteFile(filepath.Join(h.root, "n.md"), []byte("notes"), 0o644); err != nil {
				t.Fatal(err)
			}
			res, entries := h.run(t, threeSteps, map[string]any{"file": "n.md"})
			if res.Status != tt.wantStatus {
				t.Errorf("status: got %q, want %q", res.Status, tt.wantStatus)
			}
			var tries int
			for _, e := range entries {
				if e.StepID == "summarize" {
					tries++
					if e.Status != ledger.StatusFailed || e.Attempt != tries || !strings.Contains(e.Error, tt.err.(*llm.Error).Message) {
						t.Errorf("attempt %d: got status %q attempt %d error %q", tries, e.Status, e.Attempt, e.Error)
					}
				}
			}
			if tries != tt.wantTries {
				t.Errorf("attempts: got %d, want %d", tries, tt.wantTries)
			}
		})
	}
}

func TestAgentRunStopsAtRunBudget(t *testing.T) {
	calls := 0
	h := newHarness(t, fakeProvider{complete: func(llm.Request) (llm.Response, error) {
		calls++
		return llm.Response{Text: "x", Usage: agents.Usage{InputTokens: 10, OutputTokens: 1}}, nil
	}})
	if err := os.WriteFile(filepath.Join(h.root, "n.md"), []byte(strings.Repeat("release notes ", 100)), 0o644); err != nil {
		t.Fatal(err)
	}
	doc := strings.Replace(threeSteps, "  inputs:", "  budget: { per_run: { tokens: 150 } }\n  inputs:", 1)
	res, entries := h.run(t, doc, map[string]any{"file": "n.md"})
	if res.Status != "budget_exceeded" {
		t.Fatalf("status: got %q (%s), want budget_exceeded", res.Status, res.Error)
	}
	if calls != 0 {
		t.Errorf("provider calls: got %d, want 0 (the call must not happen)", calls)
	}
	if len(entries) != 2 || entries[1].Status != ledger.StatusBudgetExceeded || entries[1].Attempt != 1 || entries[1].Cost != 0 {
		t.Errorf("ledger: got %+v, want fetch then one budget_exceeded attempt", entries)
	}
}
