// Package httpconn provides the http.get and http.post actions over net/http.
//
// Agents choose the URLs they fetch, so every request passes a guard against
// server-side request forgery: only http and https, no credentials in URLs,
// and no connection to loopback, private, link-local, metadata or other
// internal addresses. The guard runs in the dialer on the address actually
// being connected to, so DNS rebinding and redirects meet the same check.
// Operators opt specific hosts out with Config.AllowHosts.
package httpconn

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/telos-dev/telos/connectors"
)

// Config configures the HTTP actions. The zero value is usable.
type Config struct {
	// Timeout bounds a whole call, redirects and body included. Default 15s.
	Timeout time.Duration
	// MaxResponseBytes is the largest response body accepted; larger ones
	// fail with CodeTooLarge rather than being truncated. Default 2 MiB.
	MaxResponseBytes int64
	// AllowHosts lists hosts ("host" or "host:port", matched exactly and
	// case-insensitively) that skip the address guard, such as an internal
	// API the operator means agents to reach, or a test server.
	AllowHosts []string
	// Resolver resolves host names; nil means net.DefaultResolver.
	Resolver *net.Resolver
	// UserAgent is sent with every request. Default "Telos".
	UserAgent string
}

const (
	defaultTimeout          = 15 * time.Second
	defaultMaxResponseBytes = 2 << 20
	defaultUserAgent        = "Telos"
	maxRedirects            = 5
	maxErrorExcerpt         = 256
)

// responseSchema is the output of both actions: the response's status,
// headers (first value of each, names in lower case) and body.
var responseSchema = json.RawMessage(`{
	"type": "object",
	"properties": {
		"status": {"type": "integer"},
		"headers": {"type": "object", "additionalProperties": {"type": "string"}},
		"body": {"type": "string"}
	},
	"required": ["status", "headers", "body"]
}`)

// Actions returns http.get and http.post, sharing one client built from cfg.
func Actions(cfg Config) []connectors.Action {
	c := newClient(cfg)
	return []connectors.Action{
		{
			ID:          "http.get",
			Class:       connectors.Read,
			Description: "Fetch a URL with GET and return its status, headers and body.",
			InputSchema: json.RawMessage(`{
				"type": "object",
				"properties": {
					"url": {"type": "string", "minLength": 1, "description": "The http or https URL to fetch."},
					"headers": {"type": "object", "additionalProperties": {"type": "string"}, "description": "Request headers."}
				},
				"required": ["url"],
				"additionalProperties": false
			}`),
			OutputSchema: responseSchema,
			Destination:  "url",
			Do:           c.get,
		},
		{
			ID:          "http.post",
			Class:       connectors.Write,
			Description: "Send a POST request with a text or JSON body and return the response.",
			InputSchema: json.RawMessage(`{
				"type": "object",
				"properties": {
					"url": {"type": "string", "minLength": 1, "description": "The http or https URL to post to."},
					"body": {"type": ["string", "object"], "minLength": 1, "description": "Text, or an object sent as JSON."},
					"headers": {"type": "object", "additionalProperties": {"type": "string"}, "description": "Request headers."},
					"content_type": {"type": "string", "description": "Content-Type of the body; default text/plain, or application/json for an object."}
				},
				"required": ["url", "body"],
				"additionalProperties": false
			}`),
			OutputSchema: responseSchema,
			Destination:  "url",
			Do:           c.post,
		},
	}
}

type client struct {
	http      *http.Client
	allow     allowList
	maxBytes  int64
	userAgent string
}

func newClient(cfg Config) *client {
	if cfg.Timeout <= 0 {
		cfg.Timeout = defaultTimeout
	}
	if cfg.MaxResponseBytes <= 0 {
		cfg.MaxResponseBytes = defaultMaxResponseBytes
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = defaultUserAgent
	}
	c := &client{
		allow:     newAllowList(cfg.AllowHosts),
		maxBytes:  cfg.MaxResponseBytes,
		userAgent: cfg.UserAgent,
	}
	transport := &http.Transport{
		// No proxy from the environment: a proxy would make the connection
		// the guard checks the proxy's, not the destination's.
		Proxy:                  nil,
		DialContext:            newGuardedDialer(cfg, c.allow).DialContext,
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    10 * time.Second,
		IdleConnTimeout:        90 * time.Second,
		MaxIdleConns:           100,
		MaxResponseHeaderBytes: 1 << 20,
	}
	c.http = &http.Client{
		Transport:     transport,
		Timeout:       cfg.Timeout,
		CheckRedirect: c.checkRedirect,
	}
	return c
}

func (c *client) get(ctx context.Context, req connectors.Request) (connectors.Result, error) {
	rawURL, _ := req.Input["url"].(string)
	u, err := c.checkURL(rawURL)
	if err != nil {
		return connectors.Result{}, err
	}
	headers, err := headerParam(req.Input["headers"])
	if err != nil {
		return connectors.Result{}, err
	}
	out, _, err := c.do(ctx, http.MethodGet, u, headers, nil)
	if err != nil {
		return connectors.Result{}, err
	}
	return connectors.Result{Output: out}, nil
}

func (c *client) post(ctx context.Context, req connectors.Request) (connectors.Result, error) {
	rawURL, _ := req.Input["url"].(string)
	u, err := c.checkURL(rawURL)
	if err != nil {
		return connectors.Result{}, err
	}
	headers, err := headerParam(req.Input["headers"])
	if err != nil {
		return connectors.Result{}, err
	}
	var body []byte
	contentType := "text/plain; charset=utf-8"
	switch b := req.Input["body"].(type) {
	case string:
		body = []byte(b)
	default:
		body, err = json.Marshal(b)
		if err != nil {
			return connectors.Result{}, connectors.Errorf(connectors.CodeInvalidInput, "http.post: body cannot be encoded as JSON: %v", err)
		}
		contentType = "application/json"
	}
	if ct, ok := req.Input["content_type"].(string); ok && ct != "" {
		contentType = ct
	}
	if strings.ContainsAny(contentType, "\r\n\x00") {
		return connectors.Result{}, connectors.Errorf(connectors.CodeInvalidInput, "http.post: content_type contains a control character")
	}
	headers.Set("Content-Type", contentType)

	if req.DryRun {
		return connectors.Result{Output: map[string]any{"dry_run": true, "would_post_to": u.String()}}, nil
	}
	// The same run and step always send the same key, so a receiver that
	// honours Idempotency-Key acts once even if a post is sent again.
	if headers.Get("Idempotency-Key") == "" && req.RunID != "" {
		sum := sha256.Sum256([]byte(req.RunID + "\x00" + req.StepID))
		headers.Set("Idempotency-Key", "telos-"+hex.EncodeToString(sum[:16]))
	}
	out, resp, err := c.do(ctx, http.MethodPost, u, headers, body)
	if err != nil {
		return connectors.Result{}, err
	}
	return connectors.Result{Output: out, OutcomeRef: outcomeRef(resp)}, nil
}

// outcomeRef is the evidence of a POST: the created resource if the server
// names one, otherwise where it went and what came back.
func outcomeRef(resp *http.Response) string {
	if loc, err := resp.Location(); err == nil {
		return loc.String()
	}
	return fmt.Sprintf("POST %s %d", redact(resp.Request.URL), resp.StatusCode)
}

// checkURL validates a URL an agent asked for, and every redirect target.
func (c *client) checkURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, connectors.Errorf(connectors.CodeInvalidInput, "url %q does not parse", raw)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, connectors.Errorf(connectors.CodeForbiddenDestination, "url scheme %q is not http or https", u.Scheme)
	}
	if u.User != nil {
		return nil, connectors.Errorf(connectors.CodeInvalidInput, "url must not contain credentials; pass them in headers")
	}
	if u.Host == "" {
		return nil, connectors.Errorf(connectors.CodeInvalidInput, "url %q has no host", raw)
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	if c.allow.allows(u.Hostname(), port) {
		return u, nil
	}
	if err := checkHost(u.Hostname()); err != nil {
		return nil, err
	}
	return u, nil
}

func (c *client) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > maxRedirects {
		return connectors.Errorf(connectors.CodeUpstream, "stopped after %d redirects", maxRedirects)
	}
	_, err := c.checkURL(req.URL.String())
	return err
}

// do sends the request and reads the response into the action output.
func (c *client) do(ctx context.Context, method string, u *url.URL, headers http.Header, body []byte) (map[string]any, *http.Response, error) {
	var bodyReader io.Reader
	if body != nil {
		bodyReader = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bodyReader)
	if err != nil {
		return nil, nil, connectors.Errorf(connectors.CodeInvalidInput, "%s %s: %v", method, redact(u), err)
	}
	for name, values := range headers {
		req.Header[name] = values
	}
	req.Header.Set("User-Agent", c.userAgent)

	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, requestError(ctx, method, u, err)
	}
	defer resp.Body.Close()

	if resp.StatusCode >= 400 {
		return nil, nil, statusError(method, u, resp)
	}
	if resp.ContentLength > c.maxBytes {
		return nil, nil, c.tooLarge(method, u)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBytes+1))
	if err != nil {
		return nil, nil, requestError(ctx, method, u, err)
	}
	if int64(len(data)) > c.maxBytes {
		return nil, nil, c.tooLarge(method, u)
	}

	respHeaders := make(map[string]any, len(resp.Header))
	for name, values := range resp.Header {
		if len(values) > 0 {
			respHeaders[strings.ToLower(name)] = values[0]
		}
	}
	out := map[string]any{
		"status":  resp.StatusCode,
		"headers": respHeaders,
		"body":    string(data),
	}
	return out, resp, nil
}

func (c *client) tooLarge(method string, u *url.URL) error {
	return connectors.Errorf(connectors.CodeTooLarge, "%s %s: response is larger than %d bytes", method, redact(u), c.maxBytes)
}

// requestError classifies a failure to get or read a response.
func requestError(ctx context.Context, method string, u *url.URL, err error) error {
	target := method + " " + redact(u)
	var cerr *connectors.Error
	if errors.As(err, &cerr) {
		return &connectors.Error{Code: cerr.Code, Retryable: cerr.Retryable, Message: target + ": " + cerr.Message}
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		// The activity was cancelled or ran out of time; that is not the upstream's doing.
		return fmt.Errorf("%s: %w", target, ctxErr)
	}
	// url.Error repeats the full URL, query string included; keep only the cause.
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return connectors.Errorf(connectors.CodeUpstream, "%s: host %q not found", target, dnsErr.Name)
	}
	var certErr *tls.CertificateVerificationError
	if errors.As(err, &certErr) {
		return connectors.Errorf(connectors.CodeUpstream, "%s: %v", target, err)
	}
	return &connectors.Error{Code: connectors.CodeUpstream, Retryable: true, Message: fmt.Sprintf("%s: %v", target, err)}
}

// statusError turns an HTTP error status into an *Error. Only 429 and 5xx
// are worth retrying; other 4xx mean the request itself is wrong.
func statusError(method string, u *url.URL, resp *http.Response) error {
	excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorExcerpt))
	msg := fmt.Sprintf("%s %s returned %s", method, redact(u), resp.Status)
	e := &connectors.Error{
		Code:        connectors.CodeUpstream,
		Retryable:   resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500,
		RateLimited: resp.StatusCode == http.StatusTooManyRequests,
	}
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		msg += fmt.Sprintf(" (retry after %s)", ra)
		if secs, err := strconv.Atoi(ra); err == nil && secs >= 0 {
			e.RetryAfter = time.Duration(secs) * time.Second
		}
	}
	if text := strings.TrimSpace(strings.ToValidUTF8(string(excerpt), "")); text != "" {
		msg += ": " + text
	}
	e.Message = msg
	return e
}

// redact returns u without its query and fragment, which often carry tokens,
// for error messages and outcome references.
func redact(u *url.URL) string {
	r := *u
	r.RawQuery, r.ForceQuery, r.Fragment, r.RawFragment = "", false, "", ""
	return r.String()
}

// headerParam converts the headers parameter, already checked to be an
// object of strings, and refuses what would corrupt the request.
func headerParam(v any) (http.Header, error) {
	h := make(http.Header)
	add := func(name, value string) error {
		if !validHeaderName(name) {
			return connectors.Errorf(connectors.CodeInvalidInput, "header name %q is not valid", name)
		}
		if strings.ContainsAny(value, "\r\n\x00") {
			return connectors.Errorf(connectors.CodeInvalidInput, "header %q contains a control character", name)
		}
		h.Set(name, value)
		return nil
	}
	switch m := v.(type) {
	case map[string]string:
		for name, value := range m {
			if err := add(name, value); err != nil {
				return nil, err
			}
		}
	case map[string]any:
		for name, value := range m {
			s, ok := value.(string)
			if !ok {
				return nil, connectors.Errorf(connectors.CodeInvalidInput, "header %q must be a string, got %T", name, value)
			}
			if err := add(name, s); err != nil {
				return nil, err
			}
		}
	}
	return h, nil
}

// validHeaderName reports whether name is an RFC 9110 token.
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("!#$%&'*+-.^_`|~", r):
		default:
			return false
		}
	}
	return true
}
