package handlers

import (
	"html/template"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"consultd/services"
)

// feedView is a feed's address as a page shows it.
type feedView struct {
	URL string
	// Webcal is our own webcal:// link, built from BASE_URL and a random
	// token; html/template refuses the scheme unless told it is safe.
	Webcal template.URL
	Issued string
}

func newFeedView(l *services.FeedLink, loc *time.Location) *feedView {
	if l == nil {
		return nil
	}
	return &feedView{URL: l.URL, Webcal: template.URL(l.Webcal), Issued: l.RotatedAt.In(loc).Format("Mon 2 Jan 2006, 15:04 MST")}
}

// portalFeed is the consultant's own feed URL, nil before they have one,
// and a note about the change just made.
func (h *Handler) portalFeed(c *gin.Context, loc *time.Location) (*feedView, string, error) {
	link, err := h.feeds.Mine(c.Request.Context())
	if err != nil {
		return nil, "", err
	}
	notice := ""
	switch c.Query("done") {
	case "feed-created":
		notice = "Your private feed is ready. Subscribe to it from your calendar app."
	case "feed-rotated":
		notice = "New feed URL issued. The old one stopped working at once: subscribe again with this one and remove the old subscription."
	}
	return newFeedView(link, loc), notice, nil
}

// rotateMyFeed issues the consultant's feed URL, or replaces it so the old
// one stops at once.
func (h *Handler) rotateMyFeed(c *gin.Context) {
	link, err := h.feeds.RotateMine(c.Request.Context())
	if err != nil {
		h.fail(c, err)
		return
	}
	done := "feed-rotated"
	if link.Created {
		done = "feed-created"
	}
	c.Redirect(http.StatusSeeOther, "/me?done="+done+"#calendar")
}
