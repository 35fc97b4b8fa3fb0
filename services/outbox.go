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
	// OutboxCapped is a prospect message held back by the daily cap on mail
	// per address; it stays readable for staff and is never sent.
	OutboxCapped = "capped"
)

// Outbox audiences: only mail to prospects, whose address nobody verified,
// is capped per address and day.
const (
	AudienceProspect   = "prospect"
	AudienceConsultant = "consultant"
	AudienceStaff      = "staff"
)

// OutboxMessage is one rendered email waiting to leave.
type OutboxMessage struct {
	Kind      string // "invite", "cancel", "consultant_notice", "reminder_24h", "reminder_1h", ...
	BookingID string // optional ("" = NULL)
	To        string // bare address, for the SMTP envelope
	Subject   string // for the admin list
	Message   []byte // full RFC 5322 bytes (CRLF), already rendered
	Audience  string // AudienceProspect (the default), AudienceConsultant or AudienceStaff
	// DailyCap, for prospect mail, is how many messages one address may be
	// sent in 24 hours; beyond it the message is stored as capped. 0: no cap.
	DailyCap int
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
	id, _, err := enqueue(ctx, tx, msg)
	return id, err
}

// enqueue is Enqueue that also reports whether the daily cap held the
// message back.
func enqueue(ctx context.Context, tx *sqlx.Tx, msg OutboxMessage) (int64, bool, error) {
	if msg.Audience == "" {
		msg.Audience = AudienceProspect
	}
	if err := msg.check(); err != nil {
		return 0, false, err
	}
	status := OutboxPending
	capped, err := overDailyCap(ctx, tx, msg)
	if err != nil {
		return 0, false, err
	}
	if capped {
		status = OutboxCapped
	}
	var id int64
	err = tx.GetContext(ctx, &id, `
		INSERT INTO outbox (kind, booking_id, to_address, subject, message, audience, status)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		RETURNING id`,
		msg.Kind, sql.NullString{String: msg.BookingID, Valid: msg.BookingID != ""},
		msg.To, msg.Subject, msg.Message, msg.Audience, status)
	if err != nil {
		return 0, false, fmt.Errorf("enqueue %s mail: %w", msg.Kind, err)
	}
	return id, capped, nil
}

// overDailyCap counts what the address was sent in the last 24 hours. The
// transaction-scoped lock on the address makes concurrent senders count in
// turn, so a burst cannot slip past the cap.
func overDailyCap(ctx context.Context, tx *sqlx.Tx, msg OutboxMessage) (bool, error) {
	if msg.Audience != AudienceProspect || msg.DailyCap <= 0 {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('outbox:' || lower($1), 0))`, msg.To); err != nil {
		return false, fmt.Errorf("lock mail address: %w", err)
	}
	var sent int
	err := tx.GetContext(ctx, &sent, `
		SELECT count(*) FROM outbox
		WHERE audience = 'prospect' AND lower(to_address) = lower($1)
		  AND created_at > now() - interval '24 hours' AND status <> 'capped'`, msg.To)
	if err != nil {
		return false, fmt.Errorf("count mail to address: %w", err)
	}
	return sent >= msg.DailyCap, nil
}

// check rejects messages the worker could never deliver; they are programming
// errors, so the error is internal. A bare address also keeps the SMTP
// envelope free of anything a header could smuggle in.
func (msg OutboxMessage) check() error {
	if msg.Kind == "" {
		return errors.New("enqueue mail: empty kind")
	}
	switch msg.Audience {
	case AudienceProspect, AudienceConsultant, AudienceStaff:
	default:
		return fmt.Errorf("enqueue %s mail: unknown audience %q", msg.Kind, msg.Audience)
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
