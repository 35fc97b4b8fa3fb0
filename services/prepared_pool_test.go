package services_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"consultd/internal/pgtest"
	"consultd/services"
)

// The prepared pool's sessions keep generic plans; the main pool's keep
// PostgreSQL's own choice, and a prepared read on the main pool runs there.
func TestPreparedReadsRunOnTheGenericPlanPool(t *testing.T) {
	db, pool, url := openBothPools(t)
	ctx := context.Background()
	var mode string
	if err := services.GetPrepared(ctx, db, &mode, `SELECT current_setting('plan_cache_mode')`); err != nil || mode != "auto" {
		t.Fatalf("prepared read without a pool: %q, %v; want auto", mode, err)
	}
	other, err := services.OpenDB(url)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	services.UsePreparedPool(other, pool)
	if err := services.GetPrepared(ctx, other, &mode, `SELECT current_setting('plan_cache_mode')`); err != nil || mode != "force_generic_plan" {
		t.Fatalf("prepared read with the pool: %q, %v; want force_generic_plan", mode, err)
	}
	if err := other.Get(&mode, `SELECT current_setting('plan_cache_mode')`); err != nil || mode != "auto" {
		t.Fatalf("main pool: %q, %v; want auto", mode, err)
	}
}

// Both pools send arguments with binary_parameters: a query and its
// arguments go in one round trip, without lib/pq first asking PostgreSQL
// for the parameters' types. It shows in how []byte travels: as binary
// data whatever the column, so binary jsonb refuses plain JSON bytes (in
// the two-step mode lib/pq would have learnt the type and sent text). JSON
// therefore goes as a string, which every column reads.
func TestPoolsSendArgumentsInOneRoundTrip(t *testing.T) {
	db, pool, _ := openBothPools(t)
	for name, p := range map[string]interface {
		Get(dest any, query string, args ...any) error
	}{"main": db, "prepared": pool} {
		var got string
		err := p.Get(&got, `SELECT ($1::jsonb)->>'k'`, []byte(`{"k": "v"}`))
		if err == nil || !strings.Contains(err.Error(), "jsonb version") {
			t.Errorf("%s pool: JSON bytes were read as %q (%v): arguments are not sent in binary", name, got, err)
		}
		if err := p.Get(&got, `SELECT ($1::jsonb)->>'k'`, services.JSONArg(map[string]string{"k": "v"})); err != nil || got != "v" {
			t.Errorf("%s pool: JSON argument read as %q (%v)", name, got, err)
		}
	}
}

// openBothPools opens a fresh database's main pool and prepared pool as the
// server does.
func openBothPools(t *testing.T) (db, pool *sqlx.DB, url string) {
	t.Helper()
	_, url = pgtest.NewDBWithURL(t)
	db, err := services.OpenDB(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	pool, err = services.OpenPreparedPool(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	return db, pool, url
}

// Statements prepared ahead run on the transaction's own connection: a
// burst of transactions holding every connection of the pool still
// completes (preparing on the pool then would wait for a free connection
// forever), each runs the prepared copy, and the statements do their work.
func TestTransactionStatementsRunOnTheirOwnConnection(t *testing.T) {
	db, _, _ := openBothPools(t)
	ctx := context.Background()
	if err := services.PrepareTxStatements(ctx, db); err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(3)
	funnel := services.NewFunnel(db, time.Now, nil)
	var wg sync.WaitGroup
	hold := make(chan struct{})
	errs := make(chan error, 6)
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- services.InTx(ctx, db, func(tx *sqlx.Tx) error {
				<-hold // the pool's connections are all taken before any statement runs
				if err := funnel.Record(ctx, tx, services.StageAssessmentStarted); err != nil {
					return err
				}
				var copies int
				err := tx.Get(&copies, `SELECT count(*) FROM pg_prepared_statements WHERE statement = $1`, services.FunnelRecordSQL)
				if err == nil && copies != 1 {
					err = fmt.Errorf("%d prepared copies of the funnel statement on this connection, want 1", copies)
				}
				return err
			})
		}()
	}
	time.Sleep(50 * time.Millisecond)
	close(hold)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("transactions using prepared statements did not finish")
	}
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var counted int
	if err := db.Get(&counted, `SELECT COALESCE(sum(count), 0) FROM funnel_counts WHERE stage = 'assessment_started'`); err != nil || counted != 6 {
		t.Fatalf("counted %d (%v), want 6", counted, err)
	}
}
