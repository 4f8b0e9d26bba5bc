package stack

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/telos-dev/telos/agents"
	"github.com/telos-dev/telos/workflows"
)

// TestSimStack runs the example agents on the offline sim provider, the way
// `telos dev` does, and checks the API's behaviour on bad input.
func TestSimStack(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
		}
	}))
	defer slow.Close()
	slowURL, _ := url.Parse(slow.URL)
	s := startStack(t, Config{HTTPAllowHosts: []string{slowURL.Host}})
	admin := apiClient{t: t, url: s.URL, key: testAdminKey}

	var platform, payments struct{ Key string }
	admin.json("POST", "/v1/keys", map[string]string{"user": "ana", "team": "platform", "role": "member"}, http.StatusCreated, &platform)
	admin.json("POST", "/v1/keys", map[string]string{"user": "bo", "team": "payments", "role": "member"}, http.StatusCreated, &payments)
	ana := apiClient{t: t, url: s.URL, key: platform.Key, approverKey: testAdminKey}
	bo := apiClient{t: t, url: s.URL, key: payments.Key}

	t.Run("example agent on sim records a priced forecast", func(t *testing.T) {
		ana.t = t
		doc, err := os.ReadFile("../examples/agents/echo-release-digest.yaml")
		if err != nil {
			t.Fatal(err)
		}
		ana.apply(string(doc))
		run := ana.runAndWait("echo-release-digest", nil)
		if run.Status != "completed" {
			t.Fatalf("status: got %q (%s), want completed", run.Status, run.Error)
		}
		var led ledgerDoc
		ana.json("GET", "/v1/runs/"+run.ID+"/ledger", nil, http.StatusOK, &led)
		if len(led.Items) != 3 {
			t.Fatalf("ledger: got %d entries, want 3", len(led.Items))
		}
		e := led.Items[1]
		price, _ := agents.DefaultPrices().Lookup("gpt-4o-mini")
		want, _ := price.Cost(agents.Usage{InputTokens: e.InputTokens, OutputTokens: e.OutputTokens})
		if e.Provider != "sim" || !e.Simulated || e.Unpriced || e.Cost != want.String() || e.InputTokens < 10000 || e.OutputTokens == 0 || e.OutputTokens > 600 {
			t.Errorf("sim entry: got %+v, want simulated, priced at gpt-4o-mini (%s), 10k+ input tokens, at most 600 output", e, want)
		}
		if run.Totals.Cost != e.Cost {
			t.Errorf("run total: got %s, want %s", run.Totals.Cost, e.Cost)
		}
		var inbox struct {
			Items []struct {
				Text string `json:"text"`
			} `json:"items"`
		}
		ana.json("GET", "/v1/inbox", nil, http.StatusOK, &inbox)
		if len(inbox.Items) != 1 || !strings.Contains(inbox.Items[0].Text, "GHSA-vfp3-v2gw-7wfq") {
			t.Errorf("inbox: want the digest naming the Echo security advisory, got %+v", inbox.Items)
		}
		// Another team cannot see the agent, its run or its inbox.
		bo.t = t
		for _, path := range []string{"/v1/agents/echo-release-digest", "/v1/runs/" + run.ID, "/v1/runs/" + run.ID + "/ledger"} {
			if status, body := bo.do("GET", path, "", nil); status != http.StatusNotFound {
				t.Errorf("other team GET %s: got %d, want 404: %s", path, status, body)
			}
		}
		if status, _ := bo.do("POST", "/v1/runs/"+run.ID+"/cancel", "", nil); status != http.StatusNotFound {
			t.Errorf("other team cancel: got %d, want 404", status)
		}
		bo.json("GET", "/v1/inbox", nil, http.StatusOK, &inbox)
		if len(inbox.Items) != 0 {
			t.Errorf("other team inbox: got %d messages, want 0", len(inbox.Items))
		}
	})

	t.Run("bad spec reports every error and stores nothing", func(t *testing.T) {
		ana.t = t
		doc := `apiVersion: telos/v1
kind: Agent
metadata: { name: Bad_Name }
spec:
  purpose: { category: engineering-productivity, statement: "" }
  model: gpt-4o-mini
  budget: { per_run: { usd: "abc", tokens: -5 } }
  steps:
    - id: fetch
      purpose: Read the notes.
      connector: slack.post
      with: { url: "${{ inputs.missing }}" }
    - id: fetch
      connector: http.get
      with: { url: "${{ steps.later.output.body }}" }
    - id: later
      purpose: Summarize the notes for the team.
      llm: { prompt: "${{ env.HOME }}", temprature: 3 }
`
		status, body := ana.do("POST", "/v1/agents", "application/yaml", []byte(doc))
		if status != http.StatusUnprocessableEntity {
			t.Fatalf("status: got %d, want 422: %s", status, body)
		}
		var p struct {
			Errors []agents.FieldError `json:"errors"`
		}
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range p.Errors {
			got = append(got, e.Path)
		}
		want := []string{
			"spec.steps[2].llm.temprature", "metadata.name", "spec.purpose.statement", "spec.budget.per_run.tokens",
			"spec.budget.per_run.usd", "spec.steps[0].connector", "spec.steps[0].with.url", "spec.steps[1].id",
			"spec.steps[1].purpose", "spec.steps[1].with.url", "spec.steps[2].llm.prompt",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("error paths:\ngot  %v\nwant %v", got, want)
		}
		var list struct{ Items []struct{ Name string } }
		ana.json("GET", "/v1/agents", nil, http.StatusOK, &list)
		for _, a := range list.Items {
			if strings.EqualFold(a.Name, "bad_name") {
				t.Error("an invalid agent was stored")
			}
		}
	})

	t.Run("bad requests get a clear 4xx", func(t *testing.T) {
		ana.t = t
		tests := []struct {
			name        string
			c           apiClient
			method      string
			path        string
			contentType string
			body        []byte
			want        int
		}{
			{"malformed json", ana, "POST", "/v1/agents", "application/json", []byte(`{"apiVersion": `), 400},
			{"malformed yaml", ana, "POST", "/v1/agents", "application/yaml", []byte("a: [b"), 400},
			{"body over 1 MiB", ana, "POST", "/v1/agents", "application/yaml", []byte(strings.Repeat("a", 1<<20+10)), 413},
			{"run body over 1 MiB", ana, "POST", "/v1/agents/echo-release-digest/runs", "application/json", []byte(`{"inputs":{"notes_file":"` + strings.Repeat("a", 1<<20) + `"}}`), 413},
			{"missing key", apiClient{t: t, url: s.URL}, "GET", "/v1/agents", "", nil, 401},
			{"wrong key", apiClient{t: t, url: s.URL, key: "tls_nope"}, "GET", "/v1/agents", "", nil, 401},
			{"key in the query string", ana, "GET", "/v1/agents?api_key=x", "", nil, 400},
			{"unknown agent", ana, "GET", "/v1/agents/nope", "", nil, 404},
			{"run of unknown agent", ana, "POST", "/v1/agents/nope/runs", "application/json", []byte(`{}`), 404},
			{"unknown run", ana, "GET", "/v1/runs/run_nope", "", nil, 404},
			{"unknown run ledger", ana, "GET", "/v1/runs/run_nope/ledger", "", nil, 404},
			{"unknown input", ana, "POST", "/v1/agents/echo-release-digest/runs", "application/json", []byte(`{"inputs":{"x":1}}`), 422},
			{"unknown body field", ana, "POST", "/v1/agents/echo-release-digest/runs", "application/json", []byte(`{"input":{}}`), 422},
			{"member issues a key", ana, "POST", "/v1/keys", "application/json", []byte(`{"user":"x","team":"platform","role":"admin"}`), 403},
			{"bad usage group", ana, "GET", "/v1/usage?group_by=color", "", nil, 400},
			{"member creates agent in another team", ana, "POST", "/v1/agents", "application/yaml", []byte(strings.Replace(testAgent("other-team"), "name: other-team", "name: other-team, team: payments", 1)), 404},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tt.c.t = t
				status, body := tt.c.do(tt.method, tt.path, tt.contentType, tt.body)
				if status != tt.want {
					t.Errorf("got %d, want %d: %.300s", status, tt.want, body)
				}
				if !strings.Contains(string(body), `"status":`+fmt.Sprint(tt.want)) {
					t.Errorf("body is not a problem document with status %d: %.300s", tt.want, body)
				}
			})
		}
	})

	t.Run("idempotency key starts one run", func(t *testing.T) {
		ana.t = t
		ana.apply(testAgent("idem"))
		var first, second runDoc
		ana.json("POST", "/v1/agents/idem/runs", map[string]any{}, http.StatusAccepted, &first, "Idempotency-Key", "abc-123")
		ana.json("POST", "/v1/agents/idem/runs", map[string]any{}, http.StatusAccepted, &second, "Idempotency-Key", "abc-123")
		if first.ID == "" || first.ID != second.ID {
			t.Errorf("ids: got %q and %q, want the same run", first.ID, second.ID)
		}
		ana.wait(first.ID)
		var runs struct{ Items []runDoc }
		ana.json("GET", "/v1/runs?agent=idem", nil, http.StatusOK, &runs)
		if len(runs.Items) != 1 {
			t.Errorf("runs: got %d, want 1", len(runs.Items))
		}
	})

	t.Run("cancel a running run", func(t *testing.T) {
		ana.t = t
		ana.apply(fmt.Sprintf(`apiVersion: telos/v1
kind: Agent
metadata: { name: slow }
spec:
  purpose: { category: engineering-productivity, statement: Check that a slow upstream can be canceled cleanly. }
  steps:
    - id: wait
      purpose: Call an upstream that never answers.
      connector: http.get
      with: { url: "%s/hang" }
`, slow.URL))
		var started runDoc
		ana.json("POST", "/v1/agents/slow/runs", map[string]any{}, http.StatusAccepted, &started)
		time.Sleep(500 * time.Millisecond)
		ana.json("POST", "/v1/runs/"+started.ID+"/cancel", nil, http.StatusAccepted, nil)
		run := ana.wait(started.ID)
		if run.Status != "canceled" {
			t.Errorf("status: got %q, want canceled", run.Status)
		}
		var led ledgerDoc
		ana.json("GET", "/v1/runs/"+started.ID+"/ledger", nil, http.StatusOK, &led)
		if len(led.Items) != 1 || led.Items[0].Status != "canceled" {
			t.Errorf("ledger: got %+v, want one canceled attempt", led.Items)
		}
		if status, _ := ana.do("POST", "/v1/runs/"+started.ID+"/cancel", "", nil); status != http.StatusConflict {
			t.Errorf("second cancel: got %d, want 409", status)
		}
	})

	t.Run("unknown model is unpriced, never $0", func(t *testing.T) {
		ana.t = t
		ana.apply(strings.Replace(testAgent("unpriced"), "model: gpt-4o-mini", "model: local-llama-3", 1))
		run := ana.runAndWait("unpriced", nil)
		var led ledgerDoc
		ana.json("GET", "/v1/runs/"+run.ID+"/ledger", nil, http.StatusOK, &led)
		if len(led.Items) != 1 || !led.Items[0].Unpriced || led.Items[0].InputTokens == 0 {
			t.Errorf("ledger: got %+v, want one unpriced entry with tokens", led.Items)
		}
		var got struct {
			Totals struct {
				Unpriced int64 `json:"unpriced_entries"`
			} `json:"totals"`
		}
		ana.json("GET", "/v1/runs/"+run.ID, nil, http.StatusOK, &got)
		if got.Totals.Unpriced != 1 {
			t.Errorf("run totals: got %d unpriced entries, want 1", got.Totals.Unpriced)
		}
	})

	t.Run("usage sums the ledger exactly", func(t *testing.T) {
		ana.t = t
		var runs struct{ Items []runDoc }
		ana.json("GET", "/v1/runs", nil, http.StatusOK, &runs)
		var sum agents.Money
		var in int64
		for _, r := range runs.Items {
			var led ledgerDoc
			ana.json("GET", "/v1/runs/"+r.ID+"/ledger", nil, http.StatusOK, &led)
			for _, e := range led.Items {
				c, err := agents.ParseUSD(e.Cost)
				if err != nil {
					t.Fatal(err)
				}
				if !e.Unpriced {
					sum += c
				}
				in += e.InputTokens
			}
		}
		var usage struct {
			Totals struct {
				InputTokens int64  `json:"input_tokens"`
				Cost        string `json:"cost_usd"`
			} `json:"totals"`
			Items []struct {
				Key string `json:"key"`
			} `json:"items"`
		}
		ana.json("GET", "/v1/usage?group_by=model", nil, http.StatusOK, &usage)
		if usage.Totals.Cost != sum.String() || usage.Totals.InputTokens != in {
			t.Errorf("usage totals: got %s and %d tokens, want %s and %d", usage.Totals.Cost, usage.Totals.InputTokens, sum, in)
		}
		var keys []string
		for _, it := range usage.Items {
			keys = append(keys, it.Key)
		}
		if fmt.Sprint(keys) != "[(none) gpt-4o-mini local-llama-3]" {
			t.Errorf("model groups: got %v", keys)
		}
	})

	t.Run("history replays deterministically", func(t *testing.T) {
		var runs struct{ Items []runDoc }
		admin.t = t
		admin.json("GET", "/v1/runs?agent=echo-release-digest", nil, http.StatusOK, &runs)
		if len(runs.Items) == 0 {
			t.Fatal("no run to replay")
		}
		replayRun(t, s, "agentrun-"+runs.Items[0].ID)
	})
}

// replayRun fetches a workflow's history from the server and replays it
// against the current AgentRun code. With TELOS_RECORD_HISTORY set, it also
// saves the history as the workflows package's replay fixture.
func replayRun(t *testing.T, s *Stack, workflowID string) {
	t.Helper()
	ctx := context.Background()
	iter := s.Temporal.GetWorkflowHistory(ctx, workflowID, "", false, 0)
	var h historypb.History
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			t.Fatal(err)
		}
		h.Events = append(h.Events, ev)
	}
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflow(workflows.AgentRun)
	if err := r.ReplayWorkflowHistory(nil, &h); err != nil {
		t.Fatalf("replay: %v", err)
	}
	if path := os.Getenv("TELOS_RECORD_HISTORY"); path != "" {
		b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(&h)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// testAgent is a one-step LLM agent named name.
func testAgent(name string) string {
	return `apiVersion: telos/v1
kind: Agent
metadata: { name: ` + name + ` }
spec:
  purpose: { category: engineering-productivity, statement: Summarize release notes for the upgrade review. }
  model: gpt-4o-mini
  steps:
    - id: answer
      purpose: Answer with a short summary.
      llm: { prompt: "Summarize: v1.2.0 fixes a security bug in the router.", max_tokens: 50 }
`
}

// TestRestartKeepsState stops a stack and starts another on the same data
// directory: agents, runs and the ledger are still there, and new runs work.
func TestRestartKeepsState(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{DataDir: dir, Addr: "127.0.0.1:0", RunAPI: true, RunWorker: true, AdminKey: testAdminKey,
		RedisURL: os.Getenv("TELOS_TEST_REDIS_URL"), RedisPrefix: "telos-restart-" + rand.Text()[:12], FilesRoot: "../examples/data"}
	s1, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := withApprover(t, apiClient{t: t, url: s1.URL, key: testAdminKey})
	c.apply(testAgent("survivor"))
	first := c.runAndWait("survivor", nil)
	s1.Close()

	s2, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	c.url = s2.URL
	var got runDoc
	c.json("GET", "/v1/runs/"+first.ID, nil, http.StatusOK, &got)
	if got.Status != "completed" || got.Totals.Cost != first.Totals.Cost || got.Totals.InputTokens != first.Totals.InputTokens {
		t.Errorf("after restart: got %+v, want %+v", got, first)
	}
	second := c.runAndWait("survivor", nil)
	if second.Status != "completed" || second.Totals.Cost != first.Totals.Cost {
		t.Errorf("second run: got %s %s, want completed %s", second.Status, second.Totals.Cost, first.Totals.Cost)
	}
	if _, err := os.Stat(filepath.Join(dir, "temporal.db")); err != nil {
		t.Errorf("temporal state file: %v", err)
	}
}

// TestOpenAIStreaming runs an agent against a streaming endpoint: usage comes
// from the final usage chunk, exactly once.
func TestOpenAIStreaming(t *testing.T) {
	fake := newFakeOpenAI(t)
	s := startStack(t, Config{OpenAIBaseURL: fake.URL + "/v1", OpenAIAPIKey: "sk-test", OpenAIStream: true})
	c := withApprover(t, apiClient{t: t, url: s.URL, key: testAdminKey})
	c.apply(strings.Replace(testAgent("streamed"), "model: gpt-4o-mini", "model: o4-mini", 1))
	run := c.runAndWait("streamed", nil)
	if run.Status != "completed" {
		t.Fatalf("status: got %q (%s)", run.Status, run.Error)
	}
	// o4-mini: 200 uncached at $1.10/M + 1000 cached at $0.275/M + 300 output
	// (reasoning charged at the output rate) at $4.40/M:
	// 0.00022 + 0.000275 + 0.00132.
	const want = "0.001815"
	if run.Totals.InputTokens != 1200 || run.Totals.CachedInputTokens != 1000 || run.Totals.OutputTokens != 300 || run.Totals.ReasoningTokens != 120 || run.Totals.Cost != want {
		t.Errorf("totals: got %+v, want 1200/1000/300/120 and %s", run.Totals, want)
	}
	req := fake.lastRequest()
	opts, _ := req["stream_options"].(map[string]any)
	if req["stream"] != true || opts["include_usage"] != true {
		t.Errorf("request: got stream=%v stream_options=%v, want include_usage", req["stream"], req["stream_options"])
	}
}
