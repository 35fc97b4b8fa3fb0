package services

import (
	"sort"
	"time"
)

// SlotLength is the length of every consultation.
const SlotLength = 30 * time.Minute

// interval is a half-open span of real time [Start, End).
type interval struct {
	Start, End time.Time
}

func (i interval) overlaps(o interval) bool { return i.Start.Before(o.End) && o.Start.Before(i.End) }

// schedule is one consultant's week and what blocks it, over a window.
type schedule struct {
	ConsultantID string
	Loc          *time.Location
	Hours        []HoursRange
	Busy         []interval // bookings (with their buffer), time off, external busy
}

// workingIntervals turns weekly wall-clock hours into real intervals that
// touch [from, to). Bounds are resolved in the consultant's zone: a bound in
// a spring-forward gap moves to the end of the gap, and in a repeated
// fall-back hour a start takes the first occurrence and an end the second,
// so a shift always lasts exactly as long as it really does that day.
func (s schedule) workingIntervals(from, to time.Time) []interval {
	var out []interval
	day := from.In(s.Loc)
	day = time.Date(day.Year(), day.Month(), day.Day()-1, 0, 0, 0, 0, time.UTC)
	for !day.After(to.UTC().Add(24 * time.Hour)) {
		for _, h := range s.Hours {
			if h.Weekday != day.Weekday() {
				continue
			}
			iv := interval{Start: resolveWall(day, h.StartMinute, s.Loc, false), End: resolveWall(day, h.EndMinute, s.Loc, true)}
			if iv.Start.Before(iv.End) && iv.overlaps(interval{from, to}) {
				out = append(out, iv)
			}
		}
		day = day.AddDate(0, 0, 1)
	}
	return out
}

// resolveWall finds the instant when clocks in loc show minute past midnight
// of the calendar date day (given in UTC fields).
func resolveWall(day time.Time, minute int, loc *time.Location, preferLater bool) time.Time {
	wall := day.Add(time.Duration(minute) * time.Minute)
	var found []time.Time
	for _, probe := range []time.Duration{-12 * time.Hour, 12 * time.Hour} {
		_, offset := wall.Add(probe).In(loc).Zone()
		t := wall.Add(-time.Duration(offset) * time.Second)
		if sameWall(t.In(loc), wall) && (len(found) == 0 || !found[0].Equal(t)) {
			found = append(found, t)
		}
	}
	switch len(found) {
	case 0:
		// In a gap: read with the offset before the jump, the wall time lands
		// just after it; the jump itself is where that zone period starts.
		_, offset := wall.Add(-12 * time.Hour).In(loc).Zone()
		start, _ := wall.Add(-time.Duration(offset) * time.Second).In(loc).ZoneBounds()
		return start
	case 1:
		return found[0]
	}
	sort.Slice(found, func(i, j int) bool { return found[i].Before(found[j]) })
	if preferLater {
		return found[len(found)-1]
	}
	return found[0]
}

func sameWall(local, wall time.Time) bool {
	y, m, d := local.Date()
	wy, wm, wd := wall.Date()
	return y == wy && m == wm && d == wd && local.Hour() == wall.Hour() && local.Minute() == wall.Minute()
}

// slotStarts lists the starts of free 30-minute slots in [from, to): on the
// :00/:30 grid of the consultant's clock, inside working hours, and clear of
// every busy interval, keeping buffer free after the meeting.
func (s schedule) slotStarts(from, to time.Time, buffer time.Duration) []time.Time {
	var out []time.Time
	for _, work := range s.workingIntervals(from, to) {
		for t := firstGridStart(work.Start, s.Loc); !t.Add(SlotLength).After(work.End); t = t.Add(SlotLength) {
			if t.Before(from) || t.Add(SlotLength).After(to) {
				continue
			}
			if s.free(interval{t, t.Add(SlotLength + buffer)}) {
				out = append(out, t)
			}
		}
	}
	return out
}

// firstGridStart is the first instant at or after t whose local clock shows
// :00 or :30.
func firstGridStart(t time.Time, loc *time.Location) time.Time {
	t = t.Truncate(time.Minute)
	for i := 0; i < 30; i++ {
		if m := t.In(loc).Minute(); m == 0 || m == 30 {
			return t
		}
		t = t.Add(time.Minute)
	}
	return t
}

func (s schedule) free(want interval) bool {
	for _, b := range s.Busy {
		if b.overlaps(want) {
			return false
		}
	}
	return true
}

// worksAt reports whether a slot starting at start lies on the consultant's
// clock grid and inside their working hours (busy time aside).
func (s schedule) worksAt(start time.Time) bool {
	local := start.In(s.Loc)
	if (local.Minute() != 0 && local.Minute() != 30) || local.Second() != 0 || local.Nanosecond() != 0 {
		return false
	}
	for _, w := range s.workingIntervals(start.Add(-24*time.Hour), start.Add(24*time.Hour)) {
		if !start.Before(w.Start) && !start.Add(SlotLength).After(w.End) {
			return true
		}
	}
	return false
}
