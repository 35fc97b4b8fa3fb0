package services

import (
	"context"
	"sync"
	"time"
)

// startGate lets one booking of a team's start run at a time in this
// process. The database alone keeps bookings apart (the exclusion
// constraint, across instances); the gate only spares it the contest:
// without it, every person racing for a start opened a transaction, took
// a connection and waited on the same advisory lock, and each loser then
// learned in the database what the winner's commit already said. Behind
// the gate, a latecomer waits without a connection and, once the one
// before it is done, sees that start taken by its first read.
type startGate struct {
	mu    sync.Mutex
	turns map[startKey]*startTurn
}

type startKey struct {
	team, region string
	start        int64 // Unix seconds
}

type startTurn struct {
	free    chan struct{} // holds a token while nobody is in
	waiters int           // callers holding or waiting for the turn
}

// enter waits for the start's turn; call the returned func to leave (more
// than once is harmless, so a caller can leave early and still defer it).
func (g *startGate) enter(ctx context.Context, team, region string, start time.Time) (func(), error) {
	k := startKey{team: team, region: region, start: start.Unix()}
	g.mu.Lock()
	if g.turns == nil {
		g.turns = map[startKey]*startTurn{}
	}
	t := g.turns[k]
	if t == nil {
		t = &startTurn{free: make(chan struct{}, 1)}
		t.free <- struct{}{}
		g.turns[k] = t
	}
	t.waiters++
	g.mu.Unlock()

	select {
	case <-t.free:
		var once sync.Once
		return func() { once.Do(func() { g.leave(k, t, true) }) }, nil
	case <-ctx.Done():
		g.leave(k, t, false)
		return nil, ctx.Err()
	}
}

func (g *startGate) leave(k startKey, t *startTurn, held bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if held {
		t.free <- struct{}{}
	}
	t.waiters--
	if t.waiters == 0 {
		delete(g.turns, k)
	}
}
