package services

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-ical"
)

// iTIP methods (RFC 5546) an invite carries.
const (
	MethodRequest = "REQUEST"
	MethodCancel  = "CANCEL"
)

// icsProductID names us in PRODID, as RFC 5545 §3.7.3 asks.
const icsProductID = "-//consultd//Consultation invites//EN"

// icsFoldLimit is the longest physical line RFC 5545 §3.1 allows, in octets
// and without the CRLF.
const icsFoldLimit = 75

// icsLineEnd ends every content line (RFC 5545 §3.1).
const icsLineEnd = "\r\n"

// Person is a name and an email address.
type Person struct{ Name, Email string }

// CalendarEvent is one booking as an iTIP message.
type CalendarEvent struct {
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

// RenderICS renders ev as an iCalendar object with CRLF line ends and lines
// folded at 75 octets.
func RenderICS(ev CalendarEvent) ([]byte, error) {
	if err := ev.check(); err != nil {
		return nil, fmt.Errorf("render ics: %w", err)
	}
	event, err := ev.vevent()
	if err != nil {
		return nil, fmt.Errorf("render ics: %w", err)
	}
	cal := ical.NewCalendar()
	cal.Props.SetText(ical.PropProductID, icsProductID)
	cal.Props.SetText(ical.PropVersion, "2.0")
	cal.Props.SetText(ical.PropCalendarScale, "GREGORIAN")
	cal.Props.SetText(ical.PropMethod, ev.Method)
	cal.Children = append(cal.Children, event)

	var buf bytes.Buffer
	fw := &foldWriter{w: &buf}
	if err := ical.NewEncoder(fw).Encode(cal); err != nil {
		return nil, fmt.Errorf("render ics: encode: %w", err)
	}
	if err := fw.Close(); err != nil {
		return nil, fmt.Errorf("render ics: %w", err)
	}
	return buf.Bytes(), nil
}

func (ev CalendarEvent) check() error {
	switch {
	case ev.Method != MethodRequest && ev.Method != MethodCancel:
		return fmt.Errorf("method %q is neither REQUEST nor CANCEL", ev.Method)
	case strings.TrimSpace(ev.UID) == "":
		return errors.New("empty UID")
	case ev.Sequence < 0:
		return fmt.Errorf("negative sequence %d", ev.Sequence)
	case ev.Start.IsZero() || ev.Stamp.IsZero():
		return errors.New("start or stamp not set")
	case !ev.End.After(ev.Start):
		return errors.New("end is not after start")
	case len(ev.Attendees) == 0:
		return errors.New("no attendees")
	}
	return nil
}

// vevent builds the VEVENT; go-ical escapes text values but refuses raw line
// breaks, so user text goes through icsText first.
func (ev CalendarEvent) vevent() (*ical.Component, error) {
	e := ical.NewEvent()
	e.Props.SetText(ical.PropUID, icsText(ev.UID))
	e.Props.Set(&ical.Prop{Name: ical.PropSequence, Params: ical.Params{}, Value: strconv.Itoa(ev.Sequence)})
	e.Props.SetDateTime(ical.PropDateTimeStamp, ev.Stamp.UTC())
	e.Props.SetDateTime(ical.PropDateTimeStart, ev.Start.UTC())
	e.Props.SetDateTime(ical.PropDateTimeEnd, ev.End.UTC())
	e.Props.SetText(ical.PropSummary, icsText(ev.Summary))
	e.Props.SetText(ical.PropTransparency, "OPAQUE")
	if ev.Description != "" {
		e.Props.SetText(ical.PropDescription, icsText(ev.Description))
	}
	if ev.Location != "" {
		e.Props.SetText(ical.PropLocation, icsText(ev.Location))
	}
	if err := setICSURL(e.Props, ev.URL); err != nil {
		return nil, err
	}
	if err := ev.setPeople(e.Props); err != nil {
		return nil, err
	}
	if ev.Method == MethodCancel {
		e.SetStatus(ical.EventCancelled)
		return e.Component, nil
	}
	e.SetStatus(ical.EventConfirmed)
	e.Children = append(e.Children, icsAlarm(ev.Summary))
	return e.Component, nil
}

func (ev CalendarEvent) setPeople(props ical.Props) error {
	org, err := calAddress(ical.PropOrganizer, ev.Organizer)
	if err != nil {
		return fmt.Errorf("organizer: %w", err)
	}
	props.Set(org)
	for i, p := range ev.Attendees {
		att, err := calAddress(ical.PropAttendee, p)
		if err != nil {
			return fmt.Errorf("attendee %d: %w", i, err)
		}
		att.Params.Set(ical.ParamRole, "REQ-PARTICIPANT")
		att.Params.Set(ical.ParamParticipationStatus, "NEEDS-ACTION")
		att.Params.Set(ical.ParamRSVP, "TRUE")
		props.Add(att)
	}
	return nil
}

// calAddress is an ORGANIZER or ATTENDEE property: mailto value, CN param.
func calAddress(name string, p Person) (*ical.Prop, error) {
	addr, err := mail.ParseAddress(p.Email)
	if err != nil || addr.Address != strings.TrimSpace(p.Email) {
		return nil, fmt.Errorf("invalid email address %q", p.Email)
	}
	prop := ical.NewProp(name)
	prop.Value = "mailto:" + addr.Address
	if cn := icsParamText(p.Name); cn != "" {
		prop.Params.Set(ical.ParamCommonName, cn)
	}
	return prop, nil
}

func setICSURL(props ical.Props, raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() {
		return fmt.Errorf("invalid URL %q", raw)
	}
	props.SetURI(ical.PropURL, u)
	return nil
}

func icsAlarm(summary string) *ical.Component {
	alarm := ical.NewComponent(ical.CompAlarm)
	alarm.Props.SetText(ical.PropAction, "DISPLAY")
	alarm.Props.Set(&ical.Prop{Name: ical.PropTrigger, Params: ical.Params{}, Value: "-PT15M"})
	// DISPLAY alarms must carry a DESCRIPTION (RFC 5545 §3.6.6).
	alarm.Props.SetText(ical.PropDescription, icsText(summary))
	return alarm
}

// icsText turns every CR, LF and CRLF into LF, which go-ical writes as the
// escaped "\n", and drops other control characters, which TEXT forbids.
func icsText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return r
		}
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// icsParamText makes a name safe as a parameter value: a parameter has no
// escape for line breaks or double quotes, so they become spaces and
// apostrophes.
func icsParamText(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '"':
			return '\''
		case r < 0x20 || r == 0x7f:
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// foldWriter folds content lines at 75 octets (RFC 5545 §3.1), since go-ical
// writes each line whole. It holds bytes until a CRLF ends a line, so a fold
// never splits a UTF-8 sequence, and refuses a bare CR or LF, which would
// start a new property.
type foldWriter struct {
	w    io.Writer
	line []byte
}

func (f *foldWriter) Write(p []byte) (int, error) {
	f.line = append(f.line, p...)
	for {
		i := bytes.Index(f.line, []byte(icsLineEnd))
		if i < 0 {
			return len(p), nil
		}
		if err := f.writeLine(f.line[:i]); err != nil {
			return 0, err
		}
		f.line = append(f.line[:0], f.line[i+2:]...)
	}
}

func (f *foldWriter) writeLine(line []byte) error {
	if bytes.ContainsAny(line, "\r\n") {
		return errors.New("content line holds a bare CR or LF")
	}
	out := make([]byte, 0, len(line)+len(line)/icsFoldLimit*3+2)
	limit := icsFoldLimit
	for len(line) > limit {
		cut := limit
		for !utf8.RuneStart(line[cut]) {
			cut--
		}
		out = append(out, line[:cut]...)
		out = append(out, "\r\n "...)
		line = line[cut:]
		limit = icsFoldLimit - 1 // the leading space counts
	}
	out = append(out, line...)
	out = append(out, icsLineEnd...)
	_, err := f.w.Write(out)
	return err
}

// Close reports a last line left without its CRLF.
func (f *foldWriter) Close() error {
	if len(f.line) > 0 {
		return errors.New("content line not ended by CRLF")
	}
	return nil
}
