package handlers

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"consultd/services"
)

// portalPage is the consultant's own page: bookings, weekly hours, time off
// and the calendar settings to come. Every time on it is in their zone.
type portalPage struct {
	Page
	Name      string
	TeamLabel string
	Zone      string
	ZoneLabel string

	Upcoming  []portalBooking
	Past      []portalBooking
	Cancelled []portalBooking

	HoursNotice string
	HoursError  string
	Hours       []hoursDay
	Week        []portalDay

	TimeOffNotice string
	TimeOffError  string
	TimeOff       []portalTimeOff
	TimeOffForm   timeOffForm

	Feed       *feedView // nil until the consultant asks for one
	FeedNotice string
	Busy       busyBox
}

// portalForms carry a refused post: what was typed, shown again as typed,
// and why it was refused.
type portalForms struct {
	hours        *services.WeekHours
	hoursErrors  map[string]string
	hoursMessage string
	timeOff      *timeOffForm
	busy         *busyForm
}

// refusal is the message at the top of a refused form:
// the fields say what is wrong, or, when none does, the service's message.
func refusal(what string, err error) string {
	if len(fieldErrors(err)) > 0 {
		return what + " not saved: please correct what is marked below."
	}
	return what + " not saved. " + formMessage(err)
}

// portalHome shows the page, with a note about the change just made.
func (h *Handler) portalHome(c *gin.Context) {
	h.renderPortal(c, http.StatusOK, portalForms{})
}

func (h *Handler) renderPortal(c *gin.Context, status int, forms portalForms) {
	o, err := h.portal.Overview(c.Request.Context())
	if err != nil {
		h.fail(c, err)
		return
	}
	p := h.page(c, "My bookings and hours", "")
	p.NoIndex = true
	page := portalPage{
		Page: p, Name: o.Consultant.Name, TeamLabel: teamLabel(o.Consultant.Team), Zone: o.Consultant.Timezone, ZoneLabel: o.ZoneLabel,
		Upcoming: portalBookings(o.Upcoming, o), Past: portalBookings(o.Past, o), Cancelled: portalBookings(o.Cancelled, o),
		Hours: hoursDays(o, forms), Week: portalWeek(o),
		TimeOff: portalTimeOffs(o, c.Query("done") == "timeoff", c.Query("id")), TimeOffForm: timeOffForm{Errors: map[string]string{}},
		HoursError: forms.hoursMessage,
	}
	if forms.timeOff != nil {
		page.TimeOffForm, page.TimeOffError = *forms.timeOff, forms.timeOff.Message
	}
	if page.Feed, page.FeedNotice, err = h.portalFeed(c, o.Loc); err != nil {
		h.fail(c, err)
		return
	}
	if page.Busy, err = h.busyBox(c, forms.busy); err != nil {
		h.fail(c, err)
		return
	}
	switch c.Query("done") {
	case "hours":
		page.HoursNotice = "Weekly hours saved. Here is what your next 7 days look like."
	case "timeoff":
		page.TimeOffNotice = "Time off added. New bookings cannot land in it."
	case "timeoff-removed":
		page.TimeOffNotice = "Time off removed. Those hours can be booked again."
	}
	c.HTML(status, "portal", page)
}

// portalBooking is one booking as the consultant reads it.
type portalBooking struct {
	DateTime   string // RFC 3339, for <time>
	Date       string // "Tue 8 Dec"
	Clock      string // "10:00-10:30"
	Prospect   string
	Company    string
	Team       string
	MeetingURL string
	LeadURL    string // the lead's page, while the booking stands
	Status     string
	Past       bool
	Now        bool
	InTimeOff  bool
}

var bookingStatusLabels = map[string]string{
	services.StatusHeld:           "Held",
	services.StatusPendingPayment: "Awaiting payment",
	services.StatusConfirmed:      "Confirmed",
	services.StatusCancelled:      "Cancelled",
	services.StatusExpired:        "Expired",
}

func portalBookings(list []services.Booking, o services.Overview) []portalBooking {
	inTimeOff := map[string]bool{}
	for _, t := range o.TimeOff {
		for _, b := range t.Bookings {
			inTimeOff[b.ID] = true
		}
	}
	out := make([]portalBooking, 0, len(list))
	for _, b := range list {
		start, end := b.Start.In(o.Loc), b.End.In(o.Loc)
		status := bookingStatusLabels[b.Status]
		if status == "" {
			status = b.Status
		}
		out = append(out, portalBooking{
			DateTime: start.Format(time.RFC3339), Date: portalDate(start, o.Now.In(o.Loc)), Clock: start.Format("15:04") + "–" + end.Format("15:04"),
			Prospect: b.LeadName, Company: b.LeadCompany, Team: teamLabel(b.Team), MeetingURL: b.MeetingURL, Status: status,
			Past: !b.End.After(o.Now), Now: !b.Start.After(o.Now) && b.End.After(o.Now), InTimeOff: inTimeOff[b.ID] && b.Live(), LeadURL: portalLeadURL(b),
		})
	}
	return out
}

// portalLeadURL links a booking to its lead's page, which a consultant may
// read while they meet the lead (not once the booking is called off).
func portalLeadURL(b services.Booking) string {
	if b.Status == services.StatusCancelled || b.Status == services.StatusExpired {
		return ""
	}
	return "/admin/leads/" + b.LeadID
}

// portalDate names a date, with the year only when it is not this year's.
func portalDate(t, now time.Time) string {
	if t.Year() != now.Year() {
		return t.Format("Mon 2 Jan 2006")
	}
	return t.Format("Mon 2 Jan")
}

// portalDay is one date of the coming week's working time.
type portalDay struct {
	Date    string
	Windows []string
	Note    string // when there are no windows: why
	Today   bool
}

func portalWeek(o services.Overview) []portalDay {
	out := make([]portalDay, 0, len(o.Windows))
	for i, d := range o.Windows {
		day := portalDay{Date: d.Date.Format("Mon 2 Jan"), Today: i == 0}
		for _, w := range d.Windows {
			day.Windows = append(day.Windows, clockSpan(w.Start.In(o.Loc), w.End.In(o.Loc)))
		}
		switch {
		case len(day.Windows) > 0:
		case d.HasHours:
			day.Note = "Time off"
		default:
			day.Note = "Not working"
		}
		out = append(out, day)
	}
	return out
}

// clockSpan is "09:00–12:00" within a day; an end at the next midnight is 24:00.
func clockSpan(start, end time.Time) string {
	e := end.Format("15:04")
	if e == "00:00" && end.After(start) {
		e = "24:00"
	}
	return start.Format("15:04") + "–" + e
}

// portalTimeOff is one span of time off with the bookings inside it.
type portalTimeOff struct {
	ID        int64
	When      string
	Reason    string
	Bookings  []portalBooking
	JustAdded bool
}

func portalTimeOffs(o services.Overview, added bool, addedID string) []portalTimeOff {
	out := make([]portalTimeOff, 0, len(o.TimeOff))
	for _, t := range o.TimeOff {
		out = append(out, portalTimeOff{
			ID: t.ID, When: timeOffSpan(t.Start.In(o.Loc), t.End.In(o.Loc)), Reason: t.Reason,
			Bookings: portalBookings(t.Bookings, o), JustAdded: added && strconv.FormatInt(t.ID, 10) == addedID,
		})
	}
	return out
}

// timeOffSpan says a span of time off the way people plan it: whole days
// as dates, anything else with its clock times.
func timeOffSpan(start, end time.Time) string {
	midnight := func(t time.Time) bool { return t.Hour() == 0 && t.Minute() == 0 }
	const day = "Mon 2 Jan 2006"
	if midnight(start) && midnight(end) {
		last := end.AddDate(0, 0, -1)
		if last.Format(time.DateOnly) == start.Format(time.DateOnly) {
			return start.Format(day) + ", all day"
		}
		return start.Format(day) + " – " + last.Format(day) + ", all day"
	}
	if end.Format(time.DateOnly) == start.Format(time.DateOnly) || (midnight(end) && end.AddDate(0, 0, -1).Format(time.DateOnly) == start.Format(time.DateOnly)) {
		return start.Format(day) + ", " + clockSpan(start, end)
	}
	return start.Format(day+", 15:04") + " – " + end.Format(day+", 15:04")
}
