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
			pass, err := g.enter(context.Background(), "django", "canada", start)
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
			pass.leave()
		}()
	}
	wg.Wait()
	if most.Load() != 1 {
		t.Fatalf("%d callers were in at once for one start", most.Load())
	}

	first, _ := g.enter(context.Background(), "django", "canada", start)
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
	first.leave()
	first.leave() // leaving twice gives nobody a second turn
	other.leave()
	otherTeam.leave()
	g.mu.Lock()
	left := len(g.turns)
	g.mu.Unlock()
	if left != 0 {
		t.Fatalf("%d turns kept after everyone left", left)
	}
	early, _ := g.enter(context.Background(), "django", "canada", start)
	early.leave()
	second, _ := g.enter(context.Background(), "django", "canada", start)
	early.leave() // a late second call must not let a third caller in beside the second
	ctx2, cancel2 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel2()
	if _, err := g.enter(ctx2, "django", "canada", start); err == nil {
		t.Fatal("a repeated leave let a caller in beside the one inside")
	}
	second.leave()
}

// A caller learns the start is taken from the one before it only when that
// one's read began after it arrived; an older read, or one at another
// start, tells it nothing.
func TestStartGateSharesOnlyReadsThatBeganAfterArrival(t *testing.T) {
	var g startGate
	ctx := context.Background()
	start := time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)

	holder, _ := g.enter(ctx, "nodejs", "usa", start)
	staleRead := time.Now()
	time.Sleep(time.Millisecond)
	waiting := make(chan *gatePass)
	go func() {
		p, err := g.enter(ctx, "nodejs", "usa", start)
		if err != nil {
			t.Error(err)
		}
		waiting <- p
	}()
	waitForWaiters(t, &g, startKey{"nodejs", "usa", start.Unix()}, 2)
	elsewhere, _ := g.enter(ctx, "nodejs", "usa", start.Add(30*time.Minute))

	holder.sawTaken(staleRead) // began before the waiter arrived
	holder.leave()
	waiter := <-waiting
	if waiter.takenSinceArrival() {
		t.Fatal("a read that began before the caller arrived was taken as its answer")
	}
	freshRead := time.Now()
	waiter.sawTaken(freshRead)
	if !waiter.takenSinceArrival() {
		t.Fatal("sawTaken was not recorded for the start")
	}
	if elsewhere.takenSinceArrival() {
		t.Fatal("a read at one start answered for another")
	}

	late := make(chan *gatePass)
	go func() {
		p, _ := g.enter(ctx, "nodejs", "usa", start)
		late <- p
	}()
	waitForWaiters(t, &g, startKey{"nodejs", "usa", start.Unix()}, 2)
	waiter.leave()
	if p := <-late; p.takenSinceArrival() {
		t.Fatal("a caller that arrived after the read was given its answer")
	} else {
		p.leave()
	}
	elsewhere.leave()

	// Once everyone has left, the start keeps nothing.
	again, _ := g.enter(ctx, "nodejs", "usa", start)
	defer again.leave()
	if again.turn.takenReadAt != (time.Time{}) {
		t.Fatal("a finished turn's read outlived it")
	}
}

func waitForWaiters(t *testing.T, g *startGate, k startKey, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		g.mu.Lock()
		turn := g.turns[k]
		got := 0
		if turn != nil {
			got = turn.waiters
		}
		g.mu.Unlock()
		if got >= n {
			return
		}
	}
	t.Fatalf("fewer than %d callers reached the gate", n)
}
