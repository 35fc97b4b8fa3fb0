package ical

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	goical "github.com/emersion/go-ical"

	"consultd/internal/icaltest"
)

func testInvite() Invite {
	start := time.Date(2026, 12, 1, 12, 30, 0, 0, time.UTC)
	return Invite{
		UID:         "booking-42@consult.example.com",
		Method:      MethodRequest,
		Start:       start,
		End:         start.Add(30 * time.Minute),
		Stamp:       time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC),
		Summary:     "Django consultation with Stackpoint Consulting",
		Description: "Join the meeting: https://meet.example.com/abc",
		Location:    "https://meet.example.com/abc",
		URL:         "https://consult.example.com/bookings/tok",
		Organizer:   Person{"Stackpoint Consulting", "consult@example.com"},
		Attendees:   []Person{{"Ada Lovelace", "ada@acme.example"}, {"Grace Hopper", "grace@example.com"}},
	}
}

func mustRenderInvite(t *testing.T, ev Invite) []byte {
	t.Helper()
	b, err := RenderInvite(ev)
	if err != nil {
		t.Fatalf("RenderInvite: %v", err)
	}
	return b
}

func TestRenderInviteRoundTrip(t *testing.T) {
	tests := []struct {
		name     string
		method   string
		sequence int
		status   goical.EventStatus
		alarms   int
	}{
		{"request", MethodRequest, 0, goical.EventConfirmed, 1},
		{"rescheduled request", MethodRequest, 1, goical.EventConfirmed, 1},
		{"cancel", MethodCancel, 2, goical.EventCancelled, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := testInvite()
			ev.Method, ev.Sequence = tt.method, tt.sequence
			// A zone other than UTC must still come out as UTC.
			ev.Start = ev.Start.In(time.FixedZone("NST", -(3*3600 + 1800)))
			cal, e := icaltest.DecodeOne(t, mustRenderInvite(t, ev))

			if got := icaltest.PropText(t, cal.Props, goical.PropMethod); got != tt.method {
				t.Fatalf("METHOD = %q, want %q", got, tt.method)
			}
			if got := icaltest.PropText(t, e.Props, goical.PropUID); got != ev.UID {
				t.Fatalf("UID = %q, want %q", got, ev.UID)
			}
			if seq, err := e.Props.Get(goical.PropSequence).Int(); err != nil || seq != tt.sequence {
				t.Fatalf("SEQUENCE = %d (%v), want %d", seq, err, tt.sequence)
			}
			if got, want := e.Props.Get(goical.PropDateTimeStart).Value, "20261201T123000Z"; got != want {
				t.Fatalf("DTSTART = %q, want %q", got, want)
			}
			if start, err := e.DateTimeStart(nil); err != nil || !start.Equal(ev.Start) || start.Location() != time.UTC {
				t.Fatalf("DTSTART decodes to %v (%v), want %v in UTC", start, err, ev.Start)
			}
			if status, err := e.Status(); err != nil || status != tt.status {
				t.Fatalf("STATUS = %q (%v), want %q", status, err, tt.status)
			}
			if got := len(e.Children); got != tt.alarms {
				t.Fatalf("got %d VALARMs, want %d", got, tt.alarms)
			}
			if tt.alarms > 0 && e.Children[0].Props.Get(goical.PropTrigger).Value != "-PT15M" {
				t.Fatalf("TRIGGER = %q, want -PT15M", e.Children[0].Props.Get(goical.PropTrigger).Value)
			}
		})
	}
}

func TestRenderInvitePeople(t *testing.T) {
	_, e := icaltest.DecodeOne(t, mustRenderInvite(t, testInvite()))
	org := e.Props.Get(goical.PropOrganizer)
	if org.Value != "mailto:consult@example.com" || org.Params.Get(goical.ParamCommonName) != "Stackpoint Consulting" {
		t.Fatalf("ORGANIZER = %q %v", org.Value, org.Params)
	}
	atts := e.Props.Values(goical.PropAttendee)
	if len(atts) != 2 || atts[0].Value != "mailto:ada@acme.example" || atts[1].Value != "mailto:grace@example.com" {
		t.Fatalf("ATTENDEEs = %+v, want the prospect then the consultant", atts)
	}
	for param, want := range map[string]string{"CN": "Ada Lovelace", "ROLE": "REQ-PARTICIPANT", "PARTSTAT": "NEEDS-ACTION", "RSVP": "TRUE"} {
		if got := atts[0].Params.Get(param); got != want {
			t.Fatalf("ATTENDEE %s = %q, want %q", param, got, want)
		}
	}
	if got := icaltest.PropText(t, e.Props, goical.PropTransparency); got != "OPAQUE" {
		t.Fatalf("TRANSP = %q", got)
	}
}

func TestRenderInviteLinesAreCRLFAndFolded(t *testing.T) {
	ev := testInvite()
	ev.Description = strings.Repeat("Café crème 🚀 naïve résumé, ", 20) + "\r\nend"
	ev.Attendees[0].Name = strings.Repeat("Zoë ", 30)
	b := mustRenderInvite(t, ev)

	if !bytes.HasSuffix(b, []byte("\r\n")) {
		t.Fatal("output does not end in CRLF")
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\r\n"), "\r\n")
	folded := 0
	for i, line := range lines {
		if strings.ContainsAny(line, "\r\n") {
			t.Fatalf("line %d holds a bare CR or LF: %q", i, line)
		}
		if len(line) > foldLimit {
			t.Fatalf("line %d is %d octets: %q", i, len(line), line)
		}
		if !utf8.ValidString(line) {
			t.Fatalf("line %d splits a UTF-8 sequence: %q", i, line)
		}
		if strings.HasPrefix(line, " ") {
			folded++
		}
	}
	if folded < 10 {
		t.Fatalf("only %d continuation lines; the long description was not folded", folded)
	}
	_, e := icaltest.DecodeOne(t, b)
	if got, want := icaltest.PropText(t, e.Props, goical.PropDescription), strings.ReplaceAll(ev.Description, "\r\n", "\n"); got != want {
		t.Fatalf("DESCRIPTION after unfolding = %q, want %q", got, want)
	}
	if got, want := e.Props.Values(goical.PropAttendee)[0].Params.Get("CN"), strings.TrimSpace(ev.Attendees[0].Name); got != want {
		t.Fatalf("CN after unfolding = %q, want %q", got, want)
	}
}

func TestRenderInviteUserLineBreaksCannotInjectProperties(t *testing.T) {
	ev := testInvite()
	ev.Description = "hi\r\nATTENDEE:mailto:evil@x"
	ev.Summary = "Call\rX-EVIL:1\nORGANIZER:mailto:evil@x"
	ev.Attendees[0].Name = "Ada\r\nATTENDEE:mailto:evil@x"
	ev.Attendees[1].Name = `Grace "G" Hopper` + "\n:x"
	b := mustRenderInvite(t, ev)

	for _, line := range strings.Split(string(b), "\r\n") {
		if strings.HasPrefix(line, "ATTENDEE:") || strings.HasPrefix(line, "X-EVIL") || strings.HasPrefix(line, "ORGANIZER:") {
			t.Fatalf("user text started a property: %q\n%s", line, b)
		}
	}
	_, e := icaltest.DecodeOne(t, b)
	if got := len(e.Props.Values(goical.PropAttendee)); got != 2 {
		t.Fatalf("got %d ATTENDEEs, want 2:\n%s", got, b)
	}
	if got := len(e.Props.Values(goical.PropOrganizer)); got != 1 {
		t.Fatalf("got %d ORGANIZERs, want 1", got)
	}
	if e.Props.Get("X-EVIL") != nil {
		t.Fatal("X-EVIL property injected")
	}
	if got, want := icaltest.PropText(t, e.Props, goical.PropDescription), "hi\nATTENDEE:mailto:evil@x"; got != want {
		t.Fatalf("DESCRIPTION = %q, want %q", got, want)
	}
	if got, want := icaltest.PropText(t, e.Props, goical.PropSummary), "Call\nX-EVIL:1\nORGANIZER:mailto:evil@x"; got != want {
		t.Fatalf("SUMMARY = %q, want %q", got, want)
	}
	atts := e.Props.Values(goical.PropAttendee)
	if got, want := atts[0].Params.Get("CN"), "Ada ATTENDEE:mailto:evil@x"; got != want {
		t.Fatalf("CN = %q, want %q", got, want)
	}
	if got, want := atts[1].Params.Get("CN"), "Grace 'G' Hopper :x"; got != want {
		t.Fatalf("CN = %q, want %q", got, want)
	}
}

func TestRenderInviteRejectsBadEvents(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Invite)
	}{
		{"no UID", func(ev *Invite) { ev.UID = " " }},
		{"unknown method", func(ev *Invite) { ev.Method = "PUBLISH" }},
		{"end before start", func(ev *Invite) { ev.End = ev.Start.Add(-time.Minute) }},
		{"no stamp", func(ev *Invite) { ev.Stamp = time.Time{} }},
		{"no attendees", func(ev *Invite) { ev.Attendees = nil }},
		{"bad attendee email", func(ev *Invite) { ev.Attendees[1].Email = "grace@example.com\r\nX-EVIL:1" }},
		{"bad organizer email", func(ev *Invite) { ev.Organizer.Email = "not an address" }},
		{"relative URL", func(ev *Invite) { ev.URL = "/bookings/tok" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := testInvite()
			tt.change(&ev)
			if b, err := RenderInvite(ev); err == nil {
				t.Fatalf("RenderInvite succeeded:\n%s", b)
			}
		})
	}
}
