package ical

import (
	"errors"
	"strings"
	"time"

	goical "github.com/emersion/go-ical"
)

var (
	errSubDaily        = errors.New("repeats more often than daily")
	errTooManyInstants = errors.New("too many occurrences")
)

// occurrences lists an event's occurrences that end after the window
// opens and start before it closes: DTSTART, its RRULE expanded through
// go-ical's RecurrenceSet, and RDATEs, less EXDATEs.
//
// RecurrenceSet gets a copy of the event holding only DTSTART, written in
// the zone this package resolved (go-ical would look up a Windows TZID in
// the zone database and fail), and an RRULE whose UNTIL is in UTC (a date
// or floating UNTIL would otherwise be read as UTC, dropping the last
// occurrence west of Greenwich). EXDATE and RDATE are added here, since
// go-ical reads neither lists of values nor their own TZIDs.
func (x *expander) occurrences(ev *goical.Component, span eventSpan) ([]Busy, error) {
	rdates, exdates := x.rdates(ev, span), x.exdates(ev, span)
	rule := ev.Props.Get(goical.PropRecurrenceRule)
	if rule == nil {
		var out []Busy
		for _, b := range append([]Busy{span.at(span.start)}, rdates...) {
			if !exdates[b.Start.Unix()] {
				out = append(out, b)
			}
		}
		return out, nil
	}
	value, err := utcRRule(rule.Value, span)
	if err != nil {
		return nil, err
	}
	c := goical.NewComponent(goical.CompEvent)
	start := goical.NewProp(goical.PropDateTimeStart)
	start.Value = span.start.In(span.loc).Format("20060102T150405")
	if span.allDay {
		start.Value = span.start.In(span.loc).Format("20060102")
	}
	c.Props.Set(start)
	r := goical.NewProp(goical.PropRecurrenceRule)
	r.Value = value
	c.Props.Set(r)
	set, err := c.RecurrenceSet(span.loc)
	if err != nil {
		return nil, err
	}
	ends := map[int64]time.Time{}
	set.RDate(span.start) // DTSTART is always the first occurrence (RFC 5545 §3.8.5.3)
	for _, b := range rdates {
		set.RDate(b.Start)
		ends[b.Start.Unix()] = b.End
	}
	for unix := range exdates {
		set.ExDate(time.Unix(unix, 0))
	}
	var out []Busy
	next := set.Iterator()
	for n := 0; ; n++ {
		t, ok := next()
		if !ok || !t.Before(x.opt.To) {
			return out, nil
		}
		if n >= expandMaxInstances {
			return nil, errTooManyInstants
		}
		if n%512 == 511 && time.Now().After(x.deadline) {
			x.overBudget = true
			return out, nil
		}
		b := span.at(t)
		if end, ok := ends[t.Unix()]; ok {
			b.End = end
		}
		if b.End.After(x.opt.From) {
			out = append(out, b)
		}
	}
}

// rdates reads RDATE lists: dates, date-times or periods.
func (x *expander) rdates(ev *goical.Component, span eventSpan) []Busy {
	var out []Busy
	for _, p := range ev.Props.Values(goical.PropRecurrenceDates) {
		isPeriod := strings.EqualFold(p.Params.Get(goical.ParamValue), "PERIOD")
		for _, v := range strings.Split(p.Value, ",") {
			if isPeriod || strings.Contains(v, "/") {
				if b, err := x.period(&p, v); err == nil {
					out = append(out, b)
				}
				continue
			}
			if m, err := x.whenValue(&p, v); err == nil {
				out = append(out, span.at(m.t))
			}
		}
	}
	return out
}

// exdates reads EXDATE lists as instants. A date excluding an occurrence
// of a timed event means that date at the event's start time.
func (x *expander) exdates(ev *goical.Component, span eventSpan) map[int64]bool {
	out := map[int64]bool{}
	for _, p := range ev.Props.Values(goical.PropExceptionDates) {
		for _, v := range strings.Split(p.Value, ",") {
			m, err := x.whenValue(&p, v)
			if err != nil {
				continue // an unreadable exception keeps the time busy, the safe side
			}
			t := m.t
			if m.allDay && !span.allDay {
				s := span.start.In(span.loc)
				t = time.Date(t.Year(), t.Month(), t.Day(), s.Hour(), s.Minute(), s.Second(), 0, span.loc)
			}
			out[t.Unix()] = true
		}
	}
	return out
}

// utcRRule checks an RRULE value and writes its UNTIL in UTC: a date means
// the end of that day and a floating time is read, both in the event's zone.
func utcRRule(v string, span eventSpan) (string, error) {
	var parts []string
	for _, part := range strings.Split(strings.TrimSpace(v), ";") {
		key, val, _ := strings.Cut(part, "=")
		key, val = strings.ToUpper(strings.TrimSpace(key)), strings.ToUpper(strings.TrimSpace(val))
		switch key {
		case "":
			continue
		case "FREQ":
			if val == "SECONDLY" || val == "MINUTELY" || val == "HOURLY" {
				return "", errSubDaily
			}
		case "UNTIL":
			until, err := untilInstant(val, span.loc)
			if err != nil {
				return "", err
			}
			val = until.UTC().Format("20060102T150405Z")
		}
		parts = append(parts, key+"="+val)
	}
	return strings.Join(parts, ";"), nil
}

func untilInstant(v string, loc *time.Location) (time.Time, error) {
	switch len(v) {
	case len("20060102"):
		d, err := time.ParseInLocation("20060102", v, loc)
		return time.Date(d.Year(), d.Month(), d.Day(), 23, 59, 59, 0, loc), err
	case len("20060102T150405"):
		return time.ParseInLocation("20060102T150405", v, loc)
	}
	return time.Parse("20060102T150405Z", v)
}
