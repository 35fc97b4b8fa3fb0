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
	// takenReadAt is when the latest read that found nobody free at the
	// start began (zero: none yet).
	takenReadAt time.Time
}

// gatePass is one caller's place in a start's turn.
type gatePass struct {
	gate    *startGate
	key     startKey
	turn    *startTurn
	arrived time.Time
	once    sync.Once
}

// enter waits for the start's turn; call leave on the pass when done.
func (g *startGate) enter(ctx context.Context, team, region string, start time.Time) (*gatePass, error) {
	k := startKey{team: team, region: region, start: start.Unix()}
	arrived := time.Now()
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
		return &gatePass{gate: g, key: k, turn: t, arrived: arrived}, nil
	case <-ctx.Done():
		g.leave(k, t, false)
		return nil, ctx.Err()
	}
}

// leave gives the turn to the next caller. More than once is harmless, so
// a caller can leave early and still defer it.
func (p *gatePass) leave() {
	p.once.Do(func() { p.gate.leave(p.key, p.turn, true) })
}

// sawTaken records that a read which began at began found nobody free.
func (p *gatePass) sawTaken(began time.Time) {
	p.gate.mu.Lock()
	defer p.gate.mu.Unlock()
	if began.After(p.turn.takenReadAt) {
		p.turn.takenReadAt = began
	}
}

// takenSinceArrival reports whether a caller before this one found nobody
// free by a read that began after this one arrived. That read saw every
// change committed before this caller's request, so its answer is one this
// caller's own read could have given, and need not be asked again: in a
// crowd racing for one start, the losers behind the first one learn from
// it instead of querying in turn.
func (p *gatePass) takenSinceArrival() bool {
	p.gate.mu.Lock()
	defer p.gate.mu.Unlock()
	return p.turn.takenReadAt.After(p.arrived)
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
