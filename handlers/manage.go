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
	Booking      services.Booking
	TeamLabel    string
	When         string
	Banner       string
	MailHeld     bool // the daily mail cap held back the email about the change
	CanChange    bool
	Token        string
	ICSURL       string
	FormError    string
	CancelReason string
	Price        string
	PaymentLabel string
	HoldUntil    string
	RefundPolicy string
}

var paymentLabels = map[string]string{
	services.PaymentPending: "awaiting payment", services.PaymentPaid: "paid", services.PaymentFailed: "not paid",
	services.PaymentRefundDue: "refund on its way", services.PaymentRefunded: "refunded",
}

// privateLink keeps a manage link out of caches and out of the Referer
// header sent to meeting links and other sites.
func privateLink(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.Header("Referrer-Policy", "no-referrer")
}

// noStore keeps answers that carry personal data or secret links out of
// every cache; a route that is public sets its own Cache-Control after it.
func noStore(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.Next()
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
		MailHeld:  c.Query("mail") == "held",
		CanChange: h.bookings.Unchangeable(bk) == "",
		Token:     token, ICSURL: "/b/" + token + "/invite.ics", FormError: formError,
		CancelReason: c.PostForm("reason"),
		Price:        services.FormatPrice(bk.AmountCents, bk.Currency), PaymentLabel: paymentLabels[bk.PaymentStatus],
		HoldUntil: holdUntil(bk), RefundPolicy: h.bookings.RefundPolicy(bk),
	})
}

func holdUntil(bk services.Booking) string {
	if !bk.HoldExpiresAt.Valid {
		return ""
	}
	return services.FormatShortTime(bk.HoldExpiresAt.Time, mustZone(bk.Timezone))
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
	loc := mustZone(bk.Timezone)
	if tz := c.Query("tz"); services.ZoneInRegion(bk.Region, tz) {
		loc = mustZone(tz)
	}
	start, err := parseStart(c.Query("start"))
	if err == nil && start.Equal(bk.Start) {
		err = services.Invalid(map[string]string{"start": "Your consultation is already at that time."})
	}
	if err == nil {
		err = h.bookings.CheckStart(c.Request.Context(), bk.Team, bk.Region, start, bk.ID, loc.String())
	}
	if h.bookingRefused(c, err, func(status int, msg string, next []services.Slot) { h.renderReschedule(c, status, bk, msg, next...) }) {
		return
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
	moved, err := h.bookings.Reschedule(ctx, token, start)
	if h.bookingRefused(c, err, func(status int, msg string, next []services.Slot) { h.renderReschedule(c, status, bk, msg, next...) }) {
		return
	}
	c.Redirect(http.StatusSeeOther, withEmbed(c, "/b/"+token)+bannerQuery(c, "moved", moved))
}

// cancelBooking cancels through the manage page; a refusal shows that page
// again with the reason the prospect typed.
func (h *Handler) cancelBooking(c *gin.Context) {
	bk, ok := h.linkedBooking(c)
	if !ok {
		return
	}
	token := c.Param("token")
	if !h.limits.bookings.allow(c) {
		h.renderManage(c, http.StatusTooManyRequests, bk, rateLimitMessage)
		return
	}
	cancelled, err := h.bookings.Cancel(c.Request.Context(), token, c.PostForm("reason"))
	var refused *services.Error
	if errors.As(err, &refused) && refused.Code == services.CodeConflict {
		if current, getErr := h.bookings.ByToken(c.Request.Context(), token); getErr == nil {
			bk = current
		}
		h.renderManage(c, http.StatusConflict, bk, refused.Message)
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, withEmbed(c, "/b/"+token)+bannerQuery(c, "cancelled", cancelled))
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
