package handlers

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"consultd/services"
)

// statusByCode maps service error codes to HTTP statuses.
var statusByCode = map[string]int{
	services.CodeInvalid:      http.StatusUnprocessableEntity,
	services.CodeConflict:     http.StatusConflict,
	services.CodeNotFound:     http.StatusNotFound,
	services.CodeUnauthorized: http.StatusUnauthorized,
	services.CodeForbidden:    http.StatusForbidden,
}

// errorPage is the data of the friendly error page.
type errorPage struct {
	Page
	Status  int
	Heading string
	Message string
}

// fail is the one error exit: a service error shows its safe message, any
// other error is logged with the request id and shown as "Internal error".
func (h *Handler) fail(c *gin.Context, err error) {
	var svcErr *services.Error
	if !errors.As(err, &svcErr) {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.respondError(c, http.StatusRequestEntityTooLarge, "too_large", "The request is too large.")
			return
		}
		h.log.Error("internal error", "request_id", c.GetString(ctxRequestID), "route", routeLabel(c), "error", err)
		h.respondError(c, http.StatusInternalServerError, "internal", "Internal error. We have been told; please try again shortly.")
		return
	}
	status, ok := statusByCode[svcErr.Code]
	if !ok {
		status = http.StatusBadRequest
	}
	if wantsJSON(c) && svcErr.Fields != nil {
		c.AbortWithStatusJSON(status, gin.H{"error": svcErr.Code, "message": svcErr.Message, "errors": svcErr.Fields})
		return
	}
	h.respondError(c, status, svcErr.Code, svcErr.Message)
}

func (h *Handler) respondError(c *gin.Context, status int, code, message string) {
	if wantsJSON(c) {
		c.AbortWithStatusJSON(status, gin.H{"error": code, "message": message})
		return
	}
	c.HTML(status, "error", errorPage{
		Page:    h.page(c, http.StatusText(status), ""),
		Status:  status,
		Heading: headingFor(status),
		Message: message,
	})
	c.Abort()
}

func headingFor(status int) string {
	switch status {
	case http.StatusNotFound:
		return "We could not find that page"
	case http.StatusInternalServerError:
		return "Something went wrong on our side"
	case http.StatusTooManyRequests:
		return "Slow down a little"
	default:
		return http.StatusText(status)
	}
}

// wantsJSON is true for the JSON API, whose clients expect JSON errors.
func wantsJSON(c *gin.Context) bool {
	return strings.HasPrefix(c.Request.URL.Path, "/api/")
}

func (h *Handler) notFound(c *gin.Context) {
	h.respondError(c, http.StatusNotFound, "not_found", "The page may have moved. The comparison and the assessment start from the home page.")
}

func (h *Handler) methodNotAllowed(c *gin.Context) {
	h.respondError(c, http.StatusMethodNotAllowed, "method_not_allowed", "That action is not available here.")
}

// recovered turns a panic into the 500 page; the panic value is logged, never shown.
func (h *Handler) recovered(c *gin.Context, rec any) {
	h.log.Error("panic", "request_id", c.GetString(ctxRequestID), "route", routeLabel(c), slog.String("panic", fmt.Sprint(rec)))
	h.respondError(c, http.StatusInternalServerError, "internal", "Internal error. We have been told; please try again shortly.")
}
