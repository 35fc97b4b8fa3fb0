package services

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Booking statuses; held and pending_payment keep the slot like confirmed.
const (
	StatusHeld           = "held"
	StatusPendingPayment = "pending_payment"
	StatusConfirmed      = "confirmed"
	StatusCancelled      = "cancelled"
	StatusExpired        = "expired"
)

// liveBookingSQL is the condition, on a row of bookings, of a booking that
// holds its slot; the exclusion constraint in the migrations says the same.
const liveBookingSQL = `status IN ('held', 'pending_payment', 'confirmed')`

// Booking is a consultation with everything pages and emails show about it.
type Booking struct {
	ID              string       `db:"id"`
	LeadID          string       `db:"lead_id"`
	InquiryID       string       `db:"inquiry_id"`
	ConsultantID    string       `db:"consultant_id"`
	Status          string       `db:"status"`
	Start           time.Time    `db:"starts_at"`
	End             time.Time    `db:"ends_at"`
	Timezone        string       `db:"timezone"`
	UID             string       `db:"uid"`
	Sequence        int          `db:"sequence"`
	Reschedules     int          `db:"reschedules"`
	CancelledAt     sql.NullTime `db:"cancelled_at"`
	CreatedAt       time.Time    `db:"created_at"`
	ConsultantName  string       `db:"consultant_name"`
	ConsultantEmail string       `db:"consultant_email"`
	ConsultantTZ    string       `db:"consultant_timezone"`
	MeetingURL      string       `db:"meeting_url"`
	LeadName        string       `db:"lead_name"`
	LeadEmail       string       `db:"lead_email"`
	LeadCompany     string       `db:"lead_company"`
	Team            string       `db:"team"`
	Region          string       `db:"region"`
	SessionType     string       `db:"session_type"`
	SessionName     string       `db:"session_name"`
	AmountCents     int64        `db:"amount_cents"`
	Currency        string       `db:"currency"`
	PaymentStatus   string       `db:"payment_status"`
	CheckoutURL     string       `db:"checkout_url"`
	CheckoutID      string       `db:"checkout_session_id"`
	PaymentIntentID string       `db:"payment_intent_id"`
	HoldExpiresAt   sql.NullTime `db:"hold_expires_at"`
	PaidAt          sql.NullTime `db:"paid_at"`
	RefundCents     int64        `db:"refund_cents"`
	RefundedAt      sql.NullTime `db:"refunded_at"`
	// ProspectMailCapped is set on a booking just changed when the daily
	// mail cap held the prospect's message back.
	ProspectMailCapped bool `db:"-"`
	tokenSealed        []byte
}

const bookingSelect = `
	SELECT b.id, b.lead_id, b.inquiry_id, b.consultant_id, b.status, b.starts_at, b.ends_at, b.timezone, b.uid, b.sequence,
	       b.reschedules, b.cancelled_at, b.created_at, b.manage_token_sealed, b.team, b.region,
	       st.slug AS session_type, st.name AS session_name, b.amount_cents, b.currency, b.payment_status,
	       b.checkout_url, COALESCE(b.checkout_session_id, '') AS checkout_session_id, b.payment_intent_id,
	       b.hold_expires_at, b.paid_at, b.refund_cents, b.refunded_at,
	       c.name AS consultant_name, c.email AS consultant_email, c.timezone AS consultant_timezone, c.meeting_url,
	       i.name AS lead_name, i.email AS lead_email, i.company AS lead_company
	FROM bookings b JOIN consultants c ON c.id = b.consultant_id JOIN inquiries i ON i.id = b.inquiry_id
	     JOIN session_types st ON st.id = b.session_type_id`

type bookingRow struct {
	Booking
	Sealed []byte `db:"manage_token_sealed"`
}

// Paid reports whether the booking has a price.
func (b Booking) Paid() bool { return b.AmountCents > 0 }

// Live reports whether the booking still holds its slot.
func (b Booking) Live() bool {
	return b.Status == StatusHeld || b.Status == StatusPendingPayment || b.Status == StatusConfirmed
}

// Availability is the slot computation bookings use.
func (b *Bookings) Availability() *Availability { return b.avail }

// EnablePayments lets bookings take paid session types through Stripe.
func (b *Bookings) EnablePayments(cfg PaymentsConfig) {
	if cfg.SecretKey == "" {
		return
	}
	b.pay, b.stripe = cfg, newStripeGateway(cfg.SecretKey, cfg.APIURL)
}

// BookingsConfig is what bookings need to know about the deployment.
type BookingsConfig struct {
	BaseURL   string // links in emails: BaseURL + "/b/" + token
	UIDDomain string // right-hand side of iCalendar UIDs
	Organizer Person // the consultancy's mailbox, organizer of every event
	// MailQueued, when set, is called after a commit that queued mail, so
	// the mailer can send it at once.
	MailQueued func()
	// MaxReschedules caps the moves of one booking through its manage link.
	MaxReschedules int
	// ProspectMailPerDay caps the mail one prospect address gets in 24
	// hours; nobody verified that address. 0: no cap.
	ProspectMailPerDay int
}

// Bookings books, moves and cancels consultations.
type Bookings struct {
	db     *sqlx.DB
	avail  *Availability
	funnel *Funnel
	sealer *TokenSealer
	cfg    BookingsConfig
	now    func() time.Time
	pay    PaymentsConfig
	stripe *stripeGateway // nil: paid session types cannot be booked
	gate   startGate
}

// NewBookings returns the booking service.
func NewBookings(db *sqlx.DB, avail *Availability, funnel *Funnel, sealer *TokenSealer, cfg BookingsConfig, now func() time.Time) *Bookings {
	return &Bookings{db: db, avail: avail, funnel: funnel, sealer: sealer, cfg: cfg, now: now}
}

func (b *Bookings) mailQueued() {
	if b.cfg.MailQueued != nil {
		b.cfg.MailQueued()
	}
}

// SlotTaken means the chosen start is no longer free; Next offers the
// nearest free starts instead.
type SlotTaken struct {
	Next []Slot
}

func (e *SlotTaken) Error() string { return "slot taken" }

// NewBooking is a prospect's choice of start for their inquiry.
type NewBooking struct {
	InquiryID string
	Start     time.Time
	Timezone  string // optional: a zone of the inquiry's region to show times in
	Type      string // a session type slug; "" is the free consultation
}

// Book gives the inquiry the chosen start with the fairest free consultant
// of its team and region. The exclusion constraint settles races: a writer
// that loses tries the next free consultant, and with none left gets
// SlotTaken. When the person already holds an upcoming consultation, no
// second one is made: the address on file is sent its manage link and the
// caller gets ErrExistingBookingMailed, which says nothing more. A paid
// session type is held as pending_payment and goes through Stripe
// Checkout: the booking's CheckoutURL is where to send the prospect.
func (b *Bookings) Book(ctx context.Context, in NewBooking) (Booking, string, error) {
	inq, kind, err := inquiryAndSessionType(ctx, b.db, in.InquiryID, in.Type)
	if err != nil {
		return Booking{}, "", err
	}
	if inq.ExistingBookingMailed() {
		return Booking{}, "", ErrExistingBookingMailed
	}
	zone := inq.Timezone
	if in.Timezone != "" && in.Timezone != zone {
		if !ZoneInRegion(inq.Region, in.Timezone) {
			return Booking{}, "", Invalid(map[string]string{"timezone": "Choose a time zone in " + RegionLabel(inq.Region) + "."})
		}
		zone = in.Timezone
	}
	if kind.ID == "" {
		return Booking{}, "", unknownSessionType()
	}
	cents, currency := kind.Price(inq.Region)
	if cents > 0 && b.stripe == nil {
		return Booking{}, "", Invalid(map[string]string{"type": "Paid sessions cannot be booked online right now; choose the free consultation."})
	}
	pass, err := b.gate.enter(ctx, inq.Team, inq.Region, in.Start)
	if err != nil {
		return Booking{}, "", err
	}
	defer pass.leave()
	if pass.takenSinceArrival() {
		pass.leave()
		return Booking{}, "", b.slotTaken(ctx, inq.Team, inq.Region, in.Start, zone)
	}
	readBegan := time.Now()
	free, err := b.freeConsultants(ctx, inq.Team, inq.Region, in.Start, "")
	if err != nil {
		return Booking{}, "", err
	}
	if len(free) == 0 {
		pass.sawTaken(readBegan)
		pass.leave() // the next in line need not wait for the alternatives
		return Booking{}, "", b.slotTaken(ctx, inq.Team, inq.Region, in.Start, zone)
	}
	token, hash := newToken()
	row := newBookingRow{
		Inquiry: inq, Start: in.Start, Now: b.now(), Buffer: b.avail.rules.Buffer, Timezone: zone,
		UIDDomain: b.cfg.UIDDomain, TokenHash: hash, TokenSealed: b.sealer.seal(token),
		SessionTypeID: kind.ID, AmountCents: cents, Currency: currency, Status: StatusConfirmed,
	}
	if cents > 0 {
		row.Status, row.HoldExpiresAt = StatusPendingPayment, sql.NullTime{Time: b.now().Add(checkoutLifetime + holdGrace), Valid: true}
	}
	var made Booking
	var capped, mailedExisting bool
	err = inTx(ctx, b.db, func(tx *sqlx.Tx) error {
		upcoming, err := b.lockLeadForBooking(ctx, tx, inq.LeadID)
		if err != nil {
			return err
		}
		if upcoming != "" {
			mailedExisting = true
			return b.mailExistingBooking(ctx, tx, inq.ID, upcoming)
		}
		booking, err := insertFirstFree(ctx, tx, free, row)
		if err != nil {
			return err
		}
		made = booking
		if row.Status == StatusPendingPayment {
			return leadEvent(ctx, tx, booking.LeadID, "payment_started", map[string]string{
				"booking_id": booking.ID, "amount": FormatPrice(cents, currency), "start": booking.Start.UTC().Format(time.RFC3339)})
		}
		return b.confirmBooked(ctx, tx, booking, token, &capped)
	})
	pass.leave() // committed or not, the database now says who holds the start
	if errors.Is(err, errNoConsultantLeft) {
		return Booking{}, "", b.slotTaken(ctx, inq.Team, inq.Region, in.Start, zone)
	}
	if err != nil {
		return Booking{}, "", err
	}
	if mailedExisting {
		b.mailQueued()
		return Booking{}, "", ErrExistingBookingMailed
	}
	booking := made // as committed: nothing after the read changed it
	if booking.Status == StatusPendingPayment {
		booking, err = b.openCheckout(ctx, booking, token, kind)
		return booking, token, err
	}
	b.mailQueued()
	booking.ProspectMailCapped = capped
	return booking, token, nil
}

// confirmBooked does what a confirmed booking needs: the lead marked booked
// and counted, and both people invited.
func (b *Bookings) confirmBooked(ctx context.Context, tx *sqlx.Tx, booking Booking, token string, capped *bool) error {
	if err := markLeadBooked(ctx, tx, booking, b.funnel.day()); err != nil {
		return err
	}
	b.funnel.counted(StageBooked)
	c, err := b.enqueueBooked(ctx, tx, booking, token)
	if capped != nil {
		*capped = c
	}
	return err
}

// CheckStart says whether a prospect may pick start for team and region
// now: Invalid when it is not a time the service offers (off the grid, past,
// beyond the horizon, outside everyone's hours), SlotTaken when it is but
// nobody is free then. exclude is a booking being moved, or "".
func (b *Bookings) CheckStart(ctx context.Context, team, region string, start time.Time, exclude, zone string) error {
	free, err := b.freeConsultants(ctx, team, region, start, exclude)
	if err != nil {
		return err
	}
	if len(free) == 0 {
		return b.slotTaken(ctx, team, region, start, zone)
	}
	return nil
}

// freeConsultants checks the start is one the service offers and returns
// the consultants free then, fairest first. It reads what is committed,
// with no cache, and its answer depends only on its arguments: Book's start
// gate relies on both when it hands one caller's "nobody free" to the
// callers that arrived before that read began (gatePass.takenSinceArrival).
func (b *Bookings) freeConsultants(ctx context.Context, team, region string, start time.Time, exclude string) ([]string, error) {
	working, free, err := b.avail.candidates(ctx, team, region, start, exclude)
	if err != nil {
		return nil, err
	}
	if len(working) == 0 {
		return nil, Invalid(map[string]string{"start": "That time is not one we offer. Please pick one of the listed times."})
	}
	return b.fairOrder(ctx, free)
}

// fairOrder sorts consultants by fewest bookings in the last 30 days, then
// least recently booked, then email, so work spreads evenly and predictably.
func (b *Bookings) fairOrder(ctx context.Context, ids []string) ([]string, error) {
	if len(ids) < 2 {
		return ids, nil
	}
	var ordered []string
	err := b.db.SelectContext(ctx, &ordered, `
		SELECT c.id FROM consultants c
		LEFT JOIN LATERAL (
			SELECT count(*) FILTER (WHERE created_at > $2::timestamptz - interval '30 days') AS recent, max(created_at) AS last
			FROM bookings WHERE consultant_id = c.id AND `+liveBookingSQL+`
		) load ON true
		WHERE c.id = ANY ($1)
		ORDER BY load.recent, load.last NULLS FIRST, c.email`, pq.StringArray(ids), b.now())
	if err != nil {
		return nil, fmt.Errorf("order consultants: %w", err)
	}
	return ordered, nil
}

// slotTaken builds the conflict answer with the next free starts.
func (b *Bookings) slotTaken(ctx context.Context, team, region string, start time.Time, zone string) error {
	loc, err := loadZone(zone)
	if err != nil {
		return err
	}
	slots, err := b.avail.Slots(ctx, SlotQuery{Team: team, Region: region, From: start, Days: 7, Loc: loc})
	if err != nil {
		return err
	}
	next := []Slot{}
	for _, s := range slots {
		if s.Start.After(start) && len(next) < 5 {
			next = append(next, s)
		}
	}
	return &SlotTaken{Next: next}
}

var errNoConsultantLeft = errors.New("every free consultant was taken meanwhile")

type newBookingRow struct {
	Inquiry       Inquiry
	SessionTypeID string
	AmountCents   int64
	Currency      string
	Status        string
	HoldExpiresAt sql.NullTime
	Now           time.Time
	Start         time.Time
	Buffer        time.Duration
	Timezone      string
	UIDDomain     string
	TokenHash     []byte
	TokenSealed   []byte
}

// insertBookingSQL takes the consultant's start lock (see
// lockConsultantStart) in the SELECT the row comes from, and answers with
// the booking as bookingSelect reads it: lock, insert and read back are
// one round trip.
var insertBookingSQL = `
	WITH b AS (
		INSERT INTO bookings (lead_id, inquiry_id, team, region, consultant_id, status, starts_at, ends_at, blocked, timezone, uid,
			manage_token_hash, manage_token_sealed, created_at, updated_at,
			session_type_id, amount_cents, currency, payment_status, hold_expires_at)
		SELECT $1, $2, $3, $4, $5, $14, $6, $7, tstzrange($6, $8, '[)'), $9, gen_random_uuid()::text || '@' || $10, $11, $12, $13, $13,
			$15, $16, $17, CASE WHEN $16 > 0 THEN 'pending' ELSE 'none' END, $18
		FROM (SELECT pg_advisory_xact_lock(hashtext($19), $20)) AS queued
		RETURNING *)` + strings.Replace(bookingSelect, "FROM bookings b ", "FROM b ", 1)

// insertFirstFree tries each consultant in order inside a savepoint; an
// exclusion violation means someone else took that consultant's time.
func insertFirstFree(ctx context.Context, tx *sqlx.Tx, consultants []string, row newBookingRow) (Booking, error) {
	for _, cid := range consultants {
		var made bookingRow
		lockName, lockStart := consultantStartLock(cid, row.Start)
		inserted, err := writeUnlessTaken(ctx, tx, func() error {
			return getPrepared(ctx, tx, &made, insertBookingSQL,
				row.Inquiry.LeadID, row.Inquiry.ID, row.Inquiry.Team, row.Inquiry.Region, cid,
				row.Start, row.Start.Add(SlotLength), row.Start.Add(SlotLength+row.Buffer),
				row.Timezone, row.UIDDomain, row.TokenHash, row.TokenSealed, row.Now,
				row.Status, row.SessionTypeID, row.AmountCents, row.Currency, row.HoldExpiresAt,
				lockName, lockStart,
			)
		})
		if err != nil {
			return Booking{}, fmt.Errorf("insert booking: %w", err)
		}
		if inserted {
			made.Booking.tokenSealed = made.Sealed
			return made.Booking, nil
		}
	}
	return Booking{}, errNoConsultantLeft
}

// lockLeadForBooking serialises bookings of one lead (one person) and
// returns the id of its upcoming consultation, if any: a person holds one at
// a time, and the manage link moves it. It also refuses a person who has
// made bookingsPerLeadPerDay in the last 24 hours, so cancelling and booking
// again cannot go round the reschedule cap. The reads come after the lock,
// in a statement of their own, so they see what the lock waited for.
func (b *Bookings) lockLeadForBooking(ctx context.Context, tx *sqlx.Tx, leadID string) (string, error) {
	if _, err := execPrepared(ctx, tx, lockLeadSQL, leadID); err != nil {
		return "", fmt.Errorf("lock lead: %w", err)
	}
	var seen struct {
		Upcoming sql.NullString `db:"upcoming"`
		Recent   int            `db:"recent"`
	}
	now := b.now()
	err := getPrepared(ctx, tx, &seen, leadBookingsSQL, leadID, now, now.Add(-24*time.Hour))
	if err != nil {
		return "", fmt.Errorf("lead's bookings: %w", err)
	}
	if seen.Upcoming.Valid {
		return seen.Upcoming.String, nil
	}
	if seen.Recent >= bookingsPerLeadPerDay {
		return "", Conflict("This email address has booked several consultations today already. Reply to your invite and we will find a time with you.")
	}
	return "", nil
}

const (
	lockLeadSQL = `SELECT 1 FROM leads WHERE id = $1 FOR UPDATE`
	// upcomingBookingSQL is the id of lead $1's live booking that has not
	// ended by $2, if any.
	upcomingBookingSQL = `SELECT id::text FROM bookings WHERE lead_id = $1 AND ` + liveBookingSQL + ` AND ends_at > $2
		ORDER BY starts_at LIMIT 1`
	leadBookingsSQL = `
		SELECT (` + upcomingBookingSQL + `) AS upcoming,
		       (SELECT count(*) FROM bookings WHERE lead_id = $1 AND created_at > $3) AS recent`
)

// bookingsPerLeadPerDay caps new bookings for one person in 24 hours.
const bookingsPerLeadPerDay = 3

// upcomingBooking returns the id of the lead's live booking that has not
// ended, or "".
func upcomingBooking(ctx context.Context, tx *sqlx.Tx, leadID string, now time.Time) (string, error) {
	var ids []string
	err := tx.SelectContext(ctx, &ids, upcomingBookingSQL, leadID, now)
	if err != nil {
		return "", fmt.Errorf("upcoming bookings: %w", err)
	}
	if len(ids) == 0 {
		return "", nil
	}
	return ids[0], nil
}

// markLeadBookedSQL moves the lead on, records the booking in its history
// (what leadEvent writes) and counts the funnel's booked stage (what
// Funnel.Record writes), in one round trip. PostgreSQL runs the lead's
// update first (the main statement reads it) and the count, which nothing
// reads, last: the lead's row is locked before the funnel's, in the order
// every other writer takes them, so two such transactions cannot deadlock.
const markLeadBookedSQL = `
	WITH counted AS (` + funnelRecordSQL + `), -- its $1 and $2: the day and the stage
	marked AS (
		UPDATE leads SET consultant_id = $4, updated_at = now(), last_activity_at = now(),
			status = CASE WHEN status IN ('new', 'contacted', 'qualified') THEN 'booked' ELSE status END
		WHERE id = $3 RETURNING id)
	INSERT INTO lead_events (lead_id, kind, detail, actor) SELECT id, 'booked', $5, $6 FROM marked`

// markLeadBooked moves the lead on, records the booking in its history and
// counts it in the funnel of day.
func markLeadBooked(ctx context.Context, tx *sqlx.Tx, bk Booking, day string) error {
	detail := jsonArg(map[string]string{"booking_id": bk.ID, "start": bk.Start.UTC().Format(time.RFC3339), "consultant": bk.ConsultantName})
	_, err := execPrepared(ctx, tx, markLeadBookedSQL, day, StageBooked, bk.LeadID, bk.ConsultantID, detail, ActorFrom(ctx).Label())
	if err != nil {
		return fmt.Errorf("mark lead booked: %w", err)
	}
	return nil
}

// selectBookings reads the bookings matching where (SQL after WHERE).
func selectBookings(ctx context.Context, q sqlx.QueryerContext, where string, args ...any) ([]Booking, error) {
	var rows []bookingRow
	if err := sqlx.SelectContext(ctx, q, &rows, bookingSelect+" WHERE "+where, args...); err != nil {
		return nil, fmt.Errorf("select bookings: %w", err)
	}
	out := make([]Booking, len(rows))
	for i, r := range rows {
		out[i] = r.Booking
		out[i].tokenSealed = r.Sealed
	}
	return out, nil
}

// getBooking reads one booking with its consultant and lead.
func getBooking(ctx context.Context, q sqlx.QueryerContext, where string, args ...any) (Booking, error) {
	var row bookingRow
	err := getPrepared(ctx, q, &row, bookingSelect+" WHERE "+where, args...)
	if errors.Is(err, sql.ErrNoRows) {
		return Booking{}, ErrNotFound
	}
	if err != nil {
		return Booking{}, fmt.Errorf("get booking: %w", err)
	}
	row.Booking.tokenSealed = row.Sealed
	return row.Booking, nil
}
