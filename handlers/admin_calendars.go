package handlers

import (
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"consultd/services"
)

// calendarsPage lists consultants' busy calendars for staff, those that
// need attention first.
type calendarsPage struct {
	Page
	Rows      []calendarRow
	Attention int
	Notice    string
	FormError string
	Every     string
}

// calendarRow is one consultant's calendar; times are UTC.
type calendarRow struct {
	ID          int64
	Consultant  string
	Email       string
	Team        string
	Hint        string
	Health      string
	Label       string
	Summary     string
	Effect      string
	Notes       string
	Blocks      int
	LastTried   string
	NextRead    string
	JustTouched bool
}

// busySeverity orders the page: calendars that fail, then stale, then new, then fine.
var busySeverity = map[string]int{services.BusyFailing: 0, services.BusyStale: 1, services.BusyWaiting: 2, services.BusyOK: 3}

// adminCalendars lists every consultant's busy calendar with how fresh it is.
func (h *Handler) adminCalendars(c *gin.Context) {
	page := calendarsPage{}
	switch c.Query("done") {
	case "refreshed":
		page.Notice = "Calendar read again; its row shows how it went."
	}
	h.renderCalendars(c, http.StatusOK, page)
}

func (h *Handler) renderCalendars(c *gin.Context, status int, page calendarsPage) {
	list, err := h.busy.List(c.Request.Context())
	if err != nil {
		h.fail(c, err)
		return
	}
	touched := c.Query("id")
	for _, cal := range list {
		st := h.busy.Status(cal)
		row := calendarRow{
			ID: cal.ID, Consultant: cal.ConsultantName, Email: cal.ConsultantEmail, Team: teamLabel(cal.Team), Hint: cal.URLHint,
			Health: st.Health, Label: busyHealthLabels[st.Health], Summary: st.Summary, Effect: st.Effect, Notes: st.Notes,
			Blocks: cal.BlockCount, LastTried: utcMinute(cal.LastAttemptAt), NextRead: utcMinute(&cal.NextFetchAt),
			JustTouched: strconv.FormatInt(cal.ID, 10) == touched,
		}
		if st.Health != services.BusyOK {
			page.Attention++
		}
		page.Rows = append(page.Rows, row)
	}
	slices.SortStableFunc(page.Rows, func(a, b calendarRow) int { return busySeverity[a.Health] - busySeverity[b.Health] })
	page.Every = everyText(h.busy.Every())
	page.Page = h.page(c, "Busy calendars", "")
	page.NoIndex = true
	c.HTML(status, "admin_calendars", page)
}

// adminCalendarRefresh reads one consultant's calendar now; right after
// another read the list comes back with the reason (409).
func (h *Handler) adminCalendarRefresh(c *gin.Context) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		h.fail(c, services.ErrNotFound)
		return
	}
	_, err = h.busy.RefreshCalendar(c.Request.Context(), id)
	if services.ErrorCode(err) == services.CodeConflict {
		h.renderCalendars(c, http.StatusConflict, calendarsPage{FormError: formMessage(err)})
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/admin/calendars?done=refreshed&id="+strconv.FormatInt(id, 10)+"#calendar-"+strconv.FormatInt(id, 10))
}

func utcMinute(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04")
}
