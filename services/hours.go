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
		spans, err := parseClockRanges(ranges)
		if err != nil {
			return nil, fmt.Errorf("hours %q: %w", spec, err)
		}
		for _, s := range spans {
			for _, d := range weekdays {
				out = append(out, HoursRange{Weekday: d, StartMinute: s[0], EndMinute: s[1]})
			}
		}
	}
	if err := validateHours(out); err != nil {
		return nil, err
	}
	return out, nil
}

// ParseDayHours reads one weekday's ranges as a person types them, such as
// "09:00-12:00, 13:00-17:00" (en dashes and spaces allowed); an empty text
// is a day off. The error says what is wrong in words fit for a form.
func ParseDayHours(day time.Weekday, text string) ([]HoursRange, error) {
	if len(text) > 300 {
		return nil, errors.New("that is too long for one day's hours")
	}
	spans, err := parseClockRanges(text)
	if err != nil {
		return nil, err
	}
	out := make([]HoursRange, 0, len(spans))
	for _, s := range spans {
		out = append(out, HoursRange{Weekday: day, StartMinute: s[0], EndMinute: s[1]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].StartMinute < out[j].StartMinute })
	for i := 1; i < len(out); i++ {
		if out[i-1].EndMinute > out[i].StartMinute {
			return nil, fmt.Errorf("%s and %s overlap: join them into one range or move one", out[i-1].clockRange(), out[i].clockRange())
		}
	}
	return out, nil
}

// FormatDayHours writes one day's ranges the way ParseDayHours reads them.
func FormatDayHours(hours []HoursRange) string {
	parts := make([]string, 0, len(hours))
	for _, h := range hours {
		parts = append(parts, h.clockRange())
	}
	return strings.Join(parts, ", ")
}

// FormatWeeklyHours writes a week as specs ParseWeeklyHours reads, one day
// per spec, Monday first, e.g. "mon 09:00-12:00,13:00-17:00; tue 09:00-17:00";
// "none" for an empty week.
func FormatWeeklyHours(hours []HoursRange) string {
	var days []string
	for _, d := range WeekdaysFromMonday {
		var ranges []string
		for _, h := range hours {
			if h.Weekday == d {
				ranges = append(ranges, h.clockRange())
			}
		}
		if len(ranges) > 0 {
			sort.Strings(ranges)
			days = append(days, WeekdayKey(d)+" "+strings.Join(ranges, ","))
		}
	}
	if len(days) == 0 {
		return "none"
	}
	return strings.Join(days, "; ")
}

// WeekdaysFromMonday is the order of the working week on pages.
var WeekdaysFromMonday = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday}

// WeekdayKey is the short name of a weekday as specs and forms spell it: "mon".
func WeekdayKey(d time.Weekday) string { return strings.ToLower(d.String()[:3]) }

func (h HoursRange) clockRange() string { return clock(h.StartMinute) + "-" + clock(h.EndMinute) }

// dashes people type between two times, read as a hyphen.
var dashes = strings.NewReplacer("\u2013", "-", "\u2014", "-", "\u2212", "-")

// parseClockRanges reads comma-separated HH:MM-HH:MM ranges; empty pieces
// (a trailing comma) are skipped.
func parseClockRanges(text string) ([][2]int, error) {
	var out [][2]int
	for _, r := range strings.Split(dashes.Replace(text), ",") {
		r = strings.TrimSpace(r)
		if r == "" {
			continue
		}
		start, end, err := parseClockRange(r)
		if err != nil {
			return nil, err
		}
		out = append(out, [2]int{start, end})
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
		return 0, 0, fmt.Errorf("%q is not a range: write it as 09:00-17:00", s)
	}
	start, errStart := parseClock(strings.TrimSpace(a))
	end, errEnd := parseClock(strings.TrimSpace(b))
	if errStart != nil || errEnd != nil {
		return 0, 0, fmt.Errorf("%q: write each time as HH:MM on a 24-hour clock (00:00 to 24:00), such as 09:00-17:00", s)
	}
	if end <= start {
		return 0, 0, fmt.Errorf("%q ends before it starts (a range cannot cross midnight: end it at 24:00 and go on the next day)", s)
	}
	return start, end, nil
}

func parseClock(s string) (int, error) {
	if s == "24:00" {
		return 1440, nil
	}
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a time: use HH:MM on a 24-hour clock, from 00:00 to 24:00", s)
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
