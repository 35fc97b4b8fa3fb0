package services

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"
)

// mailLineEnd ends every line of a message (RFC 5322 §2.1).
const mailLineEnd = "\r\n"

// mailHeaderWidth is where header lines fold (RFC 5322 §2.1.1 asks for 78).
const mailHeaderWidth = 78

// Person is a name and an email address.
type Person struct{ Name, Email string }

// Email is one message, rendered to RFC 5322 bytes for the outbox.
type Email struct {
	From, To   Person
	Subject    string
	Text, HTML string
	Calendar   []byte // optional .ics
	Method     string // "REQUEST" or "CANCEL" when Calendar is set
	Date       time.Time
	MessageID  string // "<random@domain>"; generate when empty
}

// RenderEmail renders e as a MIME message: text, HTML and, with a calendar,
// the iTIP part calendar clients act on plus the same .ics as an attachment.
func RenderEmail(e Email) ([]byte, error) {
	if err := e.check(); err != nil {
		return nil, fmt.Errorf("render email: %w", err)
	}
	from, err := mailAddress(e.From)
	if err != nil {
		return nil, fmt.Errorf("render email: from: %w", err)
	}
	to, err := mailAddress(e.To)
	if err != nil {
		return nil, fmt.Errorf("render email: to: %w", err)
	}
	msgID, err := e.messageID()
	if err != nil {
		return nil, fmt.Errorf("render email: %w", err)
	}
	ctype, body, err := mailBody(e)
	if err != nil {
		return nil, fmt.Errorf("render email: body: %w", err)
	}

	var b bytes.Buffer
	b.Grow(len(body) + 1024)
	writeMailHeader(&b, "From", from)
	writeMailHeader(&b, "To", to)
	writeMailHeader(&b, "Subject", mime.QEncoding.Encode("UTF-8", mailHeaderText(e.Subject)))
	writeMailHeader(&b, "Date", e.Date.Format(time.RFC1123Z))
	writeMailHeader(&b, "Message-ID", msgID)
	writeMailHeader(&b, "MIME-Version", "1.0")
	writeMailHeader(&b, "Content-Type", ctype)
	b.WriteString(mailLineEnd)
	b.Write(body)
	return b.Bytes(), nil
}

func (e Email) check() error {
	switch {
	case e.Date.IsZero():
		return errors.New("date not set")
	case e.Text == "" || e.HTML == "":
		return errors.New("text and HTML bodies are both required")
	case len(e.Calendar) > 0 && e.Method != MethodRequest && e.Method != MethodCancel:
		return fmt.Errorf("calendar method %q is neither REQUEST nor CANCEL", e.Method)
	}
	return nil
}

// messageID keeps a given id only when it cannot break the header.
func (e Email) messageID() (string, error) {
	if e.MessageID != "" {
		if !strings.HasPrefix(e.MessageID, "<") || !strings.HasSuffix(e.MessageID, ">") ||
			strings.ContainsFunc(e.MessageID, func(r rune) bool { return r <= ' ' || r >= 0x7f }) {
			return "", fmt.Errorf("malformed Message-ID %q", e.MessageID)
		}
		return e.MessageID, nil
	}
	_, domain, _ := strings.Cut(strings.TrimSpace(e.From.Email), "@")
	return "<" + strings.ToLower(rand.Text()) + "@" + domain + ">", nil
}

// mailAddress formats p for a header; net/mail encodes non-ASCII names and
// the name loses its line breaks first so it cannot start a header.
func mailAddress(p Person) (string, error) {
	addr, err := mail.ParseAddress(p.Email)
	if err != nil || addr.Address != strings.TrimSpace(p.Email) {
		return "", fmt.Errorf("invalid email address %q", p.Email)
	}
	return (&mail.Address{Name: mailHeaderText(p.Name), Address: addr.Address}).String(), nil
}

// mailHeaderText turns control characters (CR and LF among them) into
// spaces and collapses runs of white space.
func mailHeaderText(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// writeMailHeader writes one header, folding at spaces past 78 columns.
// Values come from mailAddress, mailHeaderText or fixed formats, so they
// hold no line breaks of their own.
func writeMailHeader(b *bytes.Buffer, name, value string) {
	width := len(name) + 1
	b.WriteString(name + ":")
	for _, word := range strings.Split(value, " ") {
		if width+1+len(word) > mailHeaderWidth && width > len(name)+1 {
			b.WriteString(mailLineEnd)
			width = 0
		}
		b.WriteString(" " + word)
		width += 1 + len(word)
	}
	b.WriteString(mailLineEnd)
}

// mailBody builds the MIME tree and returns its top-level content type.
func mailBody(e Email) (string, []byte, error) {
	altType, alt, err := alternativeBody(e)
	if err != nil || len(e.Calendar) == 0 {
		return altType, alt, err
	}
	var b bytes.Buffer
	b.Grow(len(alt) + base64Size(len(e.Calendar)) + 512)
	mw := multipart.NewWriter(&b)
	p, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {altType}})
	if err != nil {
		return "", nil, err
	}
	if _, err := p.Write(alt); err != nil {
		return "", nil, err
	}
	// Clients that ignore text/calendar still offer the attachment.
	err = writeBase64Part(mw, textproto.MIMEHeader{
		"Content-Type":        {`application/ics; name="invite.ics"`},
		"Content-Disposition": {`attachment; filename="invite.ics"`},
	}, e.Calendar)
	if err != nil {
		return "", nil, err
	}
	if err := mw.Close(); err != nil {
		return "", nil, err
	}
	return multipartType("mixed", mw), b.Bytes(), nil
}

// alternativeBody holds text, HTML and, when present, the iTIP calendar.
func alternativeBody(e Email) (string, []byte, error) {
	var b bytes.Buffer
	// Quoted-printable adds a little to mostly ASCII text.
	b.Grow((len(e.Text)+len(e.HTML))*11/10 + base64Size(len(e.Calendar)) + 1024)
	mw := multipart.NewWriter(&b)
	if err := writeQPPart(mw, "text/plain; charset=UTF-8", e.Text); err != nil {
		return "", nil, err
	}
	if err := writeQPPart(mw, "text/html; charset=UTF-8", e.HTML); err != nil {
		return "", nil, err
	}
	if len(e.Calendar) > 0 {
		ctype := "text/calendar; method=" + e.Method + "; charset=UTF-8"
		if err := writeBase64Part(mw, textproto.MIMEHeader{"Content-Type": {ctype}}, e.Calendar); err != nil {
			return "", nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return "", nil, err
	}
	return multipartType("alternative", mw), b.Bytes(), nil
}

func multipartType(subtype string, mw *multipart.Writer) string {
	return mime.FormatMediaType("multipart/"+subtype, map[string]string{"boundary": mw.Boundary()})
}

// writeQPPart writes text as quoted-printable, which turns its LFs into CRLFs.
func writeQPPart(mw *multipart.Writer, ctype, text string) error {
	p, err := mw.CreatePart(textproto.MIMEHeader{
		"Content-Type":              {ctype},
		"Content-Transfer-Encoding": {"quoted-printable"},
	})
	if err != nil {
		return err
	}
	qp := quotedprintable.NewWriter(p)
	if _, err := io.WriteString(qp, text); err != nil {
		return err
	}
	return qp.Close()
}

// writeBase64Part writes data as base64 in 76-column lines (RFC 2045 §6.8).
func writeBase64Part(mw *multipart.Writer, h textproto.MIMEHeader, data []byte) error {
	h.Set("Content-Transfer-Encoding", "base64")
	p, err := mw.CreatePart(h)
	if err != nil {
		return err
	}
	enc := make([]byte, base64.StdEncoding.EncodedLen(len(data)))
	base64.StdEncoding.Encode(enc, data)
	lines := make([]byte, 0, base64Size(len(data)))
	for len(enc) > 76 {
		lines = append(append(lines, enc[:76]...), mailLineEnd...)
		enc = enc[76:]
	}
	lines = append(append(lines, enc...), mailLineEnd...)
	_, err = p.Write(lines)
	return err
}

// base64Size is at most two more than the length of n bytes in base64
// lines of 76 with CRLFs: room enough to write them without growing.
func base64Size(n int) int {
	enc := base64.StdEncoding.EncodedLen(n)
	return enc + (enc/76+1)*len(mailLineEnd)
}
