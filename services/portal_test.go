package services_test

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"consultd/services"
)

// portalFixture has two Django consultants whose hours never overlap, so
// each test booking lands with the one who works then: Ana (Toronto,
// 09:00-12:00) and Ben (Halifax, 14:00-17:00, which is 13:00-16:00 in Toronto).
type portalFixture struct {
	bookingFixture
	portal   *services.Portal
	ana, ben services.Consultant
}

func newPortalFixture(t *testing.T) portalFixture {
	t.Helper()
	f := portalFixture{bookingFixture: newBookingFixture(t, 0)}
	f.portal = services.NewPortal(f.db, f.clock.Now)
	f.ana = f.mustConsultant(t, "ana@consult.example.com", "django", "America/Toronto", "mon-fri 09:00-12:00")
	f.ben = f.mustConsultant(t, "ben@consult.example.com", "django", "America/Halifax", "mon-fri 14:00-17:00")
	return f
}

// as is ctx signed in as the consultant's account.
func as(c services.Consultant) context.Context {
	return services.WithActor(context.Background(), services.Actor{Email: c.Email, Role: services.RoleConsultant, ConsultantID: c.ID})
}

func (f portalFixture) mustBook(t *testing.T, email string, start time.Time, want services.Consultant) (services.Booking, string) {
	t.Helper()
	lead := f.mustLead(t, email, "django")
	bk, token, err := f.bookings.Book(context.Background(), services.NewBooking{InquiryID: lead.ID, Start: start})
	if err != nil {
		t.Fatal(err)
	}
	if bk.ConsultantID != want.ID {
		t.Fatalf("booking at %s went to %s, want %s", start, bk.ConsultantName, want.Name)
	}
	return bk, token
}

type auditRow struct {
	Actor    string `db:"actor"`
	TargetID string `db:"target_id"`
	Detail   string `db:"detail"`
}

func auditRows(t *testing.T, db *sqlx.DB, action string) []map[string]string {
	t.Helper()
	var rows []auditRow
	if err := db.Select(&rows, `SELECT actor, target_id, detail::text AS detail FROM audit_log WHERE action = $1 ORDER BY id`, action); err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for _, r := range rows {
		m := map[string]string{}
		if err := json.Unmarshal([]byte(r.Detail), &m); err != nil {
			t.Fatal(err)
		}
		m["actor"], m["target_id"] = r.Actor, r.TargetID
		out = append(out, m)
	}
	return out
}

func ids(bookings []services.Booking) []string {
	var out []string
	for _, b := range bookings {
		out = append(out, b.ID)
	}
	return out
}

func sameIDs(got []services.Booking, want ...services.Booking) bool {
	g, w := ids(got), ids(want)
	if len(g) != len(w) {
		return false
	}
	for i := range g {
		if g[i] != w[i] {
			return false
		}
	}
	return true
}

func TestPortalShowsOnlyTheActorsBookings(t *testing.T) {
	f := newPortalFixture(t)
	past, _ := f.mustBook(t, "pat@acme.example.com", f.at(8, 10, 0), f.ana)
	bens, _ := f.mustBook(t, "bo@other.example.com", f.at(8, 14, 0), f.ben)
	cancelled, token := f.mustBook(t, "cy@acme.example.com", f.at(9, 10, 0), f.ana)
	upcoming, _ := f.mustBook(t, "di@acme.example.com", f.at(10, 11, 0), f.ana)
	if _, err := f.bookings.Cancel(context.Background(), token, "changed plans"); err != nil {
		t.Fatal(err)
	}
	f.clock.Set(f.at(9, 8, 0))

	o, err := f.portal.Overview(as(f.ana))
	if err != nil {
		t.Fatal(err)
	}
	if o.Consultant.ID != f.ana.ID || o.Loc.String() != "America/Toronto" || o.ZoneLabel == "" {
		t.Fatalf("overview of %s in %s (%q)", o.Consultant.Email, o.Loc, o.ZoneLabel)
	}
	if !sameIDs(o.Upcoming, upcoming) || !sameIDs(o.Past, past) || !sameIDs(o.Cancelled, cancelled) {
		t.Fatalf("upcoming %v past %v cancelled %v; want %s, %s, %s", ids(o.Upcoming), ids(o.Past), ids(o.Cancelled), upcoming.ID, past.ID, cancelled.ID)
	}
	o, err = f.portal.Overview(as(f.ben))
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Upcoming) != 0 || !sameIDs(o.Past, bens) || len(o.Cancelled) != 0 {
		t.Fatalf("Ben sees upcoming %v past %v cancelled %v, want only his own past booking %s", ids(o.Upcoming), ids(o.Past), ids(o.Cancelled), bens.ID)
	}

	// A week later the past booking has dropped off.
	f.clock.Set(f.at(15, 11, 0))
	if o, _ := f.portal.Overview(as(f.ana)); len(o.Past) != 1 || o.Past[0].ID != upcoming.ID || len(o.Upcoming) != 0 {
		t.Fatalf("a week later: past %v upcoming %v", ids(o.Past), ids(o.Upcoming))
	}
}

func TestPortalRefusesAnyoneButAConsultant(t *testing.T) {
	f := newPortalFixture(t)
	for name, a := range map[string]services.Actor{
		"anonymous":                 {},
		"sales":                     {Email: "sales@consult.example.com", Role: services.RoleSales, ConsultantID: f.ana.ID},
		"admin":                     {Email: "admin@consult.example.com", Role: services.RoleAdmin},
		"consultant without a link": {Email: "x@consult.example.com", Role: services.RoleConsultant},
		"consultant since deleted":  {Email: "y@consult.example.com", Role: services.RoleConsultant, ConsultantID: "00000000-0000-0000-0000-000000000000"},
	} {
		t.Run(name, func(t *testing.T) {
			ctx := services.WithActor(context.Background(), a)
			if _, err := f.portal.Overview(ctx); !errors.Is(err, services.ErrForbidden) {
				t.Errorf("Overview: %v, want forbidden", err)
			}
			if _, err := f.portal.SaveHours(ctx, services.WeekHours{}); !errors.Is(err, services.ErrForbidden) {
				t.Errorf("SaveHours: %v, want forbidden", err)
			}
			if _, err := f.portal.AddTimeOff(ctx, services.NewTimeOff{FromDate: "2026-12-24"}); !errors.Is(err, services.ErrForbidden) {
				t.Errorf("AddTimeOff: %v, want forbidden", err)
			}
		})
	}
	if hours, _ := f.consultants.Hours(context.Background(), f.ana.ID); len(hours) != 5 {
		t.Fatalf("Ana's hours changed to %v", hours)
	}
}

func TestPortalSavesHoursPerDay(t *testing.T) {
	f := newPortalFixture(t)
	ctx := as(f.ana)
	var week services.WeekHours
	week[time.Monday] = " 13:00 – 17:00, 9:00-12:00 "
	week[time.Saturday] = "10:00-14:00,"
	if _, err := f.portal.SaveHours(ctx, week); err != nil {
		t.Fatal(err)
	}
	hours, _ := f.consultants.Hours(ctx, f.ana.ID)
	if got, want := services.FormatWeeklyHours(hours), "mon 09:00-12:00,13:00-17:00; sat 10:00-14:00"; got != want {
		t.Fatalf("hours = %q, want %q", got, want)
	}
	rows := auditRows(t, f.db, "hours_changed")
	if len(rows) != 1 || rows[0]["hours"] != "mon 09:00-12:00,13:00-17:00; sat 10:00-14:00" ||
		rows[0]["previous"] != "mon 09:00-12:00; tue 09:00-12:00; wed 09:00-12:00; thu 09:00-12:00; fri 09:00-12:00" ||
		rows[0]["actor"] != "ana@consult.example.com" || rows[0]["target_id"] != f.ana.ID || rows[0]["timezone"] != "America/Toronto" {
		t.Fatalf("audit = %v", rows)
	}

	bad := week
	bad[time.Tuesday] = "9-5"
	bad[time.Wednesday] = "09:00-12:00, 11:00-13:00"
	bad[time.Thursday] = "22:00-02:00"
	bad[time.Friday] = "08:00-25:00"
	_, err := f.portal.SaveHours(ctx, bad)
	var e *services.Error
	if !errors.As(err, &e) || e.Code != services.CodeInvalid {
		t.Fatalf("invalid hours: %v", err)
	}
	for day, want := range map[string]string{
		"tue": `"9-5": write each time as HH:MM`, "wed": "09:00-12:00 and 11:00-13:00 overlap", "thu": "ends before it starts", "fri": `"08:00-25:00": write each time`,
	} {
		if !strings.Contains(e.Fields[day], want) {
			t.Errorf("%s: %q, want it to mention %q", day, e.Fields[day], want)
		}
	}
	if len(e.Fields) != 4 {
		t.Errorf("fields %v, want the four bad days only", e.Fields)
	}
	if again, _ := f.consultants.Hours(ctx, f.ana.ID); services.FormatWeeklyHours(again) != services.FormatWeeklyHours(hours) {
		t.Fatalf("refused hours changed the week to %v", again)
	}
	if rows := auditRows(t, f.db, "hours_changed"); len(rows) != 1 {
		t.Fatalf("refused hours were audited: %v", rows)
	}
	if _, err := f.portal.SaveHours(ctx, services.WeekHours{}); err != nil {
		t.Fatal(err)
	}
	if hours, _ := f.consultants.Hours(ctx, f.ana.ID); len(hours) != 0 {
		t.Fatalf("an empty week left %v", hours)
	}
}

func TestPortalWindowsFollowHoursTimeOffAndDST(t *testing.T) {
	f := newPortalFixture(t)
	ctx := as(f.ana)
	if _, err := f.portal.AddTimeOff(ctx, services.NewTimeOff{FromDate: "2026-12-07", FromTime: "10:00", ToTime: "11:00"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.portal.AddTimeOff(ctx, services.NewTimeOff{FromDate: "2026-12-09"}); err != nil {
		t.Fatal(err)
	}
	o, err := f.portal.Overview(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Windows) != 7 {
		t.Fatalf("%d days, want 7", len(o.Windows))
	}
	clock := func(d services.DayWindows) string {
		s := d.Date.Format("Mon 2:")
		for _, w := range d.Windows {
			s += " " + w.Start.In(f.toronto).Format("15:04") + "-" + w.End.In(f.toronto).Format("15:04")
		}
		return s
	}
	for i, want := range []string{"Mon 7: 09:00-10:00 11:00-12:00", "Tue 8: 09:00-12:00", "Wed 9:", "Thu 10: 09:00-12:00", "Fri 11: 09:00-12:00", "Sat 12:", "Sun 13:"} {
		if got := clock(o.Windows[i]); got != want {
			t.Errorf("day %d = %q, want %q", i, got, want)
		}
	}
	if !o.Windows[2].HasHours || o.Windows[5].HasHours {
		t.Error("Wednesday (all time off) should have hours and Saturday none")
	}

	// Sunday 14 March 2027 has 23 hours in Halifax.
	f.clock.Set(time.Date(2027, 3, 13, 12, 0, 0, 0, time.UTC))
	var week services.WeekHours
	week[time.Sunday] = "00:00-24:00"
	if _, err := f.portal.SaveHours(as(f.ben), week); err != nil {
		t.Fatal(err)
	}
	o, _ = f.portal.Overview(as(f.ben))
	if sun := o.Windows[1]; len(sun.Windows) != 1 || sun.Windows[0].End.Sub(sun.Windows[0].Start) != 23*time.Hour {
		t.Fatalf("spring-forward Sunday = %+v, want one 23-hour window", sun)
	}
}

func TestPortalTimeOff(t *testing.T) {
	f := newPortalFixture(t)
	inside, _ := f.mustBook(t, "pat@acme.example.com", f.at(8, 10, 0), f.ana)
	f.mustBook(t, "bo@other.example.com", f.at(8, 14, 0), f.ben)
	ctx := as(f.ana)

	added, err := f.portal.AddTimeOff(ctx, services.NewTimeOff{FromDate: "2026-12-08", Reason: " Dentist "})
	if err != nil {
		t.Fatal(err)
	}
	if !added.Start.Equal(f.at(8, 0, 0)) || !added.End.Equal(f.at(9, 0, 0)) || added.Reason != "Dentist" {
		t.Fatalf("a date alone = %s to %s %q, want the whole of 8 December in Toronto", added.Start, added.End, added.Reason)
	}
	if !sameIDs(added.Bookings, inside) {
		t.Fatalf("bookings inside = %v, want Ana's %s only", ids(added.Bookings), inside.ID)
	}
	if bk, _ := f.bookings.Get(ctx, inside.ID); bk.Status != services.StatusConfirmed {
		t.Fatalf("the booking inside the time off is %s, want it kept", bk.Status)
	}
	rows := auditRows(t, f.db, "time_off_added")
	if len(rows) != 1 || rows[0]["target_id"] != strconv.FormatInt(added.ID, 10) || rows[0]["from"] != "2026-12-08T00:00:00-05:00" ||
		rows[0]["to"] != "2026-12-09T00:00:00-05:00" || rows[0]["bookings_inside"] != "1" || rows[0]["reason"] != "Dentist" {
		t.Fatalf("audit = %v", rows)
	}
	o, _ := f.portal.Overview(ctx)
	if len(o.TimeOff) != 1 || !sameIDs(o.TimeOff[0].Bookings, inside) {
		t.Fatalf("overview time off = %+v", o.TimeOff)
	}

	for name, tc := range map[string]struct {
		in    services.NewTimeOff
		field string
	}{
		"end before start": {services.NewTimeOff{FromDate: "2026-12-20", ToDate: "2026-12-18"}, "to"},
		"same instant":     {services.NewTimeOff{FromDate: "2026-12-20", FromTime: "10:00", ToTime: "10:00"}, "to"},
		"no date":          {services.NewTimeOff{FromTime: "10:00"}, "from"},
		"bad time":         {services.NewTimeOff{FromDate: "2026-12-20", FromTime: "10am"}, "from"},
		"bad end date":     {services.NewTimeOff{FromDate: "2026-12-20", ToDate: "20/12/2026"}, "to"},
		"in the past":      {services.NewTimeOff{FromDate: "2026-12-01", ToDate: "2026-12-02"}, "to"},
		"over a year":      {services.NewTimeOff{FromDate: "2026-12-20", ToDate: "2028-12-20"}, "to"},
		"long reason":      {services.NewTimeOff{FromDate: "2026-12-20", Reason: strings.Repeat("x", 201)}, "reason"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := f.portal.AddTimeOff(ctx, tc.in)
			var e *services.Error
			if !errors.As(err, &e) || e.Code != services.CodeInvalid || e.Fields[tc.field] == "" {
				t.Fatalf("%v, want a message on %s", err, tc.field)
			}
		})
	}

	bensOff, err := f.portal.AddTimeOff(as(f.ben), services.NewTimeOff{FromDate: "2026-12-21", ToDate: "2026-12-23"})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{strconv.FormatInt(bensOff.ID, 10), "999999", "abc", "-1", ""} {
		if err := f.portal.RemoveTimeOff(ctx, id); !errors.Is(err, services.ErrNotFound) {
			t.Errorf("Ana removing time off %q: %v, want not found", id, err)
		}
	}
	if err := f.portal.RemoveTimeOff(ctx, strconv.FormatInt(added.ID, 10)); err != nil {
		t.Fatal(err)
	}
	if err := f.portal.RemoveTimeOff(ctx, strconv.FormatInt(added.ID, 10)); !errors.Is(err, services.ErrNotFound) {
		t.Fatalf("removing twice: %v", err)
	}
	if left, _ := f.consultants.TimeOff(ctx, f.ben.ID, f.clock.Now()); len(left) != 1 {
		t.Fatalf("Ben's time off = %v, want it untouched", left)
	}
	rows = auditRows(t, f.db, "time_off_removed")
	if len(rows) != 1 || rows[0]["target_id"] != strconv.FormatInt(added.ID, 10) || rows[0]["reason"] != "Dentist" || rows[0]["consultant_id"] != f.ana.ID {
		t.Fatalf("audit = %v", rows)
	}
}

func TestParseDayHours(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"  ", ""},
		{"09:00-17:00", "09:00-17:00"},
		{"13:00 – 17:00, 9:00-12:00", "09:00-12:00, 13:00-17:00"},
		{"00:00-24:00", "00:00-24:00"},
		{"08:00—10:00,", "08:00-10:00"},
	} {
		got, err := services.ParseDayHours(time.Monday, tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if s := services.FormatDayHours(got); s != tc.want {
			t.Errorf("%q = %q, want %q", tc.in, s, tc.want)
		}
	}
	for _, bad := range []string{"9-5", "09:00", "09:00-09:00", "10:00-09:00", "09:00-12:00,11:00-13:00", "9am-5pm", "24:00-24:30"} {
		if _, err := services.ParseDayHours(time.Monday, bad); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
}
