package services

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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

// Booking is a consultation with everything pages and emails show about it.
type Booking struct {
	ID              string       `db:"id"`
	LeadID          string       `db:"lead_id"`
	ConsultantID    string       `db:"consultant_id"`
	Status          string       `db:"status"`
	Start           time.Time    `db:"starts_at"`
	End             time.Time    `db:"ends_at"`
	Timezone        string       `db:"timezone"`
	UID             string       `db:"uid"`
	Sequence        int          `db:"sequence"`
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
	tokenSealed     []byte
}

const bookingSelect = `
	SELECT b.id, b.lead_id, b.consultant_id, b.status, b.starts_at, b.ends_at, b.timezone, b.uid, b.sequence,
	       b.cancelled_at, b.created_at, b.manage_token_sealed,
	       c.name AS consultant_name, c.email AS consultant_email, c.timezone AS consultant_timezone, c.meeting_url,
	       l.name AS lead_name, l.email AS lead_email, l.company AS lead_company, l.team, l.region
	FROM bookings b JOIN consultants c ON c.id = b.consultant_id JOIN leads l ON l.id = b.lead_id`

type bookingRow struct {
	Booking
	Sealed []byte `db:"manage_token_sealed"`
}

// Live reports whether the booking still holds its slot.
func (b Booking) Live() bool {
	return b.Status == StatusHeld || b.Status == StatusPendingPayment || b.Status == StatusConfirmed
}

// BookingsConfig is what bookings need to know about the deployment.
type BookingsConfig struct {
	BaseURL   string // links in emails: BaseURL + "/b/" + token
	UIDDomain string // right-hand side of iCalendar UIDs
	Organizer Person // the consultancy's mailbox, organizer of every event
	// MailQueued, when set, is called after a commit that queued mail, so
	// the mailer can send it at once.
	MailQueued func()
}

// Bookings books, moves and cancels consultations.
type Bookings struct {
	db     *sqlx.DB
	avail  *Availability
	funnel *Funnel
	sealer *TokenSealer
	cfg    BookingsConfig
	now    func() time.Time
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

// NewBooking is a prospect's choice of start.
type NewBooking struct {
	LeadID   string
	Start    time.Time
	Timezone string // optional: a zone of the lead's region to show times in
}

type bookingLead struct {
	ID       string `db:"id"`
	Team     string `db:"team"`
	Region   string `db:"region"`
	Timezone string `db:"timezone"`
	Status   string `db:"status"`
}

// Book gives the lead the chosen start with the fairest free consultant of
// its team and region. The exclusion constraint settles races: a writer that
// loses tries the next free consultant, and with none left gets SlotTaken.
func (b *Bookings) Book(ctx context.Context, in NewBooking) (Booking, string, error) {
	lead, err := b.lead(ctx, in.LeadID)
	if err != nil {
		return Booking{}, "", err
	}
	zone := lead.Timezone
	if in.Timezone != "" && in.Timezone != zone {
		if !ZoneInRegion(lead.Region, in.Timezone) {
			return Booking{}, "", Invalid(map[string]string{"timezone": "Choose a time zone in " + RegionLabel(lead.Region) + "."})
		}
		zone = in.Timezone
	}
	free, err := b.freeConsultants(ctx, lead.Team, lead.Region, in.Start, "")
	if err != nil {
		return Booking{}, "", err
	}
	if len(free) == 0 {
		return Booking{}, "", b.slotTaken(ctx, lead.Team, lead.Region, in.Start, zone)
	}
	token, hash := newToken()
	var id string
	err = inTx(ctx, b.db, func(tx *sqlx.Tx) error {
		if err := lockLeadForBooking(ctx, tx, lead.ID, b.now()); err != nil {
			return err
		}
		if id, err = insertFirstFree(ctx, tx, free, newBookingRow{
			LeadID: lead.ID, Start: in.Start, Now: b.now(), Buffer: b.avail.rules.Buffer, Timezone: zone,
			UIDDomain: b.cfg.UIDDomain, TokenHash: hash, TokenSealed: b.sealer.seal(token),
		}); err != nil {
			return err
		}
		booking, err := getBooking(ctx, tx, "b.id = $1", id)
		if err != nil {
			return err
		}
		if err := markLeadBooked(ctx, tx, booking); err != nil {
			return err
		}
		return b.enqueueBooked(ctx, tx, booking, token)
	})
	if errors.Is(err, errNoConsultantLeft) {
		return Booking{}, "", b.slotTaken(ctx, lead.Team, lead.Region, in.Start, zone)
	}
	if err != nil {
		return Booking{}, "", err
	}
	b.funnel.Count(StageBooked)
	b.mailQueued()
	booking, err := getBooking(ctx, b.db, "b.id = $1", id)
	return booking, token, err
}

func (b *Bookings) lead(ctx context.Context, id string) (bookingLead, error) {
	var l bookingLead
	if !ValidUUID(id) {
		return l, ErrNotFound
	}
	err := b.db.GetContext(ctx, &l, `SELECT id, team, region, timezone, status FROM leads WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return l, ErrNotFound
	}
	if err != nil {
		return l, fmt.Errorf("lead for booking: %w", err)
	}
	return l, nil
}

// freeConsultants checks the start is one the service offers and returns
// the consultants free then, fairest first.
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
			FROM bookings WHERE consultant_id = c.id AND status IN ('held', 'pending_payment', 'confirmed')
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
	LeadID      string
	Now         time.Time
	Start       time.Time
	Buffer      time.Duration
	Timezone    string
	UIDDomain   string
	TokenHash   []byte
	TokenSealed []byte
}

// insertFirstFree tries each consultant in order inside a savepoint; an
// exclusion violation means someone else took that consultant's time.
func insertFirstFree(ctx context.Context, tx *sqlx.Tx, consultants []string, row newBookingRow) (string, error) {
	for _, cid := range consultants {
		if _, err := tx.ExecContext(ctx, `SAVEPOINT try_consultant`); err != nil {
			return "", fmt.Errorf("savepoint: %w", err)
		}
		var id string
		err := tx.QueryRowxContext(ctx, `
			INSERT INTO bookings (lead_id, consultant_id, status, starts_at, ends_at, blocked, timezone, uid,
				manage_token_hash, manage_token_sealed, created_at, updated_at)
			VALUES ($1, $2, 'confirmed', $3, $4, tstzrange($3, $5, '[)'), $6, gen_random_uuid()::text || '@' || $7, $8, $9, $10, $10)
			RETURNING id`,
			row.LeadID, cid, row.Start, row.Start.Add(SlotLength), row.Start.Add(SlotLength+row.Buffer),
			row.Timezone, row.UIDDomain, row.TokenHash, row.TokenSealed, row.Now,
		).Scan(&id)
		if isExclusionViolation(err) {
			if _, err := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT try_consultant`); err != nil {
				return "", fmt.Errorf("rollback to savepoint: %w", err)
			}
			continue
		}
		if err != nil {
			return "", fmt.Errorf("insert booking: %w", err)
		}
		return id, nil
	}
	return "", errNoConsultantLeft
}

func isExclusionViolation(err error) bool {
	var pqErr *pq.Error
	return errors.As(err, &pqErr) && pqErr.Code == "23P01"
}

// lockLeadForBooking serialises bookings of one lead and allows one upcoming
// consultation at a time; the manage link moves it.
func lockLeadForBooking(ctx context.Context, tx *sqlx.Tx, leadID string, now time.Time) error {
	var upcoming int
	if _, err := tx.ExecContext(ctx, `SELECT 1 FROM leads WHERE id = $1 FOR UPDATE`, leadID); err != nil {
		return fmt.Errorf("lock lead: %w", err)
	}
	err := tx.GetContext(ctx, &upcoming, `
		SELECT count(*) FROM bookings WHERE lead_id = $1 AND status IN ('held', 'pending_payment', 'confirmed') AND ends_at > $2`, leadID, now)
	if err != nil {
		return fmt.Errorf("upcoming bookings: %w", err)
	}
	if upcoming > 0 {
		return Conflict("You already have a consultation booked. Use the link in your confirmation email to move or cancel it.")
	}
	return nil
}

func markLeadBooked(ctx context.Context, tx *sqlx.Tx, bk Booking) error {
	_, err := tx.ExecContext(ctx, `
		UPDATE leads SET consultant_id = $2, updated_at = now(),
			status = CASE WHEN status IN ('new', 'contacted', 'qualified') THEN 'booked' ELSE status END
		WHERE id = $1`, bk.LeadID, bk.ConsultantID)
	if err != nil {
		return fmt.Errorf("mark lead booked: %w", err)
	}
	return leadEvent(ctx, tx, bk.LeadID, "booked", map[string]string{"booking_id": bk.ID, "start": bk.Start.UTC().Format(time.RFC3339), "consultant": bk.ConsultantName})
}

// getBooking reads one booking with its consultant and lead.
func getBooking(ctx context.Context, q sqlx.QueryerContext, where string, args ...any) (Booking, error) {
	var row bookingRow
	err := sqlx.GetContext(ctx, q, &row, bookingSelect+" WHERE "+where, args...)
	if errors.Is(err, sql.ErrNoRows) {
		return Booking{}, ErrNotFound
	}
	if err != nil {
		return Booking{}, fmt.Errorf("get booking: %w", err)
	}
	row.Booking.tokenSealed = row.Sealed
	return row.Booking, nil
}
