package services

import (
	"database/sql"
	"time"
)

// leadExport is everything stored about a person, as a data request gets
// it: plain names and values, no internal shapes.
type leadExport struct {
	ExportedAt time.Time         `json:"exported_at"`
	Lead       exportedLead      `json:"lead"`
	Inquiries  []exportedInquiry `json:"submissions"`
	Consents   []exportedConsent `json:"consents"`
	Bookings   []exportedBooking `json:"bookings"`
	Notes      []exportedNote    `json:"notes"`
	Mail       []exportedMail    `json:"mail"`
	History    []exportedEvent   `json:"history"`
}

type exportedLead struct {
	ID               string            `json:"id"`
	Name             string            `json:"name"`
	Email            string            `json:"email"`
	Company          string            `json:"company"`
	Region           string            `json:"region"`
	Timezone         string            `json:"timezone"`
	Message          string            `json:"message"`
	Team             string            `json:"team"`
	Confidence       float64           `json:"confidence"`
	Status           string            `json:"status"`
	Consultant       string            `json:"consultant,omitempty"`
	UTM              map[string]string `json:"utm"`
	Referrer         string            `json:"referrer"`
	CreatedAt        time.Time         `json:"created_at"`
	FirstContactedAt *time.Time        `json:"first_contacted_at"`
	ErasedAt         *time.Time        `json:"erased_at,omitempty"`
}

type exportedInquiry struct {
	ID         string              `json:"id"`
	CreatedAt  time.Time           `json:"created_at"`
	Name       string              `json:"name"`
	Email      string              `json:"email"`
	Company    string              `json:"company"`
	Region     string              `json:"region"`
	Timezone   string              `json:"timezone"`
	Message    string              `json:"message"`
	Team       string              `json:"team"`
	UTM        map[string]string   `json:"utm"`
	Referrer   string              `json:"referrer"`
	Answers    map[string][]string `json:"answers,omitempty"`
	Confidence float64             `json:"confidence,omitempty"`
	AcceptedAt *time.Time          `json:"accepted_at,omitempty"`
}

type exportedConsent struct {
	SubmissionID string    `json:"submission_id"`
	Wording      string    `json:"wording"`
	IP           string    `json:"ip"`
	UserAgent    string    `json:"user_agent"`
	GivenAt      time.Time `json:"given_at"`
}

type exportedBooking struct {
	ID          string     `json:"id"`
	Status      string     `json:"status"`
	Start       time.Time  `json:"start"`
	End         time.Time  `json:"end"`
	Timezone    string     `json:"timezone"`
	Team        string     `json:"team"`
	Region      string     `json:"region"`
	Consultant  string     `json:"consultant"`
	CreatedAt   time.Time  `json:"created_at"`
	CancelledAt *time.Time `json:"cancelled_at,omitempty"`
}

type exportedNote struct {
	Author    string    `json:"author"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
}

type exportedMail struct {
	Kind      string    `json:"kind"`
	To        string    `json:"to"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
}

type exportedEvent struct {
	Kind      string            `json:"kind"`
	Detail    map[string]string `json:"detail"`
	Actor     string            `json:"actor"`
	CreatedAt time.Time         `json:"created_at"`
}

func timePtr(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}

func newLeadExport(r LeadRecord, now time.Time) leadExport {
	l := r.Lead
	out := leadExport{ExportedAt: now.UTC(), Lead: exportedLead{
		ID: l.ID, Name: l.Name, Email: l.Email, Company: l.Company, Region: l.Region, Timezone: l.Timezone,
		Message: l.Message, Team: l.Team, Confidence: l.Confidence, Status: l.Status, Consultant: r.ConsultantName,
		UTM: l.UTM, Referrer: l.Referrer, CreatedAt: l.CreatedAt.UTC(), FirstContactedAt: timePtr(l.FirstContactedAt), ErasedAt: timePtr(l.ErasedAt),
	}}
	for _, i := range r.Inquiries {
		e := exportedInquiry{ID: i.ID, CreatedAt: i.CreatedAt.UTC(), Name: i.Name, Email: i.Email, Company: i.Company,
			Region: i.Region, Timezone: i.Timezone, Message: i.Message, Team: i.Team, UTM: i.UTM, Referrer: i.Referrer,
			AcceptedAt: timePtr(i.AcceptedAt)}
		if i.Assessment != nil {
			e.Answers, e.Confidence = i.Assessment.Answers, i.Assessment.Result.Confidence
		}
		out.Inquiries = append(out.Inquiries, e)
	}
	for _, c := range r.Consents {
		out.Consents = append(out.Consents, exportedConsent{SubmissionID: c.InquiryID, Wording: c.Wording, IP: c.IP, UserAgent: c.UserAgent, GivenAt: c.GivenAt.UTC()})
	}
	for _, b := range r.Bookings {
		out.Bookings = append(out.Bookings, exportedBooking{ID: b.ID, Status: b.Status, Start: b.Start.UTC(), End: b.End.UTC(),
			Timezone: b.Timezone, Team: b.Team, Region: b.Region, Consultant: b.ConsultantName, CreatedAt: b.CreatedAt.UTC(), CancelledAt: timePtr(b.CancelledAt)})
	}
	for _, n := range r.Notes {
		out.Notes = append(out.Notes, exportedNote{Author: n.Author, Body: n.Body, CreatedAt: n.CreatedAt.UTC()})
	}
	for _, m := range r.Mails {
		if m.Audience == AudienceProspect {
			out.Mail = append(out.Mail, exportedMail{Kind: m.Kind, To: m.To, Status: m.Status, CreatedAt: m.CreatedAt.UTC()})
		}
	}
	for _, e := range r.Events {
		out.History = append(out.History, exportedEvent{Kind: e.Kind, Detail: e.Detail, Actor: e.Actor, CreatedAt: e.CreatedAt.UTC()})
	}
	return out
}
