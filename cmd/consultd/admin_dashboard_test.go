package main

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

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
	// The confirmed one was paid for this week.
	s.exec(t, `UPDATE bookings SET amount_cents = 25000, currency = 'cad', payment_status = 'paid', paid_at = $1 WHERE status = 'confirmed'`, monday)
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
		"this week":   {weeks[11][1:], []string{"120", "45", "3", "4", "2", "1"}},
		"week before": {weeks[10][1:], []string{"80", "30", "1", "0", "0", "0"}},
		"total":       {weeks[12], []string{"Total", "200", "75", "4", "4", "2", "1"}},
		"empty week":  {weeks[0][1:], []string{"0", "0", "0", "0", "0", "0"}},
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
		"Funnel by team":   {{"Django", "3", "3", "2", "1"}, {"Node.js", "1", "1", "0", "0"}},
		"Funnel by region": {{"Canada", "3", "2", "1"}, {"USA", "1", "0", "0"}},
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
