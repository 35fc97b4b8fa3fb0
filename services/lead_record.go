package services

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jmoiron/sqlx"
)

// JSONMap is a jsonb object of strings (UTM parameters).
type JSONMap map[string]string

// Scan reads a jsonb value.
func (m *JSONMap) Scan(src any) error {
	var raw []byte
	switch v := src.(type) {
	case []byte:
		raw = v
	case string:
		raw = []byte(v)
	case nil:
		*m = JSONMap{}
		return nil
	default:
		return fmt.Errorf("JSONMap: cannot scan %T", src)
	}
	out := JSONMap{}
	if err := json.Unmarshal(raw, &out); err != nil {
		return fmt.Errorf("JSONMap: %w", err)
	}
	*m = out
	return nil
}

// Value writes the map as jsonb.
func (m JSONMap) Value() (driver.Value, error) {
	if m == nil {
		return "{}", nil
	}
	return jsonArg(map[string]string(m)), nil
}

// InquiryRecord is one submission with the assessment it came with.
type InquiryRecord struct {
	Inquiry
	UTM        JSONMap
	Assessment *Assessment // nil when the assessment is gone
}

// Consent is one consent as given, with the words shown.
type Consent struct {
	InquiryID string    `db:"inquiry_id"`
	Wording   string    `db:"wording"`
	IP        string    `db:"ip"`
	UserAgent string    `db:"user_agent"`
	GivenAt   time.Time `db:"given_at"`
}

// Note is a staff note on a lead.
type Note struct {
	ID        int64     `db:"id"`
	Author    string    `db:"author"`
	Body      string    `db:"body"`
	CreatedAt time.Time `db:"created_at"`
}

// LeadEvent is one line of a lead's history.
type LeadEvent struct {
	Kind      string    `db:"kind"`
	Detail    JSONMap   `db:"detail"`
	Actor     string    `db:"actor"`
	CreatedAt time.Time `db:"created_at"`
}

// LeadMail is a message sent about the lead or its bookings.
type LeadMail struct {
	ID        int64     `db:"id"`
	Kind      string    `db:"kind"`
	To        string    `db:"to_address"`
	Status    string    `db:"status"`
	Audience  string    `db:"audience"`
	CreatedAt time.Time `db:"created_at"`
}

// LeadRecord is everything sales staff see on a lead's page.
type LeadRecord struct {
	Lead
	ConsultantName string
	Inquiries      []InquiryRecord
	Consents       []Consent
	Bookings       []Booking
	Notes          []Note
	Events         []LeadEvent
	Mails          []LeadMail
}

// Record returns the lead's page for staff, or for the consultant of one of
// its bookings; to anyone else the lead does not exist.
func (s *Leads) Record(ctx context.Context, id string) (LeadRecord, error) {
	if err := s.canRead(ctx, id); err != nil {
		return LeadRecord{}, err
	}
	var r LeadRecord
	var err error
	if r.Lead, err = getLead(ctx, s.db, id, false); err != nil {
		return r, err
	}
	if r.ConsultantID.Valid {
		_ = s.db.GetContext(ctx, &r.ConsultantName, `SELECT name FROM consultants WHERE id = $1`, r.ConsultantID.String)
	}
	loaders := []func() error{
		func() error { return s.loadInquiries(ctx, &r) },
		func() error {
			return s.db.SelectContext(ctx, &r.Consents, `
				SELECT inquiry_id, wording, COALESCE(host(ip), '') AS ip, user_agent, given_at
				FROM lead_consents WHERE lead_id = $1 ORDER BY given_at`, id)
		},
		func() (err error) {
			r.Bookings, err = selectBookings(ctx, s.db, `b.lead_id = $1 ORDER BY b.starts_at DESC`, id)
			return err
		},
		func() error {
			return s.db.SelectContext(ctx, &r.Notes, `SELECT id, author, body, created_at FROM lead_notes WHERE lead_id = $1 ORDER BY created_at, id`, id)
		},
		func() error {
			return s.db.SelectContext(ctx, &r.Events, `SELECT kind, detail, actor, created_at FROM lead_events WHERE lead_id = $1 ORDER BY created_at, id`, id)
		},
		func() error {
			return s.db.SelectContext(ctx, &r.Mails, `
				SELECT o.id, o.kind, o.to_address, o.status, o.audience, o.created_at FROM outbox o
				WHERE o.booking_id IN (SELECT id FROM bookings WHERE lead_id = $1)
				   OR (o.audience = 'prospect' AND lower(o.to_address) = lower($2))
				ORDER BY o.created_at, o.id`, id, r.Email)
		},
	}
	for _, load := range loaders {
		if err := load(); err != nil {
			return r, fmt.Errorf("lead record %s: %w", id, err)
		}
	}
	return r, nil
}

// canRead lets staff read any lead and a consultant only leads they have
// met or will meet (a cancelled or moved-away booking does not count); to
// everyone else a lead does not exist.
func (s *Leads) canRead(ctx context.Context, leadID string) error {
	a := ActorFrom(ctx)
	if !ValidUUID(leadID) {
		return ErrNotFound
	}
	if a.Staff() {
		return nil
	}
	if a.Role != RoleConsultant || a.ConsultantID == "" {
		return ErrNotFound
	}
	var ok bool
	err := s.db.GetContext(ctx, &ok, `
		SELECT EXISTS (SELECT 1 FROM bookings WHERE lead_id = $1 AND consultant_id = $2
		               AND status IN ('held', 'pending_payment', 'confirmed', 'no_show'))`, leadID, a.ConsultantID)
	if err != nil {
		return fmt.Errorf("lead access: %w", err)
	}
	if !ok {
		return ErrNotFound
	}
	return nil
}

func getLead(ctx context.Context, q sqlx.QueryerContext, id string, lock bool) (Lead, error) {
	var l Lead
	query := `SELECT ` + leadColumns + ` FROM leads WHERE id = $1`
	if lock {
		query += ` FOR UPDATE`
	}
	err := sqlx.GetContext(ctx, q, &l, query, id)
	if errors.Is(err, sql.ErrNoRows) {
		return Lead{}, ErrNotFound
	}
	if err != nil {
		return Lead{}, fmt.Errorf("get lead: %w", err)
	}
	return l, nil
}

func (s *Leads) loadInquiries(ctx context.Context, r *LeadRecord) error {
	var rows []struct {
		Inquiry
		UTM JSONMap `db:"utm"`
	}
	err := s.db.SelectContext(ctx, &rows, `SELECT `+inquiryColumns+`, utm FROM inquiries WHERE lead_id = $1 ORDER BY created_at DESC, id`, r.ID)
	if err != nil {
		return err
	}
	for _, row := range rows {
		rec := InquiryRecord{Inquiry: row.Inquiry, UTM: row.UTM}
		if row.AssessmentID != "" {
			var a assessmentRow
			err := s.db.GetContext(ctx, &a, `SELECT `+assessmentColumns+` FROM assessments WHERE id = $1`, row.AssessmentID)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			if err == nil {
				assessment, err := a.assessment()
				if err != nil {
					return err
				}
				rec.Assessment = &assessment
			}
		}
		r.Inquiries = append(r.Inquiries, rec)
	}
	return nil
}

// TimelineEntry is one dated line of a lead's history, from any source.
type TimelineEntry struct {
	At     time.Time
	Kind   string // an event kind, "note" or "mail"
	Actor  string
	Detail JSONMap
	Note   *Note
	Mail   *LeadMail
}

// Timeline merges events, notes and mail, oldest first.
func (r LeadRecord) Timeline() []TimelineEntry {
	var out []TimelineEntry
	for _, e := range r.Events {
		out = append(out, TimelineEntry{At: e.CreatedAt, Kind: e.Kind, Actor: e.Actor, Detail: e.Detail})
	}
	for i := range r.Notes {
		n := &r.Notes[i]
		out = append(out, TimelineEntry{At: n.CreatedAt, Kind: "note", Actor: n.Author, Note: n})
	}
	for i := range r.Mails {
		m := &r.Mails[i]
		out = append(out, TimelineEntry{At: m.CreatedAt, Kind: "mail", Actor: "system", Mail: m})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}
