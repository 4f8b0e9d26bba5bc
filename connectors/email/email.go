// Package email provides email.send, which sends a plain-text message through
// an SMTP submission server with go-mail.
//
// The connection is encrypted by default (STARTTLS, required) and
// authenticated with the password of the team that owns the run, fetched
// through Config.Password when the call is made. Recipients are checked
// before any connection: each must parse as an address and, if the operator
// lists AllowDomains, belong to one of those domains.
package email

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/mail"
	"net/textproto"
	"slices"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/telos-dev/telos/connectors"
)

// TLSPolicy says how the connection to the SMTP server is encrypted.
type TLSPolicy string

const (
	// StartTLS connects in plain text and upgrades with STARTTLS, refusing a
	// server that does not offer it. It is the default (the zero value) and
	// uses port 587 unless Config.Port says otherwise.
	StartTLS TLSPolicy = ""
	// ImplicitTLS speaks TLS from the first byte ("SMTPS"), on port 465 by default.
	ImplicitTLS TLSPolicy = "tls"
	// NoTLS sends everything in plain text, on port 25 by default. It is only
	// for a relay on the same host or network; go-mail refuses to send a
	// password over it to anything but localhost.
	NoTLS TLSPolicy = "none"
)

// Config configures email.send.
type Config struct {
	// Host is the SMTP server's name, which its certificate must match.
	Host string
	// Port is the SMTP port; the default follows TLSPolicy.
	Port int
	// Username authenticates with the server; empty means no authentication.
	Username string
	// Password returns the password of the team that owns the run. It is
	// called once per message, and only if Username is set.
	Password func(ctx context.Context, team string) (string, error)
	// From is the sender, such as "Telos <telos@example.com>".
	From string
	// TLSPolicy says how the connection is encrypted; default StartTLS.
	TLSPolicy TLSPolicy
	// AllowDomains lists the recipient domains the operator permits, matched
	// exactly and case-insensitively (no subdomains); empty permits any.
	AllowDomains []string
	// TLSConfig verifies the server; nil means the system roots. Its
	// ServerName defaults to Host.
	TLSConfig *tls.Config
}

const (
	timeout       = 30 * time.Second
	maxRecipients = 50
)

// Actions returns email.send.
func Actions(cfg Config) []connectors.Action {
	s := &sender{cfg: cfg}
	return []connectors.Action{{
		ID:          "email.send",
		Class:       connectors.Write,
		Description: "Send a plain-text email to one or more recipients. Returns its Message-ID.",
		InputSchema: json.RawMessage(`{
			"type": "object",
			"properties": {
				"to": {
					"type": ["string", "array"],
					"minLength": 1,
					"items": {"type": "string", "minLength": 1},
					"minItems": 1,
					"maxItems": 50,
					"description": "The recipients: one address, a comma-separated list, or a list of addresses."
				},
				"subject": {"type": "string", "minLength": 1, "maxLength": 500, "description": "The subject line."},
				"body": {"type": "string", "minLength": 1, "maxLength": 1000000, "description": "The message, as plain text."}
			},
			"required": ["to", "subject", "body"],
			"additionalProperties": false
		}`),
		OutputSchema: json.RawMessage(`{
			"type": "object",
			"properties": {
				"message_id": {"type": "string"},
				"recipients": {"type": "array", "items": {"type": "string"}},
				"dry_run": {"type": "boolean"},
				"would_write_to": {"type": "string"}
			}
		}`),
		Destination: "to",
		Do:          s.send,
	}}
}

type sender struct {
	cfg Config
}

func (s *sender) send(ctx context.Context, req connectors.Request) (connectors.Result, error) {
	const action = "email.send"
	to, err := s.recipients(req.Input["to"])
	if err != nil {
		return connectors.Result{}, err
	}
	subject, _ := req.Input["subject"].(string)
	if strings.TrimSpace(subject) == "" || strings.ContainsAny(subject, "\r\n\x00") {
		return connectors.Result{}, connectors.Errorf(connectors.CodeInvalidInput, "%s: subject must be one non-empty line", action)
	}
	body, _ := req.Input["body"].(string)
	if strings.TrimSpace(body) == "" {
		return connectors.Result{}, connectors.Errorf(connectors.CodeInvalidInput, "%s: body is empty", action)
	}
	if req.DryRun {
		return connectors.Result{Output: map[string]any{"dry_run": true, "would_write_to": strings.Join(to, ", ")}}, nil
	}
	from, err := mail.ParseAddress(s.cfg.From)
	if err != nil {
		return connectors.Result{}, fmt.Errorf("%s: sender address %q: %w", action, s.cfg.From, err)
	}
	password, err := s.password(ctx, req.Team)
	if err != nil {
		return connectors.Result{}, fmt.Errorf("%s: %w", action, err)
	}
	client, d, err := s.client(password)
	if err != nil {
		return connectors.Result{}, fmt.Errorf("%s: %w", action, err)
	}
	defer d.close()

	id := messageID(req, from.Address, to, subject, body)
	msg := gomail.NewMsg()
	msg.FromMailAddress(from)
	if err := msg.To(to...); err != nil {
		return connectors.Result{}, connectors.Errorf(connectors.CodeInvalidInput, "%s: recipients: %v", action, err)
	}
	msg.Subject(subject)
	msg.SetBodyString(gomail.TypeTextPlain, body)
	msg.SetMessageIDWithValue(id)
	msg.SetDate()
	msg.SetUserAgent("Telos")
	// RFC 3834: tells auto-responders not to answer an agent's mail.
	msg.SetGenHeader("Auto-Submitted", "auto-generated")

	conn, err := client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return connectors.Result{}, smtpError(ctx, password, err)
	}
	sendErr := client.SendWithSMTPClient(conn, msg)
	// Once the server has taken the message, a failure to say goodbye does
	// not undo the delivery; reporting it would make the step look failed.
	_ = client.CloseWithSMTPClient(conn)
	if !msg.IsDelivered() {
		if sendErr == nil {
			sendErr = errors.New("the server did not accept the message")
		}
		return connectors.Result{}, smtpError(ctx, password, sendErr)
	}
	recipients := make([]any, len(to))
	for i, r := range to {
		recipients[i] = r
	}
	return connectors.Result{
		Output:     map[string]any{"message_id": id, "recipients": recipients},
		OutcomeRef: "email:" + id,
	}, nil
}

// recipients parses the to parameter into bare addresses, refusing any that
// do not parse or whose domain the operator has not allowed.
func (s *sender) recipients(v any) ([]string, error) {
	const action = "email.send"
	var entries []string
	switch t := v.(type) {
	case string:
		entries = []string{t}
	case []string:
		entries = t
	case []any:
		for _, e := range t {
			str, ok := e.(string)
			if !ok {
				return nil, connectors.Errorf(connectors.CodeInvalidInput, "%s: to must hold strings, got %T", action, e)
			}
			entries = append(entries, str)
		}
	default:
		return nil, connectors.Errorf(connectors.CodeInvalidInput, "%s: to must be an address or a list of addresses, got %T", action, v)
	}
	var out []string
	for _, e := range entries {
		list, err := mail.ParseAddressList(e)
		if err != nil {
			return nil, connectors.Errorf(connectors.CodeInvalidInput, "%s: to: %q is not an email address", action, e)
		}
		for _, a := range list {
			domain := a.Address[strings.LastIndex(a.Address, "@")+1:]
			if !s.allowed(domain) {
				return nil, connectors.Errorf(connectors.CodeForbiddenDestination, "%s: recipient domain %q is not one the operator allows", action, strings.ToLower(domain))
			}
			if !slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, a.Address) }) {
				out = append(out, a.Address)
			}
		}
	}
	if len(out) == 0 {
		return nil, connectors.Errorf(connectors.CodeInvalidInput, "%s: to names no recipient", action)
	}
	if len(out) > maxRecipients {
		return nil, connectors.Errorf(connectors.CodeInvalidInput, "%s: to names more than %d recipients", action, maxRecipients)
	}
	return out, nil
}

func (s *sender) allowed(domain string) bool {
	if len(s.cfg.AllowDomains) == 0 {
		return true
	}
	return slices.ContainsFunc(s.cfg.AllowDomains, func(d string) bool { return strings.EqualFold(d, domain) })
}

func (s *sender) password(ctx context.Context, team string) (string, error) {
	if s.cfg.Username == "" {
		return "", nil
	}
	if s.cfg.Password == nil {
		return "", errors.New("no SMTP password source configured")
	}
	p, err := s.cfg.Password(ctx, team)
	if err != nil {
		return "", fmt.Errorf("SMTP password for team %q: %w", team, err)
	}
	if p == "" {
		return "", fmt.Errorf("team %q has no SMTP password configured", team)
	}
	return p, nil
}

// client builds a go-mail client for one message (the password is the
// team's, so clients are not shared) and the dialer that connects it.
func (s *sender) client(password string) (*gomail.Client, *dialer, error) {
	if s.cfg.Host == "" {
		return nil, nil, errors.New("no SMTP host configured")
	}
	tlsConfig := &tls.Config{}
	if s.cfg.TLSConfig != nil {
		tlsConfig = s.cfg.TLSConfig.Clone()
	}
	if tlsConfig.ServerName == "" {
		tlsConfig.ServerName = s.cfg.Host
	}
	if tlsConfig.MinVersion == 0 {
		tlsConfig.MinVersion = tls.VersionTLS12
	}
	d := &dialer{}
	port := s.cfg.Port
	opts := []gomail.Option{gomail.WithTimeout(timeout), gomail.WithTLSConfig(tlsConfig)}
	switch s.cfg.TLSPolicy {
	case StartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
		port = cmp.Or(port, 587)
	case ImplicitTLS:
		// The dialer speaks TLS from the first byte, so go-mail must not
		// look for STARTTLS on top of it.
		d.tls = tlsConfig
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
		port = cmp.Or(port, 465)
	case NoTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
		port = cmp.Or(port, 25)
	default:
		return nil, nil, fmt.Errorf("unknown TLS policy %q", s.cfg.TLSPolicy)
	}
	opts = append(opts, gomail.WithPort(port), gomail.WithDialContextFunc(d.dial))
	if s.cfg.Username != "" {
		// The strongest mechanism the server offers. PLAIN and LOGIN refuse
		// by themselves to send a password over an unencrypted connection
		// to anything but localhost.
		opts = append(opts,
			gomail.WithOpportunisticSMTPAuth(
				gomail.SMTPAuthSCRAMSHA256PLUS, gomail.SMTPAuthSCRAMSHA256,
				gomail.SMTPAuthSCRAMSHA1PLUS, gomail.SMTPAuthSCRAMSHA1,
				gomail.SMTPAuthCramMD5, gomail.SMTPAuthPlain, gomail.SMTPAuthLogin),
			gomail.WithUsername(s.cfg.Username), gomail.WithPassword(password))
	}
	c, err := gomail.NewClient(s.cfg.Host, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("SMTP client: %w", err)
	}
	return c, d, nil
}

// dialer connects go-mail and keeps the connection, because go-mail leaves
// it open when the greeting, STARTTLS or AUTH fails.
type dialer struct {
	tls  *tls.Config // nil: plain TCP, perhaps upgraded later with STARTTLS
	conn net.Conn
}

func (d *dialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var nd net.Dialer
	conn, err := nd.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	if d.tls != nil {
		tc := tls.Client(conn, d.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, err
		}
		conn = tc
	}
	d.conn = conn
	return conn, nil
}

func (d *dialer) close() {
	if d.conn != nil {
		d.conn.Close()
	}
}

// messageID names the message. Within a run it is derived from the step and
// the message itself, so a retried step sends the same Message-ID and
// receivers that de-duplicate on it show the message once.
func messageID(req connectors.Request, from string, to []string, subject, body string) string {
	domain := from[strings.LastIndex(from, "@")+1:]
	var sum []byte
	if req.RunID != "" {
		h := sha256.New()
		for _, part := range []string{req.RunID, req.StepID, strings.Join(to, ","), subject, body} {
			io.WriteString(h, part)
			h.Write([]byte{0})
		}
		sum = h.Sum(nil)[:16]
	} else {
		sum = make([]byte, 16)
		rand.Read(sum)
	}
	return "telos." + hex.EncodeToString(sum) + "@" + domain
}

// smtpError turns a failure to send into an *Error the workflow can act on.
// SMTP says in the reply code whether a refusal is temporary (4xx) or
// permanent (5xx); a refusal means the server did not take the message, so
// a temporary one may be sent again. The password never reaches a message.
func smtpError(ctx context.Context, password string, err error) error {
	const action = "email.send"
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%s: %w", action, ctxErr)
	}
	code, text := 0, err.Error()
	var protoErr *textproto.Error
	var sendErr *gomail.SendError
	switch {
	case errors.As(err, &protoErr):
		code, text = protoErr.Code, fmt.Sprintf("%d %s", protoErr.Code, protoErr.Msg)
	case errors.As(err, &sendErr):
		code = sendErr.ErrorCode()
	}
	text = connectors.Redact(text, password)
	switch {
	case code == 530 || code == 534 || code == 535 || code == 538:
		return &connectors.Error{Code: connectors.CodeAuth, Message: fmt.Sprintf("%s: the SMTP server rejected the credentials (%s)", action, text)}
	case code >= 400 && code < 500:
		return &connectors.Error{
			Code: connectors.CodeRateLimited, Retryable: true, RateLimited: true,
			Message: fmt.Sprintf("%s: the SMTP server refused the message for now (%s)", action, text),
		}
	case code >= 500:
		return &connectors.Error{Code: connectors.CodeUpstream, Message: fmt.Sprintf("%s: the SMTP server refused the message (%s)", action, text)}
	}
	var certErr *tls.CertificateVerificationError
	if errors.As(err, &certErr) {
		return &connectors.Error{Code: connectors.CodeUpstream, Message: fmt.Sprintf("%s: the SMTP server's certificate is not trusted (%s)", action, text)}
	}
	var netErr net.Error
	if errors.As(err, &netErr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		// The connection failed; whether the server took the message is
		// unknown, so only a read would be safe to repeat.
		return &connectors.Error{Code: connectors.CodeUpstream, Retryable: true, Message: fmt.Sprintf("%s: %s", action, text)}
	}
	// A server without STARTTLS or without a usable AUTH mechanism:
	// configuration that a retry will not change.
	return &connectors.Error{Code: connectors.CodeUpstream, Message: fmt.Sprintf("%s: %s", action, text)}
}
