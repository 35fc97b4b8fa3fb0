package services

import (
	"strings"
	"testing"
	"time"
)

func mustLoadLocation(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return loc
}

func TestFormatMeetingTime(t *testing.T) {
	tests := []struct {
		name      string
		zone      string
		start     string // wall clock in zone
		minutes   int
		want      string
		wantShort string
	}{
		{"St. John's winter", "America/St_Johns", "2026-12-01 09:00", 30,
			"Tue 1 Dec 2026, 9:00-9:30 a.m. Newfoundland Standard Time", "Tue 1 Dec, 9:00 a.m. NST"},
		{"St. John's summer", "America/St_Johns", "2026-07-15 14:30", 30,
			"Wed 15 Jul 2026, 2:30-3:00 p.m. Newfoundland Daylight Time", "Wed 15 Jul, 2:30 p.m. NDT"},
		{"Regina has no DST", "America/Regina", "2026-07-15 10:00", 30,
			"Wed 15 Jul 2026, 10:00-10:30 a.m. Central Standard Time", "Wed 15 Jul, 10:00 a.m. CST"},
		{"Phoenix has no DST", "America/Phoenix", "2026-07-15 16:00", 30,
			"Wed 15 Jul 2026, 4:00-4:30 p.m. Mountain Standard Time", "Wed 15 Jul, 4:00 p.m. MST"},
		{"crossing noon", "America/Toronto", "2026-03-02 11:30", 30,
			"Mon 2 Mar 2026, 11:30 a.m.-12:00 p.m. Eastern Standard Time", "Mon 2 Mar, 11:30 a.m. EST"},
		{"noon is p.m.", "America/Los_Angeles", "2026-06-01 12:00", 30,
			"Mon 1 Jun 2026, 12:00-12:30 p.m. Pacific Daylight Time", "Mon 1 Jun, 12:00 p.m. PDT"},
		{"midnight is a.m.", "America/Adak", "2026-01-15 00:00", 30,
			"Thu 15 Jan 2026, 12:00-12:30 a.m. Hawaii-Aleutian Standard Time", "Thu 15 Jan, 12:00 a.m. HST"},
		{"Adak summer", "America/Adak", "2026-07-15 08:00", 30,
			"Wed 15 Jul 2026, 8:00-8:30 a.m. Hawaii-Aleutian Daylight Time", "Wed 15 Jul, 8:00 a.m. HDT"},
		{"outside North America falls back", "Europe/Berlin", "2026-01-15 09:00", 30,
			"Thu 15 Jan 2026, 9:00-9:30 a.m. CET", "Thu 15 Jan, 9:00 a.m. CET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc := mustLoadLocation(t, tt.zone)
			start, err := time.ParseInLocation("2006-01-02 15:04", tt.start, loc)
			if err != nil {
				t.Fatal(err)
			}
			end := start.Add(time.Duration(tt.minutes) * time.Minute)
			// Callers hold UTC instants; the zone comes only from loc.
			if got := FormatMeetingTime(start.UTC(), end.UTC(), loc); got != tt.want {
				t.Fatalf("FormatMeetingTime = %q, want %q", got, tt.want)
			}
			if got := shortMeetingTime(start.UTC(), loc); got != tt.wantShort {
				t.Fatalf("shortMeetingTime = %q, want %q", got, tt.wantShort)
			}
		})
	}
}

func TestFormatMeetingTimeNamesEveryServedZone(t *testing.T) {
	days := []time.Time{
		time.Date(2026, 1, 15, 17, 0, 0, 0, time.UTC),
		time.Date(2026, 7, 15, 17, 0, 0, 0, time.UTC),
	}
	for _, region := range []string{RegionCanada, RegionUSA} {
		zones := ZonesFor(region)
		if len(zones) == 0 {
			t.Fatalf("no zones for %s", region)
		}
		for _, z := range zones {
			loc := mustLoadLocation(t, z.ID)
			for _, day := range days {
				got := FormatMeetingTime(day, day.Add(30*time.Minute), loc)
				if !strings.HasSuffix(got, " Time") {
					t.Errorf("%s on %s: %q ends in a raw abbreviation (%s)", z.ID, day.Format("2006-01-02"), got, day.In(loc).Format("MST"))
				}
			}
		}
	}
}

func TestFormatMeetingTimeNilZoneIsUTC(t *testing.T) {
	start := time.Date(2026, 12, 1, 13, 0, 0, 0, time.UTC)
	if got, want := FormatMeetingTime(start, start.Add(30*time.Minute), nil), "Tue 1 Dec 2026, 1:00-1:30 p.m. UTC"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
