package services

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
)

// Funnel stages, in the order a prospect reaches them.
const (
	StageArticleViewed       = "article_viewed"
	StageAssessmentStarted   = "assessment_started"
	StageAssessmentCompleted = "assessment_completed"
	StageLeadCreated         = "lead_created"
	StageBooked              = "booked"
)

// FunnelStages lists the stages in order.
var FunnelStages = []string{StageArticleViewed, StageAssessmentStarted, StageAssessmentCompleted, StageLeadCreated, StageBooked}

type funnelKey struct {
	day   string
	stage string
}

// Funnel counts prospects at each stage without third-party analytics. Counts
// are kept in memory and added to PostgreSQL in batches, so a page view costs
// no database write; each instance adds its own batch.
type Funnel struct {
	db      *sqlx.DB
	now     func() time.Time
	mu      sync.Mutex
	pending map[funnelKey]int64
	onCount func(stage string)
	// The UTC day of the last view, kept formatted: Count runs on every
	// landing page request.
	lastDay     int64
	lastDayText string
}

// NewFunnel returns a funnel counter; onCount (optional) mirrors each count,
// e.g. into a Prometheus counter.
func NewFunnel(db *sqlx.DB, now func() time.Time, onCount func(stage string)) *Funnel {
	return &Funnel{db: db, now: now, pending: map[funnelKey]int64{}, onCount: onCount}
}

// funnelRecordSQL counts one prospect reaching a stage ($2) on a day ($1).
const funnelRecordSQL = `
	INSERT INTO funnel_counts (day, stage, shard, count) VALUES ($1, $2, pg_backend_pid() % 64, 1)
	ON CONFLICT (day, stage, shard) DO UPDATE SET count = funnel_counts.count + 1`

// Record adds one prospect reaching stage in the caller's transaction, so
// the count exists exactly when the change it counts does, and no crash
// can lose it. Each database session adds to a shard of its own, so
// concurrent transactions never wait for each other's count.
func (f *Funnel) Record(ctx context.Context, q sqlx.ExecerContext, stage string) error {
	_, err := execPrepared(ctx, q, funnelRecordSQL, f.day(), stage)
	if err != nil {
		return fmt.Errorf("count %s: %w", stage, err)
	}
	f.counted(stage)
	return nil
}

// day is the funnel day a count made now belongs to, for statements that
// add funnelRecordSQL to their own work.
func (f *Funnel) day() string { return f.now().UTC().Format(time.DateOnly) }

// counted tells the metrics of a count written by such a statement.
func (f *Funnel) counted(stage string) {
	if f.onCount != nil {
		f.onCount(stage)
	}
}

// Count records one page view in memory; views are added to the database
// in batches (Run), since a write per view would cost more than the view.
func (f *Funnel) Count(stage string) {
	now := f.now().UTC()
	day := now.Unix() / 86400
	f.mu.Lock()
	if day != f.lastDay || f.lastDayText == "" {
		f.lastDay, f.lastDayText = day, now.Format(time.DateOnly)
	}
	f.pending[funnelKey{day: f.lastDayText, stage: stage}]++
	f.mu.Unlock()
	if f.onCount != nil {
		f.onCount(stage)
	}
}

// Flush adds pending counts to the database. On failure the counts are put
// back, so an outage delays them instead of losing them.
func (f *Funnel) Flush(ctx context.Context) error {
	f.mu.Lock()
	batch := f.pending
	f.pending = map[funnelKey]int64{}
	f.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	err := inTx(ctx, f.db, func(tx *sqlx.Tx) error {
		for k, n := range batch {
			_, err := tx.ExecContext(ctx, `
				INSERT INTO funnel_counts (day, stage, count) VALUES ($1, $2, $3)
				ON CONFLICT (day, stage, shard) DO UPDATE SET count = funnel_counts.count + EXCLUDED.count`,
				k.day, k.stage, n)
			if err != nil {
				return fmt.Errorf("add funnel count: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		f.mu.Lock()
		for k, n := range batch {
			f.pending[k] += n
		}
		f.mu.Unlock()
	}
	return err
}

// Run flushes every interval until ctx ends, then once more.
func (f *Funnel) Run(ctx context.Context, every time.Duration, onError func(error)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			flushCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := f.Flush(flushCtx); err != nil {
				onError(err)
			}
			cancel()
			return
		case <-t.C:
			if err := f.Flush(ctx); err != nil {
				onError(err)
			}
		}
	}
}

// FunnelTotals sums the stored counts per stage between two days inclusive.
func (f *Funnel) FunnelTotals(ctx context.Context, from, to time.Time) (map[string]int64, error) {
	rows := []struct {
		Stage string `db:"stage"`
		Count int64  `db:"count"`
	}{}
	err := f.db.SelectContext(ctx, &rows, `
		SELECT stage, sum(count)::bigint AS count FROM funnel_counts
		WHERE day BETWEEN $1 AND $2 GROUP BY stage`, from.Format(time.DateOnly), to.Format(time.DateOnly))
	if err != nil {
		return nil, fmt.Errorf("funnel totals: %w", err)
	}
	out := make(map[string]int64, len(FunnelStages))
	for _, s := range FunnelStages {
		out[s] = 0
	}
	for _, r := range rows {
		out[r.Stage] = r.Count
	}
	return out, nil
}
