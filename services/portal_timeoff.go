package services

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
)

// TimeOffEntry is time off with the live bookings that fall inside it:
// time off blocks new bookings but never cancels existing ones.
type TimeOffEntry struct {
	TimeOff
	Bookings []Booking
}

// NewTimeOff is the time-off form, in the consultant's own zone. A date
// alone means the whole day: From starts at its midnight and To ends at
// the next one. ToDate defaults to FromDate, so one date is one day off.
type NewTimeOff struct {
	FromDate string // 2006-01-02
	FromTime string // optional 15:04
	ToDate   string // optional 2006-01-02
	ToTime   string // optional 15:04; 24:00 allowed
	Reason   string
}

// maxTimeOff is the longest single span of time off; a longer one is most
// likely a typed year gone wrong, and would hide the consultant for good.
const maxTimeOff = 366 * 24 * time.Hour

// AddTimeOff blocks a span of the actor's time and records it in the audit
// log. Bookings inside it stay as they are; the answer lists them.
func (p *Portal) AddTimeOff(ctx context.Context, in NewTimeOff) (TimeOffEntry, error) {
	var entry TimeOffEntry
	err := inTx(ctx, p.db, func(tx *sqlx.Tx) error {
		c, loc, err := p.me(ctx, tx, false)
		if err != nil {
			return err
		}
		t, err := in.read(loc, p.now())
		if err != nil {
			return err
		}
		if entry.TimeOff, err = insertTimeOff(ctx, tx, c.ID, t); err != nil {
			return err
		}
		if entry.Bookings, err = liveBookingsBetween(ctx, tx, c.ID, t.Start, t.End); err != nil {
			return err
		}
		return audit(ctx, tx, "time_off_added", "time_off", strconv.FormatInt(entry.ID, 10), map[string]string{
			"consultant_id": c.ID, "from": t.Start.In(loc).Format(time.RFC3339), "to": t.End.In(loc).Format(time.RFC3339),
			"reason": t.Reason, "bookings_inside": strconv.Itoa(len(entry.Bookings)),
		})
	})
	return entry, err
}

// RemoveTimeOff deletes one span of the actor's own time off; any other id,
// someone else's included, is ErrNotFound.
func (p *Portal) RemoveTimeOff(ctx context.Context, id string) error {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return ErrNotFound
	}
	return inTx(ctx, p.db, func(tx *sqlx.Tx) error {
		c, loc, err := p.me(ctx, tx, false)
		if err != nil {
			return err
		}
		var t TimeOff
		err = tx.GetContext(ctx, &t, `
			DELETE FROM consultant_time_off WHERE id = $1 AND consultant_id = $2
			RETURNING id, lower(period) AS start, upper(period) AS end, reason`, n, c.ID)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("remove time off: %w", err)
		}
		return audit(ctx, tx, "time_off_removed", "time_off", id, map[string]string{
			"consultant_id": c.ID, "from": t.Start.In(loc).Format(time.RFC3339), "to": t.End.In(loc).Format(time.RFC3339), "reason": t.Reason,
		})
	})
}

// read checks the form and turns it into instants; every problem is
// reported at once, under "from", "to" or "reason".
func (in NewTimeOff) read(loc *time.Location, now time.Time) (TimeOff, error) {
	fields := map[string]string{}
	start, problem := wallInstant(in.FromDate, in.FromTime, loc, false)
	if problem != "" {
		fields["from"] = problem
	}
	toDate := in.ToDate
	if strings.TrimSpace(toDate) == "" {
		toDate = in.FromDate
	}
	end, problem := wallInstant(toDate, in.ToTime, loc, true)
	if problem != "" {
		fields["to"] = problem
	}
	reason := strings.TrimSpace(cleanLine(in.Reason))
	if utf8.RuneCountInString(reason) > 200 {
		fields["reason"] = "Keep the reason to 200 characters."
	}
	if len(fields) == 0 {
		switch {
		case !start.Before(end):
			fields["to"] = "Time off must end after it starts."
		case !end.After(now):
			fields["to"] = "That is in the past: time off must end later than now."
		case end.Sub(start) > maxTimeOff:
			fields["to"] = "Time off can last a year at most; add another span after it for longer."
		}
	}
	if len(fields) > 0 {
		return TimeOff{}, Invalid(fields)
	}
	return TimeOff{Start: start, End: end, Reason: reason}, nil
}

// wallInstant reads a date and an optional time of day on the clocks of
// loc, or says what is wrong with them. Without a time, a start is the
// date's midnight and an end the next midnight. A time skipped by a DST
// change moves to the change.
func wallInstant(date, clockText string, loc *time.Location, end bool) (time.Time, string) {
	day, err := time.Parse(time.DateOnly, strings.TrimSpace(date))
	if err != nil {
		return time.Time{}, "Enter a date such as 2026-12-24."
	}
	minute := 0
	if strings.TrimSpace(clockText) == "" {
		if end {
			minute = 24 * 60
		}
	} else if minute, err = parseClock(strings.TrimSpace(clockText)); err != nil {
		return time.Time{}, "Enter a time such as 13:30, or leave it empty for the whole day."
	}
	return resolveWall(day, minute, loc, end), ""
}

// liveBookingsBetween lists a consultant's live bookings overlapping [start, end).
func liveBookingsBetween(ctx context.Context, q sqlx.QueryerContext, consultantID string, start, end time.Time) ([]Booking, error) {
	var rows []bookingRow
	err := sqlx.SelectContext(ctx, q, &rows, bookingSelect+`
		WHERE b.consultant_id = $1 AND b.`+liveBookingSQL+` AND b.starts_at < $3 AND b.ends_at > $2
		ORDER BY b.starts_at`, consultantID, start, end)
	if err != nil {
		return nil, fmt.Errorf("bookings inside time off: %w", err)
	}
	out := make([]Booking, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.Booking)
	}
	return out, nil
}
