// Package slack provides the Slack actions over the Slack Web API, through
// slack-go: post a message, reply in a thread, read a channel's recent
// history and look a user up by email.
//
// Each call fetches the token of the run's team through Config.Token, so a
// team's agents act with the team's own Slack app and nothing else. The
// token never leaves the call: it is sent only to Config.APIURL, and scrubbed
// from anything Slack says before that text can reach an error, the ledger
// or the workflow history.
package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/telos-dev/telos/connectors"
)

// Config configures the Slack actions.
type Config struct {
	// APIURL is the Web API's base URL. Default https://slack.com/api/.
	APIURL string
	// Token returns the Slack token (xoxb-…) of a team. An error that is a
	// *connectors.Error is passed on as it is.
	Token func(ctx context.Context, team string) (string, error)
	// HTTPClient sends the requests. Default: a client with a 30 s timeout.
	HTTPClient *http.Client
}

const (
	defaultAPIURL   = "https://slack.com/api/"
	defaultTimeout  = 30 * time.Second
	maxErrorExcerpt = 256
	// maxText is where Slack truncates a message's text.
	maxText = 40000
)

// Actions returns the four Slack actions over one shared configuration.
func Actions(cfg Config) []connectors.Action {
	c := &conn{cfg: cfg, apiURL: cfg.APIURL, http: cfg.HTTPClient}
	if c.apiURL == "" {
		c.apiURL = defaultAPIURL
	}
	if !strings.HasSuffix(c.apiURL, "/") {
		c.apiURL += "/" // slack-go appends method names
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: defaultTimeout}
	}
	return []connectors.Action{
		{
			ID:          "slack.post_message",
			Class:       connectors.Write,
			Description: "Post a message to a Slack channel.",
			InputSchema: json.RawMessage(`{
				"type": "object",
				"properties": {
					"channel": {"type": "string", "minLength": 1, "maxLength": 80, "description": "Channel ID (C0123ABCD) or name (#platform)."},
					"text": {"type": "string", "minLength": 1, "maxLength": ` + strconv.Itoa(maxText) + `, "description": "The message, in Slack mrkdwn."}
				},
				"required": ["channel", "text"],
				"additionalProperties": false
			}`),
			OutputSchema: postedSchema,
			Destination:  "channel",
			Do:           c.postMessage,
		},
		{
			ID:          "slack.reply_in_thread",
			Class:       connectors.Write,
			Description: "Reply in the thread of a Slack message.",
			InputSchema: json.RawMessage(`{
				"type": "object",
				"properties": {
					"channel": {"type": "string", "minLength": 1, "maxLength": 80, "description": "Channel ID or name of the thread."},
					"thread_ts": {"type": "string", "pattern": "^[0-9]+\\.[0-9]+$", "description": "The ts of the message that starts the thread."},
					"text": {"type": "string", "minLength": 1, "maxLength": ` + strconv.Itoa(maxText) + `, "description": "The reply, in Slack mrkdwn."}
				},
				"required": ["channel", "thread_ts", "text"],
				"additionalProperties": false
			}`),
			OutputSchema: postedSchema,
			Destination:  "channel",
			Do:           c.replyInThread,
		},
		{
			ID:          "slack.channel_history",
			Class:       connectors.Read,
			Description: "Read the most recent messages of a Slack channel, newest first.",
			InputSchema: json.RawMessage(`{
				"type": "object",
				"properties": {
					"channel": {"type": "string", "minLength": 1, "maxLength": 80, "description": "Channel ID (C0123ABCD)."},
					"limit": {"type": "integer", "minimum": 1, "maximum": 200, "description": "How many messages, default 20."}
				},
				"required": ["channel"],
				"additionalProperties": false
			}`),
			OutputSchema: json.RawMessage(`{
				"type": "object",
				"properties": {
					"channel": {"type": "string"},
					"has_more": {"type": "boolean"},
					"messages": {"type": "array", "items": {
						"type": "object",
						"properties": {
							"ts": {"type": "string"}, "user": {"type": "string"}, "bot_id": {"type": "string"},
							"text": {"type": "string"}, "thread_ts": {"type": "string"}, "reply_count": {"type": "integer"}
						},
						"required": ["ts", "user", "bot_id", "text", "thread_ts", "reply_count"]
					}}
				},
				"required": ["channel", "has_more", "messages"]
			}`),
			Destination: "channel",
			Do:          c.channelHistory,
		},
		{
			ID:          "slack.lookup_user_by_email",
			Class:       connectors.Read,
			Description: "Find the Slack user with an email address.",
			InputSchema: json.RawMessage(`{
				"type": "object",
				"properties": {
					"email": {"type": "string", "format": "email", "maxLength": 254, "description": "The user's email address."}
				},
				"required": ["email"],
				"additionalProperties": false
			}`),
			OutputSchema: json.RawMessage(`{
				"type": "object",
				"properties": {
					"id": {"type": "string"}, "name": {"type": "string"}, "real_name": {"type": "string"},
					"display_name": {"type": "string"}, "tz": {"type": "string"}, "is_bot": {"type": "boolean"}, "deleted": {"type": "boolean"}
				},
				"required": ["id", "name", "real_name", "display_name", "tz", "is_bot", "deleted"]
			}`),
			Destination: "email",
			Do:          c.lookupUserByEmail,
		},
	}
}

// postedSchema is the output of the write actions: where the message went,
// or, in a dry run, only that nothing was sent.
var postedSchema = json.RawMessage(`{
	"type": "object",
	"properties": {
		"channel": {"type": "string"}, "ts": {"type": "string"}, "thread_ts": {"type": "string"},
		"permalink": {"type": "string"}, "dry_run": {"type": "boolean"}
	}
}`)

type conn struct {
	cfg    Config
	apiURL string
	http   *http.Client
}

func (c *conn) postMessage(ctx context.Context, req connectors.Request) (connectors.Result, error) {
	return c.post(ctx, req, "")
}

func (c *conn) replyInThread(ctx context.Context, req connectors.Request) (connectors.Result, error) {
	threadTS, _ := req.Input["thread_ts"].(string)
	return c.post(ctx, req, threadTS)
}

// post sends chat.postMessage and asks for the message's permalink, the
// evidence the ledger keeps. A message that was posted but has no permalink
// is still a success, referenced as slack:<channel>/<ts>.
func (c *conn) post(ctx context.Context, req connectors.Request, threadTS string) (connectors.Result, error) {
	if req.DryRun {
		return connectors.Result{Output: map[string]any{"dry_run": true}}, nil
	}
	channel, _ := req.Input["channel"].(string)
	text, _ := req.Input["text"].(string)
	call, err := c.open(ctx, req)
	if err != nil {
		return connectors.Result{}, err
	}
	opts := []slackapi.MsgOption{slackapi.MsgOptionText(text, false)}
	if threadTS != "" {
		opts = append(opts, slackapi.MsgOptionTS(threadTS))
	}
	postedIn, ts, err := call.api.PostMessageContext(ctx, channel, opts...)
	if err != nil {
		return connectors.Result{}, call.fail(ctx, "chat.postMessage", err)
	}
	if postedIn == "" {
		postedIn = channel
	}
	out := map[string]any{"channel": postedIn, "ts": ts}
	if threadTS != "" {
		out["thread_ts"] = threadTS
	}
	ref := "slack:" + postedIn + "/" + ts
	if link, err := call.api.GetPermalinkContext(ctx, &slackapi.PermalinkParameters{Channel: postedIn, Ts: ts}); err == nil && link != "" {
		out["permalink"], ref = link, link
	}
	return connectors.Result{Output: out, OutcomeRef: ref}, nil
}

// defaultHistory is how many messages channel_history reads without a limit.
const defaultHistory = 20

func (c *conn) channelHistory(ctx context.Context, req connectors.Request) (connectors.Result, error) {
	channel, _ := req.Input["channel"].(string)
	limit := defaultHistory
	if n, ok := intParam(req.Input["limit"]); ok {
		limit = n
	}
	call, err := c.open(ctx, req)
	if err != nil {
		return connectors.Result{}, err
	}
	resp, err := call.api.GetConversationHistoryContext(ctx, &slackapi.GetConversationHistoryParameters{ChannelID: channel, Limit: limit})
	if err != nil {
		return connectors.Result{}, call.fail(ctx, "conversations.history", err)
	}
	msgs := make([]any, 0, len(resp.Messages))
	for _, m := range resp.Messages {
		msgs = append(msgs, map[string]any{
			"ts": m.Timestamp, "user": m.User, "bot_id": m.BotID, "text": m.Text,
			"thread_ts": m.ThreadTimestamp, "reply_count": m.ReplyCount,
		})
	}
	return connectors.Result{Output: map[string]any{"channel": channel, "has_more": resp.HasMore, "messages": msgs}}, nil
}

func (c *conn) lookupUserByEmail(ctx context.Context, req connectors.Request) (connectors.Result, error) {
	email, _ := req.Input["email"].(string)
	call, err := c.open(ctx, req)
	if err != nil {
		return connectors.Result{}, err
	}
	u, err := call.api.GetUserByEmailContext(ctx, email)
	if err != nil {
		return connectors.Result{}, call.fail(ctx, "users.lookupByEmail", err)
	}
	return connectors.Result{Output: map[string]any{
		"id": u.ID, "name": u.Name, "real_name": u.RealName, "display_name": u.Profile.DisplayName,
		"tz": u.TZ, "is_bot": u.IsBot, "deleted": u.Deleted,
	}}, nil
}

// intParam reads an integer parameter the schema has checked: JSON numbers
// arrive as float64, or as int from Go callers.
func intParam(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		return int(n), true
	case float64:
		return int(n), true
	case json.Number:
		i, err := n.Int64()
		return int(i), err == nil
	}
	return 0, false
}

// call is one action's session with Slack: the team's token and a client
// that sends it.
type call struct {
	api   *slackapi.Client
	token string
	last  *recorder
}

// open fetches the team's token and builds a client for one call.
func (c *conn) open(ctx context.Context, req connectors.Request) (*call, error) {
	if req.Team == "" {
		return nil, connectors.Errorf(connectors.CodeInvalidInput, "slack: the run has no team")
	}
	if c.cfg.Token == nil {
		return nil, connectors.Errorf(connectors.CodeAuth, "slack: no token source is configured")
	}
	token, err := c.cfg.Token(ctx, req.Team)
	if err != nil {
		var ce *connectors.Error
		if errors.As(err, &ce) {
			return nil, &connectors.Error{Code: ce.Code, Retryable: ce.Retryable, Message: scrub(token, ce.Message), RetryAfter: ce.RetryAfter, RateLimited: ce.RateLimited}
		}
		return nil, fmt.Errorf("slack: token of team %q: %w", req.Team, err)
	}
	if token == "" {
		return nil, connectors.Errorf(connectors.CodeAuth, "slack: team %q has an empty Slack token", req.Team)
	}
	rec := &recorder{http: c.http, token: token}
	api := slackapi.New(token, slackapi.OptionAPIURL(c.apiURL), slackapi.OptionHTTPClient(rec))
	return &call{api: api, token: token, last: rec}, nil
}

// recorder sends the token as a bearer header on every request (slack-go
// sends it in the form body for some methods, as Slack also accepts), and
// keeps the status, Retry-After and the start of the body of the last
// response that was not 200, which slack-go does not report.
type recorder struct {
	http       *http.Client
	token      string
	status     int
	retryAfter string
	excerpt    string
}

func (r *recorder) Do(req *http.Request) (*http.Response, error) {
	r.status, r.retryAfter, r.excerpt = 0, "", ""
	req.Header.Set("Authorization", "Bearer "+r.token)
	resp, err := r.http.Do(req)
	if err != nil {
		return nil, err
	}
	r.status, r.retryAfter = resp.StatusCode, resp.Header.Get("Retry-After")
	if resp.StatusCode != http.StatusOK {
		head, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorExcerpt))
		r.excerpt = strings.TrimSpace(strings.ToValidUTF8(string(head), ""))
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(head), resp.Body), resp.Body}
	}
	return resp, nil
}

// Slack error codes by what they mean for the run.
var (
	authErrors = map[string]bool{
		"invalid_auth": true, "not_authed": true, "account_inactive": true, "token_revoked": true,
		"token_expired": true, "no_permission": true, "missing_scope": true, "not_allowed_token_type": true,
		"ekm_access_denied": true, "team_access_not_granted": true,
	}
	notFoundErrors = map[string]bool{
		"channel_not_found": true, "users_not_found": true, "user_not_found": true,
		"thread_not_found": true, "message_not_found": true,
	}
	inputErrors = map[string]bool{
		"msg_too_long": true, "no_text": true, "invalid_arguments": true, "invalid_limit": true,
		"invalid_ts_latest": true, "invalid_ts_oldest": true, "invalid_thread_ts": true, "invalid_email": true,
	}
	transientErrors = map[string]bool{
		"internal_error": true, "fatal_error": true, "service_unavailable": true, "request_timeout": true,
	}
)

// fail turns a slack-go error into a *connectors.Error whose message holds
// nothing of the token, whatever Slack echoed back.
func (c *call) fail(ctx context.Context, method string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		// The activity was cancelled or ran out of time; not Slack's doing.
		return fmt.Errorf("slack %s: %w", method, ctxErr)
	}
	e := &connectors.Error{Code: connectors.CodeUpstream}
	msg := ""
	var rl *slackapi.RateLimitedError
	var se slackapi.SlackErrorResponse
	var sc slackapi.StatusCodeError
	switch {
	case errors.As(err, &rl), c.last.status == http.StatusTooManyRequests:
		e.Code, e.Retryable, e.RateLimited = connectors.CodeRateLimited, true, true
		e.RetryAfter = c.last.retryAfterDuration()
		if rl != nil {
			e.RetryAfter = rl.RetryAfter
		}
		msg = "rate limited by Slack"
		if e.RetryAfter > 0 {
			msg += fmt.Sprintf(", retry after %s", e.RetryAfter)
		}
	case errors.As(err, &se):
		msg = se.Err
		if details := strings.Join(se.ResponseMetadata.Messages, "; "); details != "" {
			msg += " (" + details + ")"
		}
		switch {
		case authErrors[se.Err]:
			e.Code, msg = connectors.CodeAuth, "the Slack token was refused: "+msg
		case se.Err == "ratelimited":
			e.Code, e.Retryable, e.RateLimited = connectors.CodeRateLimited, true, true
			e.RetryAfter = c.last.retryAfterDuration()
		case notFoundErrors[se.Err]:
			e.Code = connectors.CodeNotFound
		case inputErrors[se.Err]:
			e.Code = connectors.CodeInvalidInput
		case transientErrors[se.Err]:
			e.Retryable = true
		}
	case errors.As(err, &sc):
		e.Retryable = sc.Code >= 500
		msg = "HTTP " + sc.Status
		if c.last.excerpt != "" {
			msg += ": " + c.last.excerpt
		}
	default:
		// The network, or a response that is not the Web API's JSON.
		e.Retryable = true
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // url.Error repeats the URL
		}
		msg = err.Error()
	}
	e.Message = scrub(c.token, "slack "+method+": "+msg)
	return e
}

func (r *recorder) retryAfterDuration() time.Duration {
	if secs, err := strconv.Atoi(strings.TrimSpace(r.retryAfter)); err == nil && secs > 0 {
		return time.Duration(secs) * time.Second
	}
	return 0
}

// tokenPattern matches Slack tokens of every kind (bot, user, app,
// configuration, refresh), including ones that are not this call's.
var tokenPattern = regexp.MustCompile(`x(?:ox[a-z]|app|oxe\.xox[a-z])-[A-Za-z0-9.-]+`)

// scrub removes the token, in the forms an upstream might echo it, and
// anything shaped like a Slack token from s.
func scrub(token, s string) string {
	return tokenPattern.ReplaceAllString(connectors.Redact(s, token), "[redacted]")
}
