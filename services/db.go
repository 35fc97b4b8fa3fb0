package services

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

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
