package handlers

import (
	"errors"
	"io"
	"net/http"

	"github.com/gin-gonic/gin"
)

// stripeWebhook hands Stripe's raw body and signature to the bookings
// service; the signature covers the exact bytes, so nothing parses the body
// first. Errors are JSON, as Stripe's dashboard shows them.
func (h *Handler) stripeWebhook(c *gin.Context) {
	payload, err := io.ReadAll(c.Request.Body)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		h.respondError(c, http.StatusRequestEntityTooLarge, "too_large", "The request body is too large.")
		return
	}
	if err != nil {
		h.respondError(c, http.StatusBadRequest, "bad_body", "The request body could not be read.")
		return
	}
	if err := h.bookings.HandleStripeWebhook(c.Request.Context(), payload, c.GetHeader("Stripe-Signature")); err != nil {
		h.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"received": true})
}
