package services

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"
)

// WeekHours is the weekly hours form: for each weekday (indexed by
// time.Weekday) the ranges as typed, such as "09:00-12:00, 13:00-17:00";
// an empty text means not working that day.
type WeekHours [7]string

// SaveHours replaces the actor's weekly hours with what the form says and
// records the change in the audit log, in one transaction. A day that does
// not read is reported under its key ("mon", "tue", ...) and nothing is saved.
func (p *Portal) SaveHours(ctx context.Context, in WeekHours) ([]HoursRange, error) {
	var hours []HoursRange
	fields := map[string]string{}
	for d, text := range in {
		day, err := ParseDayHours(time.Weekday(d), text)
		if err != nil {
			fields[WeekdayKey(time.Weekday(d))] = capitalize(err.Error()) + "."
			continue
		}
		hours = append(hours, day...)
	}
	if len(fields) > 0 {
		return nil, Invalid(fields)
	}
	err := inTx(ctx, p.db, func(tx *sqlx.Tx) error {
		c, _, err := p.me(ctx, tx, true)
		if err != nil {
			return err
		}
		before, err := consultantHours(ctx, tx, c.ID)
		if err != nil {
			return err
		}
		if err := replaceHours(ctx, tx, c.ID, hours); err != nil {
			return err
		}
		return audit(ctx, tx, "hours_changed", "consultant", c.ID, map[string]string{
			"hours": FormatWeeklyHours(hours), "previous": FormatWeeklyHours(before), "timezone": c.Timezone,
		})
	})
	if err != nil {
		return nil, err
	}
	return hours, nil
}

// Span is a stretch of real time.
type Span struct {
	Start, End time.Time
}

// DayWindows is one local date's working time: the weekly hours of that
// date, less time off.
type DayWindows struct {
	Date     time.Time // local midnight
	Windows  []Span
	HasHours bool // weekly hours fall on this date (all of them may be time off)
}

// workingWindows lays the weekly hours over the next days in the
// consultant's zone, DST included, and cuts out time off.
func workingWindows(s schedule, offs []TimeOff, now time.Time, days int) []DayWindows {
	var busy []interval
	for _, t := range offs {
		busy = append(busy, interval{t.Start, t.End})
	}
	local := now.In(s.Loc)
	out := make([]DayWindows, 0, days)
	for i := 0; i < days; i++ {
		day := interval{
			Start: time.Date(local.Year(), local.Month(), local.Day()+i, 0, 0, 0, 0, s.Loc),
			End:   time.Date(local.Year(), local.Month(), local.Day()+i+1, 0, 0, 0, 0, s.Loc),
		}
		dw := DayWindows{Date: day.Start}
		for _, w := range s.workingIntervals(day.Start, day.End) {
			w = interval{maxTime(w.Start, day.Start), minTime(w.End, day.End)}
			dw.HasHours = true
			for _, left := range subtract(w, busy) {
				dw.Windows = append(dw.Windows, Span(left))
			}
		}
		out = append(out, dw)
	}
	return out
}

// subtract returns what is left of iv once every busy interval is cut out.
func subtract(iv interval, busy []interval) []interval {
	left := []interval{iv}
	for _, b := range busy {
		var next []interval
		for _, l := range left {
			if !l.overlaps(b) {
				next = append(next, l)
				continue
			}
			if l.Start.Before(b.Start) {
				next = append(next, interval{l.Start, b.Start})
			}
			if b.End.Before(l.End) {
				next = append(next, interval{b.End, l.End})
			}
		}
		left = next
	}
	return left
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
