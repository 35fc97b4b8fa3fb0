package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// adminDashboard is the sales home. The funnel charts are not built yet;
// until then it links to the work that is.
func (h *Handler) adminDashboard(c *gin.Context) {
	p := h.page(c, "Dashboard", "")
	p.NoIndex = true
	c.HTML(http.StatusOK, "admin_dashboard", struct{ Page }{p})
}
