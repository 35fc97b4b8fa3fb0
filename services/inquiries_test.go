package services_test

import (
	"context"
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

	"github.com/pressly/goose/v3"

	"consultd/internal/pgtest"
	"consultd/migrations"
	"consultd/services"
)

// submitAs sends the contact form for a new assessment routed to team,
// with the given email, name and zone.
func (f bookingFixture) submitAs(t *testing.T, email, name, team, zone string) services.Inquiry {
	t.Helper()
	inq := f.mustLead(t, "fresh-"+strings.ReplaceAll(email, "@", ".")+"@example.com", team)
	in := validLead(inq.AssessmentID)
	in.Email, in.Name, in.Company, in.Timezone = email, name, name+" Ltd", zone
	got, err := f.leads.Capture(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// mailText is every text part of a message, decoded.
func mailText(t *testing.T, raw string) string {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	var walk func(h textproto.MIMEHeader, body io.Reader)
	walk = func(h textproto.MIMEHeader, body io.Reader) {
		mediaType, params, _ := mime.ParseMediaType(h.Get("Content-Type"))
		if strings.HasPrefix(mediaType, "multipart/") {
			mr := multipart.NewReader(body, params["boundary"])
			for p, err := mr.NextRawPart(); err == nil; p, err = mr.NextRawPart() {
				walk(p.Header, p)
			}
			return
		}
		switch strings.ToLower(h.Get("Content-Transfer-Encoding")) {
		case "quoted-printable":
			body = quotedprintable.NewReader(body)
		case "base64":
			body = base64.NewDecoder(base64.StdEncoding, body)
		}
		b, _ := io.ReadAll(body)
		out.Write(b)
	}
	walk(textproto.MIMEHeader(msg.Header), msg.Body)
	return out.String()
}

func outboxTo(t *testing.T, f bookingFixture, kind string) []struct {
	To      string `db:"to_address"`
	Status  string `db:"status"`
	Message string `db:"message"`
} {
	t.Helper()
	var rows []struct {
		To      string `db:"to_address"`
		Status  string `db:"status"`
		Message string `db:"message"`
	}
	if err := f.db.Select(&rows, `SELECT to_address, status, convert_from(message, 'UTF8') AS message FROM outbox WHERE kind = $1 ORDER BY id`, kind); err != nil {
		t.Fatal(err)
	}
	return rows
}

// Someone who types the email of a person holding an upcoming consultation
// changes nothing and learns nothing: the address on file gets its manage
// link, the caller's inquiry offers no second booking.
func TestKnownEmailWithUpcomingBookingIsAnsweredByMail(t *testing.T) {
	f := newBookingFixture(t, 0)
	f.mustConsultant(t, "ana@consult.example.com", "django", "America/Toronto", "mon-fri 09:00-17:00")
	f.mustConsultant(t, "nat@consult.example.com", "nodejs", "America/Toronto", "mon-fri 09:00-17:00")
	ctx := context.Background()
	victim := f.mustLead(t, "pat@acme.example.com", "django")
	booked, token, err := f.bookings.Book(ctx, services.NewBooking{InquiryID: victim.ID, Start: f.at(8, 10, 0)})
	if err != nil {
		t.Fatal(err)
	}

	stranger := f.submitAs(t, "PAT@Acme.Example.com", "Mallory", "nodejs", "America/Halifax")
	if stranger.ID == victim.ID || !stranger.ExistingBookingMailed() {
		t.Fatalf("stranger's inquiry = %+v, want its own id, answered by mail", stranger)
	}
	current, err := f.bookings.ByToken(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	if current.LeadName != booked.LeadName || current.Team != "django" || current.Sequence != 0 || !current.Start.Equal(booked.Start) {
		t.Fatalf("the victim's booking changed: %+v", current)
	}
	var name, team string
	f.db.QueryRow(`SELECT name, team FROM leads WHERE id = $1`, victim.LeadID).Scan(&name, &team)
	if name != "Ana Silva" || team != "django" {
		t.Fatalf("lead now %s/%s", name, team)
	}
	mails := outboxTo(t, f, "existing_booking")
	if len(mails) != 1 || mails[0].To != "pat@acme.example.com" {
		t.Fatalf("existing-booking mail = %+v, want one to the address on file", mails)
	}
	if body := mailText(t, mails[0].Message); !strings.Contains(body, f.bookings.ManageURL(token)) || strings.Contains(body, "Mallory") {
		t.Fatal("the mail must carry the manage link and nothing the stranger typed")
	}

	// Booking through the stranger's inquiry makes nothing and mails no more.
	_, _, err = f.bookings.Book(ctx, services.NewBooking{InquiryID: stranger.ID, Start: f.at(9, 10, 0)})
	if !errors.Is(err, services.ErrExistingBookingMailed) {
		t.Fatalf("stranger's booking: %v, want ErrExistingBookingMailed", err)
	}
	var bookings int
	f.db.Get(&bookings, `SELECT count(*) FROM bookings`)
	if bookings != 1 || len(outboxTo(t, f, "existing_booking")) != 1 {
		t.Fatalf("%d bookings and %d existing-booking mails after the stranger's attempt", bookings, len(outboxTo(t, f, "existing_booking")))
	}

	// The victim's own second attempt is answered the same way.
	_, _, err = f.bookings.Book(ctx, services.NewBooking{InquiryID: victim.ID, Start: f.at(9, 11, 0)})
	if !errors.Is(err, services.ErrExistingBookingMailed) || len(outboxTo(t, f, "existing_booking")) != 2 {
		t.Fatalf("second booking of the same inquiry: %v", err)
	}
}

// Without a booking, a later submission books on its own inquiry: the
// booking carries what that submission typed, the lead keeps its details.
func TestKnownEmailWithoutBookingBooksOnItsOwnInquiry(t *testing.T) {
	f := newBookingFixture(t, 0)
	f.mustConsultant(t, "ana@consult.example.com", "django", "America/Toronto", "mon-fri 09:00-17:00")
	f.mustConsultant(t, "nat@consult.example.com", "nodejs", "America/Toronto", "mon-fri 09:00-17:00")
	ctx := context.Background()
	first := f.mustLead(t, "pat@acme.example.com", "django")
	later := f.submitAs(t, "pat@acme.example.com", "Pat Again", "nodejs", "America/Halifax")
	if later.ExistingBookingMailed() || later.LeadID != first.LeadID {
		t.Fatalf("later inquiry = %+v", later)
	}
	bk, _, err := f.bookings.Book(ctx, services.NewBooking{InquiryID: later.ID, Start: f.at(8, 10, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if bk.InquiryID != later.ID || bk.LeadID != first.LeadID || bk.LeadName != "Pat Again" || bk.Team != "nodejs" || bk.Timezone != "America/Halifax" {
		t.Fatalf("booking = %+v, want the later inquiry's details", bk)
	}
	var name, team string
	f.db.QueryRow(`SELECT name, team FROM leads WHERE id = $1`, first.LeadID).Scan(&name, &team)
	if name != "Ana Silva" || team != "django" {
		t.Fatalf("lead now %s/%s, want the first submission's details", name, team)
	}
}

// A booking keeps the team it was made with: a move after a later
// submission routed elsewhere stays with the booking's team.
func TestBookingKeepsItsTeamAfterALaterSubmission(t *testing.T) {
	f := newBookingFixture(t, 0)
	ana := f.mustConsultant(t, "ana@consult.example.com", "django", "America/Toronto", "mon-fri 09:00-17:00")
	f.mustConsultant(t, "nat@consult.example.com", "nodejs", "America/Toronto", "mon-fri 09:00-17:00")
	ctx := context.Background()
	inq := f.mustLead(t, "pat@acme.example.com", "django")
	_, token, err := f.bookings.Book(ctx, services.NewBooking{InquiryID: inq.ID, Start: f.at(8, 10, 0)})
	if err != nil {
		t.Fatal(err)
	}
	f.submitAs(t, "pat@acme.example.com", "Pat", "nodejs", "America/Halifax")
	moved, err := f.bookings.Reschedule(ctx, token, f.at(9, 11, 0))
	if err != nil {
		t.Fatal(err)
	}
	if moved.Team != "django" || moved.ConsultantID != ana.ID || moved.Timezone != "America/Toronto" {
		t.Fatalf("moved booking = team %s consultant %s zone %s", moved.Team, moved.ConsultantName, moved.Timezone)
	}
}

func TestReschedulesAreCappedPerBooking(t *testing.T) {
	f := newBookingFixture(t, 0)
	f.bookings = newTestBookings(t, f.db, f.funnel, services.BookingRules{MinNotice: 4 * time.Hour, HorizonDays: 30},
		services.BookingsConfig{MaxReschedules: 2}, f.clock.Now)
	f.leads = services.NewLeads(f.db, f.funnel, f.bookings)
	f.mustConsultant(t, "ana@consult.example.com", "django", "America/Toronto", "mon-fri 09:00-17:00")
	ctx := context.Background()
	_, token, err := f.bookings.Book(ctx, services.NewBooking{InquiryID: f.mustLead(t, "pat@acme.example.com", "django").ID, Start: f.at(8, 10, 0)})
	if err != nil {
		t.Fatal(err)
	}
	for _, hour := range []int{11, 12} {
		if _, err := f.bookings.Reschedule(ctx, token, f.at(8, hour, 0)); err != nil {
			t.Fatalf("move to %d:00: %v", hour, err)
		}
	}
	_, err = f.bookings.Reschedule(ctx, token, f.at(8, 13, 0))
	var e *services.Error
	if !errors.As(err, &e) || e.Code != services.CodeConflict || !strings.Contains(e.Message, "as many times as we allow online (2)") {
		t.Fatalf("third move: %v, want a conflict naming the cap", err)
	}
	bk, _ := f.bookings.ByToken(ctx, token)
	if !bk.Start.Equal(f.at(8, 12, 0)) || bk.Reschedules != 2 {
		t.Fatalf("booking after the refused move: %s, %d moves", bk.Start, bk.Reschedules)
	}
	// Cancelling is never capped.
	if _, err := f.bookings.Cancel(ctx, token, ""); err != nil {
		t.Fatalf("cancel after the cap: %v", err)
	}
}

// Mail to a prospect's address is capped per day; the change still
// happens, the consultant is still told, and the held message stays readable.
func TestProspectMailIsCappedPerAddressAndDay(t *testing.T) {
	f := newBookingFixture(t, 0)
	f.bookings = newTestBookings(t, f.db, f.funnel, services.BookingRules{MinNotice: 4 * time.Hour, HorizonDays: 30},
		services.BookingsConfig{ProspectMailPerDay: 2}, f.clock.Now)
	f.leads = services.NewLeads(f.db, f.funnel, f.bookings)
	f.mustConsultant(t, "ana@consult.example.com", "django", "America/Toronto", "mon-fri 09:00-17:00")
	ctx := context.Background()
	bk, token, err := f.bookings.Book(ctx, services.NewBooking{InquiryID: f.mustLead(t, "pat@acme.example.com", "django").ID, Start: f.at(8, 10, 0)})
	if err != nil || bk.ProspectMailCapped {
		t.Fatalf("book: %v, capped %v", err, bk.ProspectMailCapped)
	}
	if moved, err := f.bookings.Reschedule(ctx, token, f.at(8, 11, 0)); err != nil || moved.ProspectMailCapped {
		t.Fatalf("first move: %v, capped %v", err, moved.ProspectMailCapped)
	}
	moved, err := f.bookings.Reschedule(ctx, token, f.at(8, 12, 0))
	if err != nil || !moved.ProspectMailCapped || !moved.Start.Equal(f.at(8, 12, 0)) {
		t.Fatalf("second move: %v, capped %v, start %s; want moved with the mail held", err, moved.ProspectMailCapped, moved.Start)
	}
	var rows []struct {
		Kind     string `db:"kind"`
		Audience string `db:"audience"`
		Status   string `db:"status"`
	}
	f.db.Select(&rows, `SELECT kind, audience, status FROM outbox ORDER BY id`)
	var prospect, consultant []string
	for _, r := range rows {
		if r.Audience == services.AudienceProspect {
			prospect = append(prospect, r.Kind+":"+r.Status)
		} else {
			consultant = append(consultant, r.Kind+":"+r.Status)
		}
	}
	// Withdrawn messages still count: they were queued for the address.
	if got := strings.Join(prospect, ","); got != "invite:superseded,invite:superseded,invite:capped" {
		t.Fatalf("prospect mail = %s", got)
	}
	if len(consultant) != 3 || strings.Contains(strings.Join(consultant, ","), "capped") {
		t.Fatalf("consultant mail = %v, want every notice queued", consultant)
	}
}

// Migration 4 turns every existing lead into its first inquiry under the
// same id, so links already sent keep working and nothing is lost.
func TestInquiryMigrationKeepsExistingData(t *testing.T) {
	db, _ := pgtest.NewEmptyDB(t)
	ctx := context.Background()
	provider, err := goose.NewProvider(goose.DialectPostgres, db.DB, migrations.FS, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := provider.UpTo(ctx, 3); err != nil {
		t.Fatal(err)
	}
	mustExec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	mustExec(`INSERT INTO consultants (id, name, email, team, regions, timezone) VALUES ('11111111-1111-4111-8111-111111111111', 'Ana', 'ana@consult.example', 'django', '{canada}', 'America/Toronto')`)
	mustExec(`INSERT INTO leads (id, name, email, company, region, timezone, team, utm) VALUES ('22222222-2222-4222-8222-222222222222', 'Pat', 'pat@acme.example', 'Acme', 'canada', 'America/Halifax', 'django', '{"utm_source":"x"}')`)
	mustExec(`INSERT INTO assessments (id, version, answers, team, confidence, score_django, score_nodejs, reasons, lead_id, created_at) VALUES
		('33333333-3333-4333-8333-333333333333', 'v1', '{}', 'django', 0.6, 6, 4, '[]', '22222222-2222-4222-8222-222222222222', now() - interval '1 day'),
		('44444444-4444-4444-8444-444444444444', 'v1', '{}', 'django', 0.7, 7, 3, '[]', '22222222-2222-4222-8222-222222222222', now())`)
	mustExec(`INSERT INTO lead_consents (lead_id, assessment_id, wording) VALUES ('22222222-2222-4222-8222-222222222222', '33333333-3333-4333-8333-333333333333', 'w1'), ('22222222-2222-4222-8222-222222222222', '44444444-4444-4444-8444-444444444444', 'w2')`)
	mustExec(`INSERT INTO bookings (lead_id, consultant_id, status, starts_at, ends_at, blocked, timezone, uid, manage_token_hash, manage_token_sealed)
		VALUES ('22222222-2222-4222-8222-222222222222', '11111111-1111-4111-8111-111111111111', 'confirmed', '2026-12-08 15:00Z', '2026-12-08 15:30Z',
		        tstzrange('2026-12-08 15:00Z', '2026-12-08 15:30Z', '[)'), 'America/Halifax', 'u1@x', '\x01', '\x02')`)
	mustExec(`INSERT INTO outbox (kind, to_address, subject, message) VALUES ('consultant_notice', 'ana@consult.example', 's', '\x01'), ('invite', 'pat@acme.example', 's', '\x01')`)

	if _, err := provider.Up(ctx); err != nil {
		t.Fatal(err)
	}
	var inq struct {
		ID         string `db:"id"`
		LeadID     string `db:"lead_id"`
		Assessment string `db:"assessment_id"`
		Name       string `db:"name"`
		Timezone   string `db:"timezone"`
		Source     string `db:"source"`
	}
	if err := db.Get(&inq, `SELECT id, lead_id, assessment_id, name, timezone, utm->>'utm_source' AS source FROM inquiries`); err != nil {
		t.Fatal(err)
	}
	if inq.ID != inq.LeadID || inq.LeadID != "22222222-2222-4222-8222-222222222222" || inq.Assessment != "44444444-4444-4444-8444-444444444444" ||
		inq.Name != "Pat" || inq.Timezone != "America/Halifax" || inq.Source != "x" {
		t.Fatalf("migrated inquiry = %+v", inq)
	}
	var consents, bookings, assessments int
	db.Get(&consents, `SELECT count(*) FROM lead_consents WHERE inquiry_id = $1`, inq.ID)
	db.Get(&bookings, `SELECT count(*) FROM bookings WHERE inquiry_id = $1 AND team = 'django' AND region = 'canada' AND reschedules = 0`, inq.ID)
	db.Get(&assessments, `SELECT count(*) FROM assessments WHERE lead_id = $1`, inq.LeadID)
	if consents != 2 || bookings != 1 || assessments != 2 {
		t.Fatalf("after migration: %d consents, %d bookings, %d assessments on the lead, want 2, 1, 2", consents, bookings, assessments)
	}
	var audiences string
	db.Get(&audiences, `SELECT string_agg(kind || ':' || audience, ',' ORDER BY id) FROM outbox`)
	if audiences != "consultant_notice:consultant,invite:prospect" {
		t.Fatalf("outbox audiences = %s", audiences)
	}
}

// Strangers can cause "you already have a consultation" notes; those have
// a small budget of their own and never use up the mail the person needs.
// One mailbox is one mailbox whatever "+tag" or case its address carries.
func TestMailCapBudgetsAndMailboxes(t *testing.T) {
	f := newBookingFixture(t, 0)
	f.bookings = newTestBookings(t, f.db, f.funnel, services.BookingRules{MinNotice: 4 * time.Hour, HorizonDays: 30},
		services.BookingsConfig{ProspectMailPerDay: 3}, f.clock.Now)
	f.leads = services.NewLeads(f.db, f.funnel, f.bookings)
	f.mustConsultant(t, "ana@consult.example.com", "django", "America/Toronto", "mon-fri 09:00-17:00")
	ctx := context.Background()
	victim := f.mustLead(t, "pat@acme.example.com", "django")
	_, token, err := f.bookings.Book(ctx, services.NewBooking{InquiryID: victim.ID, Start: f.at(8, 10, 0)})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		f.submitAs(t, "pat@acme.example.com", "Stranger", "django", "America/Toronto")
	}
	var notices []string
	f.db.Select(&notices, `SELECT status FROM outbox WHERE kind = 'existing_booking' ORDER BY id`)
	if strings.Join(notices, ",") != "pending,pending,pending,capped,capped" {
		t.Fatalf("existing-booking notes = %v, want three sent and the rest capped", notices)
	}
	moved, err := f.bookings.Reschedule(ctx, token, f.at(8, 11, 0))
	if err != nil || moved.ProspectMailCapped {
		t.Fatalf("the victim's own move: %v, capped %v; want it emailed", err, moved.ProspectMailCapped)
	}

	// pat+a and PAT+b are the same mailbox as pat: the third message there
	// today (invite, move, this) is the last under a cap of 3.
	other := f.mustLead(t, "PAT+a@acme.example.com", "django")
	bk, _, err := f.bookings.Book(ctx, services.NewBooking{InquiryID: other.ID, Start: f.at(9, 10, 0)})
	if err != nil || bk.ProspectMailCapped {
		t.Fatalf("third message to the mailbox: %v, capped %v", err, bk.ProspectMailCapped)
	}
	third := f.mustLead(t, "pat+b@acme.example.com", "django")
	bk, _, err = f.bookings.Book(ctx, services.NewBooking{InquiryID: third.ID, Start: f.at(10, 10, 0)})
	if err != nil || !bk.ProspectMailCapped {
		t.Fatalf("fourth message to the mailbox: %v, capped %v; want it held", err, bk.ProspectMailCapped)
	}
}

// Cancelling and booking again cannot go round the reschedule cap.
func TestBookingsPerPersonAreCappedPerDay(t *testing.T) {
	f := newBookingFixture(t, 0)
	f.mustConsultant(t, "ana@consult.example.com", "django", "America/Toronto", "mon-fri 09:00-17:00")
	ctx := context.Background()
	inq := f.mustLead(t, "pat@acme.example.com", "django")
	for i := 0; i < 3; i++ {
		_, token, err := f.bookings.Book(ctx, services.NewBooking{InquiryID: inq.ID, Start: f.at(8, 10+i, 0)})
		if err != nil {
			t.Fatalf("booking %d: %v", i+1, err)
		}
		if _, err := f.bookings.Cancel(ctx, token, ""); err != nil {
			t.Fatal(err)
		}
	}
	_, _, err := f.bookings.Book(ctx, services.NewBooking{InquiryID: inq.ID, Start: f.at(8, 14, 0)})
	if services.ErrorCode(err) != services.CodeConflict {
		t.Fatalf("fourth booking in a day: %v, want a conflict", err)
	}
	f.clock.Set(fixtureNow.Add(25 * time.Hour))
	if _, _, err := f.bookings.Book(ctx, services.NewBooking{InquiryID: inq.ID, Start: f.at(9, 14, 0)}); err != nil {
		t.Fatalf("a booking the next day: %v", err)
	}
}
