package ical

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	goical "github.com/emersion/go-ical"
)

// Busy is a span of time a calendar marks as busy, [Start, End).
type Busy struct {
	Start, End time.Time
}

// ParseOptions bound what ParseBusy reads.
type ParseOptions struct {
	From, To  time.Time      // only busy time inside [From, To) is kept
	Loc       *time.Location // the zone of floating times and all-day dates
	MaxBlocks int            // more busy spans than this is an error; default 5000
	Budget    time.Duration  // CPU time allowed for expanding recurrences; default 5s
	// OwnUIDs are events to leave out: the consultant's own bookings, which
	// reach their calendar by invite under the booking's UID and must not
	// block the very slots they hold (or, once cancelled, any slot).
	OwnUIDs map[string]bool
}

// BusyResult is what a calendar says about busy time in the window.
type BusyResult struct {
	Blocks   []Busy // sorted, overlapping and touching spans merged, clipped to the window
	Events   int    // events read
	Skipped  int    // events left out because they could not be read
	Own      int    // events left out because they are our own bookings (OwnUIDs)
	Problems []string
}

// ParseError is a calendar that cannot be read; Message is safe to show.
type ParseError struct{ Message string }

func (e *ParseError) Error() string { return "ical: " + e.Message }

// busyProps are the only properties a busy calendar is read for. Everything
// else (titles, descriptions, attendees, attachments) is dropped before
// decoding, so it is never held, and so no oversized or malformed line in a
// field we do not need can upset the decoder.
var busyProps = map[string]bool{
	"BEGIN": true, "END": true, "UID": true, "DTSTART": true, "DTEND": true, "DURATION": true,
	"RRULE": true, "RDATE": true, "EXDATE": true, "RECURRENCE-ID": true, "STATUS": true, "TRANSP": true,
	"X-MICROSOFT-CDO-BUSYSTATUS": true, "FREEBUSY": true,
	"TZID": true, "TZOFFSETFROM": true, "TZOFFSETTO": true,
}

// Limits on a kept line: the part before the value (name and parameters)
// and the whole line. go-ical builds parameter values a byte at a time, so
// a huge parameter would cost time quadratic in its length.
const (
	parseMaxHead = 1 << 10
	parseMaxLine = 64 << 10
)

// ParseBusy reads an iCalendar stream and returns its busy time inside the
// window: opaque events that are not cancelled, recurrences expanded, and
// VFREEBUSY busy periods.
func ParseBusy(r io.Reader, opt ParseOptions) (BusyResult, error) {
	if opt.Loc == nil {
		opt.Loc = time.UTC
	}
	if opt.MaxBlocks <= 0 {
		opt.MaxBlocks = 5000
	}
	if opt.Budget <= 0 {
		opt.Budget = 5 * time.Second
	}
	raw, err := io.ReadAll(r)
	if err != nil {
		return BusyResult{}, fmt.Errorf("read calendar: %w", err)
	}
	cals, err := decodeBusyCalendars(raw)
	if err != nil {
		return BusyResult{}, err
	}
	x := newExpander(opt, cals)
	for _, cal := range cals {
		x.calendar(cal)
	}
	if x.overBudget {
		return BusyResult{}, &ParseError{Message: "the calendar has too many repeating events to read in time"}
	}
	blocks := mergeBusy(x.blocks)
	if len(blocks) > opt.MaxBlocks {
		return BusyResult{}, &ParseError{Message: fmt.Sprintf("the calendar has more than %d busy times in the coming weeks", opt.MaxBlocks)}
	}
	return BusyResult{Blocks: blocks, Events: x.events, Skipped: x.skipped, Own: x.own, Problems: x.problems}, nil
}

// decodeBusyCalendars filters raw down to busyProps and decodes every
// VCALENDAR in it.
func decodeBusyCalendars(raw []byte) (cals []*goical.Calendar, err error) {
	raw = bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))
	if !bytes.HasPrefix(bytes.ToUpper(bytes.TrimLeft(raw[:min(len(raw), 64)], " \t\r\n")), []byte("BEGIN:VCALENDAR")) {
		return nil, &ParseError{Message: "the address did not return an iCalendar file"}
	}
	filtered := filterBusyLines(raw)
	// go-ical panics on a few malformed lines (a parameter without a colon
	// after it); a calendar from outside must never take the process down.
	defer func() {
		if p := recover(); p != nil {
			cals, err = nil, &ParseError{Message: "the calendar is not valid iCalendar"}
		}
	}()
	dec := goical.NewDecoder(bytes.NewReader(filtered))
	for {
		cal, err := dec.Decode()
		if errors.Is(err, io.EOF) && len(cals) == 0 {
			return nil, &ParseError{Message: "the calendar is incomplete (it ends before END:VCALENDAR)"}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if len(cals) > 0 && isTrailingGarbage(err) {
				break
			}
			return nil, &ParseError{Message: "the calendar is not valid iCalendar"}
		}
		cals = append(cals, cal)
	}
	return cals, nil
}

// isTrailingGarbage tolerates junk after a complete calendar, which some
// servers append (a stray newline or an HTML comment).
func isTrailingGarbage(err error) bool {
	return strings.Contains(err.Error(), "expected BEGIN")
}

// filterBusyLines unfolds content lines (RFC 5545 §3.1) and keeps those
// whose property is in busyProps and whose size is sane, one per line.
func filterBusyLines(raw []byte) []byte {
	var out bytes.Buffer
	out.Grow(len(raw) / 4)
	var line []byte
	flush := func() {
		if len(line) > 0 && keepBusyLine(line) {
			out.Write(line)
			out.WriteByte('\n')
		}
		line = line[:0]
	}
	for len(raw) > 0 {
		i := bytes.IndexByte(raw, '\n')
		var phys []byte
		if i < 0 {
			phys, raw = raw, nil
		} else {
			phys, raw = raw[:i], raw[i+1:]
		}
		phys = bytes.TrimSuffix(phys, []byte("\r"))
		if len(phys) > 0 && (phys[0] == ' ' || phys[0] == '\t') {
			if len(line) <= parseMaxLine {
				line = append(line, phys[1:]...)
			}
			continue
		}
		flush()
		line = append(line, phys...)
	}
	flush()
	return out.Bytes()
}

func keepBusyLine(line []byte) bool {
	if len(line) > parseMaxLine {
		return false
	}
	end := bytes.IndexAny(line, ";:")
	if end <= 0 || !busyProps[strings.ToUpper(string(line[:end]))] {
		return false
	}
	head := busyValueStart(line)
	return head > 0 && head <= parseMaxHead && wellFormedParams(line[end:head])
}

// wellFormedParams checks the parameters between a property's name and its
// value (;NAME=value,"quoted value") as go-ical's decoder expects them: it
// fails the whole calendar on some mistakes and panics on others, where
// dropping the one line loses less.
func wellFormedParams(s []byte) bool {
	for len(s) > 0 {
		if s[0] != ';' {
			return false
		}
		s = s[1:]
		eq := bytes.IndexByte(s, '=')
		if eq <= 0 || bytes.ContainsAny(s[:eq], ";:,\"") {
			return false
		}
		s = s[eq+1:]
		for {
			if len(s) > 0 && s[0] == '"' {
				q := bytes.IndexByte(s[1:], '"')
				if q < 0 {
					return false
				}
				s = s[q+2:]
			} else {
				i := bytes.IndexAny(s, ";,\"")
				if i < 0 {
					i = len(s)
				}
				if i < len(s) && s[i] == '"' {
					return false
				}
				s = s[i:]
			}
			if len(s) == 0 || s[0] != ',' {
				break
			}
			s = s[1:]
		}
	}
	return true
}

// busyValueStart is the index of the colon that ends name and parameters,
// skipping colons inside quoted parameter values; -1 when there is none.
func busyValueStart(line []byte) int {
	quoted := false
	for i, c := range line {
		switch {
		case c == '"':
			quoted = !quoted
		case c == ':' && !quoted:
			return i
		}
	}
	return -1
}

// mergeBusy sorts spans and merges those that overlap or touch.
func mergeBusy(in []Busy) []Busy {
	sort.Slice(in, func(i, j int) bool { return in[i].Start.Before(in[j].Start) })
	var out []Busy
	for _, b := range in {
		if n := len(out); n > 0 && !b.Start.After(out[n-1].End) {
			if b.End.After(out[n-1].End) {
				out[n-1].End = b.End
			}
			continue
		}
		out = append(out, b)
	}
	return out
}
