// Package github provides the github.* actions over the GitHub REST API,
// through go-github: search, list and read issues and pull requests, open an
// issue and comment on one.
//
// Every call authenticates with the token of the team that owns the run,
// fetched through Config.Token when the call is made, so teams never share a
// credential and no token sits in a spec. Inputs are checked before the token
// is fetched or any request is sent, and no error message ever contains the
// token, even if GitHub echoes it back.
package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	gh "github.com/google/go-github/v75/github"

	"github.com/telos-dev/telos/connectors"
)

// Config configures the GitHub actions.
type Config struct {
	// BaseURL is the root of the REST API. Default https://api.github.com/;
	// for GitHub Enterprise Server use https://HOST/api/v3/.
	BaseURL string
	// Token returns the access token (personal, fine-grained or installation)
	// of the team that owns the run. It is called once per action call.
	Token func(ctx context.Context, team string) (string, error)
	// HTTPClient sends the requests. Default: a client with a 30-second timeout.
	HTTPClient *http.Client
}

const (
	defaultBaseURL = "https://api.github.com/"
	defaultTimeout = 30 * time.Second
	userAgent      = "Telos"

	defaultLimit = 30
	maxLimit     = 100 // GitHub's largest page
	// GitHub refuses longer queries and bodies; saying so before the request
	// gives the agent a clearer message than GitHub's 422.
	maxQueryLen = 256
	maxBodyLen  = 65536
	// defaultLimitWait is how long GitHub asks clients to wait after a rate
	// limit that names no time.
	defaultLimitWait = time.Minute
)

// Schemas of the values the actions share. A number may come as a JSON
// number or as digits in a string, since templates and models produce either.
const (
	repositorySchema = `{"type": "string", "pattern": "^[^/]+/[^/]+$", "description": "The repository as owner/name."}`
	numberSchema     = `{"type": ["integer", "string"], "minimum": 1, "pattern": "^[1-9][0-9]*$", "description": "The number of the issue or pull request."}`
	limitSchema      = `{"type": ["integer", "string"], "minimum": 1, "maximum": 100, "pattern": "^[1-9][0-9]*$", "description": "The most results to return, 1 to 100; default 30."}`
	labelsSchema     = `{"type": ["array", "string"], "items": {"type": "string"}, "description": "Label names, as a list or one comma-separated string."}`
	summarySchema    = `{
		"type": "object",
		"properties": {
			"number": {"type": "integer"},
			"title": {"type": "string"},
			"state": {"type": "string"},
			"html_url": {"type": "string"},
			"author": {"type": "string"},
			"labels": {"type": "array", "items": {"type": "string"}},
			"pull_request": {"type": "boolean"},
			"comments": {"type": "integer"},
			"created_at": {"type": "string"},
			"updated_at": {"type": "string"},
			"repository": {"type": "string"},
			"body": {"type": "string"},
			"closed_at": {"type": "string"},
			"assignees": {"type": "array", "items": {"type": "string"}}
		},
		"required": ["number", "title", "state", "html_url", "author", "labels", "pull_request", "repository"]
	}`
	// Write outputs are either the created thing or, in a dry run, where it would have gone.
	dryRunProperties = `"dry_run": {"type": "boolean"}, "would_write_to": {"type": "string"}`
)

// Actions returns the github.* actions, sharing one client built from cfg.
func Actions(cfg Config) []connectors.Action {
	c := newConnector(cfg)
	return []connectors.Action{
		{
			ID:          "github.search_issues",
			Class:       connectors.Read,
			Description: "Search issues and pull requests with GitHub search syntax (e.g. \"repo:owner/name is:issue is:open label:bug\"). Returns number, title, state, labels, author and URL of each; use github.get_issue for the body.",
			InputSchema: json.RawMessage(`{
				"type": "object",
				"properties": {
					"query": {"type": "string", "minLength": 1, "maxLength": 256, "description": "A GitHub search query."},
					"limit": ` + limitSchema + `
				},
				"required": ["query"],
				"additionalProperties": false
			}`),
			OutputSchema: json.RawMessage(`{
				"type": "object",
				"properties": {
					"total_count": {"type": "integer"},
					"incomplete_results": {"type": "boolean"},
					"count": {"type": "integer"},
					"issues": {"type": "array", "items": ` + summarySchema + `}
				},
				"required": ["total_count", "incomplete_results", "count", "issues"]
			}`),
			Destination: "query",
			Do:          c.searchIssues,
		},
		{
			ID:          "github.list_issues",
			Class:       connectors.Read,
			Description: "List a repository's issues and pull requests, newest first. Returns number, title, state, labels, author and URL of each; use github.get_issue for the body.",
			InputSchema: json.RawMessage(`{
				"type": "object",
				"properties": {
					"repository": ` + repositorySchema + `,
					"state": {"type": "string", "enum": ["open", "closed", "all"], "description": "Which issues to list; default open."},
					"labels": ` + labelsSchema + `,
					"limit": ` + limitSchema + `
				},
				"required": ["repository"],
				"additionalProperties": false
			}`),
			OutputSchema: json.RawMessage(`{
				"type": "object",
				"properties": {
					"count": {"type": "integer"},
					"issues": {"type": "array", "items": ` + summarySchema + `}
				},
				"required": ["count", "issues"]
			}`),
			Destination: "repository",
			Do:          c.listIssues,
		},
		{
			ID:          "github.get_issue",
			Class:       connectors.Read,
			Description: "Get one issue or pull request of a repository by number, with its body.",
			InputSchema: json.RawMessage(`{
				"type": "object",
				"properties": {
					"repository": ` + repositorySchema + `,
					"number": ` + numberSchema + `
				},
				"required": ["repository", "number"],
				"additionalProperties": false
			}`),
			OutputSchema: json.RawMessage(summarySchema),
			Destination:  "repository",
			Do:           c.getIssue,
		},
		{
			ID:          "github.create_issue",
			Class:       connectors.Write,
			Description: "Open an issue in a repository. Returns its number and URL.",
			InputSchema: json.RawMessage(`{
				"type": "object",
				"properties": {
					"repository": ` + repositorySchema + `,
					"title": {"type": "string", "minLength": 1, "description": "The issue's title."},
					"body": {"type": "string", "maxLength": 65536, "description": "The issue's text, in Markdown."},
					"labels": ` + labelsSchema + `
				},
				"required": ["repository", "title"],
				"additionalProperties": false
			}`),
			OutputSchema: json.RawMessage(`{
				"type": "object",
				"properties": {
					"number": {"type": "integer"},
					"title": {"type": "string"},
					"state": {"type": "string"},
					"html_url": {"type": "string"},
					"repository": {"type": "string"},
					` + dryRunProperties + `
				}
			}`),
			Destination: "repository",
			Do:          c.createIssue,
		},
		{
			ID:          "github.comment",
			Class:       connectors.Write,
			Description: "Comment on an issue or pull request of a repository. Returns the comment's URL.",
			InputSchema: json.RawMessage(`{
				"type": "object",
				"properties": {
					"repository": ` + repositorySchema + `,
					"number": ` + numberSchema + `,
					"body": {"type": "string", "minLength": 1, "maxLength": 65536, "description": "The comment, in Markdown."}
				},
				"required": ["repository", "number", "body"],
				"additionalProperties": false
			}`),
			OutputSchema: json.RawMessage(`{
				"type": "object",
				"properties": {
					"id": {"type": "integer"},
					"html_url": {"type": "string"},
					"issue_number": {"type": "integer"},
					"repository": {"type": "string"},
					` + dryRunProperties + `
				}
			}`),
			Destination: "repository",
			Do:          c.comment,
		},
	}
}

type connector struct {
	base  *gh.Client
	token func(ctx context.Context, team string) (string, error)
	// err is a configuration problem, reported by every call so that a bad
	// setting shows up in the run that meets it rather than crashing the worker.
	err error
}

func newConnector(cfg Config) *connector {
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: defaultTimeout}
	}
	c := &connector{base: gh.NewClient(hc), token: cfg.Token}
	c.base.UserAgent = userAgent
	raw := cfg.BaseURL
	if raw == "" {
		raw = defaultBaseURL
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		c.err = fmt.Errorf("github: base URL %q does not parse: %w", raw, err)
	case u.Scheme != "https" && u.Scheme != "http", u.Host == "":
		c.err = fmt.Errorf("github: base URL %q is not an http(s) URL", raw)
	default:
		if !strings.HasSuffix(u.Path, "/") {
			u.Path += "/" // go-github resolves paths against the base and requires the slash
		}
		c.base.BaseURL = u
	}
	if c.token == nil && c.err == nil {
		c.err = errors.New("github: no token source configured")
	}
	return c
}

// client returns a client authenticated as team, and the token so error
// messages can be scrubbed of it.
func (c *connector) client(ctx context.Context, action, team string) (*gh.Client, string, error) {
	if c.err != nil {
		return nil, "", fmt.Errorf("%s: %w", action, c.err)
	}
	token, err := c.token(ctx, team)
	if err != nil {
		return nil, "", fmt.Errorf("%s: github token for team %q: %w", action, team, err)
	}
	if token == "" {
		return nil, "", fmt.Errorf("%s: team %q has no GitHub token configured", action, team)
	}
	// A copy per call: each team's token has its own rate limit, so the
	// limits go-github remembers must not be shared between teams.
	return c.base.WithAuthToken(token), token, nil
}

func (c *connector) searchIssues(ctx context.Context, req connectors.Request) (connectors.Result, error) {
	const action = "github.search_issues"
	query, _ := req.Input["query"].(string)
	query = strings.TrimSpace(query)
	if query == "" {
		return connectors.Result{}, connectors.Errorf(connectors.CodeInvalidInput, "%s: query is empty", action)
	}
	if len(query) > maxQueryLen {
		return connectors.Result{}, connectors.Errorf(connectors.CodeInvalidInput, "%s: query is longer than %d characters", action, maxQueryLen)
	}
	limit, err := limitParam(action, req.Input["limit"])
	if err != nil {
		return connectors.Result{}, err
	}
	client, token, err := c.client(ctx, action, req.Team)
	if err != nil {
		return connectors.Result{}, err
	}
	res, _, err := client.Search.Issues(ctx, query, &gh.SearchOptions{ListOptions: gh.ListOptions{PerPage: limit}})
	if err != nil {
		return connectors.Result{}, apiError(ctx, action, token, err)
	}
	issues := summaries(res.Issues, limit)
	return connectors.Result{Output: map[string]any{
		"total_count":        res.GetTotal(),
		"incomplete_results": res.GetIncompleteResults(),
		"count":              len(issues),
		"issues":             issues,
	}}, nil
}

func (c *connector) listIssues(ctx context.Context, req connectors.Request) (connectors.Result, error) {
	const action = "github.list_issues"
	owner, repo, err := repositoryParam(action, req.Input["repository"])
	if err != nil {
		return connectors.Result{}, err
	}
	state, _ := req.Input["state"].(string)
	switch state {
	case "":
		state = "open"
	case "open", "closed", "all":
	default:
		return connectors.Result{}, connectors.Errorf(connectors.CodeInvalidInput, "%s: state must be open, closed or all", action)
	}
	labels, err := stringList(action, "labels", req.Input["labels"])
	if err != nil {
		return connectors.Result{}, err
	}
	limit, err := limitParam(action, req.Input["limit"])
	if err != nil {
		return connectors.Result{}, err
	}
	client, token, err := c.client(ctx, action, req.Team)
	if err != nil {
		return connectors.Result{}, err
	}
	list, _, err := client.Issues.ListByRepo(ctx, owner, repo, &gh.IssueListByRepoOptions{
		State:       state,
		Labels:      labels,
		ListOptions: gh.ListOptions{PerPage: limit},
	})
	if err != nil {
		return connectors.Result{}, apiError(ctx, action, token, err)
	}
	issues := summaries(list, limit)
	return connectors.Result{Output: map[string]any{"count": len(issues), "issues": issues}}, nil
}

func (c *connector) getIssue(ctx context.Context, req connectors.Request) (connectors.Result, error) {
	const action = "github.get_issue"
	owner, repo, err := repositoryParam(action, req.Input["repository"])
	if err != nil {
		return connectors.Result{}, err
	}
	number, err := numberParam(action, req.Input["number"])
	if err != nil {
		return connectors.Result{}, err
	}
	client, token, err := c.client(ctx, action, req.Team)
	if err != nil {
		return connectors.Result{}, err
	}
	issue, _, err := client.Issues.Get(ctx, owner, repo, number)
	if err != nil {
		return connectors.Result{}, apiError(ctx, action, token, err)
	}
	out := summary(issue)
	out["body"] = issue.GetBody()
	out["closed_at"] = timestamp(issue.ClosedAt)
	assignees := make([]any, 0, len(issue.Assignees))
	for _, u := range issue.Assignees {
		assignees = append(assignees, u.GetLogin())
	}
	out["assignees"] = assignees
	if out["repository"] == "" {
		out["repository"] = owner + "/" + repo
	}
	return connectors.Result{Output: out}, nil
}

func (c *connector) createIssue(ctx context.Context, req connectors.Request) (connectors.Result, error) {
	const action = "github.create_issue"
	owner, repo, err := repositoryParam(action, req.Input["repository"])
	if err != nil {
		return connectors.Result{}, err
	}
	title, _ := req.Input["title"].(string)
	if strings.TrimSpace(title) == "" {
		return connectors.Result{}, connectors.Errorf(connectors.CodeInvalidInput, "%s: title is empty", action)
	}
	body, _ := req.Input["body"].(string)
	if err := checkBody(action, body); err != nil {
		return connectors.Result{}, err
	}
	labels, err := stringList(action, "labels", req.Input["labels"])
	if err != nil {
		return connectors.Result{}, err
	}
	if req.DryRun {
		return dryRun(owner, repo), nil
	}
	client, token, err := c.client(ctx, action, req.Team)
	if err != nil {
		return connectors.Result{}, err
	}
	issueReq := &gh.IssueRequest{Title: &title}
	if body != "" {
		issueReq.Body = &body
	}
	if len(labels) > 0 {
		issueReq.Labels = &labels
	}
	issue, _, err := client.Issues.Create(ctx, owner, repo, issueReq)
	if err != nil {
		return connectors.Result{}, apiError(ctx, action, token, err)
	}
	return connectors.Result{
		Output: map[string]any{
			"number":     issue.GetNumber(),
			"title":      issue.GetTitle(),
			"state":      issue.GetState(),
			"html_url":   issue.GetHTMLURL(),
			"repository": owner + "/" + repo,
		},
		OutcomeRef: issue.GetHTMLURL(),
	}, nil
}

func (c *connector) comment(ctx context.Context, req connectors.Request) (connectors.Result, error) {
	const action = "github.comment"
	owner, repo, err := repositoryParam(action, req.Input["repository"])
	if err != nil {
		return connectors.Result{}, err
	}
	number, err := numberParam(action, req.Input["number"])
	if err != nil {
		return connectors.Result{}, err
	}
	body, _ := req.Input["body"].(string)
	if strings.TrimSpace(body) == "" {
		return connectors.Result{}, connectors.Errorf(connectors.CodeInvalidInput, "%s: body is empty", action)
	}
	if err := checkBody(action, body); err != nil {
		return connectors.Result{}, err
	}
	if req.DryRun {
		return dryRun(owner, repo), nil
	}
	client, token, err := c.client(ctx, action, req.Team)
	if err != nil {
		return connectors.Result{}, err
	}
	comment, _, err := client.Issues.CreateComment(ctx, owner, repo, number, &gh.IssueComment{Body: &body})
	if err != nil {
		return connectors.Result{}, apiError(ctx, action, token, err)
	}
	return connectors.Result{
		Output: map[string]any{
			"id":           comment.GetID(),
			"html_url":     comment.GetHTMLURL(),
			"issue_number": number,
			"repository":   owner + "/" + repo,
		},
		OutcomeRef: comment.GetHTMLURL(),
	}, nil
}

func dryRun(owner, repo string) connectors.Result {
	return connectors.Result{Output: map[string]any{"dry_run": true, "would_write_to": owner + "/" + repo}}
}

// summaries converts at most limit issues; GitHub may return more than asked.
func summaries(issues []*gh.Issue, limit int) []any {
	out := make([]any, 0, min(len(issues), limit))
	for _, i := range issues {
		if len(out) == limit {
			break
		}
		out = append(out, summary(i))
	}
	return out
}

// summary is what lists show of an issue or pull request.
func summary(i *gh.Issue) map[string]any {
	labels := make([]any, 0, len(i.Labels))
	for _, l := range i.Labels {
		labels = append(labels, l.GetName())
	}
	return map[string]any{
		"number":       i.GetNumber(),
		"title":        i.GetTitle(),
		"state":        i.GetState(),
		"html_url":     i.GetHTMLURL(),
		"author":       i.GetUser().GetLogin(),
		"labels":       labels,
		"pull_request": i.IsPullRequest(),
		"comments":     i.GetComments(),
		"created_at":   timestamp(i.CreatedAt),
		"updated_at":   timestamp(i.UpdatedAt),
		"repository":   repositoryFromURL(i.GetRepositoryURL()),
	}
}

func timestamp(t *gh.Timestamp) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// repositoryFromURL turns an API repository URL (".../repos/owner/name") into
// "owner/name", so search results say where each issue lives.
func repositoryFromURL(raw string) string {
	_, rest, ok := strings.Cut(raw, "/repos/")
	if !ok {
		return ""
	}
	return rest
}

var (
	// GitHub user and organisation names: letters, digits and inner hyphens, at most 39.
	ownerName = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,37}[A-Za-z0-9])?$`)
	// Repository names: letters, digits, '.', '-' and '_', at most 100.
	repoName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)
)

// repositoryParam splits "owner/name". The parts become URL path segments,
// so anything else, "." and ".." included, is refused.
func repositoryParam(action string, v any) (owner, repo string, err error) {
	s, _ := v.(string)
	owner, repo, ok := strings.Cut(s, "/")
	if !ok || !ownerName.MatchString(owner) || !repoName.MatchString(repo) || repo == "." || repo == ".." {
		return "", "", connectors.Errorf(connectors.CodeInvalidInput, "%s: repository must be \"owner/name\"", action)
	}
	return owner, repo, nil
}

// numberParam accepts an issue number as a JSON number or a string of digits,
// since templates and models produce either.
func numberParam(action string, v any) (int, error) {
	n, ok := intValue(v)
	if !ok || n < 1 {
		return 0, connectors.Errorf(connectors.CodeInvalidInput, "%s: number must be a positive whole number", action)
	}
	return n, nil
}

func limitParam(action string, v any) (int, error) {
	if v == nil {
		return defaultLimit, nil
	}
	n, ok := intValue(v)
	if !ok || n < 1 || n > maxLimit {
		return 0, connectors.Errorf(connectors.CodeInvalidInput, "%s: limit must be a whole number from 1 to %d", action, maxLimit)
	}
	return n, nil
}

func intValue(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		return int(n), int64(int(n)) == n
	case float64:
		if n != float64(int(n)) {
			return 0, false
		}
		return int(n), true
	case string:
		i, err := strconv.Atoi(strings.TrimSpace(n))
		return i, err == nil
	case interface{ Int64() (int64, error) }: // json.Number
		i, err := n.Int64()
		return int(i), err == nil && int64(int(i)) == i
	}
	return 0, false
}

// stringList accepts a list of strings or one comma-separated string.
func stringList(action, name string, v any) ([]string, error) {
	var items []string
	switch l := v.(type) {
	case nil:
		return nil, nil
	case string:
		items = strings.Split(l, ",")
	case []string:
		items = l
	case []any:
		for _, e := range l {
			s, ok := e.(string)
			if !ok {
				return nil, connectors.Errorf(connectors.CodeInvalidInput, "%s: %s must be strings, got %T", action, name, e)
			}
			items = append(items, s)
		}
	default:
		return nil, connectors.Errorf(connectors.CodeInvalidInput, "%s: %s must be a list of strings or a comma-separated string, got %T", action, name, v)
	}
	var out []string
	for _, s := range items {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

func checkBody(action, body string) error {
	if len([]rune(body)) > maxBodyLen {
		return connectors.Errorf(connectors.CodeInvalidInput, "%s: body is longer than %d characters", action, maxBodyLen)
	}
	return nil
}

// apiError turns a go-github error into an *Error the workflow can act on.
// Every message passes through scrub, so the token never leaves this package.
func apiError(ctx context.Context, action, token string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		// The activity was cancelled or timed out; that is not GitHub's doing.
		return fmt.Errorf("%s: %w", action, ctxErr)
	}
	scrub := func(format string, args ...any) string {
		return action + ": " + connectors.Redact(fmt.Sprintf(format, args...), token)
	}
	var rateErr *gh.RateLimitError
	if errors.As(err, &rateErr) {
		return &connectors.Error{
			Code: connectors.CodeRateLimited, Retryable: true, RateLimited: true,
			RetryAfter: untilReset(rateErr.Response, rateErr.Rate.Reset.Time),
			Message:    scrub("GitHub rate limit exhausted for the team's token: %s", rateErr.Message),
		}
	}
	var abuseErr *gh.AbuseRateLimitError
	if errors.As(err, &abuseErr) {
		wait := defaultLimitWait
		if abuseErr.RetryAfter != nil && *abuseErr.RetryAfter > 0 {
			wait = *abuseErr.RetryAfter
		}
		return &connectors.Error{
			Code: connectors.CodeRateLimited, Retryable: true, RateLimited: true, RetryAfter: wait,
			Message: scrub("GitHub secondary rate limit: %s", abuseErr.Message),
		}
	}
	var respErr *gh.ErrorResponse
	var otpErr *gh.TwoFactorAuthError // a 401 asking for a one-time password: still a credentials problem
	if errors.As(err, &otpErr) {
		respErr = (*gh.ErrorResponse)(otpErr)
	} else {
		errors.As(err, &respErr)
	}
	if respErr == nil || respErr.Response == nil {
		// No response: the request may or may not have reached GitHub.
		return &connectors.Error{Code: connectors.CodeUpstream, Retryable: true, Message: scrub("request failed: %v", err)}
	}
	resp := respErr.Response
	status := resp.StatusCode
	detail := strings.TrimSpace(fmt.Sprintf("%d %s", status, respErr.Message))
	if wait, ok := rateLimited(resp); ok {
		return &connectors.Error{
			Code: connectors.CodeRateLimited, Retryable: true, RateLimited: true, RetryAfter: wait,
			Message: scrub("GitHub rate limit (%s)", detail),
		}
	}
	switch {
	case status == http.StatusUnauthorized:
		return &connectors.Error{Code: connectors.CodeAuth, Message: scrub("GitHub rejected the team's token (%s); check the secret that holds it", detail)}
	case status == http.StatusForbidden:
		return &connectors.Error{Code: connectors.CodeAuth, Message: scrub("GitHub refused access (%s); the team's token may lack permission for this repository", detail)}
	case status == http.StatusNotFound, status == http.StatusGone:
		return connectors.Errorf(connectors.CodeNotFound, "%s", scrub("not found on GitHub, or not visible to the team's token (%s)", detail))
	case status == http.StatusUnprocessableEntity:
		for _, e := range respErr.Errors {
			detail += "; " + describe(e)
		}
		return connectors.Errorf(connectors.CodeInvalidInput, "%s", scrub("GitHub refused the request (%s)", detail))
	case status >= 500:
		return &connectors.Error{Code: connectors.CodeUpstream, Retryable: true, Message: scrub("GitHub failed (%s)", detail)}
	}
	return &connectors.Error{Code: connectors.CodeUpstream, Message: scrub("GitHub returned %s", detail)}
}

func describe(e gh.Error) string {
	if e.Message != "" {
		return e.Message
	}
	return strings.TrimSpace(fmt.Sprintf("%s %s %s", e.Resource, e.Field, e.Code))
}

// rateLimited reports whether a response go-github did not classify is a rate
// limit (a 429, or a 403 naming a wait), and how long GitHub asked to wait.
func rateLimited(resp *http.Response) (time.Duration, bool) {
	if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusForbidden {
		return 0, false
	}
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		if secs, err := strconv.Atoi(ra); err == nil && secs >= 0 {
			return time.Duration(secs) * time.Second, true
		}
		if t, err := http.ParseTime(ra); err == nil {
			return max(t.Sub(serverNow(resp)), 0), true
		}
	}
	if resp.StatusCode != http.StatusTooManyRequests {
		return 0, false
	}
	var reset time.Time
	if secs, err := strconv.ParseInt(resp.Header.Get("X-Ratelimit-Reset"), 10, 64); err == nil && secs > 0 {
		reset = time.Unix(secs, 0)
	}
	return untilReset(resp, reset), true
}

// untilReset is the wait until a rate limit resets, measured against GitHub's
// own clock (the Date header) so that a skewed local clock does not matter.
func untilReset(resp *http.Response, reset time.Time) time.Duration {
	if reset.IsZero() {
		return defaultLimitWait
	}
	return max(reset.Sub(serverNow(resp)), 0)
}

func serverNow(resp *http.Response) time.Time {
	if resp != nil {
		if t, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
			return t
		}
	}
	return time.Now()
}
