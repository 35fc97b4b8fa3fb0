package handlers

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"consultd/services"
)

// slotPicker is a week of open slots with a zone switcher.
type slotPicker struct {
	Base       string // this page's path, for the zone switcher
	PickAction string // GET target of a chosen slot (the confirm step)
	Zones      []services.Zone
	TZ         string
	TZLabel    string
	From       string
	Days       []slotDay
	PrevURL    string
	NextURL    string
	FormError  string
	Next       []slotView // alternatives after a conflict
	Empty      bool
	Type       string // the session type slug the picked slot is for, carried along
}

type slotDay struct {
	Label string
	Slots []slotView
}

type slotView struct {
	Value string // RFC 3339 start
	Label string // "9:00 a.m."
}

// slotLabel is a time of day as people in North America write it: "9:30 a.m.".
func slotLabel(t time.Time) string {
	suffix := "a.m."
	if t.Hour() >= 12 {
		suffix = "p.m."
	}
	h := t.Hour() % 12
	if h == 0 {
		h = 12
	}
	return fmt.Sprintf("%d:%02d %s", h, t.Minute(), suffix)
}

func zoneLabel(region, zone string) string {
	for _, z := range services.ZonesFor(region) {
		if z.ID == zone {
			return z.Label
		}
	}
	return zone
}

// slotPicker asks for the open slots of req and lays them out. A zone or
// date the person edited into the URL falls back to fallbackTZ (empty: the
// service's default) and today, rather than failing the page; skip drops
// slots not to offer.
func (h *Handler) slotPicker(c *gin.Context, base, region string, req services.SlotRequest, fallbackTZ string, skip func(services.Slot) bool) (slotPicker, error) {
	slots, loc, err := h.bookings.OpenSlots(c.Request.Context(), req)
	if services.ErrorCode(err) == services.CodeInvalid {
		req.Timezone, req.From = fallbackTZ, ""
		slots, loc, err = h.bookings.OpenSlots(c.Request.Context(), req)
	}
	if err != nil {
		return slotPicker{}, err
	}
	if skip != nil {
		slots = slices.DeleteFunc(slots, skip)
	}
	return newSlotPicker(c, base, region, slots, loc, pickerStart(req.From, loc), h.bookings.LastSlotDay(loc)), nil
}

// newSlotPicker groups slots by local day and links the weeks around; no
// link goes past lastDay, where the service would refuse the date.
func newSlotPicker(c *gin.Context, base, region string, slots []services.Slot, loc *time.Location, from, lastDay time.Time) slotPicker {
	p := slotPicker{
		Base: base, PickAction: withEmbed(c, base+"/confirm"), Zones: services.ZonesFor(region), TZ: loc.String(),
		TZLabel: zoneLabel(region, loc.String()), From: from.Format(time.DateOnly), Empty: len(slots) == 0,
	}
	for _, s := range slots {
		label := s.Start.Format("Mon 2 Jan")
		if len(p.Days) == 0 || p.Days[len(p.Days)-1].Label != label {
			p.Days = append(p.Days, slotDay{Label: label})
		}
		day := &p.Days[len(p.Days)-1]
		day.Slots = append(day.Slots, slotView{Value: s.Start.Format(time.RFC3339), Label: slotLabel(s.Start)})
	}
	p.Type = sessionTypeParam(c)
	week := func(d time.Time) string {
		q := url.Values{"tz": {loc.String()}, "from": {d.Format(time.DateOnly)}}
		if isEmbed(c) {
			q.Set("embed", "1")
		}
		if p.Type != "" {
			q.Set("type", p.Type)
		}
		return base + "?" + q.Encode()
	}
	next := from.AddDate(0, 0, 7)
	if day := time.Date(next.Year(), next.Month(), next.Day(), 0, 0, 0, 0, loc); !day.After(lastDay) {
		p.NextURL = week(next)
	}
	if today := time.Now().In(loc); from.After(today) {
		p.PrevURL = week(from.AddDate(0, 0, -7))
	}
	return p
}

func slotViews(slots []services.Slot, loc *time.Location) []slotView {
	out := make([]slotView, 0, len(slots))
	for _, s := range slots {
		out = append(out, slotView{Value: s.Start.Format(time.RFC3339), Label: s.Start.In(loc).Format("Mon 2 Jan") + ", " + slotLabel(s.Start.In(loc))})
	}
	return out
}

// sessionTypeParam is the session type a booking page carries, from the
// query or the form; only slug characters survive.
func sessionTypeParam(c *gin.Context) string {
	t := c.Query("type")
	if t == "" {
		t = c.PostForm("type")
	}
	if len(t) > 40 || strings.Trim(t, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
		return ""
	}
	return t
}

// parseStart reads an RFC 3339 start from a form or JSON.
func parseStart(raw string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(raw))
	if err != nil {
		return time.Time{}, services.Invalid(map[string]string{"start": "Choose one of the listed times."})
	}
	return t, nil
}
