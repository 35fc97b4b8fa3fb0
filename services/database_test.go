package services_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"

	"consultd/internal/pgtest"
	"consultd/services"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestMigrationsTwiceIsNoop(t *testing.T) {
	db, _ := pgtest.NewEmptyDB(t)
	ctx := context.Background()
	m, err := services.NewMigrator(db.DB, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	first, err := m.Up(ctx)
	if err != nil {
		t.Fatalf("first up: %v", err)
	}
	if first == 0 {
		t.Fatal("first up applied no migrations")
	}
	second, err := m.Up(ctx)
	if err != nil {
		t.Fatalf("second up: %v", err)
	}
	if second != 0 {
		t.Fatalf("second up applied %d migrations, want 0", second)
	}
	statuses, err := m.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(statuses), first; got != want {
		t.Fatalf("status lists %d migrations, want %d", got, want)
	}
	for _, s := range statuses {
		if !s.Applied {
			t.Errorf("migration %d not applied", s.Version)
		}
	}
}

func TestConcurrentMigrateUpBothSucceed(t *testing.T) {
	_, url := pgtest.NewEmptyDB(t)
	ctx := context.Background()
	const instances = 4
	applied := make([]int, instances)
	errs := make([]error, instances)
	var wg sync.WaitGroup
	for i := range instances {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each instance has its own pool, as separate processes would.
			db, err := services.OpenDB(url)
			if err != nil {
				errs[i] = err
				return
			}
			defer db.Close()
			m, err := services.NewMigrator(db.DB, quietLogger())
			if err != nil {
				errs[i] = err
				return
			}
			applied[i], errs[i] = m.Up(ctx)
		}()
	}
	wg.Wait()
	total := 0
	for i, err := range errs {
		if err != nil {
			t.Fatalf("instance %d: %v", i, err)
		}
		total += applied[i]
	}
	db, _ := services.OpenDB(url)
	defer db.Close()
	m, _ := services.NewMigrator(db.DB, quietLogger())
	statuses, err := m.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if total != len(statuses) {
		t.Fatalf("instances applied %d migrations in all, want each of the %d exactly once", total, len(statuses))
	}
	var tables int
	if err := db.Get(&tables, `SELECT count(*) FROM information_schema.tables WHERE table_name = 'consultants'`); err != nil {
		t.Fatal(err)
	}
	if tables != 1 {
		t.Fatalf("consultants table count = %d, want 1", tables)
	}
}

func TestHealthReady(t *testing.T) {
	db := pgtest.NewDB(t)
	if err := services.NewHealth(db).Ready(context.Background()); err != nil {
		t.Fatalf("Ready on a live database: %v", err)
	}
	db.Close()
	if err := services.NewHealth(db).Ready(context.Background()); err == nil {
		t.Fatal("Ready on a closed pool returned nil")
	}
}

// openMainPool opens the server's main pool on a fresh test database.
func openMainPool(t *testing.T) *sqlx.DB {
	t.Helper()
	_, url := pgtest.NewDBWithURL(t)
	db, err := services.OpenDB(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Warming a pool leaves its connections open and idle for the first burst.
func TestWarmPoolLeavesConnectionsIdle(t *testing.T) {
	db := openMainPool(t)
	if err := services.WarmPool(context.Background(), db, 6); err != nil {
		t.Fatal(err)
	}
	if s := db.Stats(); s.OpenConnections != 6 || s.Idle != 6 {
		t.Fatalf("after warming 6: %d open, %d idle", s.OpenConnections, s.Idle)
	}
}

// Warming a pool whose transaction statements are prepared prepares them
// on every connection, so no transaction of the first burst pays for it.
func TestWarmPoolPreparesTransactionStatementsOnEachConnection(t *testing.T) {
	db := openMainPool(t)
	ctx := context.Background()
	if err := services.PrepareTxStatements(ctx, db); err != nil {
		t.Fatal(err)
	}
	if err := services.WarmPool(ctx, db, 4); err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(4)
	want := len(services.TxStatementTexts())
	var held []*sqlx.Tx
	defer func() {
		for _, tx := range held {
			tx.Rollback()
		}
	}()
	for i := 0; i < 4; i++ { // each transaction holds one of the four connections
		tx, err := db.BeginTxx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, tx)
		var n int
		if err := tx.Get(&n, `SELECT count(*) FROM pg_prepared_statements WHERE statement = ANY ($1)`, pq.StringArray(services.TxStatementTexts())); err != nil {
			t.Fatal(err)
		}
		if n != want {
			t.Fatalf("connection %d holds %d of the %d transaction statements", i+1, n, want)
		}
	}
}
