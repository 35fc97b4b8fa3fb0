package handlers

import (
	"strings"

	"github.com/gin-gonic/gin"
)

// isEmbed reports whether the page is shown inside a partner's iframe.
func isEmbed(c *gin.Context) bool {
	return c.Query("embed") == "1"
}

// withEmbed keeps embed mode across a redirect or a form action.
func withEmbed(c *gin.Context, path string) string {
	if isEmbed(c) {
		return path + "?embed=1"
	}
	return path
}

// allowFramingIfEmbed lets the configured partner origins frame this page in
// embed mode; every other page keeps frame-ancestors 'none'.
func (h *Handler) allowFramingIfEmbed(c *gin.Context) {
	if !isEmbed(c) {
		return
	}
	ancestors := "'self'"
	if len(h.cfg.EmbedOrigins) > 0 {
		ancestors += " " + strings.Join(h.cfg.EmbedOrigins, " ")
	}
	c.Header("Content-Security-Policy", contentSecurityPolicy(c.GetString(ctxNonce), ancestors))
	c.Writer.Header().Del("X-Frame-Options")
}
