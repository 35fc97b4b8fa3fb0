package handlers

import (
	"time"

	"github.com/gin-gonic/gin"

	"consultd/services"
)

// Page is what the layout needs; every page's data embeds it.
type Page struct {
	Site        string
	Title       string
	Description string
	Canonical   string
	Nonce       string
	Year        int
	NoIndex     bool
	Embed       bool
	OGType      string
	BaseURL     string
	// Staff is the signed-in user on staff pages; the header then shows
	// their navigation instead of the site's.
	Staff services.Actor
	Path  string
}

func (h *Handler) page(c *gin.Context, title, description string) Page {
	return Page{
		Site:        h.cfg.SiteName,
		Title:       title,
		Description: description,
		Canonical:   h.cfg.BaseURL.String() + c.Request.URL.Path,
		Nonce:       c.GetString(ctxNonce),
		Year:        time.Now().Year(),
		Embed:       isEmbed(c),
		OGType:      "website",
		BaseURL:     h.cfg.BaseURL.String(),
		Staff:       services.ActorFrom(c.Request.Context()),
		Path:        c.Request.URL.Path,
	}
}
