package stack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/telos-dev/telos/store"
)

// syncBuffer collects log output written from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// echoingSlack is a Slack Web API that, like a careless or malicious
// upstream, repeats the token it was sent in whatever it answers. mode
// chooses the answer to chat.postMessage.
type echoingSlack struct {
	*httptest.Server
	mu     sync.Mutex
	mode   string
	tokens []string // the bearer token of every request
	posts  int
}

func newEchoingSlack(t *testing.T) *echoingSlack {
	t.Helper()
	f := &echoingSlack{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.tokens = append(f.tokens, token)
		mode := f.mode
		if r.URL.Path == "/api/chat.postMessage" {
			f.posts++
			if mode == "rate-limited-once" && f.posts%2 == 1 {
				mode = "rate-limited"
			}
		}
		f.mu.Unlock()
		quoted, _ := json.Marshal(token)
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/api/chat.getPermalink":
			fmt.Fprintf(w, `{"ok":true,"channel":"C0PLATFORM","permalink":"https://acme.slack.com/archives/C0PLATFORM/p1700000000000200"}`)
		case r.URL.Path != "/api/chat.postMessage":
			fmt.Fprint(w, `{"ok":false,"error":"unknown_method"}`)
		case mode == "echo-auth":
			fmt.Fprintf(w, `{"ok":false,"error":"invalid_auth","token":%s,"response_metadata":{"messages":["[ERROR] token %s is not valid for this workspace"]}}`, quoted, token)
		case mode == "echo-500":
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprintf(w, "internal error while handling %s", token)
		case mode == "echo-in-error":
			fmt.Fprintf(w, `{"ok":false,"error":%s}`, mustJSON("invalid_auth: "+token))
		case mode == "rate-limited":
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprintf(w, `{"ok":false,"error":"ratelimited","token":%s}`, quoted)
		default:
			fmt.Fprint(w, `{"ok":true,"channel":"C0PLATFORM","ts":"1700000000.000200","message":{"text":"ok"}}`)
		}
	}))
	t.Cleanup(f.Close)
	return f
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func (f *echoingSlack) setMode(mode string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mode, f.posts = mode, 0
}

func (f *echoingSlack) receivedTokens() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.tokens...)
}

const slackAgent = `apiVersion: telos/v1
kind: Agent
metadata: { name: canary-digest }
spec:
  purpose:
    category: engineering-productivity
    statement: Tell the platform team which releases need action before the upgrade review.
  model: gpt-4o-mini
  allow:
    slack: ["#platform"]
  steps:
    - id: deliver
      purpose: Post the weekly digest to the team channel.
      connector: slack.post_message
      with: { channel: "#platform", text: "Two releases need action this week." }
`

// TestCanarySecretNeverLeaks plants a Slack token as the team's secret, runs
// an approved agent whose Slack step meets an upstream that echoes the token
// back in every way it can, and then looks for the token everywhere Telos
// writes: every API response, every log line (at debug level), every ledger
// record, every run's workflow history and every error message.
func TestCanarySecretNeverLeaks(t *testing.T) {
	const canary = "xoxb-CANARY-7f3a9c2e4b1d-0042"
	logs := &syncBuffer{}
	slackAPI := newEchoingSlack(t)
	s := startStack(t, Config{
		SlackAPIURL: slackAPI.URL + "/api/",
		Logger:      slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	admin := apiClient{t: t, url: s.URL, key: testAdminKey}
	var k struct{ Key string }
	admin.json("POST", "/v1/keys", map[string]string{"user": "ana", "team": "platform", "role": "member"}, http.StatusCreated, &k)
	ana := withApprover(t, apiClient{t: t, url: s.URL, key: k.Key})

	// Every response body the test sees is kept and searched at the end.
	var bodies []string
	get := func(c apiClient, path string) []byte {
		t.Helper()
		status, body := c.do("GET", path, "", nil)
		if status != http.StatusOK {
			t.Fatalf("GET %s: got %d, want 200: %s", path, status, body)
		}
		bodies = append(bodies, "GET "+path+" "+string(body))
		return body
	}

	status, body := ana.do("POST", "/v1/secrets", "application/json", []byte(mustJSON(map[string]string{"name": SlackTokenSecret, "value": canary})))
	bodies = append(bodies, "POST /v1/secrets "+string(body))
	var put map[string]any
	if err := json.Unmarshal(body, &put); status != http.StatusCreated || err != nil {
		t.Fatalf("plant secret: got %d %s, want 201", status, body)
	}
	if len(put) != 3 || put["name"] != "slack-token" || put["team"] != "platform" || put["updated_at"] == "" {
		t.Errorf("plant secret: got %v, want exactly name, team and updated_at", put)
	}
	ana.apply(slackAgent)

	type ledgerItem struct {
		Attempt    int       `json:"attempt"`
		Status     string    `json:"status"`
		Error      string    `json:"error"`
		OutcomeRef string    `json:"outcome_ref"`
		StartedAt  time.Time `json:"started_at"`
		FinishedAt time.Time `json:"finished_at"`
	}
	runs := []struct {
		mode   string
		status string
		error  string       // the run's error
		ledger []ledgerItem // status, error and outcome of each attempt
	}{
		{"echo-auth", "failed",
			"step deliver: auth_failed: slack chat.postMessage: the Slack token was refused: invalid_auth ([ERROR] token [redacted] is not valid for this workspace)",
			[]ledgerItem{{Attempt: 1, Status: "failed", Error: "auth_failed: slack chat.postMessage: the Slack token was refused: invalid_auth ([ERROR] token [redacted] is not valid for this workspace)"}}},
		{"echo-500", "failed",
			"step deliver: upstream: slack chat.postMessage: HTTP 500 Internal Server Error: internal error while handling [redacted]",
			[]ledgerItem{{Attempt: 1, Status: "failed", Error: "upstream: slack chat.postMessage: HTTP 500 Internal Server Error: internal error while handling [redacted]"}}},
		{"echo-in-error", "failed",
			"step deliver: upstream: slack chat.postMessage: invalid_auth: [redacted]",
			[]ledgerItem{{Attempt: 1, Status: "failed", Error: "upstream: slack chat.postMessage: invalid_auth: [redacted]"}}},
		// A 429 is retried after its Retry-After, even for a write: Slack
		// refused it before acting. The ledger keeps both attempts and the
		// outcome reference of the one that posted.
		{"rate-limited-once", "completed", "", []ledgerItem{
			{Attempt: 1, Status: "failed", Error: "rate_limited: slack chat.postMessage: rate limited by Slack, retry after 1s"},
			{Attempt: 2, Status: "completed", OutcomeRef: "https://acme.slack.com/archives/C0PLATFORM/p1700000000000200"},
		}},
	}
	var runIDs []string
	for _, r := range runs {
		slackAPI.setMode(r.mode)
		before := len(slackAPI.receivedTokens())
		run := ana.runAndWait("canary-digest", nil)
		runIDs = append(runIDs, run.ID)
		if run.Status != r.status || run.Error != r.error {
			t.Errorf("%s: got run %s %q, want %s %q", r.mode, run.Status, run.Error, r.status, r.error)
		}
		// The planted secret really is what reached Slack.
		if got := slackAPI.receivedTokens()[before:]; len(got) == 0 || got[0] != canary {
			t.Errorf("%s: Slack received tokens %q, want the planted secret", r.mode, got)
		}
		var led struct{ Items []ledgerItem }
		if err := json.Unmarshal(get(ana, "/v1/runs/"+run.ID+"/ledger"), &led); err != nil {
			t.Fatal(err)
		}
		var got, want []string
		for _, e := range led.Items {
			got = append(got, fmt.Sprintf("%d %s %q %q", e.Attempt, e.Status, e.Error, e.OutcomeRef))
		}
		for _, e := range r.ledger {
			want = append(want, fmt.Sprintf("%d %s %q %q", e.Attempt, e.Status, e.Error, e.OutcomeRef))
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: ledger\ngot  %s\nwant %s", r.mode, strings.Join(got, "\n     "), strings.Join(want, "\n     "))
		}
		if r.mode == "rate-limited-once" && len(led.Items) == 2 {
			if wait := led.Items[1].StartedAt.Sub(led.Items[0].FinishedAt); wait < 900*time.Millisecond {
				t.Errorf("second attempt started %s after the 429, want Retry-After's 1s", wait)
			}
		}
	}

	// Every read a member, the approver or an admin can make.
	approver := apiClient{t: t, url: s.URL, key: ana.approverKey}
	for _, id := range runIDs {
		get(ana, "/v1/runs/"+id)
		get(admin, "/v1/runs/"+id+"?team=platform")
		get(admin, "/v1/runs/"+id+"/ledger?team=platform")
	}
	for _, path := range []string{"/v1/runs?agent=canary-digest", "/v1/inbox", "/v1/usage?group_by=agent", "/v1/usage?group_by=day",
		"/v1/budgets", "/v1/agents/canary-digest", "/v1/agents/canary-digest/versions/1", "/v1/agents/canary-digest/versions/1/dossier", "/v1/keys"} {
		get(ana, path)
	}
	for _, path := range []string{"/v1/audit", "/v1/audit?team=platform", "/v1/catalog", "/v1/catalog?format=csv", "/v1/secrets?team=platform", "/v1/usage?group_by=team"} {
		get(admin, path)
	}
	get(approver, "/v1/catalog")

	var list struct {
		Items []map[string]any `json:"items"`
	}
	if err := json.Unmarshal(get(ana, "/v1/secrets"), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || len(list.Items[0]) != 4 || list.Items[0]["name"] != "slack-token" || list.Items[0]["team"] != "platform" {
		t.Errorf("secrets list: got %v, want slack-token with name, team, created_at and updated_at only", list.Items)
	}
	var audit struct {
		Items []store.AuditEntry `json:"items"`
	}
	if err := json.Unmarshal(get(admin, "/v1/audit?action=secret.put"), &audit); err != nil {
		t.Fatal(err)
	}
	if len(audit.Items) != 1 || audit.Items[0].Actor != "ana" || audit.Items[0].ObjectID != "slack-token" || audit.Items[0].Team != "platform" ||
		audit.Items[0].Detail != "created" || audit.Items[0].AfterHash != store.Hash([]byte("platform/slack-token#1")) {
		t.Errorf("audit of the secret: got %+v, want one record by ana with the hash of platform/slack-token#1", audit.Items)
	}

	for _, b := range bodies {
		if strings.Contains(b, canary) || strings.Contains(b, "CANARY") {
			t.Errorf("the canary is in an API response: %.300s", b)
		}
	}

	// Workflow histories: the JSON form, and the raw protobuf, where
	// payloads appear as the bytes they hold rather than base64.
	for i, id := range runIDs {
		raw, text := history(t, s, "agentrun-"+id)
		if bytes.Contains(raw, []byte("CANARY")) || strings.Contains(text, "CANARY") {
			t.Errorf("run %d: the canary is in the workflow history", i+1)
		}
		// The search reaches payloads and failure messages.
		if !bytes.Contains(raw, []byte("Two releases need action this week.")) {
			t.Errorf("run %d: the history does not hold the step's input; the search proves nothing", i+1)
		}
		if i < 3 && !bytes.Contains(raw, []byte("[redacted]")) {
			t.Errorf("run %d: the history does not hold the redacted failure; the search proves nothing", i+1)
		}
	}

	out := logs.String()
	if !strings.Contains(out, "level=") {
		t.Errorf("captured no log output; the search proves nothing")
	}
	if strings.Contains(out, "CANARY") {
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, "CANARY") {
				t.Errorf("the canary is in a log line: %.300s", line)
			}
		}
	}
}

// history returns a workflow's history as protobuf bytes and as JSON.
func history(t *testing.T, s *Stack, workflowID string) ([]byte, string) {
	t.Helper()
	iter := s.Temporal.GetWorkflowHistory(context.Background(), workflowID, "", false, 0)
	var raw []byte
	var text strings.Builder
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			t.Fatalf("history of %s: %v", workflowID, err)
		}
		b, err := proto.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		raw = append(raw, b...)
		j, err := protojson.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		text.Write(j)
	}
	return raw, text.String()
}
