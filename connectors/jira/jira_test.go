package jira_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/telos-dev/telos/connectors"
	"github.com/telos-dev/telos/connectors/jira"
)

const (
	testEmail = "telos-bot@acme.test"
	testToken = "ATATT3xCanaryTOKEN1234567890"
)

// basicAuth is the Authorization header Jira Cloud expects for testEmail and testToken.
var basicAuth = "Basic " + base64.StdEncoding.EncodeToString([]byte(testEmail+":"+testToken))

// request is what the fake Jira saw of one call.
type request struct {
	Method, Path, Query, Auth string
	Body                      map[string]any
}

// fakeJira is an httptest server speaking the Jira Cloud REST v3 wire
// format. It records every request and answers through respond.
type fakeJira struct {
	srv      *httptest.Server
	mu       sync.Mutex
	requests []request
}

func newFakeJira(t *testing.T, respond http.HandlerFunc) *fakeJira {
	t.Helper()
	f := &fakeJira{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Auth: r.Header.Get("Authorization")}
		if data, _ := io.ReadAll(r.Body); len(data) > 0 {
			if err := json.Unmarshal(data, &rec.Body); err != nil {
				t.Errorf("request body %q is not a JSON object: %v", data, err)
			}
			if ct := r.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("got Content-Type %q, want application/json", ct)
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

func (f *fakeJira) recorded() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]request(nil), f.requests...)
}

// tokenCalls records which teams the connector asked a token for.
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

func newRegistry(t *testing.T, cfg jira.Config) *connectors.Registry {
	t.Helper()
	r := connectors.NewRegistry()
	for _, a := range jira.Actions(cfg) {
		r.Register(a)
	}
	return r
}

// Jira Cloud's documented JSON for the objects the tests use.
var (
	issue42 = map[string]any{
		"expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
		"id":     "10042", "key": "OPS-42",
		"self": "https://acme.atlassian.net/rest/api/3/issue/10042",
		"fields": map[string]any{
			"summary": "Checkout times out",
			"status": map[string]any{
				"self": "https://acme.atlassian.net/rest/api/3/status/3", "name": "In Progress", "id": "3",
				"statusCategory": map[string]any{"id": 4, "key": "indeterminate", "colorName": "yellow", "name": "In Progress"},
			},
			"assignee": map[string]any{
				"accountId": "5b10a2844c20165700ede21g", "displayName": "Ada Lovelace",
				"emailAddress": "ada@acme.test", "active": true, "timeZone": "Europe/Berlin", "accountType": "atlassian",
			},
			"reporter":  map[string]any{"accountId": "5b10ac8d82e05b22cc7d4ef5", "displayName": "Grace Hopper", "active": true},
			"priority":  map[string]any{"self": "https://acme.atlassian.net/rest/api/3/priority/2", "name": "High", "id": "2"},
			"labels":    []any{"checkout", "customer"},
			"issuetype": map[string]any{"id": "10001", "name": "Bug", "subtask": false},
			"project":   map[string]any{"id": "10000", "key": "OPS", "name": "Operations"},
			"created":   "2026-01-05T10:00:00.000+0100",
			"updated":   "2026-01-06T10:30:00.000+0000",
			"description": map[string]any{
				"type": "doc", "version": 1,
				"content": []any{
					map[string]any{"type": "heading", "attrs": map[string]any{"level": 2}, "content": []any{
						map[string]any{"type": "text", "text": "What happens"},
					}},
					map[string]any{"type": "paragraph", "content": []any{
						map[string]any{"type": "text", "text": "Checkout ", "marks": []any{map[string]any{"type": "strong"}}},
						map[string]any{"type": "text", "text": "times out after 30 s."},
						map[string]any{"type": "hardBreak"},
						map[string]any{"type": "text", "text": "Seen by "},
						map[string]any{"type": "mention", "attrs": map[string]any{"id": "5b10ac8d82e05b22cc7d4ef5", "text": "@Grace Hopper"}},
						map[string]any{"type": "text", "text": " "},
						map[string]any{"type": "emoji", "attrs": map[string]any{"shortName": ":fire:", "text": "🔥"}},
					}},
					map[string]any{"type": "orderedList", "attrs": map[string]any{"order": 1}, "content": []any{
						map[string]any{"type": "listItem", "content": []any{
							map[string]any{"type": "paragraph", "content": []any{map[string]any{"type": "text", "text": "Add an item"}}},
						}},
						map[string]any{"type": "listItem", "content": []any{
							map[string]any{"type": "paragraph", "content": []any{map[string]any{"type": "text", "text": "Pay"}}},
							map[string]any{"type": "bulletList", "content": []any{
								map[string]any{"type": "listItem", "content": []any{
									map[string]any{"type": "paragraph", "content": []any{map[string]any{"type": "text", "text": "by card"}}},
								}},
							}},
						}},
					}},
					map[string]any{"type": "codeBlock", "attrs": map[string]any{"language": "text"}, "content": []any{
						map[string]any{"type": "text", "text": "504 Gateway Timeout"},
					}},
					map[string]any{"type": "mediaSingle", "attrs": map[string]any{"layout": "center"}, "content": []any{
						map[string]any{"type": "media", "attrs": map[string]any{"id": "a1b2", "type": "file", "collection": ""}},
					}},
				},
			},
		},
	}
	issue43 = map[string]any{
		"id": "10043", "key": "OPS-43",
		"self": "https://acme.atlassian.net/rest/api/3/issue/10043",
		"fields": map[string]any{
			"summary":  "Refund e-mail has no order number",
			"status":   map[string]any{"name": "To Do", "id": "10000"},
			"assignee": nil,
			"priority": map[string]any{"name": "Medium", "id": "3"},
			"labels":   []any{},
		},
	}
	transitions42 = map[string]any{
		"expand": "transitions",
		"transitions": []any{
			map[string]any{"id": "11", "name": "To Do", "hasScreen": false, "isGlobal": true, "isInitial": false, "isAvailable": true,
				"to": map[string]any{"id": "10000", "name": "To Do", "statusCategory": map[string]any{"key": "new"}}},
			map[string]any{"id": "21", "name": "Start Progress", "hasScreen": false, "isGlobal": false, "isInitial": false, "isAvailable": true,
				"to": map[string]any{"id": "3", "name": "In Progress", "statusCategory": map[string]any{"key": "indeterminate"}}},
			map[string]any{"id": "31", "name": "Done", "hasScreen": false, "isGlobal": true, "isInitial": false, "isAvailable": true,
				"to": map[string]any{"id": "10001", "name": "Done", "statusCategory": map[string]any{"key": "done"}}},
		},
	}
	notFound = map[string]any{"errorMessages": []any{"Issue does not exist or you do not have permission to see it."}, "errors": map[string]any{}}
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// happyJira answers the endpoints the actions use, as Jira Cloud does, after
// checking the credentials the way Jira accepts them.
func happyJira(w http.ResponseWriter, r *http.Request) {
	if auth := r.Header.Get("Authorization"); auth != basicAuth && auth != "Bearer "+testToken {
		w.Header().Set("Content-Type", "text/plain;charset=UTF-8")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, "Client must be authenticated to access this resource.")
		return
	}
	switch r.Method + " " + r.URL.Path {
	case "POST /rest/api/3/search/jql":
		writeJSON(w, http.StatusOK, map[string]any{"issues": []any{issue42, issue43}, "isLast": false, "nextPageToken": "CAEaAggD"})
	case "GET /rest/api/3/issue/OPS-42":
		writeJSON(w, http.StatusOK, issue42)
	case "POST /rest/api/3/issue":
		writeJSON(w, http.StatusCreated, map[string]any{"id": "10044", "key": "OPS-44", "self": "https://acme.atlassian.net/rest/api/3/issue/10044"})
	case "POST /rest/api/3/issue/OPS-42/comment":
		writeJSON(w, http.StatusCreated, map[string]any{
			"id": "10100", "self": "https://acme.atlassian.net/rest/api/3/issue/10042/comment/10100",
			"author":  map[string]any{"accountId": "5b10a2844c20165700ede21f", "displayName": "Telos Bot"},
			"body":    map[string]any{"type": "doc", "version": 1, "content": []any{}},
			"created": "2026-01-07T08:00:00.000+0000", "updated": "2026-01-07T08:00:00.000+0000",
		})
	case "GET /rest/api/3/issue/OPS-42/transitions":
		writeJSON(w, http.StatusOK, transitions42)
	case "POST /rest/api/3/issue/OPS-42/transitions":
		w.WriteHeader(http.StatusNoContent)
	default:
		writeJSON(w, http.StatusNotFound, notFound)
	}
}

// paragraph is the ADF the connector sends for a paragraph of lines.
func paragraph(lines ...string) map[string]any {
	var content []any
	for i, l := range lines {
		if i > 0 {
			content = append(content, map[string]any{"type": "hardBreak"})
		}
		content = append(content, map[string]any{"type": "text", "text": l})
	}
	return map[string]any{"type": "paragraph", "content": content}
}

func doc(paragraphs ...any) map[string]any {
	return map[string]any{"type": "doc", "version": float64(1), "content": append([]any{}, paragraphs...)}
}

func TestActionsHappyPath(t *testing.T) {
	summary42 := map[string]any{
		"key": "OPS-42", "summary": "Checkout times out", "status": "In Progress",
		"assignee": "Ada Lovelace", "priority": "High", "labels": []any{"checkout", "customer"},
		"url": "SITE/browse/OPS-42",
	}
	summary43 := map[string]any{
		"key": "OPS-43", "summary": "Refund e-mail has no order number", "status": "To Do",
		"assignee": "", "priority": "Medium", "labels": []any{}, "url": "SITE/browse/OPS-43",
	}
	get42 := map[string]any{
		"description": "What happens\n\n" +
			"Checkout times out after 30 s.\nSeen by @Grace Hopper 🔥\n\n" +
			"1. Add an item\n2. Pay\n   - by card\n\n" +
			"504 Gateway Timeout",
		"issue_type": "Bug", "project": "OPS", "reporter": "Grace Hopper",
		"created": "2026-01-05T09:00:00Z", "updated": "2026-01-06T10:30:00Z",
	}
	for k, v := range summary42 {
		get42[k] = v
	}
	searchFields := []any{"summary", "status", "assignee", "priority", "labels"}
	getTransitions := request{Method: "GET", Path: "/rest/api/3/issue/OPS-42/transitions"}
	postTransition := func(id string) request {
		return request{Method: "POST", Path: "/rest/api/3/issue/OPS-42/transitions", Body: map[string]any{"transition": map[string]any{"id": id}}}
	}

	tests := []struct {
		name         string
		action       string
		input        map[string]any
		wantRequests []request
		wantOutput   map[string]any
		wantOutcome  string
	}{
		{
			name:   "search with JQL",
			action: "jira.search",
			input:  map[string]any{"jql": "project = OPS AND statusCategory != Done", "max_results": "2"},
			wantRequests: []request{{Method: "POST", Path: "/rest/api/3/search/jql", Body: map[string]any{
				"jql": "project = OPS AND statusCategory != Done", "maxResults": float64(2), "fields": searchFields,
			}}},
			wantOutput: map[string]any{"count": 2, "has_more": true, "issues": []any{summary42, summary43}},
		},
		{
			name:   "search keeps only max_results issues, as a number",
			action: "jira.search",
			input:  map[string]any{"jql": "project = OPS", "max_results": float64(1)},
			wantRequests: []request{{Method: "POST", Path: "/rest/api/3/search/jql", Body: map[string]any{
				"jql": "project = OPS", "maxResults": float64(1), "fields": searchFields,
			}}},
			wantOutput: map[string]any{"count": 1, "has_more": true, "issues": []any{summary42}},
		},
		{
			name:   "search with the default page",
			action: "jira.search",
			input:  map[string]any{"jql": "assignee = currentUser()"},
			wantRequests: []request{{Method: "POST", Path: "/rest/api/3/search/jql", Body: map[string]any{
				"jql": "assignee = currentUser()", "maxResults": float64(50), "fields": searchFields,
			}}},
			wantOutput: map[string]any{"count": 2, "has_more": true, "issues": []any{summary42, summary43}},
		},
		{
			name:   "get an issue with its description as text",
			action: "jira.get_issue",
			input:  map[string]any{"key": "OPS-42"},
			wantRequests: []request{{Method: "GET", Path: "/rest/api/3/issue/OPS-42",
				Query: "fields=summary,status,assignee,priority,labels,description,issuetype,project,reporter,created,updated"}},
			wantOutput: get42,
		},
		{
			name:   "create an issue with a description",
			action: "jira.create_issue",
			input: map[string]any{"project": "OPS", "issue_type": "Bug", "summary": "Nightly build failed",
				"description": "The build broke.\r\nSee the log.\n\n\nAssigned to on-call."},
			wantRequests: []request{{Method: "POST", Path: "/rest/api/3/issue", Body: map[string]any{"fields": map[string]any{
				"project":     map[string]any{"key": "OPS"},
				"issuetype":   map[string]any{"name": "Bug"},
				"summary":     "Nightly build failed",
				"description": doc(paragraph("The build broke.", "See the log."), paragraph("Assigned to on-call.")),
			}}}},
			wantOutput:  map[string]any{"id": "10044", "key": "OPS-44", "url": "SITE/browse/OPS-44", "project": "OPS"},
			wantOutcome: "SITE/browse/OPS-44",
		},
		{
			name:   "create a task by default",
			action: "jira.create_issue",
			input:  map[string]any{"project": "OPS", "summary": "Rotate the API keys"},
			wantRequests: []request{{Method: "POST", Path: "/rest/api/3/issue", Body: map[string]any{"fields": map[string]any{
				"project":   map[string]any{"key": "OPS"},
				"issuetype": map[string]any{"name": "Task"},
				"summary":   "Rotate the API keys",
			}}}},
			wantOutput:  map[string]any{"id": "10044", "key": "OPS-44", "url": "SITE/browse/OPS-44", "project": "OPS"},
			wantOutcome: "SITE/browse/OPS-44",
		},
		{
			name:   "comment on an issue",
			action: "jira.comment",
			input:  map[string]any{"key": "OPS-42", "body": "Triaged: duplicate of OPS-12.\nClosing soon."},
			wantRequests: []request{{Method: "POST", Path: "/rest/api/3/issue/OPS-42/comment", Body: map[string]any{
				"body": doc(paragraph("Triaged: duplicate of OPS-12.", "Closing soon.")),
			}}},
			wantOutput:  map[string]any{"id": "10100", "key": "OPS-42", "url": "SITE/browse/OPS-42?focusedCommentId=10100"},
			wantOutcome: "SITE/browse/OPS-42?focusedCommentId=10100",
		},
		{
			name:         "transition by name, in any case",
			action:       "jira.transition",
			input:        map[string]any{"key": "OPS-42", "transition": "start progress"},
			wantRequests: []request{getTransitions, postTransition("21")},
			wantOutput: map[string]any{"key": "OPS-42", "transition": "Start Progress", "transition_id": "21",
				"status": "In Progress", "url": "SITE/browse/OPS-42"},
			wantOutcome: "SITE/browse/OPS-42",
		},
		{
			name:         "transition by id",
			action:       "jira.transition",
			input:        map[string]any{"key": "OPS-42", "transition": "31"},
			wantRequests: []request{getTransitions, postTransition("31")},
			wantOutput: map[string]any{"key": "OPS-42", "transition": "Done", "transition_id": "31",
				"status": "Done", "url": "SITE/browse/OPS-42"},
			wantOutcome: "SITE/browse/OPS-42",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeJira(t, happyJira)
			var tokens tokenCalls
			reg := newRegistry(t, jira.Config{BaseURL: f.srv.URL + "/", Email: testEmail, Token: tokens.source(testToken)})

			res, err := reg.Call(context.Background(), tt.action, connectors.Request{Team: "platform", Input: tt.input})
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if err := reg.CheckOutput(tt.action, res.Output); err != nil {
				t.Errorf("output does not match the action's schema: %v", err)
			}
			wantOutput := withSite(tt.wantOutput, f.srv.URL).(map[string]any)
			if !reflect.DeepEqual(res.Output, wantOutput) {
				t.Errorf("got output\n%#v\nwant\n%#v", res.Output, wantOutput)
			}
			if want := strings.ReplaceAll(tt.wantOutcome, "SITE", f.srv.URL); res.OutcomeRef != want {
				t.Errorf("got outcome ref %q, want %q", res.OutcomeRef, want)
			}
			reqs := f.recorded()
			want := make([]request, len(tt.wantRequests))
			for i, r := range tt.wantRequests {
				r.Auth = basicAuth
				want[i] = r
			}
			if !reflect.DeepEqual(reqs, want) {
				t.Errorf("got requests\n%+v\nwant\n%+v", reqs, want)
			}
			if got := tokens.teams; !reflect.DeepEqual(got, []string{"platform"}) {
				t.Errorf("got token requests for teams %q, want [platform]", got)
			}
		})
	}
}

// withSite replaces "SITE" in the strings of v with the fake server's URL.
func withSite(v any, site string) any {
	switch x := v.(type) {
	case string:
		return strings.ReplaceAll(x, "SITE", site)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = withSite(e, site)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = withSite(e, site)
		}
		return out
	}
	return v
}

func TestAuthorizationHeader(t *testing.T) {
	tests := []struct {
		name, email, want string
	}{
		{"API token with the account's email: basic auth", testEmail, basicAuth},
		{"no email: bearer token", "", "Bearer " + testToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeJira(t, happyJira)
			var tokens tokenCalls
			reg := newRegistry(t, jira.Config{BaseURL: f.srv.URL, Email: tt.email, Token: tokens.source(testToken)})

			if _, err := reg.Call(context.Background(), "jira.get_issue", connectors.Request{Team: "platform", Input: map[string]any{"key": "OPS-42"}}); err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			reqs := f.recorded()
			if len(reqs) != 1 || reqs[0].Auth != tt.want {
				t.Errorf("got requests %+v, want one with Authorization %q", reqs, tt.want)
			}
		})
	}
}

func TestDryRunSendsNothing(t *testing.T) {
	tests := []struct {
		action string
		input  map[string]any
		wantTo string
	}{
		{"jira.create_issue", map[string]any{"project": "OPS", "summary": "Nightly build failed"}, "OPS"},
		{"jira.comment", map[string]any{"key": "OPS-42", "body": "Looks like a duplicate."}, "OPS-42"},
		{"jira.transition", map[string]any{"key": "OPS-42", "transition": "Done"}, "OPS-42"},
	}
	for _, tt := range tests {
		t.Run(tt.action, func(t *testing.T) {
			f := newFakeJira(t, happyJira)
			var tokens tokenCalls
			reg := newRegistry(t, jira.Config{BaseURL: f.srv.URL, Email: testEmail, Token: tokens.source(testToken)})

			res, err := reg.Call(context.Background(), tt.action, connectors.Request{Team: "platform", Input: tt.input, DryRun: true})
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			want := map[string]any{"dry_run": true, "would_write_to": tt.wantTo}
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
	// Jira's clock in these responses; rate limits reset relative to it.
	serverDate := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	respondWith := func(status int, body any, kv ...string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Date", serverDate.Format(http.TimeFormat))
			for i := 0; i < len(kv); i += 2 {
				w.Header().Set(kv[i], kv[i+1])
			}
			if text, ok := body.(string); ok {
				if w.Header().Get("Content-Type") == "" {
					w.Header().Set("Content-Type", "text/plain;charset=UTF-8")
				}
				w.WriteHeader(status)
				io.WriteString(w, text)
				return
			}
			writeJSON(w, status, body)
		}
	}
	getIssue := map[string]any{"key": "OPS-42"}
	create := map[string]any{"project": "OPS", "summary": "x"}

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
		wantRequests    int
	}{
		{
			name:   "bad credentials",
			action: "jira.get_issue", input: getIssue,
			respond:  happyJira,
			token:    "ATATT3xWrongCANARY0987654321",
			wantCode: connectors.CodeAuth,
			wantMessage: "jira.get_issue: Jira rejected the team's credentials (401 Client must be authenticated to access this resource.); " +
				"check the secret that holds the API token",
		},
		{
			name:   "credentials echoed back are scrubbed",
			action: "jira.comment", input: map[string]any{"key": "OPS-42", "body": "hi"},
			respond: func(w http.ResponseWriter, r *http.Request) {
				_, password, _ := r.BasicAuth()
				writeJSON(w, http.StatusUnauthorized, map[string]any{
					"errorMessages": []any{"bad header " + r.Header.Get("Authorization"), `token "` + password + `" revoked`},
					"errors":        map[string]any{},
				})
			},
			wantCode:    connectors.CodeAuth,
			wantMessage: `jira.comment: Jira rejected the team's credentials (401 bad header Basic [redacted]; token "[redacted]" revoked); check the secret that holds the API token`,
		},
		{
			name:   "forbidden",
			action: "jira.create_issue", input: create,
			respond: respondWith(http.StatusForbidden, map[string]any{
				"errorMessages": []any{"You do not have permission to create issues in this project."}, "errors": map[string]any{},
			}),
			wantCode:    connectors.CodeAuth,
			wantMessage: "jira.create_issue: Jira refused access (403 You do not have permission to create issues in this project.); the team's account may lack permission for this project",
		},
		{
			name:   "429 with Retry-After",
			action: "jira.search", input: map[string]any{"jql": "project = OPS"},
			respond:  respondWith(http.StatusTooManyRequests, "Rate limit exceeded.", "Retry-After", "7"),
			wantCode: connectors.CodeRateLimited, wantRetryable: true, wantRateLimited: true, wantRetryAfter: 7 * time.Second,
			wantMessage: "jira.search: Jira rate limit (429 Rate limit exceeded.)",
		},
		{
			name:   "429 on a write may be sent again",
			action: "jira.comment", input: map[string]any{"key": "OPS-42", "body": "hi"},
			respond:  respondWith(http.StatusTooManyRequests, "", "Retry-After", "7"),
			wantCode: connectors.CodeRateLimited, wantRetryable: true, wantRateLimited: true, wantRetryAfter: 7 * time.Second,
			wantMessage: "jira.comment: Jira rate limit (429 Too Many Requests)",
		},
		{
			name:   "429 with only the reset time",
			action: "jira.get_issue", input: getIssue,
			respond:  respondWith(http.StatusTooManyRequests, "", "X-RateLimit-Reset", serverDate.Add(90*time.Second).Format(time.RFC3339)),
			wantCode: connectors.CodeRateLimited, wantRetryable: true, wantRateLimited: true, wantRetryAfter: 90 * time.Second,
			wantMessage: "jira.get_issue: Jira rate limit (429 Too Many Requests)",
		},
		{
			name:   "not found",
			action: "jira.get_issue", input: map[string]any{"key": "OPS-999"},
			respond:     happyJira,
			wantCode:    connectors.CodeNotFound,
			wantMessage: "jira.get_issue: not found on Jira, or not visible to the team's account (404 Issue does not exist or you do not have permission to see it.)",
		},
		{
			name:   "not found while listing transitions",
			action: "jira.transition", input: map[string]any{"key": "OPS-999", "transition": "Done"},
			respond:     happyJira,
			wantCode:    connectors.CodeNotFound,
			wantMessage: "jira.transition: not found on Jira, or not visible to the team's account (404 Issue does not exist or you do not have permission to see it.)",
		},
		{
			name:   "field errors",
			action: "jira.create_issue", input: map[string]any{"project": "OPS", "issue_type": "Epic", "summary": "x"},
			respond: respondWith(http.StatusBadRequest, map[string]any{
				"errorMessages": []any{},
				"errors":        map[string]any{"summary": "You must specify a summary of the issue.", "issuetype": "Specify a valid issue type"},
			}),
			wantCode:    connectors.CodeInvalidInput,
			wantMessage: "jira.create_issue: Jira refused the request (400 issuetype: Specify a valid issue type; summary: You must specify a summary of the issue.)",
		},
		{
			name:   "bad JQL",
			action: "jira.search", input: map[string]any{"jql": "text crash"},
			respond: respondWith(http.StatusBadRequest, map[string]any{
				"errorMessages": []any{"Error in the JQL Query: Expecting operator but got 'crash'. The query was: text crash"},
				"errors":        map[string]any{},
			}),
			wantCode:    connectors.CodeInvalidInput,
			wantMessage: "jira.search: Jira refused the request (400 Error in the JQL Query: Expecting operator but got 'crash'. The query was: text crash)",
		},
		{
			name:   "server error on a read is retried",
			action: "jira.search", input: map[string]any{"jql": "project = OPS"},
			respond:       respondWith(http.StatusServiceUnavailable, "<html><body>Service Unavailable</body></html>", "Content-Type", "text/html"),
			wantCode:      connectors.CodeUpstream,
			wantRetryable: true,
			wantMessage:   "jira.search: Jira failed (503 Service Unavailable)",
		},
		{
			name:   "server error on a write is not rate limited, so it is not sent again",
			action: "jira.create_issue", input: create,
			respond: respondWith(http.StatusInternalServerError, map[string]any{
				"errorMessages": []any{"Internal server error"}, "errors": map[string]any{},
			}),
			wantCode:      connectors.CodeUpstream,
			wantRetryable: true,
			wantMessage:   "jira.create_issue: Jira failed (500 Internal server error)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeJira(t, tt.respond)
			token := tt.token
			if token == "" {
				token = testToken
			}
			var tokens tokenCalls
			reg := newRegistry(t, jira.Config{BaseURL: f.srv.URL, Email: testEmail, Token: tokens.source(token)})

			_, err := reg.Call(context.Background(), tt.action, connectors.Request{Team: "platform", Input: tt.input})
			cerr := wantError(t, err, tt.wantCode, tt.wantRetryable)
			if cerr.RateLimited != tt.wantRateLimited {
				t.Errorf("got rate limited %v, want %v", cerr.RateLimited, tt.wantRateLimited)
			}
			if cerr.RetryAfter != tt.wantRetryAfter {
				t.Errorf("got retry after %v, want %v", cerr.RetryAfter, tt.wantRetryAfter)
			}
			if cerr.Message != tt.wantMessage {
				t.Errorf("got message %q, want %q", cerr.Message, tt.wantMessage)
			}
			basic := base64.StdEncoding.EncodeToString([]byte(testEmail + ":" + token))
			if strings.Contains(err.Error(), token) || strings.Contains(err.Error(), basic) {
				t.Errorf("error %q contains the credentials", err)
			}
			if n := len(f.recorded()); n != 1 {
				t.Errorf("got %d requests, want 1", n)
			}
		})
	}
}

func TestUnknownTransitionListsTheAvailableOnes(t *testing.T) {
	tests := []struct {
		name        string
		respond     http.HandlerFunc
		wantMessage string
	}{
		{
			name:        "the issue offers three",
			respond:     happyJira,
			wantMessage: `jira.transition: OPS-42 has no transition "Reopen"; available: "To Do", "Start Progress", "Done"`,
		},
		{
			name: "the issue offers none",
			respond: func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, http.StatusOK, map[string]any{"expand": "transitions", "transitions": []any{}})
			},
			wantMessage: `jira.transition: OPS-42 has no transition "Reopen"; available: none`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeJira(t, tt.respond)
			var tokens tokenCalls
			reg := newRegistry(t, jira.Config{BaseURL: f.srv.URL, Email: testEmail, Token: tokens.source(testToken)})

			_, err := reg.Call(context.Background(), "jira.transition", connectors.Request{Team: "platform", Input: map[string]any{
				"key": "OPS-42", "transition": "Reopen",
			}})
			cerr := wantError(t, err, connectors.CodeInvalidInput, false)
			if cerr.Message != tt.wantMessage {
				t.Errorf("got message %q, want %q", cerr.Message, tt.wantMessage)
			}
			want := []request{{Method: "GET", Path: "/rest/api/3/issue/OPS-42/transitions", Auth: basicAuth}}
			if got := f.recorded(); !reflect.DeepEqual(got, want) {
				t.Errorf("got requests %+v, want only %+v", got, want)
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
		{"lower-case key", "jira.get_issue", map[string]any{"key": "ops-42"},
			`jira.get_issue: key: must match ^[A-Z][A-Z0-9_]+-[0-9]+$`},
		{"key with a path", "jira.comment", map[string]any{"key": "OPS-42/../../myself", "body": "hi"},
			`jira.comment: key: must match ^[A-Z][A-Z0-9_]+-[0-9]+$`},
		{"key without a number", "jira.transition", map[string]any{"key": "OPS", "transition": "Done"},
			`jira.transition: key: must match ^[A-Z][A-Z0-9_]+-[0-9]+$`},
		{"key as a number", "jira.get_issue", map[string]any{"key": 42},
			`jira.get_issue: key: expected string, got number`},
		{"lower-case project", "jira.create_issue", map[string]any{"project": "ops", "summary": "x"},
			`jira.create_issue: project: must match ^[A-Z][A-Z0-9_]+$`},
		{"issue key as project", "jira.create_issue", map[string]any{"project": "OPS-1", "summary": "x"},
			`jira.create_issue: project: must match ^[A-Z][A-Z0-9_]+$`},
		{"missing summary", "jira.create_issue", map[string]any{"project": "OPS"},
			`jira.create_issue: summary: missing`},
		{"blank summary", "jira.create_issue", map[string]any{"project": "OPS", "summary": "  "},
			`jira.create_issue: summary is empty`},
		{"summary of two lines", "jira.create_issue", map[string]any{"project": "OPS", "summary": "one\ntwo"},
			`jira.create_issue: summary must be one line`},
		{"summary too long", "jira.create_issue", map[string]any{"project": "OPS", "summary": strings.Repeat("s", 256)},
			`jira.create_issue: summary: must be at most 255 characters`},
		{"description too long", "jira.create_issue", map[string]any{"project": "OPS", "summary": "x", "description": strings.Repeat("d", 32768)},
			`jira.create_issue: description: must be at most 32767 characters`},
		{"missing comment", "jira.comment", map[string]any{"key": "OPS-42"},
			`jira.comment: body: missing`},
		{"blank comment", "jira.comment", map[string]any{"key": "OPS-42", "body": " \n"},
			`jira.comment: body is empty`},
		{"empty transition", "jira.transition", map[string]any{"key": "OPS-42", "transition": ""},
			`jira.transition: transition: must not be empty`},
		{"missing jql", "jira.search", map[string]any{},
			`jira.search: jql: missing`},
		{"blank jql", "jira.search", map[string]any{"jql": "   "},
			`jira.search: jql is empty`},
		{"max_results zero", "jira.search", map[string]any{"jql": "project = OPS", "max_results": 0},
			`jira.search: max_results: must be at least 1`},
		{"max_results above a page", "jira.search", map[string]any{"jql": "project = OPS", "max_results": 101},
			`jira.search: max_results: must be at most 100`},
		{"max_results above a page as text", "jira.search", map[string]any{"jql": "project = OPS", "max_results": "101"},
			`jira.search: max_results: must match ^([1-9][0-9]?|100)$`},
		{"max_results with a fraction", "jira.search", map[string]any{"jql": "project = OPS", "max_results": 2.5},
			`jira.search: max_results: expected integer or string, got number`},
		{"unknown parameter", "jira.create_issue", map[string]any{"project": "OPS", "summary": "x", "assignee": "ada"},
			`jira.create_issue: assignee: unknown parameter`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeJira(t, happyJira)
			var tokens tokenCalls
			reg := newRegistry(t, jira.Config{BaseURL: f.srv.URL, Email: testEmail, Token: tokens.source(testToken)})

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

func TestConfigAndTokenProblemsSendNothing(t *testing.T) {
	f := newFakeJira(t, happyJira)
	var tokens tokenCalls
	tests := []struct {
		name        string
		cfg         jira.Config
		wantMessage string
	}{
		{"no token for the team", jira.Config{BaseURL: f.srv.URL, Token: func(context.Context, string) (string, error) { return "", nil }},
			`jira.get_issue: team "platform" has no Jira token configured`},
		{"the secret store fails", jira.Config{BaseURL: f.srv.URL, Token: func(context.Context, string) (string, error) {
			return "", errors.New("secret store unavailable")
		}},
			`jira.get_issue: jira token for team "platform": secret store unavailable`},
		{"no site", jira.Config{Token: tokens.source(testToken)},
			`jira.get_issue: jira: no site URL configured`},
		{"a site that is not a URL", jira.Config{BaseURL: "acme.atlassian.net", Token: tokens.source(testToken)},
			`jira.get_issue: jira: site URL "acme.atlassian.net" is not an http(s) URL of a site`},
		{"no token source", jira.Config{BaseURL: f.srv.URL},
			`jira.get_issue: jira: no token source configured`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := newRegistry(t, tt.cfg)
			_, err := reg.Call(context.Background(), "jira.get_issue", connectors.Request{Team: "platform", Input: map[string]any{"key": "OPS-42"}})
			if err == nil || err.Error() != tt.wantMessage {
				t.Errorf("got error %v, want %q", err, tt.wantMessage)
			}
		})
	}
	if n := len(f.recorded()); n != 0 {
		t.Errorf("got %d requests, want 0", n)
	}
	if n := tokens.count(); n != 0 {
		t.Errorf("got %d token fetches for a misconfigured connector, want 0", n)
	}
}
