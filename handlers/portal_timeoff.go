package handlers

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"consultd/services"
)

// timeOffForm is the add-time-off form with what was typed.
type timeOffForm struct {
	Values  services.NewTimeOff
	Errors  map[string]string
	Message string
}

// addTimeOff blocks a span of the consultant's time. Bookings inside it
// stay; the page the consultant lands on lists them under the new entry.
func (h *Handler) addTimeOff(c *gin.Context) {
	form := timeOffForm{Values: services.NewTimeOff{
		FromDate: c.PostForm("from_date"), FromTime: c.PostForm("from_time"),
		ToDate: c.PostForm("to_date"), ToTime: c.PostForm("to_time"), Reason: c.PostForm("reason"),
	}}
	added, err := h.portal.AddTimeOff(c.Request.Context(), form.Values)
	if status, ok := formStatus(err); ok {
		form.Errors, form.Message = fieldErrors(err), refusal("Your time off was", err)
		h.renderPortal(c, status, portalForms{timeOff: &form})
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/me?done=timeoff&id="+strconv.FormatInt(added.ID, 10)+"#timeoff")
}

// removeTimeOff deletes one span of the consultant's own time off; any
// other id is a 404.
func (h *Handler) removeTimeOff(c *gin.Context) {
	if err := h.portal.RemoveTimeOff(c.Request.Context(), c.Param("id")); err != nil {
		h.fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/me?done=timeoff-removed#timeoff")
}
