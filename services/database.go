package services

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq" // registers the "postgres" driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"consultd/migrations"
)

// Connections per instance: the main pool and the prepared reads' pool.
const (
	MainPoolSize     = 20
	PreparedPoolSize = 10
)

// OpenDB connects to PostgreSQL with pool limits suited to one app instance.
// It does not fail when the database is down: readiness reports that, and the
// pool reconnects by itself when the database returns.
func OpenDB(databaseURL string) (*sqlx.DB, error) {
	dsn, err := withBinaryParameters(databaseURL)
	if err != nil {
		return nil, err
	}
	return openPool(dsn, MainPoolSize, "database")
}

// openPool opens a pool of up to size connections to dsn.
func openPool(dsn string, size int, what string) (*sqlx.DB, error) {
	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", what, err)
	}
	db.SetMaxOpenConns(size)
	// As many idle as open: after a burst, closing half the pool means the
	// next burst pays a new backend and a SCRAM handshake per connection.
	// Idle ones still close after five minutes.
	db.SetMaxIdleConns(size)
	db.SetConnMaxIdleTime(5 * time.Minute)
	db.SetConnMaxLifetime(time.Hour)
	return db, nil
}

// withBinaryParameters turns on lib/pq's binary_parameters: a query with
// arguments then goes to PostgreSQL in one round trip (parse, bind and
// execute together) instead of two (parse and describe, then bind and
// execute), which halves the round trips of every statement not prepared
// ahead. In that mode []byte arguments travel in binary, which is right for
// bytea and text; JSON is passed as a string (see jsonArg).
func withBinaryParameters(databaseURL string) (string, error) {
	return withRuntimeParam(databaseURL, "binary_parameters", "yes")
}

// Migrator applies the embedded migrations under a PostgreSQL advisory lock,
// so instances starting together take turns instead of racing.
type Migrator struct {
	provider *goose.Provider
}

// NewMigrator prepares goose for db.
func NewMigrator(db *sql.DB, logger *slog.Logger) (*Migrator, error) {
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
	if err != nil {
		return nil, fmt.Errorf("migration lock: %w", err)
	}
	provider, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS,
		goose.WithSessionLocker(locker),
		goose.WithDisableGlobalRegistry(true),
		goose.WithSlog(logger),
	)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return &Migrator{provider: provider}, nil
}

// Up applies every pending migration and returns how many it applied.
func (m *Migrator) Up(ctx context.Context) (int, error) {
	results, err := m.provider.Up(ctx)
	if err != nil {
		return len(results), fmt.Errorf("apply migrations: %w", err)
	}
	return len(results), nil
}

// MigrationStatus is one migration and whether it has been applied.
type MigrationStatus struct {
	Version   int64
	Source    string
	Applied   bool
	AppliedAt time.Time
}

// Status lists every known migration in order.
func (m *Migrator) Status(ctx context.Context) ([]MigrationStatus, error) {
	statuses, err := m.provider.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migration status: %w", err)
	}
	out := make([]MigrationStatus, 0, len(statuses))
	for _, s := range statuses {
		out = append(out, MigrationStatus{
			Version:   s.Source.Version,
			Source:    s.Source.Path,
			Applied:   s.State == goose.StateApplied,
			AppliedAt: s.AppliedAt,
		})
	}
	return out, nil
}

// Health answers whether the database is reachable.
type Health struct {
	db *sqlx.DB
}

// NewHealth returns a Health checker for db.
func NewHealth(db *sqlx.DB) *Health { return &Health{db: db} }

// Ready pings the database within a short deadline.
func (h *Health) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := h.db.PingContext(ctx); err != nil {
		return fmt.Errorf("database ping: %w", err)
	}
	return nil
}

// WarmPool opens n connections of db and leaves them idle, so the first
// burst of requests finds them ready: a new connection costs PostgreSQL a
// backend process and both sides a SCRAM handshake, milliseconds of CPU
// each, which thirty at once add to the first burst's latency. Each
// connection also gets db's transaction statements (PrepareTxStatements),
// which database/sql otherwise prepares on a connection the first time one
// of its transactions runs them: a round trip and a parse per statement and
// connection, all of them in the first burst.
func WarmPool(ctx context.Context, db *sqlx.DB, n int) error {
	stmts := preparedTxStatements(db)
	txs := make([]*sqlx.Tx, 0, n)
	defer func() {
		for _, tx := range txs {
			tx.Rollback() // back to the pool, idle, its statements kept
		}
	}()
	for range n {
		tx, err := db.BeginTxx(ctx, &sql.TxOptions{ReadOnly: true})
		if err != nil {
			return fmt.Errorf("open connections ahead: %w", err)
		}
		txs = append(txs, tx)
		for _, st := range stmts {
			// Binding a pool statement to the transaction prepares it on
			// the transaction's connection.
			if err := tx.StmtxContext(ctx, st).Close(); err != nil {
				return fmt.Errorf("prepare statements ahead: %w", err)
			}
		}
	}
	return nil
}
