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
	Lead      services.Lead
	TeamLabel string
	Region    string
	Picker    slotPicker
	APIBase   string
}

// leadBooking shows a week of open slots in the prospect's zone.
func (h *Handler) leadBooking(c *gin.Context) {
	h.allowFramingIfEmbed(c)
	lead, err := h.leads.Get(c.Request.Context(), c.Param("id"))
	if err != nil {
		h.fail(c, err)
		return
	}
	h.renderBooking(c, http.StatusOK, lead, "")
}

func (h *Handler) renderBooking(c *gin.Context, status int, lead services.Lead, formError string, next ...services.Slot) {
	req := services.SlotRequest{LeadID: lead.ID, Timezone: c.Query("tz"), From: c.Query("from")}
	if req.Timezone == "" {
		req.Timezone = c.PostForm("tz")
	}
	picker, err := h.slotPicker(c, "/leads/"+lead.ID, lead.Region, req, "", nil)
	if err != nil {
		h.fail(c, err)
		return
	}
	picker.FormError, picker.Next = formError, slotViews(next, mustZone(picker.TZ))
	p := h.page(c, "Book your free consultation", "")
	p.NoIndex = true
	c.HTML(status, "booking", bookingPage{Page: p, Lead: lead, TeamLabel: teamLabel(lead.Team), Region: services.RegionLabel(lead.Region), Picker: picker})
}

type confirmPage struct {
	Page
	Lead      services.Lead
	TeamLabel string
	Start     string
	When      string
	TZ        string
	Action    string
	BackURL   string
}

// confirmBooking is the no-JavaScript confirm step for a chosen slot.
func (h *Handler) confirmBooking(c *gin.Context) {
	h.allowFramingIfEmbed(c)
	lead, err := h.leads.Get(c.Request.Context(), c.Param("id"))
	if err != nil {
		h.fail(c, err)
		return
	}
	start, err := parseStart(c.Query("start"))
	if err != nil {
		h.renderBooking(c, http.StatusUnprocessableEntity, lead, "Choose one of the listed times.")
		return
	}
	tz := c.DefaultQuery("tz", lead.Timezone)
	loc, err := time.LoadLocation(tz)
	if err != nil || !services.ZoneInRegion(lead.Region, tz) {
		tz, loc = lead.Timezone, mustZone(lead.Timezone)
	}
	p := h.page(c, "Confirm your consultation", "")
	p.NoIndex = true
	c.HTML(http.StatusOK, "confirm", confirmPage{
		Page: p, Lead: lead, TeamLabel: teamLabel(lead.Team), Start: start.Format(time.RFC3339),
		When: services.FormatMeetingTime(start, start.Add(services.SlotLength), loc), TZ: tz,
		Action: withEmbed(c, "/leads/"+lead.ID+"/book"), BackURL: backToPicker(c, "/leads/"+lead.ID, tz, start),
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
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.UTC
	}
	return loc
}

// bookSlot creates the booking and lands on its manage page; a refusal
// shows the week again with the reason and the nearest free times.
func (h *Handler) bookSlot(c *gin.Context) {
	h.allowFramingIfEmbed(c)
	ctx := c.Request.Context()
	lead, err := h.leads.Get(ctx, c.Param("id"))
	if err != nil {
		h.fail(c, err)
		return
	}
	if !h.limits.bookings.allow(c) {
		h.renderBooking(c, http.StatusTooManyRequests, lead, rateLimitMessage)
		return
	}
	start, err := parseStart(c.PostForm("start"))
	if err != nil {
		h.renderBooking(c, http.StatusUnprocessableEntity, lead, "Choose one of the listed times.")
		return
	}
	_, token, err := h.bookings.Book(ctx, services.NewBooking{LeadID: lead.ID, Start: start, Timezone: c.PostForm("tz")})
	if h.bookingRefused(c, err, func(status int, msg string, next []services.Slot) { h.renderBooking(c, status, lead, msg, next...) }) {
		return
	}
	c.Redirect(http.StatusSeeOther, withEmbed(c, "/b/"+token)+bannerQuery(c, "booked"))
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

func bannerQuery(c *gin.Context, banner string) string {
	if isEmbed(c) {
		return "&done=" + banner
	}
	return "?done=" + banner
}
