package services

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// TimeOff is a span when a consultant takes no meetings.
type TimeOff struct {
	ID     int64     `db:"id"`
	Start  time.Time `db:"start"`
	End    time.Time `db:"end"`
	Reason string    `db:"reason"`
}

// AddTimeOff blocks [start, end) for the consultant.
func (s *Consultants) AddTimeOff(ctx context.Context, consultantID string, start, end time.Time, reason string) (TimeOff, error) {
	if !start.Before(end) {
		return TimeOff{}, Invalid(map[string]string{"to": "Time off must end after it starts."})
	}
	return insertTimeOff(ctx, s.db, consultantID, TimeOff{Start: start, End: end, Reason: strings.TrimSpace(reason)})
}

// TimeOff lists a consultant's time off that has not ended yet.
func (s *Consultants) TimeOff(ctx context.Context, consultantID string, now time.Time) ([]TimeOff, error) {
	return listTimeOff(ctx, s.db, consultantID, now)
}

func insertTimeOff(ctx context.Context, q sqlx.QueryerContext, consultantID string, t TimeOff) (TimeOff, error) {
	err := sqlx.GetContext(ctx, q, &t.ID, `
		INSERT INTO consultant_time_off (consultant_id, period, reason) VALUES ($1, tstzrange($2, $3, '[)'), $4)
		RETURNING id`, consultantID, t.Start, t.End, t.Reason)
	if err != nil {
		return TimeOff{}, translatePQ(err, "That time off could not be saved.", "add time off")
	}
	return t, nil
}

func listTimeOff(ctx context.Context, q sqlx.QueryerContext, consultantID string, now time.Time) ([]TimeOff, error) {
	var out []TimeOff
	err := sqlx.SelectContext(ctx, q, &out, `
		SELECT id, lower(period) AS start, upper(period) AS end, reason FROM consultant_time_off
		WHERE consultant_id = $1 AND upper(period) > $2 ORDER BY lower(period), id`, consultantID, now)
	if err != nil {
		return nil, fmt.Errorf("list time off: %w", err)
	}
	return out, nil
}

// ParseLocalTime reads "2006-01-02", "2006-01-02T15:04" (wall time in loc) or RFC 3339.
func ParseLocalTime(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02 15:04", time.DateOnly} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q: use 2006-01-02, 2006-01-02T15:04 (consultant's local time) or RFC 3339", s)
}
