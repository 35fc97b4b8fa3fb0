package handlers

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"consultd/services"
)

type apiSlot struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

func apiSlots(slots []services.Slot, loc *time.Location) []apiSlot {
	out := make([]apiSlot, 0, len(slots))
	for _, s := range slots {
		out = append(out, apiSlot{Start: s.Start.In(loc).Format(time.RFC3339), End: s.End.In(loc).Format(time.RFC3339)})
	}
	return out
}

// apiSlots answers open slots. The same slots give the same bytes, so the
// encoded (and gzipped) answer is kept by the set's key.
func (h *Handler) apiSlots(c *gin.Context) {
	set, err := h.bookings.OpenSlotSet(c.Request.Context(), services.SlotRequest{
		InquiryID: c.Query("lead_id"), Team: c.Query("team"), Region: c.Query("region"),
		Timezone: c.Query("tz"), From: c.Query("from"), Days: c.Query("days"),
	})
	if err != nil {
		h.fail(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	page, ok := h.slotAnswers.get(set.Key)
	if !ok {
		body, err := json.Marshal(gin.H{"timezone": set.Loc.String(), "slots": apiSlots(set.Slots(), set.Loc)})
		if err != nil {
			h.fail(c, err)
			return
		}
		if page, err = newCachedPage(body); err != nil {
			h.fail(c, err)
			return
		}
		h.slotAnswers.put(set.Key, page)
	}
	c.Header("Content-Type", "application/json; charset=utf-8")
	page.write(c.Writer, c.Request)
}

type apiBookingRequest struct {
	LeadID   string `json:"lead_id"`
	Start    string `json:"start"`
	Timezone string `json:"timezone"`
	Type     string `json:"type"`
}

type apiBooking struct {
	ID         string            `json:"id"`
	Status     string            `json:"status"`
	Start      string            `json:"start"`
	End        string            `json:"end"`
	Timezone   string            `json:"timezone"`
	When       string            `json:"when"`
	Consultant map[string]string `json:"consultant"`
	Team       string            `json:"team"`
	MeetingURL string            `json:"meeting_url,omitempty"`
	ManageURL  string            `json:"manage_url"`
	ICSURL     string            `json:"ics_url"`
	// Emailed, on an answer to a change, is false when the daily cap on
	// mail to the prospect's address held back the message about it.
	Emailed *bool `json:"emailed,omitempty"`
	// Type is the session type; a paid one has an amount, a payment status
	// and, while the slot is held, the Stripe Checkout URL to pay at.
	Type          string `json:"type"`
	AmountCents   int64  `json:"amount_cents,omitempty"`
	Currency      string `json:"currency,omitempty"`
	PaymentStatus string `json:"payment_status,omitempty"`
	CheckoutURL   string `json:"checkout_url,omitempty"`
	HoldExpiresAt string `json:"hold_expires_at,omitempty"`
}

func (h *Handler) bookingJSON(bk services.Booking, token string) apiBooking {
	loc := mustZone(bk.Timezone)
	out := apiBooking{
		ID: bk.ID, Status: bk.Status, Timezone: bk.Timezone, Team: bk.Team,
		Start: bk.Start.In(loc).Format(time.RFC3339), End: bk.End.In(loc).Format(time.RFC3339),
		When:       services.FormatMeetingTime(bk.Start, bk.End, loc),
		Consultant: map[string]string{"name": bk.ConsultantName},
		MeetingURL: bk.MeetingURL, ManageURL: h.bookings.ManageURL(token), ICSURL: h.bookings.ICSURL(token),
		Type: bk.SessionType,
	}
	if bk.Paid() {
		out.AmountCents, out.Currency, out.PaymentStatus = bk.AmountCents, bk.Currency, bk.PaymentStatus
	}
	if bk.Status == services.StatusPendingPayment {
		out.CheckoutURL = bk.CheckoutURL
		if bk.HoldExpiresAt.Valid {
			out.HoldExpiresAt = bk.HoldExpiresAt.Time.UTC().Format(time.RFC3339)
		}
	}
	return out
}

// changedBookingJSON is bookingJSON for an answer to a change, which also
// says whether the prospect was emailed about it.
func (h *Handler) changedBookingJSON(bk services.Booking, token string) apiBooking {
	out := h.bookingJSON(bk, token)
	emailed := !bk.ProspectMailCapped
	out.Emailed = &emailed
	return out
}

// apiBookingRefused answers a taken slot with 409 and the next free starts.
func (h *Handler) apiBookingRefused(c *gin.Context, err error) {
	var taken *services.SlotTaken
	if errors.As(err, &taken) {
		loc := time.UTC
		if len(taken.Next) > 0 {
			loc = taken.Next[0].Start.Location()
		}
		c.AbortWithStatusJSON(http.StatusConflict, gin.H{
			"error": "slot_taken", "message": "That time was just taken; here are the nearest free times.", "next": apiSlots(taken.Next, loc),
		})
		return
	}
	h.fail(c, err)
}

func (h *Handler) apiCreateBooking(c *gin.Context) {
	var req apiBookingRequest
	if !h.limitedJSON(c, h.limits.bookings, &req) {
		return
	}
	start, err := parseStart(req.Start)
	if err != nil {
		h.fail(c, err)
		return
	}
	bk, token, err := h.bookings.Book(c.Request.Context(), services.NewBooking{InquiryID: req.LeadID, Start: start, Timezone: req.Timezone, Type: req.Type})
	if err != nil {
		h.apiBookingRefused(c, err)
		return
	}
	if bk.Status == services.StatusPendingPayment {
		c.JSON(http.StatusCreated, h.bookingJSON(bk, token)) // mail follows the payment
		return
	}
	c.JSON(http.StatusCreated, h.changedBookingJSON(bk, token))
}

func (h *Handler) apiGetBooking(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	bk, err := h.bookings.ByToken(c.Request.Context(), c.Param("token"))
	if err != nil {
		h.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, h.bookingJSON(bk, c.Param("token")))
}

func (h *Handler) apiRescheduleBooking(c *gin.Context) {
	var req struct {
		Start string `json:"start"`
	}
	if !h.limitedJSON(c, h.limits.bookings, &req) {
		return
	}
	start, err := parseStart(req.Start)
	if err != nil {
		h.fail(c, err)
		return
	}
	bk, err := h.bookings.Reschedule(c.Request.Context(), c.Param("token"), start)
	if err != nil {
		h.apiBookingRefused(c, err)
		return
	}
	c.JSON(http.StatusOK, h.changedBookingJSON(bk, c.Param("token")))
}

func (h *Handler) apiCancelBooking(c *gin.Context) {
	if !h.limits.bookings.allow(c) {
		h.tooManyRequests(c)
		return
	}
	var req struct {
		Reason string `json:"reason"`
	}
	if !h.decodeOptionalJSON(c, &req) {
		return
	}
	bk, err := h.bookings.Cancel(c.Request.Context(), c.Param("token"), req.Reason)
	if err != nil {
		h.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, h.changedBookingJSON(bk, c.Param("token")))
}
