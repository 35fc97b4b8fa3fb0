package services

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"consultd/internal/ical"
)

// busyBatch is how many due calendars one worker round claims and reads in
// parallel; other instances take the rest.
const busyBatch = 4

// busyClaim is a calendar claimed for one download: its attempt number
// must still be current when the result is written.
type busyClaim struct {
	ID           int64      `db:"id"`
	ConsultantID string     `db:"consultant_id"`
	Timezone     string     `db:"timezone"`
	URLSealed    []byte     `db:"url_sealed"`
	ETag         string     `db:"etag"`
	LastModified string     `db:"last_modified"`
	LastParsedAt *time.Time `db:"last_parsed_at"`
	Attempt      int64      `db:"attempt"`
}

// claimSQL claims the calendars picked by the CTE "picked": it raises their
// attempt and moves their next download a jittered interval ahead, in the
// statement that locks them, so no other instance reads them meanwhile.
const claimSQL = `
	UPDATE busy_calendars b SET attempt = b.attempt + 1, last_attempt_at = $1,
		next_fetch_at = $1::timestamptz + make_interval(secs => $2 * (0.8 + random() * 0.4)), updated_at = now()
	FROM picked, consultants c
	WHERE b.id = picked.id AND c.id = b.consultant_id
	RETURNING b.id, b.consultant_id, c.timezone, b.url_sealed, b.etag, b.last_modified, b.last_parsed_at, b.attempt`

// FetchDue reads the calendars whose time has come, at most one batch, and
// reports how many it claimed. SKIP LOCKED lets several instances share
// the work; each calendar is read by one of them.
func (b *BusyCalendars) FetchDue(ctx context.Context) (int, error) {
	var claims []busyClaim
	err := b.db.SelectContext(ctx, &claims, `
		WITH picked AS (
			SELECT b.id FROM busy_calendars b JOIN consultants c ON c.id = b.consultant_id
			WHERE b.next_fetch_at <= $1 AND c.active
			ORDER BY b.next_fetch_at LIMIT $3
			FOR UPDATE OF b SKIP LOCKED)`+claimSQL, b.now(), b.cfg.Every.Seconds(), busyBatch)
	if err != nil {
		return 0, fmt.Errorf("claim due busy calendars: %w", err)
	}
	errs := make([]error, len(claims))
	var wg sync.WaitGroup
	for i, c := range claims {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = b.fetch(ctx, c)
		}()
	}
	wg.Wait()
	return len(claims), errors.Join(errs...)
}

// Run reads due calendars every tick until ctx ends, at once again after a
// full batch.
func (b *BusyCalendars) Run(ctx context.Context, tick time.Duration, onError func(error)) {
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		n, err := b.FetchDue(ctx)
		if err != nil && ctx.Err() == nil {
			onError(err)
		}
		if n == busyBatch && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// fetchNow claims one calendar and reads it, unless it was read less than
// gap ago (negative: whatever the time) or is being claimed this instant.
func (b *BusyCalendars) fetchNow(ctx context.Context, id int64, gap time.Duration) error {
	var c busyClaim
	err := b.db.GetContext(ctx, &c, `
		WITH picked AS (
			SELECT id FROM busy_calendars
			WHERE id = $3 AND (last_attempt_at IS NULL OR last_attempt_at <= $1::timestamptz - make_interval(secs => $4))
			FOR UPDATE SKIP LOCKED)`+claimSQL, b.now(), b.cfg.Every.Seconds(), id, max(gap, 0).Seconds())
	if errors.Is(err, sql.ErrNoRows) {
		return errReadMomentsAgo
	}
	if err != nil {
		return fmt.Errorf("claim busy calendar: %w", err)
	}
	// The person who asked may close the page; the download still finishes.
	return b.fetch(context.WithoutCancel(ctx), c)
}

// fetch downloads and reads one claimed calendar, records the outcome and
// logs it, by calendar id only. A failure keeps the blocks read before;
// only a database error is returned.
func (b *BusyCalendars) fetch(ctx context.Context, c busyClaim) error {
	start := time.Now()
	outcome, err := b.read(ctx, c)
	if outcome != "" {
		b.cfg.Logger.Info("busy calendar read", "calendar_id", c.ID, "outcome", outcome, "duration_ms", time.Since(start).Milliseconds())
	}
	return err
}

// read does fetch's work and names the outcome: updated, unchanged, or the
// safe reason it failed; "" when nothing was recorded.
func (b *BusyCalendars) read(ctx context.Context, c busyClaim) (string, error) {
	address, err := b.sealer.open(c.URLSealed)
	if err != nil {
		return b.recordFailure(ctx, c, "the saved address can no longer be read (the server's SECRET_KEY changed); save it again")
	}
	req := ical.FetchRequest{URL: address}
	if c.LastParsedAt != nil && b.now().Sub(*c.LastParsedAt) < b.cfg.FreshFor {
		req.ETag, req.LastModified = c.ETag, c.LastModified
	}
	res, err := b.fetcher.Fetch(ctx, req)
	if ctx.Err() != nil {
		return "", nil // shutting down: the calendar is read again at its next time
	}
	var fetchErr *ical.FetchError
	switch {
	case errors.As(err, &fetchErr):
		return b.recordFailure(ctx, c, fetchErr.Message)
	case err != nil:
		return b.recordFailure(ctx, c, "the download failed")
	case res.NotModified:
		return "unchanged", b.recordUnchanged(ctx, c, res)
	}
	loc, err := LoadZone(c.Timezone)
	if err != nil {
		return "", fmt.Errorf("consultant %s zone %q: %w", c.ConsultantID, c.Timezone, err)
	}
	now := b.now()
	from, to := now.Add(-24*time.Hour), now.AddDate(0, 0, b.cfg.HorizonDays+1)
	own, err := b.bookingUIDs(ctx, c.ConsultantID, from, to)
	if err != nil {
		return "", err
	}
	parsed, err := ical.ParseBusy(bytes.NewReader(res.Body), ical.ParseOptions{From: from, To: to, Loc: loc, OwnUIDs: own})
	var parseErr *ical.ParseError
	switch {
	case errors.As(err, &parseErr):
		return b.recordFailure(ctx, c, parseErr.Message)
	case err != nil:
		return b.recordFailure(ctx, c, "the calendar could not be read")
	}
	return "updated", b.recordBlocks(ctx, c, res, parsed)
}

// bookingUIDs are the UIDs of the consultant's bookings (any status) near
// the window: their invites put them in the consultant's calendar, and they
// already block their own time while they stand.
func (b *BusyCalendars) bookingUIDs(ctx context.Context, consultantID string, from, to time.Time) (map[string]bool, error) {
	var uids []string
	err := b.db.SelectContext(ctx, &uids, `SELECT uid FROM bookings
		WHERE consultant_id = $1 AND blocked && tstzrange($2, $3)`, consultantID, from, to)
	if err != nil {
		return nil, fmt.Errorf("consultant %s booking uids: %w", consultantID, err)
	}
	own := make(map[string]bool, len(uids))
	for _, u := range uids {
		own[u] = true
	}
	return own, nil
}

// recordBlocks replaces the calendar's busy blocks with those just read, in
// one transaction, if the claim is still current.
func (b *BusyCalendars) recordBlocks(ctx context.Context, c busyClaim, res ical.FetchResult, parsed ical.BusyResult) error {
	now := b.now()
	starts, ends := make(pq.StringArray, len(parsed.Blocks)), make(pq.StringArray, len(parsed.Blocks))
	for i, blk := range parsed.Blocks {
		starts[i], ends[i] = blk.Start.Format(time.RFC3339Nano), blk.End.Format(time.RFC3339Nano)
	}
	return inTx(ctx, b.db, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `
			UPDATE busy_calendars SET etag = $3, last_modified = $4, last_success_at = $5, last_parsed_at = $5,
				last_outcome = 'updated', last_error = '', failures = 0, block_count = $6, skipped_events = $7,
				problems = $8, updated_at = now()
			WHERE id = $1 AND attempt = $2`,
			c.ID, c.Attempt, res.ETag, res.LastModified, now, len(parsed.Blocks), parsed.Skipped, strings.Join(parsed.Problems, "; "))
		if err != nil {
			return fmt.Errorf("record busy calendar: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // removed, given a new address, or claimed again meanwhile
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM consultant_busy WHERE calendar_id = $1`, c.ID); err != nil {
			return fmt.Errorf("replace busy blocks: %w", err)
		}
		_, err = tx.ExecContext(ctx, `
			INSERT INTO consultant_busy (consultant_id, period, source, calendar_id, imported_at)
			SELECT $1, tstzrange(s, e), 'ics', $2, $5
			FROM unnest($3::timestamptz[], $4::timestamptz[]) AS blocks(s, e)`,
			c.ConsultantID, c.ID, starts, ends, now)
		if err != nil {
			return fmt.Errorf("store busy blocks: %w", err)
		}
		return nil
	})
}

// recordUnchanged notes a 304: the blocks stay as they are.
func (b *BusyCalendars) recordUnchanged(ctx context.Context, c busyClaim, res ical.FetchResult) error {
	_, err := b.db.ExecContext(ctx, `
		UPDATE busy_calendars SET etag = $3, last_modified = $4, last_success_at = $5, last_outcome = 'unchanged',
			last_error = '', failures = 0, updated_at = now()
		WHERE id = $1 AND attempt = $2`, c.ID, c.Attempt, res.ETag, res.LastModified, b.now())
	if err != nil {
		return fmt.Errorf("record busy calendar: %w", err)
	}
	return nil
}

// recordFailure keeps the last good blocks, counts the failure and waits
// longer before the next try: 1, 2, 4, then 6 intervals.
func (b *BusyCalendars) recordFailure(ctx context.Context, c busyClaim, msg string) (string, error) {
	_, err := b.db.ExecContext(ctx, `
		UPDATE busy_calendars SET last_outcome = 'failed', last_error = $3, failures = failures + 1,
			next_fetch_at = GREATEST(next_fetch_at, $4::timestamptz + make_interval(secs => $5 * LEAST(power(2, failures), 6))),
			updated_at = now()
		WHERE id = $1 AND attempt = $2`, c.ID, c.Attempt, msg, b.now(), b.cfg.Every.Seconds())
	if err != nil {
		return "", fmt.Errorf("record busy calendar failure: %w", err)
	}
	return "failed: " + msg, nil
}
