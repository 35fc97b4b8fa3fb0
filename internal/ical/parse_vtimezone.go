package ical

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"time"

	goical "github.com/emersion/go-ical"
)

// locationFromVTimezone builds a location from the current rules of a
// VTIMEZONE whose TZID names no zone we know (Outlook's "Customized Time
// Zone", for one): the latest STANDARD and DAYLIGHT observances become a
// POSIX TZ rule in a TZif blob, so daylight saving follows the calendar's
// own definition. Rules it cannot express leave the standard offset all
// year; nil when even that cannot be read.
func locationFromVTimezone(name string, vt *goical.Component, ref time.Time) *time.Location {
	std, dst := latestObservance(vt, "STANDARD"), latestObservance(vt, "DAYLIGHT")
	if std == nil {
		std, dst = dst, nil
	}
	if std == nil {
		return nil
	}
	stdOff, err := tzOffset(std, goical.PropTimezoneOffsetTo)
	if err != nil {
		return nil
	}
	tz := posixZone(stdOff)
	if dst != nil {
		if rule, ok := posixDST(std, dst, stdOff, ref); ok {
			tz += rule
		}
	}
	loc, err := tzifLocation(name, tz, stdOff)
	if err != nil {
		return nil
	}
	return loc
}

// latestObservance is the observance of a kind with the latest DTSTART.
func latestObservance(vt *goical.Component, kind string) *goical.Component {
	var best *goical.Component
	bestStart := ""
	for _, c := range vt.Children {
		if c.Name != kind {
			continue
		}
		start := ""
		if p := c.Props.Get(goical.PropDateTimeStart); p != nil {
			start = p.Value
		}
		if best == nil || start > bestStart {
			best, bestStart = c, start
		}
	}
	return best
}

// tzOffset reads TZOFFSETTO or TZOFFSETFROM (+hhmm[ss]) as seconds east of UTC.
func tzOffset(c *goical.Component, prop string) (int, error) {
	p := c.Props.Get(prop)
	if p == nil {
		return 0, fmt.Errorf("no %s", prop)
	}
	v := strings.TrimSpace(p.Value)
	if len(v) != 5 && len(v) != 7 || (v[0] != '+' && v[0] != '-') {
		return 0, fmt.Errorf("bad offset %q", v)
	}
	n, err := strconv.Atoi(v[1:])
	if err != nil {
		return 0, fmt.Errorf("bad offset %q", v)
	}
	if len(v) == 5 {
		n *= 100
	}
	secs := n/10000*3600 + n/100%100*60 + n%100
	if v[0] == '-' {
		secs = -secs
	}
	return secs, nil
}

// posixDST is the ",dst-name offset,start,end" part of a POSIX TZ string
// for yearly rules such as FREQ=YEARLY;BYMONTH=3;BYDAY=2SU.
func posixDST(std, dst *goical.Component, stdOff int, ref time.Time) (string, bool) {
	dstOff, err := tzOffset(dst, goical.PropTimezoneOffsetTo)
	if err != nil || dstOff == stdOff {
		return "", false
	}
	start, ok := posixRule(dst, ref)
	if !ok {
		return "", false
	}
	end, ok := posixRule(std, ref)
	if !ok {
		return "", false
	}
	return posixName(dstOff) + posixOffset(dstOff) + "," + start + "," + end, true
}

// posixRule turns an observance's yearly RRULE and DTSTART into
// Mm.w.d/time; a rule that ended before ref does not count.
func posixRule(c *goical.Component, ref time.Time) (string, bool) {
	opt, err := c.Props.RecurrenceRule()
	if err != nil || opt == nil || len(opt.Bymonth) != 1 || len(opt.Byweekday) != 1 {
		return "", false
	}
	if !opt.Until.IsZero() && opt.Until.Before(ref) {
		return "", false // a rule that ended: no daylight saving any more
	}
	wd := opt.Byweekday[0]
	week := wd.N()
	switch {
	case week == -1:
		week = 5
	case week >= 1 && week <= 4:
	case week == 0 && len(opt.Bymonthday) > 0:
		// BYDAY=SU;BYMONTHDAY=8,9,...,14 is the second Sunday.
		first := opt.Bymonthday[0]
		for _, d := range opt.Bymonthday {
			first = min(first, d)
		}
		if first < 1 || first > 25 {
			return "", false
		}
		week = min((first-1)/7+1, 5)
		if first > 22 {
			week = 5
		}
	default:
		return "", false
	}
	p := c.Props.Get(goical.PropDateTimeStart)
	if p == nil || len(p.Value) < 15 {
		return "", false
	}
	clock, err := time.Parse("150405", p.Value[9:15])
	if err != nil {
		return "", false
	}
	day := (wd.Day() + 1) % 7 // rrule counts from Monday, POSIX from Sunday
	return fmt.Sprintf("M%d.%d.%d/%02d:%02d:%02d", opt.Bymonth[0], week, day, clock.Hour(), clock.Minute(), clock.Second()), true
}

// posixZone is a zone with no daylight saving, such as "<-05>5".
func posixZone(off int) string { return posixName(off) + posixOffset(off) }

// posixName is a quoted abbreviation made of the offset, such as <+0530>.
func posixName(off int) string {
	sign := '+'
	if off < 0 {
		sign, off = '-', -off
	}
	return fmt.Sprintf("<%c%02d%02d>", sign, off/3600, off/60%60)
}

// posixOffset writes an offset the POSIX way, positive west of Greenwich.
func posixOffset(off int) string {
	sign := ""
	if off > 0 {
		sign = "-"
	}
	if off < 0 {
		off = -off
	}
	return fmt.Sprintf("%s%d:%02d:%02d", sign, off/3600, off/60%60, off%60)
}

// tzifLocation wraps a POSIX TZ string in a minimal TZif version 2 file:
// one zone type, no transitions, and the string as the footer that
// time.LoadLocationFromTZData applies to every instant.
func tzifLocation(name, tz string, stdOff int) (*time.Location, error) {
	const abbrev = "VTZ\x00"
	var b bytes.Buffer
	block := func() {
		b.WriteString("TZif2")
		b.Write(make([]byte, 15))
		for _, n := range []uint32{0, 0, 0, 0, 1, uint32(len(abbrev))} { // isut, isstd, leap, time, type, char counts
			_ = binary.Write(&b, binary.BigEndian, n)
		}
		_ = binary.Write(&b, binary.BigEndian, int32(stdOff))
		b.Write([]byte{0, 0}) // not DST, abbreviation at 0
		b.WriteString(abbrev)
	}
	block() // version 1 data, which readers of version 2 skip
	block()
	b.WriteString("\n" + tz + "\n")
	return time.LoadLocationFromTZData(name, b.Bytes())
}
