package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// portalHome is the consultant's own page. Bookings, hours and time off are
// not built yet.
func (h *Handler) portalHome(c *gin.Context) {
	p := h.page(c, "My bookings and hours", "")
	p.NoIndex = true
	c.HTML(http.StatusOK, "portal", struct{ Page }{p})
}
