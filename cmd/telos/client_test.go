package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// answer is one canned API response.
type answer struct {
	status int
	body   string
}

// fakeAPI answers "METHOD /path?query" with its canned answers in order,
// repeating the last one, and records every request it gets.
type fakeAPI struct {
	answers map[string][]answer

	mu   sync.Mutex
	seen map[string]int
	got  []string
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	route := r.Method + " " + r.URL.RequestURI()
	f.mu.Lock()
	req := []string{route}
	for _, h := range []string{"Content-Type", "Idempotency-Key"} {
		if v := r.Header.Get(h); v != "" {
			req = append(req, h+": "+v)
		}
	}
	f.got = append(f.got, strings.Join(append(req, string(body)), " "))
	as := f.answers[route]
	n := f.seen[route]
	f.seen[route]++
	f.mu.Unlock()

	if r.Header.Get("Authorization") != "Bearer test-key" {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"type":"about:blank","title":"Unauthorized","status":401,"detail":"invalid API key"}`)
		return
	}
	if len(as) == 0 {
		http.NotFound(w, r)
		return
	}
	a := as[min(n, len(as)-1)]
	w.Header().Set("Content-Type", "application/json")
	if a.status >= 400 {
		w.Header().Set("Content-Type", "application/problem+json")
	}
	w.WriteHeader(a.status)
	io.WriteString(w, a.body)
}

const (
	agentDoc = "apiVersion: telos/v1\nkind: Agent\nmetadata:\n  name: digest\n"

	runRunning = `{"id":"run_1","agent":"digest","team":"platform","version":2,"owner":"alice","trigger":"api","status":"running","created_at":"2026-03-02T09:00:00Z"}`

	runCompleted = `{"id":"run_1","agent":"digest","team":"platform","version":2,"owner":"alice","trigger":"api","status":"completed","created_at":"2026-03-02T09:00:00Z",
"steps":[
 {"id":"fetch","kind":"connector","purpose":"Read the release notes.","action":"files.read","status":"completed","attempts":1,"usage":{"input_tokens":0,"cached_input_tokens":0,"output_tokens":0,"reasoning_tokens":0},"cost_usd":"0","unpriced":false,"simulated":false},
 {"id":"summarize","kind":"llm","purpose":"Pick out breaking changes.","model":"gpt-4o-mini","status":"completed","attempts":1,"usage":{"input_tokens":1200,"cached_input_tokens":1024,"output_tokens":300,"reasoning_tokens":0},"cost_usd":"0.0002832","unpriced":false,"simulated":false}],
"totals":{"input_tokens":1200,"cached_input_tokens":1024,"output_tokens":300,"reasoning_tokens":0,"cost_usd":"0.0002832","unpriced_entries":0,"simulated_entries":0}}`

	runCompletedTable = `run:      run_1
agent:    digest@2
status:   completed
trigger:  api

STEP       KIND       PURPOSE                     MODEL/ACTION  STATUS     ATTEMPTS  IN    CACHED  OUT  REASONING  COST(USD)
fetch      connector  Read the release notes.     files.read    completed  1         0     0       0    0          0
summarize  llm        Pick out breaking changes.  gpt-4o-mini   completed  1         1200  1024    300  0          0.0002832
TOTAL                                                                      2         1200  1024    300  0          0.0002832
`

	runFailed = `{"id":"run_2","agent":"digest","team":"platform","version":3,"owner":"alice","trigger":"schedule:weekly","status":"failed","error":"step deliver failed","created_at":"2026-03-02T09:00:00Z",
"steps":[
 {"id":"summarize","kind":"llm","purpose":"Pick out breaking changes and security fixes from every release since the last upgrade.","model":"gpt-4o-mini","status":"completed","attempts":2,"usage":{"input_tokens":2400,"cached_input_tokens":0,"output_tokens":610,"reasoning_tokens":128},"cost_usd":"0.000726","unpriced":false,"simulated":false},
 {"id":"rank","kind":"llm","purpose":"Rank the releases by urgency.","model":"house-model","status":"completed","attempts":1,"usage":{"input_tokens":700,"cached_input_tokens":0,"output_tokens":40,"reasoning_tokens":0},"cost_usd":"0","unpriced":true,"simulated":false},
 {"id":"deliver","kind":"connector","purpose":"Deliver the digest.","action":"slack.post_message","status":"failed","attempts":3,"usage":{"input_tokens":0,"cached_input_tokens":0,"output_tokens":0,"reasoning_tokens":0},"cost_usd":"0","unpriced":false,"simulated":false,"error":"channel_not_found"},
 {"id":"archive","kind":"connector","purpose":"Keep a copy.","action":"files.write","status":"pending","attempts":0,"usage":{"input_tokens":0,"cached_input_tokens":0,"output_tokens":0,"reasoning_tokens":0},"cost_usd":"0","unpriced":false,"simulated":false}],
"totals":{"input_tokens":3100,"cached_input_tokens":0,"output_tokens":650,"reasoning_tokens":128,"cost_usd":"0.000726","unpriced_entries":1,"simulated_entries":0}}`

	runFailedTable = `run:      run_2
agent:    digest@3
status:   failed
trigger:  schedule:weekly
error:    step deliver failed

STEP       KIND       PURPOSE                                           MODEL/ACTION        STATUS     ATTEMPTS  IN    CACHED  OUT  REASONING  COST(USD)
summarize  llm        Pick out breaking changes and security fixes fr…  gpt-4o-mini         completed  2         2400  0       610  128        0.000726
rank       llm        Rank the releases by urgency.                     house-model         completed  1         700   0       40   0          0 + unpriced
deliver    connector  Deliver the digest.                               slack.post_message  failed     3         0     0       0    0          0
archive    connector  Keep a copy.                                      files.write         pending    0         0     0       0    0          0
TOTAL                                                                                                  6         3100  0       650  128        0.000726 + 1 unpriced

deliver: error: channel_not_found
`

	invalidAgent = `{"type":"about:blank","title":"Unprocessable Entity","status":422,"detail":"the document is invalid",
"errors":[{"path":"spec.steps[1].purpose","message":"is required"},{"path":"spec.steps[2].with.text","message":"references unknown step \"summarise\""}]}`
)

// clientCase is one command line run against a fake API: what it answers,
// and what the command must print and send.
type clientCase struct {
	name     string
	args     []string
	files    map[string]string // written to a temporary directory, named $DIR in args
	answers  map[string][]answer
	wantOut  string
	wantErr  string // stderr; $DIR as in args
	wantReqs []string
}

// check runs the command line and compares its output and requests.
func (tt clientCase) check(t *testing.T) {
	t.Helper()
	api := &fakeAPI{answers: tt.answers, seen: map[string]int{}}
	srv := httptest.NewServer(api)
	defer srv.Close()
	dir := t.TempDir()
	for name, content := range tt.files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	args := make([]string, len(tt.args))
	for i, a := range tt.args {
		args[i] = strings.ReplaceAll(a, "$DIR", dir)
	}
	env := map[string]string{"TELOS_URL": srv.URL, "TELOS_API_KEY": "test-key"}

	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, func(k string) string { return env[k] }, &stdout, &stderr)

	if got := stdout.String(); got != tt.wantOut {
		t.Errorf("stdout:\n%s\nwant:\n%s", got, tt.wantOut)
	}
	if got, want := stderr.String(), strings.ReplaceAll(tt.wantErr, "$DIR", dir); got != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", got, want)
	}
	if gotFailed, wantFailed := err != nil, strings.Contains(tt.wantErr, "error: "); gotFailed != wantFailed {
		t.Errorf("got error %v, want failure %v", err, wantFailed)
	}
	if got := strings.Join(api.got, "\n"); got != strings.Join(tt.wantReqs, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", got, strings.Join(tt.wantReqs, "\n"))
	}
	if strings.Contains(stdout.String()+stderr.String(), "test-key") {
		t.Error("the API key was printed")
	}
}

func TestClientCommands(t *testing.T) {
	tests := []clientCase{
		{
			name:     "apply creates an agent",
			args:     []string{"agents", "apply", "-f", "$DIR/digest.yaml"},
			files:    map[string]string{"digest.yaml": agentDoc},
			answers:  map[string][]answer{"POST /v1/agents": {{201, `{"name":"digest","team":"platform","version":1}`}}},
			wantOut:  "agent digest version 1 created\n",
			wantReqs: []string{"POST /v1/agents Content-Type: application/yaml " + agentDoc},
		},
		{
			name:  "apply adds a version when the agent exists",
			args:  []string{"agents", "apply", "-f", "$DIR/digest.json"},
			files: map[string]string{"digest.json": "{\n\t\"metadata\": {\"name\": \"digest\"}\n}"},
			answers: map[string][]answer{
				"POST /v1/agents":       {{409, `{"type":"about:blank","title":"Conflict","status":409,"detail":"already exists"}`}},
				"PUT /v1/agents/digest": {{200, `{"name":"digest","team":"platform","version":4}`}},
			},
			wantOut: "agent digest version 4 updated\n",
			wantReqs: []string{
				"POST /v1/agents Content-Type: application/json {\n\t\"metadata\": {\"name\": \"digest\"}\n}",
				"PUT /v1/agents/digest Content-Type: application/json {\n\t\"metadata\": {\"name\": \"digest\"}\n}",
			},
		},
		{
			name:     "apply reports field errors",
			args:     []string{"agents", "apply", "-f", "$DIR/digest.yml"},
			files:    map[string]string{"digest.yml": agentDoc},
			answers:  map[string][]answer{"POST /v1/agents": {{422, invalidAgent}}},
			wantErr:  "error: the document is invalid\n  spec.steps[1].purpose: is required\n  spec.steps[2].with.text: references unknown step \"summarise\"\n",
			wantReqs: []string{"POST /v1/agents Content-Type: application/yaml " + agentDoc},
		},
		{
			name:    "runs start sends string, file and JSON inputs",
			args:    []string{"runs", "start", "digest", "--input", "channel=#deps", "--input", "since=2", "--input-file", "notes=$DIR/notes.md", "--input-json", "limit=5", "--idempotency-key", "weekly-10"},
			files:   map[string]string{"notes.md": "v4.13.0: security fix\n"},
			answers: map[string][]answer{"POST /v1/agents/digest/runs": {{202, `{"id":"run_1","status":"running"}`}}},
			wantOut: "run_1\n",
			wantReqs: []string{
				`POST /v1/agents/digest/runs Content-Type: application/json Idempotency-Key: weekly-10 {"inputs":{"channel":"#deps","limit":5,"notes":"v4.13.0: security fix\n","since":"2"}}`,
			},
		},
		{
			name: "runs start --wait polls until the run ends",
			args: []string{"runs", "start", "digest", "--wait"},
			answers: map[string][]answer{
				"POST /v1/agents/digest/runs": {{202, `{"id":"run_1","status":"running"}`}},
				"GET /v1/runs/run_1":          {{200, runRunning}, {200, runCompleted}},
			},
			wantOut: runCompletedTable,
			wantErr: "run run_1 started; waiting for it to finish\n",
			wantReqs: []string{
				`POST /v1/agents/digest/runs Content-Type: application/json {"inputs":{}}`,
				"GET /v1/runs/run_1 ",
				"GET /v1/runs/run_1 ",
			},
		},
		{
			name: "runs start --wait fails unless the run completes",
			args: []string{"runs", "start", "digest", "--wait"},
			answers: map[string][]answer{
				"POST /v1/agents/digest/runs": {{202, `{"id":"run_2","status":"running"}`}},
				"GET /v1/runs/run_2":          {{200, runFailed}},
			},
			wantOut: runFailedTable,
			wantErr: "run run_2 started; waiting for it to finish\nerror: run run_2 finished as failed\n",
			wantReqs: []string{
				`POST /v1/agents/digest/runs Content-Type: application/json {"inputs":{}}`,
				"GET /v1/runs/run_2 ",
			},
		},
		{
			name:    "runs start refuses an input without a name",
			args:    []string{"runs", "start", "digest", "--input", "=x"},
			wantErr: "error: --input \"=x\": want NAME=VALUE\n",
		},
		{
			name:    "runs start refuses invalid JSON",
			args:    []string{"runs", "start", "digest", "--input-json", "limit=five"},
			wantErr: "error: --input-json limit: not a valid JSON value\n",
		},
		{
			name: "agents get summarizes the latest version",
			args: []string{"agents", "get", "digest"},
			answers: map[string][]answer{"GET /v1/agents/digest": {{200, `{"name":"digest","team":"platform","owner":"alice","version":3,
"version_status":"in_review","status":"active","latest_version":3,"approved_version":2,"spec_hash":"ab12","created_by":"bob","created_at":"2026-03-02T09:00:00Z",
"agent":{"apiVersion":"telos/v1","kind":"Agent","metadata":{"name":"digest","team":"platform"},"spec":{
 "purpose":{"category":"engineering-productivity","statement":"Flag breaking changes before the upgrade review.","outcome":"A digest in the team inbox."},
 "model":"gpt-4o-mini","budget":{"per_run":{"tokens":40000,"usd":"0.05"},"per_day":{"usd":"1.00"}},
 "inputs":{"notes_file":{"type":"string","required":true,"description":"Release notes file."},"limit":{"type":"integer"}},
 "steps":[{"id":"fetch","purpose":"Read the release notes.","connector":"files.read","with":{"path":"x"}},
  {"id":"summarize","purpose":"Pick out breaking changes.","llm":{"prompt":"List them."}}]}}}`}}},
			wantOut: `name:     digest
team:     platform
owner:    alice
version:  3 (created 2026-03-02 09:00:00Z by bob)
status:   in_review; agent active, latest version 3, approved version 2
purpose:  engineering-productivity: Flag breaking changes before the upgrade review.
outcome:  A digest in the team inbox.
model:    gpt-4o-mini
budget:   per run 40000 tokens, $0.05
budget:   per day $1.00
input:    limit (integer)
input:    notes_file (string, required) Release notes file.

STEP       KIND       MODEL/ACTION  PURPOSE
fetch      connector  files.read    Read the release notes.
summarize  llm        gpt-4o-mini   Pick out breaking changes.
`,
			wantReqs: []string{"GET /v1/agents/digest "},
		},
		{
			name:     "runs get renders steps and totals",
			args:     []string{"runs", "get", "run_2"},
			answers:  map[string][]answer{"GET /v1/runs/run_2": {{200, runFailed}}},
			wantOut:  runFailedTable,
			wantReqs: []string{"GET /v1/runs/run_2 "},
		},
		{
			name:     "runs get -o json prints the answer as is",
			args:     []string{"runs", "get", "run_1", "-o", "json"},
			answers:  map[string][]answer{"GET /v1/runs/run_1": {{200, `{"id":"run_1","status":"running","totals":{"cost_usd":"0"}}`}}},
			wantOut:  "{\n  \"id\": \"run_1\",\n  \"status\": \"running\",\n  \"totals\": {\n    \"cost_usd\": \"0\"\n  }\n}\n",
			wantReqs: []string{"GET /v1/runs/run_1 "},
		},
		{
			name: "runs ledger marks simulated, unpriced and estimated entries",
			args: []string{"runs", "ledger", "run_1"},
			answers: map[string][]answer{"GET /v1/runs/run_1/ledger": {{200, `{"items":[
 {"step_id":"fetch","attempt":1,"kind":"connector","action":"files.read","provider":"","model":"","input_tokens":0,"cached_input_tokens":0,"output_tokens":0,"reasoning_tokens":0,"cost_usd":"0","unpriced":false,"simulated":false,"usage_estimated":false,"status":"completed"},
 {"step_id":"summarize","attempt":1,"kind":"llm","provider":"sim","model":"gpt-4o-mini","input_tokens":1200,"cached_input_tokens":0,"output_tokens":300,"reasoning_tokens":0,"cost_usd":"0.00036","unpriced":false,"simulated":true,"usage_estimated":true,"status":"failed"},
 {"step_id":"summarize","attempt":2,"kind":"llm","provider":"openai","model":"house-model","input_tokens":1200,"cached_input_tokens":1024,"output_tokens":280,"reasoning_tokens":0,"cost_usd":"0","unpriced":true,"simulated":false,"usage_estimated":false,"status":"completed"}]}`}}},
			wantOut: `STEP       ATTEMPT  KIND       PROVIDER  MODEL/ACTION  IN    CACHED  OUT  REASONING  COST(USD)  STATUS     FLAGS
fetch      1        connector  -         files.read    0     0       0    0          0          completed
summarize  1        llm        sim       gpt-4o-mini   1200  0       300  0          0.00036    failed     SIM,EST
summarize  2        llm        openai    house-model   1200  1024    280  0          0          completed  UNPRICED
`,
			wantReqs: []string{"GET /v1/runs/run_1/ledger "},
		},
		{
			name: "usage groups with a total and unpriced entries",
			args: []string{"usage", "--by", "model", "--from", "2026-03-01"},
			answers: map[string][]answer{"GET /v1/usage?from=2026-03-01&group_by=model": {{200, `{"group_by":"model","items":[
 {"key":"gpt-4o-mini","input_tokens":36000,"cached_input_tokens":12000,"output_tokens":9000,"reasoning_tokens":0,"cost_usd":"0.01092","unpriced_entries":0,"simulated_entries":0,"entries":30},
 {"key":"house-model","input_tokens":700,"cached_input_tokens":0,"output_tokens":40,"reasoning_tokens":0,"cost_usd":"0","unpriced_entries":2,"simulated_entries":0,"entries":2}],
"totals":{"input_tokens":36700,"cached_input_tokens":12000,"output_tokens":9040,"reasoning_tokens":0,"cost_usd":"0.01092","unpriced_entries":2,"simulated_entries":0}}`}}},
			wantOut: `MODEL        IN     CACHED  OUT   REASONING  COST(USD)             ENTRIES
gpt-4o-mini  36000  12000   9000  0          0.01092               30
house-model  700    0       40    0          0 + 2 unpriced        2
TOTAL        36700  12000   9040  0          0.01092 + 2 unpriced  32
`,
			wantReqs: []string{"GET /v1/usage?from=2026-03-01&group_by=model "},
		},
		{
			name:     "keys create shows the key once",
			args:     []string{"keys", "create", "--user", "bob", "--team", "platform"},
			answers:  map[string][]answer{"POST /v1/keys": {{201, `{"key":"tk_new","id":"key_0123456789abcdef","user":"bob","team":"platform","role":"member","review_teams":null,"expires_at":null}`}}},
			wantOut:  "tk_new\n",
			wantErr:  "warning: key key_0123456789abcdef for user bob (team platform, role member) is shown only once; store it now\n",
			wantReqs: []string{`POST /v1/keys Content-Type: application/json {"user":"bob","team":"platform","role":"member"}`},
		},
		{
			name: "inbox indents each message",
			args: []string{"inbox"},
			answers: map[string][]answer{"GET /v1/inbox": {{200, `{"items":[
 {"id":"m2","agent":"digest","title":"Echo releases","text":"v4.13.0: security fix\n\nupgrade now\n","created_at":"2026-03-02T09:01:00Z"},
 {"id":"m1","agent":"brief","title":"go-redis","text":"nothing to do","created_at":"2026-03-01T09:00:00+01:00"}]}`}}},
			wantOut:  "2026-03-02 09:01:00Z  digest  Echo releases\n    v4.13.0: security fix\n\n    upgrade now\n\n2026-03-01 08:00:00Z  brief  go-redis\n    nothing to do\n",
			wantReqs: []string{"GET /v1/inbox "},
		},
		{
			name:    "an unknown output format is refused before any request",
			args:    []string{"agents", "list", "-o", "yaml"},
			wantErr: "error: --output must be text or json, not \"yaml\"\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.check)
	}
}

// TestClientConfig checks where the client finds the API and its key.
func TestClientConfig(t *testing.T) {
	api := &fakeAPI{answers: map[string][]answer{"GET /v1/agents": {{200, `{"items":[
 {"name":"digest","team":"platform","owner":"alice","latest_version":3,"updated_at":"2026-03-02T09:00:00Z"}]}`}}}, seen: map[string]int{}}
	srv := httptest.NewServer(api)
	defer srv.Close()
	const table = "NAME    TEAM      OWNER  VERSION  UPDATED\ndigest  platform  alice  3        2026-03-02 09:00:00Z\n"

	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		wantOut string
		wantErr string
	}{
		{"environment", map[string]string{"TELOS_URL": srv.URL, "TELOS_API_KEY": "test-key"}, nil, table, ""},
		{"flags override the environment", map[string]string{"TELOS_URL": "http://127.0.0.1:1", "TELOS_API_KEY": "old-key"},
			[]string{"--url", srv.URL + "/", "--api-key", "test-key"}, table, ""},
		{"wrong key", map[string]string{"TELOS_URL": srv.URL, "TELOS_API_KEY": "old-key"}, nil, "", "error: invalid API key\n"},
		{"no key", map[string]string{"TELOS_URL": srv.URL}, nil, "", "error: no API key: set TELOS_API_KEY or pass --api-key\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"agents", "list"}, tt.args...)
			err := run(context.Background(), args, func(k string) string { return tt.env[k] }, &stdout, &stderr)
			if got := stdout.String(); got != tt.wantOut {
				t.Errorf("stdout:\n%s\nwant:\n%s", got, tt.wantOut)
			}
			if got := stderr.String(); got != tt.wantErr {
				t.Errorf("stderr:\n%s\nwant:\n%s", got, tt.wantErr)
			}
			if (err != nil) != (tt.wantErr != "") {
				t.Errorf("got error %v, want failure %v", err, tt.wantErr != "")
			}
			if out := stdout.String() + stderr.String(); strings.Contains(out, "test-key") || strings.Contains(out, "old-key") {
				t.Error("an API key was printed")
			}
		})
	}
}
