package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"

	"consultd/services"
)

type bookingPage struct {
	Page
	Inquiry   services.Inquiry
	TeamLabel string
	Region    string
	Picker    slotPicker
	APIBase   string
	Types     []typeOption
	Chosen    typeOption
}

// typeOption is a session type as the booking page offers it, priced for
// the prospect's region.
type typeOption struct {
	Slug, Name, Description, Price string
	Paid, Selected                 bool
	URL                            string
}

// typeOptions lists what the inquiry can book, marking the chosen type
// (the free consultation unless the page asks for another).
func (h *Handler) typeOptions(c *gin.Context, inq services.Inquiry, base string) ([]typeOption, typeOption, error) {
	types, err := h.sessionTypes.Active(c.Request.Context())
	if err != nil {
		return nil, typeOption{}, err
	}
	chosen := sessionTypeParam(c)
	if chosen == "" {
		chosen = services.DefaultSessionType
	}
	var out []typeOption
	var sel typeOption
	for _, t := range types {
		cents, currency := t.Price(inq.Region)
		if t.Paid() && (cents == 0 || !h.paymentsEnabled) {
			continue // not sold in this region, or payments are off
		}
		o := typeOption{Slug: t.Slug, Name: t.Name, Description: t.Description, Price: services.FormatPrice(cents, currency),
			Paid: cents > 0, Selected: t.Slug == chosen, URL: withEmbed(c, base+"?type="+t.Slug)}
		if o.Selected {
			sel = o
		}
		out = append(out, o)
	}
	if sel.Slug == "" && len(out) > 0 {
		out[0].Selected, sel = true, out[0]
	}
	return out, sel, nil
}

// inquiryPage reads the inquiry a prospect's pages are about, after setting
// the headers every page with their details needs; on failure it has
// answered. An inquiry answered by email shows only that an email went out.
func (h *Handler) inquiryPage(c *gin.Context) (services.Inquiry, bool) {
	privateLink(c)
	h.allowFramingIfEmbed(c)
	inq, err := h.leads.Inquiry(c.Request.Context(), c.Param("id"))
	if err != nil {
		h.fail(c, err)
		return inq, false
	}
	if inq.ExistingBookingMailed() {
		h.renderEmailSent(c, http.StatusOK)
		return inq, false
	}
	return inq, true
}

// renderEmailSent is the whole answer when the address on file was mailed
// instead of offered a second booking: it says no more than that.
func (h *Handler) renderEmailSent(c *gin.Context, status int) {
	p := h.page(c, "Check your email", "")
	p.NoIndex = true
	c.HTML(status, "email_sent", emailSentPage{Page: p, Message: services.ErrExistingBookingMailed.Message})
}

type emailSentPage struct {
	Page
	Message string
}

// leadBooking shows a week of open slots in the prospect's zone.
func (h *Handler) leadBooking(c *gin.Context) {
	inq, ok := h.inquiryPage(c)
	if !ok {
		return
	}
	h.renderBooking(c, http.StatusOK, inq, "")
}

func (h *Handler) renderBooking(c *gin.Context, status int, inq services.Inquiry, formError string, next ...services.Slot) {
	req := services.SlotRequest{InquiryID: inq.ID, Timezone: c.Query("tz"), From: c.Query("from")}
	if req.Timezone == "" {
		req.Timezone = c.PostForm("tz")
	}
	picker, err := h.slotPicker(c, "/leads/"+inq.ID, inq.Region, req, "", nil)
	if err != nil {
		h.fail(c, err)
		return
	}
	picker.FormError, picker.Next = formError, slotViews(next, mustZone(picker.TZ))
	types, chosen, err := h.typeOptions(c, inq, "/leads/"+inq.ID)
	if err != nil {
		h.fail(c, err)
		return
	}
	picker.Type = chosen.Slug
	p := h.page(c, "Book your consultation", "")
	p.NoIndex = true
	c.HTML(status, "booking", bookingPage{Page: p, Inquiry: inq, TeamLabel: teamLabel(inq.Team), Region: services.RegionLabel(inq.Region),
		Picker: picker, Types: types, Chosen: chosen})
}

type confirmPage struct {
	Page
	Inquiry   services.Inquiry
	TeamLabel string
	Start     string
	When      string
	TZ        string
	Action    string
	BackURL   string
	Type      typeOption
}

// confirmBooking is the no-JavaScript confirm step for a chosen slot. A
// start the service would not book goes back to the week with the reason.
func (h *Handler) confirmBooking(c *gin.Context) {
	inq, ok := h.inquiryPage(c)
	if !ok {
		return
	}
	tz := c.DefaultQuery("tz", inq.Timezone)
	loc, err := services.LoadZone(tz)
	if err != nil || !services.ZoneInRegion(inq.Region, tz) {
		tz, loc = inq.Timezone, mustZone(inq.Timezone)
	}
	start, err := parseStart(c.Query("start"))
	if err == nil {
		err = h.bookings.CheckStart(c.Request.Context(), inq.Team, inq.Region, start, "", tz)
	}
	if h.bookingRefused(c, err, func(status int, msg string, next []services.Slot) { h.renderBooking(c, status, inq, msg, next...) }) {
		return
	}
	_, chosen, err := h.typeOptions(c, inq, "/leads/"+inq.ID)
	if err != nil {
		h.fail(c, err)
		return
	}
	back := backToPicker(c, "/leads/"+inq.ID, tz, start)
	if chosen.Slug != services.DefaultSessionType {
		back += "&type=" + chosen.Slug
	}
	p := h.page(c, "Confirm your consultation", "")
	p.NoIndex = true
	c.HTML(http.StatusOK, "confirm", confirmPage{
		Page: p, Inquiry: inq, TeamLabel: teamLabel(inq.Team), Start: start.Format(time.RFC3339),
		When: services.FormatMeetingTime(start, start.Add(services.SlotLength), loc), TZ: tz,
		Action: withEmbed(c, "/leads/"+inq.ID+"/book"), BackURL: back, Type: chosen,
	})
}

// backToPicker returns to the week and zone the slot was chosen in.
func backToPicker(c *gin.Context, base, tz string, start time.Time) string {
	loc := mustZone(tz)
	day := start.In(loc)
	weekStart := day
	if from, err := time.ParseInLocation(time.DateOnly, c.Query("from"), loc); err == nil && !from.After(day) {
		weekStart = from
	}
	q := url.Values{"tz": {tz}, "from": {weekStart.Format(time.DateOnly)}}
	if isEmbed(c) {
		q.Set("embed", "1")
	}
	return base + "?" + q.Encode()
}

// pickerStart is the first day shown: the asked one, or today.
func pickerStart(from string, loc *time.Location) time.Time {
	if day, err := time.ParseInLocation(time.DateOnly, from, loc); err == nil {
		return day
	}
	return time.Now().In(loc)
}

func mustZone(name string) *time.Location {
	loc, err := services.LoadZone(name)
	if err != nil {
		return time.UTC
	}
	return loc
}

// bookSlot creates the booking and lands on its manage page; a refusal
// shows the week again with the reason and the nearest free times.
func (h *Handler) bookSlot(c *gin.Context) {
	inq, ok := h.inquiryPage(c)
	if !ok {
		return
	}
	if !h.limits.bookings.allow(c) {
		h.renderBooking(c, http.StatusTooManyRequests, inq, rateLimitMessage)
		return
	}
	start, err := parseStart(c.PostForm("start"))
	if err != nil {
		h.renderBooking(c, http.StatusUnprocessableEntity, inq, "Choose one of the listed times.")
		return
	}
	bk, token, err := h.bookings.Book(c.Request.Context(), services.NewBooking{
		InquiryID: inq.ID, Start: start, Timezone: c.PostForm("tz"), Type: sessionTypeParam(c),
	})
	if errors.Is(err, services.ErrExistingBookingMailed) {
		h.renderEmailSent(c, http.StatusOK)
		return
	}
	if services.ErrorCode(err) == services.CodePaymentUnavailable {
		c.Header("Retry-After", retryAfterSeconds)
		h.renderBooking(c, http.StatusServiceUnavailable, inq, formMessage(err))
		return
	}
	if err == nil && bk.CheckoutURL != "" {
		c.Redirect(http.StatusSeeOther, bk.CheckoutURL)
		return
	}
	if h.bookingRefused(c, err, func(status int, msg string, next []services.Slot) { h.renderBooking(c, status, inq, msg, next...) }) {
		return
	}
	c.Redirect(http.StatusSeeOther, withEmbed(c, "/b/"+token)+bannerQuery(c, "booked", bk))
}

// bookingRefused renders the refusals a person can act on and reports
// whether it handled err.
func (h *Handler) bookingRefused(c *gin.Context, err error, render func(int, string, []services.Slot)) bool {
	if err == nil {
		return false
	}
	var taken *services.SlotTaken
	if errors.As(err, &taken) {
		render(http.StatusConflict, "Sorry, that time was just taken. Here are the nearest free times.", taken.Next)
		return true
	}
	var svcErr *services.Error
	if errors.As(err, &svcErr) && (svcErr.Code == services.CodeInvalid || svcErr.Code == services.CodeConflict) {
		msg := svcErr.Message
		if m := svcErr.Fields["start"]; m != "" {
			msg = m
		} else if m := svcErr.Fields["timezone"]; m != "" {
			msg = m
		}
		render(statusByCode[svcErr.Code], msg, nil)
		return true
	}
	h.fail(c, err)
	return true
}

// bannerQuery tells the manage page what just happened, and whether the
// daily mail cap held the prospect's email back.
func bannerQuery(c *gin.Context, banner string, bk services.Booking) string {
	q := "done=" + banner
	if bk.ProspectMailCapped {
		q += "&mail=held"
	}
	if isEmbed(c) {
		return "&" + q
	}
	return "?" + q
}
