package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// healthz answers as long as the process serves requests.
func (h *Handler) healthz(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, gin.H{"status": "ok", "version": h.cfg.Version})
}

// readyz answers 200 only while the database is reachable, so a load
// balancer stops sending traffic during an outage and resumes after it.
func (h *Handler) readyz(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	if err := h.health.Ready(c.Request.Context()); err != nil {
		h.log.Warn("not ready", "request_id", c.GetString(ctxRequestID), "error", err)
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable", "database": "unreachable"})
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ok", "database": "ok"})
}
