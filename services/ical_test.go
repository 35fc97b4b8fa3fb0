package services

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-ical"
)

func icsTestEvent() CalendarEvent {
	start := time.Date(2026, 12, 1, 12, 30, 0, 0, time.UTC)
	return CalendarEvent{
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

func mustRenderICS(t *testing.T, ev CalendarEvent) []byte {
	t.Helper()
	b, err := RenderICS(ev)
	if err != nil {
		t.Fatalf("RenderICS: %v", err)
	}
	return b
}

func mustDecodeICS(t *testing.T, b []byte) (*ical.Calendar, ical.Event) {
	t.Helper()
	cal, err := ical.NewDecoder(bytes.NewReader(b)).Decode()
	if err != nil {
		t.Fatalf("decode: %v\n%s", err, b)
	}
	events := cal.Events()
	if len(events) != 1 {
		t.Fatalf("got %d VEVENTs, want 1", len(events))
	}
	return cal, events[0]
}

func icsPropText(t *testing.T, props ical.Props, name string) string {
	t.Helper()
	s, err := props.Text(name)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return s
}

func TestRenderICSRoundTrip(t *testing.T) {
	tests := []struct {
		name     string
		method   string
		sequence int
		status   ical.EventStatus
		alarms   int
	}{
		{"request", MethodRequest, 0, ical.EventConfirmed, 1},
		{"rescheduled request", MethodRequest, 1, ical.EventConfirmed, 1},
		{"cancel", MethodCancel, 2, ical.EventCancelled, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := icsTestEvent()
			ev.Method, ev.Sequence = tt.method, tt.sequence
			// A zone other than UTC must still come out as UTC.
			ev.Start = ev.Start.In(time.FixedZone("NST", -(3*3600 + 1800)))
			cal, e := mustDecodeICS(t, mustRenderICS(t, ev))

			if got := icsPropText(t, cal.Props, ical.PropMethod); got != tt.method {
				t.Fatalf("METHOD = %q, want %q", got, tt.method)
			}
			if got := icsPropText(t, e.Props, ical.PropUID); got != ev.UID {
				t.Fatalf("UID = %q, want %q", got, ev.UID)
			}
			if seq, err := e.Props.Get(ical.PropSequence).Int(); err != nil || seq != tt.sequence {
				t.Fatalf("SEQUENCE = %d (%v), want %d", seq, err, tt.sequence)
			}
			if got, want := e.Props.Get(ical.PropDateTimeStart).Value, "20261201T123000Z"; got != want {
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
			if tt.alarms > 0 && e.Children[0].Props.Get(ical.PropTrigger).Value != "-PT15M" {
				t.Fatalf("TRIGGER = %q, want -PT15M", e.Children[0].Props.Get(ical.PropTrigger).Value)
			}
		})
	}
}

func TestRenderICSPeople(t *testing.T) {
	_, e := mustDecodeICS(t, mustRenderICS(t, icsTestEvent()))
	org := e.Props.Get(ical.PropOrganizer)
	if org.Value != "mailto:consult@example.com" || org.Params.Get(ical.ParamCommonName) != "Stackpoint Consulting" {
		t.Fatalf("ORGANIZER = %q %v", org.Value, org.Params)
	}
	atts := e.Props.Values(ical.PropAttendee)
	if len(atts) != 2 || atts[0].Value != "mailto:ada@acme.example" || atts[1].Value != "mailto:grace@example.com" {
		t.Fatalf("ATTENDEEs = %+v, want the prospect then the consultant", atts)
	}
	for param, want := range map[string]string{"CN": "Ada Lovelace", "ROLE": "REQ-PARTICIPANT", "PARTSTAT": "NEEDS-ACTION", "RSVP": "TRUE"} {
		if got := atts[0].Params.Get(param); got != want {
			t.Fatalf("ATTENDEE %s = %q, want %q", param, got, want)
		}
	}
	if got := icsPropText(t, e.Props, ical.PropTransparency); got != "OPAQUE" {
		t.Fatalf("TRANSP = %q", got)
	}
}

func TestRenderICSLinesAreCRLFAndFolded(t *testing.T) {
	ev := icsTestEvent()
	ev.Description = strings.Repeat("Café crème 🚀 naïve résumé, ", 20) + "\r\nend"
	ev.Attendees[0].Name = strings.Repeat("Zoë ", 30)
	b := mustRenderICS(t, ev)

	if !bytes.HasSuffix(b, []byte("\r\n")) {
		t.Fatal("output does not end in CRLF")
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\r\n"), "\r\n")
	folded := 0
	for i, line := range lines {
		if strings.ContainsAny(line, "\r\n") {
			t.Fatalf("line %d holds a bare CR or LF: %q", i, line)
		}
		if len(line) > icsFoldLimit {
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
	_, e := mustDecodeICS(t, b)
	if got, want := icsPropText(t, e.Props, ical.PropDescription), strings.ReplaceAll(ev.Description, "\r\n", "\n"); got != want {
		t.Fatalf("DESCRIPTION after unfolding = %q, want %q", got, want)
	}
	if got, want := e.Props.Values(ical.PropAttendee)[0].Params.Get("CN"), strings.TrimSpace(ev.Attendees[0].Name); got != want {
		t.Fatalf("CN after unfolding = %q, want %q", got, want)
	}
}

func TestRenderICSUserLineBreaksCannotInjectProperties(t *testing.T) {
	ev := icsTestEvent()
	ev.Description = "hi\r\nATTENDEE:mailto:evil@x"
	ev.Summary = "Call\rX-EVIL:1\nORGANIZER:mailto:evil@x"
	ev.Attendees[0].Name = "Ada\r\nATTENDEE:mailto:evil@x"
	ev.Attendees[1].Name = `Grace "G" Hopper` + "\n:x"
	b := mustRenderICS(t, ev)

	for _, line := range strings.Split(string(b), "\r\n") {
		if strings.HasPrefix(line, "ATTENDEE:") || strings.HasPrefix(line, "X-EVIL") || strings.HasPrefix(line, "ORGANIZER:") {
			t.Fatalf("user text started a property: %q\n%s", line, b)
		}
	}
	_, e := mustDecodeICS(t, b)
	if got := len(e.Props.Values(ical.PropAttendee)); got != 2 {
		t.Fatalf("got %d ATTENDEEs, want 2:\n%s", got, b)
	}
	if got := len(e.Props.Values(ical.PropOrganizer)); got != 1 {
		t.Fatalf("got %d ORGANIZERs, want 1", got)
	}
	if e.Props.Get("X-EVIL") != nil {
		t.Fatal("X-EVIL property injected")
	}
	if got, want := icsPropText(t, e.Props, ical.PropDescription), "hi\nATTENDEE:mailto:evil@x"; got != want {
		t.Fatalf("DESCRIPTION = %q, want %q", got, want)
	}
	if got, want := icsPropText(t, e.Props, ical.PropSummary), "Call\nX-EVIL:1\nORGANIZER:mailto:evil@x"; got != want {
		t.Fatalf("SUMMARY = %q, want %q", got, want)
	}
	atts := e.Props.Values(ical.PropAttendee)
	if got, want := atts[0].Params.Get("CN"), "Ada ATTENDEE:mailto:evil@x"; got != want {
		t.Fatalf("CN = %q, want %q", got, want)
	}
	if got, want := atts[1].Params.Get("CN"), "Grace 'G' Hopper :x"; got != want {
		t.Fatalf("CN = %q, want %q", got, want)
	}
}

func TestRenderICSRejectsBadEvents(t *testing.T) {
	tests := []struct {
		name   string
		change func(*CalendarEvent)
	}{
		{"no UID", func(ev *CalendarEvent) { ev.UID = " " }},
		{"unknown method", func(ev *CalendarEvent) { ev.Method = "PUBLISH" }},
		{"end before start", func(ev *CalendarEvent) { ev.End = ev.Start.Add(-time.Minute) }},
		{"no stamp", func(ev *CalendarEvent) { ev.Stamp = time.Time{} }},
		{"no attendees", func(ev *CalendarEvent) { ev.Attendees = nil }},
		{"bad attendee email", func(ev *CalendarEvent) { ev.Attendees[1].Email = "grace@example.com\r\nX-EVIL:1" }},
		{"bad organizer email", func(ev *CalendarEvent) { ev.Organizer.Email = "not an address" }},
		{"relative URL", func(ev *CalendarEvent) { ev.URL = "/bookings/tok" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := icsTestEvent()
			tt.change(&ev)
			if b, err := RenderICS(ev); err == nil {
				t.Fatalf("RenderICS succeeded:\n%s", b)
			}
		})
	}
}

func TestFoldWriter(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"short line", "A:b\r\n", "A:b\r\n"},
		{"exactly 75 octets", strings.Repeat("x", 75) + "\r\n", strings.Repeat("x", 75) + "\r\n"},
		{"76 octets", strings.Repeat("x", 76) + "\r\n", strings.Repeat("x", 75) + "\r\n x\r\n"},
		{"continuations hold 74 octets", strings.Repeat("x", 75+74+1) + "\r\n",
			strings.Repeat("x", 75) + "\r\n " + strings.Repeat("x", 74) + "\r\n x\r\n"},
		{"rune across the limit moves whole", strings.Repeat("x", 74) + "é\r\n", strings.Repeat("x", 74) + "\r\n é\r\n"},
		{"emoji across the limit moves whole", strings.Repeat("x", 73) + "🚀y\r\n", strings.Repeat("x", 73) + "\r\n 🚀y\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			fw := &foldWriter{w: &b}
			// Byte by byte, so a line and a rune arrive split across writes.
			for i := range len(tt.in) {
				if _, err := fw.Write([]byte{tt.in[i]}); err != nil {
					t.Fatalf("Write: %v", err)
				}
			}
			if err := fw.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if got := b.String(); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFoldWriterRefusesBareLineBreaks(t *testing.T) {
	for _, in := range []string{"A:b\nB:c\r\n", "A:b\rB:c\r\n"} {
		fw := &foldWriter{w: &bytes.Buffer{}}
		if _, err := fw.Write([]byte(in)); err == nil {
			t.Fatalf("Write(%q) succeeded", in)
		}
	}
	fw := &foldWriter{w: &bytes.Buffer{}}
	if _, err := fw.Write([]byte("A:b")); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if err := fw.Close(); err == nil {
		t.Fatal("Close accepted a line without CRLF")
	}
}
