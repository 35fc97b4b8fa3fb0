package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"consultd/services"
)

// feedEvent is one event as the outside feed checkers print it.
type feedEvent struct {
	UID      string `json:"uid"`
	Sequence int    `json:"sequence"`
	Status   string `json:"status"`
	Summary  string `json:"summary"`
	URL      string `json:"url"`
}

// checkedFeed is a feed as the outside checkers print it.
type checkedFeed struct {
	Method  *string     `json:"method"`
	Name    string      `json:"name"`
	Refresh string      `json:"refresh"`
	TTL     string      `json:"ttl"`
	Events  []feedEvent `json:"events"`
}

// checkFeedWithOutsideParsers runs libical and ical.js in feed mode (no
// METHOD, any number of events, nobody named) and returns what both read,
// after checking they agree.
func checkFeedWithOutsideParsers(t *testing.T, ics []byte) checkedFeed {
	t.Helper()
	file := filepath.Join(t.TempDir(), "feed.ics")
	if err := os.WriteFile(file, ics, 0o600); err != nil {
		t.Fatal(err)
	}
	var read []checkedFeed
	for _, argv := range [][]string{{"python3", "../../scripts/check_feed.py", file}, {"node", "../../testdata/icaljs/check_feed.mjs", file}} {
		out, err := exec.Command(argv[0], argv[1:]...).Output()
		if err != nil {
			stderr := ""
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = string(ee.Stderr)
			}
			t.Fatalf("%s rejects the feed (%v): %s\n%s", argv[1], err, stderr, ics)
		}
		var got checkedFeed
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%s printed %q", argv[1], out)
		}
		read = append(read, got)
	}
	a, b := read[0], read[1]
	if a.Name != b.Name || a.Refresh != b.Refresh || a.TTL != b.TTL || len(a.Events) != len(b.Events) {
		t.Fatalf("libical and ical.js read the feed differently: %+v / %+v", a, b)
	}
	for i := range a.Events {
		if a.Events[i] != b.Events[i] {
			t.Fatalf("libical and ical.js read event %d differently: %+v / %+v", i, a.Events[i], b.Events[i])
		}
	}
	return a
}

// assertFeedLines checks every line ends in CRLF, holds no bare CR or LF
// and is at most 75 octets, without splitting a UTF-8 sequence.
func assertFeedLines(t *testing.T, b []byte) {
	t.Helper()
	if !bytes.HasSuffix(b, []byte("\r\n")) {
		t.Fatal("the feed does not end in CRLF")
	}
	for i, line := range bytes.Split(bytes.TrimSuffix(b, []byte("\r\n")), []byte("\r\n")) {
		if bytes.ContainsAny(line, "\r\n") || len(line) > 75 || !utf8.Valid(line) {
			t.Fatalf("line %d (%d octets) breaks RFC 5545 §3.1: %q", i, len(line), line)
		}
	}
}

// fetchFeed GETs a feed as a calendar app that takes no compression, unless
// header names an Accept-Encoding (Go's client would otherwise ask for gzip
// and unpack it out of sight).
func fetchFeed(t *testing.T, feed string, header http.Header) (*http.Response, string) {
	t.Helper()
	h := http.Header{"Accept-Encoding": {"identity"}}
	for k, v := range header {
		h[k] = v
	}
	return get(t, feed, h)
}

func (f checkedFeed) event(uid string) (feedEvent, bool) {
	for _, e := range f.Events {
		if e.UID == uid {
			return e, true
		}
	}
	return feedEvent{}, false
}

// feedBookings gives Owen a Saturday booking and Sophie, of his team,
// another, and cancels nothing. It returns Owen's booking answer and
// Sophie's.
func (s staffApp) feedBookings(t *testing.T, owen *http.Client) (map[string]any, map[string]any) {
	t.Helper()
	halifax, regina := mustLoad(t, "America/Halifax"), mustLoad(t, "America/Regina")
	sat := nextSaturday(halifax)
	if resp, _ := send(t, owen, "POST", s.URL+"/me/hours", owenWeek(map[string]string{"sat": "10:00-12:00"}), nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save hours = %d", resp.StatusCode)
	}
	consultants := services.NewConsultants(s.db)
	sophie, err := consultants.ByEmail(context.Background(), "sophie.lavoie@consult.example")
	if err != nil {
		t.Fatal(err)
	}
	if err := consultants.SetHours(context.Background(), sophie.ID, []services.HoursRange{{Weekday: time.Saturday, StartMinute: 13 * 60, EndMinute: 15 * 60}}); err != nil {
		t.Fatal(err)
	}
	mine := s.bookNodeJS(t, "Olive Harbourside", "Harbour Labs", "olive@harbour.example.com", sat.Add(10*time.Hour))
	theirs := s.bookNodeJS(t, "Sam Prairie", "Prairie Corp", "sam@prairie.example.com", time.Date(sat.Year(), sat.Month(), sat.Day(), 13, 0, 0, 0, regina))
	if mine["consultant"].(map[string]any)["name"] != "Owen MacLeod" || theirs["consultant"].(map[string]any)["name"] != "Sophie Lavoie" {
		t.Fatalf("bookings went to %v and %v", mine["consultant"], theirs["consultant"])
	}
	return mine, theirs
}

// bookingUID is the UID the invites of a booking carry.
func (s staffApp) bookingUID(t *testing.T, booking map[string]any) string {
	t.Helper()
	var uid string
	if err := s.db.Get(&uid, `SELECT uid FROM bookings WHERE id = $1`, booking["id"]); err != nil {
		t.Fatal(err)
	}
	return uid
}

func manageToken(booking map[string]any) string {
	return booking["manage_url"].(string)[strings.LastIndex(booking["manage_url"].(string), "/")+1:]
}

var portalFeedURL = regexp.MustCompile(`id="calendar-feed" type="text" value="([^"]+)"`)

// myFeedPath asks for Owen's feed on his page and returns its path on the
// test server, after checking the page offers it in both forms.
func (s staffApp) myFeedPath(t *testing.T, owen *http.Client) string {
	t.Helper()
	_, body := send(t, owen, "GET", s.URL+"/me", nil, nil)
	m := portalFeedURL.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("/me shows no feed URL")
	}
	u, err := url.Parse(m[1])
	if err != nil || u.Scheme != "http" || u.Host != "localhost:8080" || !strings.HasPrefix(u.Path, "/feeds/") || !strings.HasSuffix(u.Path, ".ics") {
		t.Fatalf("feed URL %q", m[1])
	}
	if !strings.Contains(body, `value="webcal://localhost:8080`+u.Path+`"`) || !strings.Contains(body, `href="webcal://localhost:8080`+u.Path+`"`) {
		t.Fatal("/me lacks the webcal:// form of the feed URL")
	}
	return u.Path
}

func TestConsultantFeedOverHTTP(t *testing.T) {
	s := newStaffApp(t, nil)
	owen := s.owen(t)
	mine, theirs := s.feedBookings(t, owen)

	_, body := send(t, owen, "GET", s.URL+"/me", nil, nil)
	if !strings.Contains(body, "Create my feed URL") || portalFeedURL.MatchString(body) {
		t.Fatal("/me should offer to create a feed before there is one")
	}
	resp, _ := send(t, owen, "POST", s.URL+"/me/feed", url.Values{}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/me?done=feed-created#calendar" {
		t.Fatalf("create feed = %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, body := send(t, owen, "GET", s.URL+"/me?done=feed-created", nil, nil); !strings.Contains(body, "Your private feed is ready") {
		t.Fatal("no confirmation after creating the feed")
	}
	feed := s.URL + s.myFeedPath(t, owen)

	resp, ics := fetchFeed(t, feed, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("feed = %d %s", resp.StatusCode, ics)
	}
	for header, want := range map[string]string{"Content-Type": "text/calendar; charset=utf-8", "Cache-Control": "private, no-cache", "Vary": "Accept-Encoding"} {
		if got := resp.Header.Get(header); got != want {
			t.Errorf("%s = %q, want %q", header, got, want)
		}
	}
	etag := resp.Header.Get("ETag")
	if !regexp.MustCompile(`^"[0-9a-f]{32}"$`).MatchString(etag) {
		t.Fatalf("ETag %q is not a strong tag over the bytes", etag)
	}
	assertFeedLines(t, []byte(ics))
	for _, want := range []string{"REFRESH-INTERVAL;VALUE=DURATION:PT15M\r\n", "X-PUBLISHED-TTL:PT15M\r\n"} {
		if !strings.Contains(ics, want) {
			t.Errorf("the feed lacks %q", want)
		}
	}
	read := checkFeedWithOutsideParsers(t, []byte(ics))
	if read.Method != nil || read.Name != "Stackpoint Consulting: Owen MacLeod" || len(read.Events) != 1 {
		t.Fatalf("the parsers read %+v", read)
	}
	e, ok := read.event(s.bookingUID(t, mine))
	if !ok || e.Status != "CONFIRMED" || e.Sequence != 0 || e.Summary != "Olive Harbourside (Harbour Labs)" {
		t.Fatalf("Owen's booking reads %+v (found %v), want its invite UID, confirmed, sequence 0", e, ok)
	}
	if !strings.HasSuffix(e.URL, "/admin/leads/"+s.leadOf(t, mine)) {
		t.Fatalf("URL %q is not the lead page", e.URL)
	}
	for _, leak := range []string{s.bookingUID(t, theirs), "Sam Prairie", "olive@harbour.example.com", manageToken(mine), "/b/"} {
		if strings.Contains(ics, leak) {
			t.Fatalf("Owen's feed carries %q", leak)
		}
	}

	// Conditional GET: the same bytes answer 304 with the same ETag.
	resp, again := fetchFeed(t, feed, http.Header{"If-None-Match": {etag}})
	if resp.StatusCode != http.StatusNotModified || again != "" || resp.Header.Get("ETag") != etag {
		t.Fatalf("If-None-Match with the current ETag = %d, ETag %q, %d bytes", resp.StatusCode, resp.Header.Get("ETag"), len(again))
	}
	if resp, _ := fetchFeed(t, feed, http.Header{"If-None-Match": {`"something-else", W/` + etag}}); resp.StatusCode != http.StatusNotModified {
		t.Fatalf("a list holding the ETag = %d, want 304", resp.StatusCode)
	}
	if resp, _ := fetchFeed(t, feed, http.Header{"If-None-Match": {`"something-else"`}}); resp.StatusCode != http.StatusOK {
		t.Fatalf("another ETag = %d, want 200", resp.StatusCode)
	}
	// A change to the booking changes the bytes, the ETag and the SEQUENCE.
	token := manageToken(mine)
	sat := nextSaturday(mustLoad(t, "America/Halifax"))
	if resp, moved := postJSON(t, s.URL+"/api/v1/bookings/"+token+"/reschedule", map[string]any{"start": sat.Add(11 * time.Hour).Format(time.RFC3339)}); resp.StatusCode != http.StatusOK {
		t.Fatalf("reschedule = %d %v", resp.StatusCode, moved)
	}
	resp, ics = fetchFeed(t, feed, http.Header{"If-None-Match": {etag}})
	if resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") == etag {
		t.Fatalf("after a move, the old ETag = %d with ETag %q", resp.StatusCode, resp.Header.Get("ETag"))
	}
	if e, _ := checkFeedWithOutsideParsers(t, []byte(ics)).event(s.bookingUID(t, mine)); e.Sequence != 1 || e.Status != "CONFIRMED" {
		t.Fatalf("the moved booking reads %+v, want sequence 1", e)
	}

	// Cancelled: kept, marked, SEQUENCE raised; gone 30 days after.
	if resp, _ := postJSON(t, s.URL+"/api/v1/bookings/"+token+"/cancel", map[string]any{"reason": "plans changed"}); resp.StatusCode != http.StatusOK {
		t.Fatalf("cancel = %d", resp.StatusCode)
	}
	_, ics = fetchFeed(t, feed, nil)
	assertFeedLines(t, []byte(ics))
	e, ok = checkFeedWithOutsideParsers(t, []byte(ics)).event(s.bookingUID(t, mine))
	if !ok || e.Status != "CANCELLED" || e.Sequence != 2 || e.URL != "" || !strings.HasPrefix(e.Summary, "Cancelled: ") {
		t.Fatalf("the cancelled booking reads %+v (found %v), want CANCELLED, sequence 2, no lead link", e, ok)
	}
	s.db.MustExec(`UPDATE bookings SET cancelled_at = now() - interval '30 days 1 minute' WHERE id = $1`, mine["id"])
	_, ics = fetchFeed(t, feed, nil)
	if read := checkFeedWithOutsideParsers(t, []byte(ics)); len(read.Events) != 0 {
		t.Fatalf("30 days after cancelling the feed still holds %+v", read.Events)
	}

	resp, _ = http.Head(feed)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") == "" {
		t.Fatalf("HEAD = %d, ETag %q", resp.StatusCode, resp.Header.Get("ETag"))
	}
	if resp, body := fetchFeed(t, s.URL+"/feeds/"+strings.Repeat("A", 43)+".ics", nil); resp.StatusCode != http.StatusNotFound || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") || strings.Contains(body, "<html") {
		t.Fatalf("unknown feed = %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

// leadOf is the id of the lead a booking belongs to.
func (s staffApp) leadOf(t *testing.T, booking map[string]any) string {
	t.Helper()
	var id string
	if err := s.db.Get(&id, `SELECT lead_id FROM bookings WHERE id = $1`, booking["id"]); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestFeedRequestsAreRateLimited(t *testing.T) {
	s := newStaffApp(t, map[string]string{"RATE_LIMITS": "on", "RATE_LIMIT_FEEDS": "3/1h"})
	owen := s.owen(t)
	send(t, owen, "POST", s.URL+"/me/feed", url.Values{}, nil)
	feed := s.URL + s.myFeedPath(t, owen)
	for i := 0; i < 3; i++ {
		if resp, _ := fetchFeed(t, feed, nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("fetch %d = %d", i+1, resp.StatusCode)
		}
	}
	resp, body := fetchFeed(t, feed, nil)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("fourth fetch = %d, Retry-After %q: %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	// Guessing at tokens draws on the same bucket.
	if resp, _ := fetchFeed(t, s.URL+"/feeds/guess.ics", nil); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("a guess after the limit = %d, want 429", resp.StatusCode)
	}
}
