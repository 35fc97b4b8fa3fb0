package services

import (
	"context"
	"fmt"
)

// demoConsultants cover both teams in both regions, spread over the zones
// whose rules are easy to get wrong: half-hour offsets, no DST, both coasts.
var demoConsultants = []struct {
	NewConsultant
	hours []string
}{
	{NewConsultant{Name: "Aisling Byrne", Email: "aisling.byrne@consult.example", Team: TeamDjango, Regions: []string{RegionCanada}, Timezone: "America/St_Johns"}, []string{"mon-fri 09:00-12:00,13:00-17:00"}},
	{NewConsultant{Name: "Marc Tremblay", Email: "marc.tremblay@consult.example", Team: TeamDjango, Regions: []string{RegionCanada, RegionUSA}, Timezone: "America/Toronto"}, []string{"mon-thu 08:30-12:00,13:00-16:30", "fri 09:00-13:00"}},
	{NewConsultant{Name: "Priya Natarajan", Email: "priya.natarajan@consult.example", Team: TeamDjango, Regions: []string{RegionCanada}, Timezone: "America/Vancouver"}, []string{"mon-fri 09:00-17:00"}},
	{NewConsultant{Name: "Dana Whitfield", Email: "dana.whitfield@consult.example", Team: TeamDjango, Regions: []string{RegionUSA}, Timezone: "America/New_York"}, []string{"mon-fri 09:00-12:00,13:00-17:00"}},
	{NewConsultant{Name: "Luis Ortega", Email: "luis.ortega@consult.example", Team: TeamDjango, Regions: []string{RegionUSA}, Timezone: "America/Denver"}, []string{"mon-fri 08:00-12:00,13:00-16:00"}},
	{NewConsultant{Name: "Grace Kim", Email: "grace.kim@consult.example", Team: TeamDjango, Regions: []string{RegionUSA}, Timezone: "America/Los_Angeles"}, []string{"tue-fri 10:00-18:00"}},
	{NewConsultant{Name: "Owen MacLeod", Email: "owen.macleod@consult.example", Team: TeamNodeJS, Regions: []string{RegionCanada}, Timezone: "America/Halifax"}, []string{"mon-fri 09:00-12:00,13:00-17:00"}},
	{NewConsultant{Name: "Sophie Lavoie", Email: "sophie.lavoie@consult.example", Team: TeamNodeJS, Regions: []string{RegionCanada}, Timezone: "America/Regina"}, []string{"mon-fri 08:00-16:00"}},
	{NewConsultant{Name: "Jordan Pike", Email: "jordan.pike@consult.example", Team: TeamNodeJS, Regions: []string{RegionCanada, RegionUSA}, Timezone: "America/Toronto"}, []string{"mon-fri 10:00-12:00,13:00-18:00"}},
	{NewConsultant{Name: "Maya Patel", Email: "maya.patel@consult.example", Team: TeamNodeJS, Regions: []string{RegionUSA}, Timezone: "America/Chicago"}, []string{"mon-fri 09:00-12:00,13:00-17:00"}},
	{NewConsultant{Name: "Ethan Brooks", Email: "ethan.brooks@consult.example", Team: TeamNodeJS, Regions: []string{RegionUSA}, Timezone: "America/Phoenix"}, []string{"mon-fri 07:00-11:00,12:00-15:00"}},
	{NewConsultant{Name: "Nora Castillo", Email: "nora.castillo@consult.example", Team: TeamNodeJS, Regions: []string{RegionUSA}, Timezone: "America/Los_Angeles"}, []string{"mon-fri 09:00-17:00"}},
}

// SeedResult counts what a demo seed created and updated.
type SeedResult struct {
	ConsultantsCreated int
	ConsultantsUpdated int
}

// SeedDemo loads demo data. Running it again updates the same rows, so it is
// safe on every start of a development server.
func SeedDemo(ctx context.Context, consultants *Consultants) (SeedResult, error) {
	var res SeedResult
	for _, d := range demoConsultants {
		in := d.NewConsultant
		in.MeetingURL = "https://meet.consult.example/" + in.Email[:len(in.Email)-len("@consult.example")]
		hours, err := ParseWeeklyHours(d.hours)
		if err != nil {
			return res, fmt.Errorf("demo hours for %s: %w", in.Email, err)
		}
		in.Hours = hours
		_, created, err := consultants.Upsert(ctx, in)
		if err != nil {
			return res, fmt.Errorf("demo consultant %s: %w", in.Email, err)
		}
		if created {
			res.ConsultantsCreated++
		} else {
			res.ConsultantsUpdated++
		}
	}
	return res, nil
}
