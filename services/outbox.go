package services

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/mail"
	"time"

	"github.com/jmoiron/sqlx"
)

// Outbox statuses, as the outbox table's CHECK constraint names them.
const (
	OutboxPending = "pending"
	OutboxSent    = "sent"
	OutboxFailed  = "failed"
	OutboxKept    = "kept"
)

// OutboxMessage is one rendered email waiting to leave.
type OutboxMessage struct {
	Kind      string // "invite", "cancel", "consultant_notice", "reminder_24h", "reminder_1h", ...
	BookingID string // optional ("" = NULL)
	To        string // bare address, for the SMTP envelope
	Subject   string // for the admin list
	Message   []byte // full RFC 5322 bytes (CRLF), already rendered
}

// OutboxEntry is one outbox row as the admin sees it, without the message bytes.
type OutboxEntry struct {
	ID            int64      `db:"id"`
	Kind          string     `db:"kind"`
	BookingID     string     `db:"booking_id"`
	To            string     `db:"to_address"`
	Subject       string     `db:"subject"`
	Status        string     `db:"status"`
	LastError     string     `db:"last_error"`
	Attempts      int        `db:"attempts"`
	NextAttemptAt time.Time  `db:"next_attempt_at"`
	CreatedAt     time.Time  `db:"created_at"`
	SentAt        *time.Time `db:"sent_at"`
}

const (
	defaultOutboxListLimit = 100
	maxOutboxListLimit     = 500
)

// Enqueue writes msg in the caller's transaction, so it is sent if and only if
// the change it reports commits.
func Enqueue(ctx context.Context, tx *sqlx.Tx, msg OutboxMessage) (int64, error) {
	if err := msg.check(); err != nil {
		return 0, err
	}
	var id int64
	err := tx.GetContext(ctx, &id, `
		INSERT INTO outbox (kind, booking_id, to_address, subject, message)
		VALUES ($1, $2, $3, $4, $5)
		RETURNING id`,
		msg.Kind, sql.NullString{String: msg.BookingID, Valid: msg.BookingID != ""},
		msg.To, msg.Subject, msg.Message)
	if err != nil {
		return 0, fmt.Errorf("enqueue %s mail: %w", msg.Kind, err)
	}
	return id, nil
}

// check rejects messages the worker could never deliver; they are programming
// errors, so the error is internal. A bare address also keeps the SMTP
// envelope free of anything a header could smuggle in.
func (msg OutboxMessage) check() error {
	if msg.Kind == "" {
		return errors.New("enqueue mail: empty kind")
	}
	if addr, err := mail.ParseAddress(msg.To); err != nil || addr.Address != msg.To {
		return fmt.Errorf("enqueue %s mail: recipient is not a bare address", msg.Kind)
	}
	if len(msg.Message) == 0 {
		return fmt.Errorf("enqueue %s mail: empty message", msg.Kind)
	}
	return nil
}

// ListOutbox lists messages for the admin, newest first.
func ListOutbox(ctx context.Context, db *sqlx.DB, limit int) ([]OutboxEntry, error) {
	if limit <= 0 {
		limit = defaultOutboxListLimit
	}
	limit = min(limit, maxOutboxListLimit)
	entries := []OutboxEntry{}
	err := db.SelectContext(ctx, &entries, `
		SELECT id, kind, COALESCE(booking_id::text, '') AS booking_id, to_address, subject,
		       status, last_error, attempts, next_attempt_at, created_at, sent_at
		FROM outbox
		ORDER BY created_at DESC, id DESC
		LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("list outbox: %w", err)
	}
	return entries, nil
}

// OutboxMessageBytes returns the stored RFC 5322 bytes of message id, or
// ErrNotFound.
func OutboxMessageBytes(ctx context.Context, db *sqlx.DB, id int64) ([]byte, error) {
	var message []byte
	err := db.GetContext(ctx, &message, `SELECT message FROM outbox WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("outbox message %d: %w", id, err)
	}
	return message, nil
}
