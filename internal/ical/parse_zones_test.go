package ical

import (
	"strings"
	"testing"
	"time"

	goical "github.com/emersion/go-ical"
)

func TestWindowsZoneNames(t *testing.T) {
	for name, want := range map[string]string{
		"Eastern Standard Time":                  "America/New_York",
		"Central Standard Time":                  "America/Chicago",
		"Mountain Standard Time":                 "America/Denver",
		"US Mountain Standard Time":              "America/Phoenix",
		"Pacific Standard Time":                  "America/Los_Angeles",
		"Atlantic Standard Time":                 "America/Halifax",
		"Newfoundland Standard Time":             "America/St_Johns",
		"Canada Central Standard Time":           "America/Regina",
		"Alaskan Standard Time":                  "America/Anchorage",
		"Hawaiian Standard Time":                 "Pacific/Honolulu",
		"GMT Standard Time":                      "Europe/London",
		"W. Europe Standard Time":                "Europe/Berlin",
		"Romance Standard Time":                  "Europe/Paris",
		"India Standard Time":                    "Asia/Kolkata",
		"China Standard Time":                    "Asia/Shanghai",
		"Tokyo Standard Time":                    "Asia/Tokyo",
		"AUS Eastern Standard Time":              "Australia/Sydney",
		"UTC":                                    "Etc/UTC",
		" Eastern Standard Time ":                "America/New_York",
		"(UTC-05:00) Eastern Time (US & Canada)": "America/New_York",
		"(UTC-03:30) Newfoundland":               "America/St_Johns",
		"Eastern Time":                           "",
		"America/New_York":                       "",
	} {
		if got := WindowsZone(name); got != want {
			t.Errorf("WindowsZone(%q) = %q, want %q", name, got, want)
		}
	}
	// Every entry must name a zone the database has, or it would silently
	// fall back to the consultant's zone.
	for _, table := range []map[string]string{windowsZones, windowsDisplayNames} {
		for name, zone := range table {
			if loadIANA(zone) == nil {
				t.Errorf("%q maps to %q, which does not load", name, zone)
			}
		}
	}
	if len(windowsZones) < 130 {
		t.Errorf("only %d Windows zone names", len(windowsZones))
	}
}

func TestTZIDsResolveInOrder(t *testing.T) {
	halifax := busyZone(t, "America/Halifax")
	z := newZoneResolver(halifax, busyFrom, nil)
	for tzid, want := range map[string]string{
		"America/Toronto":                                 "America/Toronto",
		`"Europe/Paris"`:                                  "Europe/Paris",
		"Eastern Standard Time":                           "America/New_York",
		"/mozilla.org/20050126_1/America/Vancouver":       "America/Vancouver",
		"/softwarestudio.org/Olson_20011030_5/Asia/Tokyo": "Asia/Tokyo",
		"Local":                   "America/Halifax",
		"../../etc/passwd":        "America/Halifax",
		"Somewhere Standard Time": "America/Halifax",
	} {
		if got := z.location(tzid).String(); got != want {
			t.Errorf("TZID %q = %s, want %s", tzid, got, want)
		}
	}
	if len(z.unknown) != 3 {
		t.Errorf("unknown zones noted: %v", z.unknown)
	}
}

// vtimezone builds a VTIMEZONE component from its observances.
func busyVTimezone(t *testing.T, body string) *goical.Component {
	t.Helper()
	cals, err := decodeBusyCalendars([]byte(busyCalendarText("BEGIN:VTIMEZONE\r\nTZID:Custom\r\n" + body + "\r\nEND:VTIMEZONE")))
	if err != nil {
		t.Fatal(err)
	}
	return cals[0].Children[0]
}

// A VTIMEZONE's own rules give the same offsets as the zone database for
// every hour of 2026-2028, in both hemispheres and without DST.
func TestVTimezoneRulesMatchTheDatabase(t *testing.T) {
	for zone, body := range map[string]string{
		"America/New_York": strings.TrimPrefix(strings.TrimSuffix(busyOutlookEastern, "\r\nEND:VTIMEZONE"), "BEGIN:VTIMEZONE\r\nTZID:Eastern Standard Time\r\n"),
		"America/St_Johns": "BEGIN:STANDARD\r\nDTSTART:19671029T020000\r\nTZOFFSETFROM:-0230\r\nTZOFFSETTO:-0330\r\nRRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU\r\nEND:STANDARD\r\n" +
			"BEGIN:DAYLIGHT\r\nDTSTART:19870405T020000\r\nTZOFFSETFROM:-0330\r\nTZOFFSETTO:-0230\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU\r\nEND:DAYLIGHT",
		"Europe/Paris": "BEGIN:DAYLIGHT\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nDTSTART:19810329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\n" +
			"BEGIN:STANDARD\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nDTSTART:19961027T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD",
		"Australia/Sydney": "BEGIN:STANDARD\r\nDTSTART:20080406T030000\r\nTZOFFSETFROM:+1100\r\nTZOFFSETTO:+1000\r\nRRULE:FREQ=YEARLY;BYMONTH=4;BYDAY=1SU\r\nEND:STANDARD\r\n" +
			"BEGIN:DAYLIGHT\r\nDTSTART:20081005T020000\r\nTZOFFSETFROM:+1000\r\nTZOFFSETTO:+1100\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=1SU\r\nEND:DAYLIGHT",
		// Old-style rule, the second Sunday as BYMONTHDAY, with an older
		// observance that must not win.
		"America/Chicago": "BEGIN:DAYLIGHT\r\nDTSTART:19870405T020000\r\nTZOFFSETFROM:-0600\r\nTZOFFSETTO:-0500\r\nRRULE:FREQ=YEARLY;BYMONTH=4;BYDAY=1SU;UNTIL=20060402T080000Z\r\nEND:DAYLIGHT\r\n" +
			"BEGIN:DAYLIGHT\r\nDTSTART:20070311T020000\r\nTZOFFSETFROM:-0600\r\nTZOFFSETTO:-0500\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=8,9,10,11,12,13,14;BYDAY=SU\r\nEND:DAYLIGHT\r\n" +
			"BEGIN:STANDARD\r\nDTSTART:20071104T020000\r\nTZOFFSETFROM:-0500\r\nTZOFFSETTO:-0600\r\nRRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU\r\nEND:STANDARD",
		"Asia/Kolkata": "BEGIN:STANDARD\r\nDTSTART:19700101T000000\r\nTZOFFSETFROM:+0530\r\nTZOFFSETTO:+0530\r\nEND:STANDARD",
	} {
		want := busyZone(t, zone)
		got := locationFromVTimezone("Custom", busyVTimezone(t, body), busyFrom)
		if got == nil {
			t.Errorf("%s: no location", zone)
			continue
		}
		for at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC); at.Year() < 2029; at = at.Add(time.Hour) {
			_, g := at.In(got).Zone()
			_, w := at.In(want).Zone()
			if g != w {
				t.Errorf("%s at %s: offset %d, want %d", zone, at.Format(time.RFC3339), g, w)
				break
			}
		}
	}
}
