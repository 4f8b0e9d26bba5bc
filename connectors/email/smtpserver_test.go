package email_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"
)

// smtpServer is a small SMTP submission server (RFC 5321) on 127.0.0.1: it
// offers STARTTLS with a certificate made for the test, requires it before
// AUTH PLAIN or AUTH LOGIN, requires authentication before MAIL, and records
// every message it accepts. The reply fields script its refusals.
type smtpServer struct {
	Addr     string
	RootCAs  *x509.CertPool
	user     string
	password string

	// Greeting replaces the 220 greeting; a 4xx or 5xx closes the connection.
	Greeting string
	// NoStartTLS hides STARTTLS, as a server that cannot encrypt would.
	NoStartTLS bool
	// ImplicitTLS speaks TLS from the first byte (SMTPS) instead of offering STARTTLS.
	ImplicitTLS bool
	// RcptReply answers RCPT TO; empty accepts.
	RcptReply func(addr string) string
	// DataReply answers the end of DATA; empty accepts.
	DataReply string
	// EchoCredentials repeats a refused password in the 535 reply, as a
	// careless server might.
	EchoCredentials bool

	ln      net.Listener
	tlsConf *tls.Config
	mu      sync.Mutex
	conns   int
	got     []received
	wg      sync.WaitGroup
}

// received is one message the server accepted.
type received struct {
	From       string
	Recipients []string
	Data       string
	TLS        bool
	User       string
}

func newSMTPServer(t *testing.T, user, password string, configure func(*smtpServer)) *smtpServer {
	t.Helper()
	cert, pool := selfSignedCert(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	s := &smtpServer{
		Addr: ln.Addr().String(), RootCAs: pool, user: user, password: password,
		ln: ln, tlsConf: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
	}
	if configure != nil {
		configure(s)
	}
	s.wg.Add(1)
	go s.serve(t)
	t.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
	})
	return s
}

// Port is the port the server listens on.
func (s *smtpServer) Port() int {
	return s.ln.Addr().(*net.TCPAddr).Port
}

func (s *smtpServer) connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

func (s *smtpServer) messages() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.got...)
}

func (s *smtpServer) serve(t *testing.T) {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns++
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			if err := s.session(conn); err != nil {
				t.Logf("smtp server: %v", err)
			}
		}()
	}
}

// session speaks SMTP on one connection until QUIT or a closing reply.
func (s *smtpServer) session(conn net.Conn) error {
	encrypted := false
	if s.ImplicitTLS {
		tlsConn := tls.Server(conn, s.tlsConf)
		if err := tlsConn.Handshake(); err != nil {
			return err
		}
		conn, encrypted = tlsConn, true
	}
	tp := textproto.NewConn(conn)
	reply := func(lines ...string) error {
		for _, l := range lines {
			if err := tp.PrintfLine("%s", l); err != nil {
				return err
			}
		}
		return nil
	}
	greeting := "220 mail.test ESMTP ready"
	if s.Greeting != "" {
		greeting = s.Greeting
	}
	if err := reply(greeting); err != nil || !strings.HasPrefix(greeting, "2") {
		return err
	}

	var (
		user     string
		from     string
		rcpts    []string
		mailOpen bool
	)
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return err
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			lines := []string{"250-mail.test greets " + arg, "250-PIPELINING", "250-SIZE 10240000"}
			if !encrypted && !s.NoStartTLS {
				lines = append(lines, "250-STARTTLS")
			}
			lines = append(lines, "250-AUTH PLAIN LOGIN", "250 ENHANCEDSTATUSCODES")
			err = reply(lines...)
		case "HELO":
			err = reply("250 mail.test")
		case "STARTTLS":
			if encrypted || s.NoStartTLS {
				err = reply("503 5.5.1 TLS already active or not offered")
				break
			}
			if err := reply("220 2.0.0 Ready to start TLS"); err != nil {
				return err
			}
			tlsConn := tls.Server(conn, s.tlsConf)
			if err := tlsConn.Handshake(); err != nil {
				return err
			}
			conn, encrypted = tlsConn, true
			tp = textproto.NewConn(conn)
			// RFC 3207: the client must start over with EHLO; forget everything.
			user, from, rcpts, mailOpen = "", "", nil, false
		case "AUTH":
			if !encrypted {
				err = reply("538 5.7.11 Encryption required for requested authentication mechanism")
				break
			}
			var u, p string
			u, p, err = s.readAuth(tp, arg)
			if err != nil {
				return err
			}
			if u == s.user && p == s.password {
				user = u
				err = reply("235 2.7.0 Authentication successful")
			} else if s.EchoCredentials {
				err = reply("535 5.7.8 Authentication credentials invalid: " + u + " / " + p)
			} else {
				err = reply("535 5.7.8 Authentication credentials invalid")
			}
		case "MAIL":
			if s.user != "" && user == "" {
				err = reply("530 5.7.0 Authentication required")
				break
			}
			from, rcpts, mailOpen = address(arg), nil, true
			err = reply("250 2.1.0 OK")
		case "RCPT":
			if !mailOpen {
				err = reply("503 5.5.1 MAIL first")
				break
			}
			addr := address(arg)
			r := "250 2.1.5 OK"
			if s.RcptReply != nil {
				if scripted := s.RcptReply(addr); scripted != "" {
					r = scripted
				}
			}
			if strings.HasPrefix(r, "250") {
				rcpts = append(rcpts, addr)
			}
			err = reply(r)
		case "DATA":
			if len(rcpts) == 0 {
				err = reply("503 5.5.1 RCPT first")
				break
			}
			if err := reply("354 End data with <CR><LF>.<CR><LF>"); err != nil {
				return err
			}
			data, readErr := tp.ReadDotBytes()
			if readErr != nil {
				return readErr
			}
			r := "250 2.0.0 OK queued"
			if s.DataReply != "" {
				r = s.DataReply
			}
			if strings.HasPrefix(r, "250") {
				s.mu.Lock()
				s.got = append(s.got, received{From: from, Recipients: rcpts, Data: string(data), TLS: encrypted, User: user})
				s.mu.Unlock()
			}
			from, rcpts, mailOpen = "", nil, false
			err = reply(r)
		case "RSET":
			from, rcpts, mailOpen = "", nil, false
			err = reply("250 2.0.0 OK")
		case "NOOP":
			err = reply("250 2.0.0 OK")
		case "QUIT":
			reply("221 2.0.0 Bye")
			return nil
		default:
			err = reply("502 5.5.2 Command not recognized")
		}
		if err != nil {
			return err
		}
	}
}

// readAuth reads the credentials of AUTH PLAIN (RFC 4616) or AUTH LOGIN.
func (s *smtpServer) readAuth(tp *textproto.Conn, arg string) (user, password string, err error) {
	mech, initial, _ := strings.Cut(arg, " ")
	ask := func(prompt string) (string, error) {
		if err := tp.PrintfLine("334 %s", prompt); err != nil {
			return "", err
		}
		line, err := tp.ReadLine()
		if err != nil {
			return "", err
		}
		b, _ := base64.StdEncoding.DecodeString(line)
		return string(b), nil
	}
	switch strings.ToUpper(mech) {
	case "PLAIN":
		var resp string
		if initial == "" {
			if resp, err = ask(""); err != nil {
				return "", "", err
			}
		} else {
			b, _ := base64.StdEncoding.DecodeString(initial)
			resp = string(b)
		}
		parts := strings.Split(resp, "\x00")
		if len(parts) != 3 {
			return "", "", nil
		}
		return parts[1], parts[2], nil
	case "LOGIN":
		if user, err = ask(base64.StdEncoding.EncodeToString([]byte("Username:"))); err != nil {
			return "", "", err
		}
		password, err = ask(base64.StdEncoding.EncodeToString([]byte("Password:")))
		return user, password, err
	}
	return "", "", nil
}

// address takes the path out of "FROM:<a@b> BODY=8BITMIME" or "TO:<a@b>".
func address(arg string) string {
	_, rest, _ := strings.Cut(arg, ":")
	rest = strings.TrimSpace(rest)
	if i := strings.IndexByte(rest, '>'); strings.HasPrefix(rest, "<") && i > 0 {
		return rest[1:i]
	}
	addr, _, _ := strings.Cut(rest, " ")
	return addr
}

// selfSignedCert makes a certificate for 127.0.0.1 and a pool that trusts it.
func selfSignedCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("generate key: %v", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "mail.test"},
		DNSNames:              []string{"localhost", "mail.test"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("create certificate: %v", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("parse certificate: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}
