package services

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// RateLimits keeps token buckets in PostgreSQL, so every instance spends
// from the same bucket: several instances allow a limit once, not once each.
type RateLimits struct {
	db  *sqlx.DB
	now func() time.Time
}

// NewRateLimits returns the shared rate limiter.
func NewRateLimits(db *sqlx.DB, now func() time.Time) *RateLimits {
	return &RateLimits{db: db, now: now}
}

// Take spends a token from key's bucket, which holds capacity tokens and
// gets capacity back every per. It reports whether there was a token, and
// if not, how long until there is one. The bucket's row is locked for the
// one statement, so concurrent requests spend in turn.
func (r *RateLimits) Take(ctx context.Context, key string, capacity int, per time.Duration) (bool, time.Duration, error) {
	perSecond := float64(capacity) / per.Seconds()
	var row struct {
		Allowed bool    `db:"allowed"`
		Tokens  float64 `db:"tokens"`
	}
	err := r.db.GetContext(ctx, &row, `
		INSERT INTO rate_buckets AS b (key, tokens, allowed, updated_at) VALUES ($1, $2 - 1, true, $4)
		ON CONFLICT (key) DO UPDATE SET
			allowed = least($2, b.tokens + greatest(0, extract(epoch FROM $4 - b.updated_at)) * $3) >= 1,
			tokens = least($2, b.tokens + greatest(0, extract(epoch FROM $4 - b.updated_at)) * $3)
			         - CASE WHEN least($2, b.tokens + greatest(0, extract(epoch FROM $4 - b.updated_at)) * $3) >= 1 THEN 1 ELSE 0 END,
			updated_at = greatest(b.updated_at, $4)
		RETURNING allowed, tokens`, key, float64(capacity), perSecond, r.now())
	if err != nil {
		return true, 0, fmt.Errorf("rate limit %s: %w", key, err)
	}
	if row.Allowed {
		return true, 0, nil
	}
	return false, time.Duration((1 - row.Tokens) / perSecond * float64(time.Second)), nil
}

// RunHousekeeping forgets buckets idle for a day, every interval.
func (r *RateLimits) RunHousekeeping(ctx context.Context, every time.Duration, onError func(error)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := r.db.ExecContext(ctx, `DELETE FROM rate_buckets WHERE updated_at < $1`, r.now().Add(-24*time.Hour)); err != nil && ctx.Err() == nil {
				onError(fmt.Errorf("prune rate limits: %w", err))
			}
		}
	}
}
