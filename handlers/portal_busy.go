package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"consultd/services"
)

// busyForm is the busy-calendar address form with what was typed.
type busyForm struct {
	URL     string
	Error   string // on the field
	Message string // at the top of the box
}

// busyBox is the busy-calendar part of the portal's Calendar section: the
// saved address (its host and file only), how fresh its busy times are,
// and the forms to refresh, remove or replace it.
type busyBox struct {
	Saved   bool
	Hint    string
	Health  string
	Label   string
	Summary string
	Effect  string
	Notes   string
	Notice  string
	Warn    bool // the notice reports a failed read
	Message string
	URL     string
	Error   string
	Every   string
}

// busyHealthLabels name the states on the portal and the admin page.
var busyHealthLabels = map[string]string{
	services.BusyOK:      "Up to date",
	services.BusyWaiting: "Not read yet",
	services.BusyStale:   "Out of date",
	services.BusyFailing: "Not updating",
}

func (h *Handler) busyBox(c *gin.Context, form *busyForm) (busyBox, error) {
	box := busyBox{Every: everyText(h.busy.Every())}
	if form != nil {
		box.URL, box.Error, box.Message = form.URL, form.Error, form.Message
	}
	cal, err := h.busy.Mine(c.Request.Context())
	if errors.Is(err, services.ErrNotFound) {
		if c.Query("done") == "busy-removed" {
			box.Notice = "Busy calendar removed. Its busy times no longer block your slots."
		}
		return box, nil
	}
	if err != nil {
		return box, err
	}
	st := h.busy.Status(cal)
	box.Saved, box.Hint, box.Health, box.Label = true, cal.URLHint, st.Health, busyHealthLabels[st.Health]
	box.Summary, box.Effect, box.Notes = st.Summary, st.Effect, st.Notes
	box.Notice = busyNotice(c.Query("done"), cal)
	box.Warn = box.Notice != "" && cal.LastOutcome == "failed"
	return box, nil
}

// busyNotice reports the outcome of the save or refresh just made.
func busyNotice(done string, cal services.BusyCalendar) string {
	if done != "busy-saved" && done != "busy-refreshed" {
		return ""
	}
	switch cal.LastOutcome {
	case "failed":
		if done == "busy-saved" {
			return "Saved, but the calendar could not be read: " + cal.LastError + ". It will be tried again."
		}
		return "The calendar could not be read: " + cal.LastError + "."
	case "unchanged":
		return "Read just now: nothing has changed since the last time."
	case "updated":
		return "Read just now. Its busy times block your slots."
	}
	return "Saved. It will be read in a moment."
}

// everyText is "10 minutes" or "hour", for "read every ...".
func everyText(d time.Duration) string {
	if d >= time.Hour && d%time.Hour == 0 {
		if d == time.Hour {
			return "hour"
		}
		return fmt.Sprintf("%d hours", d/time.Hour)
	}
	if n := d.Round(time.Minute) / time.Minute; n > 1 {
		return fmt.Sprintf("%d minutes", n)
	}
	return "minute"
}

// saveBusyCalendar sets the consultant's calendar address and reads it at
// once; a refused address comes back as typed with the reason.
func (h *Handler) saveBusyCalendar(c *gin.Context) {
	form := busyForm{URL: c.PostForm("url")}
	_, err := h.busy.Save(c.Request.Context(), form.URL)
	if status, ok := formStatus(err); ok {
		form.Error, form.Message = fieldErrors(err)["url"], refusal("Your busy calendar was", err)
		h.renderPortal(c, status, portalForms{busy: &form})
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/me?done=busy-saved#busy")
}

// refreshBusyCalendar reads the consultant's calendar now; right after
// another read the page says so (409).
func (h *Handler) refreshBusyCalendar(c *gin.Context) {
	_, err := h.busy.Refresh(c.Request.Context())
	if services.ErrorCode(err) == services.CodeConflict {
		h.renderPortal(c, http.StatusConflict, portalForms{busy: &busyForm{Message: formMessage(err)}})
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/me?done=busy-refreshed#busy")
}

// removeBusyCalendar forgets the consultant's calendar and its busy times.
func (h *Handler) removeBusyCalendar(c *gin.Context) {
	if err := h.busy.Remove(c.Request.Context()); err != nil {
		h.fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/me?done=busy-removed#busy")
}
