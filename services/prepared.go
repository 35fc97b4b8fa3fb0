package services

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"
	"sync"

	"github.com/jmoiron/sqlx"
)

// The busiest reads (a booking, an inquiry, what slots are computed from)
// run as prepared statements. lib/pq otherwise sends each query unnamed,
// so PostgreSQL parses and plans it on every call: in the booking race,
// planning was two thirds of the database's time for these reads (1.3 ms
// for a booking with its joins, against 0.1 ms to run it). A prepared
// statement can keep one plan for every call, but left to choose,
// PostgreSQL keeps planning the slots query each time (its generic plan is
// the same plan, estimated at four times the cost), so the server runs prepared statements on a pool of its own whose
// sessions always keep the generic plan (OpenPreparedPool). Only fixed
// query texts from the code come here, so the set stays small.
var (
	preparedByDB   sync.Map // *sqlx.DB → *sync.Map of query → *sqlx.Stmt
	preparedPoolOf sync.Map // *sqlx.DB → the *sqlx.DB its statements run on
)

// UsePreparedPool has db's prepared reads run on pool. Reads there see
// what is committed, as reads outside a transaction on db do.
func UsePreparedPool(db, pool *sqlx.DB) { preparedPoolOf.Store(db, pool) }

// OpenPreparedPool opens the connections prepared statements run on: a
// small pool whose sessions use generic plans (plan_cache_mode). Only
// prepared statements run there; the main pool keeps PostgreSQL's choice,
// which matters for one-off queries whose best plan depends on the values.
func OpenPreparedPool(databaseURL string) (*sqlx.DB, error) {
	dsn, err := withRuntimeParam(databaseURL, "plan_cache_mode", "force_generic_plan")
	if err != nil {
		return nil, err
	}
	if dsn, err = withBinaryParameters(dsn); err != nil {
		return nil, err
	}
	return openPool(dsn, PreparedPoolSize, "prepared pool")
}

// withRuntimeParam adds a setting that lib/pq sends to the server at
// connect time, unless the URL or key=value string already has one.
func withRuntimeParam(dsn, key, value string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("DATABASE_URL: %w", err)
		}
		q := u.Query()
		if q.Get(key) == "" {
			q.Set(key, value)
		}
		u.RawQuery = q.Encode()
		return u.String(), nil
	}
	if strings.Contains(dsn, key+"=") {
		return dsn, nil
	}
	return strings.TrimSpace(dsn + " " + key + "=" + value), nil
}

func prepared(ctx context.Context, db *sqlx.DB, query string) (*sqlx.Stmt, error) {
	v, _ := preparedByDB.LoadOrStore(db, &sync.Map{})
	stmts := v.(*sync.Map)
	if st, ok := stmts.Load(query); ok {
		return st.(*sqlx.Stmt), nil
	}
	target := db
	if pool, ok := preparedPoolOf.Load(db); ok {
		target = pool.(*sqlx.DB)
	}
	st, err := target.PreparexContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	if prev, loaded := stmts.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sqlx.Stmt), nil
	}
	return st, nil
}

// getPrepared is sqlx.GetContext through a prepared statement: on the
// prepared pool when q is the main pool, and on the transaction's own
// connection when q is a transaction and the statement is one of
// txStatementTexts (see PrepareTxStatements); otherwise as it is.
func getPrepared(ctx context.Context, q sqlx.QueryerContext, dest any, query string, args ...any) error {
	switch q := q.(type) {
	case *sqlx.DB:
		st, err := prepared(ctx, q, query)
		if err != nil {
			return err
		}
		return st.GetContext(ctx, dest, args...)
	case *sqlx.Tx:
		if st := txStatement(ctx, q, query); st != nil {
			return st.GetContext(ctx, dest, args...)
		}
	}
	return sqlx.GetContext(ctx, q, dest, query, args...)
}

// execPrepared is ExecContext through a prepared statement when q is a
// transaction and the statement one of txStatementTexts.
func execPrepared(ctx context.Context, q sqlx.ExecerContext, query string, args ...any) (sql.Result, error) {
	if tx, ok := q.(*sqlx.Tx); ok {
		if st := txStatement(ctx, tx, query); st != nil {
			return st.ExecContext(ctx, args...)
		}
	}
	return q.ExecContext(ctx, query, args...)
}

// The statements transactions run most are prepared too: otherwise
// PostgreSQL parses and plans each of them every time, a fifth of its CPU
// in the booking race. They are prepared on the main pool when the server
// starts, before any load: preparing one later would take a free
// connection from the pool, and in a burst every connection can be held
// by a transaction waiting for that very statement. A transaction then
// uses its connection's copy (database/sql prepares it there the first
// time, on the connection the transaction already holds); after five runs
// PostgreSQL keeps a generic plan when it is as good.
func txStatementTexts() []string {
	return []string{
		lockLeadSQL, leadBookingsSQL, insertBookingSQL, markLeadBookedSQL,
		bookingSelect + " WHERE b.id = $1",
		funnelRecordSQL, leadEventSQL, outboxInsertSQL, outboxInsertPairSQL, mailboxLockSQL, mailboxCountSQL,
	}
}

var (
	txStatements sync.Map // *sqlx.DB → map[string]*sqlx.Stmt, read-only once stored
	txOwners     sync.Map // *sqlx.Tx → the *sqlx.DB inTx began it on
)

// PrepareTxStatements prepares txStatementTexts on db for its transactions.
func PrepareTxStatements(ctx context.Context, db *sqlx.DB) error {
	stmts := map[string]*sqlx.Stmt{}
	for _, q := range txStatementTexts() {
		st, err := db.PreparexContext(ctx, q)
		if err != nil {
			for _, done := range stmts {
				done.Close()
			}
			return fmt.Errorf("prepare transaction statements: %w", err)
		}
		stmts[q] = st
	}
	txStatements.Store(db, stmts)
	return nil
}

// preparedTxStatements returns db's transaction statements, if prepared.
func preparedTxStatements(db *sqlx.DB) map[string]*sqlx.Stmt {
	stmts, ok := txStatements.Load(db)
	if !ok {
		return nil
	}
	return stmts.(map[string]*sqlx.Stmt)
}

// txStatement returns query prepared for tx, or nil when it was not
// prepared ahead for tx's pool.
func txStatement(ctx context.Context, tx *sqlx.Tx, query string) *sqlx.Stmt {
	owner, ok := txOwners.Load(tx)
	if !ok {
		return nil
	}
	stmts, ok := txStatements.Load(owner)
	if !ok {
		return nil
	}
	st, ok := stmts.(map[string]*sqlx.Stmt)[query]
	if !ok {
		return nil
	}
	return tx.StmtxContext(ctx, st)
}

// selectPrepared is sqlx.SelectContext through a prepared statement.
func selectPrepared(ctx context.Context, db *sqlx.DB, dest any, query string, args ...any) error {
	st, err := prepared(ctx, db, query)
	if err != nil {
		return err
	}
	return st.SelectContext(ctx, dest, args...)
}
