package services

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/jmoiron/sqlx"
)

// AuditEntry is one staff action as admins read it.
type AuditEntry struct {
	ID         int64     `db:"id"`
	Actor      string    `db:"actor"`
	Action     string    `db:"action"`
	TargetType string    `db:"target_type"`
	TargetID   string    `db:"target_id"`
	Detail     string    `db:"detail"`
	IP         string    `db:"ip"`
	CreatedAt  time.Time `db:"created_at"`
}

// audit records what the actor in ctx did, in the caller's transaction, so
// the record exists exactly when the change does.
func audit(ctx context.Context, q sqlx.ExecerContext, action, targetType, targetID string, detail map[string]string) error {
	a := ActorFrom(ctx)
	raw := jsonArg(detail)
	var user, ip any
	if a.UserID != "" {
		user = a.UserID
	}
	if net.ParseIP(a.IP) != nil {
		ip = a.IP
	}
	_, err := q.ExecContext(ctx, `
		INSERT INTO audit_log (user_id, actor, action, target_type, target_id, detail, ip)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, user, a.Label(), action, targetType, targetID, raw, ip)
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

// Audit reads and writes the audit log.
type Audit struct{ db *sqlx.DB }

// NewAudit returns the audit log service.
func NewAudit(db *sqlx.DB) *Audit { return &Audit{db: db} }

// Record writes one action of the actor in ctx.
func (s *Audit) Record(ctx context.Context, action, targetType, targetID string, detail map[string]string) error {
	return audit(ctx, s.db, action, targetType, targetID, detail)
}

// AuditPage is one page of the log, newest first.
type AuditPage struct {
	Entries []AuditEntry
	Before  int64 // pass as before for the next page; 0 when there is none
}

// List returns up to limit entries older than before (0: the newest).
func (s *Audit) List(ctx context.Context, before int64, limit int) (AuditPage, error) {
	if !ActorFrom(ctx).Admin() {
		return AuditPage{}, ErrForbidden
	}
	if limit <= 0 || limit > 200 {
		limit = 100
	}
	var page AuditPage
	err := s.db.SelectContext(ctx, &page.Entries, `
		SELECT id, actor, action, target_type, target_id, detail::text AS detail, COALESCE(host(ip), '') AS ip, created_at
		FROM audit_log WHERE $1 = 0 OR id < $1
		ORDER BY id DESC LIMIT $2`, before, limit+1)
	if err != nil {
		return page, fmt.Errorf("list audit log: %w", err)
	}
	if len(page.Entries) > limit {
		page.Entries = page.Entries[:limit]
		page.Before = page.Entries[limit-1].ID
	}
	return page, nil
}
