package services

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// slotCache keeps computed slot starts per team, region and day window, for
// one schedule version. A request asks PostgreSQL for the version (one
// small query) and reuses what was computed for it; any committed change
// to bookings, hours, time off, busy blocks or consultants, by any writer
// in any instance, makes a new version.
type slotCache struct {
	mu       sync.Mutex
	version  int64
	entries  map[slotKey][]time.Time
	versions versionReader
	// computing holds the computations under way, so that a crowd asking
	// for the same slots right after a change (every booking is one)
	// waits for one computation instead of each running its own.
	computing map[computingKey]*slotComputation
}

type computingKey struct {
	version int64
	slotKey
}

type slotComputation struct {
	done   chan struct{}
	starts []time.Time
	err    error
}

type slotKey struct {
	team, region string
	from, to     int64 // the window's bounds, Unix seconds
}

// maxSlotEntries bounds the cache; past it, it starts again.
const maxSlotEntries = 4096

func (c *slotCache) get(version int64, k slotKey) ([]time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.version != version {
		return nil, false
	}
	starts, ok := c.entries[k]
	return starts, ok
}

func (c *slotCache) put(version int64, k slotKey, starts []time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if version < c.version {
		return // computed from an older version than what is cached
	}
	if version > c.version || len(c.entries) >= maxSlotEntries {
		c.version, c.entries = version, map[slotKey][]time.Time{}
	}
	c.entries[k] = starts
}

// compute returns the starts for version and k, running fn unless a call
// for the same version and key is already running, whose answer it shares.
func (c *slotCache) compute(ctx context.Context, version int64, k slotKey, fn func() ([]time.Time, error)) ([]time.Time, error) {
	ck := computingKey{version, k}
	c.mu.Lock()
	if call, ok := c.computing[ck]; ok {
		c.mu.Unlock()
		select {
		case <-call.done:
			return call.starts, call.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if c.computing == nil {
		c.computing = map[computingKey]*slotComputation{}
	}
	call := &slotComputation{done: make(chan struct{})}
	c.computing[ck] = call
	c.mu.Unlock()

	call.starts, call.err = fn()
	c.mu.Lock()
	delete(c.computing, ck)
	c.mu.Unlock()
	close(call.done)
	if call.err == nil {
		c.put(version, k, call.starts)
	}
	return call.starts, call.err
}

// scheduleVersion counts the schedule changes ever committed, as read by a
// query that began after the call: concurrent callers share one.
func (a *Availability) scheduleVersion(ctx context.Context) (int64, error) {
	return a.cache.versions.read(ctx, func(ctx context.Context) (int64, error) {
		var v int64
		err := getPrepared(ctx, a.db, &v, `SELECT (SELECT pruned FROM schedule_versions) + (SELECT count(*) FROM schedule_changes)`)
		if err != nil {
			return 0, fmt.Errorf("schedule version: %w", err)
		}
		return v, nil
	})
}

// versionReader batches reads of the schedule version the way databases
// batch commits: one query runs at a time; whoever arrives meanwhile waits
// for the next one, which starts after they arrived. Every caller so gets
// a version read after its request began (so it sees every change
// committed before), and a burst of callers costs two queries, not one
// each.
type versionReader struct {
	mu      sync.Mutex
	running bool
	next    *versionRead
}

type versionRead struct {
	done chan struct{}
	v    int64
	err  error
}

func (r *versionReader) read(ctx context.Context, query func(context.Context) (int64, error)) (int64, error) {
	r.mu.Lock()
	if r.next == nil {
		r.next = &versionRead{done: make(chan struct{})}
	}
	mine := r.next
	if !r.running {
		r.running, r.next = true, nil
		go r.run(mine, query)
	}
	r.mu.Unlock()
	select {
	case <-mine.done:
		return mine.v, mine.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func (r *versionReader) run(batch *versionRead, query func(context.Context) (int64, error)) {
	for batch != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		batch.v, batch.err = query(ctx)
		cancel()
		close(batch.done)
		r.mu.Lock()
		batch, r.next = r.next, nil
		if batch == nil {
			r.running = false
		} else {
			r.running = true
		}
		r.mu.Unlock()
	}
}

// PruneScheduleChanges folds the change rows into the pruned count, in
// one transaction, so the version neither drops nor repeats. Every slot
// request counts the rows left (concurrent ones share the count), so the
// table is kept near empty: a bulk change, or a minute of bookings, left
// thousands of rows that every version read then counted. A transaction
// still open keeps its row invisible here, and it is folded on a later
// round. Nothing is written when there is nothing to fold.
func (a *Availability) PruneScheduleChanges(ctx context.Context) error {
	_, err := a.db.ExecContext(ctx, `
		WITH gone AS (DELETE FROM schedule_changes RETURNING 1),
		     n AS (SELECT count(*) AS rows FROM gone)
		UPDATE schedule_versions SET pruned = pruned + n.rows FROM n WHERE n.rows > 0`)
	if err != nil {
		return fmt.Errorf("prune schedule changes: %w", err)
	}
	return nil
}

// RunHousekeeping prunes schedule changes at once and then every interval
// until ctx ends.
func (a *Availability) RunHousekeeping(ctx context.Context, every time.Duration, onError func(error)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := a.PruneScheduleChanges(ctx); err != nil && ctx.Err() == nil {
			onError(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
