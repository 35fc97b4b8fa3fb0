package handlers

import (
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"consultd/services"
)

type managePage struct {
	Page
	Booking   services.Booking
	TeamLabel string
	When      string
	Banner    string
	CanChange bool
	Token     string
	ICSURL    string
	FormError string
}

// privateLink keeps a manage link out of caches and out of the Referer
// header sent to meeting links and other sites.
func privateLink(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.Header("Referrer-Policy", "no-referrer")
}

// linkedBooking reads the booking a manage link points to, after setting
// the headers every manage page needs; on failure it has answered.
func (h *Handler) linkedBooking(c *gin.Context) (services.Booking, bool) {
	privateLink(c)
	h.allowFramingIfEmbed(c)
	bk, err := h.bookings.ByToken(c.Request.Context(), c.Param("token"))
	if err != nil {
		h.fail(c, err)
		return services.Booking{}, false
	}
	return bk, true
}

// changeableLinkedBooking is linkedBooking for pages that move a booking:
// a cancelled or started one gets its manage page with the reason instead.
func (h *Handler) changeableLinkedBooking(c *gin.Context) (services.Booking, bool) {
	bk, ok := h.linkedBooking(c)
	if !ok {
		return bk, false
	}
	if msg := h.bookings.Unchangeable(bk); msg != "" {
		h.renderManage(c, http.StatusConflict, bk, msg)
		return bk, false
	}
	return bk, true
}

// manageBooking shows a booking to whoever holds its link.
func (h *Handler) manageBooking(c *gin.Context) {
	bk, ok := h.linkedBooking(c)
	if !ok {
		return
	}
	h.renderManage(c, http.StatusOK, bk, "")
}

func (h *Handler) renderManage(c *gin.Context, status int, bk services.Booking, formError string) {
	token := c.Param("token")
	p := h.page(c, "Your consultation", "")
	p.NoIndex = true
	c.HTML(status, "manage", managePage{
		Page: p, Booking: bk, TeamLabel: teamLabel(bk.Team),
		When:      services.FormatMeetingTime(bk.Start, bk.End, mustZone(bk.Timezone)),
		Banner:    c.Query("done"),
		CanChange: bk.Status == services.StatusConfirmed && time.Now().Before(bk.Start),
		Token:     token, ICSURL: "/b/" + token + "/invite.ics", FormError: formError,
	})
}

type reschedulePage struct {
	Page
	Booking services.Booking
	When    string
	Picker  slotPicker
	Token   string
}

// rescheduleBooking shows open slots for moving a booking.
func (h *Handler) rescheduleBooking(c *gin.Context) {
	bk, ok := h.changeableLinkedBooking(c)
	if !ok {
		return
	}
	h.renderReschedule(c, http.StatusOK, bk, "")
}

func (h *Handler) renderReschedule(c *gin.Context, status int, bk services.Booking, formError string, next ...services.Slot) {
	req := services.SlotRequest{Team: bk.Team, Region: bk.Region, Timezone: c.DefaultQuery("tz", bk.Timezone), From: c.Query("from"), Exclude: bk.ID}
	notNow := func(s services.Slot) bool { return s.Start.Equal(bk.Start) }
	picker, err := h.slotPicker(c, "/b/"+c.Param("token")+"/reschedule", bk.Region, req, bk.Timezone, notNow)
	if err != nil {
		h.fail(c, err)
		return
	}
	picker.FormError, picker.Next = formError, slotViews(next, mustZone(picker.TZ))
	p := h.page(c, "Move your consultation", "")
	p.NoIndex = true
	c.HTML(status, "reschedule", reschedulePage{
		Page: p, Booking: bk, Picker: picker, Token: c.Param("token"),
		When: services.FormatMeetingTime(bk.Start, bk.End, mustZone(bk.Timezone)),
	})
}

type rescheduleConfirmPage struct {
	Page
	When    string
	Was     string
	Start   string
	Action  string
	BackURL string
}

func (h *Handler) confirmReschedule(c *gin.Context) {
	bk, ok := h.changeableLinkedBooking(c)
	if !ok {
		return
	}
	start, err := parseStart(c.Query("start"))
	if err != nil {
		h.renderReschedule(c, http.StatusUnprocessableEntity, bk, "Choose one of the listed times.")
		return
	}
	loc := mustZone(bk.Timezone)
	if tz := c.Query("tz"); services.ZoneInRegion(bk.Region, tz) {
		loc = mustZone(tz)
	}
	p := h.page(c, "Confirm the new time", "")
	p.NoIndex = true
	base := "/b/" + c.Param("token")
	c.HTML(http.StatusOK, "reschedule_confirm", rescheduleConfirmPage{
		Page: p, When: services.FormatMeetingTime(start, start.Add(services.SlotLength), loc),
		Was: services.FormatMeetingTime(bk.Start, bk.End, loc), Start: start.Format(time.RFC3339),
		Action: withEmbed(c, base+"/reschedule"), BackURL: backToPicker(c, base+"/reschedule", loc.String(), start),
	})
}

func (h *Handler) submitReschedule(c *gin.Context) {
	bk, ok := h.linkedBooking(c)
	if !ok {
		return
	}
	ctx, token := c.Request.Context(), c.Param("token")
	if !h.limits.bookings.allow(c) {
		h.renderReschedule(c, http.StatusTooManyRequests, bk, rateLimitMessage)
		return
	}
	start, err := parseStart(c.PostForm("start"))
	if err != nil {
		h.renderReschedule(c, http.StatusUnprocessableEntity, bk, "Choose one of the listed times.")
		return
	}
	_, err = h.bookings.Reschedule(ctx, token, start)
	if h.bookingRefused(c, err, func(status int, msg string, next []services.Slot) { h.renderReschedule(c, status, bk, msg, next...) }) {
		return
	}
	c.Redirect(http.StatusSeeOther, withEmbed(c, "/b/"+token)+bannerQuery(c, "moved"))
}

func (h *Handler) cancelBooking(c *gin.Context) {
	privateLink(c)
	h.allowFramingIfEmbed(c)
	ctx := c.Request.Context()
	token := c.Param("token")
	if !h.limits.bookings.allow(c) {
		h.tooManyRequests(c)
		return
	}
	_, err := h.bookings.Cancel(ctx, token, c.PostForm("reason"))
	var refused *services.Error
	if errors.As(err, &refused) && refused.Code == services.CodeConflict {
		bk, getErr := h.bookings.ByToken(ctx, token)
		if getErr != nil {
			h.fail(c, getErr)
			return
		}
		h.renderManage(c, http.StatusConflict, bk, refused.Message)
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, withEmbed(c, "/b/"+token)+bannerQuery(c, "cancelled"))
}

// inviteICS downloads the booking's current invite.
func (h *Handler) inviteICS(c *gin.Context) {
	privateLink(c)
	ics, err := h.bookings.InviteICS(c.Request.Context(), c.Param("token"))
	if err != nil {
		h.fail(c, err)
		return
	}
	c.Header("Content-Disposition", `attachment; filename="invite.ics"`)
	c.Data(http.StatusOK, "text/calendar; charset=utf-8", ics)
}
