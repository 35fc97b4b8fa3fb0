package main

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// calendarFeed serves one consultant's calendar the way Google or Outlook
// would, with an ETag, and can be made slow; it records the validators sent.
type calendarFeed struct {
	*httptest.Server
	mu          sync.Mutex
	body        string
	delay       time.Duration
	ifNoneMatch []string
}

func newCalendarFeed(t *testing.T, body string) *calendarFeed {
	t.Helper()
	f := &calendarFeed{body: body}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		body, delay := f.body, f.delay
		f.ifNoneMatch = append(f.ifNoneMatch, r.Header.Get("If-None-Match"))
		f.mu.Unlock()
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		sum := sha256.Sum256([]byte(body))
		etag := `"` + hex.EncodeToString(sum[:8]) + `"`
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
		io.WriteString(w, body)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *calendarFeed) set(body string, delay time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.body, f.delay = body, delay
}

func (f *calendarFeed) validators() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.ifNoneMatch...)
}

// Google writes a VTIMEZONE for every zone it uses; Outlook writes Windows
// zone names, with its own VTIMEZONE.
const (
	googleHalifax = "BEGIN:VTIMEZONE\r\nTZID:America/Halifax\r\nX-LIC-LOCATION:America/Halifax\r\n" +
		"BEGIN:DAYLIGHT\r\nTZOFFSETFROM:-0400\r\nTZOFFSETTO:-0300\r\nTZNAME:ADT\r\nDTSTART:19700308T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU\r\nEND:DAYLIGHT\r\n" +
		"BEGIN:STANDARD\r\nTZOFFSETFROM:-0300\r\nTZOFFSETTO:-0400\r\nTZNAME:AST\r\nDTSTART:19701101T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n"
	outlookEasternZone = "BEGIN:VTIMEZONE\r\nTZID:Eastern Standard Time\r\n" +
		"BEGIN:STANDARD\r\nDTSTART:16010101T020000\r\nTZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\nRRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=1SU;BYMONTH=11\r\nEND:STANDARD\r\n" +
		"BEGIN:DAYLIGHT\r\nDTSTART:16010101T020000\r\nTZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400\r\nRRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=2SU;BYMONTH=3\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n"
)

// owenFeed is Owen's own calendar around sat (a Saturday in Halifax):
// weekly events begun weeks before, one skipped that day, one moved, an
// Outlook series in New York begun on the other side of a daylight saving
// change, free and cancelled events, floating and UTC times, and all-day
// events, one of them free.
func owenFeed(t *testing.T, sat time.Time) string {
	halifax, newYork := sat.Location(), mustLoad(t, "America/New_York")
	at := func(day time.Time, hour, minute int, loc *time.Location) string {
		return time.Date(day.Year(), day.Month(), day.Day(), hour, minute, 0, 0, loc).Format("20060102T150405")
	}
	first := sat.AddDate(0, 0, -21)
	outlookFirst := sat.AddDate(0, 0, -7)
	dst := func(d time.Time) bool { return time.Date(d.Year(), d.Month(), d.Day(), 13, 0, 0, 0, newYork).IsDST() }
	for dst(outlookFirst) == dst(sat) {
		outlookFirst = outlookFirst.AddDate(0, 0, -7)
	}
	hfx := func(day time.Time, hour, minute int) string {
		return "TZID=America/Halifax:" + at(day, hour, minute, halifax)
	}
	events := [][]string{
		{"UID:planning", "SUMMARY:Weekly planning", "DTSTART;" + hfx(first, 9, 0), "DTEND;" + hfx(first, 10, 0), "RRULE:FREQ=WEEKLY;BYDAY=SA"},
		{"UID:choir", "SUMMARY:Choir", "DTSTART;" + hfx(first, 11, 0), "DTEND;" + hfx(first, 11, 30), "RRULE:FREQ=WEEKLY;BYDAY=SA",
			"EXDATE;" + hfx(sat, 11, 0)},
		{"UID:mentoring", "SUMMARY:Mentoring", "DTSTART;" + hfx(first, 12, 0), "DTEND;" + hfx(first, 12, 30), "RRULE:FREQ=WEEKLY;BYDAY=SA"},
		{"UID:mentoring", "SUMMARY:Mentoring (moved)", "RECURRENCE-ID;" + hfx(sat, 12, 0), "DTSTART;" + hfx(sat, 15, 0), "DTEND;" + hfx(sat, 15, 30)},
		{"UID:040000008200E00074C5B7101A82E00800000000", "SUMMARY:Board call", "X-MICROSOFT-CDO-BUSYSTATUS:BUSY",
			"DTSTART;TZID=Eastern Standard Time:" + at(outlookFirst, 13, 0, newYork), "DTEND;TZID=Eastern Standard Time:" + at(outlookFirst, 14, 0, newYork),
			"RRULE:FREQ=WEEKLY;INTERVAL=1;BYDAY=SA;WKST=SU"},
		{"UID:free", "SUMMARY:Working from the café", "TRANSP:TRANSPARENT", "DTSTART;" + hfx(sat, 16, 0), "DTEND;" + hfx(sat, 16, 30)},
		{"UID:cancelled", "SUMMARY:Cancelled lunch", "STATUS:CANCELLED", "DTSTART;" + hfx(sat, 16, 30), "DTEND;" + hfx(sat, 17, 0)},
		{"UID:floating", "SUMMARY:Gym", "DTSTART:" + at(sat, 17, 0, halifax), "DTEND:" + at(sat, 17, 30, halifax)},
		{"UID:utc", "SUMMARY:Early call", "DTSTART:" + time.Date(sat.Year(), sat.Month(), sat.Day(), 8, 0, 0, 0, halifax).UTC().Format("20060102T150405Z"),
			"DURATION:PT30M"},
		{"UID:away", "SUMMARY:Away", "DTSTART;VALUE=DATE:" + sat.AddDate(0, 0, 7).Format("20060102"), "DTEND;VALUE=DATE:" + sat.AddDate(0, 0, 8).Format("20060102")},
		{"UID:birthday", "SUMMARY:A birthday", "TRANSP:TRANSPARENT", "DTSTART;VALUE=DATE:" + sat.Format("20060102")},
	}
	var b strings.Builder
	b.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Google Inc//Google Calendar 70.9054//EN\r\nX-WR-TIMEZONE:America/Halifax\r\n")
	b.WriteString(googleHalifax + outlookEasternZone)
	for _, ev := range events {
		b.WriteString("BEGIN:VEVENT\r\n" + strings.Join(ev, "\r\n") + "\r\nEND:VEVENT\r\n")
	}
	b.WriteString("END:VCALENDAR\r\n")
	return b.String()
}

// owenWithSaturdays signs Owen in and gives him Saturdays 08:00-18:00.
func (s staffApp) owenWithSaturdays(t *testing.T) *http.Client {
	t.Helper()
	owen := s.owen(t)
	if resp, _ := send(t, owen, "POST", s.URL+"/me/hours", owenWeek(map[string]string{"sat": "08:00-18:00"}), nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save hours = %d", resp.StatusCode)
	}
	return owen
}

func (s staffApp) saveBusyURL(t *testing.T, c *http.Client, address string) string {
	t.Helper()
	resp, body := send(t, c, "POST", s.URL+"/me/busy", url.Values{"url": {address}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/me?done=busy-saved#busy" {
		t.Fatalf("save busy calendar = %d %s\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	_, page := send(t, c, "GET", s.URL+"/me?done=busy-saved", nil, nil)
	return page
}

func TestBusyCalendarBlocksExactlyTheRightSlots(t *testing.T) {
	s := newStaffApp(t, nil)
	owen := s.owenWithSaturdays(t)
	sat := nextSaturday(mustLoad(t, "America/Halifax"))
	next := sat.AddDate(0, 0, 7)
	all := "08:00 08:30 09:00 09:30 10:00 10:30 11:00 11:30 12:00 12:30 13:00 13:30 14:00 14:30 15:00 15:30 16:00 16:30 17:00 17:30"
	if got := strings.Join(s.slotStarts(t, sat), " "); got != all {
		t.Fatalf("Saturday slots before = %q", got)
	}
	feed := newCalendarFeed(t, owenFeed(t, sat))
	page := s.saveBusyURL(t, owen, feed.URL+"/calendar/ical/owen%40example.com/private-8f3a/basic.ics")
	for _, want := range []string{"Read just now. Its busy times block your slots.", "Up to date", feed.URL + "/…/basic.ics", "Refresh now", "Remove"} {
		if !strings.Contains(page, want) {
			t.Errorf("the portal after saving lacks %q", want)
		}
	}
	if strings.Contains(page, "private-8f3a") {
		t.Error("the portal shows the secret part of the address")
	}
	// Planning 09:00-10:00, the UTC call 08:00, the Outlook board call at
	// 13:00 in New York (14:00 here, whichever side of DST it began), the
	// moved mentoring at 15:00 and the floating gym at 17:00 are busy; the
	// skipped choir, the mentoring's usual 12:00, the free, cancelled and
	// birthday events are not.
	if got, want := strings.Join(s.slotStarts(t, sat), " "), "08:30 10:00 10:30 11:00 11:30 12:00 12:30 13:00 13:30 15:30 16:00 16:30 17:30"; got != want {
		t.Fatalf("Saturday slots with the busy calendar:\n got %q\nwant %q", got, want)
	}
	if got := s.slotStarts(t, next); len(got) != 0 {
		t.Fatalf("slots on the all-day event's Saturday = %v", got)
	}
	// The booking API refuses a busy start as taken, and books a free one.
	_, a := postJSON(t, s.URL+"/api/v1/assessments", map[string]any{"answers": chatAppAnswers})
	resp, lead := postJSON(t, s.URL+"/api/v1/leads", map[string]any{
		"assessment_id": a["id"], "name": "Pat Busy", "email": "pat@busy.example.com", "company": "Busy Ltd",
		"region": "canada", "timezone": "America/Halifax", "consent": true,
	})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("lead = %d", resp.StatusCode)
	}
	if resp, out := postJSON(t, s.URL+"/api/v1/bookings", map[string]any{"lead_id": lead["id"], "start": sat.Add(14 * time.Hour).Format(time.RFC3339)}); resp.StatusCode != http.StatusConflict || out["error"] != "slot_taken" {
		t.Fatalf("booking the Outlook call's 14:00 = %d %v, want 409 slot_taken", resp.StatusCode, out["error"])
	}
	if resp, _ := postJSON(t, s.URL+"/api/v1/bookings", map[string]any{"lead_id": lead["id"], "start": sat.Add(12 * time.Hour).Format(time.RFC3339)}); resp.StatusCode != http.StatusCreated {
		t.Fatalf("booking the moved mentoring's usual 12:00 = %d, want 201", resp.StatusCode)
	}
	var titles int
	s.db.Get(&titles, `SELECT count(*) FROM busy_calendars WHERE problems <> '' OR url_hint LIKE '%private%'`)
	if titles != 0 {
		t.Fatal("the stored calendar carries event text or the secret address")
	}
}

func TestBusyCalendarOutageKeepsBlocksAndSaysHowStale(t *testing.T) {
	s := newStaffApp(t, map[string]string{"BUSY_FETCH_TIMEOUT": "3s"})
	owen := s.owenWithSaturdays(t)
	sat := nextSaturday(mustLoad(t, "America/Halifax"))
	feed := newCalendarFeed(t, owenFeed(t, sat))
	s.saveBusyURL(t, owen, feed.URL+"/owen.ics")
	blocked := "08:30 10:00 10:30 11:00 11:30 12:00 12:30 13:00 13:30 15:30 16:00 16:30 17:30"
	if got := strings.Join(s.slotStarts(t, sat), " "); got != blocked {
		t.Fatalf("slots = %q", got)
	}
	var calID int64
	s.db.Get(&calID, `SELECT id FROM busy_calendars`)

	// Refreshing sends the validators; the calendar has not changed (304).
	s.exec(t, `UPDATE busy_calendars SET last_attempt_at = now() - interval '1 minute'`)
	resp, _ := send(t, owen, "POST", s.URL+"/me/busy/refresh", url.Values{}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/me?done=busy-refreshed#busy" {
		t.Fatalf("refresh = %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if v := feed.validators(); len(v) != 2 || v[0] != "" || v[1] == "" {
		t.Fatalf("If-None-Match sent: %q, want none and then the ETag", v)
	}
	if _, page := send(t, owen, "GET", s.URL+"/me?done=busy-refreshed", nil, nil); !strings.Contains(page, "nothing has changed since the last time") {
		t.Fatal("the portal does not say the calendar was unchanged")
	}
	if got := strings.Join(s.slotStarts(t, sat), " "); got != blocked {
		t.Fatalf("slots after a 304 = %q", got)
	}

	// Three hours and three failures later, the calendar server hangs.
	feed.set(owenFeed(t, sat), 20*time.Second)
	s.exec(t, `UPDATE busy_calendars SET last_attempt_at = now() - interval '1 minute', last_success_at = now() - interval '3 hours 5 minutes',
		failures = 3, last_outcome = 'failed', last_error = 'timed out after 3 seconds'`)
	start := time.Now()
	resp, _ = send(t, owen, "POST", s.URL+"/me/busy/refresh", url.Values{}, nil)
	if took := time.Since(start); resp.StatusCode != http.StatusSeeOther || took > 10*time.Second {
		t.Fatalf("refresh of a hanging calendar = %d after %s", resp.StatusCode, took)
	}
	if got := strings.Join(s.slotStarts(t, sat), " "); got != blocked {
		t.Fatalf("slots after a timeout = %q, want the last good blocks kept", got)
	}
	_, page := send(t, owen, "GET", s.URL+"/me?done=busy-refreshed", nil, nil)
	for _, want := range []string{"The calendar could not be read: timed out after 3 seconds.", "Not updating",
		"Last updated 3 hours ago; the last 4 attempts failed: timed out after 3 seconds.", "busy times read then still block slots."} {
		if !strings.Contains(page, want) {
			t.Errorf("the portal lacks %q", want)
		}
	}
	// Staff see the same, the calendar first in the list.
	sales := browser(t)
	s.signIn(t, sales, "sales@consult.example")
	resp, page = send(t, sales, "GET", s.URL+"/admin/calendars", nil, nil)
	for _, want := range []string{"Owen MacLeod", "Not updating", "the last 4 attempts failed: timed out after 3 seconds", "1 needs attention", feed.URL + "/…/owen.ics"} {
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, want) {
			t.Errorf("/admin/calendars = %d, lacks %q", resp.StatusCode, want)
		}
	}
	// Once the server answers again, an admin's refresh brings it up to date.
	feed.set(owenFeed(t, sat), 0)
	s.exec(t, `UPDATE busy_calendars SET last_attempt_at = now() - interval '1 minute'`)
	resp, _ = send(t, sales, "POST", s.URL+"/admin/calendars/"+strconv.FormatInt(calID, 10)+"/refresh", url.Values{}, nil)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/admin/calendars?done=refreshed") {
		t.Fatalf("admin refresh = %d %s", resp.StatusCode, loc)
	}
	if _, page = send(t, sales, "GET", s.URL+"/admin/calendars", nil, nil); !strings.Contains(page, "Up to date") || strings.Contains(page, "needs attention") {
		t.Fatal("the admin page does not show the calendar back up to date")
	}
	// Right after a read, another is refused with the reason.
	if resp, page := send(t, sales, "POST", s.URL+"/admin/calendars/"+strconv.FormatInt(calID, 10)+"/refresh", url.Values{}, nil); resp.StatusCode != http.StatusConflict || !strings.Contains(page, "read moments ago") {
		t.Fatalf("an immediate second refresh = %d", resp.StatusCode)
	}
}

func TestBusyCalendarRefusedDownloads(t *testing.T) {
	s := newStaffApp(t, nil)
	owen := s.owenWithSaturdays(t)
	huge := "BEGIN:VCALENDAR\r\n" + strings.Repeat("X-FILLER:"+strings.Repeat("x", 990)+"\r\n", 6<<10) + "END:VCALENDAR\r\n"
	for name, tc := range map[string]struct {
		body string
		want string
	}{
		"6 MB":         {huge, "Saved, but the calendar could not be read: the calendar is larger than 5 MB. It will be tried again."},
		"a login page": {"<!DOCTYPE html><title>Sign in</title>", "Saved, but the calendar could not be read: the address did not return an iCalendar file."},
	} {
		feed := newCalendarFeed(t, tc.body)
		page := s.saveBusyURL(t, owen, feed.URL+"/"+strings.ReplaceAll(name, " ", "-")+".ics")
		for _, want := range []string{tc.want, "Never read; the last attempt failed", "No busy times from this calendar block slots yet."} {
			if !strings.Contains(page, want) {
				t.Errorf("%s: the portal lacks %q", name, want)
			}
		}
	}
	var blocks int
	s.db.Get(&blocks, `SELECT count(*) FROM consultant_busy`)
	if blocks != 0 {
		t.Fatalf("%d blocks stored from refused downloads", blocks)
	}
}

// An invite the consultant accepted puts the booking in their own calendar
// under the booking's UID; it stays there after a cancellation the
// consultant never acted on. Read back as busy time it would keep the slot
// closed, so events carrying a booking's UID are left out.
func TestBusyCalendarLeavesOutOurOwnBookings(t *testing.T) {
	s := newStaffApp(t, nil)
	owen := s.owenWithSaturdays(t)
	sat := nextSaturday(mustLoad(t, "America/Halifax"))
	_, a := postJSON(t, s.URL+"/api/v1/assessments", map[string]any{"answers": chatAppAnswers})
	resp, lead := postJSON(t, s.URL+"/api/v1/leads", map[string]any{
		"assessment_id": a["id"], "name": "Pat Invite", "email": "pat@invite.example.com", "company": "Invite Ltd",
		"region": "canada", "timezone": "America/Halifax", "consent": true,
	})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("lead = %d", resp.StatusCode)
	}
	noon := sat.Add(12 * time.Hour)
	if resp, _ := postJSON(t, s.URL+"/api/v1/bookings", map[string]any{"lead_id": lead["id"], "start": noon.Format(time.RFC3339)}); resp.StatusCode != http.StatusCreated {
		t.Fatalf("booking noon = %d", resp.StatusCode)
	}
	var uid string
	if err := s.db.Get(&uid, `UPDATE bookings SET status = 'cancelled', cancelled_at = now() WHERE inquiry_id = $1 RETURNING uid`, lead["id"]); err != nil {
		t.Fatal(err)
	}
	ev := func(uid string, start time.Time) string {
		return "BEGIN:VEVENT\r\nUID:" + uid + "\r\nSUMMARY:Meeting\r\nDTSTART:" + start.UTC().Format("20060102T150405Z") +
			"\r\nDURATION:PT30M\r\nEND:VEVENT\r\n"
	}
	feed := newCalendarFeed(t, "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"+ev(uid, noon)+ev("dentist@example.com", sat.Add(15*time.Hour))+"END:VCALENDAR\r\n")
	s.saveBusyURL(t, owen, feed.URL+"/basic.ics")
	got := " " + strings.Join(s.slotStarts(t, sat), " ") + " "
	if !strings.Contains(got, " 12:00 ") {
		t.Errorf("the cancelled booking's own invite still blocks 12:00: %s", got)
	}
	if strings.Contains(got, " 15:00 ") {
		t.Errorf("another event of the calendar does not block 15:00: %s", got)
	}
}
