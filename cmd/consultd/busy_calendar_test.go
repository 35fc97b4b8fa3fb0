package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
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
		for _, want := range []string{tc.want, "Never read: the last attempt failed", "No busy times from this calendar block slots yet."} {
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

func TestBusyCalendarRefusesPrivateAddressesWhenDenied(t *testing.T) {
	s := newStaffApp(t, map[string]string{"BUSY_FETCH_PRIVATE": "deny"})
	owen := s.owen(t)
	feed := newCalendarFeed(t, "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(feed.URL, "http://"))
	for _, address := range []string{
		feed.URL + "/busy.ics", "http://[::1]:" + port + "/busy.ics", "http://10.1.2.3/busy.ics",
		"http://169.254.169.254/latest/meta-data/", "http://localhost:" + port + "/busy.ics",
	} {
		resp, body := send(t, owen, "POST", s.URL+"/me/busy", url.Values{"url": {address}}, nil)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "private or local network") || !strings.Contains(body, `value="`+address+`"`) {
			t.Errorf("%s: %d, want 422 with the address kept", address, resp.StatusCode)
		}
	}
	// A name that is not obviously local but resolves to a loopback address
	// passes the form and is refused when the connection is made.
	host, _ := os.Hostname()
	if addrs, err := net.LookupHost(host); err != nil || len(addrs) == 0 || !strings.HasPrefix(addrs[0], "127.") {
		t.Skipf("this machine's name %q does not resolve to a loopback address", host)
	}
	page := s.saveBusyURL(t, owen, "http://"+host+":"+port+"/busy.ics")
	if !strings.Contains(page, "refused: the address is on a private or local network") {
		t.Fatal("a name resolving to 127.0.0.1 was not refused at connect time")
	}
	if v := feed.validators(); len(v) != 0 {
		t.Fatalf("%d requests reached the loopback server", len(v))
	}
}

func TestBusyCalendarPortalActionsAndRoles(t *testing.T) {
	s := newStaffApp(t, nil)
	owen := s.owenWithSaturdays(t)
	sat := nextSaturday(mustLoad(t, "America/Halifax"))
	feed := newCalendarFeed(t, owenFeed(t, sat))

	// Refused input comes back as typed; nothing is saved.
	resp, body := send(t, owen, "POST", s.URL+"/me/busy", url.Values{"url": {"ftp://files.example.com/cal.ics"}}, nil)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "Only https://") || !strings.Contains(body, `value="ftp://files.example.com/cal.ics"`) || !strings.Contains(body, `aria-invalid="true"`) {
		t.Fatalf("an ftp address = %d", resp.StatusCode)
	}
	s.saveBusyURL(t, owen, feed.URL+"/owen.ics")
	if resp, body := send(t, owen, "POST", s.URL+"/me/busy/refresh", url.Values{}, nil); resp.StatusCode != http.StatusConflict || !strings.Contains(body, "read moments ago") {
		t.Fatalf("a refresh right after saving = %d", resp.StatusCode)
	}
	s.exec(t, `UPDATE busy_calendars SET last_attempt_at = now() - interval '1 minute'`)
	if resp, _ := send(t, owen, "POST", s.URL+"/me/busy/refresh", url.Values{}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("refresh = %d", resp.StatusCode)
	}

	// Sophie's calendar, set from the command line, is out of Owen's reach.
	var out bytes.Buffer
	err := run(context.Background(), []string{"consultant", "busy-url", "--email", "sophie.lavoie@consult.example", "--url", feed.URL + "/sophie.ics"}, envFrom(s.env), nil, &out, io.Discard)
	if err != nil || !strings.Contains(out.String(), feed.URL+"/…/sophie.ics") || !strings.Contains(out.String(), "Last updated just now.") {
		t.Fatalf("busy-url: %v\n%s", err, out.String())
	}
	if resp, _ := send(t, owen, "POST", s.URL+"/me/busy/delete?consultant=sophie", url.Values{"id": {"1"}}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("remove = %d", resp.StatusCode)
	}
	if _, page := send(t, owen, "GET", s.URL+"/me?done=busy-removed", nil, nil); !strings.Contains(page, "Busy calendar removed") || strings.Contains(page, "Refresh now") {
		t.Fatal("the portal does not show the calendar removed")
	}
	if resp, _ := send(t, owen, "POST", s.URL+"/me/busy/delete", url.Values{}, nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("removing again = %d, want 404", resp.StatusCode)
	}
	var left []string
	s.db.Select(&left, `SELECT c.email FROM busy_calendars b JOIN consultants c ON c.id = b.consultant_id`)
	if len(left) != 1 || left[0] != "sophie.lavoie@consult.example" {
		t.Fatalf("calendars left: %v, want Sophie's", left)
	}
	if got := strings.Join(s.slotStarts(t, sat), " "); !strings.HasPrefix(got, "08:00 08:30 09:00") {
		t.Fatalf("Owen's Saturday after removing his calendar = %q", got)
	}
	for action, want := range map[string]int{"busy_calendar_saved": 1, "busy_calendar_refreshed": 1, "busy_calendar_removed": 1} {
		if got := s.auditCount(t, action); got != want {
			t.Errorf("%d %s audit rows by Owen, want %d", got, action, want)
		}
	}
	out.Reset()
	run(context.Background(), []string{"consultant", "busy-url", "--email", "sophie.lavoie@consult.example"}, envFrom(s.env), nil, &out, io.Discard)
	if !strings.Contains(out.String(), "sophie.ics") {
		t.Fatalf("busy-url without --url: %s", out.String())
	}

	// Who reaches what.
	var sophiesID string
	s.db.Get(&sophiesID, `SELECT id::text FROM busy_calendars`)
	refresh := "/admin/calendars/" + sophiesID + "/refresh"
	for email, want := range map[string]map[string]int{
		"owen@consult.example":  {"GET /admin/calendars": 403, "POST " + refresh: 403, "POST /me/busy": 303},
		"sales@consult.example": {"GET /admin/calendars": 200, "POST " + refresh: 303, "POST /me/busy": 403, "POST /me/busy/refresh": 403},
		"admin@consult.example": {"GET /admin/calendars": 200, "POST /me/busy/delete": 403},
		"":                      {"GET /admin/calendars": 303, "POST " + refresh: 303, "POST /me/busy": 303},
	} {
		c := browser(t)
		if email != "" {
			s.signIn(t, c, email)
		}
		for req, status := range want {
			s.exec(t, `UPDATE busy_calendars SET last_attempt_at = now() - interval '1 minute'`)
			method, path, _ := strings.Cut(req, " ")
			var form url.Values
			if method == "POST" {
				form = url.Values{"url": {feed.URL + "/owen.ics"}}
			}
			if resp, _ := send(t, c, method, s.URL+path, form, nil); resp.StatusCode != status {
				t.Errorf("%q %s = %d, want %d", email, req, resp.StatusCode, status)
			}
		}
	}
	var staffRefreshes int
	s.db.Get(&staffRefreshes, `SELECT count(*) FROM audit_log WHERE action = 'busy_calendar_refreshed' AND actor = 'sales@consult.example'`)
	if staffRefreshes != 1 {
		t.Fatalf("%d refreshes by sales in the audit log, want 1", staffRefreshes)
	}
}

// The busy calendar box and the admin list at phone and desktop widths, in
// their longest state: a failing calendar with notes. With SCREENSHOT_DIR
// set, each is kept as a PNG.
func TestBrowserBusyCalendarFitsPhoneAndDesktop(t *testing.T) {
	s := newStaffApp(t, nil)
	owen := s.owenWithSaturdays(t)
	feed := newCalendarFeed(t, owenFeed(t, nextSaturday(mustLoad(t, "America/Halifax"))))
	s.saveBusyURL(t, owen, feed.URL+"/owa/calendar/00000000-1111-2222-3333-444444444444@harbour-consulting.example/8f3a0c1d2e4b5a69788796a5b4c3d2e1f0123456789/calendar.ics")
	s.exec(t, `UPDATE busy_calendars SET failures = 12, last_outcome = 'failed', last_success_at = now() - interval '2 days',
		last_error = 'there is no calendar at this address (404 Not Found); the secret address may have been reset',
		problems = '2 events could not be read and were left out; 1 time zone not recognised, its times read in your own zone'`)

	ctx := newBrowser(t)
	signIn := func(email, landing string) {
		t.Helper()
		if err := chromedp.Run(ctx,
			chromedp.Navigate(s.URL+"/login"),
			chromedp.WaitVisible(`#login-email`),
			chromedp.SendKeys(`#login-email`, email),
			chromedp.SendKeys(`#login-password`, staffPassword),
			chromedp.Submit(`.login-form`),
			chromedp.WaitVisible(landing),
		); err != nil {
			t.Fatal(err)
		}
	}
	wider := func(name string) {
		t.Helper()
		var wide []string
		if err := chromedp.Run(ctx, chromedp.Evaluate(`(() => {
			const w = document.documentElement.clientWidth, out = [];
			if (document.documentElement.scrollWidth > w) out.push('page ' + document.documentElement.scrollWidth + ' > ' + w);
			for (const el of document.querySelectorAll('#calendar *')) {
				const r = el.getBoundingClientRect();
				if (r.width > 0 && (r.right > w + 0.5 || r.left < -0.5) && !el.closest('.visually-hidden')) out.push(el.tagName + '.' + el.className + ' ' + Math.round(r.left) + '..' + Math.round(r.right));
			}
			return out.slice(0, 10);
		})()`, &wide)); err != nil {
			t.Fatal(err)
		}
		if len(wide) > 0 {
			t.Errorf("%s: wider than the screen: %v", name, wide)
		}
		screenshot(t, ctx, name)
	}
	if err := chromedp.Run(ctx, chromedp.EmulateViewport(360, 780)); err != nil {
		t.Fatal(err)
	}
	signIn("owen@consult.example", `#busy`)
	for _, width := range []int64{360, 1280} {
		var state string
		if err := chromedp.Run(ctx,
			chromedp.EmulateViewport(width, 900),
			chromedp.Navigate(s.URL+"/me#busy"),
			chromedp.WaitVisible(`#busy .busy-state`),
			chromedp.Text(`#busy .busy-state`, &state),
		); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(state, "the last 12 attempts failed") {
			t.Fatalf("the busy box says %q", state)
		}
		wider(fmt.Sprintf("busy-portal-%d", width))
	}
	if err := chromedp.Run(ctx, chromedp.Click(`form[action="/logout"] button`), chromedp.WaitVisible(`#login-email`)); err != nil {
		t.Fatal(err)
	}
	signIn("sales@consult.example", `.admin-page h1`)
	for _, width := range []int64{360, 1280} {
		var overflow int
		if err := chromedp.Run(ctx,
			chromedp.EmulateViewport(width, 800),
			chromedp.Navigate(s.URL+"/admin/calendars"),
			chromedp.WaitVisible(`.calendars-table`),
			chromedp.Evaluate(`document.documentElement.scrollWidth - document.documentElement.clientWidth`, &overflow),
		); err != nil {
			t.Fatal(err)
		}
		screenshot(t, ctx, fmt.Sprintf("busy-admin-%d", width))
		if overflow > 0 {
			t.Errorf("/admin/calendars at %dpx is %dpx wider than the window", width, overflow)
		}
	}
}
