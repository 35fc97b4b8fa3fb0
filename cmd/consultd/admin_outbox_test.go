package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"consultd/services"
)

// mail writes a rendered message to the outbox in the given status.
func (s staffApp) mail(t *testing.T, subject, status string) int64 {
	t.Helper()
	raw, err := services.RenderEmail(services.Email{
		From:    services.Person{Name: "Stackpoint Consulting", Email: "consult@consult.example"},
		To:      services.Person{Name: "Pat", Email: "pat@acme.example"},
		Subject: subject, Text: "Hello <b>Pat</b>,\nyour consultation is booked.\n", HTML: "<p>Hello Pat</p>",
		Date: time.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
	tx := s.db.MustBeginTx(context.Background(), nil)
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	id, err := services.Enqueue(context.Background(), tx, services.OutboxMessage{Kind: "invite", To: "pat@acme.example", Subject: subject, Message: raw})
	if err != nil {
		t.Fatal(err)
	}
	// Far in the future until the status is set, so the app's mailer leaves it alone.
	if _, err := tx.Exec(`UPDATE outbox SET status = $2, attempts = 8, last_error = CASE WHEN $2 = 'failed' THEN '554 mailbox unavailable' ELSE '' END,
		next_attempt_at = now() + interval '1 day' WHERE id = $1`, id, status); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestAdminMailRetryAndEscaping(t *testing.T) {
	s := newStaffApp(t, nil)
	subject := `<script>alert("x")</script> Your consultation`
	failed := s.mail(t, subject, "failed")
	sent := s.mail(t, "Sent already", "sent")
	c := browser(t)
	s.signIn(t, c, "sales@consult.example")

	_, list := send(t, c, "GET", s.URL+"/admin/outbox?status=failed", nil, nil)
	_, detail := send(t, c, "GET", s.URL+fmt.Sprintf("/admin/outbox/%d", failed), nil, nil)
	for name, page := range map[string]string{"list": list, "message": detail} {
		if strings.Contains(page, "<script>alert") || !strings.Contains(page, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; Your consultation") {
			t.Errorf("the %s page does not show the subject escaped", name)
		}
	}
	if rows := tableRows(t, list, "Messages"); len(rows) != 1 || rows[0][1] != "invite" || rows[0][4] != "failed" || rows[0][5] != "8" || rows[0][6] != "554 mailbox unavailable" {
		t.Fatalf("failed messages = %q", rows)
	}
	for _, want := range []string{"From", "Stackpoint Consulting", "pat@acme.example", "Hello &lt;b&gt;Pat&lt;/b&gt;,\nyour consultation is booked.", "Send again", "message.eml"} {
		if !strings.Contains(detail, want) {
			t.Errorf("the message page lacks %q", want)
		}
	}

	resp, raw := send(t, c, "GET", s.URL+fmt.Sprintf("/admin/outbox/%d/message.eml", failed), nil, nil)
	var stored []byte
	s.db.Get(&stored, `SELECT message FROM outbox WHERE id = $1`, failed)
	if resp.Header.Get("Content-Type") != "message/rfc822" || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") || raw != string(stored) {
		t.Fatalf("download: %s, %s, %d bytes of %d", resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"), len(raw), len(stored))
	}

	resp, _ = send(t, c, "POST", s.URL+fmt.Sprintf("/admin/outbox/%d/retry", failed), url.Values{}, nil)
	if want := fmt.Sprintf("/admin/outbox/%d?done=retry", failed); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
		t.Fatalf("retry = %d %s, want 303 to %s", resp.StatusCode, resp.Header.Get("Location"), want)
	}
	// Pending with its attempts reset, unless the mailer, woken by the
	// retry, already kept it (no SMTP here): then it took one attempt.
	var row struct {
		Status   string `db:"status"`
		Attempts int    `db:"attempts"`
	}
	s.db.Get(&row, `SELECT status, attempts FROM outbox WHERE id = $1`, failed)
	if !(row.Status == "pending" && row.Attempts == 0) && !(row.Status == "kept" && row.Attempts == 1) {
		t.Fatalf("after retry: %+v, want pending with 0 attempts", row)
	}
	var audit struct {
		Actor  string `db:"actor"`
		Detail string `db:"detail"`
	}
	if err := s.db.Get(&audit, `SELECT actor, detail::text AS detail FROM audit_log WHERE action = 'mail_retry' AND target_type = 'outbox' AND target_id = $1`, fmt.Sprint(failed)); err != nil {
		t.Fatalf("no audit record of the retry: %v", err)
	}
	if audit.Actor != "sales@consult.example" || !strings.Contains(audit.Detail, `"status": "failed"`) {
		t.Fatalf("audit record = %+v", audit)
	}
	_, page := send(t, c, "GET", s.URL+resp.Header.Get("Location"), nil, nil)
	if !strings.Contains(page, `class="banner banner-ok" role="status">The message is back in the queue`) {
		t.Fatal("no banner after the retry")
	}
	waitOutboxDrained(t, s.db)
	s.db.Get(&row, `SELECT status, attempts FROM outbox WHERE id = $1`, failed)
	if row.Status != "kept" || row.Attempts != 1 {
		t.Fatalf("after the mailer's round: %+v, want kept after one attempt", row)
	}

	resp, page = send(t, c, "POST", s.URL+fmt.Sprintf("/admin/outbox/%d/retry", sent), url.Values{}, nil)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(page, fmt.Sprintf("Message %d was sent already; only failed, kept or capped messages can be sent again.", sent)) {
		t.Fatalf("retry of a sent message = %d", resp.StatusCode)
	}
	if strings.Contains(page, "Send again") || !strings.Contains(page, "Sent already") {
		t.Fatal("the 409 page should show the message without a retry button")
	}
	for _, id := range []string{"999999", "abc", "-1"} {
		if resp, _ := send(t, c, "POST", s.URL+"/admin/outbox/"+id+"/retry", url.Values{}, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("retry of message %s = %d, want 404", id, resp.StatusCode)
		}
	}
	var audits int
	s.db.Get(&audits, `SELECT count(*) FROM audit_log WHERE action = 'mail_retry'`)
	if audits != 1 {
		t.Fatalf("%d retries audited, want only the one accepted", audits)
	}
	if resp, _ := send(t, c, "GET", s.URL+"/admin/outbox?status=lost", nil, nil); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("unknown status filter = %d, want 422", resp.StatusCode)
	}
}

func TestAdminMailListPages(t *testing.T) {
	s := newStaffApp(t, nil)
	for i := range 53 {
		s.mail(t, fmt.Sprintf("Message number %d", i), "kept")
	}
	c := browser(t)
	s.signIn(t, c, "admin@consult.example")
	_, page := send(t, c, "GET", s.URL+"/admin/outbox?status=kept", nil, nil)
	rows := tableRows(t, page, "Messages")
	older := regexp.MustCompile(`href="(/admin/outbox\?before=\d+&amp;status=kept)"`).FindStringSubmatch(page)
	if len(rows) != 50 || !strings.Contains(rows[0][3], "Message number 52") || older == nil {
		t.Fatalf("first page: %d rows, first %q, older link %v", len(rows), rows[0], older)
	}
	_, page = send(t, c, "GET", s.URL+html.UnescapeString(older[1]), nil, nil)
	rows = tableRows(t, page, "Messages")
	if len(rows) != 3 || !strings.Contains(rows[2][3], "Message number 0") || strings.Contains(page, "Older messages") {
		t.Fatalf("second page: %d rows, last %q", len(rows), rows[len(rows)-1])
	}
}
