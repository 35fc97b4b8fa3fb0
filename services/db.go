package services

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// inTx runs fn in a transaction, committing only when fn succeeds.
func inTx(ctx context.Context, db *sqlx.DB, fn func(*sqlx.Tx) error) error {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	txOwners.Store(tx, db)
	defer txOwners.Delete(tx)
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// pgErrorCodes maps PostgreSQL SQLSTATEs to service codes.
var pgErrorCodes = map[string]string{
	"23505": CodeConflict, // unique_violation
	"23P01": CodeConflict, // exclusion_violation
	"23503": CodeInvalid,  // foreign_key_violation
	"23514": CodeInvalid,  // check_violation
}

// translatePQ turns constraint violations into service errors carrying msg,
// and wraps anything else with context.
func translatePQ(err error, msg, context string) error {
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		if code, ok := pgErrorCodes[string(pqErr.Code)]; ok {
			return &Error{Code: code, Message: msg}
		}
	}
	return fmt.Errorf("%s: %w", context, err)
}

// writeUnlessTaken runs a write that the bookings exclusion constraint may
// refuse, inside a savepoint, and reports whether it was made: false when
// the time is taken, the savepoint undone so the transaction goes on.
// Two writers that take conflicting times at the same moment can each find
// the other's row and wait for it; PostgreSQL then ends one wait with a
// deadlock error. That writer undoes its row and tries again, and now
// waits for the other to finish, or meets its committed row.
func writeUnlessTaken(ctx context.Context, tx *sqlx.Tx, write func() error) (bool, error) {
	for attempt := 1; ; attempt++ {
		if _, err := tx.ExecContext(ctx, `SAVEPOINT slot_write`); err != nil {
			return false, fmt.Errorf("savepoint: %w", err)
		}
		err := write()
		if err == nil {
			return true, nil
		}
		retry := isDeadlock(err) && attempt < 5
		if !isExclusionViolation(err) && !retry {
			return false, err
		}
		if _, err := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT slot_write`); err != nil {
			return false, fmt.Errorf("rollback to savepoint: %w", err)
		}
		if !retry {
			return false, nil
		}
	}
}

// lockConsultantStart queues writers of one consultant's start behind each
// other until the first one's transaction ends. Without it, two bookings
// of the same time insert their rows at once, each finds the other's and
// waits for it, and PostgreSQL needs a second (deadlock_timeout) to notice
// and break the cycle; with it, the second writer meets a committed row and
// is refused at once. Take it inside writeUnlessTaken's savepoint: undoing
// a refused write then lets the lock go too, so a writer moving on to the
// next consultant never holds one it no longer needs (two such writers
// would wait for each other). Writes whose ranges overlap from different
// starts are rare; writeUnlessTaken's retry covers them.
func lockConsultantStart(ctx context.Context, tx *sqlx.Tx, consultantID string, start time.Time) error {
	name, minute := consultantStartLock(consultantID, start)
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext($1), $2)`, name, minute)
	if err != nil {
		return fmt.Errorf("lock consultant start: %w", err)
	}
	return nil
}

// jsonArg is v as JSON text, the form a json or jsonb argument takes: with
// binary parameters, []byte would reach PostgreSQL as binary jsonb.
// Everything passed here is a map, slice or struct of plain values, which
// always encode.
func jsonArg(v any) string {
	raw, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("jsonArg: %v", err))
	}
	return string(raw)
}

// consultantStartLock names the advisory lock of a consultant's start.
func consultantStartLock(consultantID string, start time.Time) (string, int32) {
	return "booking:" + consultantID, int32(start.Unix() / 60)
}

func isDeadlock(err error) bool {
	var pqErr *pq.Error
	return errors.As(err, &pqErr) && pqErr.Code == "40P01"
}

func isExclusionViolation(err error) bool {
	var pqErr *pq.Error
	return errors.As(err, &pqErr) && pqErr.Code == "23P01"
}

// IsUnavailable reports whether err means PostgreSQL could not be reached or
// is going away (refused or dropped connections, shutdown, too many
// clients), as opposed to a query that failed: the request may succeed if
// repeated in a moment.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		switch pqErr.Code.Class() {
		case "08", "53", "57": // connection exception, insufficient resources, operator intervention
			return true
		}
		return false
	}
	var netErr net.Error
	return errors.As(err, &netErr) ||
		errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, context.DeadlineExceeded)
}
