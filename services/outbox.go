package services

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strconv"
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
	// OutboxSuperseded was withdrawn before it left, because a later change
	// replaced it.
	OutboxSuperseded = "superseded"
)

// OutboxStatuses lists every status, in the order staff filter by them.
var OutboxStatuses = []string{OutboxPending, OutboxSent, OutboxFailed, OutboxKept, OutboxCapped, OutboxSuperseded}

// Outbox audiences: only mail to prospects, whose address nobody verified,
// is capped per address and day.
const (
	AudienceProspect   = "prospect"
	AudienceConsultant = "consultant"
	AudienceStaff      = "staff"
)

// Audiences lists every audience, in the order staff filter by them.
var Audiences = []string{AudienceProspect, AudienceConsultant, AudienceStaff}

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
	Audience      string     `db:"audience"`
	Status        string     `db:"status"`
	LastError     string     `db:"last_error"`
	Attempts      int        `db:"attempts"`
	NextAttemptAt time.Time  `db:"next_attempt_at"`
	CreatedAt     time.Time  `db:"created_at"`
	SentAt        *time.Time `db:"sent_at"`
}

// Enqueue writes msg in the caller's transaction, so it is sent if and only if
// the change it reports commits.
func Enqueue(ctx context.Context, tx *sqlx.Tx, msg OutboxMessage) (int64, error) {
	id, _, err := enqueue(ctx, tx, msg)
	return id, err
}

// enqueue is Enqueue that also reports whether the daily cap held the
// message back.
func enqueue(ctx context.Context, tx *sqlx.Tx, msg OutboxMessage) (int64, bool, error) {
	status, err := outboxStatus(ctx, tx, &msg)
	if err != nil {
		return 0, false, err
	}
	var id int64
	err = getPrepared(ctx, tx, &id, outboxInsertSQL, outboxRowArgs(msg, status)...)
	if err != nil {
		return 0, false, fmt.Errorf("enqueue %s mail: %w", msg.Kind, err)
	}
	return id, status == OutboxCapped, nil
}

// enqueuePair is enqueue for two messages that one change sends (the
// prospect's and the consultant's), written in one round trip; it reports
// whether the daily cap held each back.
func enqueuePair(ctx context.Context, tx *sqlx.Tx, first, second OutboxMessage) (bool, bool, error) {
	firstStatus, err := outboxStatus(ctx, tx, &first)
	if err != nil {
		return false, false, err
	}
	secondStatus, err := outboxStatus(ctx, tx, &second)
	if err != nil {
		return false, false, err
	}
	args := append(outboxRowArgs(first, firstStatus), outboxRowArgs(second, secondStatus)...)
	if _, err := execPrepared(ctx, tx, outboxInsertPairSQL, args...); err != nil {
		return false, false, fmt.Errorf("enqueue %s and %s mail: %w", first.Kind, second.Kind, err)
	}
	return firstStatus == OutboxCapped, secondStatus == OutboxCapped, nil
}

// outboxStatus checks msg (defaulting its audience) and says the status it
// is stored with: pending, or capped when its mailbox had its day's share.
func outboxStatus(ctx context.Context, tx *sqlx.Tx, msg *OutboxMessage) (string, error) {
	if msg.Audience == "" {
		msg.Audience = AudienceProspect
	}
	if err := msg.check(); err != nil {
		return "", err
	}
	capped, err := overDailyCap(ctx, tx, *msg)
	if err != nil {
		return "", err
	}
	if capped {
		return OutboxCapped, nil
	}
	return OutboxPending, nil
}

// outboxRowArgs are msg's values in outboxInsertSQL's order.
func outboxRowArgs(msg OutboxMessage, status string) []any {
	return []any{msg.Kind, sql.NullString{String: msg.BookingID, Valid: msg.BookingID != ""},
		msg.To, msg.Subject, msg.Message, msg.Audience, status}
}

// mailboxSQL names a mailbox: case and a "+tag" do not make a new one.
const mailboxSQL = `regexp_replace(lower(%s), '\+[^@]*@', '@')`

const outboxInsertSQL = `
	INSERT INTO outbox (kind, booking_id, to_address, subject, message, audience, status)
	VALUES ($1, $2, $3, $4, $5, $6, $7)
	RETURNING id`

const outboxInsertPairSQL = `
	INSERT INTO outbox (kind, booking_id, to_address, subject, message, audience, status)
	VALUES ($1, $2, $3, $4, $5, $6, $7), ($8, $9, $10, $11, $12, $13, $14)`

var (
	mailboxLockSQL  = `SELECT pg_advisory_xact_lock(hashtextextended('outbox:' || ` + fmt.Sprintf(mailboxSQL, "$1") + `, 0))`
	mailboxCountSQL = `
		SELECT count(*) FROM outbox
		WHERE audience = 'prospect' AND ` + fmt.Sprintf(mailboxSQL, "to_address") + ` = ` + fmt.Sprintf(mailboxSQL, "$1") + `
		  AND created_at > now() - interval '24 hours' AND status <> 'capped' AND (kind = $2) = $3`
)

// existingBookingNoticesPerDay caps the "you already have a consultation"
// notes, which anyone who knows an address can cause. They have their own
// budget, so they can never use up the one for the mail the person needs.
const existingBookingNoticesPerDay = 3

// overDailyCap counts what the mailbox was sent in the last 24 hours. The
// transaction-scoped lock on the mailbox makes concurrent senders count in
// turn, so a burst cannot slip past the cap.
func overDailyCap(ctx context.Context, tx *sqlx.Tx, msg OutboxMessage) (bool, error) {
	if msg.Audience != AudienceProspect || msg.DailyCap <= 0 {
		return false, nil
	}
	if _, err := execPrepared(ctx, tx, mailboxLockSQL, msg.To); err != nil {
		return false, fmt.Errorf("lock mail address: %w", err)
	}
	limit, notices := msg.DailyCap, msg.Kind == KindExistingBooking
	if notices {
		limit = min(limit, existingBookingNoticesPerDay)
	}
	var sent int
	err := getPrepared(ctx, tx, &sent, mailboxCountSQL, msg.To, KindExistingBooking, notices)
	if err != nil {
		return false, fmt.Errorf("count mail to address: %w", err)
	}
	return sent >= limit, nil
}

// KindExistingBooking is the note to an address that already holds an
// upcoming consultation.
const KindExistingBooking = "existing_booking"

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

// Outbox is the staff's view of the mail queue: list, read, and send again
// what did not leave.
type Outbox struct {
	db  *sqlx.DB
	now func() time.Time
	// queued, when set, is called after a retry commits, so the mailer
	// sends at once rather than at its next round.
	queued func()
}

// NewOutbox returns the staff's outbox.
func NewOutbox(db *sqlx.DB, now func() time.Time, queued func()) *Outbox {
	return &Outbox{db: db, now: now, queued: queued}
}

// OutboxFilter selects messages for the list; empty fields select all.
type OutboxFilter struct {
	Status   string
	Audience string
	Before   int64 // only messages with a smaller id; 0 starts at the newest
	Limit    int   // default 50, at most 200
}

// OutboxPage is one page of the list, newest first.
type OutboxPage struct {
	Entries []OutboxEntry
	Before  int64 // Before of the next page; 0 when there is none
}

// outboxEntryColumns are the columns of an OutboxEntry.
const outboxEntryColumns = `id, kind, COALESCE(booking_id::text, '') AS booking_id, to_address, subject, audience,
	status, last_error, attempts, next_attempt_at, created_at, sent_at`

// List returns a page of messages matching f, newest first. Sales staff only.
func (o *Outbox) List(ctx context.Context, f OutboxFilter) (OutboxPage, error) {
	if !ActorFrom(ctx).Staff() {
		return OutboxPage{}, ErrForbidden
	}
	fields := map[string]string{}
	if f.Status != "" && !slices.Contains(OutboxStatuses, f.Status) {
		fields["status"] = "Choose a status from the list."
	}
	if f.Audience != "" && !slices.Contains(Audiences, f.Audience) {
		fields["audience"] = "Choose an audience from the list."
	}
	if len(fields) > 0 {
		return OutboxPage{}, Invalid(fields)
	}
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	page := OutboxPage{Entries: []OutboxEntry{}}
	err := o.db.SelectContext(ctx, &page.Entries, `SELECT `+outboxEntryColumns+` FROM outbox
		WHERE ($1 = '' OR status = $1) AND ($2 = '' OR audience = $2) AND ($3 = 0 OR id < $3)
		ORDER BY id DESC
		LIMIT $4`, f.Status, f.Audience, max(f.Before, 0), f.Limit+1)
	if err != nil {
		return page, fmt.Errorf("list outbox: %w", err)
	}
	if len(page.Entries) > f.Limit {
		page.Entries = page.Entries[:f.Limit]
		page.Before = page.Entries[f.Limit-1].ID
	}
	return page, nil
}

// OutboxView is one message as staff read it.
type OutboxView struct {
	OutboxEntry
	Mail MailView
}

// Read returns message id with its headers and text decoded. Sales staff only.
func (o *Outbox) Read(ctx context.Context, id int64) (OutboxView, error) {
	if !ActorFrom(ctx).Staff() {
		return OutboxView{}, ErrForbidden
	}
	var row struct {
		OutboxEntry
		Message []byte `db:"message"`
	}
	err := o.db.GetContext(ctx, &row, `SELECT `+outboxEntryColumns+`, message FROM outbox WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return OutboxView{}, ErrNotFound
	}
	if err != nil {
		return OutboxView{}, fmt.Errorf("read outbox message %d: %w", id, err)
	}
	return OutboxView{OutboxEntry: row.OutboxEntry, Mail: ReadMail(row.Message)}, nil
}

// Raw returns the stored RFC 5322 bytes of message id. Sales staff only.
func (o *Outbox) Raw(ctx context.Context, id int64) ([]byte, error) {
	if !ActorFrom(ctx).Staff() {
		return nil, ErrForbidden
	}
	var message []byte
	err := o.db.GetContext(ctx, &message, `SELECT message FROM outbox WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("outbox message %d: %w", id, err)
	}
	return message, nil
}

// retryable are the statuses Retry accepts; notRetryable says why the
// others cannot be sent again.
var (
	retryable    = []string{OutboxFailed, OutboxKept, OutboxCapped}
	notRetryable = map[string]string{
		OutboxPending:    "is already waiting to be sent",
		OutboxSent:       "was sent already",
		OutboxSuperseded: "was replaced by a later message about the same booking",
	}
)

// Retryable reports whether staff may send the message again: it did not
// leave, and will not by itself.
func (e OutboxEntry) Retryable() bool { return slices.Contains(retryable, e.Status) }

// Retry puts a failed, kept or capped message back in the queue, due now
// and with its attempts reset, and records who did it. A capped message
// then leaves despite the daily cap: a person decided it should. Sales
// staff only.
func (o *Outbox) Retry(ctx context.Context, id int64) (OutboxEntry, error) {
	if !ActorFrom(ctx).Staff() {
		return OutboxEntry{}, ErrForbidden
	}
	var e OutboxEntry
	err := inTx(ctx, o.db, func(tx *sqlx.Tx) error {
		err := tx.GetContext(ctx, &e, `SELECT `+outboxEntryColumns+` FROM outbox WHERE id = $1 FOR UPDATE`, id)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("lock outbox message %d: %w", id, err)
		}
		if !e.Retryable() {
			why := cmp.Or(notRetryable[e.Status], "is "+e.Status)
			return Conflict(fmt.Sprintf("Message %d %s; only failed, kept or capped messages can be sent again.", id, why))
		}
		previous := e.Status
		err = tx.GetContext(ctx, &e, `
			UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = $2
			WHERE id = $1
			RETURNING `+outboxEntryColumns, id, o.now())
		if err != nil {
			return fmt.Errorf("retry outbox message %d: %w", id, err)
		}
		return audit(ctx, tx, "mail_retry", "outbox", strconv.FormatInt(id, 10), map[string]string{"kind": e.Kind, "status": previous})
	})
	if err != nil {
		return OutboxEntry{}, err
	}
	if o.queued != nil {
		o.queued()
	}
	return e, nil
}
