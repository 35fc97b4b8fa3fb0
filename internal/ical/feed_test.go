package ical

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	goical "github.com/emersion/go-ical"

	"consultd/internal/icaltest"
)

func testFeed() Feed {
	start := time.Date(2026, 12, 1, 14, 0, 0, 0, time.UTC)
	changed := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	return Feed{Name: "Stackpoint Consulting: Owen MacLeod", Refresh: 15 * time.Minute, Events: []FeedEvent{
		{
			UID: "b1@consult.example.com", Status: StatusConfirmed, Start: start, End: start.Add(30 * time.Minute),
			Created: changed.Add(-time.Hour), Modified: changed, Summary: "Ada Lovelace (Acme)",
			Description: "Django consultation\nLead page: https://consult.example.com/admin/leads/1",
			Location:    "https://meet.example.com/owen", URL: "https://consult.example.com/admin/leads/1",
		},
		{
			UID: "b2@consult.example.com", Sequence: 2, Status: StatusCancelled, Start: start.Add(24 * time.Hour), End: start.Add(24*time.Hour + 30*time.Minute),
			Modified: changed.Add(time.Hour), Summary: "Cancelled: Grace Hopper (Navy)",
		},
		{
			UID: "b3@consult.example.com", Status: StatusTentative, Start: start.Add(48 * time.Hour), End: start.Add(48*time.Hour + 30*time.Minute),
			Modified: changed, Summary: "Held: Alan Turing (Bletchley)",
		},
	}}
}

func mustRenderFeed(t *testing.T, f Feed) []byte {
	t.Helper()
	b, err := RenderFeed(f)
	if err != nil {
		t.Fatalf("RenderFeed: %v", err)
	}
	return b
}

func mustDecodeFeed(t *testing.T, b []byte) *goical.Calendar {
	t.Helper()
	cal, err := goical.NewDecoder(bytes.NewReader(b)).Decode()
	if err != nil {
		t.Fatalf("decode: %v\n%s", err, b)
	}
	return cal
}

func TestRenderFeedIsAPublishedCalendar(t *testing.T) {
	f := testFeed()
	cal := mustDecodeFeed(t, mustRenderFeed(t, f))
	if cal.Props.Get(goical.PropMethod) != nil {
		t.Fatal("a feed carries a METHOD")
	}
	refresh := cal.Props.Get(goical.PropRefreshInterval)
	if refresh == nil || refresh.Value != "PT15M" || refresh.Params.Get(goical.ParamValue) != "DURATION" {
		t.Fatalf("REFRESH-INTERVAL = %+v, want VALUE=DURATION:PT15M", refresh)
	}
	if ttl := cal.Props.Get("X-PUBLISHED-TTL"); ttl == nil || ttl.Value != "PT15M" {
		t.Fatalf("X-PUBLISHED-TTL = %+v", ttl)
	}
	if got := icaltest.PropText(t, cal.Props, "X-WR-CALNAME"); got != f.Name {
		t.Fatalf("X-WR-CALNAME = %q", got)
	}
	events := cal.Events()
	if len(events) != len(f.Events) {
		t.Fatalf("got %d VEVENTs, want %d", len(events), len(f.Events))
	}
	for i, e := range events {
		want := f.Events[i]
		if got := icaltest.PropText(t, e.Props, goical.PropUID); got != want.UID {
			t.Fatalf("event %d UID = %q, want %q", i, got, want.UID)
		}
		if seq, err := e.Props.Get(goical.PropSequence).Int(); err != nil || seq != want.Sequence {
			t.Fatalf("event %d SEQUENCE = %d (%v), want %d", i, seq, err, want.Sequence)
		}
		if status, _ := e.Status(); string(status) != want.Status {
			t.Fatalf("event %d STATUS = %q, want %q", i, status, want.Status)
		}
		if stamp, err := e.Props.DateTime(goical.PropDateTimeStamp, nil); err != nil || !stamp.Equal(want.Modified) {
			t.Fatalf("event %d DTSTAMP = %v (%v), want when it last changed, %v", i, stamp, err, want.Modified)
		}
		transp := icaltest.PropText(t, e.Props, goical.PropTransparency)
		if wantTransp := map[bool]string{true: "TRANSPARENT", false: "OPAQUE"}[want.Status == StatusCancelled]; transp != wantTransp {
			t.Fatalf("event %d TRANSP = %q, want %q", i, transp, wantTransp)
		}
		if e.Props.Get(goical.PropAttendee) != nil || e.Props.Get(goical.PropOrganizer) != nil || len(e.Children) != 0 {
			t.Fatalf("event %d names people or carries alarms", i)
		}
	}
	if got := icaltest.PropText(t, events[0].Props, goical.PropDescription); got != f.Events[0].Description {
		t.Fatalf("DESCRIPTION = %q", got)
	}
}

func TestRenderFeedIsStable(t *testing.T) {
	a, b := mustRenderFeed(t, testFeed()), mustRenderFeed(t, testFeed())
	if !bytes.Equal(a, b) {
		t.Fatal("the same feed rendered twice differs")
	}
	changed := testFeed()
	changed.Events[0].Sequence++
	if bytes.Equal(a, mustRenderFeed(t, changed)) {
		t.Fatal("a raised SEQUENCE left the bytes alike")
	}
}

func TestRenderFeedWithoutEvents(t *testing.T) {
	f := testFeed()
	f.Events = nil
	b := mustRenderFeed(t, f)
	cal := mustDecodeFeed(t, b)
	if len(cal.Events()) != 0 || len(cal.Children) != 1 || cal.Children[0].Name != goical.CompTimezone {
		t.Fatalf("an empty feed holds %d components:\n%s", len(cal.Children), b)
	}
}

func TestRenderFeedLinesAreCRLFAndFolded(t *testing.T) {
	f := testFeed()
	f.Events[0].Summary = strings.Repeat("Zoë Ærø 🚀, ", 20)
	f.Events[0].Description = "Line one\r\nATTENDEE:mailto:evil@x\rSTATUS:CANCELLED\n" + strings.Repeat("crème brûlée ", 30)
	b := mustRenderFeed(t, f)
	assertCRLFAndFolded(t, b)
	statuses := 0
	for _, line := range strings.Split(string(b), "\r\n") {
		if strings.HasPrefix(line, "ATTENDEE") {
			t.Fatalf("user text started a property: %q", line)
		}
		if strings.HasPrefix(line, "STATUS:") {
			statuses++
		}
	}
	if statuses != len(f.Events) {
		t.Fatalf("%d STATUS lines for %d events: user text started a property\n%s", statuses, len(f.Events), b)
	}
	cal := mustDecodeFeed(t, b)
	if got, want := icaltest.PropText(t, cal.Events()[0].Props, goical.PropSummary), f.Events[0].Summary; got != want {
		t.Fatalf("SUMMARY after unfolding = %q, want %q", got, want)
	}
}

// assertCRLFAndFolded checks every line ends in CRLF, holds no bare CR or
// LF, is at most 75 octets and splits no UTF-8 sequence.
func assertCRLFAndFolded(t *testing.T, b []byte) {
	t.Helper()
	if !bytes.HasSuffix(b, []byte("\r\n")) {
		t.Fatal("output does not end in CRLF")
	}
	folded := 0
	for i, line := range strings.Split(strings.TrimSuffix(string(b), "\r\n"), "\r\n") {
		switch {
		case strings.ContainsAny(line, "\r\n"):
			t.Fatalf("line %d holds a bare CR or LF: %q", i, line)
		case len(line) > foldLimit:
			t.Fatalf("line %d is %d octets: %q", i, len(line), line)
		case !utf8.ValidString(line):
			t.Fatalf("line %d splits a UTF-8 sequence: %q", i, line)
		case strings.HasPrefix(line, " "):
			folded++
		}
	}
	if folded == 0 {
		t.Fatal("nothing was folded")
	}
}

func TestRenderFeedRejectsBadEvents(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Feed)
	}{
		{"no UID", func(f *Feed) { f.Events[0].UID = "" }},
		{"end before start", func(f *Feed) { f.Events[0].End = f.Events[0].Start }},
		{"no modified time", func(f *Feed) { f.Events[0].Modified = time.Time{} }},
		{"unknown status", func(f *Feed) { f.Events[0].Status = "NEEDS-ACTION" }},
		{"relative URL", func(f *Feed) { f.Events[0].URL = "/admin/leads/1" }},
		{"no refresh interval", func(f *Feed) { f.Refresh = 0 }},
		{"refresh in seconds", func(f *Feed) { f.Refresh = 90 * time.Second }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := testFeed()
			tt.change(&f)
			if b, err := RenderFeed(f); err == nil {
				t.Fatalf("RenderFeed succeeded:\n%s", b)
			}
		})
	}
}

func TestDurationValue(t *testing.T) {
	for d, want := range map[time.Duration]string{15 * time.Minute: "PT15M", time.Hour: "PT1H", 90 * time.Minute: "PT1H30M", 24 * time.Hour: "PT24H"} {
		if got := durationValue(d); got != want {
			t.Errorf("durationValue(%s) = %q, want %q", d, got, want)
		}
	}
}

// checkedFeed is what the outside checkers print about a feed.
type checkedFeed struct {
	Method *string
	Name   string
	Events []struct {
		UID, Status, Summary string
		Sequence             int
	}
}

// The outside parsers read the feed, an empty one, and one with awkward
// text, as calendar apps would.
func TestRenderFeedOutsideParsers(t *testing.T) {
	awkward := testFeed()
	awkward.Events[0].Summary = "Zoë \"Z\" O'Neil, Acme; Ltd\\ 🚀" + strings.Repeat(" long", 30)
	awkward.Events[0].Description = "a\r\nATTENDEE:mailto:evil@x"
	empty := testFeed()
	empty.Events = nil
	for name, f := range map[string]Feed{"feed": testFeed(), "awkward": awkward, "empty": empty} {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "feed.ics")
			if err := os.WriteFile(file, mustRenderFeed(t, f), 0o600); err != nil {
				t.Fatal(err)
			}
			var libical, icaljs checkedFeed
			icaltest.RunChecker(t, &libical, "python3", filepath.Join("..", "..", "scripts", "check_feed.py"), file)
			icaltest.RunChecker(t, &icaljs, "node", filepath.Join("..", "..", "testdata", "icaljs", "check_feed.mjs"), file)
			for parser, got := range map[string]checkedFeed{"libical": libical, "ical.js": icaljs} {
				if got.Method != nil || got.Name != f.Name || len(got.Events) != len(f.Events) {
					t.Fatalf("%s read %+v", parser, got)
				}
				for i, e := range got.Events {
					want := f.Events[i]
					if e.UID != want.UID || e.Status != want.Status || e.Sequence != want.Sequence || e.Summary != want.Summary {
						t.Fatalf("%s read event %d as %+v, want %+v", parser, i, e, want)
					}
				}
			}
		})
	}
}
