package ical

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	goical "github.com/emersion/go-ical"
)

// feedProductID names us in a feed's PRODID.
const feedProductID = "-//consultd//Booking feeds//EN"

// Event statuses a feed shows (RFC 5545 §3.8.1.11).
const (
	StatusConfirmed = string(goical.EventConfirmed)
	StatusTentative = string(goical.EventTentative)
	StatusCancelled = string(goical.EventCancelled)
)

// Feed is a published calendar: no METHOD, so calendar apps read it as the
// current state of a calendar they subscribe to, not as a message to act
// on. Its events name no attendees.
type Feed struct {
	Name    string        // NAME (RFC 7986) and X-WR-CALNAME, what apps call the calendar
	Refresh time.Duration // REFRESH-INTERVAL (RFC 7986) and X-PUBLISHED-TTL
	Events  []FeedEvent
}

// FeedEvent is one event of a feed.
type FeedEvent struct {
	UID         string
	Sequence    int
	Status      string    // StatusConfirmed, StatusTentative or StatusCancelled
	Start, End  time.Time // written in UTC
	Created     time.Time // CREATED; optional
	Modified    time.Time // DTSTAMP and LAST-MODIFIED: when the event last changed
	Summary     string
	Description string
	Location    string // the meeting link
	URL         string // optional
}

// RenderFeed renders f as an iCalendar object with CRLF line ends and lines
// folded at 75 octets. The same feed always gives the same bytes: nothing
// in it depends on the time of rendering.
func RenderFeed(f Feed) ([]byte, error) {
	if f.Refresh < time.Minute || f.Refresh%time.Minute != 0 {
		return nil, fmt.Errorf("render feed: refresh interval %s is not whole minutes", f.Refresh)
	}
	cal := goical.NewCalendar()
	cal.Props.SetText(goical.PropProductID, feedProductID)
	cal.Props.SetText(goical.PropVersion, "2.0")
	cal.Props.SetText(goical.PropCalendarScale, "GREGORIAN")
	if name := text(strings.TrimSpace(f.Name)); name != "" {
		cal.Props.SetText(goical.PropName, name)
		cal.Props.SetText("X-WR-CALNAME", name)
		// go-ical marks an unknown property's text with VALUE=TEXT, which
		// is its default anyway; apps expect the plain form.
		delete(cal.Props.Get("X-WR-CALNAME").Params, goical.ParamValue)
	}
	refresh := durationValue(f.Refresh)
	cal.Props.Set(&goical.Prop{Name: goical.PropRefreshInterval, Params: goical.Params{goical.ParamValue: {"DURATION"}}, Value: refresh})
	cal.Props.Set(&goical.Prop{Name: "X-PUBLISHED-TTL", Params: goical.Params{}, Value: refresh})
	for i, ev := range f.Events {
		event, err := ev.vevent()
		if err != nil {
			return nil, fmt.Errorf("render feed: event %d: %w", i, err)
		}
		cal.Children = append(cal.Children, event)
	}
	if len(cal.Children) == 0 {
		// A VCALENDAR holds at least one component (RFC 5545 §3.6); a
		// calendar with no events carries the definition of UTC, which
		// every app reads and none shows.
		cal.Children = append(cal.Children, utcZone())
	}
	b, err := encode(cal)
	if err != nil {
		return nil, fmt.Errorf("render feed: %w", err)
	}
	return b, nil
}

func (ev FeedEvent) check() error {
	switch {
	case strings.TrimSpace(ev.UID) == "":
		return errors.New("empty UID")
	case ev.Sequence < 0:
		return fmt.Errorf("negative sequence %d", ev.Sequence)
	case ev.Start.IsZero() || ev.Modified.IsZero():
		return errors.New("start or modified time not set")
	case !ev.End.After(ev.Start):
		return errors.New("end is not after start")
	case ev.Status != StatusConfirmed && ev.Status != StatusTentative && ev.Status != StatusCancelled:
		return fmt.Errorf("status %q is not one a feed shows", ev.Status)
	}
	return nil
}

// vevent builds the VEVENT. A cancelled event stays in the feed, marked,
// and no longer blocks time (TRANSP:TRANSPARENT).
func (ev FeedEvent) vevent() (*goical.Component, error) {
	if err := ev.check(); err != nil {
		return nil, err
	}
	e := goical.NewEvent()
	e.Props.SetText(goical.PropUID, text(ev.UID))
	setSequence(e.Props, ev.Sequence)
	// Without METHOD, DTSTAMP is when the event last changed in the
	// calendar store (RFC 5545 §3.8.7.2), so it is stable between fetches.
	e.Props.SetDateTime(goical.PropDateTimeStamp, ev.Modified.UTC())
	e.Props.SetDateTime(goical.PropLastModified, ev.Modified.UTC())
	if !ev.Created.IsZero() {
		e.Props.SetDateTime(goical.PropCreated, ev.Created.UTC())
	}
	e.Props.SetDateTime(goical.PropDateTimeStart, ev.Start.UTC())
	e.Props.SetDateTime(goical.PropDateTimeEnd, ev.End.UTC())
	e.Props.SetText(goical.PropSummary, text(ev.Summary))
	if ev.Description != "" {
		e.Props.SetText(goical.PropDescription, text(ev.Description))
	}
	if ev.Location != "" {
		e.Props.SetText(goical.PropLocation, text(ev.Location))
	}
	if err := setURL(e.Props, ev.URL); err != nil {
		return nil, err
	}
	e.SetStatus(goical.EventStatus(ev.Status))
	transp := "OPAQUE"
	if ev.Status == StatusCancelled {
		transp = "TRANSPARENT"
	}
	e.Props.SetText(goical.PropTransparency, transp)
	return e.Component, nil
}

// durationValue writes d, whole minutes, as an RFC 5545 DURATION: PT15M, PT1H, PT1H30M.
func durationValue(d time.Duration) string {
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	s := "PT"
	if h > 0 {
		s += strconv.Itoa(h) + "H"
	}
	if m > 0 {
		s += strconv.Itoa(m) + "M"
	}
	return s
}

// utcZone is a VTIMEZONE for UTC.
func utcZone() *goical.Component {
	std := goical.NewComponent(goical.CompTimezoneStandard)
	std.Props.Set(&goical.Prop{Name: goical.PropDateTimeStart, Params: goical.Params{}, Value: "19700101T000000"})
	std.Props.Set(&goical.Prop{Name: goical.PropTimezoneOffsetFrom, Params: goical.Params{}, Value: "+0000"})
	std.Props.Set(&goical.Prop{Name: goical.PropTimezoneOffsetTo, Params: goical.Params{}, Value: "+0000"})
	std.Props.SetText(goical.PropTimezoneName, "UTC")
	zone := goical.NewComponent(goical.CompTimezone)
	zone.Props.SetText(goical.PropTimezoneID, "Etc/UTC")
	zone.Children = append(zone.Children, std)
	return zone
}
