package services

import (
	"fmt"
	"testing"
	"time"
)

func everyDay(start, end int) []HoursRange {
	var out []HoursRange
	for d := time.Sunday; d <= time.Saturday; d++ {
		out = append(out, HoursRange{Weekday: d, StartMinute: start, EndMinute: end})
	}
	return out
}

func allZones(t *testing.T) []*time.Location {
	t.Helper()
	var out []*time.Location
	for _, region := range Regions() {
		for _, z := range ZonesFor(region) {
			loc, err := time.LoadLocation(z.ID)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, loc)
		}
	}
	return out
}

// oracleCount counts real half hours that start on the local :00/:30 grid
// on local date day and end by local 06:00 of that date, by walking UTC.
func oracleCount(loc *time.Location, day time.Time) int {
	n := 0
	for t := day.Add(-36 * time.Hour); t.Before(day.Add(48 * time.Hour)); t = t.Add(30 * time.Minute) {
		start, end := t.In(loc), t.Add(30*time.Minute).In(loc)
		if start.Format(time.DateOnly) != day.Format(time.DateOnly) || (start.Minute() != 0 && start.Minute() != 30) {
			continue
		}
		if end.Format(time.DateOnly) == day.Format(time.DateOnly) && end.Hour()*60+end.Minute() <= 360 {
			n++
		}
	}
	return n
}

// Every Canadian and US zone, every date of 2026-2028: a consultant working
// 00:00-06:00 daily gets one slot per real half hour of that span.
func TestSlotsMatchRealTimeEveryZoneEveryDay(t *testing.T) {
	for _, loc := range allZones(t) {
		t.Run(loc.String(), func(t *testing.T) {
			s := schedule{Loc: loc, Hours: everyDay(0, 360)}
			from := time.Date(2026, 1, 1, 0, 0, 0, 0, loc)
			to := time.Date(2029, 1, 1, 0, 0, 0, 0, loc)
			perDay := map[string][]time.Time{}
			for _, st := range s.slotStarts(from, to, 0) {
				local := st.In(loc)
				if m := local.Minute(); (m != 0 && m != 30) || local.Second() != 0 {
					t.Fatalf("slot %v is off the local grid", local)
				}
				key := local.Format(time.DateOnly)
				perDay[key] = append(perDay[key], st)
			}
			short, long := 0, 0
			for d := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() < 2029; d = d.AddDate(0, 0, 1) {
				got, want := len(perDay[d.Format(time.DateOnly)]), oracleCount(loc, d)
				if got != want {
					t.Fatalf("%s: %d slots, want %d", d.Format(time.DateOnly), got, want)
				}
				switch {
				case got < 12:
					short++
				case got > 12:
					long++
				}
				seen := map[int64]bool{}
				for _, st := range perDay[d.Format(time.DateOnly)] {
					if seen[st.Unix()] {
						t.Fatalf("%s: slot %v offered twice", d.Format(time.DateOnly), st)
					}
					seen[st.Unix()] = true
				}
			}
			_, winterOffset := time.Date(2026, 1, 15, 12, 0, 0, 0, loc).Zone()
			_, summerOffset := time.Date(2026, 7, 15, 12, 0, 0, 0, loc).Zone()
			observesDST := winterOffset != summerOffset
			if observesDST && (short != 3 || long != 3) {
				t.Fatalf("%d short and %d long days in 2026-2028, want 3 of each (one per DST change a year)", short, long)
			}
			if !observesDST && (short != 0 || long != 0) {
				t.Fatalf("zone without DST has %d short and %d long days", short, long)
			}
		})
	}
}

// minuteOracle counts grid half hours on local date day all of whose
// minutes show a wall time in [startMin, endMin) on that date, walking real
// minutes: an independent reading of "working hours" for boundaries that
// fall in a spring-forward gap.
func minuteOracle(loc *time.Location, day time.Time, startMin, endMin int) int {
	working := func(t time.Time) bool {
		l := t.In(loc)
		m := l.Hour()*60 + l.Minute()
		return l.Format(time.DateOnly) == day.Format(time.DateOnly) && m >= startMin && m < endMin
	}
	n := 0
	for t := day.Add(-36 * time.Hour); t.Before(day.Add(48 * time.Hour)); t = t.Add(30 * time.Minute) {
		if m := t.In(loc).Minute(); m != 0 && m != 30 {
			continue
		}
		ok := true
		for i := 0; i < 30 && ok; i++ {
			ok = working(t.Add(time.Duration(i) * time.Minute))
		}
		if ok {
			n++
		}
	}
	return n
}

// Shifts that start or end inside the spring-forward gap, on every such day
// of 2026-2028 in every zone, agree with the minute-by-minute oracle.
func TestSlotsWithBoundariesInTheGap(t *testing.T) {
	ranges := [][2]int{{0, 150}, {120, 360}, {90, 210}, {150, 180}}
	for _, loc := range allZones(t) {
		var changeDays []time.Time
		for d := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() < 2029; d = d.AddDate(0, 0, 1) {
			// Spring-forward days, and the day after; on fall-back nights a
			// shift is continuous through the repeated hour, which this
			// minute-by-minute reading does not model.
			if oracleCount(loc, d) < 12 {
				changeDays = append(changeDays, d, d.AddDate(0, 0, 1))
			}
		}
		for _, d := range changeDays {
			from := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc)
			for _, r := range ranges {
				s := schedule{Loc: loc, Hours: everyDay(r[0], r[1])}
				got := len(s.slotStarts(from, from.AddDate(0, 0, 1), 0))
				if want := minuteOracle(loc, d, r[0], r[1]); got != want {
					t.Fatalf("%s %s hours %s-%s: %d slots, want %d", loc, d.Format(time.DateOnly), clock(r[0]), clock(r[1]), got, want)
				}
			}
		}
	}
}

func localTimes(slots []time.Time, loc *time.Location) []string {
	var out []string
	for _, s := range slots {
		out = append(out, s.In(loc).Format("15:04-07:00"))
	}
	return out
}

// A shift through the repeated hour of a fall-back night is continuous: it
// starts at the first 01:30 and ends when the clock reads 03:30.
func TestShiftThroughRepeatedHour(t *testing.T) {
	loc, _ := time.LoadLocation("America/St_Johns")
	d := time.Date(2026, 11, 1, 0, 0, 0, 0, loc)
	s := schedule{Loc: loc, Hours: everyDay(90, 210)}
	got := fmt.Sprint(localTimes(s.slotStarts(d, d.AddDate(0, 0, 1), 0), loc))
	if want := "[01:30-02:30 01:00-03:30 01:30-03:30 02:00-03:30 02:30-03:30 03:00-03:30]"; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestSlotsOnDSTDays(t *testing.T) {
	toronto, _ := time.LoadLocation("America/Toronto")
	stJohns, _ := time.LoadLocation("America/St_Johns")
	regina, _ := time.LoadLocation("America/Regina")
	phoenix, _ := time.LoadLocation("America/Phoenix")
	tests := []struct {
		name string
		loc  *time.Location
		day  string
		want string
	}{
		{"Toronto spring forward", toronto, "2026-03-08",
			"[00:00-05:00 00:30-05:00 01:00-05:00 01:30-05:00 03:00-04:00 03:30-04:00 04:00-04:00 04:30-04:00 05:00-04:00 05:30-04:00]"},
		{"Toronto fall back", toronto, "2026-11-01",
			"[00:00-04:00 00:30-04:00 01:00-04:00 01:30-04:00 01:00-05:00 01:30-05:00 02:00-05:00 02:30-05:00 03:00-05:00 03:30-05:00 04:00-05:00 04:30-05:00 05:00-05:00 05:30-05:00]"},
		{"St. John's spring forward", stJohns, "2026-03-08",
			"[00:00-03:30 00:30-03:30 01:00-03:30 01:30-03:30 03:00-02:30 03:30-02:30 04:00-02:30 04:30-02:30 05:00-02:30 05:30-02:30]"},
		{"Regina has no DST", regina, "2026-03-08",
			"[00:00-06:00 00:30-06:00 01:00-06:00 01:30-06:00 02:00-06:00 02:30-06:00 03:00-06:00 03:30-06:00 04:00-06:00 04:30-06:00 05:00-06:00 05:30-06:00]"},
		{"Phoenix has no DST", phoenix, "2026-11-01",
			"[00:00-07:00 00:30-07:00 01:00-07:00 01:30-07:00 02:00-07:00 02:30-07:00 03:00-07:00 03:30-07:00 04:00-07:00 04:30-07:00 05:00-07:00 05:30-07:00]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, _ := time.ParseInLocation(time.DateOnly, tt.day, tt.loc)
			s := schedule{Loc: tt.loc, Hours: everyDay(0, 360)}
			got := fmt.Sprint(localTimes(s.slotStarts(d, d.AddDate(0, 0, 1), 0), tt.loc))
			if got != tt.want {
				t.Fatalf("slots\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestSlotsRespectBusyAndBuffer(t *testing.T) {
	loc, _ := time.LoadLocation("America/Halifax")
	day := time.Date(2026, 12, 1, 0, 0, 0, 0, loc) // a Tuesday
	at := func(h, m int) time.Time { return time.Date(2026, 12, 1, h, m, 0, 0, loc) }
	meeting := interval{at(10, 0), at(10, 30)}
	tests := []struct {
		name   string
		buffer time.Duration
		busy   []interval
		want   string
	}{
		{"free morning", 0, nil, "[09:00-04:00 09:30-04:00 10:00-04:00 10:30-04:00 11:00-04:00 11:30-04:00]"},
		{"meeting, no buffer", 0, []interval{meeting}, "[09:00-04:00 09:30-04:00 10:30-04:00 11:00-04:00 11:30-04:00]"},
		{"meeting with 15 min buffer", 15 * time.Minute, []interval{{meeting.Start, meeting.End.Add(15 * time.Minute)}},
			"[09:00-04:00 11:00-04:00 11:30-04:00]"},
		{"time off until 11:15", 0, []interval{{at(0, 0), at(11, 15)}}, "[11:30-04:00]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := schedule{Loc: loc, Hours: []HoursRange{{Weekday: time.Tuesday, StartMinute: 9 * 60, EndMinute: 12 * 60}}, Busy: tt.busy}
			if got := fmt.Sprint(localTimes(s.slotStarts(day, day.Add(24*time.Hour), tt.buffer), loc)); got != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestWorksAt(t *testing.T) {
	loc, _ := time.LoadLocation("America/St_Johns")
	s := schedule{Loc: loc, Hours: []HoursRange{{Weekday: time.Tuesday, StartMinute: 9 * 60, EndMinute: 17 * 60}}}
	tests := []struct {
		start time.Time
		want  bool
	}{
		{time.Date(2026, 12, 1, 9, 0, 0, 0, loc), true},
		{time.Date(2026, 12, 1, 16, 30, 0, 0, loc), true},
		{time.Date(2026, 12, 1, 17, 0, 0, 0, loc), false},
		{time.Date(2026, 12, 1, 9, 15, 0, 0, loc), false},
		{time.Date(2026, 12, 1, 8, 30, 0, 0, loc), false},
		{time.Date(2026, 12, 2, 9, 0, 0, 0, loc), false},
		{time.Date(2026, 12, 1, 12, 30, 0, 0, time.UTC), true}, // 09:00 NST
	}
	for _, tt := range tests {
		if got := s.worksAt(tt.start); got != tt.want {
			t.Errorf("worksAt(%v) = %v, want %v", tt.start.In(loc), got, tt.want)
		}
	}
}
