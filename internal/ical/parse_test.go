package ical

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// The window of these tests: March 2026, when North America springs
// forward (Sunday 8 March) and Europe follows (Sunday 29 March).
var (
	busyFrom = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	busyTo   = time.Date(2026, 4, 6, 0, 0, 0, 0, time.UTC)
)

func busyZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// calendar wraps events in a VCALENDAR with CRLF line ends.
func busyCalendarText(parts ...string) string {
	return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n" + strings.Join(parts, "\r\n") + "\r\nEND:VCALENDAR\r\n"
}

func busyEventText(lines ...string) string {
	return "BEGIN:VEVENT\r\nSUMMARY:Private title\r\nDESCRIPTION:Private notes\r\n" + strings.Join(lines, "\r\n") + "\r\nEND:VEVENT"
}

// spans writes busy spans in UTC as "01-02 15:04/01-02 15:04".
func busySpans(blocks []Busy) []string {
	out := []string{}
	for _, b := range blocks {
		out = append(out, b.Start.UTC().Format("01-02 15:04")+"/"+b.End.UTC().Format("01-02 15:04"))
	}
	return out
}

func parseBusyFor(t *testing.T, ics string, loc *time.Location) BusyResult {
	t.Helper()
	res, err := ParseBusy(strings.NewReader(ics), ParseOptions{From: busyFrom, To: busyTo, Loc: loc})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func assertBusy(t *testing.T, got BusyResult, want ...string) {
	t.Helper()
	if g, w := strings.Join(busySpans(got.Blocks), "\n"), strings.Join(want, "\n"); g != w {
		t.Fatalf("busy spans (UTC):\n%s\nwant:\n%s", g, w)
	}
}

// busyGoogleToronto is a VTIMEZONE as Google Calendar writes it.
const busyGoogleToronto = "BEGIN:VTIMEZONE\r\nTZID:America/Toronto\r\nX-LIC-LOCATION:America/Toronto\r\n" +
	"BEGIN:DAYLIGHT\r\nTZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400\r\nTZNAME:EDT\r\nDTSTART:19700308T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU\r\nEND:DAYLIGHT\r\n" +
	"BEGIN:STANDARD\r\nTZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\nTZNAME:EST\r\nDTSTART:19701101T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU\r\nEND:STANDARD\r\nEND:VTIMEZONE"

// busyOutlookEastern is a VTIMEZONE as Outlook writes it, Windows name and all.
const busyOutlookEastern = "BEGIN:VTIMEZONE\r\nTZID:Eastern Standard Time\r\n" +
	"BEGIN:STANDARD\r\nDTSTART:16010101T020000\r\nTZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\nRRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=1SU;BYMONTH=11\r\nEND:STANDARD\r\n" +
	"BEGIN:DAYLIGHT\r\nDTSTART:16010101T020000\r\nTZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400\r\nRRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=2SU;BYMONTH=3\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE"

func TestWeeklySeriesKeepsItsWallClockAcrossDST(t *testing.T) {
	got := parseBusyFor(t, busyCalendarText(busyGoogleToronto, busyEventText(
		"UID:standup@example.com",
		"DTSTART;TZID=America/Toronto:20260105T100000",
		"DTEND;TZID=America/Toronto:20260105T103000",
		"RRULE:FREQ=WEEKLY;BYDAY=MO",
	)), busyZone(t, "America/Halifax"))
	// 10:00 in Toronto is 15:00 UTC until 8 March, 14:00 after.
	assertBusy(t, got, "03-02 15:00/03-02 15:30", "03-09 14:00/03-09 14:30", "03-16 14:00/03-16 14:30",
		"03-23 14:00/03-23 14:30", "03-30 14:00/03-30 14:30")
}

func TestExceptionsMovesAndCancellations(t *testing.T) {
	got := parseBusyFor(t, busyCalendarText(busyGoogleToronto,
		busyEventText("UID:weekly@example.com",
			"DTSTART;TZID=America/Toronto:20260105T100000", "DURATION:PT1H",
			"RRULE:FREQ=WEEKLY;UNTIL=20260330", // a date UNTIL still includes that day's occurrence
			"EXDATE;TZID=America/Toronto:20260309T100000,20260316T100000"),
		// The 23 March meeting moved to Tuesday afternoon, keeping its hour.
		busyEventText("UID:weekly@example.com", "RECURRENCE-ID;TZID=America/Toronto:20260323T100000",
			"DTSTART;TZID=America/Toronto:20260324T150000"),
		// An extra date, and one occurrence cancelled in its own override.
		busyEventText("UID:weekly@example.com", "RECURRENCE-ID;TZID=America/Toronto:20260302T100000", "STATUS:CANCELLED",
			"DTSTART;TZID=America/Toronto:20260302T100000", "DTEND;TZID=America/Toronto:20260302T110000"),
	), busyZone(t, "America/Halifax"))
	assertBusy(t, got, "03-24 19:00/03-24 20:00", "03-30 14:00/03-30 15:00")
}

func TestRDatesAddOccurrences(t *testing.T) {
	got := parseBusyFor(t, busyCalendarText(busyEventText(
		"UID:r@example.com", "DTSTART:20260302T120000Z", "DTEND:20260302T130000Z",
		"RRULE:FREQ=DAILY;COUNT=2", "RDATE:20260310T120000Z,20260311T120000Z",
		"RDATE;VALUE=PERIOD:20260312T080000Z/PT30M",
	)), time.UTC)
	assertBusy(t, got, "03-02 12:00/03-02 13:00", "03-03 12:00/03-03 13:00", "03-10 12:00/03-10 13:00",
		"03-11 12:00/03-11 13:00", "03-12 08:00/03-12 08:30")
}

func TestOutlookWindowsZoneName(t *testing.T) {
	got := parseBusyFor(t, busyCalendarText(busyOutlookEastern, busyEventText(
		"UID:040000008200E00074C5B7101A82E008",
		"DTSTART;TZID=Eastern Standard Time:20260302T090000",
		"DTEND;TZID=Eastern Standard Time:20260302T100000",
		"RRULE:FREQ=WEEKLY;COUNT=2;BYDAY=MO",
		"X-MICROSOFT-CDO-BUSYSTATUS:BUSY",
	)), busyZone(t, "America/Halifax"))
	assertBusy(t, got, "03-02 14:00/03-02 15:00", "03-09 13:00/03-09 14:00")
	if len(got.Problems) != 0 {
		t.Fatalf("problems: %v", got.Problems)
	}
}

func TestCustomVTimezoneIsObeyed(t *testing.T) {
	// A TZID no database knows, defined only by its VTIMEZONE (US rules).
	tz := strings.ReplaceAll(busyOutlookEastern, "TZID:Eastern Standard Time", "TZID:Customized Time Zone")
	got := parseBusyFor(t, busyCalendarText(tz, busyEventText(
		"UID:c@example.com",
		"DTSTART;TZID=\"Customized Time Zone\":20260306T090000",
		"DTEND;TZID=\"Customized Time Zone\":20260306T100000",
		"RRULE:FREQ=WEEKLY;COUNT=2",
	)), time.UTC)
	assertBusy(t, got, "03-06 14:00/03-06 15:00", "03-13 13:00/03-13 14:00")
}

func TestEventCrossingTheSpringForwardLastsItsRealLength(t *testing.T) {
	// 23:00 EST to 05:00 EDT is five hours, not six.
	got := parseBusyFor(t, busyCalendarText(busyEventText(
		"UID:night@example.com",
		"DTSTART;TZID=America/New_York:20260307T230000",
		"DTEND;TZID=America/New_York:20260308T050000",
	)), time.UTC)
	assertBusy(t, got, "03-08 04:00/03-08 09:00")
}

func TestAllDayEventsFollowTheConsultantsZone(t *testing.T) {
	halifax := busyZone(t, "America/Halifax")
	got := parseBusyFor(t, busyCalendarText(
		busyEventText("UID:a@example.com", "DTSTART;VALUE=DATE:20260306", "DTEND;VALUE=DATE:20260310"),
		busyEventText("UID:b@example.com", "DTSTART;VALUE=DATE:20260320"), // no end: one day
	), halifax)
	// Halifax springs forward on 8 March: midnight is 04:00 UTC before, 03:00 after.
	assertBusy(t, got, "03-06 04:00/03-10 03:00", "03-20 03:00/03-21 03:00")
}

func TestFloatingTimesReadInTheConsultantsZone(t *testing.T) {
	got := parseBusyFor(t, busyCalendarText(busyEventText("UID:f@example.com", "DTSTART:20260320T090000", "DTEND:20260320T093000")), busyZone(t, "America/St_Johns"))
	assertBusy(t, got, "03-20 11:30/03-20 12:00")
}

func TestFreeTimeIsIgnored(t *testing.T) {
	got := parseBusyFor(t, busyCalendarText(
		busyEventText("UID:1", "DTSTART:20260302T120000Z", "DTEND:20260302T130000Z", "TRANSP:TRANSPARENT"),
		busyEventText("UID:2", "DTSTART:20260302T140000Z", "DTEND:20260302T150000Z", "STATUS:CANCELLED"),
		busyEventText("UID:3", "DTSTART:20260302T160000Z", "DTEND:20260302T170000Z", "X-MICROSOFT-CDO-BUSYSTATUS:FREE"),
		busyEventText("UID:4", "DTSTART:20260302T180000Z", "DTEND:20260302T190000Z", "TRANSP:OPAQUE", "STATUS:TENTATIVE"),
		busyEventText("UID:5", "DTSTART:20260302T200000Z"), // no end, no length
		busyEventText("UID:6", "DTSTART:20260302T190000Z", "DTEND:20260302T193000Z"),
	), time.UTC)
	assertBusy(t, got, "03-02 18:00/03-02 19:30")
	if got.Events != 6 {
		t.Fatalf("events read = %d, want 6", got.Events)
	}
}

func TestFreeBusyPeriods(t *testing.T) {
	got := parseBusyFor(t, busyCalendarText("BEGIN:VFREEBUSY\r\nFREEBUSY:20260302T120000Z/20260302T130000Z,20260303T120000Z/PT2H\r\n"+
		"FREEBUSY;FBTYPE=FREE:20260304T120000Z/PT1H\r\nEND:VFREEBUSY"), time.UTC)
	assertBusy(t, got, "03-02 12:00/03-02 13:00", "03-03 12:00/03-03 14:00")
}

func TestSpansAreClippedAndMerged(t *testing.T) {
	got := parseBusyFor(t, busyCalendarText(
		busyEventText("UID:1", "DTSTART:20260201T000000Z", "DTEND:20260302T010000Z"),
		busyEventText("UID:2", "DTSTART:20260305T100000Z", "DTEND:20260305T110000Z"),
		busyEventText("UID:3", "DTSTART:20260305T103000Z", "DTEND:20260305T113000Z"),
		busyEventText("UID:4", "DTSTART:20260305T113000Z", "DTEND:20260305T120000Z"),
		busyEventText("UID:5", "DTSTART:20260405T230000Z", "DTEND:20260406T230000Z"),
	), time.UTC)
	assertBusy(t, got, "03-01 00:00/03-02 01:00", "03-05 10:00/03-05 12:00", "04-05 23:00/04-06 00:00")
}

func TestUnreadableEventsAreCountedNotFatal(t *testing.T) {
	got := parseBusyFor(t, busyCalendarText(
		busyEventText("UID:1", "DTSTART:not-a-date", "DTEND:20260302T130000Z"),
		busyEventText("UID:2", "DTSTART:20260302T120000Z", "DTEND:20260302T130000Z", "RRULE:FREQ=MINUTELY"),
		busyEventText("UID:3", "DTSTART;TZID=Mars/Olympus_Mons:20260302T120000", "DTEND;TZID=Mars/Olympus_Mons:20260302T130000"),
		busyEventText("UID:4", "DTSTART:20260303T120000Z", "DTEND:20260303T130000Z", "RRULE:FREQ=WEEKLY;RSCALE=HEBREW"),
	), time.UTC)
	assertBusy(t, got, "03-02 12:00/03-02 13:00") // the unknown zone, read as UTC here
	if got.Skipped != 3 || strings.Join(got.Problems, "; ") != "3 events could not be read and were left out; 1 time zone not recognised, its times read in your own zone" {
		t.Fatalf("skipped %d, problems %q", got.Skipped, got.Problems)
	}
}

func TestHostileInputIsRefusedCleanly(t *testing.T) {
	for name, ics := range map[string]string{
		"an HTML login page": "<!doctype html><html><body>Sign in</body></html>",
		"empty":              "",
		"unterminated":       "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:20260302T120000Z\r\n",
	} {
		_, err := ParseBusy(strings.NewReader(ics), ParseOptions{From: busyFrom, To: busyTo})
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Message == "" {
			t.Errorf("%s: %v, want a ParseError", name, err)
		}
	}
	// Lines whose parameters go-ical would fail the calendar or panic on are
	// dropped, and their event with them.
	got := parseBusyFor(t, busyCalendarText(
		busyEventText("UID:1", `DTSTART;TZID="Europe/Paris"x:20260302T120000`, "DTEND:20260302T130000Z"),
		busyEventText("UID:2", `DTSTART;TZID:20260302T120000`, "DTEND:20260302T130000Z"),
		busyEventText("UID:3", `DTSTART;TZID="Europe/Paris`, "DTEND:20260302T130000Z"),
		busyEventText("UID:4", "DTSTART:20260303T120000Z", "DTEND:20260303T130000Z"),
	), time.UTC)
	assertBusy(t, got, "03-03 12:00/03-03 13:00")
	if got.Skipped != 3 {
		t.Fatalf("skipped %d events, want 3", got.Skipped)
	}
	// A megabyte-long parameter would take go-ical quadratic time; it is dropped unread.
	huge := busyCalendarText(busyEventText("X-HUGE;X-P="+strings.Repeat("a", 1<<20)+":v", "DTSTART:20260302T120000Z", "DTEND:20260302T130000Z"))
	start := time.Now()
	got = parseBusyFor(t, huge, time.UTC)
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("a huge parameter took %s", took)
	}
	assertBusy(t, got, "03-02 12:00/03-02 13:00")
}

func TestTooManyBusyTimesIsAnError(t *testing.T) {
	ics := busyCalendarText(busyEventText("UID:1", "DTSTART:20260301T000000Z", "DTEND:20260301T000100Z", "RRULE:FREQ=DAILY"))
	_, err := ParseBusy(strings.NewReader(ics), ParseOptions{From: busyFrom, To: busyTo, MaxBlocks: 10})
	var pe *ParseError
	if !errors.As(err, &pe) || !strings.Contains(pe.Message, "more than 10 busy times") {
		t.Fatalf("err = %v", err)
	}
}

func TestExpansionStopsAtItsBudget(t *testing.T) {
	// February 30th never comes, so expanding this walks to year 9999
	// inside one call to the recurrence library, which cannot be stopped.
	impossible := func(uid string) string {
		return busyEventText("UID:"+uid, "DTSTART:20200101T100000Z", "DURATION:PT1H", "RRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30")
	}
	start := time.Now()
	if _, err := ParseBusy(strings.NewReader(busyCalendarText(impossible("one"))), ParseOptions{From: busyFrom, To: busyTo}); err != nil {
		t.Fatal(err)
	}
	one := time.Since(start)
	var events []string
	for i := 0; i < 40; i++ {
		events = append(events, impossible(fmt.Sprint(i)))
	}
	const budget = 200 * time.Millisecond
	start = time.Now()
	_, err := ParseBusy(strings.NewReader(busyCalendarText(events...)), ParseOptions{From: busyFrom, To: busyTo, Budget: budget})
	var pe *ParseError
	if !errors.As(err, &pe) || !strings.Contains(pe.Message, "too many repeating events") {
		t.Fatalf("err = %v", err)
	}
	// The budget is checked between events: at most one runs past it.
	if took := time.Since(start); took > budget+3*one {
		t.Fatalf("a %s budget took %s (one such event takes %s)", budget, took, one)
	}
}

func TestOwnBookingsAreLeftOut(t *testing.T) {
	ics := busyCalendarText(
		busyEventText("UID:booking-1@consultd", "DTSTART:20260310T140000Z", "DTEND:20260310T143000Z"),
		busyEventText("UID:dentist@example.com", "DTSTART:20260311T140000Z", "DTEND:20260311T150000Z"),
	)
	res, err := ParseBusy(strings.NewReader(ics), ParseOptions{From: busyFrom, To: busyTo, Loc: time.UTC,
		OwnUIDs: map[string]bool{"booking-1@consultd": true}})
	if err != nil {
		t.Fatal(err)
	}
	assertBusy(t, res, "03-11 14:00/03-11 15:00")
	if res.Own != 1 || res.Skipped != 0 {
		t.Fatalf("own %d skipped %d, want 1 and 0", res.Own, res.Skipped)
	}
	assertBusy(t, parseBusyFor(t, ics, time.UTC), "03-10 14:00/03-10 14:30", "03-11 14:00/03-11 15:00")
}
