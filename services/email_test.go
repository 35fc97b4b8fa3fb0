package services

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"consultd/internal/ical"
)

// mimeNode is one parsed MIME entity: a leaf with a decoded body, or a
// multipart with children.
type mimeNode struct {
	header    textproto.MIMEHeader
	mediaType string
	params    map[string]string
	body      []byte
	parts     []mimeNode
}

// tree names the structure, e.g. "multipart/alternative(text/plain,text/html)".
func (n mimeNode) tree() string {
	if len(n.parts) == 0 {
		return n.mediaType
	}
	names := make([]string, len(n.parts))
	for i, p := range n.parts {
		names[i] = p.tree()
	}
	return n.mediaType + "(" + strings.Join(names, ",") + ")"
}

// find returns the first leaf of mediaType, depth first.
func (n mimeNode) find(t *testing.T, mediaType string) mimeNode {
	t.Helper()
	var walk func(mimeNode) (mimeNode, bool)
	walk = func(n mimeNode) (mimeNode, bool) {
		if n.mediaType == mediaType {
			return n, true
		}
		for _, p := range n.parts {
			if found, ok := walk(p); ok {
				return found, true
			}
		}
		return mimeNode{}, false
	}
	found, ok := walk(n)
	if !ok {
		t.Fatalf("no %s part in %s", mediaType, n.tree())
	}
	return found
}

func mustParseMessage(t *testing.T, raw []byte) (*mail.Message, mimeNode) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("net/mail: %v\n%s", err, raw)
	}
	return msg, mustParseEntity(t, textproto.MIMEHeader(msg.Header), msg.Body)
}

func mustParseEntity(t *testing.T, h textproto.MIMEHeader, body io.Reader) mimeNode {
	t.Helper()
	mediaType, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type %q: %v", h.Get("Content-Type"), err)
	}
	n := mimeNode{header: h, mediaType: mediaType, params: params}
	if !strings.HasPrefix(mediaType, "multipart/") {
		n.body = mustDecodeBody(t, h.Get("Content-Transfer-Encoding"), body)
		return n
	}
	mr := multipart.NewReader(body, params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			return n
		}
		if err != nil {
			t.Fatalf("%s part: %v", mediaType, err)
		}
		n.parts = append(n.parts, mustParseEntity(t, p.Header, p))
	}
}

func mustDecodeBody(t *testing.T, cte string, body io.Reader) []byte {
	t.Helper()
	switch strings.ToLower(cte) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body)
	default:
		t.Fatalf("unexpected Content-Transfer-Encoding %q", cte)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatalf("decode %s: %v", cte, err)
	}
	return b
}

func emailTestMessage() Email {
	return Email{
		From:    Person{"Stackpoint Consulting", "consult@example.com"},
		To:      Person{"Ada Lovelace", "ada@acme.example"},
		Subject: "Your Django consultation: Tue 1 Dec, 9:00 a.m. NST",
		Text:    "Hello Ada,\nSee you then.\n",
		HTML:    "<p>Hello Ada,</p>\n<p>See you then.</p>\n",
		Date:    time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC),
	}
}

// testInviteICS is an invite's .ics with the given method.
func testInviteICS(t *testing.T, method string) []byte {
	t.Helper()
	start := time.Date(2026, 12, 1, 12, 30, 0, 0, time.UTC)
	b, err := ical.RenderInvite(ical.Invite{
		UID: "booking-42@consult.example.com", Method: method,
		Start: start, End: start.Add(30 * time.Minute), Stamp: time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC),
		Summary: "Django consultation with Stackpoint Consulting", Location: "https://meet.example.com/abc",
		Organizer: ical.Person{Name: "Stackpoint Consulting", Email: "consult@example.com"},
		Attendees: []ical.Person{{Name: "Ada Lovelace", Email: "ada@acme.example"}},
	})
	if err != nil {
		t.Fatalf("RenderInvite: %v", err)
	}
	return b
}

func mustRenderEmail(t *testing.T, e Email) []byte {
	t.Helper()
	raw, err := RenderEmail(e)
	if err != nil {
		t.Fatalf("RenderEmail: %v", err)
	}
	return raw
}

func TestRenderEmailWithCalendar(t *testing.T) {
	e := emailTestMessage()
	e.Calendar = testInviteICS(t, MethodRequest)
	e.Method = MethodRequest
	msg, root := mustParseMessage(t, mustRenderEmail(t, e))

	want := "multipart/mixed(multipart/alternative(text/plain,text/html,text/calendar),application/ics)"
	if got := root.tree(); got != want {
		t.Fatalf("MIME tree = %s, want %s", got, want)
	}
	for _, mt := range []string{"text/plain", "text/html", "text/calendar"} {
		if got := root.find(t, mt).params["charset"]; got != "UTF-8" {
			t.Fatalf("%s charset = %q, want UTF-8", mt, got)
		}
	}
	cal := root.find(t, "text/calendar")
	if got := cal.params["method"]; got != "REQUEST" {
		t.Fatalf("text/calendar method = %q, want REQUEST", got)
	}
	if !bytes.Equal(cal.body, e.Calendar) {
		t.Fatal("text/calendar body differs from the .ics")
	}
	att := root.find(t, "application/ics")
	if got := att.params["name"]; got != "invite.ics" {
		t.Fatalf("attachment name = %q", got)
	}
	disp, dparams, err := mime.ParseMediaType(att.header.Get("Content-Disposition"))
	if err != nil || disp != "attachment" || dparams["filename"] != "invite.ics" {
		t.Fatalf("Content-Disposition = %q (%v)", att.header.Get("Content-Disposition"), err)
	}
	if got := att.header.Get("Content-Transfer-Encoding"); got != "base64" || !bytes.Equal(att.body, e.Calendar) {
		t.Fatalf("attachment is %s and differs from the .ics: %v", got, !bytes.Equal(att.body, e.Calendar))
	}
	if got := string(root.find(t, "text/plain").body); got != "Hello Ada,\r\nSee you then.\r\n" {
		t.Fatalf("text body = %q", got)
	}
	if got := msg.Header.Get("MIME-Version"); got != "1.0" {
		t.Fatalf("MIME-Version = %q", got)
	}
}

func TestRenderEmailCancelMethod(t *testing.T) {
	e := emailTestMessage()
	e.Calendar, e.Method = testInviteICS(t, MethodCancel), MethodCancel
	_, root := mustParseMessage(t, mustRenderEmail(t, e))
	if got := root.find(t, "text/calendar").params["method"]; got != "CANCEL" {
		t.Fatalf("text/calendar method = %q, want CANCEL", got)
	}
}

func TestRenderEmailWithoutCalendar(t *testing.T) {
	_, root := mustParseMessage(t, mustRenderEmail(t, emailTestMessage()))
	if got, want := root.tree(), "multipart/alternative(text/plain,text/html)"; got != want {
		t.Fatalf("MIME tree = %s, want %s", got, want)
	}
}

func TestRenderEmailHeaders(t *testing.T) {
	e := emailTestMessage()
	e.To.Name = "Zoë Ærø"
	e.Subject = "Ihre Beratung: Dienstag, 1. Dezember – 9:00 Uhr, mit Zoë und Émile " + strings.Repeat("ü", 40)
	raw := mustRenderEmail(t, e)
	msg, _ := mustParseMessage(t, raw)

	dec := new(mime.WordDecoder)
	if got, err := dec.DecodeHeader(msg.Header.Get("Subject")); err != nil || got != e.Subject {
		t.Fatalf("Subject decodes to %q (%v), want %q", got, err, e.Subject)
	}
	to, err := mail.ParseAddress(msg.Header.Get("To"))
	if err != nil || to.Name != "Zoë Ærø" || to.Address != "ada@acme.example" {
		t.Fatalf("To = %q: %+v (%v)", msg.Header.Get("To"), to, err)
	}
	if date, err := msg.Header.Date(); err != nil || !date.Equal(e.Date) {
		t.Fatalf("Date = %v (%v), want %v", date, err, e.Date)
	}
	id := msg.Header.Get("Message-ID")
	if !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@example.com>") || len(id) < 20 {
		t.Fatalf("Message-ID = %q, want a random <id@example.com>", id)
	}
	head, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	for _, line := range strings.Split(string(head), "\r\n") {
		if len(line) > 998 || strings.ContainsAny(line, "\r\n") || !isASCII(line) {
			t.Fatalf("header line is too long, holds a bare line break or raw non-ASCII: %q", line)
		}
	}
}

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func TestRenderEmailLineBreaksCannotAddHeaders(t *testing.T) {
	e := emailTestMessage()
	e.To.Name = "Ada\r\nBcc: victim@example.org"
	e.From.Name = "Stackpoint\nX-Evil: 1"
	e.Subject = "Hello\r\n\r\nbody injection\rReply-To: evil@example.org"
	msg, _ := mustParseMessage(t, mustRenderEmail(t, e))

	for _, name := range []string{"Bcc", "X-Evil", "Reply-To"} {
		if v, ok := msg.Header[name]; ok {
			t.Fatalf("injected header %s: %q", name, v)
		}
	}
	if got, want := len(msg.Header), 7; got != want {
		t.Fatalf("got %d headers, want %d: %v", got, want, msg.Header)
	}
	to, err := mail.ParseAddress(msg.Header.Get("To"))
	if err != nil || to.Address != "ada@acme.example" || to.Name != "Ada Bcc: victim@example.org" {
		t.Fatalf("To = %q: %+v (%v)", msg.Header.Get("To"), to, err)
	}
	if got := msg.Header.Get("Subject"); got != "Hello body injection Reply-To: evil@example.org" {
		t.Fatalf("Subject = %q", got)
	}
}

func TestRenderEmailUsesCRLF(t *testing.T) {
	e := emailTestMessage()
	e.Calendar, e.Method = testInviteICS(t, MethodRequest), MethodRequest
	raw := mustRenderEmail(t, e)
	if n := bytes.Count(raw, []byte("\n")); n != bytes.Count(raw, []byte("\r\n")) || n == 0 {
		t.Fatalf("%d LFs, %d of them in CRLF", n, bytes.Count(raw, []byte("\r\n")))
	}
	if bytes.Count(raw, []byte("\r")) != bytes.Count(raw, []byte("\r\n")) {
		t.Fatal("bare CR in message")
	}
}

func TestRenderEmailRejects(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Email)
	}{
		{"no date", func(e *Email) { e.Date = time.Time{} }},
		{"no HTML", func(e *Email) { e.HTML = "" }},
		{"calendar without method", func(e *Email) { e.Calendar = []byte("BEGIN:VCALENDAR\r\n") }},
		{"bad recipient", func(e *Email) { e.To.Email = "ada@acme.example\r\nBcc: x@y" }},
		{"bad Message-ID", func(e *Email) { e.MessageID = "<a@b>\r\nBcc: x@y" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := emailTestMessage()
			tt.change(&e)
			if _, err := RenderEmail(e); err == nil {
				t.Fatal("RenderEmail succeeded")
			}
		})
	}
}
