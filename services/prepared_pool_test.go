package services_test

import (
	"context"
	"strings"
	"testing"

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
