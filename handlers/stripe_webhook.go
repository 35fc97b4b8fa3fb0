package handlers

import (
	"errors"
	"io"
	"net/http"

	"github.com/gin-gonic/gin"

	"consultd/services"
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
	err = h.bookings.HandleStripeWebhook(c.Request.Context(), payload, c.GetHeader("Stripe-Signature"))
	var refused *services.Error
	if errors.As(err, &refused) && refused.Code == services.CodeInvalid {
		// Stripe reads 4xx as "do not retry this delivery as is".
		h.respondError(c, http.StatusBadRequest, "invalid", refused.Message)
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"received": true})
}
