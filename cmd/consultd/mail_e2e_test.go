package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/jmoiron/sqlx"

	"consultd/internal/pgtest"
	"consultd/services"
)

// mailbox is an SMTP server inside the test that keeps what it receives.
type mailbox struct {
	mu       sync.Mutex
	messages []received
}

type received struct {
	to   string
	data []byte
}

type mailboxSession struct {
	box *mailbox
	to  string
}

func (b *mailbox) NewSession(*smtp.Conn) (smtp.Session, error) { return &mailboxSession{box: b}, nil }
func (s *mailboxSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *mailboxSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = to
	return nil
}
func (s *mailboxSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.box.mu.Lock()
	defer s.box.mu.Unlock()
	s.box.messages = append(s.box.messages, received{to: s.to, data: data})
	return nil
}
func (s *mailboxSession) Reset()        {}
func (s *mailboxSession) Logout() error { return nil }

func startMailbox(t *testing.T) (*mailbox, string) {
	t.Helper()
	box := &mailbox{}
	srv := smtp.NewServer(box)
	srv.Domain = "localhost"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln) //nolint:errcheck // ends when Close stops it
	t.Cleanup(func() { srv.Close() })
	return box, "smtp://" + ln.Addr().String()
}

// waitFor returns the first n messages once they have arrived.
func (b *mailbox) waitFor(t *testing.T, n int) []received {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		b.mu.Lock()
		got := append([]received(nil), b.messages...)
		b.mu.Unlock()
		if len(got) >= n {
			return got
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("mailbox got fewer than %d messages", n)
	return nil
}

// calendarPart digs the text/calendar alternative out of a message.
func calendarPart(t *testing.T, raw []byte) (method string, ics []byte) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	var walk func(io.Reader, string, string) bool
	walk = func(body io.Reader, ctype, encoding string) bool {
		mt, params, _ := mime.ParseMediaType(ctype)
		if mt == "text/calendar" {
			method = params["method"]
			if strings.EqualFold(encoding, "base64") {
				body = base64.NewDecoder(base64.StdEncoding, body)
			}
			ics, _ = io.ReadAll(body)
			return true
		}
		if !strings.HasPrefix(mt, "multipart/") {
			return false
		}
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err != nil {
				return false
			}
			if walk(p, p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding")) {
				return true
			}
		}
	}
	if !walk(msg.Body, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding")) {
		t.Fatal("message has no text/calendar part")
	}
	return method, ics
}

// checkWithOutsideParsers runs libical and ical.js on an invite.
func checkWithOutsideParsers(t *testing.T, ics []byte) map[string]any {
	t.Helper()
	file := filepath.Join(t.TempDir(), "invite.ics")
	if err := os.WriteFile(file, ics, 0o600); err != nil {
		t.Fatal(err)
	}
	var summary map[string]any
	for _, argv := range [][]string{{"python3", "../../scripts/check_ics.py", file}, {"node", "../../testdata/icaljs/check.mjs", file}} {
		out, err := exec.Command(argv[0], argv[1:]...).Output()
		if err != nil {
			stderr := ""
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = string(ee.Stderr)
			}
			t.Fatalf("%s rejects the invite (%v): %s\n%s", argv[1], err, stderr, ics)
		}
		if err := json.Unmarshal(out, &summary); err != nil {
			t.Fatalf("%s printed %q", argv[1], out)
		}
	}
	return summary
}

func TestBookingMailJourneyOverSMTP(t *testing.T) {
	box, smtpURL := startMailbox(t)
	db, dbURL := pgtest.NewDBWithURL(t)
	if _, err := services.SeedDemo(context.Background(), services.NewConsultants(db)); err != nil {
		t.Fatal(err)
	}
	app := startApp(t, map[string]string{"DATABASE_URL": dbURL, "SMTP_URL": smtpURL, "SMTP_FROM": "Stackpoint <consult@consult.example>"})
	leadID, _ := newLeadVia(t, app, firstAnswers(t, app), "pat@acme.example.com")

	_, body := get(t, app.URL+"/api/v1/slots?lead_id="+leadID+"&days=7&tz=America/Halifax", nil)
	var open struct {
		Timezone string
		Slots    []struct{ Start, End string }
	}
	if err := json.Unmarshal([]byte(body), &open); err != nil || open.Timezone != "America/Halifax" || len(open.Slots) < 2 {
		t.Fatalf("slots: %v %s", err, body)
	}
	if !strings.HasSuffix(open.Slots[0].Start, "-04:00") {
		t.Fatalf("slot %s is not in Halifax time", open.Slots[0].Start)
	}
	resp, bk := postJSON(t, app.URL+"/api/v1/bookings", map[string]any{"lead_id": leadID, "start": open.Slots[0].Start, "timezone": "America/Halifax"})
	if resp.StatusCode != http.StatusCreated || bk["status"] != "confirmed" || bk["start"] != open.Slots[0].Start {
		t.Fatalf("booking = %d %v", resp.StatusCode, bk)
	}
	manage := bk["manage_url"].(string)
	token := manage[strings.LastIndex(manage, "/")+1:]

	msgs := box.waitFor(t, 2)
	var invite received
	for _, m := range msgs {
		if m.to == "pat@acme.example.com" {
			invite = m
		}
	}
	method, ics := calendarPart(t, invite.data)
	summary := checkWithOutsideParsers(t, ics)
	if method != "REQUEST" || summary["method"] != "REQUEST" || summary["sequence"] != float64(0) {
		t.Fatalf("invite method %s, parsed %v", method, summary)
	}
	if !bytes.Contains(invite.data, []byte("Atlantic Standard Time")) {
		t.Fatal("the invite does not give the time in the prospect's zone")
	}

	resp, moved := postJSON(t, app.URL+"/api/v1/bookings/"+token+"/reschedule", map[string]any{"start": open.Slots[1].Start})
	if resp.StatusCode != http.StatusOK || moved["start"] != open.Slots[1].Start {
		t.Fatalf("reschedule = %d %v", resp.StatusCode, moved)
	}
	// Mail still pending when the booking changes again is withdrawn, so
	// let the move's mail leave first, as it would between two clicks.
	waitOutboxDrained(t, db)
	resp, cancelled := postJSON(t, app.URL+"/api/v1/bookings/"+token+"/cancel", map[string]any{"reason": "plans changed"})
	if resp.StatusCode != http.StatusOK || cancelled["status"] != "cancelled" {
		t.Fatalf("cancel = %d %v", resp.StatusCode, cancelled)
	}
	waitOutboxDrained(t, db)
	var sent int
	db.Get(&sent, `SELECT count(*) FROM outbox WHERE status = 'sent'`)
	msgs = box.waitFor(t, sent)
	var sequences []string
	for _, m := range msgs[2:] {
		if m.to != "pat@acme.example.com" {
			continue
		}
		method, ics := calendarPart(t, m.data)
		s := checkWithOutsideParsers(t, ics)
		if s["uid"] != summary["uid"] || s["method"] != method {
			t.Fatalf("follow-up invite %v does not match uid %v / method %s", s, summary["uid"], method)
		}
		sequences = append(sequences, method+":"+jsonString(s["sequence"]))
	}
	if got := strings.Join(sequences, ","); got != "REQUEST:1,CANCEL:2" {
		t.Fatalf("follow-up invites = %s, want REQUEST:1,CANCEL:2", got)
	}
	var states []string
	db.Select(&states, `SELECT DISTINCT status FROM outbox`)
	if len(states) != 1 || states[0] != "sent" {
		t.Fatalf("outbox states = %v, want all sent", states)
	}

	resp, _ = postJSON(t, app.URL+"/api/v1/bookings/"+token+"/reschedule", map[string]any{"start": open.Slots[1].Start})
	if resp.StatusCode != http.StatusConflict {
		t.Fatalf("moving a cancelled booking = %d, want 409", resp.StatusCode)
	}
	resp, _ = get(t, app.URL+"/api/v1/bookings/not-a-real-token", nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown token = %d", resp.StatusCode)
	}
}

func waitOutboxDrained(t *testing.T, db *sqlx.DB) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var pending int
		if err := db.Get(&pending, `SELECT count(*) FROM outbox WHERE status = 'pending'`); err != nil {
			t.Fatal(err)
		}
		if pending == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the outbox did not drain")
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
