package services

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Bookings of one team's start take turns; other starts go at once; a
// caller that gives up while waiting leaves no trace.
func TestStartGateTakesTurnsPerStart(t *testing.T) {
	var g startGate
	start := time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)
	var inside, most atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			leave, err := g.enter(context.Background(), "django", "canada", start)
			if err != nil {
				t.Error(err)
				return
			}
			n := inside.Add(1)
			for {
				m := most.Load()
				if n <= m || most.CompareAndSwap(m, n) {
					break
				}
			}
			time.Sleep(time.Millisecond)
			inside.Add(-1)
			leave()
		}()
	}
	wg.Wait()
	if most.Load() != 1 {
		t.Fatalf("%d callers were in at once for one start", most.Load())
	}

	leave, _ := g.enter(context.Background(), "django", "canada", start)
	other, err := g.enter(context.Background(), "django", "canada", start.Add(30*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	otherTeam, err := g.enter(context.Background(), "nodejs", "canada", start)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := g.enter(ctx, "django", "canada", start); err == nil {
		t.Fatal("a second caller got in while the first was inside")
	}
	leave()
	leave() // leaving twice gives nobody a second turn
	other()
	otherTeam()
	g.mu.Lock()
	left := len(g.turns)
	g.mu.Unlock()
	if left != 0 {
		t.Fatalf("%d turns kept after everyone left", left)
	}
	first, _ := g.enter(context.Background(), "django", "canada", start)
	first()
	second, _ := g.enter(context.Background(), "django", "canada", start)
	first() // a late second call must not let a third caller in beside the second
	ctx2, cancel2 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel2()
	if _, err := g.enter(ctx2, "django", "canada", start); err == nil {
		t.Fatal("a repeated leave let a caller in beside the one inside")
	}
	second()
}
