package handlers

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// adminFeedsPage lists the team feeds for sales managers' calendars.
type adminFeedsPage struct {
	Page
	Teams []teamFeedView
}

type teamFeedView struct {
	Team   string
	Label  string
	Feed   *feedView
	Notice string
}

// adminFeeds shows each team's feed URL, with a button to issue or replace it.
func (h *Handler) adminFeeds(c *gin.Context) {
	teams, err := h.feeds.TeamFeeds(c.Request.Context())
	if err != nil {
		h.fail(c, err)
		return
	}
	page := adminFeedsPage{Page: h.page(c, "Team calendar feeds", "")}
	page.NoIndex = true
	for _, t := range teams {
		v := teamFeedView{Team: t.Team, Label: teamLabel(t.Team), Feed: newFeedView(t.Link, time.UTC)}
		switch c.Query("done") {
		case "created-" + t.Team:
			v.Notice = "Feed URL issued. Give it to the " + v.Label + " team's sales managers."
		case "rotated-" + t.Team:
			v.Notice = "New feed URL issued. The old one stopped working at once: calendars subscribed with it need this one."
		}
		page.Teams = append(page.Teams, v)
	}
	c.HTML(http.StatusOK, "admin_feeds", page)
}

// adminRotateTeamFeed issues a team's feed URL or replaces it.
func (h *Handler) adminRotateTeamFeed(c *gin.Context) {
	team := c.Param("team")
	link, err := h.feeds.RotateTeam(c.Request.Context(), team)
	if err != nil {
		h.fail(c, err)
		return
	}
	done := "rotated-"
	if link.Created {
		done = "created-"
	}
	c.Redirect(http.StatusSeeOther, "/admin/feeds?done="+done+team+"#team-"+team)
}
