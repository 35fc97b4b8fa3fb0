package services

import (
	"context"
	"strings"
	"time"
)

// SlotRequest asks for open slots for an inquiry, or for a team and region.
type SlotRequest struct {
	InquiryID string
	Team      string
	Region    string
	Timezone  string // a zone of the region; defaults to the lead's zone or the region's first
	From      string // YYYY-MM-DD in Timezone; defaults to today there
	Days      int    // 1 to 31; defaults to 7
	Exclude   string // a booking to ignore, when moving it
}

// OpenSlots validates the request and returns the open slots in its zone.
func (b *Bookings) OpenSlots(ctx context.Context, r SlotRequest) ([]Slot, *time.Location, error) {
	if r.InquiryID != "" {
		inq, err := getInquiry(ctx, b.db, r.InquiryID)
		if err != nil {
			return nil, nil, err
		}
		r.Team, r.Region = inq.Team, inq.Region
		if r.Timezone == "" {
			r.Timezone = inq.Timezone
		}
	}
	fields := map[string]string{}
	r.Team, r.Region = strings.ToLower(r.Team), strings.ToLower(r.Region)
	if !ValidTeam(r.Team) {
		fields["team"] = "Give lead_id, or team (django or nodejs) with region."
	}
	if !ValidRegion(r.Region) {
		fields["region"] = "Give lead_id, or region (canada or usa) with team."
	} else if r.Timezone == "" {
		r.Timezone = ZonesFor(r.Region)[0].ID
	}
	if ValidRegion(r.Region) && !ZoneInRegion(r.Region, r.Timezone) {
		fields["tz"] = "Choose a time zone in " + RegionLabel(r.Region) + "."
	}
	if r.Days == 0 {
		r.Days = 7
	}
	if r.Days < 1 || r.Days > 31 {
		fields["days"] = "Ask for 1 to 31 days."
	}
	if len(fields) > 0 {
		return nil, nil, Invalid(fields)
	}
	loc, _ := time.LoadLocation(r.Timezone)
	from := b.now().In(loc)
	if r.From != "" {
		day, err := time.ParseInLocation(time.DateOnly, r.From, loc)
		if err != nil {
			return nil, nil, Invalid(map[string]string{"from": "Use a date such as 2026-12-01."})
		}
		from = day
	}
	slots, err := b.avail.Slots(ctx, SlotQuery{Team: r.Team, Region: r.Region, From: from, Days: r.Days, Loc: loc, exclude: r.Exclude})
	return slots, loc, err
}
