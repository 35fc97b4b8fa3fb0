package services

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Consultant is a person prospects meet, on one team, serving one or more regions.
type Consultant struct {
	ID         string         `db:"id"`
	Name       string         `db:"name"`
	Email      string         `db:"email"`
	Team       string         `db:"team"`
	Regions    pq.StringArray `db:"regions"`
	Timezone   string         `db:"timezone"`
	MeetingURL string         `db:"meeting_url"`
	Active     bool           `db:"active"`
	CreatedAt  time.Time      `db:"created_at"`
}

// NewConsultant is the input to create or update a consultant.
type NewConsultant struct {
	Name       string
	Email      string
	Team       string
	Regions    []string
	Timezone   string
	MeetingURL string
	Hours      []HoursRange
}

// Consultants stores consultants, their weekly hours and their time off.
type Consultants struct {
	db *sqlx.DB
}

// NewConsultants returns the consultant service.
func NewConsultants(db *sqlx.DB) *Consultants { return &Consultants{db: db} }

func (in *NewConsultant) normalize() error {
	in.Name = cleanLine(in.Name)
	in.Email = strings.ToLower(strings.TrimSpace(in.Email))
	in.Team = strings.ToLower(strings.TrimSpace(in.Team))
	fields := map[string]string{}
	if in.Name == "" {
		fields["name"] = "Enter a name."
	}
	if addr, err := mail.ParseAddress(in.Email); err != nil || addr.Address != in.Email {
		fields["email"] = "Enter an email address such as ana@example.com."
	}
	if !ValidTeam(in.Team) {
		fields["team"] = "Team must be django or nodejs."
	}
	if len(in.Regions) == 0 {
		fields["regions"] = "List at least one region: canada, usa."
	}
	for _, r := range in.Regions {
		if !ValidRegion(r) {
			fields["regions"] = fmt.Sprintf("Unknown region %q: use canada or usa.", r)
		}
	}
	if _, err := loadZone(in.Timezone); err != nil {
		fields["timezone"] = "Use an IANA time zone such as America/Toronto."
	}
	if in.MeetingURL != "" {
		if u, err := url.Parse(in.MeetingURL); err != nil || u.Scheme != "https" || u.Host == "" {
			fields["meeting_url"] = "Use an https meeting link."
		}
	}
	if err := validateHours(in.Hours); err != nil {
		fields["hours"] = err.Error()
	}
	if len(fields) > 0 {
		return Invalid(fields)
	}
	slices.Sort(in.Regions)
	in.Regions = slices.Compact(in.Regions)
	return nil
}

// Upsert creates the consultant or, when the email exists, updates them and
// replaces their weekly hours. It reports whether a row was created.
func (s *Consultants) Upsert(ctx context.Context, in NewConsultant) (Consultant, bool, error) {
	if err := in.normalize(); err != nil {
		return Consultant{}, false, err
	}
	var c Consultant
	var created bool
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		err := tx.QueryRowxContext(ctx, `
			INSERT INTO consultants (name, email, team, regions, timezone, meeting_url)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (lower(email)) DO UPDATE SET
				name = EXCLUDED.name, team = EXCLUDED.team, regions = EXCLUDED.regions,
				timezone = EXCLUDED.timezone, meeting_url = EXCLUDED.meeting_url, updated_at = now()
			RETURNING id, name, email, team, regions, timezone, meeting_url, active, created_at, (xmax = 0) AS created`,
			in.Name, in.Email, in.Team, pq.StringArray(in.Regions), in.Timezone, in.MeetingURL,
		).Scan(&c.ID, &c.Name, &c.Email, &c.Team, &c.Regions, &c.Timezone, &c.MeetingURL, &c.Active, &c.CreatedAt, &created)
		if err != nil {
			return translatePQ(err, "That consultant could not be saved.", "upsert consultant")
		}
		return replaceHours(ctx, tx, c.ID, in.Hours)
	})
	return c, created, err
}

// List returns every consultant, by team then name.
func (s *Consultants) List(ctx context.Context) ([]Consultant, error) {
	var out []Consultant
	err := s.db.SelectContext(ctx, &out, `
		SELECT id, name, email, team, regions, timezone, meeting_url, active, created_at
		FROM consultants ORDER BY team, name, email`)
	if err != nil {
		return nil, fmt.Errorf("list consultants: %w", err)
	}
	return out, nil
}

// ByEmail finds a consultant by email, case-insensitively.
func (s *Consultants) ByEmail(ctx context.Context, email string) (Consultant, error) {
	var c Consultant
	err := s.db.GetContext(ctx, &c, `
		SELECT id, name, email, team, regions, timezone, meeting_url, active, created_at
		FROM consultants WHERE lower(email) = lower($1)`, strings.TrimSpace(email))
	if errors.Is(err, sql.ErrNoRows) {
		return Consultant{}, ErrNotFound
	}
	if err != nil {
		return Consultant{}, fmt.Errorf("consultant by email: %w", err)
	}
	return c, nil
}

// SetHours replaces a consultant's weekly hours.
func (s *Consultants) SetHours(ctx context.Context, consultantID string, hours []HoursRange) error {
	if err := validateHours(hours); err != nil {
		return Invalid(map[string]string{"hours": err.Error()})
	}
	return s.inTx(ctx, func(tx *sqlx.Tx) error { return replaceHours(ctx, tx, consultantID, hours) })
}

// Hours returns a consultant's weekly hours, by weekday and start.
func (s *Consultants) Hours(ctx context.Context, consultantID string) ([]HoursRange, error) {
	return consultantHours(ctx, s.db, consultantID)
}

// consultantHours returns a consultant's weekly hours, by weekday and start.
func consultantHours(ctx context.Context, q sqlx.QueryerContext, consultantID string) ([]HoursRange, error) {
	var out []HoursRange
	err := sqlx.SelectContext(ctx, q, &out, `
		SELECT weekday, start_minute, end_minute FROM consultant_hours
		WHERE consultant_id = $1 ORDER BY weekday, start_minute`, consultantID)
	if err != nil {
		return nil, fmt.Errorf("consultant hours: %w", err)
	}
	return out, nil
}

func replaceHours(ctx context.Context, tx *sqlx.Tx, consultantID string, hours []HoursRange) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM consultant_hours WHERE consultant_id = $1`, consultantID); err != nil {
		return fmt.Errorf("clear hours: %w", err)
	}
	for _, h := range hours {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO consultant_hours (consultant_id, weekday, start_minute, end_minute)
			VALUES ($1, $2, $3, $4)`, consultantID, int(h.Weekday), h.StartMinute, h.EndMinute)
		if err != nil {
			return translatePQ(err, "Those hours could not be saved.", "insert hours")
		}
	}
	return nil
}

func (s *Consultants) inTx(ctx context.Context, fn func(*sqlx.Tx) error) error {
	return inTx(ctx, s.db, fn)
}
