package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"consultd/services"
)

func (s staffApp) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	if _, err := s.db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// thisMonday is the start of the current ISO week in UTC, where the
// dashboard's weeks start.
func thisMonday() time.Time {
	now := time.Now().UTC()
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	return day.AddDate(0, 0, -(int(day.Weekday())+6)%7)
}

// funnelRows writes a known funnel: this week and the one before.
func (s staffApp) funnelRows(t *testing.T, consultantName string) {
	t.Helper()
	monday := thisMonday()
	before := monday.AddDate(0, 0, -7)
	for _, r := range []struct {
		day   time.Time
		stage string
		n     int
	}{
		{monday, "article_viewed", 120}, {monday, "assessment_started", 45},
		{before, "article_viewed", 80}, {before, "assessment_started", 30},
	} {
		s.exec(t, `INSERT INTO funnel_counts (day, stage, count) VALUES ($1::timestamptz::date, $2, $3)`, r.day.Format(time.DateOnly), r.stage, r.n)
	}
	for _, a := range []struct {
		team string
		at   time.Time
	}{{"django", monday}, {"django", monday}, {"nodejs", monday}, {"django", before}} {
		s.exec(t, `INSERT INTO assessments (version, answers, team, confidence, score_django, score_nodejs, reasons, created_at)
			VALUES ('v1', '{}', $1, 0.6, 3, 2, '[]', $2)`, a.team, a.at)
	}
	s.inquiry(t, "django", "canada", monday)
	s.inquiry(t, "nodejs", "usa", monday)
	var consultant string
	if err := s.db.Get(&consultant, `INSERT INTO consultants (name, email, team, regions, timezone)
		VALUES ($1, 'zoe@consult.example', 'django', '{canada}', 'America/Toronto') RETURNING id`, consultantName); err != nil {
		t.Fatal(err)
	}
	soon := time.Now().Add(72 * time.Hour).Truncate(time.Hour)
	for i, status := range []string{"confirmed", "cancelled"} {
		lead, inquiry := s.inquiry(t, "django", "canada", monday)
		start := soon.Add(time.Duration(i) * 24 * time.Hour)
		s.exec(t, `INSERT INTO bookings (lead_id, inquiry_id, team, region, consultant_id, status, starts_at, ends_at, blocked, timezone, uid,
			                          manage_token_hash, manage_token_sealed, created_at)
			VALUES ($1, $2, 'django', 'canada', $3, $4, $5, $6, tstzrange($5, $6, '[)'), 'America/Toronto', gen_random_uuid()::text,
			        sha256(gen_random_uuid()::text::bytea), '\x00', $7)`,
			lead, inquiry, consultant, status, start, start.Add(30*time.Minute), monday)
	}
}

// inquiry records a contact-form submission, with its lead, made at.
func (s staffApp) inquiry(t *testing.T, team, region string, at time.Time) (leadID, inquiryID string) {
	t.Helper()
	err := s.db.Get(&leadID, `INSERT INTO leads (name, email, company, region, timezone, team, created_at)
		VALUES ('Pat', gen_random_uuid()::text || '@acme.example', 'Acme', $1, 'America/Toronto', $2, $3) RETURNING id`, region, team, at)
	if err != nil {
		t.Fatal(err)
	}
	err = s.db.Get(&inquiryID, `INSERT INTO inquiries (lead_id, name, email, company, region, timezone, team, created_at)
		SELECT id, name, email, company, region, timezone, team, created_at FROM leads WHERE id = $1 RETURNING id`, leadID)
	if err != nil {
		t.Fatal(err)
	}
	return leadID, inquiryID
}

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

// tableRows returns the text of each body and footer row of the table
// whose caption is caption, one string per cell.
func tableRows(t *testing.T, page, caption string) [][]string {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]string
	found := false
	var walk func(n *html.Node, inTable bool)
	walk = func(n *html.Node, inTable bool) {
		if n.Type == html.ElementNode && n.Data == "table" {
			inTable = false
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				if c.Type == html.ElementNode && c.Data == "caption" && textOf(c) == caption {
					inTable, found = true, true
				}
			}
		}
		if inTable && n.Type == html.ElementNode && n.Data == "tr" && n.Parent.Data != "thead" {
			var cells []string
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				if c.Type == html.ElementNode && (c.Data == "td" || c.Data == "th") {
					cells = append(cells, textOf(c))
				}
			}
			rows = append(rows, cells)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, inTable)
		}
	}
	walk(doc, false)
	if !found {
		t.Fatalf("no table captioned %q", caption)
	}
	return rows
}

func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

func TestAdminPagesByRole(t *testing.T) {
	s := newStaffApp(t, nil)
	id := s.mail(t, "Your consultation", "failed")
	msg := fmt.Sprintf("/admin/outbox/%d", id)
	paths := []string{"/admin", "/admin/outbox", msg, msg + "/message.eml", "/admin/audit"}
	anon := browser(t)
	for _, path := range paths {
		resp, _ := send(t, anon, "GET", s.URL+path, nil, nil)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login?next="+url.QueryEscape(path) {
			t.Errorf("anonymous GET %s = %d %s, want the sign-in page", path, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	resp, _ := send(t, anon, "POST", s.URL+msg+"/retry", url.Values{}, nil)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Errorf("anonymous retry = %d, want the sign-in page", resp.StatusCode)
	}
	want := map[string][]int{
		"admin@consult.example": {200, 200, 200, 200, 200},
		"sales@consult.example": {200, 200, 200, 200, 403},
		"owen@consult.example":  {403, 403, 403, 403, 403},
	}
	for email, statuses := range want {
		c := browser(t)
		s.signIn(t, c, email)
		for i, path := range paths {
			resp, body := send(t, c, "GET", s.URL+path, nil, nil)
			if resp.StatusCode != statuses[i] {
				t.Errorf("%s GET %s = %d, want %d", email, path, resp.StatusCode, statuses[i])
			}
			if resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("%s GET %s: Cache-Control %q, want no-store", email, path, resp.Header.Get("Cache-Control"))
			}
			if hasAudit := strings.Contains(body, `href="/admin/audit"`); resp.StatusCode == 200 && path == "/admin" && hasAudit != (email == "admin@consult.example") {
				t.Errorf("%s: the header links to the audit log: %v", email, hasAudit)
			}
		}
	}
	owen := browser(t)
	s.signIn(t, owen, "owen@consult.example")
	if resp, _ := send(t, owen, "POST", s.URL+msg+"/retry", url.Values{}, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("consultant retry = %d, want 403", resp.StatusCode)
	}
	var status string
	s.db.Get(&status, `SELECT status FROM outbox WHERE id = $1`, id)
	if status != "failed" {
		t.Fatalf("after refused retries the message is %s", status)
	}
}

func TestAdminDashboardShowsTheFunnel(t *testing.T) {
	s := newStaffApp(t, nil)
	s.funnelRows(t, "Zoë <Lead> O'Brien")
	c := browser(t)
	s.signIn(t, c, "sales@consult.example")
	resp, page := send(t, c, "GET", s.URL+"/admin", nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/admin = %d", resp.StatusCode)
	}
	year, week := thisMonday().ISOWeek()
	lastYear, lastWeek := thisMonday().AddDate(0, 0, -7).ISOWeek()
	weeks := tableRows(t, page, "Funnel by week")
	if len(weeks) != 12+1 {
		t.Fatalf("%d rows in the weekly table, want 12 weeks and a total", len(weeks))
	}
	for name, tc := range map[string]struct{ got, want []string }{
		"this week":   {weeks[11][1:], []string{"120", "45", "3", "4", "2"}},
		"week before": {weeks[10][1:], []string{"80", "30", "1", "0", "0"}},
		"total":       {weeks[12], []string{"Total", "200", "75", "4", "4", "2"}},
		"empty week":  {weeks[0][1:], []string{"0", "0", "0", "0", "0"}},
	} {
		if !slices.Equal(tc.got, tc.want) {
			t.Errorf("%s = %q, want %q", name, tc.got, tc.want)
		}
	}
	if label := fmt.Sprintf("%d-W%02d", year, week); !strings.HasPrefix(weeks[11][0], label) || !strings.HasSuffix(weeks[11][0], "so far") {
		t.Errorf("this week's label = %q, want %s, so far", weeks[11][0], label)
	}
	if label := fmt.Sprintf("%d-W%02d", lastYear, lastWeek); !strings.HasPrefix(weeks[10][0], label) {
		t.Errorf("last week's label = %q, want %s", weeks[10][0], label)
	}
	for caption, want := range map[string][][]string{
		"Funnel over the last 12 weeks": {
			{"Article viewed", "200", "—"}, {"Assessment started", "75", "38%"}, {"Assessment completed", "4", "5%"},
			{"Lead", "4", "100%"}, {"Booked", "2", "50%"},
		},
		"Funnel by team":   {{"Django", "3", "3", "2"}, {"Node.js", "1", "1", "0"}},
		"Funnel by region": {{"Canada", "3", "2"}, {"USA", "1", "0"}},
	} {
		if got := tableRows(t, page, caption); !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("%s = %q, want %q", caption, got, want)
		}
	}
	load := tableRows(t, page, "Bookings per consultant")
	if len(load) < 2 || !slices.Equal(load[0], []string{"Zoë <Lead> O'Brien", "Django", "1", "0"}) || load[1][2] != "0" {
		t.Errorf("load rows start %q, want the consultant with the one live upcoming booking first", load[:2])
	}

	// Names are data: escaped in the SVG as everywhere else.
	if strings.Contains(page, "<Lead>") {
		t.Fatal("a consultant's name reached the page unescaped")
	}
	if !regexp.MustCompile(`<text class="chart-label"[^>]*>Zoë &lt;Lead&gt; O&#39;Brien</text>`).MatchString(page) {
		t.Fatal("the load chart lacks the escaped consultant name")
	}
	if n := strings.Count(page, `role="img" aria-label="`); n != 6 {
		t.Errorf("%d labelled charts, want 6", n)
	}
	if strings.Count(page, "<figure") != strings.Count(page, "<figcaption>") {
		t.Error("a chart lacks its caption")
	}

	_, page = send(t, c, "GET", s.URL+"/admin?weeks=4", nil, nil)
	if rows := tableRows(t, page, "Funnel by week"); len(rows) != 4+1 || !strings.Contains(page, `<option value="4" selected>`) {
		t.Errorf("weeks=4: %d rows", len(rows))
	}
	_, page = send(t, c, "GET", s.URL+"/admin?weeks=1000", nil, nil)
	if rows := tableRows(t, page, "Funnel by week"); len(rows) != 12+1 {
		t.Errorf("weeks=1000: %d rows, want the 12-week default", len(rows))
	}
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

func TestAdminAuditLog(t *testing.T) {
	s := newStaffApp(t, nil)
	id := s.mail(t, "Your consultation", "capped")
	sales := browser(t)
	s.signIn(t, sales, "sales@consult.example")
	send(t, sales, "POST", s.URL+fmt.Sprintf("/admin/outbox/%d/retry", id), url.Values{}, nil)
	s.exec(t, `INSERT INTO audit_log (actor, action, target_type, target_id, detail, ip, created_at)
		SELECT 'old@consult.example', 'lead_note', 'lead', 'L' || n, jsonb_build_object('note', 'x<y ' || n), '198.51.100.9', now() - interval '1 hour' + n * interval '1 second'
		FROM generate_series(1, 120) n`)

	admin := browser(t)
	s.signIn(t, admin, "admin@consult.example")
	resp, page := send(t, admin, "GET", s.URL+"/admin/audit", nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/admin/audit = %d", resp.StatusCode)
	}
	// Newest first: the admin's sign-in, the 120 notes, the retry, the
	// sales sign-in; 100 to a page.
	rows := tableRows(t, page, "Audit log")
	if len(rows) != 100 || rows[0][2] != "sign_in" || rows[0][1] != "admin@consult.example" || rows[1][4] != "note: x<y 120" || rows[99][4] != "note: x<y 22" {
		t.Fatalf("first page: %d rows, first %q, second %q", len(rows), rows[0], rows[1])
	}
	if !strings.Contains(page, "note: x&lt;y 120") {
		t.Fatal("details should be escaped")
	}
	older := regexp.MustCompile(`href="(/admin/audit\?before=\d+)"`).FindStringSubmatch(page)
	if older == nil {
		t.Fatal("no link to older entries")
	}
	_, page = send(t, admin, "GET", s.URL+older[1], nil, nil)
	rest := tableRows(t, page, "Audit log")
	if len(rest) != 23 || rest[0][4] != "note: x<y 21" || strings.Contains(page, "Older entries") {
		t.Fatalf("second page: %d rows, first %q; want the 23 oldest", len(rest), rest[0])
	}
	retry, signIn := rest[21], rest[22]
	if want := []string{"sales@consult.example", "mail_retry", fmt.Sprintf("outbox %d", id), "kind: invite status: capped", "127.0.0.1"}; !slices.Equal(retry[1:], want) {
		t.Fatalf("retry row = %q, want %q", retry[1:], want)
	}
	if signIn[2] != "sign_in" || signIn[3] == "" {
		t.Fatalf("oldest row = %q, want the sales sign-in", signIn)
	}
	if !strings.Contains(page, fmt.Sprintf(`<a href="/admin/outbox/%d">outbox %d</a>`, id, id)) {
		t.Fatal("the retry row should link to the message")
	}
}
