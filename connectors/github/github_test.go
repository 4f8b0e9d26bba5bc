package github_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/telos-dev/telos/connectors"
	"github.com/telos-dev/telos/connectors/github"
)

const testToken = "ghp_canaryTOKEN1234567890"

// request is what the fake GitHub saw of one call.
type request struct {
	Method, Path, Query, Auth string
	Body                      map[string]any
}

// fakeGitHub is an httptest server speaking the GitHub REST wire format. It
// records every request and answers through respond.
type fakeGitHub struct {
	srv      *httptest.Server
	mu       sync.Mutex
	requests []request
}

func newFakeGitHub(t *testing.T, respond http.HandlerFunc) *fakeGitHub {
	t.Helper()
	f := &fakeGitHub{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Auth: r.Header.Get("Authorization")}
		if data, _ := io.ReadAll(r.Body); len(data) > 0 {
			if err := json.Unmarshal(data, &rec.Body); err != nil {
				t.Errorf("request body %q is not a JSON object: %v", data, err)
			}
		}
		f.mu.Lock()
		f.requests = append(f.requests, rec)
		f.mu.Unlock()
		respond(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeGitHub) recorded() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]request(nil), f.requests...)
}

// tokenCalls counts how often the connector asked for a token.
type tokenCalls struct {
	mu    sync.Mutex
	teams []string
}

func (c *tokenCalls) source(token string) func(context.Context, string) (string, error) {
	return func(_ context.Context, team string) (string, error) {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.teams = append(c.teams, team)
		return token, nil
	}
}

func (c *tokenCalls) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.teams)
}

func newRegistry(t *testing.T, f *fakeGitHub, token func(context.Context, string) (string, error)) *connectors.Registry {
	t.Helper()
	r := connectors.NewRegistry()
	for _, a := range github.Actions(github.Config{BaseURL: f.srv.URL, Token: token}) {
		r.Register(a)
	}
	return r
}

// GitHub's documented JSON for the objects the tests use.
var (
	issue42 = map[string]any{
		"id": 1001, "number": 42, "title": "Crash on start", "state": "open",
		"body":           "It crashes.\n\nSteps: run it.",
		"html_url":       "https://github.com/acme/rocket/issues/42",
		"repository_url": "https://api.github.com/repos/acme/rocket",
		"user":           map[string]any{"login": "ada"},
		"labels":         []any{map[string]any{"name": "bug"}, map[string]any{"name": "urgent"}},
		"assignees":      []any{map[string]any{"login": "grace"}},
		"comments":       3,
		"created_at":     "2026-01-05T09:00:00Z",
		"updated_at":     "2026-01-06T10:30:00Z",
		"closed_at":      nil,
	}
	pull43 = map[string]any{
		"id": 1002, "number": 43, "title": "Fix crash on start", "state": "open",
		"html_url":       "https://github.com/acme/rocket/pull/43",
		"repository_url": "https://api.github.com/repos/acme/rocket",
		"user":           map[string]any{"login": "grace"},
		"labels":         []any{},
		"comments":       0,
		"created_at":     "2026-01-07T08:00:00Z",
		"updated_at":     "2026-01-07T08:00:00Z",
		"pull_request": map[string]any{
			"url":      "https://api.github.com/repos/acme/rocket/pulls/43",
			"html_url": "https://github.com/acme/rocket/pull/43",
		},
	}
	created44 = map[string]any{
		"id": 1003, "number": 44, "title": "Nightly build failed", "state": "open",
		"body":           "See the log.",
		"html_url":       "https://github.com/acme/rocket/issues/44",
		"repository_url": "https://api.github.com/repos/acme/rocket",
		"user":           map[string]any{"login": "telos-bot"},
		"labels":         []any{map[string]any{"name": "ci"}},
	}
	comment9 = map[string]any{
		"id":       9001,
		"body":     "Triaged: duplicate of #12.",
		"html_url": "https://github.com/acme/rocket/issues/42#issuecomment-9001",
		"user":     map[string]any{"login": "telos-bot"},
	}
)

// Expected summaries of issue42 and pull43.
var (
	summary42 = map[string]any{
		"number": 42, "title": "Crash on start", "state": "open",
		"html_url": "https://github.com/acme/rocket/issues/42", "author": "ada",
		"labels": []any{"bug", "urgent"}, "pull_request": false, "comments": 3,
		"created_at": "2026-01-05T09:00:00Z", "updated_at": "2026-01-06T10:30:00Z",
		"repository": "acme/rocket",
	}
	summary43 = map[string]any{
		"number": 43, "title": "Fix crash on start", "state": "open",
		"html_url": "https://github.com/acme/rocket/pull/43", "author": "grace",
		"labels": []any{}, "pull_request": true, "comments": 0,
		"created_at": "2026-01-07T08:00:00Z", "updated_at": "2026-01-07T08:00:00Z",
		"repository": "acme/rocket",
	}
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// happyGitHub answers the five endpoints the actions use, as GitHub does,
// after checking the token the way GitHub accepts it.
func happyGitHub(w http.ResponseWriter, r *http.Request) {
	if auth := r.Header.Get("Authorization"); auth != "Bearer "+testToken && auth != "token "+testToken {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})
		return
	}
	switch r.Method + " " + r.URL.Path {
	case "GET /search/issues":
		writeJSON(w, http.StatusOK, map[string]any{"total_count": 57, "incomplete_results": false, "items": []any{issue42, pull43}})
	case "GET /repos/acme/rocket/issues":
		writeJSON(w, http.StatusOK, []any{issue42, pull43})
	case "GET /repos/acme/rocket/issues/42":
		writeJSON(w, http.StatusOK, issue42)
	case "POST /repos/acme/rocket/issues":
		writeJSON(w, http.StatusCreated, created44)
	case "POST /repos/acme/rocket/issues/42/comments":
		writeJSON(w, http.StatusCreated, comment9)
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})
	}
}

func TestActionsHappyPath(t *testing.T) {
	getOutput := map[string]any{}
	for k, v := range summary42 {
		getOutput[k] = v
	}
	getOutput["body"] = "It crashes.\n\nSteps: run it."
	getOutput["closed_at"] = ""
	getOutput["assignees"] = []any{"grace"}

	tests := []struct {
		name        string
		action      string
		input       map[string]any
		wantRequest request
		wantOutput  map[string]any
		wantOutcome string
	}{
		{
			name:        "search issues and pull requests",
			action:      "github.search_issues",
			input:       map[string]any{"query": "repo:acme/rocket crash", "limit": "2"},
			wantRequest: request{Method: "GET", Path: "/search/issues", Query: "per_page=2&q=repo%3Aacme%2Frocket+crash"},
			wantOutput: map[string]any{
				"total_count": 57, "incomplete_results": false, "count": 2,
				"issues": []any{summary42, summary43},
			},
		},
		{
			name:        "search with the default limit",
			action:      "github.search_issues",
			input:       map[string]any{"query": "is:open"},
			wantRequest: request{Method: "GET", Path: "/search/issues", Query: "per_page=30&q=is%3Aopen"},
			wantOutput: map[string]any{
				"total_count": 57, "incomplete_results": false, "count": 2,
				"issues": []any{summary42, summary43},
			},
		},
		{
			name:        "list issues by state and labels",
			action:      "github.list_issues",
			input:       map[string]any{"repository": "acme/rocket", "state": "all", "labels": "bug, urgent", "limit": "10"},
			wantRequest: request{Method: "GET", Path: "/repos/acme/rocket/issues", Query: "labels=bug%2Curgent&per_page=10&state=all"},
			wantOutput:  map[string]any{"count": 2, "issues": []any{summary42, summary43}},
		},
		{
			name:        "list keeps only limit issues",
			action:      "github.list_issues",
			input:       map[string]any{"repository": "acme/rocket", "limit": "1"},
			wantRequest: request{Method: "GET", Path: "/repos/acme/rocket/issues", Query: "per_page=1&state=open"},
			wantOutput:  map[string]any{"count": 1, "issues": []any{summary42}},
		},
		{
			name:        "get one issue",
			action:      "github.get_issue",
			input:       map[string]any{"repository": "acme/rocket", "number": "42"},
			wantRequest: request{Method: "GET", Path: "/repos/acme/rocket/issues/42"},
			wantOutput:  getOutput,
		},
		{
			name:        "numbers as JSON numbers, as a model sends them",
			action:      "github.get_issue",
			input:       map[string]any{"repository": "acme/rocket", "number": float64(42)},
			wantRequest: request{Method: "GET", Path: "/repos/acme/rocket/issues/42"},
			wantOutput:  getOutput,
		},
		{
			name:        "labels as a list and limit as a number",
			action:      "github.list_issues",
			input:       map[string]any{"repository": "acme/rocket", "labels": []any{"bug", "urgent"}, "limit": 5},
			wantRequest: request{Method: "GET", Path: "/repos/acme/rocket/issues", Query: "labels=bug%2Curgent&per_page=5&state=open"},
			wantOutput:  map[string]any{"count": 2, "issues": []any{summary42, summary43}},
		},
		{
			name:   "create an issue",
			action: "github.create_issue",
			input:  map[string]any{"repository": "acme/rocket", "title": "Nightly build failed", "body": "See the log.", "labels": "ci"},
			wantRequest: request{Method: "POST", Path: "/repos/acme/rocket/issues", Body: map[string]any{
				"title": "Nightly build failed", "body": "See the log.", "labels": []any{"ci"},
			}},
			wantOutput: map[string]any{
				"number": 44, "title": "Nightly build failed", "state": "open",
				"html_url": "https://github.com/acme/rocket/issues/44", "repository": "acme/rocket",
			},
			wantOutcome: "https://github.com/acme/rocket/issues/44",
		},
		{
			name:        "comment on an issue",
			action:      "github.comment",
			input:       map[string]any{"repository": "acme/rocket", "number": "42", "body": "Triaged: duplicate of #12."},
			wantRequest: request{Method: "POST", Path: "/repos/acme/rocket/issues/42/comments", Body: map[string]any{"body": "Triaged: duplicate of #12."}},
			wantOutput: map[string]any{
				"id": int64(9001), "html_url": "https://github.com/acme/rocket/issues/42#issuecomment-9001",
				"issue_number": 42, "repository": "acme/rocket",
			},
			wantOutcome: "https://github.com/acme/rocket/issues/42#issuecomment-9001",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeGitHub(t, happyGitHub)
			var tokens tokenCalls
			reg := newRegistry(t, f, tokens.source(testToken))

			res, err := reg.Call(context.Background(), tt.action, connectors.Request{Team: "platform", Input: tt.input})
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if err := reg.CheckOutput(tt.action, res.Output); err != nil {
				t.Errorf("output does not match the action's schema: %v", err)
			}
			if !reflect.DeepEqual(res.Output, tt.wantOutput) {
				t.Errorf("got output\n%#v\nwant\n%#v", res.Output, tt.wantOutput)
			}
			if res.OutcomeRef != tt.wantOutcome {
				t.Errorf("got outcome ref %q, want %q", res.OutcomeRef, tt.wantOutcome)
			}
			reqs := f.recorded()
			if len(reqs) != 1 {
				t.Fatalf("got %d requests, want 1", len(reqs))
			}
			want := tt.wantRequest
			want.Auth = "Bearer " + testToken
			if !reflect.DeepEqual(reqs[0], want) {
				t.Errorf("got request %+v, want %+v", reqs[0], want)
			}
			if got := tokens.teams; !reflect.DeepEqual(got, []string{"platform"}) {
				t.Errorf("got token requests for teams %q, want [platform]", got)
			}
		})
	}
}

func TestDryRunSendsNothing(t *testing.T) {
	tests := []struct {
		action string
		input  map[string]any
	}{
		{"github.create_issue", map[string]any{"repository": "acme/rocket", "title": "Nightly build failed"}},
		{"github.comment", map[string]any{"repository": "acme/rocket", "number": "42", "body": "Looks like a duplicate."}},
	}
	for _, tt := range tests {
		t.Run(tt.action, func(t *testing.T) {
			f := newFakeGitHub(t, happyGitHub)
			var tokens tokenCalls
			reg := newRegistry(t, f, tokens.source(testToken))

			res, err := reg.Call(context.Background(), tt.action, connectors.Request{Team: "platform", Input: tt.input, DryRun: true})
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			want := map[string]any{"dry_run": true, "would_write_to": "acme/rocket"}
			if !reflect.DeepEqual(res.Output, want) {
				t.Errorf("got output %v, want %v", res.Output, want)
			}
			if err := reg.CheckOutput(tt.action, res.Output); err != nil {
				t.Errorf("output does not match the action's schema: %v", err)
			}
			if res.OutcomeRef != "" {
				t.Errorf("got outcome ref %q, want none", res.OutcomeRef)
			}
			if n := len(f.recorded()); n != 0 {
				t.Errorf("got %d requests, want 0", n)
			}
			if n := tokens.count(); n != 0 {
				t.Errorf("got %d token fetches, want 0", n)
			}
		})
	}
}

// wantError fails unless err is a *connectors.Error with the given code and retryability.
func wantError(t *testing.T, err error, code string, retryable bool) *connectors.Error {
	t.Helper()
	var cerr *connectors.Error
	if !errors.As(err, &cerr) {
		t.Fatalf("got error %v, want a *connectors.Error with code %q", err, code)
	}
	if cerr.Code != code || cerr.Retryable != retryable {
		t.Fatalf("got code %q retryable %v (%s), want %q retryable %v", cerr.Code, cerr.Retryable, cerr.Message, code, retryable)
	}
	return cerr
}

func TestErrors(t *testing.T) {
	// GitHub's clock in these responses; rate limits reset relative to it.
	serverDate := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	reset := serverDate.Add(90 * time.Second)
	headers := func(w http.ResponseWriter, kv ...string) {
		w.Header().Set("Date", serverDate.Format(http.TimeFormat))
		for i := 0; i < len(kv); i += 2 {
			w.Header().Set(kv[i], kv[i+1])
		}
	}
	resetUnix := func() string { return strconv.FormatInt(reset.Unix(), 10) }

	tests := []struct {
		name            string
		action          string
		input           map[string]any
		respond         http.HandlerFunc
		token           string
		wantCode        string
		wantRetryable   bool
		wantRateLimited bool
		wantRetryAfter  time.Duration
		wantMessage     string
	}{
		{
			name:   "bad credentials",
			action: "github.get_issue", input: map[string]any{"repository": "acme/rocket", "number": "42"},
			respond:  happyGitHub,
			token:    "ghp_wrongCANARY0987654321",
			wantCode: connectors.CodeAuth, wantMessage: "github.get_issue: GitHub rejected the team's token (401 Bad credentials); check the secret that holds it",
		},
		{
			name:   "a token echoed back is scrubbed",
			action: "github.comment", input: map[string]any{"repository": "acme/rocket", "number": "42", "body": "hi"},
			respond: func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "Bad credentials: " + strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")})
			},
			wantCode: connectors.CodeAuth, wantMessage: "github.comment: GitHub rejected the team's token (401 Bad credentials: [redacted]); check the secret that holds it",
		},
		{
			name:   "forbidden",
			action: "github.create_issue", input: map[string]any{"repository": "acme/rocket", "title": "x"},
			respond: func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, http.StatusForbidden, map[string]any{"message": "Resource not accessible by personal access token"})
			},
			wantCode: connectors.CodeAuth, wantMessage: "github.create_issue: GitHub refused access (403 Resource not accessible by personal access token); the team's token may lack permission for this repository",
		},
		{
			name:   "primary rate limit: 403 with no requests remaining",
			action: "github.list_issues", input: map[string]any{"repository": "acme/rocket"},
			respond: func(w http.ResponseWriter, r *http.Request) {
				headers(w, "X-Ratelimit-Limit", "5000", "X-Ratelimit-Remaining", "0", "X-Ratelimit-Used", "5000", "X-Ratelimit-Reset", resetUnix())
				writeJSON(w, http.StatusForbidden, map[string]any{"message": "API rate limit exceeded for user ID 1."})
			},
			wantCode: connectors.CodeRateLimited, wantRetryable: true, wantRateLimited: true, wantRetryAfter: 90 * time.Second,
			wantMessage: "github.list_issues: GitHub rate limit exhausted for the team's token: API rate limit exceeded for user ID 1.",
		},
		{
			name:   "429 with Retry-After",
			action: "github.create_issue", input: map[string]any{"repository": "acme/rocket", "title": "x"},
			respond: func(w http.ResponseWriter, r *http.Request) {
				headers(w, "Retry-After", "7")
				writeJSON(w, http.StatusTooManyRequests, map[string]any{"message": "Too many requests"})
			},
			wantCode: connectors.CodeRateLimited, wantRetryable: true, wantRateLimited: true, wantRetryAfter: 7 * time.Second,
			wantMessage: "github.create_issue: GitHub rate limit (429 Too many requests)",
		},
		{
			name:   "429 with only the reset time",
			action: "github.search_issues", input: map[string]any{"query": "is:open"},
			respond: func(w http.ResponseWriter, r *http.Request) {
				headers(w, "X-Ratelimit-Reset", resetUnix())
				writeJSON(w, http.StatusTooManyRequests, map[string]any{"message": "Too many requests"})
			},
			wantCode: connectors.CodeRateLimited, wantRetryable: true, wantRateLimited: true, wantRetryAfter: 90 * time.Second,
			wantMessage: "github.search_issues: GitHub rate limit (429 Too many requests)",
		},
		{
			name:   "secondary rate limit",
			action: "github.comment", input: map[string]any{"repository": "acme/rocket", "number": "42", "body": "hi"},
			respond: func(w http.ResponseWriter, r *http.Request) {
				headers(w, "Retry-After", "30")
				writeJSON(w, http.StatusForbidden, map[string]any{
					"message":           "You have exceeded a secondary rate limit.",
					"documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
				})
			},
			wantCode: connectors.CodeRateLimited, wantRetryable: true, wantRateLimited: true, wantRetryAfter: 30 * time.Second,
			wantMessage: "github.comment: GitHub secondary rate limit: You have exceeded a secondary rate limit.",
		},
		{
			name:   "not found",
			action: "github.get_issue", input: map[string]any{"repository": "acme/rocket", "number": "999"},
			respond:  happyGitHub,
			wantCode: connectors.CodeNotFound, wantMessage: "not_found: github.get_issue: not found on GitHub, or not visible to the team's token (404 Not Found)",
		},
		{
			name:   "validation failed",
			action: "github.create_issue", input: map[string]any{"repository": "acme/rocket", "title": "x", "labels": "no such label"},
			respond: func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, http.StatusUnprocessableEntity, map[string]any{
					"message": "Validation Failed",
					"errors":  []any{map[string]any{"resource": "Label", "field": "name", "code": "invalid"}},
				})
			},
			wantCode: connectors.CodeInvalidInput, wantMessage: "invalid_input: github.create_issue: GitHub refused the request (422 Validation Failed; Label name invalid)",
		},
		{
			name:   "server error",
			action: "github.list_issues", input: map[string]any{"repository": "acme/rocket"},
			respond: func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, http.StatusBadGateway, map[string]any{"message": "Server Error"})
			},
			wantCode: connectors.CodeUpstream, wantRetryable: true, wantMessage: "github.list_issues: GitHub failed (502 Server Error)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeGitHub(t, tt.respond)
			token := tt.token
			if token == "" {
				token = testToken
			}
			var tokens tokenCalls
			reg := newRegistry(t, f, tokens.source(token))

			_, err := reg.Call(context.Background(), tt.action, connectors.Request{Team: "platform", Input: tt.input})
			cerr := wantError(t, err, tt.wantCode, tt.wantRetryable)
			if cerr.RateLimited != tt.wantRateLimited {
				t.Errorf("got rate limited %v, want %v", cerr.RateLimited, tt.wantRateLimited)
			}
			if cerr.RetryAfter != tt.wantRetryAfter {
				t.Errorf("got retry after %v, want %v", cerr.RetryAfter, tt.wantRetryAfter)
			}
			msg := cerr.Message
			if strings.HasPrefix(tt.wantMessage, tt.wantCode+": ") {
				msg = cerr.Error()
			}
			if msg != tt.wantMessage {
				t.Errorf("got message %q, want %q", msg, tt.wantMessage)
			}
			if strings.Contains(err.Error(), token) {
				t.Errorf("error %q contains the token", err)
			}
			if n := len(f.recorded()); n != 1 {
				t.Errorf("got %d requests, want 1", n)
			}
		})
	}
}

func TestInvalidInputRefusedBeforeAnyRequest(t *testing.T) {
	tests := []struct {
		name        string
		action      string
		input       map[string]any
		wantMessage string
	}{
		{"repository without owner", "github.list_issues", map[string]any{"repository": "rocket"},
			`github.list_issues: repository: must match ^[^/]+/[^/]+$`},
		{"repository with a path", "github.get_issue", map[string]any{"repository": "acme/rocket/issues", "number": "1"},
			`github.get_issue: repository: must match ^[^/]+/[^/]+$`},
		{"repository climbing out", "github.comment", map[string]any{"repository": "acme/..", "number": "1", "body": "hi"},
			`github.comment: repository must be "owner/name"`},
		{"owner with a bad character", "github.create_issue", map[string]any{"repository": "ac%2fme/rocket", "title": "x"},
			`github.create_issue: repository must be "owner/name"`},
		{"number zero", "github.get_issue", map[string]any{"repository": "acme/rocket", "number": 0},
			`github.get_issue: number: must be at least 1`},
		{"number zero as text", "github.get_issue", map[string]any{"repository": "acme/rocket", "number": "0"},
			`github.get_issue: number: must match ^[1-9][0-9]*$`},
		{"number not a number", "github.comment", map[string]any{"repository": "acme/rocket", "number": "forty-two", "body": "hi"},
			`github.comment: number: must match ^[1-9][0-9]*$`},
		{"number with a fraction", "github.get_issue", map[string]any{"repository": "acme/rocket", "number": 4.5},
			`github.get_issue: number: expected integer or string, got number`},
		{"limit zero", "github.search_issues", map[string]any{"query": "is:open", "limit": 0},
			`github.search_issues: limit: must be at least 1`},
		{"limit above a page", "github.list_issues", map[string]any{"repository": "acme/rocket", "limit": 101},
			`github.list_issues: limit: must be at most 100`},
		{"limit above a page as text", "github.list_issues", map[string]any{"repository": "acme/rocket", "limit": "101"},
			`github.list_issues: limit must be a whole number from 1 to 100`},
		{"unknown state", "github.list_issues", map[string]any{"repository": "acme/rocket", "state": "merged"},
			`github.list_issues: state: value must be one of 'open', 'closed', 'all'`},
		{"labels not strings", "github.list_issues", map[string]any{"repository": "acme/rocket", "labels": []any{"bug", 7}},
			`github.list_issues: labels.1: expected string, got number`},
		{"blank query", "github.search_issues", map[string]any{"query": "   "},
			`github.search_issues: query is empty`},
		{"query too long", "github.search_issues", map[string]any{"query": strings.Repeat("a", 257)},
			`github.search_issues: query: must be at most 256 characters`},
		{"missing title", "github.create_issue", map[string]any{"repository": "acme/rocket"},
			`github.create_issue: title: missing`},
		{"blank comment", "github.comment", map[string]any{"repository": "acme/rocket", "number": "1", "body": " \n"},
			`github.comment: body is empty`},
		{"body too long", "github.create_issue", map[string]any{"repository": "acme/rocket", "title": "x", "body": strings.Repeat("b", 65537)},
			`github.create_issue: body: must be at most 65536 characters`},
		{"unknown parameter", "github.create_issue", map[string]any{"repository": "acme/rocket", "title": "x", "assignee": "ada"},
			`github.create_issue: assignee: unknown parameter`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeGitHub(t, happyGitHub)
			var tokens tokenCalls
			reg := newRegistry(t, f, tokens.source(testToken))

			_, err := reg.Call(context.Background(), tt.action, connectors.Request{Team: "platform", Input: tt.input})
			cerr := wantError(t, err, connectors.CodeInvalidInput, false)
			if cerr.Message != tt.wantMessage {
				t.Errorf("got message %q, want %q", cerr.Message, tt.wantMessage)
			}
			if n := len(f.recorded()); n != 0 {
				t.Errorf("got %d requests, want 0", n)
			}
			if n := tokens.count(); n != 0 {
				t.Errorf("got %d token fetches, want 0", n)
			}
		})
	}
}

func TestTokenProblemsSendNothing(t *testing.T) {
	tests := []struct {
		name        string
		token       func(context.Context, string) (string, error)
		wantMessage string
	}{
		{"no token for the team", func(context.Context, string) (string, error) { return "", nil },
			`github.get_issue: team "platform" has no GitHub token configured`},
		{"the secret store fails", func(context.Context, string) (string, error) { return "", errors.New("secret store unavailable") },
			`github.get_issue: github token for team "platform": secret store unavailable`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeGitHub(t, happyGitHub)
			reg := newRegistry(t, f, tt.token)

			_, err := reg.Call(context.Background(), "github.get_issue", connectors.Request{Team: "platform", Input: map[string]any{
				"repository": "acme/rocket", "number": 42,
			}})
			if err == nil || err.Error() != tt.wantMessage {
				t.Errorf("got error %v, want %q", err, tt.wantMessage)
			}
			if n := len(f.recorded()); n != 0 {
				t.Errorf("got %d requests, want 0", n)
			}
		})
	}
}
