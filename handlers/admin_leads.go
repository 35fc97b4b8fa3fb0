package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"consultd/services"
)

type adminLeadsPage struct {
	Page
	Filter   services.LeadFilter
	List     services.LeadList
	Rows     []leadRowView
	Errors   map[string]string
	Statuses []string
	Sorts    []sortOption
	Query    string // the filter as a query string, for pages and the CSV link
	PrevURL  string
	NextURL  string
	FollowUp bool
	// MoreFilters opens the folded filters when one of them is in use.
	MoreFilters bool
	Now         time.Time
	StatusSet   map[string]bool
}

type sortOption struct {
	Key, Label string
}

var sortLabels = map[string]string{
	"recent": "Latest activity", "confidence": "Hottest (confidence)", "waiting": "Waiting longest for contact",
	"newest": "Newest", "oldest": "Oldest", "name": "Name",
}

type leadRowView struct {
	services.LeadRow
	TeamLabel     string
	ConfidencePct int
	Age           string
	Waiting       string
	NextStart     string
}

// leadFilter reads the inbox filter from the query string.
func leadFilter(c *gin.Context) services.LeadFilter {
	page, _ := strconv.Atoi(c.Query("page"))
	return services.LeadFilter{
		Statuses: c.QueryArray("status"), Team: c.Query("team"), Region: c.Query("region"), Booked: c.Query("booked"),
		From: c.Query("from"), To: c.Query("to"), Query: c.Query("q"), Sort: c.Query("sort"), View: c.Query("view"), Page: page,
	}
}

// adminLeads is the inbox: newest activity first, filtered, searched and
// paginated; an invalid filter shows the form again with the reason.
func (h *Handler) adminLeads(c *gin.Context) {
	f := leadFilter(c)
	list, err := h.inbox.List(c.Request.Context(), f)
	status := http.StatusOK
	page := adminLeadsPage{Filter: f, List: list, Statuses: services.LeadStatuses, Now: time.Now(), StatusSet: map[string]bool{}}
	if services.ErrorCode(err) == services.CodeInvalid {
		status, page.Errors = http.StatusUnprocessableEntity, fieldErrors(err)
	} else if err != nil {
		h.fail(c, err)
		return
	}
	for _, s := range f.Statuses {
		page.StatusSet[s] = true
	}
	for _, k := range services.LeadSortKeys {
		page.Sorts = append(page.Sorts, sortOption{Key: k, Label: sortLabels[k]})
	}
	q := c.Request.URL.Query()
	q.Del("page")
	page.Query = q.Encode()
	if list.Page > 1 {
		page.PrevURL = pageURL(q, list.Page-1)
	}
	if list.Page < list.Pages() {
		page.NextURL = pageURL(q, list.Page+1)
	}
	page.FollowUp = f.View == "follow-up"
	page.MoreFilters = len(f.Statuses) > 0 || f.Team != "" || f.Region != "" || f.Booked != "" || f.From != "" || f.To != "" ||
		(f.Sort != "" && f.Sort != "recent") || len(page.Errors) > 0
	for _, r := range list.Rows {
		page.Rows = append(page.Rows, newLeadRowView(r, page.Now))
	}
	page.Page = h.page(c, "Leads", "")
	page.NoIndex = true
	c.HTML(status, "admin_leads", page)
}

func pageURL(q url.Values, n int) string {
	q2 := url.Values{}
	for k, v := range q {
		q2[k] = v
	}
	q2.Set("page", strconv.Itoa(n))
	return "/admin/leads?" + q2.Encode()
}

func newLeadRowView(r services.LeadRow, now time.Time) leadRowView {
	v := leadRowView{LeadRow: r, TeamLabel: teamLabel(r.Team), ConfidencePct: int(r.Confidence*100 + 0.5), Age: ago(now.Sub(r.CreatedAt))}
	if since, ok := r.WaitingSince(); ok {
		v.Waiting = ago(now.Sub(since))
	}
	if r.NextStart.Valid {
		v.NextStart = services.FormatShortTime(r.NextStart.Time, mustZone(r.Timezone))
	}
	return v
}

// ago is a duration as staff read it at a glance: "45 min", "5 h", "3 d".
func ago(d time.Duration) string {
	switch {
	case d < time.Hour:
		return fmt.Sprintf("%d min", max(int(d/time.Minute), 0))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h", int(d/time.Hour))
	default:
		return fmt.Sprintf("%d d", int(d/(24*time.Hour)))
	}
}

// adminLeadsCSV streams the filtered inbox, every page of it, as CSV.
func (h *Handler) adminLeadsCSV(c *gin.Context) {
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="leads-%s.csv"`, time.Now().UTC().Format("2006-01-02")))
	c.Status(http.StatusOK)
	_, err := h.inbox.ExportCSV(c.Request.Context(), leadFilter(c), c.Writer)
	switch {
	case err != nil && !c.Writer.Written():
		c.Writer.Header().Del("Content-Type")
		c.Writer.Header().Del("Content-Disposition")
		h.fail(c, err)
	case err != nil:
		// Rows are already on the wire; the status can no longer change.
		h.log.Error("lead export failed", "request_id", c.GetString(ctxRequestID), "error", err)
	}
}
