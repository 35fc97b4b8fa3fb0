package ical

import (
	"errors"
	"fmt"
	"strings"
	"time"

	goical "github.com/emersion/go-ical"
)

// busyMoment is a DATE or DATE-TIME value read in its zone: a TZID, UTC, or
// for floating times and dates the consultant's zone.
type busyMoment struct {
	t      time.Time
	allDay bool
	loc    *time.Location
}

func (x *expander) when(p *goical.Prop) (busyMoment, error) {
	if p == nil {
		return busyMoment{}, errors.New("missing date")
	}
	return x.whenValue(p, p.Value)
}

// whenValue reads one value of p (EXDATE and RDATE carry lists).
func (x *expander) whenValue(p *goical.Prop, v string) (busyMoment, error) {
	v = strings.TrimSpace(v)
	if strings.EqualFold(p.Params.Get(goical.ParamValue), "DATE") || len(v) == len("20060102") {
		t, err := time.ParseInLocation("20060102", v, x.opt.Loc)
		return busyMoment{t: t, allDay: true, loc: x.opt.Loc}, err
	}
	if strings.HasSuffix(v, "Z") || strings.HasSuffix(v, "z") {
		t, err := time.Parse("20060102T150405", v[:len(v)-1])
		return busyMoment{t: t, loc: time.UTC}, err
	}
	loc := x.opt.Loc
	if id := p.Params.Get(goical.PropTimezoneID); id != "" {
		loc = x.zones.location(id)
	}
	t, err := time.ParseInLocation("20060102T150405", v, loc)
	return busyMoment{t: t, loc: loc}, err
}

// eventSpan is when an event starts and how long each occurrence lasts:
// nominal days (all-day events, a DURATION's days and weeks), which keep
// the wall clock across daylight saving changes, plus an exact part.
type eventSpan struct {
	start  time.Time
	allDay bool
	loc    *time.Location
	days   int
	exact  time.Duration
}

// at is the occurrence that starts at start.
func (s eventSpan) at(start time.Time) Busy {
	end := start
	if s.days != 0 {
		l := start.In(s.loc)
		end = time.Date(l.Year(), l.Month(), l.Day()+s.days, l.Hour(), l.Minute(), l.Second(), 0, s.loc)
	}
	return Busy{Start: start, End: end.Add(s.exact)}
}

// span reads DTSTART and DTEND or DURATION. Without either, a date lasts
// a day and a date-time no time at all (RFC 5545 §3.6.1).
func (x *expander) span(ev *goical.Component) (eventSpan, error) {
	start, err := x.when(ev.Props.Get(goical.PropDateTimeStart))
	if err != nil {
		return eventSpan{}, err
	}
	s := eventSpan{start: start.t, allDay: start.allDay, loc: start.loc}
	switch {
	case ev.Props.Get(goical.PropDateTimeEnd) != nil:
		end, err := x.when(ev.Props.Get(goical.PropDateTimeEnd))
		if err != nil {
			return eventSpan{}, err
		}
		if start.allDay && end.allDay {
			s.days = civilDays(start.t, end.t)
		} else {
			s.exact = end.t.Sub(start.t)
		}
	case ev.Props.Get(goical.PropDuration) != nil:
		if s.days, s.exact, err = parseICSDuration(ev.Props.Get(goical.PropDuration).Value); err != nil {
			return eventSpan{}, err
		}
	case start.allDay:
		s.days = 1
	}
	if s.days < 0 || s.exact < 0 || s.days > 3660 {
		return eventSpan{}, errors.New("event ends before it starts")
	}
	return s, nil
}

// civilDays counts calendar days from a's date to b's.
func civilDays(a, b time.Time) int {
	da := time.Date(a.Year(), a.Month(), a.Day(), 0, 0, 0, 0, time.UTC)
	db := time.Date(b.Year(), b.Month(), b.Day(), 0, 0, 0, 0, time.UTC)
	return int(db.Sub(da).Hours() / 24)
}

// parseICSDuration reads a positive RFC 5545 duration such as P1D, PT1H30M
// or P2W into nominal days and an exact remainder.
func parseICSDuration(v string) (days int, exact time.Duration, err error) {
	v = strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(v)), "+")
	if !strings.HasPrefix(v, "P") || len(v) < 3 {
		return 0, 0, fmt.Errorf("bad duration %q", v)
	}
	n, digits, inTime := 0, false, false
	for _, c := range v[1:] {
		switch {
		case c >= '0' && c <= '9':
			if n > 1_000_000 {
				return 0, 0, fmt.Errorf("bad duration %q", v)
			}
			n, digits = n*10+int(c-'0'), true
			continue
		case c == 'T' && !inTime && !digits:
			inTime = true
			continue
		case !digits:
			return 0, 0, fmt.Errorf("bad duration %q", v)
		case c == 'W' && !inTime:
			days += 7 * n
		case c == 'D' && !inTime:
			days += n
		case c == 'H' && inTime:
			exact += time.Duration(n) * time.Hour
		case c == 'M' && inTime:
			exact += time.Duration(n) * time.Minute
		case c == 'S' && inTime:
			exact += time.Duration(n) * time.Second
		default:
			return 0, 0, fmt.Errorf("bad duration %q", v)
		}
		n, digits = 0, false
	}
	if digits {
		return 0, 0, fmt.Errorf("bad duration %q", v)
	}
	return days, exact, nil
}

// period reads a PERIOD value, start/end or start/duration.
func (x *expander) period(p *goical.Prop, v string) (Busy, error) {
	a, b, ok := strings.Cut(strings.TrimSpace(v), "/")
	if !ok {
		return Busy{}, fmt.Errorf("bad period %q", v)
	}
	start, err := x.whenValue(p, a)
	if err != nil {
		return Busy{}, err
	}
	if strings.HasPrefix(strings.TrimPrefix(strings.ToUpper(b), "+"), "P") {
		days, exact, err := parseICSDuration(b)
		if err != nil {
			return Busy{}, err
		}
		return eventSpan{start: start.t, loc: start.loc, days: days, exact: exact}.at(start.t), nil
	}
	end, err := x.whenValue(p, b)
	if err != nil {
		return Busy{}, err
	}
	return Busy{Start: start.t, End: end.t}, nil
}
