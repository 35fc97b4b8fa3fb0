package services

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// ConsentWording is the exact sentence shown beside the consent checkbox; it
// is stored with every consent, so changing it here changes future records only.
const ConsentWording = "I agree to be contacted by email about my assessment and the consultation I book. " +
	"I can withdraw this consent at any time by replying to any message."

// CodeRejected marks a submission refused as automated.
const CodeRejected = "rejected"

// Lead is a prospect who finished the assessment and left their details.
type Lead struct {
	ID           string         `db:"id"`
	Name         string         `db:"name"`
	Email        string         `db:"email"`
	Company      string         `db:"company"`
	Region       string         `db:"region"`
	Timezone     string         `db:"timezone"`
	Message      string         `db:"message"`
	Team         string         `db:"team"`
	Status       string         `db:"status"`
	ConsultantID sql.NullString `db:"consultant_id"`
	Referrer     string         `db:"referrer"`
	CreatedAt    time.Time      `db:"created_at"`
	UpdatedAt    time.Time      `db:"updated_at"`
}

const leadColumns = `id, name, email, company, region, timezone, message, team, status, consultant_id, referrer, created_at, updated_at`

// NewLead is the lead form as submitted.
type NewLead struct {
	AssessmentID string
	Name         string
	Email        string
	Company      string
	Region       string
	Timezone     string
	Message      string
	Consent      bool
	Website      string // honeypot: people never see it, bots fill it in
	Attribution  *Attribution
	IP           string
	UserAgent    string
}

// Leads captures and reads leads.
type Leads struct {
	db     *sqlx.DB
	funnel *Funnel
}

// NewLeads returns the lead service.
func NewLeads(db *sqlx.DB, funnel *Funnel) *Leads { return &Leads{db: db, funnel: funnel} }

func (in *NewLead) normalize() error {
	if in.Website != "" {
		return &Error{Code: CodeRejected, Message: "This submission looks automated and was not accepted."}
	}
	in.Name = cleanLine(in.Name)
	in.Email = strings.ToLower(strings.TrimSpace(in.Email))
	in.Company = cleanLine(in.Company)
	in.Region = strings.ToLower(strings.TrimSpace(in.Region))
	in.Timezone = strings.TrimSpace(in.Timezone)
	in.Message = cleanText(in.Message)
	fields := map[string]string{}
	if !visibleText(in.Name) {
		fields["name"] = "Enter your name."
	} else if len([]rune(in.Name)) > 120 {
		fields["name"] = "Keep your name under 120 characters."
	}
	if !validEmail(in.Email) {
		fields["email"] = "Enter a work email such as ana@company.com."
	}
	if !visibleText(in.Company) {
		fields["company"] = "Enter your company or project name."
	} else if len([]rune(in.Company)) > 200 {
		fields["company"] = "Keep the company name under 200 characters."
	}
	switch {
	case !ValidRegion(in.Region):
		fields["region"] = "Choose Canada or the USA."
	case !ZoneInRegion(in.Region, in.Timezone):
		fields["timezone"] = "Choose a time zone in " + RegionLabel(in.Region) + "."
	}
	if len([]rune(in.Message)) > 2000 {
		fields["message"] = "Keep the message under 2,000 characters."
	}
	if !in.Consent {
		fields["consent"] = "Please tick the box so we may contact you about your consultation."
	}
	if !ValidUUID(in.AssessmentID) {
		fields["assessment_id"] = "Take the assessment first."
	}
	if len(fields) > 0 {
		return Invalid(fields)
	}
	return nil
}

func validEmail(s string) bool {
	if len(s) > 254 {
		return false
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != s {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	domain := s[at+1:]
	return strings.Contains(domain, ".") && !strings.HasSuffix(domain, ".") && !strings.HasPrefix(domain, ".")
}

// Capture stores the lead from a finished assessment. The same email (any
// case) updates the existing lead and attaches the new assessment to it.
// It reports whether the lead is new.
func (s *Leads) Capture(ctx context.Context, in NewLead) (Lead, bool, error) {
	if err := in.normalize(); err != nil {
		return Lead{}, false, err
	}
	var lead Lead
	var created bool
	err := inTx(ctx, s.db, func(tx *sqlx.Tx) error {
		a, err := lockAssessment(ctx, tx, in.AssessmentID)
		if err != nil {
			return err
		}
		attr := a.attribution
		if in.Attribution != nil && (len(in.Attribution.UTM) > 0 || in.Attribution.Referrer != "") {
			attr = in.Attribution.clean()
		}
		lead, created, err = upsertLead(ctx, tx, in, a.team, attr)
		if err != nil {
			return err
		}
		if a.leadID.Valid && a.leadID.String != lead.ID {
			return Conflict("This assessment was already sent with another email address. Please take the assessment again.")
		}
		return recordCapture(ctx, tx, in, lead, created)
	})
	if err != nil {
		return Lead{}, false, err
	}
	if created {
		s.funnel.Count(StageLeadCreated)
	}
	return lead, created, nil
}

type lockedAssessment struct {
	team        string
	leadID      sql.NullString
	attribution Attribution
}

func lockAssessment(ctx context.Context, tx *sqlx.Tx, id string) (lockedAssessment, error) {
	var a lockedAssessment
	var utm []byte
	err := tx.QueryRowxContext(ctx, `SELECT team, lead_id, utm, referrer FROM assessments WHERE id = $1 FOR UPDATE`, id).
		Scan(&a.team, &a.leadID, &utm, &a.attribution.Referrer)
	if errors.Is(err, sql.ErrNoRows) {
		return a, Invalid(map[string]string{"assessment_id": "That assessment does not exist; please take it again."})
	}
	if err != nil {
		return a, fmt.Errorf("lock assessment: %w", err)
	}
	if err := json.Unmarshal(utm, &a.attribution.UTM); err != nil {
		return a, fmt.Errorf("decode utm: %w", err)
	}
	return a, nil
}

func upsertLead(ctx context.Context, tx *sqlx.Tx, in NewLead, team string, attr Attribution) (Lead, bool, error) {
	utm, _ := json.Marshal(attr.UTM)
	var row struct {
		Lead
		Created bool `db:"created"`
	}
	err := tx.QueryRowxContext(ctx, `
		INSERT INTO leads (name, email, company, region, timezone, message, team, utm, referrer)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (lower(email)) DO UPDATE SET
			name = EXCLUDED.name, company = EXCLUDED.company, region = EXCLUDED.region,
			timezone = EXCLUDED.timezone, team = EXCLUDED.team,
			message = CASE WHEN EXCLUDED.message <> '' THEN EXCLUDED.message ELSE leads.message END,
			updated_at = now()
		RETURNING `+leadColumns+`, (xmax = 0) AS created`,
		in.Name, in.Email, in.Company, in.Region, in.Timezone, in.Message, team, utm, attr.Referrer,
	).StructScan(&row)
	if err != nil {
		return Lead{}, false, translatePQ(err, "Those details could not be saved.", "upsert lead")
	}
	return row.Lead, row.Created, nil
}

func recordCapture(ctx context.Context, tx *sqlx.Tx, in NewLead, lead Lead, created bool) error {
	if _, err := tx.ExecContext(ctx, `UPDATE assessments SET lead_id = $1 WHERE id = $2`, lead.ID, in.AssessmentID); err != nil {
		return fmt.Errorf("link assessment: %w", err)
	}
	var ip any
	if net.ParseIP(in.IP) != nil {
		ip = in.IP
	}
	_, err := tx.ExecContext(ctx, `
		INSERT INTO lead_consents (lead_id, assessment_id, wording, ip, user_agent) VALUES ($1, $2, $3, $4, $5)`,
		lead.ID, in.AssessmentID, ConsentWording, ip, truncate(cleanLine(in.UserAgent), 500))
	if err != nil {
		return fmt.Errorf("record consent: %w", err)
	}
	kind := "lead_updated"
	if created {
		kind = "lead_created"
	}
	return leadEvent(ctx, tx, lead.ID, kind, map[string]string{"assessment_id": in.AssessmentID, "team": lead.Team})
}

// leadEvent adds a line to the lead's history.
func leadEvent(ctx context.Context, tx *sqlx.Tx, leadID, kind string, detail map[string]string) error {
	raw, _ := json.Marshal(detail)
	if _, err := tx.ExecContext(ctx, `INSERT INTO lead_events (lead_id, kind, detail) VALUES ($1, $2, $3)`, leadID, kind, raw); err != nil {
		return fmt.Errorf("record lead event %s: %w", kind, err)
	}
	return nil
}

// Get returns a lead by id.
func (s *Leads) Get(ctx context.Context, id string) (Lead, error) {
	if !ValidUUID(id) {
		return Lead{}, ErrNotFound
	}
	var l Lead
	err := s.db.GetContext(ctx, &l, `SELECT `+leadColumns+` FROM leads WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return Lead{}, ErrNotFound
	}
	if err != nil {
		return Lead{}, fmt.Errorf("get lead: %w", err)
	}
	return l, nil
}
