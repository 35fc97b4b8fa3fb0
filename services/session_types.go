package services

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// DefaultSessionType is the free 30-minute consultation.
const DefaultSessionType = "consultation"

// SessionType is something a prospect can book, free or with a price per
// region.
type SessionType struct {
	ID          string        `db:"id"`
	Slug        string        `db:"slug"`
	Name        string        `db:"name"`
	Description string        `db:"description"`
	PriceCAD    sql.NullInt64 `db:"price_cad_cents"`
	PriceUSD    sql.NullInt64 `db:"price_usd_cents"`
	Active      bool          `db:"active"`
	Position    int           `db:"position"`
	UpdatedAt   time.Time     `db:"updated_at"`
}

const sessionTypeColumns = `id, slug, name, description, price_cad_cents, price_usd_cents, active, position, updated_at`

// Price is what the type costs in region, in cents and currency; zero is free.
func (t SessionType) Price(region string) (int64, string) {
	switch {
	case region == RegionCanada && t.PriceCAD.Valid:
		return t.PriceCAD.Int64, "cad"
	case region == RegionUSA && t.PriceUSD.Valid:
		return t.PriceUSD.Int64, "usd"
	}
	return 0, ""
}

// Paid reports whether the type has a price in any region.
func (t SessionType) Paid() bool { return t.PriceCAD.Valid || t.PriceUSD.Valid }

// FormatPrice is an amount as people read it, e.g. "CA$250.00" or "US$200.00".
func FormatPrice(cents int64, currency string) string {
	if cents == 0 {
		return "Free"
	}
	prefix := map[string]string{"cad": "CA$", "usd": "US$"}[currency]
	return fmt.Sprintf("%s%d.%02d", prefix, cents/100, cents%100)
}

// SessionTypes reads and, for admins, edits session types.
type SessionTypes struct{ db *sqlx.DB }

// NewSessionTypes returns the session type service.
func NewSessionTypes(db *sqlx.DB) *SessionTypes { return &SessionTypes{db: db} }

// Active lists the types prospects may book, in display order.
func (s *SessionTypes) Active(ctx context.Context) ([]SessionType, error) {
	var out []SessionType
	err := s.db.SelectContext(ctx, &out, `SELECT `+sessionTypeColumns+` FROM session_types WHERE active ORDER BY position, name`)
	if err != nil {
		return nil, fmt.Errorf("list session types: %w", err)
	}
	return out, nil
}

// All lists every type, for admins.
func (s *SessionTypes) All(ctx context.Context) ([]SessionType, error) {
	if !ActorFrom(ctx).Admin() {
		return nil, ErrForbidden
	}
	var out []SessionType
	err := s.db.SelectContext(ctx, &out, `SELECT `+sessionTypeColumns+` FROM session_types ORDER BY position, name`)
	if err != nil {
		return nil, fmt.Errorf("list session types: %w", err)
	}
	return out, nil
}

// unknownSessionType refuses a slug no active session type has.
func unknownSessionType() error {
	return Invalid(map[string]string{"type": "Choose one of the consultations we offer."})
}

// sessionTypeSlug is the slug a booking asks for: "" is the free consultation.
func sessionTypeSlug(slug string) string {
	if slug == "" {
		return DefaultSessionType
	}
	return strings.ToLower(slug)
}

// inquiryAndSessionType reads the inquiry a booking is for (as getInquiry)
// and the active session type it asks for, in one round trip: every
// booking needs both first. The type is zero (no ID) when no active type
// has the slug.
func inquiryAndSessionType(ctx context.Context, q sqlx.QueryerContext, inquiryID, slug string) (Inquiry, SessionType, error) {
	if !ValidUUID(inquiryID) {
		return Inquiry{}, SessionType{}, ErrNotFound
	}
	var row struct {
		Inquiry
		Type SessionType `db:"st"`
	}
	err := getPrepared(ctx, q, &row, inquiryAndSessionTypeSQL, inquiryID, sessionTypeSlug(slug))
	if errors.Is(err, sql.ErrNoRows) {
		return Inquiry{}, SessionType{}, ErrNotFound
	}
	if err != nil {
		return Inquiry{}, SessionType{}, fmt.Errorf("get inquiry and session type: %w", err)
	}
	return row.Inquiry, row.Type, nil
}

const inquiryAndSessionTypeSQL = `
	SELECT i.*, COALESCE(st.id::text, '') AS "st.id", COALESCE(st.slug, '') AS "st.slug", COALESCE(st.name, '') AS "st.name",
	       COALESCE(st.description, '') AS "st.description", st.price_cad_cents AS "st.price_cad_cents",
	       st.price_usd_cents AS "st.price_usd_cents", COALESCE(st.active, false) AS "st.active",
	       COALESCE(st.position, 0) AS "st.position", COALESCE(st.updated_at, 'epoch') AS "st.updated_at"
	FROM (SELECT ` + inquiryColumns + ` FROM inquiries WHERE id = $1 ` + inquiryOfLiveLead + `) i
	LEFT JOIN session_types st ON st.slug = $2 AND st.active`

// SessionTypeInput is an admin's edit of a type; prices in cents, 0 = free.
type SessionTypeInput struct {
	Slug        string
	Name        string
	Description string
	PriceCAD    int64
	PriceUSD    int64
	Active      bool
	Position    int
}

var slugRule = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,39}$`)

func (in *SessionTypeInput) check() error {
	in.Slug, in.Name, in.Description = strings.ToLower(strings.TrimSpace(in.Slug)), cleanLine(in.Name), cleanText(in.Description)
	fields := map[string]string{}
	if !slugRule.MatchString(in.Slug) {
		fields["slug"] = "Use lowercase letters, digits and dashes, up to 40."
	}
	if in.Name == "" || len([]rune(in.Name)) > 120 {
		fields["name"] = "Give a name of up to 120 characters."
	}
	if len([]rune(in.Description)) > 1000 {
		fields["description"] = "Keep the description under 1,000 characters."
	}
	for key, cents := range map[string]int64{"price_cad": in.PriceCAD, "price_usd": in.PriceUSD} {
		if cents < 0 || cents > 10000000 {
			fields[key] = "Give a price from 0 (free) to 100,000.00."
		} else if cents > 0 && cents < 50 {
			fields[key] = "Stripe charges at least 0.50."
		}
	}
	if in.Slug == DefaultSessionType && (in.PriceCAD > 0 || in.PriceUSD > 0 || !in.Active) {
		fields["slug"] = "The free consultation stays free and offered."
	}
	if len(fields) > 0 {
		return Invalid(fields)
	}
	return nil
}

func nullCents(c int64) sql.NullInt64 { return sql.NullInt64{Int64: c, Valid: c > 0} }

// Save creates or updates the type with in.Slug; admins only, audited.
func (s *SessionTypes) Save(ctx context.Context, in SessionTypeInput) error {
	if !ActorFrom(ctx).Admin() {
		return ErrForbidden
	}
	if err := in.check(); err != nil {
		return err
	}
	return inTx(ctx, s.db, func(tx *sqlx.Tx) error {
		return upsertSessionType(ctx, tx, in, true)
	})
}

func upsertSessionType(ctx context.Context, tx *sqlx.Tx, in SessionTypeInput, audited bool) error {
	_, err := tx.ExecContext(ctx, `
		INSERT INTO session_types (slug, name, description, price_cad_cents, price_usd_cents, active, position)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (slug) DO UPDATE SET name = EXCLUDED.name, description = EXCLUDED.description,
			price_cad_cents = EXCLUDED.price_cad_cents, price_usd_cents = EXCLUDED.price_usd_cents,
			active = EXCLUDED.active, position = EXCLUDED.position, updated_at = now()`,
		in.Slug, in.Name, in.Description, nullCents(in.PriceCAD), nullCents(in.PriceUSD), in.Active, in.Position)
	if err != nil {
		return translatePQ(err, "That session type could not be saved.", "save session type")
	}
	if !audited {
		return nil
	}
	return audit(ctx, tx, "session_type_saved", "session_type", in.Slug, map[string]string{
		"price_cad": FormatPrice(in.PriceCAD, "cad"), "price_usd": FormatPrice(in.PriceUSD, "usd"), "active": fmt.Sprint(in.Active),
	})
}

// SeedPaidSessionType adds the demo's paid architecture review.
func (s *SessionTypes) SeedPaidSessionType(ctx context.Context) error {
	return inTx(ctx, s.db, func(tx *sqlx.Tx) error {
		return upsertSessionType(ctx, tx, SessionTypeInput{
			Slug: "architecture-review", Name: "Architecture review (30 minutes)",
			Description: "A paid deep dive into your current architecture with a senior consultant, with written notes afterwards.",
			PriceCAD:    25000, PriceUSD: 19000, Active: true, Position: 10,
		}, false)
	})
}
