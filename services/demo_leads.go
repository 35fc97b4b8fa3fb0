package services

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// DemoDomain marks demo leads; seeding skips when any exist.
const DemoDomain = "demo.example"

// demoPeople are the demo prospects: invented names, companies and zones.
var demoPeople = []struct {
	name, company, region, zone string
}{
	{"Amelia Fraser", "Northwind Freight", RegionCanada, "America/Toronto"},
	{"Liam Chen", "Maple Ledger", RegionCanada, "America/Vancouver"},
	{"Chloé Gagnon", "Boréal Santé", RegionCanada, "America/Toronto"},
	{"Noah Williams", "Prairie Grain Co-op", RegionCanada, "America/Regina"},
	{"Ava Patel", "Harbourline", RegionCanada, "America/Halifax"},
	{"Owen Kelly", "Rockcliff Energy", RegionCanada, "America/Edmonton"},
	{"Siobhan Walsh", "Signal Hill Media", RegionCanada, "America/St_Johns"},
	{"Ethan Roy", "Laurentide Logistics", RegionCanada, "America/Toronto"},
	{"Maya Singh", "Cedar Health", RegionCanada, "America/Vancouver"},
	{"Lucas Tremblay", "Fjord Analytics", RegionCanada, "America/Toronto"},
	{"Olivia Brown", "Brightwater Bank", RegionUSA, "America/New_York"},
	{"Jackson Lee", "Loop Ticketing", RegionUSA, "America/Chicago"},
	{"Sofia Martinez", "Desert Bloom Solar", RegionUSA, "America/Phoenix"},
	{"Mason Johnson", "Harbor Insurance", RegionUSA, "America/New_York"},
	{"Isabella Garcia", "Sierra Learning", RegionUSA, "America/Los_Angeles"},
	{"Elijah Davis", "Keystone Retail", RegionUSA, "America/New_York"},
	{"Harper Wilson", "Rocky Ridge Outfitters", RegionUSA, "America/Denver"},
	{"James Anderson", "Lakeside Clinics", RegionUSA, "America/Chicago"},
	{"Evelyn Thomas", "Pacific Telemetry", RegionUSA, "America/Los_Angeles"},
	{"Benjamin Moore", "Granite Legal", RegionUSA, "America/New_York"},
	{"Abigail Taylor", "Bayou Shipping", RegionUSA, "America/Chicago"},
	{"Henry Jackson", "Summit Payroll", RegionUSA, "America/Denver"},
	{"Emily White", "Orchard Commerce", RegionUSA, "America/Los_Angeles"},
	{"Alexander Harris", "Copperline Mining", RegionUSA, "America/Phoenix"},
	{"Charlotte Martin", "Riverbend Media", RegionUSA, "America/New_York"},
	{"Daniel Thompson", "Gulfstream Travel", RegionUSA, "America/New_York"},
	{"Zoe Clark", "Evergreen Civic", RegionUSA, "America/Los_Angeles"},
	{"Matthew Lewis", "Ironworks Manufacturing", RegionUSA, "America/Chicago"},
	{"Nora Robinson", "Tidewater Labs", RegionCanada, "America/Halifax"},
	{"Samuel Young", "Aurora Games", RegionCanada, "America/Edmonton"},
	{"Grace Walker", "Clearwater Utilities", RegionUSA, "America/Denver"},
	{"Leo King", "Mosaic Marketplace", RegionUSA, "America/Chicago"},
	{"Hannah Scott", "Polar Data", RegionCanada, "America/Winnipeg"},
	{"Isaac Green", "Beacon Fintech", RegionUSA, "America/New_York"},
	{"Lily Baker", "Foxglove Clinics", RegionCanada, "America/Vancouver"},
	{"Caleb Adams", "Redwood Streaming", RegionUSA, "America/Los_Angeles"},
}

var demoMessages = []string{
	"We are replacing a PHP monolith and need to decide by next quarter.",
	"Real-time dashboards are the main pain point.",
	"Our team knows Python well, but the front end is all TypeScript.",
	"",
	"We need HIPAA-friendly auditing from day one.",
	"",
}

var demoNotes = []string{
	"Called; they want a second opinion on their current architecture. Follow up after the consultation.",
	"Budget confirmed for Q1. Sent the case study on real-time dashboards.",
	"Asked for a proposal covering migration and training.",
	"No answer to two emails; try a phone call next week.",
}

// DemoLeadDeps are the services the demo leads go through, so they look
// exactly like real ones.
type DemoLeadDeps struct {
	Assessments *Assessments
	Leads       *Leads
	Bookings    *Bookings
}

// SeedDemoLeads creates a few dozen realistic leads with submissions,
// bookings, statuses and notes, once: it does nothing when demo leads
// exist. It reports how many leads it created.
func SeedDemoLeads(ctx context.Context, d DemoLeadDeps) (int, error) {
	db := d.Leads.db
	var existing int
	if err := db.GetContext(ctx, &existing, `SELECT count(*) FROM leads WHERE email LIKE $1`, "%@"+DemoDomain); err != nil {
		return 0, fmt.Errorf("count demo leads: %w", err)
	}
	if existing > 0 {
		return 0, nil
	}
	def := d.Assessments.Definition()
	now := d.Bookings.now()
	created := 0
	for i, p := range demoPeople {
		answers := demoAnswers(def, i)
		a, err := d.Assessments.Submit(ctx, NewAssessment{Answers: answers, Attribution: demoAttribution(i)})
		if err != nil {
			return created, fmt.Errorf("demo assessment: %w", err)
		}
		email := strings.ToLower(strings.ReplaceAll(strings.Split(p.name, " ")[0], "é", "e")) + "." + fmt.Sprint(i) + "@" + DemoDomain
		inq, err := d.Leads.Capture(ctx, NewLead{
			AssessmentID: a.ID, Name: p.name, Email: email, Company: p.company, Region: p.region, Timezone: p.zone,
			Message: demoMessages[i%len(demoMessages)], Consent: true, IP: "192.0.2." + fmt.Sprint(10+i), UserAgent: "demo seed",
		})
		if err != nil {
			return created, fmt.Errorf("demo lead %s: %w", email, err)
		}
		created++
		// Spread creation over the last ten weeks, oldest first.
		age := time.Duration(len(demoPeople)-i) * 46 * time.Hour
		if err := backdateLead(ctx, d.Leads, inq, a.ID, now.Add(-age)); err != nil {
			return created, err
		}
		if err := demoFollowUp(ctx, d, inq, i); err != nil {
			return created, err
		}
	}
	return created, seedDemoFunnel(ctx, d.Leads, now)
}

// demoAnswers picks a varied but deterministic answer per question.
func demoAnswers(def *AssessmentDefinition, seed int) Answers {
	answers := Answers{}
	for qi, q := range def.Questions {
		opts := q.Options
		if q.Multiple {
			// Skip a "none" option so every multiple answer is valid.
			for len(opts) > 1 && opts[len(opts)-1].ID == "none" {
				opts = opts[:len(opts)-1]
			}
		}
		answers[q.ID] = []string{opts[(seed*7+qi*3)%len(opts)].ID}
	}
	return answers
}

func demoAttribution(i int) Attribution {
	sources := []string{"newsletter", "linkedin", "google", "partner", ""}
	src := sources[i%len(sources)]
	if src == "" {
		return Attribution{}
	}
	return Attribution{UTM: map[string]string{"utm_source": src, "utm_campaign": "django-vs-node"}, Referrer: "https://" + src + ".example/"}
}

func backdateLead(ctx context.Context, s *Leads, inq Inquiry, assessmentID string, at time.Time) error {
	for _, q := range []string{
		`UPDATE leads SET created_at = $2, last_activity_at = $2, updated_at = $2 WHERE id = $1`,
		`UPDATE inquiries SET created_at = $2 WHERE lead_id = $1`,
		`UPDATE lead_consents SET given_at = $2 WHERE lead_id = $1`,
		`UPDATE lead_events SET created_at = $2 WHERE lead_id = $1`,
	} {
		if _, err := s.db.ExecContext(ctx, q, inq.LeadID, at); err != nil {
			return fmt.Errorf("backdate demo lead: %w", err)
		}
	}
	_, err := s.db.ExecContext(ctx, `UPDATE assessments SET created_at = $2 WHERE id = $1`, assessmentID, at)
	return err
}

// demoFollowUp gives some leads what sales would have done: a status, a
// note, a booking, a second submission.
func demoFollowUp(ctx context.Context, d DemoLeadDeps, inq Inquiry, i int) error {
	staff := WithActor(ctx, Actor{Email: "demo-sales@" + DemoDomain, Role: RoleSales})
	switch {
	case i%3 == 0:
		if err := demoBook(ctx, d, inq, i); err != nil {
			return err
		}
	case i%7 == 1:
		if err := d.Leads.SetStatus(staff, inq.LeadID, LeadContacted); err != nil {
			return err
		}
	case i%7 == 2:
		for _, st := range []string{LeadContacted, LeadQualified} {
			if err := d.Leads.SetStatus(staff, inq.LeadID, st); err != nil {
				return err
			}
		}
	case i%11 == 4:
		for _, st := range []string{LeadContacted, LeadQualified, LeadWon} {
			if err := d.Leads.SetStatus(staff, inq.LeadID, st); err != nil {
				return err
			}
		}
	case i%13 == 5:
		if err := d.Leads.SetStatus(staff, inq.LeadID, LeadLost); err != nil {
			return err
		}
	}
	if i%4 == 1 {
		if err := d.Leads.AddNote(staff, inq.LeadID, demoNotes[i%len(demoNotes)]); err != nil {
			return err
		}
	}
	if i%9 == 8 {
		again := NewLead{AssessmentID: inq.AssessmentID, Name: inq.Name, Email: inq.Email, Company: inq.Company + " Inc.",
			Region: inq.Region, Timezone: inq.Timezone, Message: "Adding our CTO to the conversation.", Consent: true, IP: "192.0.2.200"}
		if _, err := d.Leads.Capture(ctx, again); err != nil {
			return fmt.Errorf("demo second submission: %w", err)
		}
	}
	return nil
}

// demoBook books the inquiry's first open slot a few days out.
func demoBook(ctx context.Context, d DemoLeadDeps, inq Inquiry, i int) error {
	loc, err := LoadZone(inq.Timezone)
	if err != nil {
		return fmt.Errorf("demo zone: %w", err)
	}
	from := d.Bookings.now().AddDate(0, 0, 1+i%9).In(loc).Format(time.DateOnly)
	slots, _, err := d.Bookings.OpenSlots(ctx, SlotRequest{InquiryID: inq.ID, From: from, Days: "7"})
	if err != nil || len(slots) == 0 {
		return err // no consultant free: leave the lead unbooked
	}
	_, _, err = d.Bookings.Book(ctx, NewBooking{InquiryID: inq.ID, Start: slots[(i*5)%len(slots)].Start})
	var taken *SlotTaken
	if err != nil && !errors.As(err, &taken) {
		return fmt.Errorf("demo booking: %w", err)
	}
	return nil
}

// seedDemoFunnel fills page views and starts for the weeks the demo leads
// span, in proportion to the completions, so the dashboard's funnel is
// whole.
func seedDemoFunnel(ctx context.Context, s *Leads, now time.Time) error {
	_, err := s.db.ExecContext(ctx, `
		INSERT INTO funnel_counts (day, stage, count)
		SELECT d::date, stage, (mult * (1 + (extract(doy FROM d)::int % 4)))::bigint
		FROM generate_series($1::date - 70, $1::date, interval '1 day') AS d,
		     (VALUES ('article_viewed', 40), ('assessment_started', 9)) AS s(stage, mult)
		ON CONFLICT (day, stage, shard) DO UPDATE SET count = funnel_counts.count + EXCLUDED.count`, now.UTC().Format(time.DateOnly))
	if err != nil {
		return fmt.Errorf("demo funnel: %w", err)
	}
	return nil
}
