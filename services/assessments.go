package services

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// Attribution is where a prospect came from: UTM parameters and the referrer
// of the landing visit.
type Attribution struct {
	UTM      map[string]string `json:"utm"`
	Referrer string            `json:"referrer"`
}

var utmKeys = []string{"utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"}

// UTMKeys lists the UTM parameters kept, in display order.
func UTMKeys() []string { return append([]string(nil), utmKeys...) }

// clean keeps only known UTM keys and bounds every value.
func (a Attribution) clean() Attribution {
	out := Attribution{UTM: map[string]string{}, Referrer: truncate(cleanLine(a.Referrer), 500)}
	for _, k := range utmKeys {
		key := strings.TrimPrefix(k, "utm_")
		v := a.UTM[k]
		if v == "" {
			v = a.UTM[key] // accept {"source": ...} as well as {"utm_source": ...}
		}
		if v = truncate(cleanLine(v), 200); v != "" {
			out.UTM[k] = v
		}
	}
	return out
}

// Assessment is one stored, scored set of answers.
type Assessment struct {
	ID        string
	Version   string
	Answers   Answers
	Result    AssessmentResult
	LeadID    string
	CreatedAt time.Time
}

// NewAssessment is the input of Submit.
type NewAssessment struct {
	Answers     Answers
	Attribution Attribution
}

// Assessments scores and stores assessments.
type Assessments struct {
	db     *sqlx.DB
	def    *AssessmentDefinition
	funnel *Funnel
}

// NewAssessments returns the assessment service for def.
func NewAssessments(db *sqlx.DB, def *AssessmentDefinition, funnel *Funnel) *Assessments {
	return &Assessments{db: db, def: def, funnel: funnel}
}

// Definition returns the questionnaire.
func (s *Assessments) Definition() *AssessmentDefinition { return s.def }

// Submit scores the answers and stores them with their result.
func (s *Assessments) Submit(ctx context.Context, in NewAssessment) (Assessment, error) {
	res, err := s.def.Score(in.Answers)
	if err != nil {
		return Assessment{}, err
	}
	attr := in.Attribution.clean()
	answers := jsonArg(in.Answers)
	reasons := jsonArg(res.Reasons)
	utm := jsonArg(attr.UTM)
	a := Assessment{Version: s.def.Version, Answers: in.Answers, Result: res}
	err = inTx(ctx, s.db, func(tx *sqlx.Tx) error {
		err := tx.QueryRowxContext(ctx, `
			INSERT INTO assessments (version, answers, team, confidence, score_django, score_nodejs, reasons, utm, referrer)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			RETURNING id, created_at`,
			a.Version, answers, res.Team, res.Confidence, res.Scores.Django, res.Scores.NodeJS, reasons, utm, attr.Referrer,
		).Scan(&a.ID, &a.CreatedAt)
		if err != nil {
			return fmt.Errorf("insert assessment: %w", err)
		}
		return s.funnel.Record(ctx, tx, StageAssessmentCompleted)
	})
	if err != nil {
		return Assessment{}, err
	}
	return a, nil
}

type assessmentRow struct {
	ID          string         `db:"id"`
	Version     string         `db:"version"`
	Answers     []byte         `db:"answers"`
	Team        string         `db:"team"`
	Confidence  float64        `db:"confidence"`
	ScoreDjango int            `db:"score_django"`
	ScoreNodeJS int            `db:"score_nodejs"`
	Reasons     []byte         `db:"reasons"`
	LeadID      sql.NullString `db:"lead_id"`
	CreatedAt   time.Time      `db:"created_at"`
}

const assessmentColumns = `id, version, answers, team, confidence, score_django, score_nodejs, reasons, lead_id, created_at`

func (r assessmentRow) assessment() (Assessment, error) {
	a := Assessment{
		ID: r.ID, Version: r.Version, LeadID: r.LeadID.String, CreatedAt: r.CreatedAt,
		Result: AssessmentResult{Team: r.Team, Confidence: r.Confidence, Scores: Weights{Django: r.ScoreDjango, NodeJS: r.ScoreNodeJS}},
	}
	if err := json.Unmarshal(r.Answers, &a.Answers); err != nil {
		return a, fmt.Errorf("decode answers: %w", err)
	}
	if err := json.Unmarshal(r.Reasons, &a.Result.Reasons); err != nil {
		return a, fmt.Errorf("decode reasons: %w", err)
	}
	return a, nil
}

// Get returns an assessment by id.
func (s *Assessments) Get(ctx context.Context, id string) (Assessment, error) {
	if !ValidUUID(id) {
		return Assessment{}, ErrNotFound
	}
	var row assessmentRow
	err := s.db.GetContext(ctx, &row, `SELECT `+assessmentColumns+` FROM assessments WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return Assessment{}, ErrNotFound
	}
	if err != nil {
		return Assessment{}, fmt.Errorf("get assessment: %w", err)
	}
	return row.assessment()
}

// CountStarted records that a prospect began the assessment.
func (s *Assessments) CountStarted(ctx context.Context) error {
	return s.funnel.Record(ctx, s.db, StageAssessmentStarted)
}

var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// ValidUUID reports whether s is a UUID in canonical form.
func ValidUUID(s string) bool { return uuidPattern.MatchString(s) }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
