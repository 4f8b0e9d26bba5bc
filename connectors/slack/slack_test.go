package slack_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/telos-dev/telos/connectors"
	"github.com/telos-dev/telos/connectors/slack"
)

const testToken = "xoxb-1111-2222-TESTTOKEN"

// request is one request the fake Slack received.
type request struct {
	Method string // the Web API method, e.g. chat.postMessage
	HTTP   string // GET or POST
	Auth   string
	Form   url.Values
}

// fakeSlack speaks the Slack Web API wire format: form-encoded POSTs (or GET
// queries) to /api/<method>, a token as a bearer header or form field, and
// JSON answers {"ok": true, …} or {"ok": false, "error": "…"} with HTTP 200.
// reply, when set, answers instead of the built-in methods.
type fakeSlack struct {
	*httptest.Server
	token string
	mu    sync.Mutex
	reqs  []request
	reply func(w http.ResponseWriter, method string, form url.Values) bool
}

func newFakeSlack(t *testing.T) *fakeSlack {
	t.Helper()
	f := &fakeSlack{token: testToken}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeSlack) serve(w http.ResponseWriter, r *http.Request) {
	method, ok := strings.CutPrefix(r.URL.Path, "/api/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	if r.Method == http.MethodPost && !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		http.Error(w, "want a form", http.StatusUnsupportedMediaType)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, request{Method: method, HTTP: r.Method, Auth: r.Header.Get("Authorization"), Form: r.Form})
	f.mu.Unlock()

	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if token == "" {
		token = r.Form.Get("token")
	}
	switch {
	case token == "":
		fmt.Fprint(w, `{"ok":false,"error":"not_authed"}`)
		return
	case token != f.token:
		fmt.Fprint(w, `{"ok":false,"error":"invalid_auth"}`)
		return
	}
	if f.reply != nil && f.reply(w, method, r.Form) {
		return
	}
	switch method {
	case "chat.postMessage":
		if r.Form.Get("channel") == "#nowhere" {
			fmt.Fprint(w, `{"ok":false,"error":"channel_not_found"}`)
			return
		}
		text, _ := json.Marshal(r.Form.Get("text"))
		fmt.Fprintf(w, `{"ok":true,"channel":"C0PLATFORM","ts":"1700000000.000200","message":{"type":"message","text":%s,"ts":"1700000000.000200"}}`, text)
	case "chat.getPermalink":
		fmt.Fprintf(w, `{"ok":true,"channel":%q,"permalink":"https://acme.slack.com/archives/%s/p%s"}`,
			r.Form.Get("channel"), r.Form.Get("channel"), strings.ReplaceAll(r.Form.Get("message_ts"), ".", ""))
	case "conversations.history":
		fmt.Fprint(w, `{"ok":true,"has_more":true,"pin_count":0,"messages":[
			{"type":"message","user":"U0ADA","text":"v5 is out","ts":"1700000000.000300","thread_ts":"1700000000.000300","reply_count":2},
			{"type":"message","bot_id":"B0BOT","text":"build green","ts":"1700000000.000100"}
		],"response_metadata":{"next_cursor":"bmV4dA=="}}`)
	case "users.lookupByEmail":
		if r.Form.Get("email") != "ada@example.com" {
			fmt.Fprint(w, `{"ok":false,"error":"users_not_found"}`)
			return
		}
		fmt.Fprint(w, `{"ok":true,"user":{"id":"U0ADA","team_id":"T0ACME","name":"ada","deleted":false,"real_name":"Ada Lovelace","tz":"Europe/London","is_bot":false,
			"profile":{"real_name":"Ada Lovelace","display_name":"ada","email":"ada@example.com"}}}`)
	default:
		fmt.Fprint(w, `{"ok":false,"error":"unknown_method"}`)
	}
}

func (f *fakeSlack) requests() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]request(nil), f.reqs...)
}

// newRegistry registers the Slack actions against f, with a token source
// that counts its calls.
func newRegistry(t *testing.T, f *fakeSlack, token func(ctx context.Context, team string) (string, error)) (*connectors.Registry, *atomic.Int64) {
	t.Helper()
	var calls atomic.Int64
	if token == nil {
		token = func(_ context.Context, team string) (string, error) {
			if team != "platform" {
				return "", fmt.Errorf("unexpected team %q", team)
			}
			return testToken, nil
		}
	}
	r := connectors.NewRegistry()
	for _, a := range slack.Actions(slack.Config{
		APIURL: f.URL + "/api", // without the trailing slash slack-go needs
		Token: func(ctx context.Context, team string) (string, error) {
			calls.Add(1)
			return token(ctx, team)
		},
	}) {
		r.Register(a)
	}
	return r, &calls
}

func call(r *connectors.Registry, id string, input map[string]any) (connectors.Result, error) {
	return r.Call(context.Background(), id, connectors.Request{RunID: "run-1", Agent: "digest", Team: "platform", StepID: "deliver", Input: input})
}

func TestActions(t *testing.T) {
	f := newFakeSlack(t)
	reg, _ := newRegistry(t, f, nil)
	permalink := "https://acme.slack.com/archives/C0PLATFORM/p1700000000000200"

	tests := []struct {
		name   string
		id     string
		input  map[string]any
		output map[string]any
		ref    string
		// sent lists each request as "<http> <method> k=v …" for the form keys that matter.
		sent []string
	}{
		{
			name:   "post a message",
			id:     "slack.post_message",
			input:  map[string]any{"channel": "#platform", "text": "Two releases need action."},
			output: map[string]any{"channel": "C0PLATFORM", "ts": "1700000000.000200", "permalink": permalink},
			ref:    permalink,
			sent: []string{
				"POST chat.postMessage channel=#platform text=Two releases need action. thread_ts=",
				"GET chat.getPermalink channel=C0PLATFORM message_ts=1700000000.000200",
			},
		},
		{
			name:   "reply in a thread",
			id:     "slack.reply_in_thread",
			input:  map[string]any{"channel": "C0PLATFORM", "thread_ts": "1700000000.000300", "text": "Done."},
			output: map[string]any{"channel": "C0PLATFORM", "ts": "1700000000.000200", "thread_ts": "1700000000.000300", "permalink": permalink},
			ref:    permalink,
			sent: []string{
				"POST chat.postMessage channel=C0PLATFORM text=Done. thread_ts=1700000000.000300",
				"GET chat.getPermalink channel=C0PLATFORM message_ts=1700000000.000200",
			},
		},
		{
			name:  "read a channel's history",
			id:    "slack.channel_history",
			input: map[string]any{"channel": "C0PLATFORM", "limit": 5.0},
			output: map[string]any{"channel": "C0PLATFORM", "has_more": true, "messages": []any{
				map[string]any{"ts": "1700000000.000300", "user": "U0ADA", "bot_id": "", "text": "v5 is out", "thread_ts": "1700000000.000300", "reply_count": 2},
				map[string]any{"ts": "1700000000.000100", "user": "", "bot_id": "B0BOT", "text": "build green", "thread_ts": "", "reply_count": 0},
			}},
			sent: []string{"POST conversations.history channel=C0PLATFORM limit=5"},
		},
		{
			name:   "history without a limit reads 20",
			id:     "slack.channel_history",
			input:  map[string]any{"channel": "C0PLATFORM"},
			output: nil, // same messages as above
			sent:   []string{"POST conversations.history channel=C0PLATFORM limit=20"},
		},
		{
			name:  "look a user up by email",
			id:    "slack.lookup_user_by_email",
			input: map[string]any{"email": "ada@example.com"},
			output: map[string]any{"id": "U0ADA", "name": "ada", "real_name": "Ada Lovelace", "display_name": "ada",
				"tz": "Europe/London", "is_bot": false, "deleted": false},
			sent: []string{"POST users.lookupByEmail email=ada@example.com"},
		},
	}
	keys := map[string][]string{
		"chat.postMessage":      {"channel", "text", "thread_ts"},
		"chat.getPermalink":     {"channel", "message_ts"},
		"conversations.history": {"channel", "limit"},
		"users.lookupByEmail":   {"email"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(f.requests())
			res, err := call(reg, tt.id, tt.input)
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if tt.output != nil && !reflect.DeepEqual(res.Output, tt.output) {
				t.Errorf("got output %#v, want %#v", res.Output, tt.output)
			}
			if res.OutcomeRef != tt.ref {
				t.Errorf("got outcome ref %q, want %q", res.OutcomeRef, tt.ref)
			}
			if err := reg.CheckOutput(tt.id, res.Output); err != nil {
				t.Errorf("output does not match the declared schema: %v", err)
			}
			var sent []string
			for _, r := range f.requests()[before:] {
				if r.Auth != "Bearer "+testToken {
					t.Errorf("%s: got Authorization %q, want the bearer token", r.Method, r.Auth)
				}
				line := r.HTTP + " " + r.Method
				for _, k := range keys[r.Method] {
					line += " " + k + "=" + r.Form.Get(k)
				}
				sent = append(sent, line)
			}
			if !reflect.DeepEqual(sent, tt.sent) {
				t.Errorf("got requests\n  %s\nwant\n  %s", strings.Join(sent, "\n  "), strings.Join(tt.sent, "\n  "))
			}
		})
	}
}

func TestPermalinkUnavailable(t *testing.T) {
	f := newFakeSlack(t)
	f.reply = func(w http.ResponseWriter, method string, _ url.Values) bool {
		if method != "chat.getPermalink" {
			return false
		}
		fmt.Fprint(w, `{"ok":false,"error":"internal_error"}`)
		return true
	}
	reg, _ := newRegistry(t, f, nil)
	res, err := call(reg, "slack.post_message", map[string]any{"channel": "#platform", "text": "hi"})
	if err != nil {
		t.Fatalf("got error %v, want none: the message was posted", err)
	}
	want := map[string]any{"channel": "C0PLATFORM", "ts": "1700000000.000200"}
	if res.OutcomeRef != "slack:C0PLATFORM/1700000000.000200" || !reflect.DeepEqual(res.Output, want) {
		t.Errorf("got %q %v, want slack:C0PLATFORM/1700000000.000200 %v", res.OutcomeRef, res.Output, want)
	}
}

func TestErrors(t *testing.T) {
	post := map[string]any{"channel": "#platform", "text": "hi"}
	respond := func(status int, header, body string) func(http.ResponseWriter, string, url.Values) bool {
		return func(w http.ResponseWriter, method string, _ url.Values) bool {
			if name, value, ok := strings.Cut(header, ": "); ok {
				w.Header().Set(name, value)
			}
			w.WriteHeader(status)
			fmt.Fprint(w, body)
			return true
		}
	}
	tests := []struct {
		name        string
		token       string // the team's token; default testToken, " " for an empty one
		reply       func(http.ResponseWriter, string, url.Values) bool
		id          string
		input       map[string]any
		code        string
		retryable   bool
		rateLimited bool
		retryAfter  time.Duration
		msg         string
	}{
		{name: "wrong token", token: "xoxb-9999-WRONG", id: "slack.post_message", input: post,
			code: connectors.CodeAuth, msg: "slack chat.postMessage: the Slack token was refused: invalid_auth"},
		{name: "empty token", token: " ", id: "slack.channel_history", input: map[string]any{"channel": "C0PLATFORM"},
			code: connectors.CodeAuth, msg: `slack: team "platform" has an empty Slack token`},
		{name: "not authed", reply: respond(200, "", `{"ok":false,"error":"not_authed"}`), id: "slack.post_message", input: post,
			code: connectors.CodeAuth, msg: "slack chat.postMessage: the Slack token was refused: not_authed"},
		{name: "auth failure echoing the token", reply: respond(200, "", `{"ok":false,"error":"invalid_auth","token":"`+testToken+`",
			"response_metadata":{"messages":["[ERROR] token `+testToken+` is not valid","[ERROR] also xoxp-4444-OTHER"]}}`),
			id: "slack.post_message", input: post, code: connectors.CodeAuth,
			msg: "slack chat.postMessage: the Slack token was refused: invalid_auth ([ERROR] token [redacted] is not valid; [ERROR] also [redacted])"},
		{name: "rate limited with Retry-After", reply: respond(429, "Retry-After: 7", `{"ok":false,"error":"ratelimited"}`), id: "slack.post_message", input: post,
			code: connectors.CodeRateLimited, retryable: true, rateLimited: true, retryAfter: 7 * time.Second,
			msg: "slack chat.postMessage: rate limited by Slack, retry after 7s"},
		{name: "rate limited without Retry-After", reply: respond(429, "", `{"ok":false,"error":"ratelimited"}`), id: "slack.channel_history", input: map[string]any{"channel": "C1"},
			code: connectors.CodeRateLimited, retryable: true, rateLimited: true, msg: "slack conversations.history: rate limited by Slack"},
		{name: "rate limited in the body", reply: respond(200, "Retry-After: 3", `{"ok":false,"error":"ratelimited"}`), id: "slack.lookup_user_by_email", input: map[string]any{"email": "ada@example.com"},
			code: connectors.CodeRateLimited, retryable: true, rateLimited: true, retryAfter: 3 * time.Second, msg: "slack users.lookupByEmail: ratelimited"},
		{name: "channel not found", id: "slack.post_message", input: map[string]any{"channel": "#nowhere", "text": "hi"},
			code: connectors.CodeNotFound, msg: "slack chat.postMessage: channel_not_found"},
		{name: "user not found", id: "slack.lookup_user_by_email", input: map[string]any{"email": "grace@example.com"},
			code: connectors.CodeNotFound, msg: "slack users.lookupByEmail: users_not_found"},
		{name: "message too long for slack", reply: respond(200, "", `{"ok":false,"error":"msg_too_long"}`), id: "slack.post_message", input: post,
			code: connectors.CodeInvalidInput, msg: "slack chat.postMessage: msg_too_long"},
		{name: "slack internal error", reply: respond(200, "", `{"ok":false,"error":"internal_error"}`), id: "slack.channel_history", input: map[string]any{"channel": "C1"},
			code: connectors.CodeUpstream, retryable: true, msg: "slack conversations.history: internal_error"},
		{name: "other slack error", reply: respond(200, "", `{"ok":false,"error":"is_archived"}`), id: "slack.post_message", input: post,
			code: connectors.CodeUpstream, msg: "slack chat.postMessage: is_archived"},
		{name: "500 echoing the token", reply: respond(500, "", "upstream broke while handling token="+testToken+" and "+url.QueryEscape(testToken)), id: "slack.post_message", input: post,
			code: connectors.CodeUpstream, retryable: true, msg: "slack chat.postMessage: HTTP 500 Internal Server Error: upstream broke while handling token=[redacted] and [redacted]"},
		{name: "403 page", reply: respond(403, "", "<html>forbidden</html>"), id: "slack.channel_history", input: map[string]any{"channel": "C1"},
			code: connectors.CodeUpstream, msg: "slack conversations.history: HTTP 403 Forbidden: <html>forbidden</html>"},
		{name: "not JSON", reply: respond(200, "", "nope"), id: "slack.channel_history", input: map[string]any{"channel": "C1"},
			code: connectors.CodeUpstream, retryable: true, msg: "slack conversations.history: invalid character 'o' in literal null (expecting 'u')"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeSlack(t)
			f.reply = tt.reply
			token := testToken
			if tt.token != "" {
				token = strings.TrimSpace(tt.token)
			}
			reg, _ := newRegistry(t, f, func(context.Context, string) (string, error) { return token, nil })
			_, err := call(reg, tt.id, tt.input)
			checkError(t, err, tt.code, tt.retryable, tt.rateLimited, tt.retryAfter, tt.msg)
			if err != nil && strings.Contains(err.Error(), "TESTTOKEN") {
				t.Errorf("error %q contains the token", err)
			}
		})
	}
}

func checkError(t *testing.T, err error, code string, retryable, rateLimited bool, retryAfter time.Duration, msg string) {
	t.Helper()
	var ce *connectors.Error
	if !errors.As(err, &ce) {
		t.Fatalf("got %v, want a *connectors.Error", err)
	}
	got := fmt.Sprintf("%s retryable=%v rate_limited=%v retry_after=%s %q", ce.Code, ce.Retryable, ce.RateLimited, ce.RetryAfter, ce.Message)
	want := fmt.Sprintf("%s retryable=%v rate_limited=%v retry_after=%s %q", code, retryable, rateLimited, retryAfter, msg)
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestInvalidInputSendsNothing(t *testing.T) {
	f := newFakeSlack(t)
	reg, tokens := newRegistry(t, f, nil)
	tests := []struct {
		id    string
		input map[string]any
		msg   string
	}{
		{"slack.post_message", map[string]any{"text": "hi"}, "slack.post_message: channel: missing"},
		{"slack.post_message", map[string]any{"channel": "#platform", "text": 42.0}, "slack.post_message: text: expected string, got number"},
		{"slack.post_message", map[string]any{"channel": "#platform", "text": ""}, "slack.post_message: text: must not be empty"},
		{"slack.post_message", map[string]any{"channel": "#platform", "text": strings.Repeat("a", 40001)}, "slack.post_message: text: must be at most 40000 characters"},
		{"slack.post_message", map[string]any{"channel": "#platform", "text": "hi", "as_user": "true"}, "slack.post_message: as_user: unknown parameter"},
		{"slack.reply_in_thread", map[string]any{"channel": "C1", "text": "hi"}, "slack.reply_in_thread: thread_ts: missing"},
		{"slack.reply_in_thread", map[string]any{"channel": "C1", "text": "hi", "thread_ts": "yesterday"}, `slack.reply_in_thread: thread_ts: must match ^[0-9]+\.[0-9]+$`},
		{"slack.channel_history", map[string]any{"channel": "C1", "limit": 0.0}, "slack.channel_history: limit: must be at least 1"},
		{"slack.channel_history", map[string]any{"channel": "C1", "limit": 500.0}, "slack.channel_history: limit: must be at most 200"},
		{"slack.channel_history", map[string]any{"channel": "C1", "limit": "ten"}, "slack.channel_history: limit: expected integer, got string"},
		{"slack.lookup_user_by_email", map[string]any{"email": "ada"}, "slack.lookup_user_by_email: email: must be a valid email"},
		{"slack.lookup_user_by_email", map[string]any{}, "slack.lookup_user_by_email: email: missing"},
	}
	for _, tt := range tests {
		t.Run(tt.msg, func(t *testing.T) {
			_, err := call(reg, tt.id, tt.input)
			checkError(t, err, connectors.CodeInvalidInput, false, false, 0, tt.msg)
		})
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("got %d requests to Slack, want 0", n)
	}
	if n := tokens.Load(); n != 0 {
		t.Errorf("got %d token reads, want 0", n)
	}
}

func TestDryRunWritesSendNothing(t *testing.T) {
	f := newFakeSlack(t)
	reg, tokens := newRegistry(t, f, nil)
	for _, tt := range []struct {
		id    string
		input map[string]any
	}{
		{"slack.post_message", map[string]any{"channel": "#platform", "text": "hi"}},
		{"slack.reply_in_thread", map[string]any{"channel": "C1", "thread_ts": "1.2", "text": "hi"}},
	} {
		t.Run(tt.id, func(t *testing.T) {
			res, err := reg.Call(context.Background(), tt.id, connectors.Request{Team: "platform", Input: tt.input, DryRun: true})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(res.Output, map[string]any{"dry_run": true}) || res.OutcomeRef != "" {
				t.Errorf("got %v %q, want {dry_run: true} and no outcome", res.Output, res.OutcomeRef)
			}
		})
	}
	if len(f.requests()) != 0 || tokens.Load() != 0 {
		t.Errorf("got %d requests and %d token reads, want none", len(f.requests()), tokens.Load())
	}
	// Reads are harmless and run in dry runs too.
	if _, err := reg.Call(context.Background(), "slack.channel_history", connectors.Request{Team: "platform", Input: map[string]any{"channel": "C1"}, DryRun: true}); err != nil {
		t.Errorf("dry-run read: got %v, want none", err)
	}
}

func TestTokenSource(t *testing.T) {
	f := newFakeSlack(t)
	tests := []struct {
		name  string
		team  string
		token func(context.Context, string) (string, error)
		check func(t *testing.T, err error)
	}{
		{"no secret", "platform", func(context.Context, string) (string, error) {
			return "", connectors.Errorf(connectors.CodeAuth, `team "platform" has no secret "slack-token"`)
		}, func(t *testing.T, err error) {
			checkError(t, err, connectors.CodeAuth, false, false, 0, `team "platform" has no secret "slack-token"`)
		}},
		{"store down", "platform", func(context.Context, string) (string, error) {
			return "", errors.New("database is locked")
		}, func(t *testing.T, err error) {
			var ce *connectors.Error
			if errors.As(err, &ce) || err == nil || err.Error() != `slack: token of team "platform": database is locked` {
				t.Errorf("got %v, want a plain error the workflow may retry", err)
			}
		}},
		{"run without a team", "", nil, func(t *testing.T, err error) {
			checkError(t, err, connectors.CodeInvalidInput, false, false, 0, "slack: the run has no team")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg, _ := newRegistry(t, f, tt.token)
			_, err := reg.Call(context.Background(), "slack.post_message", connectors.Request{Team: tt.team, Input: map[string]any{"channel": "#p", "text": "hi"}})
			tt.check(t, err)
		})
	}
	if len(f.requests()) != 0 {
		t.Errorf("got %d requests, want none", len(f.requests()))
	}
}

func TestNetworkFailureIsRetryable(t *testing.T) {
	f := newFakeSlack(t)
	reg, _ := newRegistry(t, f, nil)
	f.Close()
	_, err := call(reg, "slack.channel_history", map[string]any{"channel": "C1"})
	var ce *connectors.Error
	if !errors.As(err, &ce) || ce.Code != connectors.CodeUpstream || !ce.Retryable || ce.RateLimited ||
		!strings.HasPrefix(ce.Message, "slack conversations.history: dial tcp ") || strings.Contains(ce.Message, "/api/") {
		t.Errorf("got %v, want a retryable upstream error naming the cause, not the URL", err)
	}
}
