package ical

import (
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	goical "github.com/emersion/go-ical"
)

// iTIP methods (RFC 5546) an invite carries.
const (
	MethodRequest = "REQUEST"
	MethodCancel  = "CANCEL"
)

// inviteProductID names us in an invite's PRODID, as RFC 5545 §3.7.3 asks.
const inviteProductID = "-//consultd//Consultation invites//EN"

// Person is a name and an email address.
type Person struct{ Name, Email string }

// Invite is one meeting as an iTIP message.
type Invite struct {
	UID         string
	Sequence    int
	Method      string    // "REQUEST" or "CANCEL"
	Start, End  time.Time // written in UTC (DTSTART:20261201T123000Z)
	Stamp       time.Time // DTSTAMP
	Summary     string
	Description string   // may contain CR/LF from user input: normalised
	Location    string   // the meeting link
	URL         string   // the manage link
	Organizer   Person   // the consultancy's mailbox
	Attendees   []Person // prospect first, then consultant
}

// RenderInvite renders inv as an iCalendar object with CRLF line ends and
// lines folded at 75 octets.
func RenderInvite(inv Invite) ([]byte, error) {
	if err := inv.check(); err != nil {
		return nil, fmt.Errorf("render invite: %w", err)
	}
	event, err := inv.vevent()
	if err != nil {
		return nil, fmt.Errorf("render invite: %w", err)
	}
	cal := goical.NewCalendar()
	cal.Props.SetText(goical.PropProductID, inviteProductID)
	cal.Props.SetText(goical.PropVersion, "2.0")
	cal.Props.SetText(goical.PropCalendarScale, "GREGORIAN")
	cal.Props.SetText(goical.PropMethod, inv.Method)
	cal.Children = append(cal.Children, event)
	b, err := encode(cal)
	if err != nil {
		return nil, fmt.Errorf("render invite: %w", err)
	}
	return b, nil
}

func (inv Invite) check() error {
	switch {
	case inv.Method != MethodRequest && inv.Method != MethodCancel:
		return fmt.Errorf("method %q is neither REQUEST nor CANCEL", inv.Method)
	case strings.TrimSpace(inv.UID) == "":
		return errors.New("empty UID")
	case inv.Sequence < 0:
		return fmt.Errorf("negative sequence %d", inv.Sequence)
	case inv.Start.IsZero() || inv.Stamp.IsZero():
		return errors.New("start or stamp not set")
	case !inv.End.After(inv.Start):
		return errors.New("end is not after start")
	case len(inv.Attendees) == 0:
		return errors.New("no attendees")
	}
	return nil
}

// vevent builds the VEVENT; go-ical escapes text values but refuses raw line
// breaks, so user text goes through text first.
func (inv Invite) vevent() (*goical.Component, error) {
	e := goical.NewEvent()
	e.Props.SetText(goical.PropUID, text(inv.UID))
	setSequence(e.Props, inv.Sequence)
	e.Props.SetDateTime(goical.PropDateTimeStamp, inv.Stamp.UTC())
	e.Props.SetDateTime(goical.PropDateTimeStart, inv.Start.UTC())
	e.Props.SetDateTime(goical.PropDateTimeEnd, inv.End.UTC())
	e.Props.SetText(goical.PropSummary, text(inv.Summary))
	e.Props.SetText(goical.PropTransparency, "OPAQUE")
	if inv.Description != "" {
		e.Props.SetText(goical.PropDescription, text(inv.Description))
	}
	if inv.Location != "" {
		e.Props.SetText(goical.PropLocation, text(inv.Location))
	}
	if err := setURL(e.Props, inv.URL); err != nil {
		return nil, err
	}
	if err := inv.setPeople(e.Props); err != nil {
		return nil, err
	}
	if inv.Method == MethodCancel {
		e.SetStatus(goical.EventCancelled)
		return e.Component, nil
	}
	e.SetStatus(goical.EventConfirmed)
	e.Children = append(e.Children, alarm(inv.Summary))
	return e.Component, nil
}

func (inv Invite) setPeople(props goical.Props) error {
	org, err := calAddress(goical.PropOrganizer, inv.Organizer)
	if err != nil {
		return fmt.Errorf("organizer: %w", err)
	}
	props.Set(org)
	for i, p := range inv.Attendees {
		att, err := calAddress(goical.PropAttendee, p)
		if err != nil {
			return fmt.Errorf("attendee %d: %w", i, err)
		}
		att.Params.Set(goical.ParamRole, "REQ-PARTICIPANT")
		att.Params.Set(goical.ParamParticipationStatus, "NEEDS-ACTION")
		att.Params.Set(goical.ParamRSVP, "TRUE")
		props.Add(att)
	}
	return nil
}

// calAddress is an ORGANIZER or ATTENDEE property: mailto value, CN param.
func calAddress(name string, p Person) (*goical.Prop, error) {
	addr, err := mail.ParseAddress(p.Email)
	if err != nil || addr.Address != strings.TrimSpace(p.Email) {
		return nil, fmt.Errorf("invalid email address %q", p.Email)
	}
	prop := goical.NewProp(name)
	prop.Value = "mailto:" + addr.Address
	if cn := paramText(p.Name); cn != "" {
		prop.Params.Set(goical.ParamCommonName, cn)
	}
	return prop, nil
}

func setSequence(props goical.Props, n int) {
	props.Set(&goical.Prop{Name: goical.PropSequence, Params: goical.Params{}, Value: strconv.Itoa(n)})
}

func setURL(props goical.Props, raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() {
		return fmt.Errorf("invalid URL %q", raw)
	}
	props.SetURI(goical.PropURL, u)
	return nil
}

func alarm(summary string) *goical.Component {
	a := goical.NewComponent(goical.CompAlarm)
	a.Props.SetText(goical.PropAction, "DISPLAY")
	a.Props.Set(&goical.Prop{Name: goical.PropTrigger, Params: goical.Params{}, Value: "-PT15M"})
	// DISPLAY alarms must carry a DESCRIPTION (RFC 5545 §3.6.6).
	a.Props.SetText(goical.PropDescription, text(summary))
	return a
}
