package services

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goical "github.com/emersion/go-ical"

	"consultd/internal/icaltest"
)

func inviteTestDetails(t testing.TB) InviteDetails {
	t.Helper()
	start := time.Date(2026, 12, 1, 12, 30, 0, 0, time.UTC) // 9:00 a.m. in St. John's
	return InviteDetails{
		UID:          "booking-42@consult.example.com",
		Method:       MethodRequest,
		Start:        start,
		End:          start.Add(30 * time.Minute),
		Stamp:        time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC),
		Prospect:     Person{"Ada Lovelace", "ada@acme.example"},
		ProspectTZ:   mustLoadLocation(t, "America/St_Johns"),
		Consultant:   Person{"Grace Hopper", "grace@example.com"},
		ConsultantTZ: mustLoadLocation(t, "America/Vancouver"),
		Team:         TeamDjango,
		Company:      "Acme",
		MeetingURL:   "https://meet.example.com/abc",
		ManageURL:    "https://consult.example.com/bookings/tok",
		ICSURL:       "https://consult.example.com/bookings/tok/invite.ics",
		Organizer:    Person{"Stackpoint Consulting", "consult@example.com"},
	}
}

func mustInviteEmail(t *testing.T, build func(InviteDetails) (Email, error), d InviteDetails) Email {
	t.Helper()
	e, err := build(d)
	if err != nil {
		t.Fatalf("build email: %v", err)
	}
	return e
}

func assertContainsAll(t *testing.T, what, s string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(s, want) {
			t.Fatalf("%s lacks %q:\n%s", what, want, s)
		}
	}
}

func TestProspectInviteEmail(t *testing.T) {
	d := inviteTestDetails(t)
	e := mustInviteEmail(t, ProspectInviteEmail, d)

	if got, want := e.Subject, "Your Django consultation: Tue 1 Dec, 9:00 a.m. NST"; got != want {
		t.Fatalf("Subject = %q, want %q", got, want)
	}
	if e.To != d.Prospect || e.From != d.Organizer || e.Method != MethodRequest || !e.Date.Equal(d.Stamp) {
		t.Fatalf("envelope = %+v", e)
	}
	assertContainsAll(t, "text", e.Text, "Hello Ada Lovelace", "Django",
		"Tue 1 Dec 2026, 9:00-9:30 a.m. Newfoundland Standard Time", d.MeetingURL, "reschedule or cancel", d.ManageURL, d.ICSURL)
	assertContainsAll(t, "HTML", e.HTML, `href="https://meet.example.com/abc"`, "reschedule or cancel", "Newfoundland Standard Time")
	if strings.Contains(e.Text, "has moved") {
		t.Fatal("a new booking says it has moved")
	}
	ics, err := InviteICS(d)
	if err != nil {
		t.Fatalf("InviteICS: %v", err)
	}
	if !bytes.Equal(e.Calendar, ics) {
		t.Fatal("the email's .ics differs from InviteICS")
	}
	_, ev := icaltest.DecodeOne(t, ics)
	if got, want := icaltest.PropText(t, ev.Props, goical.PropSummary), "Django consultation with Stackpoint Consulting"; got != want {
		t.Fatalf("SUMMARY = %q, want %q", got, want)
	}
	assertContainsAll(t, "DESCRIPTION", icaltest.PropText(t, ev.Props, goical.PropDescription), d.MeetingURL, d.ManageURL, "Acme")
	if _, err := RenderEmail(e); err != nil {
		t.Fatalf("RenderEmail: %v", err)
	}
}

func TestProspectInviteEmailRescheduled(t *testing.T) {
	d := inviteTestDetails(t)
	d.Sequence, d.Rescheduled, d.Team = 1, true, TeamNodeJS
	e := mustInviteEmail(t, ProspectInviteEmail, d)
	if got, want := e.Subject, "Moved: Node.js consultation, Tue 1 Dec, 9:00 a.m. NST"; got != want {
		t.Fatalf("Subject = %q, want %q", got, want)
	}
	assertContainsAll(t, "text", e.Text, "Your consultation has moved", "9:00-9:30 a.m. Newfoundland Standard Time", d.ManageURL)
	assertContainsAll(t, "HTML", e.HTML, "Your consultation has moved")
}

func TestProspectInviteEmailCancel(t *testing.T) {
	d := inviteTestDetails(t)
	d.Sequence, d.Method = 2, MethodCancel
	e := mustInviteEmail(t, ProspectInviteEmail, d)
	if got, want := e.Subject, "Cancelled: Django consultation, Tue 1 Dec, 9:00 a.m. NST"; got != want {
		t.Fatalf("Subject = %q, want %q", got, want)
	}
	assertContainsAll(t, "text", e.Text, "has been cancelled", "Tue 1 Dec 2026, 9:00-9:30 a.m. Newfoundland Standard Time")
	if e.Method != MethodCancel {
		t.Fatalf("Method = %q", e.Method)
	}
	_, ev := icaltest.DecodeOne(t, e.Calendar)
	if status, _ := ev.Status(); status != goical.EventCancelled {
		t.Fatalf("STATUS = %q", status)
	}
}

func TestConsultantNoticeEmail(t *testing.T) {
	d := inviteTestDetails(t)
	e := mustInviteEmail(t, ConsultantNoticeEmail, d)
	if got, want := e.Subject, "New booking: Django consultation, Tue 1 Dec, 4:30 a.m. PST"; got != want {
		t.Fatalf("Subject = %q, want %q", got, want)
	}
	if e.To != d.Consultant {
		t.Fatalf("To = %+v", e.To)
	}
	assertContainsAll(t, "text", e.Text, "Hello Grace Hopper", "Tue 1 Dec 2026, 4:30-5:00 a.m. Pacific Standard Time",
		"Ada Lovelace <ada@acme.example>", "Acme", d.MeetingURL)
	prospect := mustInviteEmail(t, ProspectInviteEmail, d)
	if bytes.Contains(e.Calendar, []byte(d.ManageURL)) || strings.Contains(e.Text, d.ManageURL) || strings.Contains(e.HTML, d.ManageURL) {
		t.Fatal("the consultant's notice carries the prospect's manage link")
	}
	for _, want := range []string{"UID:" + d.UID, "SEQUENCE:0", "METHOD:REQUEST"} {
		if !bytes.Contains(e.Calendar, []byte(want)) || !bytes.Contains(prospect.Calendar, []byte(want)) {
			t.Fatalf("both calendars must carry the same event (%s)", want)
		}
	}

	d.Method, d.Sequence = MethodCancel, 1
	if got := mustInviteEmail(t, ConsultantNoticeEmail, d).Subject; got != "Cancelled: Django consultation, Tue 1 Dec, 4:30 a.m. PST" {
		t.Fatalf("cancel Subject = %q", got)
	}
}

func TestInviteEmailEscapesUserInputInHTML(t *testing.T) {
	d := inviteTestDetails(t)
	d.Prospect.Name = `<script>alert("x")</script>`
	d.Company = `Acme & <b>Sons</b>`
	for name, build := range map[string]func(InviteDetails) (Email, error){
		"prospect": ProspectInviteEmail, "consultant": ConsultantNoticeEmail,
	} {
		e := mustInviteEmail(t, build, d)
		if strings.Contains(e.HTML, "<script>") || strings.Contains(e.HTML, "<b>Sons") {
			t.Fatalf("%s HTML holds raw user markup:\n%s", name, e.HTML)
		}
		if !strings.Contains(e.HTML, "&lt;script&gt;") {
			t.Fatalf("%s HTML lacks the escaped name:\n%s", name, e.HTML)
		}
	}
}

func TestInviteEmailRejectsMissingZone(t *testing.T) {
	d := inviteTestDetails(t)
	d.ConsultantTZ = nil
	if _, err := ProspectInviteEmail(d); err == nil {
		t.Fatal("built an invite without the consultant's zone")
	}
	d = inviteTestDetails(t)
	d.Team = "rails"
	if _, err := InviteICS(d); err == nil {
		t.Fatal("built an invite for an unknown team")
	}
}

// inviteCases are the three messages of a booking's life that outside
// parsers must accept.
func inviteCases(t *testing.T) map[string]InviteDetails {
	request := inviteTestDetails(t)
	moved := request
	moved.Sequence, moved.Rescheduled = 1, true
	moved.Start, moved.End = moved.Start.Add(24*time.Hour), moved.End.Add(24*time.Hour)
	cancel := moved
	cancel.Sequence, cancel.Method, cancel.Rescheduled = 2, MethodCancel, false
	return map[string]InviteDetails{"request": request, "rescheduled": moved, "cancel": cancel}
}

func TestInviteICSOutsideParsers(t *testing.T) {
	for name, d := range inviteCases(t) {
		t.Run(name, func(t *testing.T) {
			// Awkward user input too: it must stay one valid property.
			d.Company = "Acme,\r\nATTENDEE:mailto:evil@x; \"quoted\" Zoë 🚀 " + strings.Repeat("long ", 30)
			ics, err := InviteICS(d)
			if err != nil {
				t.Fatalf("InviteICS: %v", err)
			}
			file := filepath.Join(t.TempDir(), "invite.ics")
			if err := os.WriteFile(file, ics, 0o600); err != nil {
				t.Fatal(err)
			}
			t.Run("libical", func(t *testing.T) { checkWithLibical(t, file, d) })
			t.Run("icaljs", func(t *testing.T) { checkWithICALJS(t, file, d) })
		})
	}
}

func checkWithLibical(t *testing.T, file string, d InviteDetails) {
	var got struct {
		Method, UID, Dtstart, Dtend, Status string
		Sequence, Alarms                    int
	}
	icaltest.RunChecker(t, &got, "python3", filepath.Join("..", "scripts", "check_ics.py"), file)
	wantStatus, wantAlarms := "CONFIRMED", 1
	if d.Method == MethodCancel {
		wantStatus, wantAlarms = "CANCELLED", 0
	}
	if got.Method != d.Method || got.UID != d.UID || got.Sequence != d.Sequence || got.Status != wantStatus || got.Alarms != wantAlarms {
		t.Fatalf("libical read %+v, want method %s uid %s sequence %d status %s alarms %d",
			got, d.Method, d.UID, d.Sequence, wantStatus, wantAlarms)
	}
	if want := d.Start.UTC().Format("20060102T150405Z"); got.Dtstart != want {
		t.Fatalf("libical DTSTART = %q, want %q", got.Dtstart, want)
	}
}

func checkWithICALJS(t *testing.T, file string, d InviteDetails) {
	if _, err := os.Stat(filepath.Join("..", "testdata", "icaljs", "node_modules", "ical.js")); err != nil {
		t.Fatalf("ical.js is not installed (%v): run `make test`, which runs scripts/test-deps.sh", err)
	}
	var got struct {
		UID, Method, Start, End, Status string
		Sequence                        int
		Attendees                       []string
	}
	icaltest.RunChecker(t, &got, "node", filepath.Join("..", "testdata", "icaljs", "check.mjs"), file)
	if got.UID != d.UID || got.Method != d.Method || got.Sequence != d.Sequence {
		t.Fatalf("ical.js read %+v, want uid %s method %s sequence %d", got, d.UID, d.Method, d.Sequence)
	}
	if want := d.Start.UTC().Format("2006-01-02T15:04:05.000Z"); got.Start != want {
		t.Fatalf("ical.js start = %q, want %q", got.Start, want)
	}
	if want := d.End.UTC().Format("2006-01-02T15:04:05.000Z"); got.End != want {
		t.Fatalf("ical.js end = %q, want %q", got.End, want)
	}
	if want := []string{"mailto:" + d.Prospect.Email, "mailto:" + d.Consultant.Email}; strings.Join(got.Attendees, " ") != strings.Join(want, " ") {
		t.Fatalf("ical.js attendees = %v, want %v", got.Attendees, want)
	}
}

// No text a prospect typed reaches a Subject, which mail clients show
// before anyone opens the message: not the name, not the company.
func TestMailSubjectsCarryNoProspectText(t *testing.T) {
	d := inviteTestDetails(t)
	d.Prospect.Name = "Free money \u202e moc.live"
	d.Company = "Acme\r\nBcc: victim@example.org"
	builders := map[string]func(InviteDetails) (Email, error){
		"prospect": ProspectInviteEmail, "consultant": ConsultantNoticeEmail, "reminder": ReminderEmail, "existing": ExistingBookingEmail,
	}
	for name, build := range builders {
		for _, method := range []string{"REQUEST", MethodCancel} {
			d.Method = method
			e := mustInviteEmail(t, build, d)
			if strings.Contains(e.Subject, "Free money") || strings.Contains(e.Subject, "Acme") || strings.Contains(e.Subject, "victim") {
				t.Fatalf("%s %s Subject %q carries prospect text", name, method, e.Subject)
			}
		}
	}
}

// BenchmarkRenderBookingMail renders what a confirmed booking queues: the
// prospect's invite and the consultant's notice, as the outbox stores them.
func BenchmarkRenderBookingMail(b *testing.B) {
	d := inviteTestDetails(b)
	bookings := &Bookings{}
	b.ReportAllocs()
	for b.Loop() {
		prospect, consultant, err := bookings.pairMessages("booking-42", d, "invite", "consultant")
		if err != nil || len(prospect.Message) == 0 || len(consultant.Message) == 0 {
			b.Fatalf("render: %v", err)
		}
	}
}

// The pair a booking queues keeps the prospect's manage link (whoever
// holds it can cancel) out of every part of the consultant's message,
// the .ics included.
func TestPairMessagesKeepTheManageLinkFromTheConsultant(t *testing.T) {
	d := inviteTestDetails(t)
	prospect, consultant, err := (&Bookings{}).pairMessages("booking-42", d, "invite", "consultant")
	if err != nil {
		t.Fatal(err)
	}
	if prospect.To != d.Prospect.Email || consultant.To != d.Consultant.Email {
		t.Fatalf("recipients %q and %q", prospect.To, consultant.To)
	}
	decoded := func(msg OutboxMessage) string {
		_, root := mustParseMessage(t, msg.Message)
		var all []string
		var walk func(mimeNode)
		walk = func(n mimeNode) {
			all = append(all, string(n.body))
			for _, p := range n.parts {
				walk(p)
			}
		}
		walk(root)
		return strings.Join(all, "\n")
	}
	// The .ics folds long lines; unfold it before looking for the link.
	unfold := strings.NewReplacer("\r\n ", "", "\r\n\t", "")
	if got := unfold.Replace(decoded(prospect)); !strings.Contains(got, d.ManageURL) {
		t.Fatalf("the prospect's message lacks the manage link %s", d.ManageURL)
	}
	if got := unfold.Replace(decoded(consultant)); strings.Contains(got, "/bookings/tok") {
		t.Fatalf("the consultant's message carries the prospect's manage link:\n%s", got)
	}
}
