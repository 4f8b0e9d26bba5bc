package email_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/telos-dev/telos/connectors"
	"github.com/telos-dev/telos/connectors/email"
)

const (
	testUser     = "telos@acme.test"
	testPassword = "smtp-CANARY-pass-31337"
)

// passwords counts how often the connector asked for a password.
type passwords struct {
	mu    sync.Mutex
	teams []string
}

func (p *passwords) source(password string) func(context.Context, string) (string, error) {
	return func(_ context.Context, team string) (string, error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.teams = append(p.teams, team)
		return password, nil
	}
}

func (p *passwords) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.teams)
}

// configFor points email.send at srv, trusting its certificate.
func configFor(srv *smtpServer, pw func(context.Context, string) (string, error)) email.Config {
	return email.Config{
		Host:      "127.0.0.1",
		Port:      srv.Port(),
		Username:  testUser,
		Password:  pw,
		From:      "Telos <telos@acme.test>",
		TLSConfig: &tls.Config{RootCAs: srv.RootCAs},
	}
}

func newRegistry(t *testing.T, cfg email.Config) *connectors.Registry {
	t.Helper()
	r := connectors.NewRegistry()
	for _, a := range email.Actions(cfg) {
		r.Register(a)
	}
	return r
}

// parsed is the part of a received message the tests check.
type parsed struct {
	From, To, Subject, MessageID, AutoSubmitted, Body string
}

func parseMessage(t *testing.T, data string) parsed {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(data))
	if err != nil {
		t.Fatalf("received message does not parse: %v\n%s", err, data)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		t.Fatalf("subject %q does not decode: %v", m.Header.Get("Subject"), err)
	}
	var body io.Reader = m.Body
	if strings.EqualFold(m.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		body = quotedprintable.NewReader(m.Body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatalf("body does not decode: %v", err)
	}
	return parsed{
		From:          m.Header.Get("From"),
		To:            m.Header.Get("To"),
		Subject:       subject,
		MessageID:     m.Header.Get("Message-Id"),
		AutoSubmitted: m.Header.Get("Auto-Submitted"),
		Body:          strings.TrimRight(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n"),
	}
}

var messageIDPattern = regexp.MustCompile(`^telos\.[0-9a-f]{32}@acme\.test$`)

func TestSend(t *testing.T) {
	const (
		subject = "Nightly build: failed ✗"
		body    = "Hello Ada,\n\nthe nightly build failed at step 3 — see the log.\nA line with = and trailing dots..."
	)
	tests := []struct {
		name           string
		to             any
		allow          []string
		serverOpts     func(*smtpServer)
		policy         email.TLSPolicy
		wantRecipients []string
		wantTo         string
	}{
		{
			name:           "one address",
			to:             "ada@acme.test",
			wantRecipients: []string{"ada@acme.test"},
			wantTo:         "<ada@acme.test>",
		},
		{
			name:           "a list with a display name",
			to:             []any{"Ada Lovelace <ada@acme.test>", "grace@example.org"},
			wantRecipients: []string{"ada@acme.test", "grace@example.org"},
			wantTo:         "<ada@acme.test>, <grace@example.org>",
		},
		{
			name:           "a comma-separated string, duplicates once",
			to:             "ada@acme.test, grace@example.org, ADA@acme.test",
			wantRecipients: []string{"ada@acme.test", "grace@example.org"},
			wantTo:         "<ada@acme.test>, <grace@example.org>",
		},
		{
			name:           "allowed domains match without regard to case",
			to:             "ada@Acme.TEST",
			allow:          []string{"example.org", "ACME.test"},
			wantRecipients: []string{"ada@Acme.TEST"},
			wantTo:         "<ada@Acme.TEST>",
		},
		{
			name:           "implicit TLS",
			to:             "ada@acme.test",
			serverOpts:     func(s *smtpServer) { s.ImplicitTLS = true },
			policy:         email.ImplicitTLS,
			wantRecipients: []string{"ada@acme.test"},
			wantTo:         "<ada@acme.test>",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newSMTPServer(t, testUser, testPassword, tt.serverOpts)
			var pw passwords
			cfg := configFor(srv, pw.source(testPassword))
			cfg.AllowDomains = tt.allow
			cfg.TLSPolicy = tt.policy
			reg := newRegistry(t, cfg)

			req := connectors.Request{RunID: "run-1", StepID: "notify", Team: "platform", Input: map[string]any{
				"to": tt.to, "subject": subject, "body": body,
			}}
			res, err := reg.Call(context.Background(), "email.send", req)
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if err := reg.CheckOutput("email.send", res.Output); err != nil {
				t.Errorf("output does not match the action's schema: %v", err)
			}
			id, _ := res.Output["message_id"].(string)
			if !messageIDPattern.MatchString(id) {
				t.Fatalf("got message id %q, want one matching %s", id, messageIDPattern)
			}
			wantOutput := map[string]any{"message_id": id, "recipients": toAny(tt.wantRecipients)}
			if !reflect.DeepEqual(res.Output, wantOutput) {
				t.Errorf("got output %v, want %v", res.Output, wantOutput)
			}
			if got, want := res.OutcomeRef, "email:"+id; got != want {
				t.Errorf("got outcome ref %q, want %q", got, want)
			}
			if got := pw.teams; !reflect.DeepEqual(got, []string{"platform"}) {
				t.Errorf("got password requests for teams %q, want [platform]", got)
			}

			msgs := srv.messages()
			if len(msgs) != 1 {
				t.Fatalf("server received %d messages, want 1", len(msgs))
			}
			got := msgs[0]
			if got.From != "telos@acme.test" {
				t.Errorf("got envelope sender %q, want %q", got.From, "telos@acme.test")
			}
			if !reflect.DeepEqual(got.Recipients, tt.wantRecipients) {
				t.Errorf("got envelope recipients %q, want %q", got.Recipients, tt.wantRecipients)
			}
			if !got.TLS || got.User != testUser {
				t.Errorf("got message over TLS %v as user %q, want TLS as %q", got.TLS, got.User, testUser)
			}
			want := parsed{
				From:          `"Telos" <telos@acme.test>`,
				To:            tt.wantTo,
				Subject:       subject,
				MessageID:     "<" + id + ">",
				AutoSubmitted: "auto-generated",
				Body:          body,
			}
			if p := parseMessage(t, got.Data); p != want {
				t.Errorf("got message\n%+v\nwant\n%+v", p, want)
			}

			// A retried step sends the same Message-ID, so receivers can drop the copy.
			again, err := reg.Call(context.Background(), "email.send", req)
			if err != nil {
				t.Fatalf("second send: got error %v, want none", err)
			}
			if again.OutcomeRef != res.OutcomeRef {
				t.Errorf("retry got outcome ref %q, want the first one %q", again.OutcomeRef, res.OutcomeRef)
			}
		})
	}
}

func TestMessageIDDiffersForADifferentMessage(t *testing.T) {
	srv := newSMTPServer(t, testUser, testPassword, nil)
	var pw passwords
	reg := newRegistry(t, configFor(srv, pw.source(testPassword)))
	send := func(body string) string {
		t.Helper()
		res, err := reg.Call(context.Background(), "email.send", connectors.Request{RunID: "run-1", StepID: "notify", Input: map[string]any{
			"to": "ada@acme.test", "subject": "Status", "body": body,
		}})
		if err != nil {
			t.Fatalf("got error %v, want none", err)
		}
		return res.OutcomeRef
	}
	if a, b := send("first"), send("second"); a == b {
		t.Errorf("got the same outcome ref %q for two different messages, want different", a)
	}
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
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

func TestSendFailures(t *testing.T) {
	tests := []struct {
		name            string
		serverOpts      func(*smtpServer)
		password        string
		untrusted       bool
		wantCode        string
		wantRetryable   bool
		wantRateLimited bool
		wantInMessage   []string
	}{
		{
			name:          "wrong password",
			password:      "wrong-CANARY-pass",
			wantCode:      connectors.CodeAuth,
			wantInMessage: []string{"email.send: the SMTP server rejected the credentials (535 5.7.8 Authentication credentials invalid)"},
		},
		{
			name:          "a password echoed back is scrubbed",
			serverOpts:    func(s *smtpServer) { s.EchoCredentials = true },
			password:      "echoed-CANARY-pass",
			wantCode:      connectors.CodeAuth,
			wantInMessage: []string{"email.send: the SMTP server rejected the credentials (535 5.7.8 Authentication credentials invalid: telos@acme.test / [redacted])"},
		},
		{
			name:            "421 service not available",
			serverOpts:      func(s *smtpServer) { s.Greeting = "421 4.3.2 Service not available, closing transmission channel" },
			wantCode:        connectors.CodeRateLimited,
			wantRetryable:   true,
			wantRateLimited: true,
			wantInMessage:   []string{"email.send: the SMTP server refused the message for now (421 4.3.2 Service not available, closing transmission channel)"},
		},
		{
			name: "450 mailbox busy",
			serverOpts: func(s *smtpServer) {
				s.RcptReply = func(string) string { return "450 4.2.1 Mailbox busy, try again later" }
			},
			wantCode:        connectors.CodeRateLimited,
			wantRetryable:   true,
			wantRateLimited: true,
			wantInMessage:   []string{"email.send: the SMTP server refused the message for now (", "450", "4.2.1 Mailbox busy, try again later"},
		},
		{
			name:            "451 at the end of data",
			serverOpts:      func(s *smtpServer) { s.DataReply = "451 4.3.0 Local error in processing" },
			wantCode:        connectors.CodeRateLimited,
			wantRetryable:   true,
			wantRateLimited: true,
			wantInMessage:   []string{"email.send: the SMTP server refused the message for now (", "451", "4.3.0 Local error in processing"},
		},
		{
			name:          "550 no such mailbox",
			serverOpts:    func(s *smtpServer) { s.RcptReply = func(string) string { return "550 5.1.1 No such user here" } },
			wantCode:      connectors.CodeUpstream,
			wantInMessage: []string{"email.send: the SMTP server refused the message (sending SMTP RCPT TO command: 550", "5.1.1 No such user here"},
		},
		{
			name:          "554 refused content",
			serverOpts:    func(s *smtpServer) { s.DataReply = "554 5.7.1 Message rejected as spam" },
			wantCode:      connectors.CodeUpstream,
			wantInMessage: []string{"email.send: the SMTP server refused the message (", "554", "5.7.1 Message rejected as spam"},
		},
		{
			name:          "no STARTTLS is refused, not sent in plain text",
			serverOpts:    func(s *smtpServer) { s.NoStartTLS = true },
			wantCode:      connectors.CodeUpstream,
			wantInMessage: []string{"email.send: ", "does not support STARTTLS"},
		},
		{
			name:          "an untrusted certificate",
			untrusted:     true,
			wantCode:      connectors.CodeUpstream,
			wantInMessage: []string{"email.send: the SMTP server's certificate is not trusted ("},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newSMTPServer(t, testUser, testPassword, tt.serverOpts)
			password := tt.password
			if password == "" {
				password = testPassword
			}
			var pw passwords
			cfg := configFor(srv, pw.source(password))
			if tt.untrusted {
				cfg.TLSConfig = nil
			}
			reg := newRegistry(t, cfg)

			_, err := reg.Call(context.Background(), "email.send", connectors.Request{Team: "platform", Input: map[string]any{
				"to": "ada@acme.test", "subject": "Status", "body": "All green.",
			}})
			cerr := wantError(t, err, tt.wantCode, tt.wantRetryable)
			if cerr.RateLimited != tt.wantRateLimited {
				t.Errorf("got rate limited %v, want %v", cerr.RateLimited, tt.wantRateLimited)
			}
			for _, want := range tt.wantInMessage {
				if !strings.Contains(cerr.Message, want) {
					t.Errorf("got message %q, want it to contain %q", cerr.Message, want)
				}
			}
			if strings.Contains(err.Error(), password) {
				t.Errorf("error %q contains the password", err)
			}
			if n := len(srv.messages()); n != 0 {
				t.Errorf("server accepted %d messages, want 0", n)
			}
		})
	}
}

func TestRefusedBeforeConnecting(t *testing.T) {
	many := make([]string, 51)
	for i := range many {
		many[i] = "user" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + "@acme.test"
	}
	tests := []struct {
		name        string
		input       map[string]any
		allow       []string
		wantCode    string
		wantMessage string
	}{
		{"not an address", map[string]any{"to": "ada at acme", "subject": "s", "body": "b"}, nil,
			connectors.CodeInvalidInput, `email.send: to: "ada at acme" is not an email address`},
		{"one bad address in a list", map[string]any{"to": []any{"ada@acme.test", "grace@"}, "subject": "s", "body": "b"}, nil,
			connectors.CodeInvalidInput, `email.send: to: "grace@" is not an email address`},
		{"domain not allowed", map[string]any{"to": "eve@evil.test", "subject": "s", "body": "b"}, []string{"acme.test"},
			connectors.CodeForbiddenDestination, `email.send: recipient domain "evil.test" is not one the operator allows`},
		{"one domain in a list not allowed", map[string]any{"to": "ada@acme.test, eve@sub.acme.test", "subject": "s", "body": "b"}, []string{"acme.test"},
			connectors.CodeForbiddenDestination, `email.send: recipient domain "sub.acme.test" is not one the operator allows`},
		{"header injection in the subject", map[string]any{"to": "ada@acme.test", "subject": "Hi\r\nBcc: eve@evil.test", "body": "b"}, nil,
			connectors.CodeInvalidInput, `email.send: subject must be one non-empty line`},
		{"blank body", map[string]any{"to": "ada@acme.test", "subject": "s", "body": " \n "}, nil,
			connectors.CodeInvalidInput, `email.send: body is empty`},
		{"missing body", map[string]any{"to": "ada@acme.test", "subject": "s"}, nil,
			connectors.CodeInvalidInput, `email.send: body: missing`},
		{"empty list", map[string]any{"to": []any{}, "subject": "s", "body": "b"}, nil,
			connectors.CodeInvalidInput, `email.send: to: minItems: got 0, want 1`},
		{"too many recipients", map[string]any{"to": strings.Join(many, ","), "subject": "s", "body": "b"}, nil,
			connectors.CodeInvalidInput, `email.send: to names more than 50 recipients`},
		{"unknown parameter", map[string]any{"to": "ada@acme.test", "subject": "s", "body": "b", "bcc": "eve@evil.test"}, nil,
			connectors.CodeInvalidInput, `email.send: bcc: unknown parameter`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newSMTPServer(t, testUser, testPassword, nil)
			var pw passwords
			cfg := configFor(srv, pw.source(testPassword))
			cfg.AllowDomains = tt.allow
			reg := newRegistry(t, cfg)

			_, err := reg.Call(context.Background(), "email.send", connectors.Request{Team: "platform", Input: tt.input})
			cerr := wantError(t, err, tt.wantCode, false)
			if cerr.Message != tt.wantMessage {
				t.Errorf("got message %q, want %q", cerr.Message, tt.wantMessage)
			}
			if n := srv.connections(); n != 0 {
				t.Errorf("got %d connections, want 0", n)
			}
			if n := pw.count(); n != 0 {
				t.Errorf("got %d password fetches, want 0", n)
			}
		})
	}
}

func TestDryRunMakesNoConnection(t *testing.T) {
	srv := newSMTPServer(t, testUser, testPassword, nil)
	var pw passwords
	reg := newRegistry(t, configFor(srv, pw.source(testPassword)))

	res, err := reg.Call(context.Background(), "email.send", connectors.Request{Team: "platform", DryRun: true, Input: map[string]any{
		"to": []any{"ada@acme.test", "Grace <grace@example.org>"}, "subject": "Status", "body": "All green.",
	}})
	if err != nil {
		t.Fatalf("got error %v, want none", err)
	}
	want := map[string]any{"dry_run": true, "would_write_to": "ada@acme.test, grace@example.org"}
	if !reflect.DeepEqual(res.Output, want) {
		t.Errorf("got output %v, want %v", res.Output, want)
	}
	if res.OutcomeRef != "" {
		t.Errorf("got outcome ref %q, want none", res.OutcomeRef)
	}
	if err := reg.CheckOutput("email.send", res.Output); err != nil {
		t.Errorf("output does not match the action's schema: %v", err)
	}
	if n := srv.connections(); n != 0 {
		t.Errorf("got %d connections, want 0", n)
	}
	if n := pw.count(); n != 0 {
		t.Errorf("got %d password fetches, want 0", n)
	}
}
