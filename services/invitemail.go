package services

import (
	"bytes"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"strings"
	"sync"
	texttemplate "text/template"
	"time"

	"consultd/internal/ical"
	"consultd/templates"
)

// iTIP methods (RFC 5546) an invite carries.
const (
	MethodRequest = ical.MethodRequest
	MethodCancel  = ical.MethodCancel
)

// InviteDetails is what an invite email needs to know about a booking.
type InviteDetails struct {
	UID          string
	Sequence     int
	Method       string // REQUEST or CANCEL
	Start, End   time.Time
	Stamp        time.Time
	Prospect     Person
	ProspectTZ   *time.Location
	Consultant   Person
	ConsultantTZ *time.Location
	Team         string // "django" or "nodejs"
	Company      string
	MeetingURL   string
	ManageURL    string
	ICSURL       string
	Organizer    Person // SMTP_FROM mailbox and SITE_NAME
	Rescheduled  bool   // REQUEST that moves an existing booking
	Reassigned   bool   // REQUEST that keeps the time with another consultant
	Refund       RefundNote
}

// ProspectInviteEmail is the invite (or cancellation) for the prospect; times in the prospect's zone.
func ProspectInviteEmail(d InviteDetails) (Email, error) {
	kind := "invite"
	if d.Method == MethodCancel {
		kind = "cancel"
	}
	return d.email(d.Prospect, d.ProspectTZ, kind, d.prospectSubject())
}

// ConsultantNoticeEmail tells the consultant of the same event; times in the
// consultant's zone; the same UID. The prospect's manage link stays out of
// it: whoever holds that link can cancel the booking.
func ConsultantNoticeEmail(d InviteDetails) (Email, error) {
	d.ManageURL, d.ICSURL = "", ""
	return d.email(d.Consultant, d.ConsultantTZ, "consultant", d.consultantSubject())
}

// ReminderEmail reminds the prospect of an upcoming consultation. It carries
// no calendar part: the event is already in their calendar.
func ReminderEmail(d InviteDetails) (Email, error) {
	text, html, err := renderInviteBodies("reminder", d.mailData(d.ProspectTZ))
	if err != nil {
		return Email{}, fmt.Errorf("reminder email: %w", err)
	}
	subject := "Reminder: " + teamDisplayName(d.Team) + " consultation, " + shortMeetingTime(d.Start, d.ProspectTZ)
	return Email{From: d.Organizer, To: d.Prospect, Subject: mailHeaderText(subject), Text: text, HTML: html, Date: d.Stamp}, nil
}

// ExistingBookingEmail tells the address on file that it already holds an
// upcoming consultation and how to manage it. It names no one: the request
// that caused it may have come from a stranger who typed the address.
func ExistingBookingEmail(d InviteDetails) (Email, error) {
	text, html, err := renderInviteBodies("existing", d.mailData(d.ProspectTZ))
	if err != nil {
		return Email{}, fmt.Errorf("existing booking email: %w", err)
	}
	subject := "Your upcoming consultation with " + d.Organizer.Name
	return Email{From: d.Organizer, To: d.Prospect, Subject: mailHeaderText(subject), Text: text, HTML: html, Date: d.Stamp}, nil
}

// RefundNote says what a refund mail reports.
type RefundNote struct {
	Amount string // e.g. "CA$250.00"
	Reason string
}

// RefundEmail tells the prospect their payment went back. It carries no
// calendar part: the booking's own mail said whether it stands.
func RefundEmail(d InviteDetails) (Email, error) {
	data := d.mailData(d.ProspectTZ)
	data.RefundAmount, data.RefundReason = d.Refund.Amount, d.Refund.Reason
	text, html, err := renderInviteBodies("refund", data)
	if err != nil {
		return Email{}, fmt.Errorf("refund email: %w", err)
	}
	subject := "Refund: " + d.Refund.Amount + " for your " + teamDisplayName(d.Team) + " consultation"
	return Email{From: d.Organizer, To: d.Prospect, Subject: mailHeaderText(subject), Text: text, HTML: html, Date: d.Stamp}, nil
}

// InviteICS is the .ics of the event, the same bytes the email carries (for the download link).
func InviteICS(d InviteDetails) ([]byte, error) {
	if err := d.check(); err != nil {
		return nil, fmt.Errorf("invite ics: %w", err)
	}
	return ical.RenderInvite(d.event())
}

func (d InviteDetails) check() error {
	switch {
	case d.ProspectTZ == nil || d.ConsultantTZ == nil:
		return errors.New("prospect or consultant time zone not set")
	case !ValidTeam(d.Team):
		return fmt.Errorf("unknown team %q", d.Team)
	}
	return nil
}

// email renders one message of kind ("invite", "cancel", "consultant") to
// someone, with times in their zone. Every recipient's .ics has the same
// UID, sequence and times; what else it holds follows d, so the
// consultant's carries no manage link (ConsultantNoticeEmail).
func (d InviteDetails) email(to Person, loc *time.Location, kind, subject string) (Email, error) {
	ics, err := InviteICS(d)
	if err != nil {
		return Email{}, fmt.Errorf("%s email: %w", kind, err)
	}
	text, html, err := renderInviteBodies(kind, d.mailData(loc))
	if err != nil {
		return Email{}, fmt.Errorf("%s email: %w", kind, err)
	}
	return Email{
		// User text in a subject (the company) must not span lines.
		From: d.Organizer, To: to, Subject: mailHeaderText(subject),
		Text: text, HTML: html,
		Calendar: ics, Method: d.Method, Date: d.Stamp,
	}, nil
}

func (d InviteDetails) event() ical.Invite {
	return ical.Invite{
		UID: d.UID, Sequence: d.Sequence, Method: d.Method,
		Start: d.Start, End: d.End, Stamp: d.Stamp,
		Summary:     d.summary(),
		Description: d.description(),
		Location:    d.MeetingURL,
		URL:         d.ManageURL,
		Organizer:   ical.Person(d.Organizer),
		Attendees:   []ical.Person{ical.Person(d.Prospect), ical.Person(d.Consultant)},
	}
}

// summary is e.g. "Django consultation with Stackpoint Consulting".
func (d InviteDetails) summary() string {
	s := teamDisplayName(d.Team) + " consultation"
	if name := strings.TrimSpace(d.Organizer.Name); name != "" {
		s += " with " + name
	}
	return s
}

func (d InviteDetails) description() string {
	lines := []string{d.summary() + " for " + d.prospectLabel() + "."}
	if d.Method == MethodCancel {
		return strings.Join(append(lines, "", "This consultation has been cancelled."), "\n")
	}
	lines = append(lines, "", "Join the meeting: "+d.MeetingURL)
	if d.ManageURL != "" {
		lines = append(lines, "Reschedule or cancel: "+d.ManageURL)
	}
	return strings.Join(lines, "\n")
}

// prospectLabel is "Ada Lovelace (Acme)", or the name alone without a company.
func (d InviteDetails) prospectLabel() string {
	if c := strings.TrimSpace(d.Company); c != "" {
		return d.Prospect.Name + " (" + c + ")"
	}
	return d.Prospect.Name
}

func (d InviteDetails) prospectSubject() string {
	what := teamDisplayName(d.Team) + " consultation"
	when := shortMeetingTime(d.Start, d.ProspectTZ)
	switch {
	case d.Method == MethodCancel:
		return "Cancelled: " + what + ", " + when
	case d.Reassigned:
		return "Updated: " + what + ", " + when
	case d.Rescheduled:
		return "Moved: " + what + ", " + when
	}
	return "Your " + what + ": " + when
}

// consultantSubject carries no text a prospect typed: a subject is what a
// mail client shows before anyone opens the message.
func (d InviteDetails) consultantSubject() string {
	rest := teamDisplayName(d.Team) + " consultation, " + shortMeetingTime(d.Start, d.ConsultantTZ)
	switch {
	case d.Method == MethodCancel:
		return "Cancelled: " + rest
	case d.Rescheduled:
		return "Moved: " + rest
	}
	return "New booking: " + rest
}

// inviteMailData is what the templates in templates/mail see.
type inviteMailData struct {
	SiteName      string
	ProspectName  string
	ProspectEmail string
	Company       string
	Consultant    string
	Team          string
	When          string
	MeetingURL    string
	ManageURL     string
	ICSURL        string
	Rescheduled   bool
	Reassigned    bool
	Cancelled     bool
	RefundAmount  string
	RefundReason  string
}

func (d InviteDetails) mailData(loc *time.Location) inviteMailData {
	return inviteMailData{
		SiteName: d.Organizer.Name, ProspectName: d.Prospect.Name, ProspectEmail: d.Prospect.Email,
		Company: d.Company, Consultant: d.Consultant.Name, Team: teamDisplayName(d.Team),
		When:       FormatMeetingTime(d.Start, d.End, loc),
		MeetingURL: d.MeetingURL, ManageURL: d.ManageURL, ICSURL: d.ICSURL,
		Rescheduled: d.Rescheduled && d.Method != MethodCancel,
		Reassigned:  d.Reassigned && d.Method != MethodCancel,
		Cancelled:   d.Method == MethodCancel,
	}
}

func teamDisplayName(team string) string {
	switch team {
	case TeamDjango:
		return "Django"
	case TeamNodeJS:
		return "Node.js"
	}
	return team
}

// inviteTemplates are the mail bodies, one text and one HTML file per kind.
type inviteTemplates struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

// loadInviteTemplates parses templates/mail on first use; the files are
// embedded, so an error here is a build mistake a test catches.
var loadInviteTemplates = sync.OnceValues(func() (inviteTemplates, error) {
	text, err := texttemplate.ParseFS(templates.MailFS, "mail/*.txt.tmpl")
	if err != nil {
		return inviteTemplates{}, fmt.Errorf("parse text mail templates: %w", err)
	}
	html, err := htmltemplate.ParseFS(templates.MailFS, "mail/*.html.tmpl")
	if err != nil {
		return inviteTemplates{}, fmt.Errorf("parse html mail templates: %w", err)
	}
	return inviteTemplates{text: text, html: html}, nil
})

func renderInviteBodies(kind string, data inviteMailData) (text, html string, err error) {
	t, err := loadInviteTemplates()
	if err != nil {
		return "", "", err
	}
	var tb, hb bytes.Buffer
	if err := t.text.ExecuteTemplate(&tb, kind+".txt.tmpl", data); err != nil {
		return "", "", fmt.Errorf("render %s text: %w", kind, err)
	}
	if err := t.html.ExecuteTemplate(&hb, kind+".html.tmpl", data); err != nil {
		return "", "", fmt.Errorf("render %s html: %w", kind, err)
	}
	return tb.String(), hb.String(), nil
}
