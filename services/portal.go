package services

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Portal is a signed-in consultant's own desk: their bookings, weekly hours
// and time off. Every method acts on the consultant of the actor in ctx and
// takes no consultant id, so no request can name someone else's.
type Portal struct {
	db  *sqlx.DB
	now func() time.Time
}

// NewPortal returns the consultant portal service.
func NewPortal(db *sqlx.DB, now func() time.Time) *Portal { return &Portal{db: db, now: now} }

// How far the portal looks back at past bookings and ahead at cancelled ones.
const (
	portalPastDays      = 7
	portalCancelledDays = 30
	portalWindowDays    = 7
)

// Overview is everything the portal page shows, in the consultant's zone.
type Overview struct {
	Consultant Consultant
	Loc        *time.Location
	ZoneLabel  string // e.g. "Atlantic (Halifax)"; empty for zones outside the regions' lists
	Now        time.Time
	Upcoming   []Booking // live and not yet ended, soonest first
	Past       []Booking // live, ended in the last 7 days, latest first
	Cancelled  []Booking // cancelled, due to start in the next 30 days
	Hours      []HoursRange
	TimeOff    []TimeOffEntry
	Windows    []DayWindows // the next 7 days, today first
}

// HoursOn returns the weekly hours of one weekday, earliest first.
func (o Overview) HoursOn(d time.Weekday) []HoursRange {
	var out []HoursRange
	for _, h := range o.Hours {
		if h.Weekday == d {
			out = append(out, h)
		}
	}
	return out
}

// Overview reads the actor's bookings, hours, time off and coming week.
func (p *Portal) Overview(ctx context.Context) (Overview, error) {
	c, loc, err := p.me(ctx, p.db, false)
	if err != nil {
		return Overview{}, err
	}
	o := Overview{Consultant: c, Loc: loc, ZoneLabel: zoneLabel(c.Timezone), Now: p.now()}
	if err := p.loadBookings(ctx, &o); err != nil {
		return Overview{}, err
	}
	if o.Hours, err = consultantHours(ctx, p.db, c.ID); err != nil {
		return Overview{}, err
	}
	offs, err := listTimeOff(ctx, p.db, c.ID, o.Now)
	if err != nil {
		return Overview{}, err
	}
	for _, t := range offs {
		o.TimeOff = append(o.TimeOff, TimeOffEntry{TimeOff: t, Bookings: bookingsInside(o.Upcoming, t.Start, t.End)})
	}
	o.Windows = workingWindows(schedule{Loc: loc, Hours: o.Hours}, offs, o.Now, portalWindowDays)
	return o, nil
}

// me returns the actor's consultant and zone; anyone who is not signed in
// as a consultant gets ErrForbidden. lock holds the row until the
// transaction q ends, so one consultant's changes apply one at a time.
func (p *Portal) me(ctx context.Context, q sqlx.QueryerContext, lock bool) (Consultant, *time.Location, error) {
	a := ActorFrom(ctx)
	if a.Role != RoleConsultant || a.ConsultantID == "" {
		return Consultant{}, nil, ErrForbidden
	}
	query := `SELECT id, name, email, team, regions, timezone, meeting_url, active, created_at FROM consultants WHERE id = $1`
	if lock {
		query += ` FOR UPDATE`
	}
	var c Consultant
	err := sqlx.GetContext(ctx, q, &c, query, a.ConsultantID)
	if errors.Is(err, sql.ErrNoRows) {
		return Consultant{}, nil, ErrForbidden
	}
	if err != nil {
		return Consultant{}, nil, fmt.Errorf("portal consultant: %w", err)
	}
	loc, err := LoadZone(c.Timezone)
	if err != nil {
		return Consultant{}, nil, fmt.Errorf("consultant %s zone %q: %w", c.ID, c.Timezone, err)
	}
	return c, loc, nil
}

// loadBookings reads, in one query, the live bookings from 7 days ago on and
// the cancelled ones of the coming 30 days, and sorts them into o.
func (p *Portal) loadBookings(ctx context.Context, o *Overview) error {
	var rows []bookingRow
	err := p.db.SelectContext(ctx, &rows, bookingSelect+`
		WHERE b.consultant_id = $1 AND (
			(b.`+liveBookingSQL+` AND b.ends_at > $2::timestamptz - make_interval(days => $3))
			OR (b.status = '`+StatusCancelled+`' AND b.starts_at >= $2 AND b.starts_at < $2::timestamptz + make_interval(days => $4)))
		ORDER BY b.starts_at, b.id
		LIMIT 3000`, o.Consultant.ID, o.Now, portalPastDays, portalCancelledDays)
	if err != nil {
		return fmt.Errorf("portal bookings: %w", err)
	}
	for _, r := range rows {
		switch bk := r.Booking; {
		case bk.Status == StatusCancelled:
			o.Cancelled = append(o.Cancelled, bk)
		case bk.End.After(o.Now):
			o.Upcoming = append(o.Upcoming, bk)
		default:
			o.Past = append([]Booking{bk}, o.Past...)
		}
	}
	return nil
}

// bookingsInside returns the bookings that overlap [start, end).
func bookingsInside(bookings []Booking, start, end time.Time) []Booking {
	var out []Booking
	for _, b := range bookings {
		if b.Start.Before(end) && start.Before(b.End) {
			out = append(out, b)
		}
	}
	return out
}

// zoneLabel is the name people know a zone by, from the regions' lists.
func zoneLabel(id string) string {
	for _, region := range Regions() {
		for _, z := range ZonesFor(region) {
			if z.ID == id {
				return z.Label
			}
		}
	}
	return ""
}
