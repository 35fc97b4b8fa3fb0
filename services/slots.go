package services

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SlotRequest asks for open slots for an inquiry, or for a team and region.
type SlotRequest struct {
	InquiryID string
	Team      string
	Region    string
	Timezone  string // a zone of the region; defaults to the inquiry's zone or the region's first
	From      string // YYYY-MM-DD in Timezone, from yesterday up to the horizon; defaults to today there
	Days      string // 1 to 31, as asked for; defaults to 7
	Exclude   string // a booking to ignore, when moving it
}

// OpenSlots validates the request and returns the open slots in its zone.
func (b *Bookings) OpenSlots(ctx context.Context, r SlotRequest) ([]Slot, *time.Location, error) {
	set, err := b.OpenSlotSet(ctx, r)
	if err != nil {
		return nil, nil, err
	}
	return set.Slots(), set.Loc, nil
}

// OpenSlotSet is OpenSlots keeping the answer's cache key, for callers
// that reuse what they make of the same slots.
func (b *Bookings) OpenSlotSet(ctx context.Context, r SlotRequest) (SlotSet, error) {
	if r.InquiryID != "" {
		inq, err := getInquiry(ctx, b.db, r.InquiryID)
		if err != nil {
			return SlotSet{}, err
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
	days, ok := slotDays(r.Days)
	if !ok {
		fields["days"] = "Ask for 1 to 31 days."
	}
	if len(fields) > 0 {
		return SlotSet{}, Invalid(fields)
	}
	loc, _ := LoadZone(r.Timezone)
	from, msg := b.slotsFrom(r.From, loc)
	if msg != "" {
		return SlotSet{}, Invalid(map[string]string{"from": msg})
	}
	return b.avail.slotSet(ctx, SlotQuery{Team: r.Team, Region: r.Region, From: from, Days: days, Loc: loc, exclude: r.Exclude})
}

// slotDays reads how many days are asked for; left out, it is a week.
func slotDays(raw string) (int, bool) {
	if raw == "" {
		return 7, true
	}
	n, err := strconv.Atoi(strings.TrimSpace(raw))
	return n, err == nil && n >= 1 && n <= 31
}

// slotsFrom reads the first day asked for, or explains why it is refused.
// Yesterday is accepted: a client west of loc may still be on that date.
// Earlier days, or days after the last one slots can fall on, are a
// mistake to report, not an empty week to show.
func (b *Bookings) slotsFrom(raw string, loc *time.Location) (time.Time, string) {
	now := b.now().In(loc)
	if raw == "" {
		return now, ""
	}
	day, err := time.ParseInLocation(time.DateOnly, strings.TrimSpace(raw), loc)
	if err != nil {
		return time.Time{}, "Use a date such as 2026-12-01."
	}
	yesterday := time.Date(now.Year(), now.Month(), now.Day()-1, 0, 0, 0, 0, loc)
	if day.Before(yesterday) || day.After(b.LastSlotDay(loc)) {
		return time.Time{}, fmt.Sprintf("Choose a date from today up to %d days ahead.", b.avail.Rules().HorizonDays)
	}
	return day, ""
}

// LastSlotDay is the last day, at midnight in loc, on which a slot can
// start: the day the booking horizon ends there.
func (b *Bookings) LastSlotDay(loc *time.Location) time.Time {
	_, latest := b.avail.bounds()
	l := latest.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
}
