package services_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"consultd/internal/pgtest"
	"consultd/services"
)

// Two instances spend from one bucket: together they allow the limit once.
func TestRateLimitsAreSharedAcrossInstances(t *testing.T) {
	db := pgtest.NewDB(t)
	clock := &bookingClock{t: fixtureNow}
	a, b := services.NewRateLimits(db, clock.Now), services.NewRateLimits(db, clock.Now)
	ctx := context.Background()
	allowed := 0
	for i := 0; i < 6; i++ {
		inst := a
		if i%2 == 1 {
			inst = b
		}
		ok, wait, err := inst.Take(ctx, "leads:203.0.113.9", 3, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			allowed++
		} else if wait <= 0 || wait > 20*time.Second {
			t.Fatalf("refused with a wait of %s, want up to 20s (3 a minute)", wait)
		}
	}
	if allowed != 3 {
		t.Fatalf("two instances allowed %d of 6, want 3 in all", allowed)
	}
	if ok, _, _ := a.Take(ctx, "leads:198.51.100.1", 3, time.Minute); !ok {
		t.Fatal("another network was limited")
	}
	clock.Set(fixtureNow.Add(21 * time.Second))
	if ok, _, _ := b.Take(ctx, "leads:203.0.113.9", 3, time.Minute); !ok {
		t.Fatal("no token back after a third of the minute")
	}
	if ok, _, _ := a.Take(ctx, "leads:203.0.113.9", 3, time.Minute); ok {
		t.Fatal("two tokens back after a third of the minute")
	}

	// A burst across both instances spends exactly the bucket.
	var wg sync.WaitGroup
	var mu sync.Mutex
	got := 0
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			inst := a
			if i%2 == 0 {
				inst = b
			}
			if ok, _, err := inst.Take(ctx, "burst", 10, time.Hour); err == nil && ok {
				mu.Lock()
				got++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if got != 10 {
		t.Fatalf("a burst of 40 over two instances got %d through, want 10", got)
	}
}
