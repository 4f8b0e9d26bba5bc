package httpconn_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/telos-dev/telos/connectors"
	"github.com/telos-dev/telos/connectors/httpconn"
)

func newRegistry(t *testing.T, cfg httpconn.Config) *connectors.Registry {
	t.Helper()
	if cfg.Timeout == 0 {
		cfg.Timeout = 2 * time.Second
	}
	r := connectors.NewRegistry()
	for _, a := range httpconn.Actions(cfg) {
		r.Register(a)
	}
	return r
}

// hostOf returns the host:port of a test server, the form AllowHosts takes.
func hostOf(srv *httptest.Server) string {
	return srv.Listener.Addr().String()
}

// wantCode fails unless err is a *connectors.Error with the given code and retryability.
func wantCode(t *testing.T, err error, code string, retryable bool) *connectors.Error {
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

func TestGet(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Seen-Auth", r.Header.Get("Authorization"))
		w.Header().Set("X-Seen-Agent", r.UserAgent())
		w.Header().Add("X-Multi", "first")
		w.Header().Add("X-Multi", "second")
		io.WriteString(w, "hello "+r.URL.Query().Get("name"))
	}))
	defer srv.Close()
	reg := newRegistry(t, httpconn.Config{AllowHosts: []string{hostOf(srv)}, UserAgent: "telos-test"})

	res, err := reg.Call(context.Background(), "http.get", connectors.Request{Input: map[string]any{
		"url":     srv.URL + "/greet?name=ada",
		"headers": map[string]any{"Authorization": "Bearer t0ken"},
	}})
	if err != nil {
		t.Fatalf("got error %v, want none", err)
	}
	if got, want := res.Output["status"], 200; got != want {
		t.Errorf("got status %v, want %v", got, want)
	}
	if got, want := res.Output["body"], "hello ada"; got != want {
		t.Errorf("got body %q, want %q", got, want)
	}
	headers := res.Output["headers"].(map[string]any)
	for name, want := range map[string]string{
		"x-seen-auth":  "Bearer t0ken",
		"x-seen-agent": "telos-test",
		"x-multi":      "first",
	} {
		if got := headers[name]; got != want {
			t.Errorf("got header %s = %q, want %q", name, got, want)
		}
	}
	if res.OutcomeRef != "" {
		t.Errorf("got outcome ref %q for a read, want none", res.OutcomeRef)
	}
	if err := reg.CheckOutput("http.get", res.Output); err != nil {
		t.Errorf("output does not match the declared schema: %v", err)
	}
}

func TestAllowHostsMatching(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(hostOf(srv))

	tests := []struct {
		allow   string
		allowed bool
	}{
		{hostOf(srv), true},
		{"127.0.0.1", true},
		{" 127.0.0.1:" + port + " ", true},
		{"127.0.0.1:1", false},
		{"127.0.0.2", false},
		{"localhost", false}, // the URL says 127.0.0.1
	}
	for _, tt := range tests {
		t.Run(tt.allow, func(t *testing.T) {
			reg := newRegistry(t, httpconn.Config{AllowHosts: []string{tt.allow}})
			_, err := reg.Call(context.Background(), "http.get", connectors.Request{Input: map[string]any{"url": srv.URL}})
			if tt.allowed && err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if !tt.allowed {
				wantCode(t, err, connectors.CodeForbiddenDestination, false)
			}
		})
	}

	t.Run("case-insensitive name", func(t *testing.T) {
		reg := newRegistry(t, httpconn.Config{AllowHosts: []string{"LOCALHOST:" + port}})
		_, err := reg.Call(context.Background(), "http.get", connectors.Request{Input: map[string]any{"url": "http://LocalHost:" + port + "/"}})
		if err != nil {
			t.Fatalf("got error %v, want none", err)
		}
	})
}

func TestPost(t *testing.T) {
	type seen struct{ contentType, body, header string }
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			t.Errorf("got method %s, want POST", r.Method)
		}
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Header.Get("Content-Type"), string(b), r.Header.Get("X-Trace")}
		if r.URL.Path == "/created" {
			w.Header().Set("Location", "/items/42")
			w.WriteHeader(http.StatusCreated)
		}
		io.WriteString(w, `{"ok":true}`)
	}))
	defer srv.Close()
	reg := newRegistry(t, httpconn.Config{AllowHosts: []string{hostOf(srv)}})

	tests := []struct {
		name    string
		input   map[string]any
		want    seen
		status  int
		outcome string
	}{
		{
			name:    "text body",
			input:   map[string]any{"url": srv.URL + "/hook?token=secret", "body": "ping"},
			want:    seen{"text/plain; charset=utf-8", "ping", ""},
			status:  200,
			outcome: "POST " + srv.URL + "/hook 200",
		},
		{
			name:    "object body as JSON",
			input:   map[string]any{"url": srv.URL + "/hook", "body": map[string]any{"n": 1.0}, "headers": map[string]any{"X-Trace": "abc"}},
			want:    seen{"application/json", `{"n":1}`, "abc"},
			status:  200,
			outcome: "POST " + srv.URL + "/hook 200",
		},
		{
			name:    "content type given",
			input:   map[string]any{"url": srv.URL + "/created", "body": "a=1", "content_type": "application/x-www-form-urlencoded"},
			want:    seen{"application/x-www-form-urlencoded", "a=1", ""},
			status:  201,
			outcome: srv.URL + "/items/42",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := reg.Call(context.Background(), "http.post", connectors.Request{Input: tt.input})
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if s := <-got; s != tt.want {
				t.Errorf("got request %+v, want %+v", s, tt.want)
			}
			if res.Output["status"] != tt.status {
				t.Errorf("got status %v, want %d", res.Output["status"], tt.status)
			}
			if res.OutcomeRef != tt.outcome {
				t.Errorf("got outcome ref %q, want %q", res.OutcomeRef, tt.outcome)
			}
			if err := reg.CheckOutput("http.post", res.Output); err != nil {
				t.Errorf("output does not match the declared schema: %v", err)
			}
		})
	}

	t.Run("dry run sends nothing", func(t *testing.T) {
		res, err := reg.Call(context.Background(), "http.post", connectors.Request{
			DryRun: true,
			Input:  map[string]any{"url": srv.URL + "/hook", "body": "ping"},
		})
		if err != nil {
			t.Fatalf("got error %v, want none", err)
		}
		if res.Output["dry_run"] != true || res.Output["would_post_to"] != srv.URL+"/hook" || res.OutcomeRef != "" {
			t.Errorf("got %v %q, want a dry-run output naming %s and no outcome", res.Output, res.OutcomeRef, srv.URL+"/hook")
		}
		select {
		case s := <-got:
			t.Errorf("got request %+v, want none", s)
		default:
		}
	})

	t.Run("dry run still checks the destination", func(t *testing.T) {
		_, err := reg.Call(context.Background(), "http.post", connectors.Request{
			DryRun: true,
			Input:  map[string]any{"url": "http://169.254.169.254/latest", "body": "x"},
		})
		wantCode(t, err, connectors.CodeForbiddenDestination, false)
	})
}

func TestResponseSizeCap(t *testing.T) {
	const limit = 1024
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := limit
		if r.URL.Path != "/exact" {
			n = limit + 1
		}
		body := strings.Repeat("x", n)
		if r.URL.Path == "/chunked" {
			// Flushing before writing forces chunked encoding: no Content-Length to go by.
			w.(http.Flusher).Flush()
		}
		io.WriteString(w, body)
	}))
	defer srv.Close()
	reg := newRegistry(t, httpconn.Config{AllowHosts: []string{hostOf(srv)}, MaxResponseBytes: limit})

	res, err := reg.Call(context.Background(), "http.get", connectors.Request{Input: map[string]any{"url": srv.URL + "/exact"}})
	if err != nil {
		t.Fatalf("got error %v at the limit, want none", err)
	}
	if got := len(res.Output["body"].(string)); got != limit {
		t.Errorf("got %d bytes, want %d", got, limit)
	}
	for _, path := range []string{"/with-length", "/chunked"} {
		t.Run(path, func(t *testing.T) {
			_, err := reg.Call(context.Background(), "http.get", connectors.Request{Input: map[string]any{"url": srv.URL + path}})
			wantCode(t, err, connectors.CodeTooLarge, false)
		})
	}
}

func TestErrorStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/missing":
			http.Error(w, "no such page", http.StatusNotFound)
		case "/busy":
			w.Header().Set("Retry-After", "120")
			http.Error(w, "slow down", http.StatusTooManyRequests)
		case "/down":
			w.Header().Set("Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT")
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	reg := newRegistry(t, httpconn.Config{AllowHosts: []string{hostOf(srv)}})

	tests := []struct {
		path       string
		retryable  bool
		retryAfter time.Duration
		inMessage  string
	}{
		{"/missing", false, 0, "404 Not Found: no such page"},
		{"/busy", true, 120 * time.Second, "retry after 120"},
		{"/down", true, 0, "retry after Wed, 21 Oct 2015"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			_, err := reg.Call(context.Background(), "http.get", connectors.Request{Input: map[string]any{"url": srv.URL + tt.path}})
			cerr := wantCode(t, err, connectors.CodeUpstream, tt.retryable)
			if cerr.RetryAfter != tt.retryAfter {
				t.Errorf("got retry after %v, want %v", cerr.RetryAfter, tt.retryAfter)
			}
			if !strings.Contains(cerr.Message, tt.inMessage) {
				t.Errorf("got message %q, want it to contain %q", cerr.Message, tt.inMessage)
			}
		})
	}
}

func TestInvalidInput(t *testing.T) {
	reg := newRegistry(t, httpconn.Config{})
	tests := []struct {
		name  string
		id    string
		input map[string]any
		code  string
	}{
		{"credentials in url", "http.get", map[string]any{"url": "https://user:pw@example.com/"}, connectors.CodeInvalidInput},
		{"no host", "http.get", map[string]any{"url": "http:///path"}, connectors.CodeInvalidInput},
		{"relative url", "http.get", map[string]any{"url": "/etc/passwd"}, connectors.CodeForbiddenDestination},
		{"file scheme", "http.get", map[string]any{"url": "file:///etc/passwd"}, connectors.CodeForbiddenDestination},
		{"gopher scheme", "http.get", map[string]any{"url": "gopher://example.com/"}, connectors.CodeForbiddenDestination},
		{"header injection", "http.get", map[string]any{"url": "https://example.com/", "headers": map[string]any{"X-A": "b\r\nHost: evil"}}, connectors.CodeInvalidInput},
		{"bad header name", "http.get", map[string]any{"url": "https://example.com/", "headers": map[string]any{"X A": "b"}}, connectors.CodeInvalidInput},
		{"post without body", "http.post", map[string]any{"url": "https://example.com/"}, connectors.CodeInvalidInput},
		{"post body number", "http.post", map[string]any{"url": "https://example.com/", "body": 3.0}, connectors.CodeInvalidInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := reg.Call(context.Background(), tt.id, connectors.Request{Input: tt.input, DryRun: true})
			wantCode(t, err, tt.code, false)
		})
	}
}

// countingListener accepts connections on a loopback port and counts them,
// to prove that a refused request never connected.
func countingListener(t *testing.T) (port string, accepted *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	accepted = new(atomic.Int64)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	_, port, _ = net.SplitHostPort(ln.Addr().String())
	return port, accepted
}

func TestGuardRefusesInternalDestinations(t *testing.T) {
	port, accepted := countingListener(t)
	// No AllowHosts: the guard is fully on.
	reg := newRegistry(t, httpconn.Config{Timeout: 500 * time.Millisecond})

	hosts := []string{
		"127.0.0.1",
		"[::1]",
		"0.0.0.0",
		"2130706433",
		"0x7f000001",
		"0x7f.1",
		"127.1",
		"0177.0.0.1",
		"[::ffff:127.0.0.1]",
		"[::ffff:7f00:1]",
		"[64:ff9b::7f00:1]",
		"10.0.0.1",
		"172.16.0.1",
		"192.168.0.1",
		"100.64.0.1",
		"169.254.169.254",
		"[fe80::1%25eth0]",
		"[fd00::1]",
		"metadata.google.internal",
		"METADATA.GOOGLE.INTERNAL.",
		"metadata",
		"localhost",
		"LocalHost",
		"app.localhost",
	}
	for _, host := range hosts {
		t.Run(host, func(t *testing.T) {
			for _, id := range []string{"http.get", "http.post"} {
				input := map[string]any{"url": "http://" + host + ":" + port + "/"}
				if id == "http.post" {
					input["body"] = "x"
				}
				_, err := reg.Call(context.Background(), id, connectors.Request{Input: input})
				wantCode(t, err, connectors.CodeForbiddenDestination, false)
			}
		})
	}
	if n := accepted.Load(); n != 0 {
		t.Errorf("got %d connections to the loopback listener, want 0", n)
	}
}

func TestRedirects(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("got a request to the unallowed server, want none")
	}))
	defer other.Close()
	_, otherPort, _ := net.SplitHostPort(hostOf(other))

	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/to-loopback":
			http.Redirect(w, r, "http://127.0.0.1:"+otherPort+"/", http.StatusFound)
		case "/to-localhost":
			http.Redirect(w, r, "http://localhost:"+otherPort+"/", http.StatusFound)
		case "/to-metadata":
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
		case "/to-file":
			http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
		case "/to-credentials":
			http.Redirect(w, r, "http://user:pw@"+hostOf(srv)+"/final", http.StatusFound)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/hop":
			http.Redirect(w, r, "/final", http.StatusMovedPermanently)
		case "/final":
			io.WriteString(w, "arrived")
		}
	}))
	defer srv.Close()
	reg := newRegistry(t, httpconn.Config{AllowHosts: []string{hostOf(srv)}})

	tests := []struct {
		path string
		code string // empty: the call succeeds
	}{
		{"/hop", ""},
		{"/to-loopback", connectors.CodeForbiddenDestination},
		{"/to-localhost", connectors.CodeForbiddenDestination},
		{"/to-metadata", connectors.CodeForbiddenDestination},
		{"/to-file", connectors.CodeForbiddenDestination},
		{"/to-credentials", connectors.CodeInvalidInput},
		{"/loop", connectors.CodeUpstream},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			res, err := reg.Call(context.Background(), "http.get", connectors.Request{Input: map[string]any{"url": srv.URL + tt.path}})
			if tt.code == "" {
				if err != nil {
					t.Fatalf("got error %v, want none", err)
				}
				if res.Output["body"] != "arrived" {
					t.Errorf("got body %q, want %q", res.Output["body"], "arrived")
				}
				return
			}
			wantCode(t, err, tt.code, false)
		})
	}
}

// rebindingDNS is a DNS server that answers A queries for any name with the
// next address in answers (repeating the last), and AAAA queries with none.
// It speaks the TCP framing, which Go's resolver uses on a conn that is not a
// net.PacketConn.
type rebindingDNS struct {
	answers []net.IP
	queries atomic.Int64
}

// resolver returns a pure-Go resolver whose every DNS exchange goes to d.
func (d *rebindingDNS) resolver() *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
			client, server := net.Pipe()
			go d.serve(server)
			return client, nil
		},
	}
}

func (d *rebindingDNS) serve(c net.Conn) {
	defer c.Close()
	for {
		var size [2]byte
		if _, err := io.ReadFull(c, size[:]); err != nil {
			return
		}
		query := make([]byte, binary.BigEndian.Uint16(size[:]))
		if _, err := io.ReadFull(c, query); err != nil {
			return
		}
		resp := d.answer(query)
		if resp == nil {
			return
		}
		if _, err := c.Write(binary.BigEndian.AppendUint16(nil, uint16(len(resp)))); err != nil {
			return
		}
		if _, err := c.Write(resp); err != nil {
			return
		}
	}
}

func (d *rebindingDNS) answer(query []byte) []byte {
	const headerLen = 12
	// Walk the question name (uncompressed labels) to find its end.
	i := headerLen
	for i < len(query) && query[i] != 0 {
		i += int(query[i]) + 1
	}
	if i+5 > len(query) {
		return nil
	}
	question := query[headerLen : i+5] // name, root label, type, class
	qtype := binary.BigEndian.Uint16(query[i+1:])

	var answers [][]byte
	if qtype == 1 { // A
		n := int(d.queries.Add(1)) - 1
		ip := d.answers[min(n, len(d.answers)-1)].To4()
		rr := []byte{0xc0, headerLen}             // name: pointer to the question
		rr = binary.BigEndian.AppendUint16(rr, 1) // type A
		rr = binary.BigEndian.AppendUint16(rr, 1) // class IN
		rr = binary.BigEndian.AppendUint32(rr, 0) // TTL: never cache
		rr = binary.BigEndian.AppendUint16(rr, 4)
		answers = append(answers, append(rr, ip...))
	}
	resp := append([]byte(nil), query[:2]...) // id
	resp = append(resp, 0x85, 0x80)           // response, authoritative, recursion desired and available
	resp = binary.BigEndian.AppendUint16(resp, 1)
	resp = binary.BigEndian.AppendUint16(resp, uint16(len(answers)))
	resp = append(resp, 0, 0, 0, 0) // no authority or additional records
	resp = append(resp, question...)
	for _, rr := range answers {
		resp = append(resp, rr...)
	}
	return resp
}

func TestDNSRebindingRefusedAtDial(t *testing.T) {
	port, accepted := countingListener(t)
	dns := &rebindingDNS{answers: []net.IP{net.ParseIP("203.0.113.10"), net.ParseIP("127.0.0.1")}}
	resolver := dns.resolver()
	const host = "rebind.example.com"

	// A guard that resolved the name first and then let the client resolve
	// it again would see this public address and pass the request.
	addrs, err := resolver.LookupIPAddr(context.Background(), host)
	if err != nil {
		t.Fatalf("first lookup: %v", err)
	}
	if len(addrs) != 1 || !addrs[0].IP.Equal(net.ParseIP("203.0.113.10")) {
		t.Fatalf("got first lookup %v, want [203.0.113.10]", addrs)
	}
	if err := httpconn.CheckIP(addrs[0].IP); err != nil {
		t.Fatalf("got %v for the first answer, want it to pass", err)
	}

	// The request resolves again, gets 127.0.0.1, and the dialer refuses it.
	reg := newRegistry(t, httpconn.Config{Resolver: resolver, Timeout: 2 * time.Second})
	_, err = reg.Call(context.Background(), "http.get", connectors.Request{Input: map[string]any{
		"url": "http://" + host + ":" + port + "/",
	}})
	cerr := wantCode(t, err, connectors.CodeForbiddenDestination, false)
	if !strings.Contains(cerr.Message, "127.0.0.1") {
		t.Errorf("got message %q, want it to name 127.0.0.1", cerr.Message)
	}
	if n := dns.queries.Load(); n < 2 {
		t.Errorf("got %d A queries, want the request to have resolved again", n)
	}
	if n := accepted.Load(); n != 0 {
		t.Errorf("got %d connections to the loopback listener, want 0", n)
	}
}

// The JSON round trip of the output is what the workflow stores; make sure
// nothing in it fails to encode.
func TestOutputEncodes(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	reg := newRegistry(t, httpconn.Config{AllowHosts: []string{hostOf(srv)}})
	res, err := reg.Call(context.Background(), "http.get", connectors.Request{Input: map[string]any{"url": srv.URL}})
	if err != nil {
		t.Fatalf("got error %v, want none", err)
	}
	if _, err := json.Marshal(res.Output); err != nil {
		t.Errorf("got %v encoding the output, want none", err)
	}
}
