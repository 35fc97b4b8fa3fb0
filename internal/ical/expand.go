package ical

import (
	"fmt"
	"strings"
	"time"

	goical "github.com/emersion/go-ical"
)

// expandMaxInstances caps the occurrences walked for one event, from its
// first to the end of the window (a daily event begun in 1980 is ~17,000).
const expandMaxInstances = 100_000

// expander collects busy spans from a calendar's events.
type expander struct {
	opt        ParseOptions
	zones      *zoneResolver
	deadline   time.Time
	overBudget bool
	blocks     []Busy
	events     int
	skipped    int
	own        int
	problems   []string
}

func newExpander(opt ParseOptions, cals []*goical.Calendar) *expander {
	return &expander{opt: opt, zones: newZoneResolver(opt.Loc, opt.From, cals), deadline: time.Now().Add(opt.Budget)}
}

// eventSeries is a master event with the overrides (RECURRENCE-ID) that
// move or cancel single occurrences of it.
type eventSeries struct {
	masters   []*goical.Component
	overrides []*goical.Component
}

// calendar adds the busy time of every event and free/busy component.
func (x *expander) calendar(cal *goical.Calendar) {
	series := map[string]*eventSeries{}
	var order []string
	for i, child := range cal.Children {
		switch child.Name {
		case goical.CompEvent:
			x.events++
			uid, _ := child.Props.Text(goical.PropUID)
			if uid != "" && x.opt.OwnUIDs[uid] {
				x.own++
				continue
			}
			if uid == "" {
				uid = fmt.Sprintf("\x00%d", i) // no UID: a series of its own
			}
			s := series[uid]
			if s == nil {
				s = &eventSeries{}
				series[uid] = s
				order = append(order, uid)
			}
			if child.Props.Get(goical.PropRecurrenceID) != nil {
				s.overrides = append(s.overrides, child)
			} else {
				s.masters = append(s.masters, child)
			}
		case goical.CompFreeBusy:
			x.freeBusy(child)
		}
	}
	for _, uid := range order {
		if x.overBudget || time.Now().After(x.deadline) {
			x.overBudget = true
			return
		}
		x.series(series[uid])
	}
	x.noteProblems()
}

// series expands the masters, leaving out the occurrences that overrides
// replace, then adds the overrides that are busy.
func (x *expander) series(s *eventSeries) {
	replaced := map[int64]bool{}
	var masterSpan *eventSpan
	for _, o := range s.overrides {
		id, err := x.when(o.Props.Get(goical.PropRecurrenceID))
		if err != nil {
			x.skip()
			continue
		}
		replaced[id.t.Unix()] = true
	}
	for _, m := range s.masters {
		span, err := x.span(m)
		if err != nil {
			x.skip()
			continue
		}
		masterSpan = &span
		if !busyEvent(m) {
			continue
		}
		occurrences, err := x.occurrences(m, span)
		if err != nil {
			x.skip()
			continue
		}
		for _, b := range occurrences {
			if !replaced[b.Start.Unix()] {
				x.add(b)
			}
		}
	}
	for _, o := range s.overrides {
		if busyEvent(o) {
			x.override(o, masterSpan)
		}
	}
}

// override adds one moved occurrence; without an end of its own it keeps
// the length of the series.
func (x *expander) override(o *goical.Component, master *eventSpan) {
	span, err := x.span(o)
	if err != nil {
		x.skip()
		return
	}
	if master != nil && o.Props.Get(goical.PropDateTimeEnd) == nil && o.Props.Get(goical.PropDuration) == nil {
		span.days, span.exact = master.days, master.exact
	}
	x.add(span.at(span.start))
}

// busyEvent reports whether an event takes time: not cancelled, not
// transparent ("show as available"), and not marked free by Outlook.
func busyEvent(c *goical.Component) bool {
	text := func(name string) string {
		v, _ := c.Props.Text(name)
		return strings.ToUpper(strings.TrimSpace(v))
	}
	return text(goical.PropStatus) != "CANCELLED" && text(goical.PropTransparency) != "TRANSPARENT" &&
		text("X-MICROSOFT-CDO-BUSYSTATUS") != "FREE"
}

// add keeps the part of b inside the window.
func (x *expander) add(b Busy) {
	if !b.End.After(b.Start) || !b.End.After(x.opt.From) || !b.Start.Before(x.opt.To) {
		return
	}
	if b.Start.Before(x.opt.From) {
		b.Start = x.opt.From
	}
	if b.End.After(x.opt.To) {
		b.End = x.opt.To
	}
	x.blocks = append(x.blocks, Busy{Start: b.Start.UTC(), End: b.End.UTC()})
}

func (x *expander) skip() { x.skipped++ }

// noteProblems says, without quoting the calendar, what was not read as written.
func (x *expander) noteProblems() {
	x.problems = x.problems[:0]
	if x.skipped > 0 {
		verb := " could not be read and were left out"
		if x.skipped == 1 {
			verb = " could not be read and was left out"
		}
		x.problems = append(x.problems, busyPlural(x.skipped, "event", "events")+verb)
	}
	if n := len(x.zones.unknown); n > 0 {
		verb := " not recognised, its times read in your own zone"
		if n > 1 {
			verb = " not recognised, their times read in your own zone"
		}
		x.problems = append(x.problems, busyPlural(n, "time zone", "time zones")+verb)
	}
}

func busyPlural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// freeBusy adds the busy periods of a VFREEBUSY component (FBTYPE other than FREE).
func (x *expander) freeBusy(c *goical.Component) {
	for _, p := range c.Props.Values(goical.PropFreeBusy) {
		if strings.EqualFold(p.Params.Get("FBTYPE"), "FREE") {
			continue
		}
		for _, v := range strings.Split(p.Value, ",") {
			b, err := x.period(&p, v)
			if err != nil {
				x.skip()
				continue
			}
			x.add(b)
		}
	}
}
