package services

import (
	"context"
	"fmt"
	"strings"
	"time"

	"consultd/internal/ical"
)

// How far back a feed reaches, how long a booking called off stays in it,
// and a bound on its size.
const (
	feedPastDays      = 30
	feedCancelledDays = 30
	feedMaxEvents     = 5000
)

// feedWindowSQL picks, on a row of bookings b, what a feed shows: bookings
// that hold or held their time, from 30 days back to the booking horizon,
// and those called off (cancelled, or holds that expired unpaid) within
// the last 30 days. $2 is now, $3 the days back, $4 the horizon in days,
// $5 the days a cancellation stays.
const feedWindowSQL = `b.ends_at > $2::timestamptz - make_interval(days => $3)
	AND b.starts_at <= $2::timestamptz + make_interval(days => $4)
	AND (b.status IN ('held', 'pending_payment', 'confirmed', 'no_show')
	     OR (b.status IN ('cancelled', 'expired') AND COALESCE(b.cancelled_at, b.updated_at) > $2::timestamptz - make_interval(days => $5)))`

// feedBooking is what a feed shows of a booking. The query reads neither
// the prospect's email nor the manage link, so no feed can carry them.
type feedBooking struct {
	ID             string    `db:"id"`
	LeadID         string    `db:"lead_id"`
	Status         string    `db:"status"`
	UID            string    `db:"uid"`
	Sequence       int       `db:"sequence"`
	Team           string    `db:"team"`
	Start          time.Time `db:"starts_at"`
	End            time.Time `db:"ends_at"`
	Created        time.Time `db:"created_at"`
	Modified       time.Time `db:"updated_at"`
	ConsultantName string    `db:"consultant_name"`
	MeetingURL     string    `db:"meeting_url"`
	LeadName       string    `db:"lead_name"`
	Company        string    `db:"company"`
}

// render reads the owner's bookings in the feed's window and renders them,
// soonest first.
func (f *Feeds) render(ctx context.Context, owner feedOwner) ([]byte, error) {
	col, id := owner.column()
	var rows []feedBooking
	err := f.db.SelectContext(ctx, &rows, `
		SELECT b.id, b.lead_id, b.status, b.uid, b.sequence, b.team, b.starts_at, b.ends_at, b.created_at, b.updated_at,
		       c.name AS consultant_name, c.meeting_url, i.name AS lead_name, i.company
		FROM bookings b JOIN consultants c ON c.id = b.consultant_id JOIN inquiries i ON i.id = b.inquiry_id
		WHERE b.`+col+` = $1 AND `+feedWindowSQL+`
		ORDER BY b.starts_at, b.id
		LIMIT $6`, id, f.now(), feedPastDays, f.cfg.HorizonDays, feedCancelledDays, feedMaxEvents)
	if err != nil {
		return nil, fmt.Errorf("feed bookings: %w", err)
	}
	team := !owner.ConsultantID.Valid
	feed := ical.Feed{Name: f.calendarName(owner), Refresh: FeedRefresh}
	for _, b := range rows {
		feed.Events = append(feed.Events, f.event(b, team))
	}
	return ical.RenderFeed(feed)
}

// calendarName is what calendar apps call the feed, such as
// "Stackpoint Consulting: Owen MacLeod" or "Stackpoint Consulting: Django team".
func (f *Feeds) calendarName(owner feedOwner) string {
	if owner.ConsultantID.Valid {
		return f.cfg.SiteName + ": " + owner.Name
	}
	return f.cfg.SiteName + ": " + teamDisplayName(owner.Team.String) + " team"
}

// feedStatuses maps a booking's status to the event's and a word before
// its summary.
var feedStatuses = map[string]struct{ status, prefix string }{
	StatusHeld:           {ical.StatusTentative, "Held: "},
	StatusPendingPayment: {ical.StatusTentative, "Awaiting payment: "},
	StatusConfirmed:      {ical.StatusConfirmed, ""},
	"no_show":            {ical.StatusConfirmed, "No-show: "},
	StatusCancelled:      {ical.StatusCancelled, "Cancelled: "},
	StatusExpired:        {ical.StatusCancelled, "Cancelled: "},
}

// event is one booking as a feed event. A team feed names the consultant.
// A booking called off keeps its place, marked, without the meeting link,
// and in a consultant's feed without the lead page, which they can no
// longer read; sales staff can.
func (f *Feeds) event(b feedBooking, team bool) ical.FeedEvent {
	st := feedStatuses[b.Status]
	who := b.LeadName
	if c := strings.TrimSpace(b.Company); c != "" {
		who += " (" + c + ")"
	}
	summary := who
	if team {
		summary = b.ConsultantName + " with " + who
	}
	lines := []string{teamDisplayName(b.Team) + " consultation with " + who + "."}
	if team {
		lines = append(lines, "Consultant: "+b.ConsultantName)
	}
	ev := ical.FeedEvent{
		UID: b.UID, Sequence: b.Sequence, Status: st.status, Start: b.Start, End: b.End,
		Created: b.Created, Modified: b.Modified, Summary: st.prefix + summary,
	}
	calledOff := st.status == ical.StatusCancelled
	lines = append(lines, "")
	switch {
	case b.Status == StatusExpired:
		lines = append(lines, "The hold expired before payment; the time is free again.")
	case calledOff:
		lines = append(lines, "This consultation was cancelled.")
	case b.MeetingURL != "":
		ev.Location = b.MeetingURL
		lines = append(lines, "Meeting link: "+b.MeetingURL)
	}
	if team || !calledOff {
		ev.URL = f.leadPage(b.LeadID)
		lines = append(lines, "Lead page: "+ev.URL)
	}
	ev.Description = strings.Join(lines, "\n")
	return ev
}

// leadPage is the staff page of a lead.
func (f *Feeds) leadPage(leadID string) string {
	u := *f.cfg.BaseURL
	u.Path = "/admin/leads/" + leadID
	return u.String()
}
