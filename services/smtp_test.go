package services_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"math/big"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"consultd/internal/pgtest"
	"consultd/services"
)

type delivery struct {
	from string
	to   []string
	data []byte
}

// smtpSink is an SMTP backend that records every message it accepts.
type smtpSink struct {
	user, pass string // when set, AUTH PLAIN is required
	rejectRcpt string // refused with the address echoed, as real servers do
	mu         sync.Mutex
	got        []delivery
}

func (s *smtpSink) deliveries() []delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got)
}

func (s *smtpSink) NewSession(*smtp.Conn) (smtp.Session, error) { return &sinkSession{sink: s}, nil }

type sinkSession struct {
	sink   *smtpSink
	authed bool
	cur    delivery
}

func (s *sinkSession) AuthMechanisms() []string {
	if s.sink.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *sinkSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.sink.user || pass != s.sink.pass {
			return smtp.ErrAuthFailed
		}
		s.authed = true
		return nil
	}), nil
}

func (s *sinkSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.sink.user != "" && !s.authed {
		return smtp.ErrAuthRequired
	}
	s.cur = delivery{from: from}
	return nil
}

func (s *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if to == s.sink.rejectRcpt {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "<" + to + ">: no such user"}
	}
	s.cur.to = append(s.cur.to, to)
	return nil
}

func (s *sinkSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = data
	s.sink.mu.Lock()
	s.sink.got = append(s.sink.got, s.cur)
	s.sink.mu.Unlock()
	return nil
}

func (s *sinkSession) Reset()        { s.cur = delivery{} }
func (s *sinkSession) Logout() error { return nil }

// serveSMTP serves sink on l until the test ends and returns the port.
func serveSMTP(t *testing.T, l net.Listener, sink *smtpSink, tlsConfig *tls.Config) int {
	t.Helper()
	srv := smtp.NewServer(sink)
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = sink.user != ""
	srv.TLSConfig = tlsConfig
	go srv.Serve(l) //nolint:errcheck // returns when Close stops it
	t.Cleanup(func() { srv.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

func listen(t *testing.T, addr string) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen %s: %v", addr, err)
	}
	return l
}

// freePort returns a port on which nothing listens.
func freePort(t *testing.T) int {
	t.Helper()
	l := listen(t, "127.0.0.1:0")
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func mustTransport(t *testing.T, smtpURL string) services.MailTransport {
	t.Helper()
	tr, err := services.NewSMTPTransport(smtpURL)
	if err != nil {
		t.Fatalf("NewSMTPTransport: %v", err)
	}
	return tr
}

func TestMailerSMTPRefusesUnverifiedTLS(t *testing.T) {
	cfg := selfSignedTLS(t)
	cases := map[string]func(*testing.T) string{
		"STARTTLS offered": func(t *testing.T) string {
			return fmt.Sprintf("smtp://127.0.0.1:%d", serveSMTP(t, listen(t, "127.0.0.1:0"), &smtpSink{}, cfg))
		},
		"implicit TLS": func(t *testing.T) string {
			return fmt.Sprintf("smtps://127.0.0.1:%d", serveSMTP(t, tls.NewListener(listen(t, "127.0.0.1:0"), cfg), &smtpSink{}, nil))
		},
	}
	for name, serve := range cases {
		t.Run(name, func(t *testing.T) {
			db := pgtest.NewDB(t)
			m := newMailer(db, mustTransport(t, serve(t)), newTestClock(), services.MailerConfig{})
			id := mustEnqueue(t, db, testMail(1))
			deliver(t, m, 0)
			if got, want := stateOf(t, db, id).LastError, "smtp connect: TLS failure"; got != want {
				t.Fatalf("last_error = %q, want %q", got, want)
			}
		})
	}
}

func TestSMTPTransportRejectsBadURL(t *testing.T) {
	for _, u := range []string{"", "http://127.0.0.1", "smtp://", "smtp://127.0.0.1:0", "smtp://127.0.0.1:x", "smtp://u:p@h:99999"} {
		if _, err := services.NewSMTPTransport(u); err == nil {
			t.Errorf("NewSMTPTransport(%q) accepted", u)
		} else if strings.Contains(err.Error(), ":p@") {
			t.Errorf("NewSMTPTransport(%q) error reveals the password: %v", u, err)
		}
	}
}

// selfSignedTLS returns a server configuration no client trusts.
func selfSignedTLS(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}
