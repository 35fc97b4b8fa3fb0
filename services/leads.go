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

// Lead is one person (one email) for the sales team, with the details of
// their first submission unless staff accepted a later one.
type Lead struct {
	ID               string         `db:"id"`
	Name             string         `db:"name"`
	Email            string         `db:"email"`
	Company          string         `db:"company"`
	Region           string         `db:"region"`
	Timezone         string         `db:"timezone"`
	Message          string         `db:"message"`
	Team             string         `db:"team"`
	Confidence       float64        `db:"confidence"`
	Status           string         `db:"status"`
	ConsultantID     sql.NullString `db:"consultant_id"`
	UTM              JSONMap        `db:"utm"`
	Referrer         string         `db:"referrer"`
	FirstContactedAt sql.NullTime   `db:"first_contacted_at"`
	LastActivityAt   time.Time      `db:"last_activity_at"`
	ErasedAt         sql.NullTime   `db:"erased_at"`
	CreatedAt        time.Time      `db:"created_at"`
	UpdatedAt        time.Time      `db:"updated_at"`
}

const leadColumns = `id, name, email, company, region, timezone, message, team, confidence::float8 AS confidence, status,
	consultant_id, utm, referrer, first_contacted_at, last_activity_at, erased_at, created_at, updated_at`

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

// Leads captures and reads leads and their inquiries.
type Leads struct {
	db       *sqlx.DB
	funnel   *Funnel
	bookings *Bookings
}

// NewLeads returns the lead service; bookings answers a person who asks
// again while a consultation is upcoming.
func NewLeads(db *sqlx.DB, funnel *Funnel, bookings *Bookings) *Leads {
	return &Leads{db: db, funnel: funnel, bookings: bookings}
}

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

// Capture records a submission of the contact form. The first one for an
// email (any case) creates the lead from its details; every later one is
// kept as its own inquiry beside the lead and changes nothing on it: not the
// contact details, the consent, the team nor any booking. When the person
// already holds an upcoming consultation, the address on file is sent its
// manage link and the inquiry's pages say only that an email went out. The
// answer is the inquiry either way, so it never tells whether the email was
// known.
func (s *Leads) Capture(ctx context.Context, in NewLead) (Inquiry, error) {
	if err := in.normalize(); err != nil {
		return Inquiry{}, err
	}
	var inq Inquiry
	mailed := false
	err := inTx(ctx, s.db, func(tx *sqlx.Tx) error {
		a, err := readAssessment(ctx, tx, in.AssessmentID)
		if err != nil {
			return err
		}
		attr := a.attribution
		if in.Attribution != nil && (len(in.Attribution.UTM) > 0 || in.Attribution.Referrer != "") {
			attr = in.Attribution.clean()
		}
		leadID, created, err := ensureLead(ctx, tx, in, a, attr)
		if err != nil {
			return err
		}
		if inq, err = insertInquiry(ctx, tx, leadID, in, a.team, attr); err != nil {
			return err
		}
		if err := recordCapture(ctx, tx, in, inq, created); err != nil {
			return err
		}
		if err := s.funnel.Record(ctx, tx, StageLeadCreated); err != nil {
			return err
		}
		if created {
			return nil
		}
		upcoming, err := upcomingBooking(ctx, tx, leadID, s.bookings.now())
		if err != nil || upcoming == "" {
			return err
		}
		mailed = true
		return s.bookings.mailExistingBooking(ctx, tx, inq.ID, upcoming)
	})
	if err != nil {
		return Inquiry{}, err
	}
	if mailed {
		s.bookings.mailQueued()
		return getInquiry(ctx, s.db, inq.ID)
	}
	return inq, nil
}

type submittedAssessment struct {
	team        string
	confidence  float64
	attribution Attribution
}

func readAssessment(ctx context.Context, tx *sqlx.Tx, id string) (submittedAssessment, error) {
	var a submittedAssessment
	var utm []byte
	err := tx.QueryRowxContext(ctx, `SELECT team, confidence, utm, referrer FROM assessments WHERE id = $1`, id).
		Scan(&a.team, &a.confidence, &utm, &a.attribution.Referrer)
	if errors.Is(err, sql.ErrNoRows) {
		return a, Invalid(map[string]string{"assessment_id": "That assessment does not exist; please take it again."})
	}
	if err != nil {
		return a, fmt.Errorf("read assessment: %w", err)
	}
	if err := json.Unmarshal(utm, &a.attribution.UTM); err != nil {
		return a, fmt.Errorf("decode utm: %w", err)
	}
	return a, nil
}

// ensureLead returns the lead of the email, creating it from this
// submission when there is none. An existing lead is only locked, never
// changed, so concurrent submissions for one email queue behind each other.
func ensureLead(ctx context.Context, tx *sqlx.Tx, in NewLead, a submittedAssessment, attr Attribution) (string, bool, error) {
	utm := jsonArg(attr.UTM)
	var ids []string
	err := tx.SelectContext(ctx, &ids, `
		INSERT INTO leads (name, email, company, region, timezone, message, team, confidence, utm, referrer)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (lower(email)) DO NOTHING
		RETURNING id`,
		in.Name, in.Email, in.Company, in.Region, in.Timezone, in.Message, a.team, a.confidence, utm, attr.Referrer)
	if err != nil {
		return "", false, translatePQ(err, "Those details could not be saved.", "insert lead")
	}
	if len(ids) == 1 {
		return ids[0], true, nil
	}
	var id string
	err = tx.GetContext(ctx, &id, `UPDATE leads SET last_activity_at = now() WHERE lower(email) = lower($1) RETURNING id`, in.Email)
	if err != nil {
		return "", false, fmt.Errorf("touch lead: %w", err)
	}
	return id, false, nil
}

// recordCapture links the assessment, keeps the consent as given with this
// inquiry, and writes the lead's history.
func recordCapture(ctx context.Context, tx *sqlx.Tx, in NewLead, inq Inquiry, created bool) error {
	if _, err := tx.ExecContext(ctx, `UPDATE assessments SET lead_id = $1 WHERE id = $2 AND lead_id IS NULL`, inq.LeadID, in.AssessmentID); err != nil {
		return fmt.Errorf("link assessment: %w", err)
	}
	var ip any
	if net.ParseIP(in.IP) != nil {
		ip = in.IP
	}
	_, err := tx.ExecContext(ctx, `
		INSERT INTO lead_consents (lead_id, inquiry_id, assessment_id, wording, ip, user_agent) VALUES ($1, $2, $3, $4, $5, $6)`,
		inq.LeadID, inq.ID, in.AssessmentID, ConsentWording, ip, truncate(cleanLine(in.UserAgent), 500))
	if err != nil {
		return fmt.Errorf("record consent: %w", err)
	}
	kind := "inquiry_received"
	if created {
		kind = "lead_created"
	}
	return leadEvent(ctx, tx, inq.LeadID, kind, map[string]string{"inquiry_id": inq.ID, "assessment_id": in.AssessmentID, "team": inq.Team})
}

const leadEventSQL = `INSERT INTO lead_events (lead_id, kind, detail, actor) VALUES ($1, $2, $3, $4)`

// leadEvent adds a line to the lead's history.
func leadEvent(ctx context.Context, tx *sqlx.Tx, leadID, kind string, detail map[string]string) error {
	raw := jsonArg(detail)
	if _, err := execPrepared(ctx, tx, leadEventSQL, leadID, kind, raw, ActorFrom(ctx).Label()); err != nil {
		return fmt.Errorf("record lead event %s: %w", kind, err)
	}
	return nil
}
