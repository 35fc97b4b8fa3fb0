package services

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

const (
	defaultMaxAttempts = 8
	defaultBackoff     = time.Minute
	defaultBatchSize   = 20
	defaultMailDir     = "var/mail"
	maxRetryDelay      = time.Hour
)

// MailTransport delivers one raw message.
type MailTransport interface {
	Send(ctx context.Context, from string, to []string, message []byte) error
}

// MailerConfig configures a Mailer; zero fields take defaults (no transport
// means mail is kept as .eml files).
type MailerConfig struct {
	Transport   MailTransport
	From        string // envelope sender; "Name <addr>" is reduced to addr
	Dir         string // where .eml copies go; default var/mail
	Now         func() time.Time
	Logger      *slog.Logger
	MaxAttempts int           // default 8
	Backoff     time.Duration // first retry delay, doubled per attempt; default 1m
	BatchSize   int           // rows claimed per transaction; default 20
	// After a wake, Run waits until no wake has come for Settle (default
	// 50ms), or MaxDelay (default 1s) since the first, before it delivers.
	Settle   time.Duration
	MaxDelay time.Duration
}

// Mailer delivers due outbox rows.
type Mailer struct {
	db          *sqlx.DB
	transport   MailTransport
	from        string
	dir         string
	now         func() time.Time
	logger      *slog.Logger
	maxAttempts int
	backoff     time.Duration
	batchSize   int
	settle      time.Duration
	maxDelay    time.Duration
	wake        chan struct{}
}

// Wake asks Run for a round once the wakes settle rather than at the next
// tick, so an invite leaves moments after its booking commits. It never
// blocks.
func (m *Mailer) Wake() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// dueMail is an outbox row claimed for delivery.
type dueMail struct {
	ID       int64  `db:"id"`
	Kind     string `db:"kind"`
	To       string `db:"to_address"`
	Message  []byte `db:"message"`
	Attempts int    `db:"attempts"`
}

// NewMailer returns a Mailer over db configured by cfg.
func NewMailer(db *sqlx.DB, cfg MailerConfig) *Mailer {
	m := &Mailer{
		db:          db,
		transport:   cfg.Transport,
		from:        bareAddress(cfg.From),
		dir:         cfg.Dir,
		now:         cfg.Now,
		logger:      cfg.Logger,
		maxAttempts: positiveOr(cfg.MaxAttempts, defaultMaxAttempts),
		backoff:     positiveOr(cfg.Backoff, defaultBackoff),
		batchSize:   positiveOr(cfg.BatchSize, defaultBatchSize),
		settle:      positiveOr(cfg.Settle, 50*time.Millisecond),
		maxDelay:    positiveOr(cfg.MaxDelay, time.Second),
		wake:        make(chan struct{}, 1),
	}
	if m.dir == "" {
		m.dir = defaultMailDir
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.logger == nil {
		m.logger = slog.Default()
	}
	return m
}

// DeliverDue sends up to one batch of due messages and reports how many it
// delivered (sent, or kept as files without a transport).
func (m *Mailer) DeliverDue(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	// The batch's transaction ignores cancellation: rolling it back after some
	// messages left would send them again. Delivery itself still stops.
	dbCtx := context.WithoutCancel(ctx)
	delivered := 0
	err := inTx(dbCtx, m.db, func(tx *sqlx.Tx) error {
		due, err := claimDue(dbCtx, tx, m.now(), m.batchSize)
		if err != nil {
			return err
		}
		byStatus := map[string][]int64{}
		for _, row := range due {
			if ctx.Err() != nil {
				break // unsent rows stay pending and unlock at commit
			}
			status, err := m.deliverOne(ctx, tx, row)
			if err != nil {
				return err
			}
			if status != "" {
				byStatus[status] = append(byStatus[status], row.ID)
				delivered++
			}
		}
		for status, ids := range byStatus {
			if err := m.recordDeliveries(dbCtx, tx, ids, status); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("deliver outbox: %w", err)
	}
	return delivered, nil
}

// Run calls DeliverDue every interval, and again at once after a full batch,
// until ctx ends.
func (m *Mailer) Run(ctx context.Context, every time.Duration) {
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	for {
		n, err := m.DeliverDue(ctx)
		if err != nil && ctx.Err() == nil {
			m.logger.Error("outbox delivery", "error", err)
		}
		if err == nil && n >= m.batchSize {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		case <-m.wake:
			if !m.waitForQuiet(ctx) {
				return
			}
		}
	}
}

// waitForQuiet waits, after a wake, until no wake has come for m.settle or
// m.maxDelay has passed since the first: a burst of bookings is then
// answered first and its invitations leave together just after, instead
// of the mailer competing with the burst for the same cores. It reports
// false when ctx ended.
func (m *Mailer) waitForQuiet(ctx context.Context) bool {
	deadline := time.NewTimer(m.maxDelay)
	defer deadline.Stop()
	quiet := time.NewTimer(m.settle)
	defer quiet.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-deadline.C:
			return true
		case <-quiet.C:
			return true
		case <-m.wake:
			quiet.Reset(m.settle)
		}
	}
}

// claimDue locks due rows; SKIP LOCKED lets other instances take other rows,
// and a crashed worker's locks vanish with its connection.
func claimDue(ctx context.Context, tx *sqlx.Tx, now time.Time, limit int) ([]dueMail, error) {
	var due []dueMail
	err := tx.SelectContext(ctx, &due, `
		SELECT id, kind, to_address, message, attempts
		FROM outbox
		WHERE status = 'pending' AND next_attempt_at <= $1
		ORDER BY next_attempt_at, id
		LIMIT $2
		FOR UPDATE SKIP LOCKED`, now, limit)
	if err != nil {
		return nil, fmt.Errorf("claim due mail: %w", err)
	}
	return due, nil
}

// deliverOne sends row and records a failure; it returns the status a
// delivery is to be recorded with (DeliverDue records them together), or
// "" when the message was not delivered.
func (m *Mailer) deliverOne(ctx context.Context, tx *sqlx.Tx, row dueMail) (string, error) {
	status, sendErr := m.send(ctx, row)
	if sendErr != nil && ctx.Err() != nil {
		return "", nil // shutting down is not the message's fault; it stays pending
	}
	if sendErr != nil {
		return "", m.recordFailure(context.WithoutCancel(ctx), tx, row, sendErr)
	}
	m.logger.Info("outbox mail delivered", "id", row.ID, "kind", row.Kind, "attempts", row.Attempts+1, "outcome", status)
	return status, nil
}

func (m *Mailer) send(ctx context.Context, row dueMail) (status string, err error) {
	if m.transport == nil {
		return OutboxKept, m.keep(row)
	}
	return OutboxSent, m.transport.Send(ctx, m.from, []string{row.To}, row.Message)
}

// keep writes row as an .eml file; rewriting it after a rolled-back batch is harmless.
func (m *Mailer) keep(row dueMail) error {
	if err := os.MkdirAll(m.dir, 0o750); err != nil {
		return fmt.Errorf("create mail dir: %w", err)
	}
	name := filepath.Join(m.dir, fmt.Sprintf("%d-%s.eml", row.ID, fileSafe(row.Kind)))
	if err := os.WriteFile(name, row.Message, 0o640); err != nil {
		return fmt.Errorf("write mail file: %w", err)
	}
	return nil
}

// recordDeliveries marks a batch's delivered rows in one statement rather
// than one each: a burst of bookings queues a hundred messages at once,
// and the database's time goes to the bookings.
func (m *Mailer) recordDeliveries(ctx context.Context, tx *sqlx.Tx, ids []int64, status string) error {
	sentAt := sql.NullTime{Time: m.now(), Valid: status == OutboxSent}
	_, err := tx.ExecContext(ctx, `
		UPDATE outbox SET status = $2, attempts = attempts + 1, last_error = '', sent_at = $3
		WHERE id = ANY ($1)`, pq.Int64Array(ids), status, sentAt)
	if err != nil {
		return fmt.Errorf("record delivery of %d mails: %w", len(ids), err)
	}
	return nil
}

func (m *Mailer) recordFailure(ctx context.Context, tx *sqlx.Tx, row dueMail, sendErr error) error {
	attempts := row.Attempts + 1
	status := OutboxPending
	if attempts >= m.maxAttempts {
		status = OutboxFailed
	}
	reason := failureText(sendErr)
	_, err := tx.ExecContext(ctx, `
		UPDATE outbox SET status = $2, attempts = $3, last_error = $4, next_attempt_at = $5
		WHERE id = $1`, row.ID, status, attempts, reason, m.now().Add(m.retryDelay(attempts)))
	if err != nil {
		return fmt.Errorf("record failure of mail %d: %w", row.ID, err)
	}
	m.logger.Warn("outbox mail not delivered", "id", row.ID, "kind", row.Kind, "attempts", attempts, "outcome", status, "reason", reason)
	return nil
}

// retryDelay doubles the backoff per attempt up to an hour, less up to a
// tenth so that instances which failed together do not retry together.
func (m *Mailer) retryDelay(attempts int) time.Duration {
	d := m.backoff
	for i := 1; i < attempts && d < maxRetryDelay; i++ {
		d *= 2
	}
	d = min(d, maxRetryDelay)
	return d - rand.N(d/10+1)
}

func bareAddress(s string) string {
	if addr, err := mail.ParseAddress(s); err == nil {
		return addr.Address
	}
	return s
}

func fileSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

func positiveOr[T int | time.Duration](v, fallback T) T {
	if v <= 0 {
		return fallback
	}
	return v
}
