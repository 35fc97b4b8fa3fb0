package handlers

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
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
	services.CodeEmailSent:    http.StatusConflict,

	services.CodePaymentUnavailable: http.StatusServiceUnavailable,
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
	if services.IsUnavailable(err) {
		h.unavailable(c, err)
		return
	}
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

// unavailableMessage is what a person sees while the database is away.
const unavailableMessage = "We can't save anything just now because our database is briefly unavailable. Nothing you typed is lost: please try again in a minute."

// retryAfterSeconds is how long clients are asked to wait during an outage.
const retryAfterSeconds = "30"

// unavailable answers 503 with Retry-After while the database is away. A
// form post gets the retry page, which carries every value sent, so what
// the person typed survives.
func (h *Handler) unavailable(c *gin.Context, err error) {
	h.log.Warn("database unavailable", "request_id", c.GetString(ctxRequestID), "route", routeLabel(c), "error", err)
	c.Header("Retry-After", retryAfterSeconds)
	if wantsJSON(c) || c.Request.Method != http.MethodPost || len(c.Request.PostForm) == 0 {
		h.respondError(c, http.StatusServiceUnavailable, "unavailable", unavailableMessage)
		return
	}
	p := h.page(c, "Please try again", "")
	p.NoIndex = true
	page := retryPage{Page: p, Message: unavailableMessage, Action: c.Request.URL.RequestURI()}
	for name, values := range c.Request.PostForm {
		for _, v := range values {
			page.Fields = append(page.Fields, retryField{Name: name, Value: v, Visible: visibleRetryFields[name]})
		}
	}
	slices.SortStableFunc(page.Fields, func(a, b retryField) int { return strings.Compare(a.Name, b.Name) })
	c.HTML(http.StatusServiceUnavailable, "retry", page)
	c.Abort()
}

// formUnavailable renders a form again, with what was typed and the
// outage message, as 503 with Retry-After.
func (h *Handler) formUnavailable(c *gin.Context, err error, render func(status int, msg string)) {
	h.log.Warn("database unavailable", "request_id", c.GetString(ctxRequestID), "route", routeLabel(c), "error", err)
	c.Header("Retry-After", retryAfterSeconds)
	render(http.StatusServiceUnavailable, unavailableMessage)
}

// retryPage re-posts a refused form as it was sent.
type retryPage struct {
	Page
	Message string
	Action  string
	Fields  []retryField
}

type retryField struct {
	Name    string
	Value   string
	Visible bool
}

// visibleRetryFields are free text a person may want to edit before trying
// again; every other field travels hidden.
var visibleRetryFields = map[string]bool{"reason": true}

func headingFor(status int) string {
	switch status {
	case http.StatusNotFound:
		return "We could not find that page"
	case http.StatusInternalServerError:
		return "Something went wrong on our side"
	case http.StatusTooManyRequests:
		return "Slow down a little"
	case http.StatusServiceUnavailable:
		return "Please try again in a minute"
	default:
		return http.StatusText(status)
	}
}

// wantsJSON is true for the JSON API and webhooks, whose clients expect
// JSON errors, never a page.
func wantsJSON(c *gin.Context) bool {
	p := c.Request.URL.Path
	return strings.HasPrefix(p, "/api/") || strings.HasPrefix(p, "/webhooks/")
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
