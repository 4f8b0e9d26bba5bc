// Package mcp provides the mcp.* actions: list the tools of an MCP (Model
// Context Protocol) server and call one, over streamable HTTP through the
// official MCP Go SDK.
//
// Agents name a server, never a URL: the operator lists the servers Telos may
// reach in Config.Servers. A server's tools can do anything, so mcp.call is a
// write. What a reviewer approved is the server's tool list (names,
// descriptions, input schemas), summarised by Fingerprint; when Config.Pins
// returns the fingerprint pinned into the run's approved version and the
// server now offers something else, the actions stop with CodeToolsChanged
// instead of letting the agent use tools nobody reviewed.
package mcp

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/telos-dev/telos/connectors"
)

// CodeToolsChanged says a server's tools differ from those pinned into the
// run's approved version. Retrying cannot help: the agent must be re-reviewed.
const CodeToolsChanged = "tools_changed"

// Config configures the MCP actions.
type Config struct {
	// Servers maps the names agents use to the streamable HTTP endpoint URLs
	// the operator allows.
	Servers map[string]string
	// Token returns the bearer token the team uses for the server; an empty
	// token sends none. Nil sends no token to any server.
	Token func(ctx context.Context, team, server string) (string, error)
	// HTTPClient sends the requests. Default: a client with a two-minute
	// timeout, since a tool may take a while to do its work.
	HTTPClient *http.Client
	// Pins returns the tool-list fingerprint (see Fingerprint) pinned into the
	// approved agent version that req runs, for server; ok is false when the
	// version pins nothing for it. Nil pins nothing.
	Pins func(ctx context.Context, req connectors.Request, server string) (pin string, ok bool, err error)
}

// ToolInfo is what a reviewer sees of one tool.
type ToolInfo struct {
	Name        string
	Description string
	// InputSchema is the tool's input schema as canonical JSON.
	InputSchema json.RawMessage
}

const (
	defaultTimeout = 2 * time.Minute
	// codeRejected is the JSON-RPC code of the SDK's jsonrpc2.ErrRejected, with
	// which it wraps transport failures: an error of the connection, not an
	// answer of the server.
	codeRejected = -32005
	// maxDetail bounds how much of a server's error message reaches the run.
	maxDetail = 500
)

// Actions returns the mcp.* actions for the servers cfg allows.
func Actions(cfg Config) []connectors.Action {
	c := &connector{cfg: cfg}
	serverSchema := fmt.Sprintf(`{"type": "string", "minLength": 1, "description": %q}`,
		"The name of the MCP server, one of: "+strings.Join(c.names(), ", ")+".")
	return []connectors.Action{
		{
			ID:          "mcp.list_tools",
			Class:       connectors.Read,
			Description: "List the tools an MCP server offers: name, description and input schema of each, and the fingerprint of the list.",
			InputSchema: json.RawMessage(`{
				"type": "object",
				"properties": {"server": ` + serverSchema + `},
				"required": ["server"],
				"additionalProperties": false
			}`),
			OutputSchema: json.RawMessage(`{
				"type": "object",
				"properties": {
					"server": {"type": "string"},
					"tools": {"type": "array", "items": {
						"type": "object",
						"properties": {
							"name": {"type": "string"},
							"description": {"type": "string"},
							"input_schema": {}
						},
						"required": ["name", "description"]
					}},
					"fingerprint": {"type": "string"}
				},
				"required": ["server", "tools", "fingerprint"]
			}`),
			Destination: "server",
			Do:          c.listTools,
		},
		{
			ID:          "mcp.call",
			Class:       connectors.Write,
			Description: "Call a tool of an MCP server with arguments matching the tool's input schema (see mcp.list_tools). Returns the text the tool produced, whether the tool reported an error, and its structured result if any.",
			InputSchema: json.RawMessage(`{
				"type": "object",
				"properties": {
					"server": ` + serverSchema + `,
					"tool": {"type": "string", "minLength": 1, "maxLength": 128, "description": "The name of the tool."},
					"arguments": {"type": "object", "description": "The tool's arguments."}
				},
				"required": ["server", "tool"],
				"additionalProperties": false
			}`),
			OutputSchema: json.RawMessage(`{
				"type": "object",
				"properties": {
					"content": {"type": "string"},
					"is_error": {"type": "boolean"},
					"structured": {},
					"dry_run": {"type": "boolean"},
					"would_write_to": {"type": "string"},
					"tool": {"type": "string"}
				},
				"anyOf": [{"required": ["content", "is_error"]}, {"required": ["dry_run", "would_write_to"]}]
			}`),
			Destination: "server",
			Do:          c.call,
		},
	}
}

// Fingerprint is the SHA-256, in hex, of the canonical JSON of tools' names,
// descriptions and input schemas, sorted by name: it changes whenever what a
// model is told about the tools changes, and only then.
func Fingerprint(tools []*sdk.Tool) string {
	sum := sha256.Sum256(canonicalTools(tools))
	return hex.EncodeToString(sum[:])
}

// ToolsFingerprint lists the tools server offers now, for the approval of an
// agent version: the fingerprint to pin and what the reviewer approves.
func (c Config) ToolsFingerprint(ctx context.Context, team, server string) (string, []ToolInfo, error) {
	const action = "mcp.list_tools"
	conn := &connector{cfg: c}
	s, err := conn.connect(ctx, action, team, server)
	if err != nil {
		return "", nil, err
	}
	defer s.close()
	tools, err := s.tools(ctx)
	if err != nil {
		return "", nil, err
	}
	infos := make([]ToolInfo, 0, len(tools))
	for _, t := range sortedTools(tools) {
		infos = append(infos, ToolInfo{Name: t.Name, Description: t.Description, InputSchema: canonicalJSON(t.InputSchema)})
	}
	return Fingerprint(tools), infos, nil
}

type connector struct {
	cfg Config
}

// names lists the configured server names in order, for schemas and errors.
func (c *connector) names() []string {
	names := make([]string, 0, len(c.cfg.Servers))
	for n := range c.cfg.Servers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// endpoint resolves a server name an agent gave to the operator's URL.
func (c *connector) endpoint(action, server string) (*url.URL, error) {
	raw, ok := c.cfg.Servers[server]
	if !ok {
		names := c.names()
		if len(names) == 0 {
			return nil, connectors.Errorf(connectors.CodeInvalidInput, "%s: unknown server %q; no MCP servers are configured", action, server)
		}
		return nil, connectors.Errorf(connectors.CodeInvalidInput, "%s: unknown server %q; configured servers: %s", action, server, strings.Join(names, ", "))
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		// The operator's configuration is wrong; the URL may hold a secret, so it is not quoted.
		return nil, fmt.Errorf("%s: server %q: endpoint is not an http(s) URL", action, server)
	}
	return u, nil
}

func (c *connector) listTools(ctx context.Context, req connectors.Request) (connectors.Result, error) {
	const action = "mcp.list_tools"
	server, _ := req.Input["server"].(string)
	if _, err := c.endpoint(action, server); err != nil {
		return connectors.Result{}, err
	}
	pin, pinned, err := c.pin(ctx, action, req, server)
	if err != nil {
		return connectors.Result{}, err
	}
	s, err := c.connect(ctx, action, req.Team, server)
	if err != nil {
		return connectors.Result{}, err
	}
	defer s.close()
	tools, err := s.tools(ctx)
	if err != nil {
		return connectors.Result{}, err
	}
	fp := Fingerprint(tools)
	if pinned {
		if err := checkPin(action, server, pin, fp); err != nil {
			return connectors.Result{}, err
		}
	}
	list := make([]any, 0, len(tools))
	for _, t := range sortedTools(tools) {
		var schema any
		if err := json.Unmarshal(canonicalJSON(t.InputSchema), &schema); err != nil {
			schema = nil
		}
		list = append(list, map[string]any{"name": t.Name, "description": t.Description, "input_schema": schema})
	}
	return connectors.Result{Output: map[string]any{"server": server, "tools": list, "fingerprint": fp}}, nil
}

func (c *connector) call(ctx context.Context, req connectors.Request) (connectors.Result, error) {
	const action = "mcp.call"
	server, _ := req.Input["server"].(string)
	tool, _ := req.Input["tool"].(string)
	if _, err := c.endpoint(action, server); err != nil {
		return connectors.Result{}, err
	}
	if strings.TrimSpace(tool) == "" {
		return connectors.Result{}, connectors.Errorf(connectors.CodeInvalidInput, "%s: tool is empty", action)
	}
	var args map[string]any
	switch a := req.Input["arguments"].(type) {
	case nil:
		args = map[string]any{}
	case map[string]any:
		args = a
	default:
		return connectors.Result{}, connectors.Errorf(connectors.CodeInvalidInput, "%s: arguments must be an object, got %T", action, a)
	}
	if req.DryRun {
		return connectors.Result{Output: map[string]any{"dry_run": true, "would_write_to": server, "tool": tool}}, nil
	}
	pin, pinned, err := c.pin(ctx, action, req, server)
	if err != nil {
		return connectors.Result{}, err
	}
	s, err := c.connect(ctx, action, req.Team, server)
	if err != nil {
		return connectors.Result{}, err
	}
	defer s.close()
	if pinned {
		tools, err := s.tools(ctx)
		if err != nil {
			return connectors.Result{}, err
		}
		if err := checkPin(action, server, pin, Fingerprint(tools)); err != nil {
			return connectors.Result{}, err
		}
	}
	s.rec.reset()
	res, err := s.session.CallTool(ctx, &sdk.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		return connectors.Result{}, s.fail(ctx, err, true)
	}
	var texts []string
	for _, content := range res.Content {
		if t, ok := content.(*sdk.TextContent); ok {
			texts = append(texts, t.Text)
		}
	}
	out := map[string]any{"content": strings.Join(texts, "\n"), "is_error": res.IsError}
	if res.StructuredContent != nil {
		out["structured"] = res.StructuredContent
	}
	return connectors.Result{Output: out, OutcomeRef: "mcp:" + server + "/" + tool}, nil
}

// pin asks Config.Pins for the fingerprint the run's version approved.
func (c *connector) pin(ctx context.Context, action string, req connectors.Request, server string) (string, bool, error) {
	if c.cfg.Pins == nil {
		return "", false, nil
	}
	pin, ok, err := c.cfg.Pins(ctx, req, server)
	if err != nil {
		return "", false, fmt.Errorf("%s: pinned tools of server %q: %w", action, server, err)
	}
	return pin, ok, nil
}

func checkPin(action, server, pin, now string) error {
	if pin == now {
		return nil
	}
	return connectors.Errorf(CodeToolsChanged,
		"%s: mcp server %q changed its tools since this version was approved (pinned %s, now %s); the agent must be re-reviewed",
		action, server, short(pin), short(now))
}

func short(fp string) string {
	if len(fp) > 8 {
		return fp[:8]
	}
	return fp
}

// session is one connection to one server for one action call.
type session struct {
	action, server string
	session        *sdk.ClientSession
	rec            *recorder
}

// connect opens a session with server as team. Every call has its own
// session, so no state or credential is shared between teams or runs.
func (c *connector) connect(ctx context.Context, action, team, server string) (*session, error) {
	endpoint, err := c.endpoint(action, server)
	if err != nil {
		return nil, err
	}
	var token string
	if c.cfg.Token != nil {
		if token, err = c.cfg.Token(ctx, team, server); err != nil {
			return nil, fmt.Errorf("%s: token of team %q for server %q: %w", action, team, server, err)
		}
	}
	base := c.cfg.HTTPClient
	if base == nil {
		base = &http.Client{Timeout: defaultTimeout}
	}
	rt := base.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	rec := &recorder{base: rt, host: endpoint.Host, scheme: endpoint.Scheme, token: token}
	hc := *base
	hc.Transport = rec
	s := &session{action: action, server: server, rec: rec}
	client := sdk.NewClient(&sdk.Implementation{Name: "telos", Version: "1"}, nil)
	transport := &sdk.StreamableClientTransport{
		Endpoint:   endpoint.String(),
		HTTPClient: &hc,
		// Telos only asks and answers; server-initiated messages have nowhere to go.
		DisableStandaloneSSE: true,
	}
	cs, err := client.Connect(ctx, transport, nil)
	if err != nil {
		return nil, s.fail(ctx, err, false)
	}
	s.session = cs
	return s, nil
}

func (s *session) close() {
	_ = s.session.Close() // the action's outcome is known; a failed goodbye changes nothing
}

// tools lists every tool the server offers, following pagination.
func (s *session) tools(ctx context.Context) ([]*sdk.Tool, error) {
	s.rec.reset()
	var tools []*sdk.Tool
	for t, err := range s.session.Tools(ctx, nil) {
		if err != nil {
			return nil, s.fail(ctx, err, false)
		}
		tools = append(tools, t)
	}
	return tools, nil
}

// fail turns an SDK error into an *Error the workflow can act on. called says
// the failure came from tools/call: the tool may then have done its work, so
// the failure is not retried unless the server refused the request outright.
// Every message passes through scrub, so the token never leaves this package.
func (s *session) fail(ctx context.Context, err error, called bool) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		// The activity was cancelled or timed out; that is not the server's doing.
		return fmt.Errorf("%s: %w", s.action, ctxErr)
	}
	scrub := func(format string, args ...any) string {
		return s.action + ": " + connectors.Redact(fmt.Sprintf(format, args...), s.rec.token)
	}
	status, retryAfter := s.rec.last()
	switch {
	case status == http.StatusUnauthorized:
		return &connectors.Error{Code: connectors.CodeAuth, Message: scrub("mcp server %q rejected the team's credentials (401); check the secret that holds its token", s.server)}
	case status == http.StatusForbidden:
		return &connectors.Error{Code: connectors.CodeAuth, Message: scrub("mcp server %q refused access (403); the team's token may lack permission", s.server)}
	case status == http.StatusTooManyRequests:
		return &connectors.Error{
			Code: connectors.CodeRateLimited, Retryable: true, RateLimited: true, RetryAfter: retryAfter,
			Message: scrub("mcp server %q is rate limiting the team (429)", s.server),
		}
	}
	var rpcErr *jsonrpc.Error
	if errors.As(err, &rpcErr) && rpcErr.Code != codeRejected {
		detail := truncate(rpcErr.Message)
		switch rpcErr.Code {
		case jsonrpc.CodeInvalidParams:
			return connectors.Errorf(connectors.CodeInvalidInput, "%s", scrub("mcp server %q refused the request: %s", s.server, detail))
		case jsonrpc.CodeMethodNotFound:
			return connectors.Errorf(connectors.CodeUpstream, "%s", scrub("mcp server %q does not offer tools: %s", s.server, detail))
		}
		return connectors.Errorf(connectors.CodeUpstream, "%s", scrub("mcp server %q failed: %s", s.server, detail))
	}
	switch {
	case status == http.StatusNotFound:
		return connectors.Errorf(connectors.CodeUpstream, "%s", scrub("no MCP endpoint at the URL configured for server %q (404)", s.server))
	case status >= 400 && status < 500:
		return connectors.Errorf(connectors.CodeUpstream, "%s", scrub("mcp server %q refused the request (%d)", s.server, status))
	}
	if called {
		return &connectors.Error{Code: connectors.CodeUpstream, Message: scrub(
			"call to mcp server %q failed and is not retried, since the tool may have acted: %s", s.server, truncate(err.Error()))}
	}
	return &connectors.Error{Code: connectors.CodeUpstream, Retryable: true, Message: scrub("mcp server %q: %s", s.server, truncate(err.Error()))}
}

func truncate(s string) string {
	if r := []rune(s); len(r) > maxDetail {
		return string(r[:maxDetail]) + "…"
	}
	return s
}

// recorder sends the session's HTTP requests. It adds the bearer token to
// requests for the configured endpoint only, so a redirect cannot carry it to
// another host, and remembers the outcome of the latest exchange, because the
// SDK's errors do not say which HTTP status caused them.
type recorder struct {
	base          http.RoundTripper
	scheme, host  string
	token         string
	mu            sync.Mutex
	status        int
	retryAfterHdr string
	date          string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if r.token != "" && req.URL.Scheme == r.scheme && req.URL.Host == r.host {
		req = req.Clone(req.Context())
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	resp, err := r.base.RoundTrip(req)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status, r.retryAfterHdr, r.date = 0, "", ""
	if err == nil {
		r.status = resp.StatusCode
		r.retryAfterHdr = resp.Header.Get("Retry-After")
		r.date = resp.Header.Get("Date")
	}
	return resp, err
}

func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status, r.retryAfterHdr, r.date = 0, "", ""
}

// last is the status of the latest response (0 if the latest request got
// none) and the wait it asked for in Retry-After.
func (r *recorder) last() (int, time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ra := strings.TrimSpace(r.retryAfterHdr)
	if ra == "" {
		return r.status, 0
	}
	if secs, err := strconv.Atoi(ra); err == nil && secs >= 0 {
		return r.status, time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(ra); err == nil {
		now := time.Now()
		if d, err := http.ParseTime(r.date); err == nil {
			now = d // the server's clock, so a skewed local clock does not matter
		}
		return r.status, max(t.Sub(now), 0)
	}
	return r.status, 0
}

// sortedTools returns tools without nils, sorted by name.
func sortedTools(tools []*sdk.Tool) []*sdk.Tool {
	out := slices.DeleteFunc(slices.Clone(tools), func(t *sdk.Tool) bool { return t == nil })
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// canonicalTools is the JSON Fingerprint hashes.
func canonicalTools(tools []*sdk.Tool) []byte {
	type entry struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		InputSchema json.RawMessage `json:"input_schema"`
	}
	entries := make([]entry, 0, len(tools))
	for _, t := range sortedTools(tools) {
		entries = append(entries, entry{t.Name, t.Description, canonicalJSON(t.InputSchema)})
	}
	b, err := json.Marshal(entries)
	if err != nil {
		panic(fmt.Sprintf("mcp: marshal canonical tools: %v", err)) // every field is already valid JSON
	}
	return b
}

// canonicalJSON encodes v with object keys sorted and numbers normalised, so
// that the same schema hashes the same whether it came as a Go struct, a map
// or bytes off the wire. A value that does not encode becomes a JSON string
// naming the problem, which matches no real schema.
func canonicalJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal("unencodable schema: " + err.Error())
		return b
	}
	var generic any
	if err := json.Unmarshal(b, &generic); err != nil {
		b, _ = json.Marshal("undecodable schema: " + err.Error())
		return b
	}
	b, _ = json.Marshal(generic) // maps marshal with sorted keys
	return b
}
