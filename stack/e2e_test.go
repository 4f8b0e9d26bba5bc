package stack

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"github.com/telos-dev/telos/store/storetest"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeOpenAI is an OpenAI-compatible chat completions server that answers with
// known usage, streaming or not, as the request asks.
type fakeOpenAI struct {
	*httptest.Server
	mu       sync.Mutex
	requests []map[string]any
	answer   string
}

const fakeUsage = `{"prompt_tokens":1200,"completion_tokens":300,"total_tokens":1500,"prompt_tokens_details":{"cached_tokens":1000},"completion_tokens_details":{"reasoning_tokens":120}}`

func newFakeOpenAI(t *testing.T) *fakeOpenAI {
	t.Helper()
	f := &fakeOpenAI{answer: "- v4.12.0: security fix in the static middleware\n- v5.0.0: breaking: new Context interface"}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/chat/completions" || r.Header.Get("Authorization") != "Bearer sk-test" {
			http.Error(w, `{"error":{"message":"bad request","type":"invalid_request_error"}}`, http.StatusBadRequest)
			return
		}
		var req map[string]any
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.requests = append(f.requests, req)
		f.mu.Unlock()
		model, _ := req["model"].(string)
		text, _ := json.Marshal(f.answer)
		if stream, _ := req["stream"].(bool); stream {
			w.Header().Set("Content-Type", "text/event-stream")
			half := len(f.answer) / 2
			for _, part := range []string{f.answer[:half], f.answer[half:]} {
				p, _ := json.Marshal(part)
				fmt.Fprintf(w, "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":%q,\"choices\":[{\"index\":0,\"delta\":{\"content\":%s},\"finish_reason\":null}],\"usage\":null}\n\n", model, p)
			}
			fmt.Fprintf(w, "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":%q,\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":null}\n\n", model)
			fmt.Fprintf(w, "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":%q,\"choices\":[],\"usage\":%s}\n\n", model, fakeUsage)
			fmt.Fprint(w, "data: [DONE]\n\n")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"c1","object":"chat.completion","created":1,"model":%q,"choices":[{"index":0,"message":{"role":"assistant","content":%s},"finish_reason":"stop"}],"usage":%s}`, model, text, fakeUsage)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeOpenAI) lastRequest() map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.requests) == 0 {
		return nil
	}
	return f.requests[len(f.requests)-1]
}

const testAdminKey = "tls_e2e_admin_key_for_tests_only_0001"

// startStack runs a whole Telos on a loopback port with its own embedded
// Temporal server, Redis (a real redis-server when TELOS_TEST_REDIS_URL is
// set) and SQLite store.
func startStack(t *testing.T, cfg Config) *Stack {
	t.Helper()
	cfg.DataDir = t.TempDir()
	if base := os.Getenv("TELOS_TEST_DATABASE_URL"); base != "" && cfg.DatabaseURL == "postgres" {
		cfg.DatabaseURL = storetest.PostgresSchema(t, base)
	} else if cfg.DatabaseURL == "postgres" {
		t.Skip("TELOS_TEST_DATABASE_URL is not set")
	}
	cfg.Addr = "127.0.0.1:0"
	cfg.RunAPI, cfg.RunWorker = true, true
	cfg.AdminKey = testAdminKey
	cfg.RedisURL = os.Getenv("TELOS_TEST_REDIS_URL")
	cfg.RedisPrefix = "telos-test-" + rand.Text()[:12] // tests share one real Redis
	if cfg.SecretKey == nil {
		cfg.SecretKey = make([]byte, 32)
		rand.Read(cfg.SecretKey)
	}
	if cfg.FilesRoot == "" {
		cfg.FilesRoot = "../examples/data"
	}
	s, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("start stack: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// client calls the API of a stack as one key.
type apiClient struct {
	t   *testing.T
	url string
	key string
	// approverKey, when set, belongs to someone else who approves every
	// agent this client applies, so it can run for real.
	approverKey string
}

// withApprover gives c an approver: a second admin of the stack.
func withApprover(t *testing.T, c apiClient) apiClient {
	t.Helper()
	admin := apiClient{t: t, url: c.url, key: testAdminKey}
	var k struct{ Key string }
	admin.json("POST", "/v1/keys", map[string]string{"user": "approver", "team": "default", "role": "admin"}, http.StatusCreated, &k)
	c.approverKey = k.Key
	return c
}

func (c apiClient) do(method, path, contentType string, body []byte, hdr ...string) (int, []byte) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.url+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (c apiClient) json(method, path string, body any, want int, out any, hdr ...string) {
	c.t.Helper()
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			c.t.Fatal(err)
		}
	}
	status, resp := c.do(method, path, "application/json", b, hdr...)
	if status != want {
		c.t.Fatalf("%s %s: got status %d, want %d: %s", method, path, status, want, resp)
	}
	if out != nil {
		if err := json.Unmarshal(resp, out); err != nil {
			c.t.Fatalf("%s %s: decode %s: %v", method, path, resp, err)
		}
	}
}

func (c apiClient) apply(yaml string) {
	c.t.Helper()
	status, body := c.do("POST", "/v1/agents", "application/yaml", []byte(yaml))
	if status != http.StatusCreated {
		c.t.Fatalf("apply agent: got status %d, want 201: %s", status, body)
	}
	if c.approverKey == "" {
		return
	}
	var v struct {
		Name    string `json:"name"`
		Team    string `json:"team"`
		Version int    `json:"version"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		c.t.Fatal(err)
	}
	path := fmt.Sprintf("/v1/agents/%s/versions/%d/", v.Name, v.Version)
	c.json("POST", path+"submit", nil, http.StatusOK, nil)
	approver := apiClient{t: c.t, url: c.url, key: c.approverKey}
	approver.json("POST", path+"approve?team="+v.Team, nil, http.StatusOK, nil)
}

type runDoc struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Error  string `json:"error"`
	Steps  []struct {
		ID       string `json:"id"`
		Status   string `json:"status"`
		Attempts int    `json:"attempts"`
		Cost     string `json:"cost_usd"`
	} `json:"steps"`
	Totals struct {
		InputTokens       int64  `json:"input_tokens"`
		CachedInputTokens int64  `json:"cached_input_tokens"`
		OutputTokens      int64  `json:"output_tokens"`
		ReasoningTokens   int64  `json:"reasoning_tokens"`
		Cost              string `json:"cost_usd"`
	} `json:"totals"`
}

type ledgerDoc struct {
	Items []struct {
		StepID            string `json:"step_id"`
		Attempt           int    `json:"attempt"`
		Kind              string `json:"kind"`
		Purpose           string `json:"purpose"`
		Provider          string `json:"provider"`
		Model             string `json:"model"`
		InputTokens       int64  `json:"input_tokens"`
		CachedInputTokens int64  `json:"cached_input_tokens"`
		OutputTokens      int64  `json:"output_tokens"`
		ReasoningTokens   int64  `json:"reasoning_tokens"`
		Cost              string `json:"cost_usd"`
		Unpriced          bool   `json:"unpriced"`
		Simulated         bool   `json:"simulated"`
		UsageEstimated    bool   `json:"usage_estimated"`
		Status            string `json:"status"`
		Error             string `json:"error"`
		OutcomeRef        string `json:"outcome_ref"`
	} `json:"items"`
}

// runAndWait starts a run and polls until it is no longer running.
func (c apiClient) runAndWait(agent string, inputs map[string]any) runDoc {
	c.t.Helper()
	var started runDoc
	c.json("POST", "/v1/agents/"+agent+"/runs", map[string]any{"inputs": inputs}, http.StatusAccepted, &started)
	if started.Status != "running" {
		c.t.Fatalf("start run: got status %q, want running", started.Status)
	}
	return c.wait(started.ID)
}

func (c apiClient) wait(id string) runDoc {
	c.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		var r runDoc
		c.json("GET", "/v1/runs/"+id, nil, http.StatusOK, &r)
		if r.Status != "running" {
			return r
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("run %s still running after 90s: %+v", id, r)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

const digestAgent = `apiVersion: telos/v1
kind: Agent
metadata:
  name: digest
spec:
  purpose:
    category: engineering-productivity
    statement: Flag breaking changes and security fixes before the upgrade review.
  model: gpt-4o-mini
  steps:
    - id: fetch
      purpose: Read the Echo release notes.
      connector: files.read
      with: { path: echo-CHANGELOG.md }
    - id: summarize
      purpose: Pick out breaking changes and security fixes.
      llm:
        system: You review dependency release notes.
        prompt: "List breaking changes and security fixes:\n${{ steps.fetch.output.content }}"
        max_tokens: 800
    - id: deliver
      purpose: Deliver the digest to the team.
      connector: inbox.deliver
      with: { title: Echo digest, text: "${{ steps.summarize.output.text }}" }
`

// TestOpenAIEndToEnd applies an agent over HTTP, runs it against an
// OpenAI-compatible server and checks the exact ledger and cost.
func TestOpenAIEndToEnd(t *testing.T) {
	fake := newFakeOpenAI(t)
	failOnce := sync.Map{}
	s := startStack(t, Config{
		OpenAIBaseURL: fake.URL + "/v1",
		OpenAIAPIKey:  "sk-test",
		AfterLLM: func(ctx context.Context, stepID string, attempt int32) error {
			if stepID == "flaky" && attempt == 1 {
				if _, done := failOnce.LoadOrStore(stepID, true); !done {
					return fmt.Errorf("simulated crash after the provider answered")
				}
			}
			return nil
		},
	})
	c := withApprover(t, apiClient{t: t, url: s.URL, key: testAdminKey})

	t.Run("exact ledger and cost", func(t *testing.T) {
		c.t = t
		c.apply(digestAgent)
		run := c.runAndWait("digest", nil)
		if run.Status != "completed" {
			t.Fatalf("run status: got %q (%s), want completed", run.Status, run.Error)
		}
		// gpt-4o-mini: 200 uncached input at $0.15/M, 1000 cached at $0.075/M,
		// 300 output (120 of them reasoning, no reasoning rate) at $0.60/M.
		const wantCost = "0.000285"
		if run.Totals.InputTokens != 1200 || run.Totals.CachedInputTokens != 1000 || run.Totals.OutputTokens != 300 || run.Totals.ReasoningTokens != 120 {
			t.Errorf("totals: got %+v, want 1200/1000/300/120", run.Totals)
		}
		if run.Totals.Cost != wantCost {
			t.Errorf("total cost: got %s, want %s", run.Totals.Cost, wantCost)
		}
		var led ledgerDoc
		c.json("GET", "/v1/runs/"+run.ID+"/ledger", nil, http.StatusOK, &led)
		if len(led.Items) != 3 {
			t.Fatalf("ledger: got %d entries, want 3: %+v", len(led.Items), led.Items)
		}
		llm := led.Items[1]
		if llm.StepID != "summarize" || llm.Kind != "llm" || llm.Provider != "openai" || llm.Model != "gpt-4o-mini" ||
			llm.InputTokens != 1200 || llm.CachedInputTokens != 1000 || llm.OutputTokens != 300 || llm.ReasoningTokens != 120 ||
			llm.Cost != wantCost || llm.Unpriced || llm.Simulated || llm.UsageEstimated || llm.Status != "completed" || llm.Attempt != 1 ||
			llm.Purpose != "Pick out breaking changes and security fixes." {
			t.Errorf("llm entry: got %+v", llm)
		}
		if led.Items[0].Kind != "connector" || led.Items[0].Cost != "0" || led.Items[2].OutcomeRef == "" {
			t.Errorf("connector entries: got %+v and %+v", led.Items[0], led.Items[2])
		}
		req := fake.lastRequest()
		msgs, _ := req["messages"].([]any)
		if len(msgs) != 2 || !strings.Contains(fmt.Sprint(msgs[1]), "## v4.") {
			t.Errorf("prompt did not carry the release notes: %.200v", msgs)
		}
		var inbox struct {
			Items []struct {
				Title string `json:"title"`
				Text  string `json:"text"`
				RunID string `json:"run_id"`
			} `json:"items"`
		}
		c.json("GET", "/v1/inbox", nil, http.StatusOK, &inbox)
		if len(inbox.Items) != 1 || inbox.Items[0].Text != fake.answer {
			t.Errorf("inbox: got %+v, want the model's answer", inbox.Items)
		}
	})

	t.Run("retried attempt after the provider answered is charged twice", func(t *testing.T) {
		c.t = t
		c.apply(strings.NewReplacer("name: digest", "name: flaky-digest", "id: summarize", "id: flaky", "steps.summarize", "steps.flaky").Replace(digestAgent))
		run := c.runAndWait("flaky-digest", nil)
		if run.Status != "completed" {
			t.Fatalf("run status: got %q (%s), want completed", run.Status, run.Error)
		}
		var led ledgerDoc
		c.json("GET", "/v1/runs/"+run.ID+"/ledger", nil, http.StatusOK, &led)
		var attempts []string
		for _, e := range led.Items {
			if e.StepID == "flaky" {
				attempts = append(attempts, fmt.Sprintf("%d:%s:%d:%s", e.Attempt, e.Status, e.InputTokens, e.Cost))
			}
		}
		want := []string{"1:failed:1200:0.000285", "2:completed:1200:0.000285"}
		if fmt.Sprint(attempts) != fmt.Sprint(want) {
			t.Errorf("attempts: got %v, want %v", attempts, want)
		}
		if run.Totals.Cost != "0.00057" || run.Totals.InputTokens != 2400 {
			t.Errorf("totals: got %s and %d input tokens, want 0.00057 and 2400", run.Totals.Cost, run.Totals.InputTokens)
		}
	})
}
