package services

import (
	"fmt"
	"strings"
	"time"
)

// How fresh a calendar's busy blocks are.
const (
	BusyWaiting = "waiting" // saved, not read yet
	BusyOK      = "ok"
	BusyStale   = "stale"   // read once, but not for longer than three intervals
	BusyFailing = "failing" // the last attempt failed
)

// BusyStatus says how fresh a calendar's busy blocks are, in words for the
// consultant and staff: never a silently empty calendar.
type BusyStatus struct {
	Health  string
	Summary string // "Last updated 3 hours ago; the last 4 attempts failed: timed out after 15 seconds."
	Effect  string // what blocks slots meanwhile
	Notes   string // events left out, zones not recognised
}

// Status reads c at now, for a calendar downloaded every interval.
func (c BusyCalendar) Status(now time.Time, every time.Duration) BusyStatus {
	s := BusyStatus{Notes: c.Problems}
	if s.Notes != "" {
		s.Notes = strings.ToUpper(s.Notes[:1]) + s.Notes[1:] + "."
	}
	failed := ""
	if c.Failures > 0 {
		failed = fmt.Sprintf("the last %d attempts failed: %s", c.Failures, c.LastError)
		if c.Failures == 1 {
			failed = "the last attempt failed: " + c.LastError
		}
	}
	switch {
	case c.LastSuccessAt == nil && c.Failures == 0:
		s.Health, s.Summary = BusyWaiting, "Not read yet."
		s.Effect = "Its busy times block slots once it has been read."
	case c.LastSuccessAt == nil:
		s.Health, s.Summary = BusyFailing, "Never read; "+failed+"."
		s.Effect = "No busy times from this calendar block slots yet."
	case c.Failures > 0:
		s.Health = BusyFailing
		s.Summary = "Last updated " + agoText(now.Sub(*c.LastSuccessAt)) + "; " + failed + "."
		s.Effect = keptEffect(c.BlockCount)
	case now.Sub(*c.LastSuccessAt) > 3*every+time.Minute:
		s.Health = BusyStale
		s.Summary = "Last updated " + agoText(now.Sub(*c.LastSuccessAt)) + "."
		s.Effect = keptEffect(c.BlockCount)
	default:
		s.Health = BusyOK
		s.Summary = "Last updated " + agoText(now.Sub(*c.LastSuccessAt)) + "."
		s.Effect = busyTimes(c.BlockCount) + " in the coming weeks."
		if c.BlockCount == 0 {
			s.Effect = "No busy times in the coming weeks."
		}
	}
	return s
}

// keptEffect says what still blocks slots while downloads fail.
func keptEffect(n int) string {
	if n == 0 {
		return "When last read it had no busy times in the coming weeks."
	}
	return "The " + busyTimes(n) + " read then still block slots."
}

func busyTimes(n int) string {
	if n == 1 {
		return "1 busy time"
	}
	return fmt.Sprintf("%d busy times", n)
}

// agoText is a rough age: "just now", "5 minutes ago", "3 hours ago", "2 days ago".
func agoText(d time.Duration) string {
	unit := func(n int, one string) string {
		if n == 1 {
			return "1 " + one + " ago"
		}
		return fmt.Sprintf("%d %ss ago", n, one)
	}
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return unit(int(d/time.Minute), "minute")
	case d < 48*time.Hour:
		return unit(int(d/time.Hour), "hour")
	}
	return unit(int(d/(24*time.Hour)), "day")
}

// Status is how fresh c's busy blocks are now, by the service's clock.
func (b *BusyCalendars) Status(c BusyCalendar) BusyStatus { return c.Status(b.now(), b.cfg.Every) }
