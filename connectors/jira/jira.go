// Package jira provides the jira.* actions over the Jira Cloud REST API v3:
// search issues with JQL, read one, create an issue, comment on one and move
// it through its workflow.
//
// It speaks the REST API with net/http: there is no well-kept Go client for
// Jira Cloud v3, and the five calls need little. Descriptions and comments
// travel as Atlassian Document Format (ADF); agents read and write plain
// text, and adf.go translates.
//
// Every call authenticates as the team that owns the run, with the API token
// fetched through Config.Token when the call is made, so no credential sits
// in a spec. Inputs are checked before the token is fetched or any request is
// sent, and no error message ever contains the token, even if Jira echoes it.
package jira

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/telos-dev/telos/connectors"
)

// Config configures the Jira actions.
type Config struct {
	// BaseURL is the Jira site, e.g. https://acme.atlassian.net. Required.
	BaseURL string
	// Email is the Atlassian account the API token belongs to. When set,
	// calls use basic auth (email and API token), as Jira Cloud API tokens
	// require; when empty, the token is sent as a bearer token (OAuth 2.0
	// access tokens, or personal access tokens on Data Center).
	Email string
	// Token returns the API token of the team that owns the run. It is
	// called once per action call.
	Token func(ctx context.Context, team string) (string, error)
	// HTTPClient sends the requests. Default: a client with a 30-second timeout.
	HTTPClient *http.Client
}

const (
	defaultTimeout = 30 * time.Second
	userAgent      = "Telos"

	defaultMaxResults = 50 // Jira's own default page
	defaultIssueType  = "Task"
	// maxResponse bounds what is read of a response: search pages of 100
	// issues with five fields are far smaller.
	maxResponse = 8 << 20
	// maxExcerpt bounds how much of a non-JSON error body reaches a message.
	maxExcerpt = 200
)

// searchFields are the fields a search asks Jira for: enough to triage, small
// enough for a model's context. jira.get_issue reads the rest.
var searchFields = []string{"summary", "status", "assignee", "priority", "labels"}

// issueFields are the fields jira.get_issue asks for.
var issueFields = append(append([]string(nil), searchFields...), "description", "issuetype", "project", "reporter", "created", "updated")

var (
	issueKey   = regexp.MustCompile(`^[A-Z][A-Z0-9_]+-[0-9]+$`)
	projectKey = regexp.MustCompile(`^[A-Z][A-Z0-9_]+$`)
)

// Schemas of the values the actions share. Jira limits text fields to 32,767
// characters and summaries to 255; saying so before the request gives the
// agent a clearer message than Jira's 400.
const (
	keySchema     = `{"type": "string", "pattern": "^[A-Z][A-Z0-9_]+-[0-9]+$", "description": "The issue key, e.g. ABC-123."}`
	textSchema    = `{"type": "string", "minLength": 1, "maxLength": 32767, "description": "Plain text; blank lines separate paragraphs."}`
	summarySchema = `{
		"type": "object",
		"properties": {
			"key": {"type": "string"},
			"summary": {"type": "string"},
			"status": {"type": "string"},
			"assignee": {"type": "string"},
			"priority": {"type": "string"},
			"labels": {"type": "array", "items": {"type": "string"}},
			"url": {"type": "string"},
			"description": {"type": "string"},
			"issue_type": {"type": "string"},
			"project": {"type": "string"},
			"reporter": {"type": "string"},
			"created": {"type": "string"},
			"updated": {"type": "string"}
		},
		"required": ["key", "summary", "status", "assignee", "priority", "labels", "url"]
	}`
	// Write outputs are either what was done or, in a dry run, where it would have gone.
	dryRunProperties = `"dry_run": {"type": "boolean"}, "would_write_to": {"type": "string"}`
)

// Actions returns the jira.* actions over one shared configuration.
func Actions(cfg Config) []connectors.Action {
	c := newConnector(cfg)
	return []connectors.Action{
		{
			ID:          "jira.search",
			Class:       connectors.Read,
			Description: "Search Jira issues with JQL (e.g. \"project = OPS AND status = 'To Do' ORDER BY created DESC\"). Returns key, summary, status, assignee, priority, labels and URL of each; use jira.get_issue for the description.",
			InputSchema: json.RawMessage(`{
				"type": "object",
				"properties": {
					"jql": {"type": "string", "minLength": 1, "maxLength": 8192, "description": "A JQL query."},
					"max_results": {"type": ["integer", "string"], "minimum": 1, "maximum": 100, "pattern": "^([1-9][0-9]?|100)$", "description": "The most issues to return, 1 to 100; default 50."}
				},
				"required": ["jql"],
				"additionalProperties": false
			}`),
			OutputSchema: json.RawMessage(`{
				"type": "object",
				"properties": {
					"count": {"type": "integer"},
					"has_more": {"type": "boolean"},
					"issues": {"type": "array", "items": ` + summarySchema + `}
				},
				"required": ["count", "has_more", "issues"]
			}`),
			Destination: "jql",
			Do:          c.search,
		},
		{
			ID:          "jira.get_issue",
			Class:       connectors.Read,
			Description: "Get one Jira issue by key, with its description as plain text.",
			InputSchema: json.RawMessage(`{
				"type": "object",
				"properties": {"key": ` + keySchema + `},
				"required": ["key"],
				"additionalProperties": false
			}`),
			OutputSchema: json.RawMessage(summarySchema),
			Destination:  "key",
			Do:           c.getIssue,
		},
		{
			ID:          "jira.create_issue",
			Class:       connectors.Write,
			Description: "Create an issue in a Jira project. Returns its key and URL.",
			InputSchema: json.RawMessage(`{
				"type": "object",
				"properties": {
					"project": {"type": "string", "pattern": "^[A-Z][A-Z0-9_]+$", "description": "The project key, e.g. OPS."},
					"issue_type": {"type": "string", "minLength": 1, "maxLength": 255, "description": "The issue type's name; default Task."},
					"summary": {"type": "string", "minLength": 1, "maxLength": 255, "description": "The issue's one-line summary."},
					"description": ` + textSchema + `
				},
				"required": ["project", "summary"],
				"additionalProperties": false
			}`),
			OutputSchema: json.RawMessage(`{
				"type": "object",
				"properties": {
					"id": {"type": "string"},
					"key": {"type": "string"},
					"url": {"type": "string"},
					"project": {"type": "string"},
					` + dryRunProperties + `
				}
			}`),
			Destination: "project",
			Do:          c.createIssue,
		},
		{
			ID:          "jira.comment",
			Class:       connectors.Write,
			Description: "Comment on a Jira issue. Returns the comment's URL.",
			InputSchema: json.RawMessage(`{
				"type": "object",
				"properties": {
					"key": ` + keySchema + `,
					"body": ` + textSchema + `
				},
				"required": ["key", "body"],
				"additionalProperties": false
			}`),
			OutputSchema: json.RawMessage(`{
				"type": "object",
				"properties": {
					"id": {"type": "string"},
					"key": {"type": "string"},
					"url": {"type": "string"},
					` + dryRunProperties + `
				}
			}`),
			Destination: "key",
			Do:          c.comment,
		},
		{
			ID:          "jira.transition",
			Class:       connectors.Write,
			Description: "Move a Jira issue through its workflow, by the transition's name (e.g. \"Done\") or id. An unknown transition fails with the names the issue offers.",
			InputSchema: json.RawMessage(`{
				"type": "object",
				"properties": {
					"key": ` + keySchema + `,
					"transition": {"type": "string", "minLength": 1, "maxLength": 255, "description": "The transition's name or id."}
				},
				"required": ["key", "transition"],
				"additionalProperties": false
			}`),
			OutputSchema: json.RawMessage(`{
				"type": "object",
				"properties": {
					"key": {"type": "string"},
					"transition": {"type": "string"},
					"transition_id": {"type": "string"},
					"status": {"type": "string"},
					"url": {"type": "string"},
					` + dryRunProperties + `
				}
			}`),
			Destination: "key",
			Do:          c.transition,
		},
	}
}

type connector struct {
	site  string // the base URL without a trailing slash
	email string
	token func(ctx context.Context, team string) (string, error)
	http  *http.Client
	// err is a configuration problem, reported by every call so that a bad
	// setting shows up in the run that meets it rather than crashing the worker.
	err error
}

func newConnector(cfg Config) *connector {
	c := &connector{email: cfg.Email, token: cfg.Token, http: cfg.HTTPClient}
	if c.http == nil {
		c.http = &http.Client{Timeout: defaultTimeout}
	}
	u, err := url.Parse(cfg.BaseURL)
	switch {
	case cfg.BaseURL == "":
		c.err = errors.New("jira: no site URL configured")
	case err != nil:
		c.err = fmt.Errorf("jira: site URL %q does not parse: %w", cfg.BaseURL, err)
	case u.Scheme != "https" && u.Scheme != "http", u.Host == "", u.User != nil, u.RawQuery != "":
		c.err = fmt.Errorf("jira: site URL %q is not an http(s) URL of a site", cfg.BaseURL)
	default:
		c.site = strings.TrimSuffix(u.String(), "/")
	}
	if c.token == nil && c.err == nil {
		c.err = errors.New("jira: no token source configured")
	}
	return c
}

// credential is how one call authenticates, and the strings that must never
// appear in what it reports.
type credential struct {
	authorization string
	secrets       []string
}

func (c *connector) credential(ctx context.Context, action, team string) (credential, error) {
	if c.err != nil {
		return credential{}, fmt.Errorf("%s: %w", action, c.err)
	}
	token, err := c.token(ctx, team)
	if err != nil {
		return credential{}, fmt.Errorf("%s: jira token for team %q: %w", action, team, err)
	}
	if token == "" {
		return credential{}, fmt.Errorf("%s: team %q has no Jira token configured", action, team)
	}
	if c.email == "" {
		return credential{authorization: "Bearer " + token, secrets: []string{token}}, nil
	}
	basic := base64.StdEncoding.EncodeToString([]byte(c.email + ":" + token))
	return credential{authorization: "Basic " + basic, secrets: []string{token, basic}}, nil
}

// scrub removes every form of the credential from s that an echo might carry.
func (cr credential) scrub(s string) string {
	return connectors.Redact(s, cr.secrets...)
}

// send makes one request to the REST API and decodes a successful response
// into out, if out is not nil.
func (c *connector) send(ctx context.Context, action string, cred credential, method, path string, body, out any) error {
	var reader io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("%s: encode request: %w", action, err)
		}
		reader = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.site+path, reader)
	if err != nil {
		return fmt.Errorf("%s: %s", action, cred.scrub(err.Error()))
	}
	req.Header.Set("Authorization", cred.authorization)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			// The activity was cancelled or timed out; that is not Jira's doing.
			return fmt.Errorf("%s: %w", action, ctxErr)
		}
		// No response: the request may or may not have reached Jira.
		return &connectors.Error{Code: connectors.CodeUpstream, Retryable: true, Message: action + ": " + cred.scrub("request failed: "+err.Error())}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("%s: %w", action, ctxErr)
		}
		return &connectors.Error{Code: connectors.CodeUpstream, Retryable: true, Message: action + ": " + cred.scrub("read response: "+err.Error())}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return statusError(action, cred, resp, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return &connectors.Error{Code: connectors.CodeUpstream, Message: action + ": " + cred.scrub(fmt.Sprintf("Jira answered %d with a body that is not the expected JSON: %v", resp.StatusCode, err))}
		}
	}
	return nil
}

// statusError turns a failed response into an *Error the workflow can act
// on. Every message passes through scrub, so the token never leaves this
// package. A 5xx is retryable but not RateLimited: Jira may have acted, so
// the workflow retries reads and does not resend writes.
func statusError(action string, cred credential, resp *http.Response, body []byte) error {
	status := resp.StatusCode
	detail := strconv.Itoa(status) + " " + errorText(resp, body)
	msg := func(format string) string { return action + ": " + cred.scrub(fmt.Sprintf(format, detail)) }
	switch {
	case status == http.StatusTooManyRequests:
		return &connectors.Error{
			Code: connectors.CodeRateLimited, Retryable: true, RateLimited: true, RetryAfter: retryAfter(resp),
			Message: msg("Jira rate limit (%s)"),
		}
	case status == http.StatusUnauthorized:
		return &connectors.Error{Code: connectors.CodeAuth, Message: msg("Jira rejected the team's credentials (%s); check the secret that holds the API token")}
	case status == http.StatusForbidden:
		return &connectors.Error{Code: connectors.CodeAuth, Message: msg("Jira refused access (%s); the team's account may lack permission for this project")}
	case status == http.StatusNotFound:
		return &connectors.Error{Code: connectors.CodeNotFound, Message: msg("not found on Jira, or not visible to the team's account (%s)")}
	case status == http.StatusBadRequest:
		return &connectors.Error{Code: connectors.CodeInvalidInput, Message: msg("Jira refused the request (%s)")}
	case status >= 500:
		return &connectors.Error{Code: connectors.CodeUpstream, Retryable: true, RetryAfter: retryAfter(resp), Message: msg("Jira failed (%s)")}
	}
	return &connectors.Error{Code: connectors.CodeUpstream, Message: msg("Jira returned %s")}
}

// errorText is what Jira said about a failure: its errorMessages and its
// per-field errors, sorted by field, or a short excerpt of a body that is
// not Jira's error JSON (gateways answer 401 and 429 in plain text).
func errorText(resp *http.Response, body []byte) string {
	var e struct {
		ErrorMessages []string       `json:"errorMessages"`
		Errors        map[string]any `json:"errors"`
		Message       string         `json:"message"`
	}
	var parts []string
	if json.Unmarshal(body, &e) == nil {
		parts = append(parts, e.ErrorMessages...)
		fields := make([]string, 0, len(e.Errors))
		for f := range e.Errors {
			fields = append(fields, f)
		}
		sort.Strings(fields)
		for _, f := range fields {
			parts = append(parts, fmt.Sprintf("%s: %v", f, e.Errors[f]))
		}
		if e.Message != "" {
			parts = append(parts, e.Message)
		}
	} else if !strings.Contains(resp.Header.Get("Content-Type"), "html") {
		text := strings.Join(strings.Fields(string(body)), " ")
		if r := []rune(text); len(r) > maxExcerpt {
			text = string(r[:maxExcerpt]) + "…"
		}
		if text != "" {
			parts = append(parts, text)
		}
	}
	if len(parts) == 0 {
		return http.StatusText(resp.StatusCode)
	}
	return strings.Join(parts, "; ")
}

// retryAfter is the wait Jira asked for: Retry-After in seconds or as a
// date, else X-RateLimit-Reset, both measured against Jira's own clock (the
// Date header) so that a skewed local clock does not matter. Zero leaves the
// wait to the activity's retry policy.
func retryAfter(resp *http.Response) time.Duration {
	now := time.Now()
	if t, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
		now = t
	}
	if ra := strings.TrimSpace(resp.Header.Get("Retry-After")); ra != "" {
		if secs, err := strconv.Atoi(ra); err == nil && secs >= 0 {
			return time.Duration(secs) * time.Second
		}
		if t, err := http.ParseTime(ra); err == nil {
			return max(t.Sub(now), 0)
		}
	}
	if t, err := time.Parse(time.RFC3339, resp.Header.Get("X-RateLimit-Reset")); err == nil {
		return max(t.Sub(now), 0)
	}
	return 0
}

// issue is Jira's JSON for an issue, with the fields the actions read.
type issue struct {
	ID     string `json:"id"`
	Key    string `json:"key"`
	Fields struct {
		Summary     string   `json:"summary"`
		Status      *named   `json:"status"`
		Assignee    *user    `json:"assignee"`
		Reporter    *user    `json:"reporter"`
		Priority    *named   `json:"priority"`
		Labels      []string `json:"labels"`
		IssueType   *named   `json:"issuetype"`
		Project     *project `json:"project"`
		Description *adfNode `json:"description"`
		Created     string   `json:"created"`
		Updated     string   `json:"updated"`
	} `json:"fields"`
}

type named struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type project struct {
	Key string `json:"key"`
}

type user struct {
	DisplayName string `json:"displayName"`
}

func (n *named) name() string {
	if n == nil {
		return ""
	}
	return n.Name
}

func (u *user) name() string {
	if u == nil {
		return ""
	}
	return u.DisplayName
}

func (c *connector) browse(key string) string {
	return c.site + "/browse/" + url.PathEscape(key)
}

// summary is what a search shows of an issue.
func (c *connector) summary(i issue) map[string]any {
	labels := make([]any, 0, len(i.Fields.Labels))
	for _, l := range i.Fields.Labels {
		labels = append(labels, l)
	}
	return map[string]any{
		"key":      i.Key,
		"summary":  i.Fields.Summary,
		"status":   i.Fields.Status.name(),
		"assignee": i.Fields.Assignee.name(),
		"priority": i.Fields.Priority.name(),
		"labels":   labels,
		"url":      c.browse(i.Key),
	}
}

func (c *connector) search(ctx context.Context, req connectors.Request) (connectors.Result, error) {
	const action = "jira.search"
	jql, _ := req.Input["jql"].(string)
	jql = strings.TrimSpace(jql)
	if jql == "" {
		return connectors.Result{}, connectors.Errorf(connectors.CodeInvalidInput, "%s: jql is empty", action)
	}
	limit, err := maxResultsParam(action, req.Input["max_results"])
	if err != nil {
		return connectors.Result{}, err
	}
	cred, err := c.credential(ctx, action, req.Team)
	if err != nil {
		return connectors.Result{}, err
	}
	var page struct {
		Issues        []issue `json:"issues"`
		IsLast        *bool   `json:"isLast"`
		NextPageToken string  `json:"nextPageToken"`
	}
	body := map[string]any{"jql": jql, "maxResults": limit, "fields": searchFields}
	if err := c.send(ctx, action, cred, http.MethodPost, "/rest/api/3/search/jql", body, &page); err != nil {
		return connectors.Result{}, err
	}
	issues := make([]any, 0, min(len(page.Issues), limit))
	for _, i := range page.Issues {
		if len(issues) == limit {
			break
		}
		issues = append(issues, c.summary(i))
	}
	more := page.NextPageToken != ""
	if page.IsLast != nil {
		more = !*page.IsLast
	}
	return connectors.Result{Output: map[string]any{
		"count":    len(issues),
		"has_more": more || len(page.Issues) > limit,
		"issues":   issues,
	}}, nil
}

func (c *connector) getIssue(ctx context.Context, req connectors.Request) (connectors.Result, error) {
	const action = "jira.get_issue"
	key, err := keyParam(action, req.Input["key"])
	if err != nil {
		return connectors.Result{}, err
	}
	cred, err := c.credential(ctx, action, req.Team)
	if err != nil {
		return connectors.Result{}, err
	}
	var i issue
	path := "/rest/api/3/issue/" + url.PathEscape(key) + "?fields=" + strings.Join(issueFields, ",")
	if err := c.send(ctx, action, cred, http.MethodGet, path, nil, &i); err != nil {
		return connectors.Result{}, err
	}
	out := c.summary(i)
	out["description"] = plainText(i.Fields.Description)
	out["issue_type"] = i.Fields.IssueType.name()
	out["project"] = ""
	if i.Fields.Project != nil {
		out["project"] = i.Fields.Project.Key
	}
	out["reporter"] = i.Fields.Reporter.name()
	out["created"] = timestamp(i.Fields.Created)
	out["updated"] = timestamp(i.Fields.Updated)
	return connectors.Result{Output: out}, nil
}

func (c *connector) createIssue(ctx context.Context, req connectors.Request) (connectors.Result, error) {
	const action = "jira.create_issue"
	project, _ := req.Input["project"].(string)
	if !projectKey.MatchString(project) {
		return connectors.Result{}, connectors.Errorf(connectors.CodeInvalidInput, "%s: project must be a project key such as OPS", action)
	}
	summary, _ := req.Input["summary"].(string)
	summary = strings.TrimSpace(summary)
	if summary == "" {
		return connectors.Result{}, connectors.Errorf(connectors.CodeInvalidInput, "%s: summary is empty", action)
	}
	if strings.ContainsAny(summary, "\r\n") {
		// Jira refuses line breaks in a summary; the description holds the rest.
		return connectors.Result{}, connectors.Errorf(connectors.CodeInvalidInput, "%s: summary must be one line", action)
	}
	issueType, _ := req.Input["issue_type"].(string)
	if issueType = strings.TrimSpace(issueType); issueType == "" {
		issueType = defaultIssueType
	}
	description, _ := req.Input["description"].(string)
	if req.DryRun {
		return dryRun(project), nil
	}
	cred, err := c.credential(ctx, action, req.Team)
	if err != nil {
		return connectors.Result{}, err
	}
	fields := map[string]any{
		"project":   map[string]any{"key": project},
		"issuetype": map[string]any{"name": issueType},
		"summary":   summary,
	}
	if strings.TrimSpace(description) != "" {
		fields["description"] = adfDocument(description)
	}
	var created struct {
		ID  string `json:"id"`
		Key string `json:"key"`
	}
	if err := c.send(ctx, action, cred, http.MethodPost, "/rest/api/3/issue", map[string]any{"fields": fields}, &created); err != nil {
		return connectors.Result{}, err
	}
	link := c.browse(created.Key)
	return connectors.Result{
		Output:     map[string]any{"id": created.ID, "key": created.Key, "url": link, "project": project},
		OutcomeRef: link,
	}, nil
}

func (c *connector) comment(ctx context.Context, req connectors.Request) (connectors.Result, error) {
	const action = "jira.comment"
	key, err := keyParam(action, req.Input["key"])
	if err != nil {
		return connectors.Result{}, err
	}
	body, _ := req.Input["body"].(string)
	if strings.TrimSpace(body) == "" {
		return connectors.Result{}, connectors.Errorf(connectors.CodeInvalidInput, "%s: body is empty", action)
	}
	if req.DryRun {
		return dryRun(key), nil
	}
	cred, err := c.credential(ctx, action, req.Team)
	if err != nil {
		return connectors.Result{}, err
	}
	var created struct {
		ID string `json:"id"`
	}
	path := "/rest/api/3/issue/" + url.PathEscape(key) + "/comment"
	if err := c.send(ctx, action, cred, http.MethodPost, path, map[string]any{"body": adfDocument(body)}, &created); err != nil {
		return connectors.Result{}, err
	}
	link := c.browse(key) + "?focusedCommentId=" + url.QueryEscape(created.ID)
	return connectors.Result{
		Output:     map[string]any{"id": created.ID, "key": key, "url": link},
		OutcomeRef: link,
	}, nil
}

func (c *connector) transition(ctx context.Context, req connectors.Request) (connectors.Result, error) {
	const action = "jira.transition"
	key, err := keyParam(action, req.Input["key"])
	if err != nil {
		return connectors.Result{}, err
	}
	want, _ := req.Input["transition"].(string)
	if want = strings.TrimSpace(want); want == "" {
		return connectors.Result{}, connectors.Errorf(connectors.CodeInvalidInput, "%s: transition is empty", action)
	}
	if req.DryRun {
		return dryRun(key), nil
	}
	cred, err := c.credential(ctx, action, req.Team)
	if err != nil {
		return connectors.Result{}, err
	}
	// Transition ids differ between workflows and agents know names, so the
	// issue's own list says which id the name means here.
	var list struct {
		Transitions []struct {
			named
			To named `json:"to"`
		} `json:"transitions"`
	}
	path := "/rest/api/3/issue/" + url.PathEscape(key) + "/transitions"
	if err := c.send(ctx, action, cred, http.MethodGet, path, nil, &list); err != nil {
		return connectors.Result{}, err
	}
	found := -1
	for i, t := range list.Transitions {
		if t.ID == want || strings.EqualFold(t.Name, want) {
			found = i
			break
		}
	}
	if found < 0 {
		names := make([]string, len(list.Transitions))
		for i, t := range list.Transitions {
			names[i] = strconv.Quote(t.Name)
		}
		available := strings.Join(names, ", ")
		if available == "" {
			available = "none"
		}
		return connectors.Result{}, connectors.Errorf(connectors.CodeInvalidInput, "%s: %s has no transition %q; available: %s", action, key, want, available)
	}
	t := list.Transitions[found]
	if err := c.send(ctx, action, cred, http.MethodPost, path, map[string]any{"transition": map[string]any{"id": t.ID}}, nil); err != nil {
		return connectors.Result{}, err
	}
	link := c.browse(key)
	return connectors.Result{
		Output:     map[string]any{"key": key, "transition": t.Name, "transition_id": t.ID, "status": t.To.Name, "url": link},
		OutcomeRef: link,
	}, nil
}

func dryRun(destination string) connectors.Result {
	return connectors.Result{Output: map[string]any{"dry_run": true, "would_write_to": destination}}
}

// keyParam checks an issue key again, whoever called: it becomes a URL path segment.
func keyParam(action string, v any) (string, error) {
	key, _ := v.(string)
	if !issueKey.MatchString(key) {
		return "", connectors.Errorf(connectors.CodeInvalidInput, "%s: key must be an issue key such as ABC-123", action)
	}
	return key, nil
}

// maxResultsParam accepts a JSON number or a string of digits, since
// templates and models produce either.
func maxResultsParam(action string, v any) (int, error) {
	var n int
	var ok bool
	switch x := v.(type) {
	case nil:
		return defaultMaxResults, nil
	case int:
		n, ok = x, true
	case int64:
		n, ok = int(x), true
	case float64:
		n, ok = int(x), x == float64(int(x))
	case string:
		i, err := strconv.Atoi(strings.TrimSpace(x))
		n, ok = i, err == nil
	case json.Number:
		i, err := x.Int64()
		n, ok = int(i), err == nil
	}
	if !ok || n < 1 || n > 100 {
		return 0, connectors.Errorf(connectors.CodeInvalidInput, "%s: max_results must be a whole number from 1 to 100", action)
	}
	return n, nil
}

// timestamp turns Jira's "2026-01-05T09:00:00.000+0000" into RFC 3339 in
// UTC, as the other connectors report times; anything else passes unchanged.
func timestamp(s string) string {
	t, err := time.Parse("2006-01-02T15:04:05.000-0700", s)
	if err != nil {
		return s
	}
	return t.UTC().Format(time.RFC3339)
}
