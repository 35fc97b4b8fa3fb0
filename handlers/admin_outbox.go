package handlers

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/gin-gonic/gin"

	"consultd/services"
)

// outboxPage lists the mail queue with its filters.
type outboxPage struct {
	Page
	Filter    services.OutboxFilter
	Statuses  []string
	Audiences []string
	Entries   []services.OutboxEntry
	Older     string // link to the next page, "" on the last
	Filtered  bool
	FormError string
	Errors    map[string]string
}

// adminOutbox lists messages newest first, filtered by ?status= and
// ?audience=, a page at a time (?before= an id).
func (h *Handler) adminOutbox(c *gin.Context) {
	before, _ := strconv.ParseInt(c.Query("before"), 10, 64)
	f := services.OutboxFilter{Status: c.Query("status"), Audience: c.Query("audience"), Before: before}
	list, err := h.outbox.List(c.Request.Context(), f)
	page := outboxPage{Filter: f, Statuses: services.OutboxStatuses, Audiences: services.Audiences, Entries: list.Entries,
		Filtered: f.Status != "" || f.Audience != "" || f.Before != 0}
	status := http.StatusOK
	switch {
	case services.ErrorCode(err) == services.CodeInvalid:
		status, page.FormError, page.Errors = http.StatusUnprocessableEntity, formMessage(err), fieldErrors(err)
	case err != nil:
		h.fail(c, err)
		return
	}
	if list.Before != 0 {
		page.Older = outboxListURL(f.Status, f.Audience, list.Before)
	}
	page.Page = h.page(c, "Mail", "")
	page.NoIndex = true
	c.HTML(status, "admin_outbox", page)
}

func outboxListURL(status, audience string, before int64) string {
	q := url.Values{}
	if status != "" {
		q.Set("status", status)
	}
	if audience != "" {
		q.Set("audience", audience)
	}
	if before != 0 {
		q.Set("before", strconv.FormatInt(before, 10))
	}
	if len(q) == 0 {
		return "/admin/outbox"
	}
	return "/admin/outbox?" + q.Encode()
}

// outboxMessagePage shows one message as staff read it.
type outboxMessagePage struct {
	Page
	Message   services.OutboxView
	Banner    string
	FormError string
}

// adminOutboxMessage shows one message: headers, text and its state.
func (h *Handler) adminOutboxMessage(c *gin.Context) {
	id, ok := h.outboxID(c)
	if !ok {
		return
	}
	msg, err := h.outbox.Read(c.Request.Context(), id)
	if err != nil {
		h.fail(c, err)
		return
	}
	banner := ""
	if c.Query("done") == "retry" {
		banner = "The message is back in the queue and will be sent in a moment."
	}
	h.renderOutboxMessage(c, http.StatusOK, outboxMessagePage{Message: msg, Banner: banner})
}

func (h *Handler) renderOutboxMessage(c *gin.Context, status int, p outboxMessagePage) {
	p.Page = h.page(c, "Message "+strconv.FormatInt(p.Message.ID, 10), "")
	p.NoIndex = true
	c.HTML(status, "admin_outbox_message", p)
}

// adminOutboxRetry sends a failed, kept or capped message again; any other
// gets its page back with the reason, as 409.
func (h *Handler) adminOutboxRetry(c *gin.Context) {
	id, ok := h.outboxID(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	_, err := h.outbox.Retry(ctx, id)
	if services.ErrorCode(err) == services.CodeConflict {
		msg, readErr := h.outbox.Read(ctx, id)
		if readErr != nil {
			h.fail(c, readErr)
			return
		}
		h.renderOutboxMessage(c, http.StatusConflict, outboxMessagePage{Message: msg, FormError: formMessage(err)})
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/admin/outbox/"+strconv.FormatInt(id, 10)+"?done=retry")
}

// adminOutboxRaw downloads the message exactly as stored.
func (h *Handler) adminOutboxRaw(c *gin.Context) {
	id, ok := h.outboxID(c)
	if !ok {
		return
	}
	raw, err := h.outbox.Raw(c.Request.Context(), id)
	if err != nil {
		h.fail(c, err)
		return
	}
	c.Header("Content-Disposition", `attachment; filename="message-`+strconv.FormatInt(id, 10)+`.eml"`)
	c.Data(http.StatusOK, "message/rfc822", raw)
}

// outboxID reads the :id of an outbox route; anything but a positive
// number is a message that does not exist.
func (h *Handler) outboxID(c *gin.Context) (int64, bool) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		h.fail(c, services.ErrNotFound)
		return 0, false
	}
	return id, true
}
