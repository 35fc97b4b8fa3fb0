package services_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"consultd/internal/pgtest"
	"consultd/services"
)

type leadFixture struct {
	db          *sqlx.DB
	funnel      *services.Funnel
	assessments *services.Assessments
	leads       *services.Leads
	def         *services.AssessmentDefinition
}

func newLeadFixture(t testing.TB) leadFixture {
	t.Helper()
	db := pgtest.NewDB(t)
	def := loadDefinition(t)
	funnel := services.NewFunnel(db, time.Now, nil)
	bookings := newTestBookings(t, db, funnel, services.BookingRules{MinNotice: 4 * time.Hour, HorizonDays: 30}, services.BookingsConfig{}, time.Now)
	return leadFixture{db: db, funnel: funnel, def: def, assessments: services.NewAssessments(db, def, funnel), leads: services.NewLeads(db, funnel, bookings)}
}

func (f leadFixture) mustAssessment(t testing.TB, utm map[string]string) services.Assessment {
	t.Helper()
	a, err := f.assessments.Submit(context.Background(), services.NewAssessment{
		Answers:     allAnswers(f.def, func(q services.Question) string { return q.Options[0].ID }),
		Attribution: services.Attribution{UTM: utm, Referrer: "https://partner.example.com/post"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func validLead(assessmentID string) services.NewLead {
	return services.NewLead{
		AssessmentID: assessmentID, Name: "Ana Silva", Email: "ana@acme.example.com", Company: "Acme",
		Region: "canada", Timezone: "America/St_Johns", Consent: true, IP: "203.0.113.9", UserAgent: "test",
	}
}

func TestLeadCaptureStoresConsentAndAttribution(t *testing.T) {
	f := newLeadFixture(t)
	ctx := context.Background()
	a := f.mustAssessment(t, map[string]string{"utm_source": "newsletter", "utm_campaign": "fall", "evil": "x"})
	inq, err := f.leads.Capture(ctx, validLead(a.ID))
	if err != nil {
		t.Fatal(err)
	}
	if inq.Team != a.Result.Team || inq.Region != "canada" || inq.AssessmentID != a.ID || inq.ExistingBookingMailed() {
		t.Fatalf("inquiry = %+v", inq)
	}
	var lead struct {
		Name   string `db:"name"`
		Team   string `db:"team"`
		Status string `db:"status"`
	}
	if err := f.db.Get(&lead, `SELECT name, team, status FROM leads WHERE id = $1`, inq.LeadID); err != nil {
		t.Fatal(err)
	}
	if lead.Name != "Ana Silva" || lead.Team != a.Result.Team || lead.Status != "new" {
		t.Fatalf("lead = %+v", lead)
	}
	var consent struct {
		Wording   string    `db:"wording"`
		IP        string    `db:"ip"`
		InquiryID string    `db:"inquiry_id"`
		GivenAt   time.Time `db:"given_at"`
	}
	if err := f.db.Get(&consent, `SELECT wording, host(ip) AS ip, inquiry_id, given_at FROM lead_consents WHERE lead_id = $1`, inq.LeadID); err != nil {
		t.Fatal(err)
	}
	if consent.Wording != services.ConsentWording || consent.IP != "203.0.113.9" || consent.InquiryID != inq.ID || time.Since(consent.GivenAt) > time.Minute {
		t.Fatalf("consent = %+v", consent)
	}
	var utm string
	var referrer string
	if err := f.db.QueryRow(`SELECT utm::text, referrer FROM leads WHERE id = $1`, inq.LeadID).Scan(&utm, &referrer); err != nil {
		t.Fatal(err)
	}
	if utm != `{"utm_source": "newsletter", "utm_campaign": "fall"}` || referrer != "https://partner.example.com/post" {
		t.Fatalf("attribution = %s %q", utm, referrer)
	}
	var linked string
	if err := f.db.Get(&linked, `SELECT lead_id FROM assessments WHERE id = $1`, a.ID); err != nil || linked != inq.LeadID {
		t.Fatalf("assessment linked to %q (%v), want %s", linked, err, inq.LeadID)
	}
}

// A later submission for a known email is kept as typed beside the lead and
// changes nothing on it: the person's stored details, first-touch
// attribution and team stay those of the first submission.
func TestLaterSubmissionIsKeptBesideTheLeadAndChangesNothing(t *testing.T) {
	f := newLeadFixture(t)
	ctx := context.Background()
	first, err := f.leads.Capture(ctx, validLead(f.mustAssessment(t, map[string]string{"utm_source": "first"}).ID))
	if err != nil {
		t.Fatal(err)
	}
	again := validLead(f.mustAssessment(t, map[string]string{"utm_source": "second"}).ID)
	again.Email, again.Name, again.Company = "ANA@Acme.Example.com", "Mallory", "Evil Corp"
	again.Region, again.Timezone, again.Consent = "usa", "America/Chicago", true
	second, err := f.leads.Capture(ctx, again)
	if err != nil {
		t.Fatal(err)
	}
	if second.ID == first.ID || second.LeadID != first.LeadID {
		t.Fatalf("second submission: id %s lead %s, want a new inquiry on lead %s", second.ID, second.LeadID, first.LeadID)
	}
	if second.Name != "Mallory" || second.Company != "Evil Corp" || second.Email != "ana@acme.example.com" || second.Region != "usa" {
		t.Fatalf("second inquiry not kept as typed: %+v", second)
	}
	var lead struct {
		Name     string `db:"name"`
		Email    string `db:"email"`
		Company  string `db:"company"`
		Region   string `db:"region"`
		Timezone string `db:"timezone"`
		Team     string `db:"team"`
		Source   string `db:"source"`
	}
	if err := f.db.Get(&lead, `SELECT name, email, company, region, timezone, team, utm->>'utm_source' AS source FROM leads WHERE id = $1`, first.LeadID); err != nil {
		t.Fatal(err)
	}
	want := "{Ana Silva ana@acme.example.com Acme canada America/St_Johns " + first.Team + " first}"
	if got := fmt.Sprint(lead); got != want {
		t.Fatalf("lead after a later submission = %s, want %s", got, want)
	}
	var leads, inquiries, consents int
	f.db.Get(&leads, `SELECT count(*) FROM leads`)
	f.db.Get(&inquiries, `SELECT count(*) FROM inquiries WHERE lead_id = $1`, first.LeadID)
	f.db.Get(&consents, `SELECT count(DISTINCT inquiry_id) FROM lead_consents WHERE lead_id = $1`, first.LeadID)
	if leads != 1 || inquiries != 2 || consents != 2 {
		t.Fatalf("leads=%d inquiries=%d consents=%d, want 1, 2, 2", leads, inquiries, consents)
	}
	var kinds []string
	f.db.Select(&kinds, `SELECT kind FROM lead_events WHERE lead_id = $1 ORDER BY id`, first.LeadID)
	if fmt.Sprint(kinds) != "[lead_created inquiry_received]" {
		t.Fatalf("lead history = %v", kinds)
	}
}

func TestLeadCaptureValidation(t *testing.T) {
	f := newLeadFixture(t)
	a := f.mustAssessment(t, nil)
	tests := []struct {
		name   string
		mutate func(*services.NewLead)
		field  string
	}{
		{"empty name", func(l *services.NewLead) { l.Name = "  " }, "name"},
		{"bad email", func(l *services.NewLead) { l.Email = "ana@localhost" }, "email"},
		{"display-name email", func(l *services.NewLead) { l.Email = "Ana <ana@acme.example.com>" }, "email"},
		{"no company", func(l *services.NewLead) { l.Company = "" }, "company"},
		{"unknown region", func(l *services.NewLead) { l.Region = "mexico" }, "region"},
		{"zone outside region", func(l *services.NewLead) { l.Timezone = "America/Chicago" }, "timezone"},
		{"not a zone", func(l *services.NewLead) { l.Timezone = "Mars/Olympus" }, "timezone"},
		{"no consent", func(l *services.NewLead) { l.Consent = false }, "consent"},
		{"long message", func(l *services.NewLead) { l.Message = strings.Repeat("x", 2001) }, "message"},
		{"bad assessment id", func(l *services.NewLead) { l.AssessmentID = "1; DROP TABLE leads" }, "assessment_id"},
		{"unknown assessment", func(l *services.NewLead) { l.AssessmentID = "00000000-0000-4000-8000-000000000000" }, "assessment_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := validLead(a.ID)
			tt.mutate(&in)
			_, err := f.leads.Capture(context.Background(), in)
			var e *services.Error
			if !errors.As(err, &e) || e.Code != services.CodeInvalid || e.Fields[tt.field] == "" {
				t.Fatalf("error = %v, want invalid with a message for %s", err, tt.field)
			}
		})
	}
	var n int
	f.db.Get(&n, `SELECT count(*) FROM leads`)
	if n != 0 {
		t.Fatalf("%d leads stored from invalid input", n)
	}
}

// A name or company of invisible characters is no name: it would reach
// mail and calendars as blank, or reverse the text around it.
func TestLeadCaptureNeedsVisibleNameAndCompany(t *testing.T) {
	f := newLeadFixture(t)
	a := f.mustAssessment(t, nil)
	for _, tt := range []struct{ name, field, value string }{
		{"bidi override, BOM, zero-width space", "name", "\u202E\uFEFF\u200B"},
		{"a lone combining accent", "name", "\u0301"},
		{"joiners only", "name", "\u200D\u200C"},
		{"zero-width company", "company", "\u200B \u200B"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := validLead(a.ID)
			if tt.field == "name" {
				in.Name = tt.value
			} else {
				in.Company = tt.value
			}
			_, err := f.leads.Capture(context.Background(), in)
			var e *services.Error
			if !errors.As(err, &e) || e.Fields[tt.field] == "" {
				t.Fatalf("error = %v, want a message for %s", err, tt.field)
			}
		})
	}
	in := validLead(a.ID)
	in.Name, in.Company = "\u202EAna\u200B Silva", "\uFEFFAcme"
	lead, err := f.leads.Capture(context.Background(), in)
	if err != nil || lead.Name != "Ana Silva" || lead.Company != "Acme" {
		t.Fatalf("stored %q %q, %v; want the invisible characters gone", lead.Name, lead.Company, err)
	}
}

func TestLeadCaptureHoneypotAndReuse(t *testing.T) {
	f := newLeadFixture(t)
	ctx := context.Background()
	a := f.mustAssessment(t, nil)
	bot := validLead(a.ID)
	bot.Website = "http://spam.example"
	if _, err := f.leads.Capture(ctx, bot); services.ErrorCode(err) != services.CodeRejected {
		t.Fatalf("honeypot error = %v, want rejected", err)
	}
	first, err := f.leads.Capture(ctx, validLead(a.ID))
	if err != nil {
		t.Fatal(err)
	}
	// The browser that took the assessment may send it for a colleague too:
	// that is another person, so another lead.
	other := validLead(a.ID)
	other.Email = "someone.else@acme.example.com"
	second, err := f.leads.Capture(ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	if second.LeadID == first.LeadID || second.AssessmentID != a.ID {
		t.Fatalf("colleague's submission = %+v, want its own lead with the same assessment", second)
	}
}

func TestFunnelCountsFlushToDatabase(t *testing.T) {
	f := newLeadFixture(t)
	ctx := context.Background()
	a := f.mustAssessment(t, nil)
	if _, err := f.leads.Capture(ctx, validLead(a.ID)); err != nil {
		t.Fatal(err)
	}
	f.funnel.Count(services.StageArticleViewed)
	f.funnel.Count(services.StageArticleViewed)
	if err := f.funnel.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	f.funnel.Count(services.StageArticleViewed)
	if err := f.funnel.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	today := time.Now()
	totals, err := f.funnel.FunnelTotals(ctx, today.AddDate(0, 0, -1), today.AddDate(0, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"article_viewed": 3, "assessment_started": 0, "assessment_completed": 1, "lead_created": 1, "booked": 0}
	for stage, n := range want {
		if totals[stage] != n {
			t.Errorf("%s = %d, want %d", stage, totals[stage], n)
		}
	}
}

func TestFunnelKeepsCountsWhenDatabaseFails(t *testing.T) {
	f := newLeadFixture(t)
	ctx := context.Background()
	f.funnel.Count(services.StageArticleViewed)
	f.funnel.Count(services.StageAssessmentStarted)
	if _, err := f.db.Exec(`ALTER TABLE funnel_counts RENAME TO funnel_counts_away`); err != nil {
		t.Fatal(err)
	}
	if err := f.funnel.Flush(ctx); err == nil {
		t.Fatal("flush without its table succeeded")
	}
	if _, err := f.db.Exec(`ALTER TABLE funnel_counts_away RENAME TO funnel_counts`); err != nil {
		t.Fatal(err)
	}
	f.funnel.Count(services.StageArticleViewed)
	if err := f.funnel.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	today := time.Now()
	totals, err := f.funnel.FunnelTotals(ctx, today.AddDate(0, 0, -1), today.AddDate(0, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	if totals["article_viewed"] != 2 || totals["assessment_started"] != 1 {
		t.Fatalf("totals after recovery = %v, want the counts from the failed flush kept", totals)
	}
}
