package services

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/textproto"
	"net/url"
	"regexp"
	"strconv"
	"syscall"

	gomail "github.com/wneessen/go-mail"
	gosmtp "github.com/wneessen/go-mail/smtp"
)

// smtpTransport sends through one SMTP server, a fresh connection per message.
type smtpTransport struct {
	host    string
	port    int
	implTLS bool
	opts    []gomail.Option
}

// NewSMTPTransport parses SMTP_URL: smtp://[user:pass@]host[:port] (port 587;
// STARTTLS when the server offers it, plain otherwise) or
// smtps://[user:pass@]host[:port] (port 465, implicit TLS).
func NewSMTPTransport(smtpURL string) (MailTransport, error) {
	// url.Parse errors quote the whole URL, password included.
	u, err := url.Parse(smtpURL)
	if err != nil || u.Hostname() == "" {
		return nil, errors.New("SMTP_URL: want smtp://[user:pass@]host[:port] or smtps://host[:port]")
	}
	t := &smtpTransport{host: u.Hostname()}
	switch u.Scheme {
	case "smtp":
		t.port = 587
		t.opts = append(t.opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	case "smtps":
		t.port, t.implTLS = 465, true
		t.opts = append(t.opts, gomail.WithSSL())
	default:
		return nil, fmt.Errorf("SMTP_URL: scheme %q is not smtp or smtps", u.Scheme)
	}
	if p := u.Port(); p != "" {
		if t.port, err = strconv.Atoi(p); err != nil || t.port < 1 || t.port > 65535 {
			return nil, fmt.Errorf("SMTP_URL: invalid port %q", p)
		}
	}
	t.opts = append(t.opts, gomail.WithPort(t.port))
	if u.User != nil {
		pass, _ := u.User.Password()
		// go-mail refuses PLAIN and LOGIN without TLS unless the server is on
		// localhost, so a stripped STARTTLS cannot leak the password.
		t.opts = append(t.opts, gomail.WithUsername(u.User.Username()), gomail.WithPassword(pass),
			gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthPlain, gomail.SMTPAuthLogin))
	}
	if _, err := gomail.NewClient(t.host, t.opts...); err != nil {
		return nil, fmt.Errorf("SMTP_URL: %w", err)
	}
	return t, nil
}

// Send delivers message unchanged to the recipients in to.
func (t *smtpTransport) Send(ctx context.Context, from string, to []string, message []byte) error {
	var conn net.Conn
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := t.dial(ctx, network, addr)
		conn = c
		return c, err
	}
	client, err := gomail.NewClient(t.host, append(t.opts, gomail.WithDialContextFunc(dial))...)
	if err != nil {
		return fmt.Errorf("smtp client: %w", err)
	}
	sc, err := client.DialToSMTPClientWithContext(ctx)
	if conn != nil {
		// go-mail leaves the connection open when the greeting, STARTTLS or
		// AUTH fails, and does not watch ctx after dialling.
		defer conn.Close()
		defer context.AfterFunc(ctx, func() { conn.Close() })()
	}
	if err != nil {
		return &smtpError{step: "connect", err: err}
	}
	if err := transmit(sc, from, to, message); err != nil {
		return err
	}
	// The server has accepted the message; a failed QUIT changes nothing.
	_ = client.CloseWithSMTPClient(sc)
	return nil
}

func (t *smtpTransport) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{}
	if !t.implTLS {
		return d.DialContext(ctx, network, addr)
	}
	td := &tls.Dialer{NetDialer: d, Config: &tls.Config{ServerName: t.host, MinVersion: tls.VersionTLS12}}
	return td.DialContext(ctx, network, addr)
}

func transmit(sc *gosmtp.Client, from string, to []string, message []byte) error {
	if err := sc.Mail("<" + from + ">"); err != nil {
		return &smtpError{step: "mail from", err: err}
	}
	for _, rcpt := range to {
		if err := sc.Rcpt("<" + rcpt + ">"); err != nil {
			return &smtpError{step: "rcpt to", err: err}
		}
	}
	w, err := sc.Data()
	if err != nil {
		return &smtpError{step: "data", err: err}
	}
	if _, err := w.Write(message); err != nil {
		w.Close()
		return &smtpError{step: "data", err: err}
	}
	if err := w.Close(); err != nil {
		return &smtpError{step: "end of data", err: err}
	}
	return nil
}

// smtpError is a failed SMTP step. Its text keeps only the step and the reply
// codes, since servers echo addresses in their replies; Unwrap has the rest.
type smtpError struct {
	step string
	err  error
}

func (e *smtpError) Unwrap() error { return e.err }

func (e *smtpError) Error() string { return "smtp " + e.step + ": " + describeSMTPFailure(e.err) }

// failureText describes err for last_error without message bytes or
// addresses, which SMTP replies and wrapped errors may carry.
func failureText(err error) string {
	var smtpErr *smtpError
	switch {
	case errors.As(err, &smtpErr):
		return smtpErr.Error()
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.As(err, new(*fs.PathError)):
		return "cannot write mail file"
	}
	return "delivery failed"
}

var enhancedCode = regexp.MustCompile(`^[245]\.\d{1,3}\.\d{1,3}\b`)

func describeSMTPFailure(err error) string {
	var reply *textproto.Error
	var netErr net.Error
	switch {
	case errors.As(err, &reply):
		if code := enhancedCode.FindString(reply.Msg); code != "" {
			return fmt.Sprintf("%d %s", reply.Code, code)
		}
		return strconv.Itoa(reply.Code)
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	case errors.As(err, new(*tls.CertificateVerificationError)), errors.As(err, new(tls.RecordHeaderError)):
		return "TLS failure"
	case errors.As(err, new(*net.OpError)):
		return "network error"
	}
	return "failed"
}
