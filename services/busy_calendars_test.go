package services_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"consultd/internal/ical"
	"consultd/services"
)

// busyFeed is a calendar server the tests steer: what each path serves,
// how slowly, and which requests reached it.
type busyFeed struct {
	*httptest.Server
	mu         sync.Mutex
	bodies     map[string]string
	status     int           // answered instead of the calendar when set
	delay      time.Duration // before answering
	pathDelay  map[string]time.Duration
	hits       map[string]int
	validators []string // If-None-Match of every request
}

func newBusyFeed(t *testing.T) *busyFeed {
	t.Helper()
	f := &busyFeed{bodies: map[string]string{}, hits: map[string]int{}}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *busyFeed) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.hits[r.URL.Path]++
	f.validators = append(f.validators, r.Header.Get("If-None-Match"))
	body, ok := f.bodies[r.URL.Path]
	status, delay := f.status, f.delay
	if d, ok := f.pathDelay[r.URL.Path]; ok {
		delay = d
	}
	f.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	etag := `"` + strings.TrimPrefix(r.URL.Path, "/") + "-" + string(rune('a'+len(body)%26)) + `"`
	switch {
	case status != 0:
		w.WriteHeader(status)
	case !ok:
		http.NotFound(w, r)
	case r.Header.Get("If-None-Match") == etag:
		w.WriteHeader(http.StatusNotModified)
	default:
		w.Header().Set("ETag", etag)
		w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
		w.Write([]byte(body))
	}
}

func (f *busyFeed) set(path, ics string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.bodies[path] = ics
}

func (f *busyFeed) behave(status int, delay time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status, f.delay = status, delay
}

func (f *busyFeed) seen(path string) (int, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[path], append([]string(nil), f.validators...)
}

type busyFixture struct {
	portalFixture
	busy *services.BusyCalendars
	feed *busyFeed
}

func newBusyFixture(t *testing.T, refreshGap time.Duration) busyFixture {
	t.Helper()
	f := busyFixture{portalFixture: newPortalFixture(t), feed: newBusyFeed(t)}
	f.busy = f.newService(t, refreshGap)
	return f
}

// newService is one instance's busy calendar service over the shared database.
func (f busyFixture) newService(t *testing.T, refreshGap time.Duration) *services.BusyCalendars {
	t.Helper()
	return f.serviceWithTimeout(t, refreshGap, 5*time.Second)
}

// serviceWithTimeout is newService with its own limit on a download.
func (f busyFixture) serviceWithTimeout(t *testing.T, refreshGap, timeout time.Duration) *services.BusyCalendars {
	t.Helper()
	busy, err := services.NewBusyCalendars(f.db, services.BusyConfig{
		Every: 10 * time.Minute, HorizonDays: 30, SecretKey: "test-secret", RefreshGap: refreshGap, Logger: slog.New(slog.DiscardHandler),
		Fetch: ical.FetchConfig{AllowPrivate: true, Timeout: timeout, MaxBytes: 64 << 10},
	}, f.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	return busy
}

// busyICS is a calendar of events, each given as its property lines.
func busyICS(events ...[]string) string {
	var b strings.Builder
	b.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n")
	for _, ev := range events {
		b.WriteString("BEGIN:VEVENT\r\nSUMMARY:Dentist (private)\r\n" + strings.Join(ev, "\r\n") + "\r\nEND:VEVENT\r\n")
	}
	b.WriteString("END:VCALENDAR\r\n")
	return b.String()
}

// tuesdayTen is Ana's Tuesday 8 December, 10:00-11:00 in Toronto.
var tuesdayTen = []string{"UID:t10@example.com", "DTSTART;TZID=America/Toronto:20261208T100000", "DTEND;TZID=America/Toronto:20261208T110000"}

// anasMorning lists Tuesday 8 December's Django slots before noon in
// Toronto: Ana's alone, since Ben's day starts at 13:00 there.
func (f busyFixture) anasMorning(t *testing.T) string {
	t.Helper()
	slots, _, err := f.bookings.OpenSlots(context.Background(), services.SlotRequest{Team: "django", Region: "canada", Timezone: "America/Toronto", From: "2026-12-08", Days: "1"})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range slots {
		if s.Start.Hour() < 12 {
			out = append(out, s.Start.Format("15:04"))
		}
	}
	return strings.Join(out, " ")
}

func (f busyFixture) blockRows(t *testing.T) []string {
	t.Helper()
	var rows []string
	if err := f.db.Select(&rows, `SELECT lower(period)::text || ' ' || id FROM consultant_busy ORDER BY lower(period)`); err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestBusyCalendarBlocksSlots(t *testing.T) {
	f := newBusyFixture(t, 0)
	f.feed.set("/ana.ics", busyICS(tuesdayTen))
	if got, want := f.anasMorning(t), "09:00 09:30 10:00 10:30 11:00 11:30"; got != want {
		t.Fatalf("slots before = %q", got)
	}
	cal, err := f.busy.Save(as(f.ana), f.feed.URL+"/ana.ics")
	if err != nil {
		t.Fatal(err)
	}
	if cal.LastOutcome != "updated" || cal.BlockCount != 1 || cal.Failures != 0 || cal.URLHint != f.feed.URL+"/…/ana.ics" {
		t.Fatalf("after saving: %+v", cal)
	}
	if got, want := f.anasMorning(t), "09:00 09:30 11:00 11:30"; got != want {
		t.Fatalf("slots with the busy calendar = %q, want %q", got, want)
	}
	var stored struct {
		Source string `db:"source"`
		Sealed []byte `db:"url_sealed"`
	}
	f.db.Get(&stored, `SELECT b.source, c.url_sealed FROM consultant_busy b JOIN busy_calendars c ON c.id = b.calendar_id`)
	if stored.Source != "ics" || strings.Contains(string(stored.Sealed), "ana.ics") {
		t.Fatalf("stored source %q; the address is stored in the clear: %v", stored.Source, strings.Contains(string(stored.Sealed), "ana.ics"))
	}
	saved := auditRows(t, f.db, "busy_calendar_saved")
	if len(saved) != 1 || saved[0]["actor"] != "ana@consult.example.com" || saved[0]["host"] == "" || strings.Contains(saved[0]["host"], "ana.ics") {
		t.Fatalf("audit rows: %v", saved)
	}

	// Removing it frees the time at once.
	if err := f.busy.Remove(as(f.ana)); err != nil {
		t.Fatal(err)
	}
	if got, want := f.anasMorning(t), "09:00 09:30 10:00 10:30 11:00 11:30"; got != want {
		t.Fatalf("slots after removing = %q", got)
	}
	if _, err := f.busy.Mine(as(f.ana)); !errors.Is(err, services.ErrNotFound) {
		t.Fatalf("Mine after removing: %v", err)
	}
	if n := len(auditRows(t, f.db, "busy_calendar_removed")); n != 1 {
		t.Fatalf("%d removal audit rows", n)
	}
}

func TestBusyCalendarConditionalFetchKeepsBlocks(t *testing.T) {
	f := newBusyFixture(t, 0)
	f.feed.set("/ana.ics", busyICS(tuesdayTen))
	if _, err := f.busy.Save(as(f.ana), f.feed.URL+"/ana.ics"); err != nil {
		t.Fatal(err)
	}
	before := f.blockRows(t)
	f.clock.Set(fixtureNow.Add(13 * time.Minute)) // past the jittered 10 minutes
	if n, err := f.busy.FetchDue(context.Background()); n != 1 || err != nil {
		t.Fatalf("FetchDue = %d, %v", n, err)
	}
	hits, validators := f.feed.seen("/ana.ics")
	if hits != 2 || validators[1] == "" {
		t.Fatalf("%d requests, validators %q: the second should be conditional", hits, validators)
	}
	cal, _ := f.busy.Mine(as(f.ana))
	if cal.LastOutcome != "unchanged" || !cal.LastSuccessAt.Equal(f.clock.Now()) {
		t.Fatalf("after a 304: %+v", cal)
	}
	if after := f.blockRows(t); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Fatalf("a 304 replaced the blocks: %v, then %v", before, after)
	}
	// After six hours the window has moved on: the calendar is read in full again.
	f.clock.Set(fixtureNow.Add(7 * time.Hour))
	f.busy.FetchDue(context.Background())
	if _, validators := f.feed.seen("/ana.ics"); validators[2] != "" {
		t.Fatalf("a download after 7 hours sent %q", validators[2])
	}
}

func TestBusyCalendarFailuresKeepTheLastGoodBlocks(t *testing.T) {
	f := newBusyFixture(t, 0)
	f.feed.set("/ana.ics", busyICS(tuesdayTen))
	if _, err := f.busy.Save(as(f.ana), f.feed.URL+"/ana.ics"); err != nil {
		t.Fatal(err)
	}
	f.feed.behave(0, 5*time.Second) // far longer than this instance's 500ms limit
	f.clock.Set(fixtureNow.Add(3 * time.Hour))
	if _, err := f.serviceWithTimeout(t, 0, 500*time.Millisecond).Refresh(as(f.ana)); err != nil {
		t.Fatal(err)
	}
	if got, want := f.anasMorning(t), "09:00 09:30 11:00 11:30"; got != want {
		t.Fatalf("slots after a timeout = %q, want the old blocks kept", got)
	}
	cal, _ := f.busy.Mine(as(f.ana))
	st := cal.Status(f.clock.Now(), f.busy.Every())
	if st.Health != services.BusyFailing || st.Summary != "Last updated 3 hours ago; the last attempt failed: timed out after 500ms." ||
		st.Effect != "The 1 busy time read then still block slots." {
		t.Fatalf("status after a timeout: %+v", st)
	}
	// The next failure waits twice as long; the count goes on.
	if next := cal.NextFetchAt.Sub(f.clock.Now()); next < 9*time.Minute || next > 13*time.Minute {
		t.Fatalf("next download in %s after one failure", next)
	}
	f.feed.behave(http.StatusNotFound, 0)
	f.clock.Set(fixtureNow.Add(4 * time.Hour))
	f.busy.FetchDue(context.Background())
	cal, _ = f.busy.Mine(as(f.ana))
	st = cal.Status(f.clock.Now(), f.busy.Every())
	if cal.Failures != 2 || st.Summary != "Last updated 4 hours ago; the last 2 attempts failed: there is no calendar at this address (404 Not Found); the secret address may have been reset." {
		t.Fatalf("after a second failure: %d failures, %q", cal.Failures, st.Summary)
	}
	if next := cal.NextFetchAt.Sub(f.clock.Now()); next < 19*time.Minute || next > 21*time.Minute {
		t.Fatalf("next download in %s after two failures, want 20 minutes", next)
	}
	// A calendar that turns into a web page is a failure too, not an empty calendar.
	f.feed.behave(0, 0)
	f.feed.set("/ana.ics", "<!doctype html><p>Sign in to see this calendar</p>")
	f.clock.Set(fixtureNow.Add(5 * time.Hour))
	f.busy.FetchDue(context.Background())
	if cal, _ = f.busy.Mine(as(f.ana)); cal.Failures != 3 || cal.LastError != "the address did not return an iCalendar file" || len(f.blockRows(t)) != 1 {
		t.Fatalf("after an HTML page: %d failures, %q, %d blocks", cal.Failures, cal.LastError, len(f.blockRows(t)))
	}
	// Once it answers again, the failures are forgotten.
	f.feed.set("/ana.ics", busyICS())
	f.clock.Set(fixtureNow.Add(8 * time.Hour))
	f.busy.FetchDue(context.Background())
	cal, _ = f.busy.Mine(as(f.ana))
	if st := cal.Status(f.clock.Now(), f.busy.Every()); st.Health != services.BusyOK || cal.Failures != 0 || len(f.blockRows(t)) != 0 {
		t.Fatalf("after recovering: %+v, %d failures", st, cal.Failures)
	}
}
