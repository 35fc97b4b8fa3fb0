package handlers

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"consultd/services"
)

// auditPage is a page of the audit log, newest first.
type auditPage struct {
	Page
	Entries []auditRow
	Older   string
	Paged   bool
}

type auditRow struct {
	services.AuditEntry
	Details []auditDetail
	Link    string // the target's page, when it has one
}

type auditDetail struct{ Key, Value string }

// adminAudit lists what staff did, a page at a time (?before= an id).
func (h *Handler) adminAudit(c *gin.Context) {
	before, _ := strconv.ParseInt(c.Query("before"), 10, 64)
	list, err := h.audit.List(c.Request.Context(), max(before, 0), 100)
	if err != nil {
		h.fail(c, err)
		return
	}
	page := auditPage{Page: h.page(c, "Audit log", ""), Paged: before > 0}
	page.NoIndex = true
	for _, e := range list.Entries {
		page.Entries = append(page.Entries, auditRow{AuditEntry: e, Details: auditDetails(e.Detail), Link: auditLink(e)})
	}
	if list.Before != 0 {
		page.Older = "/admin/audit?before=" + strconv.FormatInt(list.Before, 10)
	}
	c.HTML(http.StatusOK, "admin_audit", page)
}

// auditDetails turns the detail object into sorted key-value pairs; a
// detail that is not an object is shown as it is.
func auditDetails(raw string) []auditDetail {
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return []auditDetail{{Value: raw}}
	}
	out := make([]auditDetail, 0, len(m))
	for k, v := range m {
		out = append(out, auditDetail{Key: k, Value: fmt.Sprint(v)})
	}
	slices.SortFunc(out, func(a, b auditDetail) int { return strings.Compare(a.Key, b.Key) })
	return out
}

func auditLink(e services.AuditEntry) string {
	if e.TargetType == "outbox" {
		if _, err := strconv.ParseInt(e.TargetID, 10, 64); err == nil {
			return "/admin/outbox/" + e.TargetID
		}
	}
	return ""
}
