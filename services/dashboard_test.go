package services_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"consultd/internal/pgtest"
	"consultd/services"
)

// funnelFixture writes funnel rows straight into the tables the dashboard reads.
type funnelFixture struct {
	t  *testing.T
	db *sqlx.DB
	n  int
}

func (f *funnelFixture) exec(q string, args ...any) {
	f.t.Helper()
	if _, err := f.db.Exec(q, args...); err != nil {
		f.t.Fatalf("%s: %v", q, err)
	}
}

func (f *funnelFixture) count(day, stage string, n int) {
	f.t.Helper()
	f.exec(`INSERT INTO funnel_counts (day, stage, count) VALUES ($1, $2, $3)`, day, stage, n)
}

func (f *funnelFixture) assessment(team string, at time.Time) {
	f.t.Helper()
	f.exec(`INSERT INTO assessments (version, answers, team, confidence, score_django, score_nodejs, reasons, created_at)
		VALUES ('v1', '{}', $1, 0.6, 3, 2, '[]', $2)`, team, at)
}

func (f *funnelFixture) consultant(name, team string, active bool) string {
	f.t.Helper()
	f.n++
	var id string
	err := f.db.Get(&id, `INSERT INTO consultants (name, email, team, regions, timezone, active)
		VALUES ($1, 'c' || $2 || '@consult.example', $3, '{canada,usa}', 'America/Toronto', $4) RETURNING id`, name, f.n, team, active)
	if err != nil {
		f.t.Fatal(err)
	}
	return id
}

// inquiry records a contact-form submission (and its lead) made at.
func (f *funnelFixture) inquiry(team, region string, at time.Time) (leadID, inquiryID string) {
	f.t.Helper()
	f.n++
	err := f.db.Get(&leadID, `INSERT INTO leads (name, email, company, region, timezone, team, created_at)
		VALUES ('Pat', 'pat' || $1 || '@acme.example', 'Acme', $2, 'America/Toronto', $3, $4) RETURNING id`, f.n, region, team, at)
	if err != nil {
		f.t.Fatal(err)
	}
	err = f.db.Get(&inquiryID, `INSERT INTO inquiries (lead_id, name, email, company, region, timezone, team, created_at)
		SELECT id, name, email, company, region, timezone, team, created_at FROM leads WHERE id = $1 RETURNING id`, leadID)
	if err != nil {
		f.t.Fatal(err)
	}
	return leadID, inquiryID
}

// booking books a new inquiry of team and region with consultant.
func (f *funnelFixture) booking(consultant, team, region, status string, start, made time.Time) {
	f.t.Helper()
	lead, inquiry := f.inquiry(team, region, made)
	f.exec(`INSERT INTO bookings (lead_id, inquiry_id, team, region, consultant_id, status, starts_at, ends_at, blocked, timezone, uid,
		                      manage_token_hash, manage_token_sealed, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, tstzrange($7, $8, '[)'), 'America/Toronto', gen_random_uuid()::text,
		        sha256(gen_random_uuid()::text::bytea), '\x00', $9)`,
		lead, inquiry, team, region, consultant, status, start, start.Add(30*time.Minute), made)
}

// staffCtx is a context signed in as role.
func staffCtx(role string) context.Context {
	return services.WithActor(context.Background(), services.Actor{Email: role + "@consult.example", Role: role, IP: "192.0.2.7"})
}

func TestDashboardFunnelByWeekTeamAndRegion(t *testing.T) {
	db := pgtest.NewDB(t)
	f := &funnelFixture{t: t, db: db}
	now := time.Date(2026, 3, 4, 15, 0, 0, 0, time.UTC) // a Wednesday; its ISO week starts Mon 2 Mar
	monday := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

	f.count("2026-03-02", services.StageArticleViewed, 100)
	f.count("2026-03-08", services.StageArticleViewed, 5) // Sunday: same week
	f.count("2026-03-02", services.StageAssessmentStarted, 40)
	f.count("2026-03-02", services.StageAssessmentCompleted, 77) // completed comes from the assessments themselves
	f.count("2026-02-23", services.StageArticleViewed, 50)
	f.count("2025-12-14", services.StageArticleViewed, 999) // the Sunday before the 12 weeks
	f.count("2025-12-15", services.StageArticleViewed, 3)   // their first Monday

	f.assessment("django", monday)                      // the first instant of the week
	f.assessment("nodejs", monday.Add(30*time.Hour))    // Tuesday
	f.assessment("django", monday.Add(-time.Second))    // Sunday 23:59:59 UTC: the week before
	f.assessment("nodejs", monday.AddDate(0, 0, -7*12)) // before the range

	f.inquiry("django", "canada", monday.Add(time.Hour))
	f.inquiry("nodejs", "usa", monday.Add(2*time.Hour))
	f.inquiry("nodejs", "canada", monday.AddDate(0, 0, -14))

	ana := f.consultant("Ana", "django", true)
	f.booking(ana, "django", "usa", services.StatusConfirmed, now.Add(48*time.Hour), monday.Add(3*time.Hour))
	f.booking(ana, "django", "canada", services.StatusCancelled, now.Add(72*time.Hour), monday.Add(4*time.Hour)) // made, later cancelled: still booked
	f.booking(ana, "nodejs", "usa", services.StatusExpired, now.Add(96*time.Hour), monday.Add(5*time.Hour))      // an unpaid hold that lapsed: never booked

	dash := services.NewDashboard(db, func() time.Time { return now })
	d, err := dash.Load(staffCtx(services.RoleSales), 12)
	if err != nil {
		t.Fatal(err)
	}
	if d.Weeks != 12 || len(d.ByWeek) != 12 || !d.From.Equal(time.Date(2025, 12, 15, 0, 0, 0, 0, time.UTC)) || !d.Until.Equal(time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("range: %d weeks (%d rows) from %s until %s", d.Weeks, len(d.ByWeek), d.From, d.Until)
	}
	current, previous, twoBack, first := d.ByWeek[11], d.ByWeek[10], d.ByWeek[9], d.ByWeek[0]
	if current.Label() != "2026-W10" || !current.Start.Equal(monday) || first.Label() != "2025-W51" {
		t.Fatalf("weeks %s (%s) ... %s", current.Label(), current.Start, first.Label())
	}
	for name, tc := range map[string]struct{ got, want services.FunnelCounts }{
		"current week": {current.FunnelCounts, services.FunnelCounts{Viewed: 105, Started: 40, Completed: 2, Leads: 2 + 3, Booked: 2}},
		"week before":  {previous.FunnelCounts, services.FunnelCounts{Viewed: 50, Completed: 1}},
		"two back":     {twoBack.FunnelCounts, services.FunnelCounts{Leads: 1}},
		"first week":   {first.FunnelCounts, services.FunnelCounts{Viewed: 3}},
		"total":        {d.Total, services.FunnelCounts{Viewed: 158, Started: 40, Completed: 3, Leads: 6, Booked: 2}},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %+v, want %+v", name, tc.got, tc.want)
		}
	}
	// Leads: 2 typed in + 3 made with the bookings (the expired hold's inquiry too).
	wantTeam := []services.FunnelSegment{{Key: "django", Completed: 2, Leads: 3, Booked: 2}, {Key: "nodejs", Completed: 1, Leads: 3, Booked: 0}}
	wantRegion := []services.FunnelSegment{{Key: "canada", Leads: 3, Booked: 1}, {Key: "usa", Leads: 3, Booked: 1}}
	for i := range 2 {
		if d.ByTeam[i] != wantTeam[i] || d.ByRegion[i] != wantRegion[i] {
			t.Errorf("segment %d: team %+v region %+v; want %+v and %+v", i, d.ByTeam[i], d.ByRegion[i], wantTeam[i], wantRegion[i])
		}
	}

	d, _ = dash.Load(staffCtx(services.RoleAdmin), 4)
	if d.Weeks != 4 || len(d.ByWeek) != 4 || d.Total.Viewed != 155 {
		t.Fatalf("4 weeks: %d rows, %d viewed; want 4 and 155", len(d.ByWeek), d.Total.Viewed)
	}
	d, _ = dash.Load(staffCtx(services.RoleAdmin), 7)
	if d.Weeks != services.DefaultDashboardWeeks {
		t.Fatalf("7 weeks asked: got %d, want the default", d.Weeks)
	}
	for _, role := range []string{services.RoleConsultant, ""} {
		if _, err := dash.Load(staffCtx(role), 12); !errors.Is(err, services.ErrForbidden) {
			t.Errorf("Load as %q: %v, want ErrForbidden", role, err)
		}
	}
}

func TestDashboardConsultantLoad(t *testing.T) {
	db := pgtest.NewDB(t)
	f := &funnelFixture{t: t, db: db}
	now := time.Date(2026, 3, 4, 15, 0, 0, 0, time.UTC)
	made := now.AddDate(0, -2, 0)
	ana := f.consultant("Ana", "django", true)
	ben := f.consultant("Ben", "nodejs", true)
	cy := f.consultant("Cy", "nodejs", false)
	f.consultant("Dee", "django", false) // inactive, nothing booked: not shown
	day := 24 * time.Hour
	for _, b := range []struct {
		who, status string
		start       time.Time
	}{
		{ana, services.StatusConfirmed, now.Add(day)},
		{ana, services.StatusHeld, now.Add(14*day - time.Hour)},
		{ana, services.StatusConfirmed, now.Add(14*day + time.Hour)}, // beyond 14 days
		{ana, services.StatusConfirmed, now.Add(-day)},
		{ana, services.StatusPendingPayment, now.Add(-29 * day)},
		{ana, services.StatusConfirmed, now.Add(-31 * day)}, // beyond 30 days
		{ana, services.StatusCancelled, now.Add(2 * day)},
		{ana, "no_show", now.Add(-2 * day)},
		{ben, services.StatusConfirmed, now.Add(-3 * day)},
		{cy, services.StatusConfirmed, now.Add(3 * day)},
	} {
		f.booking(b.who, "django", "canada", b.status, b.start, made)
	}
	d, err := services.NewDashboard(db, func() time.Time { return now }).Load(staffCtx(services.RoleSales), 12)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		name           string
		active         bool
		upcoming, past int64
	}
	var got []row
	for _, l := range d.Load {
		got = append(got, row{l.Name, l.Active, l.Upcoming, l.Past})
	}
	want := []row{{"Ana", true, 2, 2}, {"Cy", false, 1, 0}, {"Ben", true, 0, 1}}
	if len(got) != len(want) {
		t.Fatalf("load = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("load = %+v, want %+v", got, want)
		}
	}
}
