package services

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Every caller gets a version read by a query that began after it called,
// and a crowd of callers shares a few queries.
func TestVersionReaderBatchesWithoutReadingStale(t *testing.T) {
	var r versionReader
	var queries, clock atomic.Int64
	query := func(context.Context) (int64, error) {
		queries.Add(1)
		began := clock.Add(1) // a query's "snapshot" is the moment it began
		time.Sleep(2 * time.Millisecond)
		return began, nil
	}
	var wg sync.WaitGroup
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			called := clock.Load()
			v, err := r.read(context.Background(), query)
			if err != nil || v <= called {
				t.Errorf("caller arriving at %d got version %d (%v): read before it arrived", called, v, err)
			}
		}()
		if i%20 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	wg.Wait()
	if n := queries.Load(); n > 60 {
		t.Fatalf("200 callers made %d queries, want them shared", n)
	}
}

// A crowd asking for the same slots of one version while they are being
// computed shares one computation; another version or key computes anew.
func TestSlotComputationIsSharedByACrowd(t *testing.T) {
	var c slotCache
	var runs atomic.Int64
	release := make(chan struct{})
	slow := func() ([]time.Time, error) {
		runs.Add(1)
		<-release
		return []time.Time{time.Unix(1800, 0)}, nil
	}
	k := slotKey{team: "django", region: "canada", from: 0, to: 86400}
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			starts, err := c.compute(context.Background(), 7, k, slow)
			if err != nil || len(starts) != 1 {
				t.Errorf("shared answer: %v, %v", starts, err)
			}
		}()
	}
	for runs.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // let the crowd gather behind the first
	close(release)
	wg.Wait()
	if n := runs.Load(); n != 1 {
		t.Fatalf("50 callers ran %d computations, want 1", n)
	}
	if starts, ok := c.get(7, k); !ok || len(starts) != 1 {
		t.Fatalf("the shared answer was not kept: %v %v", starts, ok)
	}
	fast := func() ([]time.Time, error) { runs.Add(1); return nil, nil }
	c.compute(context.Background(), 8, k, fast)
	c.compute(context.Background(), 8, slotKey{team: "nodejs", region: "canada", to: 86400}, fast)
	if n := runs.Load(); n != 3 {
		t.Fatalf("a new version and another key ran %d computations in all, want 3", n)
	}
}

// A caller that gives up stops waiting; the computation goes on for the
// others.
func TestSlotComputationOutlivesACallerThatLeaves(t *testing.T) {
	var c slotCache
	release := make(chan struct{})
	k := slotKey{team: "django", region: "usa", to: 86400}
	first := make(chan error, 1)
	go func() {
		_, err := c.compute(context.Background(), 1, k, func() ([]time.Time, error) {
			<-release
			return []time.Time{time.Unix(0, 0)}, nil
		})
		first <- err
	}()
	for {
		c.mu.Lock()
		n := len(c.computing)
		c.mu.Unlock()
		if n == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.compute(ctx, 1, k, func() ([]time.Time, error) { t.Error("a second computation ran"); return nil, nil }); err == nil {
		t.Fatal("a caller whose request ended kept waiting")
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
}
