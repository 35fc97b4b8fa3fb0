package handlers

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"consultd/services"
)

// hoursDay is one weekday's field of the weekly hours form.
type hoursDay struct {
	Key   string // form field: mon, tue, ...
	Label string
	Value string
	Error string
}

// hoursDays fills the form, Monday first: with what was typed when a post
// was refused, else with the hours in force.
func hoursDays(o services.Overview, forms portalForms) []hoursDay {
	out := make([]hoursDay, 0, 7)
	for _, d := range services.WeekdaysFromMonday {
		day := hoursDay{Key: services.WeekdayKey(d), Label: d.String()}
		if forms.hours != nil {
			day.Value, day.Error = forms.hours[d], forms.hoursErrors[day.Key]
		} else {
			day.Value = services.FormatDayHours(o.HoursOn(d))
		}
		out = append(out, day)
	}
	return out
}

// saveHours replaces the consultant's weekly hours; refused hours come back
// as typed with a message on each day that did not read.
func (h *Handler) saveHours(c *gin.Context) {
	var week services.WeekHours
	complete := true
	for d := range week {
		var sent bool
		week[d], sent = c.GetPostForm(services.WeekdayKey(time.Weekday(d)))
		complete = complete && sent
	}
	// A form missing a day would save that day as "not working": refuse it
	// rather than wipe hours nobody meant to change.
	if !complete {
		h.renderPortal(c, http.StatusUnprocessableEntity, portalForms{hours: &week, hoursMessage: "The form did not include every day, so nothing was saved. Please try again."})
		return
	}
	_, err := h.portal.SaveHours(c.Request.Context(), week)
	if status, ok := formStatus(err); ok {
		h.renderPortal(c, status, portalForms{hours: &week, hoursErrors: fieldErrors(err), hoursMessage: refusal("Your weekly hours were", err)})
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/me?done=hours#hours")
}
