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
