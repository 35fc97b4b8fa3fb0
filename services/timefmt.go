package services

import "time"

// meetingZoneNames spells out the abbreviations Go's tzdata gives every
// Canadian and US zone; people misread "CST" or "HST", not the full name.
var meetingZoneNames = map[string]string{
	"NST":  "Newfoundland Standard Time",
	"NDT":  "Newfoundland Daylight Time",
	"AST":  "Atlantic Standard Time",
	"ADT":  "Atlantic Daylight Time",
	"EST":  "Eastern Standard Time",
	"EDT":  "Eastern Daylight Time",
	"CST":  "Central Standard Time",
	"CDT":  "Central Daylight Time",
	"MST":  "Mountain Standard Time",
	"MDT":  "Mountain Daylight Time",
	"PST":  "Pacific Standard Time",
	"PDT":  "Pacific Daylight Time",
	"AKST": "Alaska Standard Time",
	"AKDT": "Alaska Daylight Time",
	"HST":  "Hawaii-Aleutian Standard Time",
	"HDT":  "Hawaii-Aleutian Daylight Time",
}

// FormatMeetingTime renders a meeting for people, in loc, e.g.
// "Tue 1 Dec 2026, 9:00-9:30 a.m. Newfoundland Standard Time".
func FormatMeetingTime(start, end time.Time, loc *time.Location) string {
	s, e := meetingLocal(start, loc), meetingLocal(end, loc)
	return s.Format("Mon 2 Jan 2006") + ", " + meetingClockRange(s, e) + " " + meetingZoneName(s)
}

// shortMeetingTime is the start alone, for subject lines, e.g.
// "Tue 1 Dec, 9:00 a.m. NST".
func shortMeetingTime(start time.Time, loc *time.Location) string {
	s := meetingLocal(start, loc)
	return s.Format("Mon 2 Jan, 3:04 ") + meetingMeridiem(s) + " " + s.Format("MST")
}

// FormatShortTime is a start for lists, e.g. "Tue 1 Dec, 9:00 a.m. NST".
func FormatShortTime(start time.Time, loc *time.Location) string { return shortMeetingTime(start, loc) }

// meetingLocal treats a nil zone as UTC rather than panicking in time.In.
func meetingLocal(t time.Time, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc)
}

// meetingClockRange names the half of the day once when both ends share it.
func meetingClockRange(s, e time.Time) string {
	if meetingMeridiem(s) == meetingMeridiem(e) {
		return s.Format("3:04") + "-" + e.Format("3:04") + " " + meetingMeridiem(e)
	}
	return s.Format("3:04") + " " + meetingMeridiem(s) + "-" + e.Format("3:04") + " " + meetingMeridiem(e)
}

func meetingMeridiem(t time.Time) string {
	if t.Hour() < 12 {
		return "a.m."
	}
	return "p.m."
}

// meetingZoneName names the zone in force at t, falling back to Go's
// abbreviation for zones outside North America.
func meetingZoneName(t time.Time) string {
	abbr := t.Format("MST")
	if name, ok := meetingZoneNames[abbr]; ok {
		return name
	}
	return abbr
}
