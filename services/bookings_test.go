package services_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"consultd/services"
)

// bookingClock is a settable clock shared by the services under test.
type bookingClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *bookingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *bookingClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

type bookingFixture struct {
	leadFixture
	clock       *bookingClock
	bookings    *services.Bookings
	consultants *services.Consultants
	toronto     *time.Location
}

// Monday 7 December 2026, 08:00 in Toronto.
var fixtureNow = time.Date(2026, 12, 7, 13, 0, 0, 0, time.UTC)

func newBookingFixture(t testing.TB, buffer time.Duration) bookingFixture {
	t.Helper()
	f := bookingFixture{leadFixture: newLeadFixture(t), clock: &bookingClock{t: fixtureNow}}
	f.toronto, _ = time.LoadLocation("America/Toronto")
	f.consultants = services.NewConsultants(f.db)
	f.bookings = newTestBookings(t, f.db, f.funnel, services.BookingRules{Buffer: buffer, MinNotice: 4 * time.Hour, HorizonDays: 30}, services.BookingsConfig{}, f.clock.Now)
	f.leads = services.NewLeads(f.db, f.funnel, f.bookings)
	return f
}

// newTestBookings is the booking service as the tests use it; cfg fills in
// the links and organizer it leaves empty.
func newTestBookings(t testing.TB, db *sqlx.DB, funnel *services.Funnel, rules services.BookingRules, cfg services.BookingsConfig, now func() time.Time) *services.Bookings {
	t.Helper()
	sealer, err := services.NewTokenSealer("test-secret")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL, cfg.UIDDomain = "https://consult.example.com", "consult.example.com"
		cfg.Organizer = services.Person{Name: "Stackpoint Consulting", Email: "consult@consult.example.com"}
	}
	return services.NewBookings(db, services.NewAvailability(db, rules, now), funnel, sealer, cfg, now)
}

func (f bookingFixture) mustConsultant(t testing.TB, email, team, zone string, hours ...string) services.Consultant {
	t.Helper()
	parsed, err := services.ParseWeeklyHours(hours)
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := f.consultants.Upsert(context.Background(), services.NewConsultant{
		Name: strings.Split(email, "@")[0], Email: email, Team: team, Regions: []string{"canada"}, Timezone: zone,
		MeetingURL: "https://meet.example.com/" + strings.Split(email, "@")[0], Hours: parsed,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// mustLead makes a Canadian lead in Toronto routed to the given team.
func (f bookingFixture) mustLead(t testing.TB, email, team string) services.Inquiry {
	t.Helper()
	pick := func(q services.Question) string {
		best := q.Options[0]
		for _, o := range q.Options {
			if team == "django" && o.Weights.Django-o.Weights.NodeJS > best.Weights.Django-best.Weights.NodeJS ||
				team == "nodejs" && o.Weights.NodeJS-o.Weights.Django > best.Weights.NodeJS-best.Weights.Django {
				best = o
			}
		}
		return best.ID
	}
	a, err := f.assessments.Submit(context.Background(), services.NewAssessment{Answers: allAnswers(f.def, pick)})
	if err != nil {
		t.Fatal(err)
	}
	in := validLead(a.ID)
	in.Email, in.Timezone = email, "America/Toronto"
	lead, err := f.leads.Capture(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if lead.Team != team {
		t.Fatalf("lead routed to %s, want %s", lead.Team, team)
	}
	return lead
}

func (f bookingFixture) at(day, hour, minute int) time.Time {
	return time.Date(2026, 12, day, hour, minute, 0, 0, f.toronto)
}

func outboxKinds(t *testing.T, db *sqlx.DB, bookingID string) []string {
	t.Helper()
	var kinds []string
	if err := db.Select(&kinds, `SELECT kind FROM outbox WHERE booking_id = $1 ORDER BY id`, bookingID); err != nil {
		t.Fatal(err)
	}
	return kinds
}

func TestBookCreatesBookingInvitesAndMarksLead(t *testing.T) {
	f := newBookingFixture(t, 0)
	ana := f.mustConsultant(t, "ana@consult.example.com", "django", "America/Toronto", "mon-fri 09:00-17:00")
	lead := f.mustLead(t, "pat@acme.example.com", "django")
	ctx := context.Background()

	bk, token, err := f.bookings.Book(ctx, services.NewBooking{InquiryID: lead.ID, Start: f.at(8, 10, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if bk.ConsultantID != ana.ID || bk.Status != "confirmed" || !bk.Start.Equal(f.at(8, 10, 0)) || !bk.End.Equal(f.at(8, 10, 30)) {
		t.Fatalf("booking = %+v", bk)
	}
	if len(token) < 43 || !strings.HasSuffix(bk.UID, "@consult.example.com") {
		t.Fatalf("token %q (want 256 bits) uid %q", token, bk.UID)
	}
	var stored int
	f.db.Get(&stored, `SELECT count(*) FROM bookings WHERE manage_token_hash = sha256(convert_to($1, 'UTF8')) AND position(convert_to($1, 'UTF8') IN manage_token_sealed) = 0`, token)
	if stored != 1 {
		t.Fatal("the token is not stored as its hash, or is stored in clear")
	}
	if got, err := f.bookings.ByToken(ctx, token); err != nil || got.ID != bk.ID {
		t.Fatalf("ByToken = %v, %v", got.ID, err)
	}
	if got := strings.Join(outboxKinds(t, f.db, bk.ID), ","); got != "invite,consultant_notice" {
		t.Fatalf("outbox = %s", got)
	}
	// Whoever holds the manage link can cancel: only the prospect gets it,
	// in no part of the consultant's notice (its .ics included).
	unfold := strings.NewReplacer("\r\n ", "", "\r\n\t", "")
	for kind, want := range map[string]bool{"invite": true, "consultant_notice": false} {
		var raw string
		if err := f.db.Get(&raw, `SELECT convert_from(message, 'UTF8') FROM outbox WHERE booking_id = $1 AND kind = $2`, bk.ID, kind); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(unfold.Replace(mailText(t, raw)), token); got != want {
			t.Fatalf("%s carries the manage token: %v, want %v", kind, got, want)
		}
	}
	var status, consultant string
	f.db.QueryRow(`SELECT status, consultant_id FROM leads WHERE id = $1`, lead.LeadID).Scan(&status, &consultant)
	if status != "booked" || consultant != ana.ID {
		t.Fatalf("lead status %s consultant %s", status, consultant)
	}
	if _, _, err := f.bookings.Book(ctx, services.NewBooking{InquiryID: lead.ID, Start: f.at(8, 11, 0)}); services.ErrorCode(err) != services.CodeEmailSent {
		t.Fatalf("second booking for the same lead: %v, want conflict", err)
	}
}

func TestBookRefusesStartsNotOffered(t *testing.T) {
	f := newBookingFixture(t, 0)
	f.mustConsultant(t, "ana@consult.example.com", "django", "America/Toronto", "mon-fri 09:00-17:00")
	lead := f.mustLead(t, "pat@acme.example.com", "django")
	tests := map[string]time.Time{
		"off the grid":          f.at(8, 10, 15),
		"in the past":           f.at(4, 10, 0),
		"inside minimum notice": f.at(7, 11, 30),
		"beyond the horizon":    time.Date(2027, 1, 12, 10, 0, 0, 0, f.toronto),
		"outside hours":         f.at(8, 17, 0),
		"on a weekend":          f.at(12, 10, 0),
	}
	for name, start := range tests {
		t.Run(name, func(t *testing.T) {
			_, _, err := f.bookings.Book(context.Background(), services.NewBooking{InquiryID: lead.ID, Start: start})
			var e *services.Error
			if !errors.As(err, &e) || e.Code != services.CodeInvalid || e.Fields["start"] == "" {
				t.Fatalf("error = %v, want invalid start", err)
			}
		})
	}
	if _, _, err := f.bookings.Book(context.Background(), services.NewBooking{InquiryID: lead.ID, Start: f.at(7, 12, 0)}); err != nil {
		t.Fatalf("the first slot after the notice: %v", err)
	}
}

func TestBookSpreadsWorkFairlyAndReportsTakenSlots(t *testing.T) {
	f := newBookingFixture(t, 0)
	a := f.mustConsultant(t, "ana@consult.example.com", "django", "America/Toronto", "mon-fri 09:00-17:00")
	b := f.mustConsultant(t, "ben@consult.example.com", "django", "America/Toronto", "mon-fri 09:00-17:00")
	ctx := context.Background()
	got := map[string]int{}
	for i, email := range []string{"l1@acme.example.com", "l2@acme.example.com", "l3@acme.example.com", "l4@acme.example.com"} {
		lead := f.mustLead(t, email, "django")
		bk, _, err := f.bookings.Book(ctx, services.NewBooking{InquiryID: lead.ID, Start: f.at(8+i, 10, 0)})
		if err != nil {
			t.Fatal(err)
		}
		got[bk.ConsultantID]++
		f.clock.Set(fixtureNow.Add(time.Duration(i+1) * time.Minute))
	}
	if got[a.ID] != 2 || got[b.ID] != 2 {
		t.Fatalf("bookings per consultant = %v, want 2 each", got)
	}
	// Both are busy at 10:00 on the 8th after two more bookings there.
	l5, l6, l7 := f.mustLead(t, "l5@acme.example.com", "django"), f.mustLead(t, "l6@acme.example.com", "django"), f.mustLead(t, "l7@acme.example.com", "django")
	first, _, err := f.bookings.Book(ctx, services.NewBooking{InquiryID: l5.ID, Start: f.at(14, 10, 0)})
	if err != nil {
		t.Fatal(err)
	}
	second, _, err := f.bookings.Book(ctx, services.NewBooking{InquiryID: l6.ID, Start: f.at(14, 10, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if first.ConsultantID == second.ConsultantID {
		t.Fatal("two bookings at one start went to the same consultant")
	}
	_, _, err = f.bookings.Book(ctx, services.NewBooking{InquiryID: l7.ID, Start: f.at(14, 10, 0)})
	var taken *services.SlotTaken
	if !errors.As(err, &taken) || len(taken.Next) == 0 || !taken.Next[0].Start.Equal(f.at(14, 10, 30)) {
		t.Fatalf("third booking at a full start: %v, want SlotTaken offering 10:30", err)
	}
}

func TestDatabaseForbidsOverlapForEveryWriter(t *testing.T) {
	f := newBookingFixture(t, 0)
	c := f.mustConsultant(t, "ana@consult.example.com", "django", "America/Toronto", "mon-fri 09:00-17:00")
	lead := f.mustLead(t, "pat@acme.example.com", "django")
	insert := func(start time.Time, status string) error {
		_, err := f.db.Exec(`
			INSERT INTO bookings (lead_id, inquiry_id, team, region, consultant_id, status, starts_at, ends_at, blocked, timezone, uid, manage_token_hash, manage_token_sealed)
			VALUES ($1, $6, 'django', 'canada', $2, $3, $4, $5, tstzrange($4, $5, '[)'), 'America/Toronto', gen_random_uuid()::text, sha256(gen_random_uuid()::text::bytea), '\x00')`,
			lead.LeadID, c.ID, status, start, start.Add(30*time.Minute), lead.ID)
		return err
	}
	if err := insert(f.at(8, 10, 0), "confirmed"); err != nil {
		t.Fatal(err)
	}
	if err := insert(f.at(8, 10, 15), "held"); err == nil || !strings.Contains(err.Error(), "bookings_no_overlap") {
		t.Fatalf("overlapping insert: %v, want the exclusion constraint", err)
	}
	if err := insert(f.at(8, 10, 0), "cancelled"); err != nil {
		t.Fatalf("a cancelled row may share the time: %v", err)
	}
	if err := insert(f.at(8, 10, 30), "confirmed"); err != nil {
		t.Fatalf("back-to-back booking refused: %v", err)
	}
}

func TestBufferKeepsTimeAfterMeetings(t *testing.T) {
	f := newBookingFixture(t, 15*time.Minute)
	f.mustConsultant(t, "ana@consult.example.com", "django", "America/Toronto", "mon-fri 09:00-17:00")
	ctx := context.Background()
	if _, _, err := f.bookings.Book(ctx, services.NewBooking{InquiryID: f.mustLead(t, "a@acme.example.com", "django").ID, Start: f.at(8, 10, 0)}); err != nil {
		t.Fatal(err)
	}
	_, _, err := f.bookings.Book(ctx, services.NewBooking{InquiryID: f.mustLead(t, "b@acme.example.com", "django").ID, Start: f.at(8, 10, 30)})
	var taken *services.SlotTaken
	if !errors.As(err, &taken) || !taken.Next[0].Start.Equal(f.at(8, 11, 0)) {
		t.Fatalf("10:30 right after a 10:00 meeting with a 15 minute buffer: %v", err)
	}
}

func TestRescheduleAndCancel(t *testing.T) {
	f := newBookingFixture(t, 0)
	ana := f.mustConsultant(t, "ana@consult.example.com", "django", "America/Toronto", "mon-fri 09:00-17:00")
	ben := f.mustConsultant(t, "ben@consult.example.com", "django", "America/Toronto", "mon-fri 09:00-17:00")
	ctx := context.Background()
	bk, token, err := f.bookings.Book(ctx, services.NewBooking{InquiryID: f.mustLead(t, "pat@acme.example.com", "django").ID, Start: f.at(8, 10, 0)})
	if err != nil {
		t.Fatal(err)
	}
	mine := bk.ConsultantID
	other := ben.ID
	if mine == ben.ID {
		other = ana.ID
	}

	moved, err := f.bookings.Reschedule(ctx, token, f.at(9, 11, 0))
	if err != nil {
		t.Fatal(err)
	}
	if moved.ConsultantID != mine || moved.UID != bk.UID || moved.Sequence != 1 || !moved.Start.Equal(f.at(9, 11, 0)) {
		t.Fatalf("moved = consultant %s uid %s seq %d start %v; want same consultant and uid, sequence 1", moved.ConsultantID, moved.UID, moved.Sequence, moved.Start)
	}
	// Make the current consultant busy at 14:00 on the 10th: the move goes to the other one.
	if _, err := f.consultants.AddTimeOff(ctx, mine, f.at(10, 13, 0), f.at(10, 15, 0), "dentist"); err != nil {
		t.Fatal(err)
	}
	moved, err = f.bookings.Reschedule(ctx, token, f.at(10, 14, 0))
	if err != nil {
		t.Fatal(err)
	}
	if moved.ConsultantID != other || moved.Sequence != 2 {
		t.Fatalf("re-routed move went to %s seq %d, want %s seq 2", moved.ConsultantID, moved.Sequence, other)
	}
	if got := strings.Join(outboxKinds(t, f.db, bk.ID), ","); got != "invite,consultant_notice,invite,consultant_notice,invite,consultant_cancel,consultant_notice" {
		t.Fatalf("outbox = %s", got)
	}

	cancelled, err := f.bookings.Cancel(ctx, token, "found a partner")
	if err != nil {
		t.Fatal(err)
	}
	// Nothing was delivered meanwhile: everything but the cancellation was withdrawn.
	var pending []string
	f.db.Select(&pending, `SELECT kind FROM outbox WHERE booking_id = $1 AND status = 'pending' ORDER BY id`, bk.ID)
	if got := strings.Join(pending, ","); got != "cancel,consultant_cancel" {
		t.Fatalf("pending mail after cancel = %s, want only the cancellation", got)
	}
	if cancelled.Status != "cancelled" || cancelled.Sequence != 3 {
		t.Fatalf("cancelled = %s seq %d", cancelled.Status, cancelled.Sequence)
	}
	var leadStatus string
	f.db.Get(&leadStatus, `SELECT status FROM leads WHERE id = $1`, bk.LeadID)
	if leadStatus != "new" {
		t.Fatalf("lead status after cancel = %s, want new (back to follow-up)", leadStatus)
	}
	if _, err := f.bookings.Cancel(ctx, token, ""); services.ErrorCode(err) != services.CodeConflict {
		t.Fatalf("cancel twice: %v, want conflict", err)
	}
	if _, err := f.bookings.Reschedule(ctx, token, f.at(11, 10, 0)); services.ErrorCode(err) != services.CodeConflict {
		t.Fatalf("move a cancelled booking: %v, want conflict", err)
	}
	ics, err := f.bookings.InviteICS(ctx, token)
	if err != nil || !strings.Contains(string(ics), "METHOD:CANCEL") || !strings.Contains(string(ics), "SEQUENCE:3") {
		t.Fatalf("ics after cancel: %v\n%s", err, ics)
	}
}

func TestNoChangesOnceTheMeetingStarted(t *testing.T) {
	f := newBookingFixture(t, 0)
	f.mustConsultant(t, "ana@consult.example.com", "django", "America/Toronto", "mon-fri 09:00-17:00")
	ctx := context.Background()
	_, token, err := f.bookings.Book(ctx, services.NewBooking{InquiryID: f.mustLead(t, "pat@acme.example.com", "django").ID, Start: f.at(8, 10, 0)})
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Set(f.at(8, 10, 5))
	if _, err := f.bookings.Cancel(ctx, token, ""); services.ErrorCode(err) != services.CodeConflict {
		t.Fatalf("cancel after start: %v", err)
	}
	if _, err := f.bookings.Reschedule(ctx, token, f.at(9, 10, 0)); services.ErrorCode(err) != services.CodeConflict {
		t.Fatalf("move after start: %v", err)
	}
	if _, err := f.bookings.ByToken(ctx, "not-a-token"); !errors.Is(err, services.ErrNotFound) {
		t.Fatalf("bad token: %v", err)
	}
}

// Two writers that take conflicting times at once can each wait for the
// other's row. PostgreSQL breaks the cycle with a deadlock error, which
// must end as the loser's "slot taken", never as an internal error.
// PostgreSQL ends the wait of whichever session checks first, one
// deadlock_timeout after it began waiting; on a loaded machine the rival
// can start waiting after the booking's check found no cycle yet and be
// the one ended. Then the booking simply won, and the test tries again on
// the next day with new people.
func TestBookingCaughtInAConstraintDeadlockEndsAsSlotTaken(t *testing.T) {
	f := newBookingFixture(t, 0)
	c := f.mustConsultant(t, "ana@consult.example.com", "django", "America/Toronto", "mon-fri 09:00-17:00")
	for day := 8; day <= 11; day++ {
		rivalCaught, bookErr := bookIntoADeadlock(t, f, c.ID, day)
		if rivalCaught {
			if bookErr != nil {
				t.Fatalf("December %d: the rival's wait was ended, yet the booking failed: %v", day, bookErr)
			}
			t.Logf("December %d: PostgreSQL ended the rival's wait, not the booking's; again", day)
			continue
		}
		var taken *services.SlotTaken
		if !errors.As(bookErr, &taken) {
			t.Fatalf("booking caught in the deadlock = %v, want SlotTaken", bookErr)
		}
		return
	}
	t.Fatal("in four tries PostgreSQL never ended the booking's wait")
}

// bookIntoADeadlock has a rival transaction and a booking on day wait for
// each other, and returns whether PostgreSQL ended the rival's wait instead
// of the booking's, and the booking's error.
func bookIntoADeadlock(t *testing.T, f bookingFixture, consultantID string, day int) (bool, error) {
	t.Helper()
	other := f.mustLead(t, fmt.Sprintf("other%d@acme.example.com", day), "django")
	prospect := f.mustLead(t, fmt.Sprintf("pat%d@acme.example.com", day), "django")
	ctx := context.Background()
	rival, err := f.db.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rival.Rollback()
	insert := func(start time.Time) error {
		_, err := rival.Exec(`
			INSERT INTO bookings (lead_id, inquiry_id, team, region, consultant_id, status, starts_at, ends_at, blocked, timezone, uid, manage_token_hash, manage_token_sealed)
			VALUES ($1, $2, 'django', 'canada', $3, 'confirmed', $4, $5, tstzrange($4, $5, '[)'), 'America/Toronto', gen_random_uuid()::text, sha256(gen_random_uuid()::text::bytea), '\x00')`,
			other.LeadID, other.ID, consultantID, start, start.Add(30*time.Minute))
		return err
	}
	// The rival holds 09:40-10:10, uncommitted; the prospect's 10:00 waits for it.
	if err := insert(f.at(day, 9, 40)); err != nil {
		t.Fatal(err)
	}
	booked := make(chan error, 1)
	go func() {
		_, _, err := f.bookings.Book(ctx, services.NewBooking{InquiryID: prospect.ID, Start: f.at(day, 10, 0)})
		booked <- err
	}()
	waitForLockWait(t, f.db)
	// Now the rival takes 10:20-10:50, which meets the prospect's pending
	// row: each waits for the other until PostgreSQL ends one wait.
	if err := insert(f.at(day, 10, 20)); err != nil {
		var pqErr *pq.Error
		if errors.As(err, &pqErr) && pqErr.Code == "40P01" {
			rival.Rollback()
			return true, <-booked
		}
		t.Fatalf("the rival's second row: %v", err)
	}
	if err := rival.Commit(); err != nil {
		t.Fatal(err)
	}
	return false, <-booked
}

// waitForLockWait returns once some session of the database waits for a
// lock (a transaction id, here).
func waitForLockWait(t *testing.T, db *sqlx.DB) {
	t.Helper()
	for i := 0; i < 500; i++ {
		var waiting int
		if err := db.Get(&waiting, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("no session started waiting for a lock")
}

// Marking a lead booked takes the lead's row before any funnel row, the
// order every other writer takes them in (a booking locks its lead
// first): while another transaction holds the lead, the statement waits
// without holding a funnel row, so no pair of them can deadlock.
func TestMarkingALeadBookedLocksTheLeadBeforeTheFunnel(t *testing.T) {
	f := newBookingFixture(t, 0)
	ctx := context.Background()
	lead := f.mustLead(t, "order@example.com", "django")
	day := fixtureNow.UTC().Format(time.DateOnly)
	if _, err := f.db.Exec(`
		INSERT INTO funnel_counts (day, stage, shard, count)
		SELECT $1, 'booked', g, 0 FROM generate_series(0, 63) g ON CONFLICT DO NOTHING`, day); err != nil {
		t.Fatal(err)
	}
	holder, err := f.db.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Rollback()
	if _, err := holder.Exec(`SELECT 1 FROM leads WHERE id = $1 FOR UPDATE`, lead.LeadID); err != nil {
		t.Fatal(err)
	}
	marked := make(chan error, 1)
	go func() {
		_, err := f.db.Exec(services.MarkLeadBookedSQL, day, services.StageBooked, lead.LeadID, nil, `{}`, "test")
		marked <- err
	}()
	// Wait until the statement is blocked on the lead's row.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		var waiting int
		if err := f.db.Get(&waiting, `SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO lead_events%'`); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the statement never waited for the lead's row")
		}
	}
	var free int
	err = f.db.Get(&free, `
		WITH locked AS (SELECT 1 FROM funnel_counts WHERE day = $1 AND stage = 'booked' FOR UPDATE NOWAIT)
		SELECT count(*) FROM locked`, day)
	if err != nil {
		t.Fatalf("a funnel row was locked while the statement waited for the lead: %v", err)
	}
	if free != 64 {
		t.Fatalf("%d funnel rows, want 64", free)
	}
	holder.Rollback()
	if err := <-marked; err != nil {
		t.Fatal(err)
	}
	var counted int
	if err := f.db.Get(&counted, `SELECT sum(count) FROM funnel_counts WHERE day = $1 AND stage = 'booked'`, day); err != nil || counted != 1 {
		t.Fatalf("booked counted %d (%v), want 1", counted, err)
	}
}

// A booking names its session type by slug, in any case; a slug no active
// type has is refused on the type field, and nothing is booked.
func TestBookRefusesUnknownAndRetiredSessionTypes(t *testing.T) {
	f := newBookingFixture(t, 0)
	ctx := context.Background()
	f.mustConsultant(t, "dana@consult.example.com", "django", "America/Toronto", "mon-fri 09:00-17:00")
	if _, err := f.db.Exec(`INSERT INTO session_types (slug, name, description, position, active) VALUES ('retired', 'Retired', '', 9, false)`); err != nil {
		t.Fatal(err)
	}
	for _, slug := range []string{"no-such-type", "retired"} {
		inq := f.mustLead(t, slug+"@example.com", "django")
		_, _, err := f.bookings.Book(ctx, services.NewBooking{InquiryID: inq.ID, Start: f.at(8, 10, 0), Type: slug})
		var e *services.Error
		if !errors.As(err, &e) || e.Code != services.CodeInvalid || e.Fields["type"] == "" {
			t.Fatalf("type %q: %v, want invalid on the type field", slug, err)
		}
	}
	var booked int
	if err := f.db.Get(&booked, `SELECT count(*) FROM bookings`); err != nil || booked != 0 {
		t.Fatalf("%d bookings (%v) after refused types", booked, err)
	}
	inq := f.mustLead(t, "upper@example.com", "django")
	bk, _, err := f.bookings.Book(ctx, services.NewBooking{InquiryID: inq.ID, Start: f.at(8, 10, 0), Type: "CONSULTATION"})
	if err != nil || bk.SessionType != services.DefaultSessionType {
		t.Fatalf("type in capitals: %v, %q", err, bk.SessionType)
	}
	if _, _, err := f.bookings.Book(ctx, services.NewBooking{InquiryID: "6f1c2a9e-0000-4000-8000-000000000000", Start: f.at(8, 11, 0)}); !errors.Is(err, services.ErrNotFound) {
		t.Fatalf("an inquiry nobody has: %v, want not found", err)
	}
}
