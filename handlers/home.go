package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

type homePage struct {
	Page
}

func (h *Handler) home(c *gin.Context) {
	c.HTML(http.StatusOK, "home", homePage{Page: h.page(c, "Django vs Node.js", "Which backend fits your product?")})
}
