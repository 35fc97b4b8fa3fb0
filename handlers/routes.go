package handlers

import "github.com/gin-gonic/gin"

// routes is the table of contents of the site, one line per route.
func (h *Handler) routes(r *gin.Engine) {
	r.GET("/healthz", h.healthz)
	r.GET("/readyz", h.readyz)
	r.GET("/metrics", h.metricsHandler())
	r.GET("/static/*filepath", h.assets.serve)

	r.GET("/", h.home)

	r.NoRoute(h.notFound)
	r.NoMethod(h.methodNotAllowed)
}
