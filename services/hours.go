package services

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// HoursRange is one span of working time on a weekday, in minutes since the
// consultant's local midnight.
type HoursRange struct {
	Weekday     time.Weekday `db:"weekday"`
	StartMinute int          `db:"start_minute"`
	EndMinute   int          `db:"end_minute"`
}

func (h HoursRange) String() string {
	return fmt.Sprintf("%s %s-%s", strings.ToLower(h.Weekday.String()[:3]), clock(h.StartMinute), clock(h.EndMinute))
}

func clock(minute int) string { return fmt.Sprintf("%02d:%02d", minute/60, minute%60) }

var weekdayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// ParseWeeklyHours reads specs such as "mon-fri 09:00-12:00,13:00-17:00" or
// "sat 10:00-14:00" (day ranges may wrap, e.g. "sat-sun").
func ParseWeeklyHours(specs []string) ([]HoursRange, error) {
	var out []HoursRange
	for _, spec := range specs {
		days, ranges, ok := strings.Cut(strings.TrimSpace(spec), " ")
		if !ok {
			return nil, fmt.Errorf("hours %q: expected \"<days> <ranges>\", e.g. \"mon-fri 09:00-17:00\"", spec)
		}
		weekdays, err := parseDays(days)
		if err != nil {
			return nil, fmt.Errorf("hours %q: %w", spec, err)
		}
		for _, r := range strings.Split(strings.TrimSpace(ranges), ",") {
			start, end, err := parseClockRange(strings.TrimSpace(r))
			if err != nil {
				return nil, fmt.Errorf("hours %q: %w", spec, err)
			}
			for _, d := range weekdays {
				out = append(out, HoursRange{Weekday: d, StartMinute: start, EndMinute: end})
			}
		}
	}
	if err := validateHours(out); err != nil {
		return nil, err
	}
	return out, nil
}

func parseDays(s string) ([]time.Weekday, error) {
	from, to, isRange := strings.Cut(strings.ToLower(s), "-")
	first, ok := weekdayNames[from]
	if !ok {
		return nil, fmt.Errorf("unknown day %q: use mon, tue, wed, thu, fri, sat or sun", from)
	}
	if !isRange {
		return []time.Weekday{first}, nil
	}
	last, ok := weekdayNames[to]
	if !ok {
		return nil, fmt.Errorf("unknown day %q: use mon, tue, wed, thu, fri, sat or sun", to)
	}
	days := []time.Weekday{first}
	for d := first; d != last; {
		d = (d + 1) % 7
		days = append(days, d)
	}
	return days, nil
}

func parseClockRange(s string) (int, int, error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return 0, 0, fmt.Errorf("range %q: expected HH:MM-HH:MM", s)
	}
	start, err := parseClock(a)
	if err != nil {
		return 0, 0, err
	}
	end, err := parseClock(b)
	if err != nil {
		return 0, 0, err
	}
	if end <= start {
		return 0, 0, fmt.Errorf("range %q ends before it starts", s)
	}
	return start, end, nil
}

func parseClock(s string) (int, error) {
	if s == "24:00" {
		return 1440, nil
	}
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, fmt.Errorf("time %q: expected HH:MM from 00:00 to 24:00", s)
	}
	return t.Hour()*60 + t.Minute(), nil
}

// validateHours refuses ranges outside a day and overlapping ranges on a day.
func validateHours(hours []HoursRange) error {
	sorted := append([]HoursRange(nil), hours...)
	sort.Slice(sorted, func(i, j int) bool {
		if sorted[i].Weekday != sorted[j].Weekday {
			return sorted[i].Weekday < sorted[j].Weekday
		}
		return sorted[i].StartMinute < sorted[j].StartMinute
	})
	for i, h := range sorted {
		if h.Weekday < time.Sunday || h.Weekday > time.Saturday || h.StartMinute < 0 || h.EndMinute > 1440 || h.StartMinute >= h.EndMinute {
			return fmt.Errorf("hours %s are not a valid range within one day", h)
		}
		if i > 0 && sorted[i-1].Weekday == h.Weekday && sorted[i-1].EndMinute > h.StartMinute {
			return errors.New("hours " + sorted[i-1].String() + " and " + h.String() + " overlap")
		}
	}
	return nil
}
