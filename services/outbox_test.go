package services_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"consultd/internal/pgtest"
	"consultd/services"
)

// testMail is a rendered message with a unique Message-ID; its dot-led line
// checks that SMTP dot-stuffing round-trips.
func testMail(n int) services.OutboxMessage {
	to := fmt.Sprintf("prospect%d@example.com", n)
	subject := fmt.Sprintf("Your consultation %d", n)
	msg := "From: Consultations <consult@example.com>\r\n" +
		"To: " + to + "\r\n" +
		"Subject: " + subject + "\r\n" +
		fmt.Sprintf("Message-ID: <m%d@consultd.test>\r\n", n) +
		"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
		fmt.Sprintf("Hello %d.\r\n.a line that starts with a dot\r\n", n)
	return services.OutboxMessage{Kind: "invite", To: to, Subject: subject, Message: []byte(msg)}
}

func mustEnqueue(t *testing.T, db *sqlx.DB, msg services.OutboxMessage) int64 {
	t.Helper()
	tx := db.MustBeginTx(context.Background(), nil)
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	id, err := services.Enqueue(context.Background(), tx, msg)
	if err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatalf("commit: %v", err)
	}
	return id
}

func countOutbox(t *testing.T, db *sqlx.DB, where string) int {
	t.Helper()
	var n int
	if err := db.Get(&n, "SELECT count(*) FROM outbox WHERE "+where); err != nil {
		t.Fatalf("count outbox: %v", err)
	}
	return n
}

func TestOutboxEnqueueFollowsTransaction(t *testing.T) {
	db := pgtest.NewDB(t)
	ctx := context.Background()

	tx := db.MustBeginTx(ctx, nil)
	if _, err := services.Enqueue(ctx, tx, testMail(1)); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatalf("rollback: %v", err)
	}
	if got := countOutbox(t, db, "true"); got != 0 {
		t.Fatalf("rows after rollback = %d, want 0", got)
	}

	id := mustEnqueue(t, db, testMail(2))
	if got := countOutbox(t, db, "true"); got != 1 {
		t.Fatalf("rows after commit = %d, want 1", got)
	}
	if got := countOutbox(t, db, fmt.Sprintf("id = %d AND status = 'pending' AND attempts = 0 AND booking_id IS NULL", id)); got != 1 {
		t.Fatalf("committed row is not a fresh pending row without booking")
	}
}

func TestOutboxEnqueueRejectsUndeliverable(t *testing.T) {
	db := pgtest.NewDB(t)
	cases := map[string]func(*services.OutboxMessage){
		"display name":  func(m *services.OutboxMessage) { m.To = "Ana <ana@example.com>" },
		"header inject": func(m *services.OutboxMessage) { m.To = "ana@example.com\r\nBcc: x@example.com" },
		"no address":    func(m *services.OutboxMessage) { m.To = "" },
		"no kind":       func(m *services.OutboxMessage) { m.Kind = "" },
		"no message":    func(m *services.OutboxMessage) { m.Message = nil },
	}
	for name, spoil := range cases {
		t.Run(name, func(t *testing.T) {
			msg := testMail(1)
			spoil(&msg)
			tx := db.MustBeginTx(context.Background(), nil)
			defer tx.Rollback() //nolint:errcheck // test cleanup
			if _, err := services.Enqueue(context.Background(), tx, msg); err == nil {
				t.Fatal("Enqueue accepted an undeliverable message")
			}
		})
	}
}

func TestOutboxListFiltersAndPages(t *testing.T) {
	db := pgtest.NewDB(t)
	outbox := services.NewOutbox(db, time.Now, nil)
	ctx := staffCtx(services.RoleSales)
	var ids []int64
	for n := range 5 {
		msg := testMail(n)
		if n%2 == 1 {
			msg.Audience = services.AudienceConsultant
		}
		ids = append(ids, mustEnqueue(t, db, msg))
	}
	db.MustExec(`UPDATE outbox SET status = 'failed', last_error = 'refused' WHERE id = ANY($1)`, pq.Array(ids[:2]))

	page, err := outbox.List(ctx, services.OutboxFilter{Limit: 2})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if got := entryIDs(page.Entries); !slices.Equal(got, []int64{ids[4], ids[3]}) || page.Before != ids[3] {
		t.Fatalf("first page = %v, before %d; want %v, before %d", got, page.Before, []int64{ids[4], ids[3]}, ids[3])
	}
	newest, want := page.Entries[0], testMail(4)
	if newest.Kind != want.Kind || newest.To != want.To || newest.Subject != want.Subject || newest.Audience != services.AudienceProspect ||
		newest.Status != services.OutboxPending || newest.BookingID != "" || newest.SentAt != nil || newest.CreatedAt.IsZero() {
		t.Fatalf("entry = %+v, does not match the enqueued message", newest)
	}
	page, _ = outbox.List(ctx, services.OutboxFilter{Limit: 2, Before: page.Before})
	if got := entryIDs(page.Entries); !slices.Equal(got, []int64{ids[2], ids[1]}) || page.Before != ids[1] {
		t.Fatalf("second page = %v, before %d", got, page.Before)
	}
	page, _ = outbox.List(ctx, services.OutboxFilter{Limit: 2, Before: page.Before})
	if got := entryIDs(page.Entries); !slices.Equal(got, []int64{ids[0]}) || page.Before != 0 {
		t.Fatalf("last page = %v, before %d; want one entry and no next page", got, page.Before)
	}

	for name, tc := range map[string]struct {
		filter services.OutboxFilter
		want   []int64
	}{
		"failed":                 {services.OutboxFilter{Status: services.OutboxFailed}, []int64{ids[1], ids[0]}},
		"consultant":             {services.OutboxFilter{Audience: services.AudienceConsultant}, []int64{ids[3], ids[1]}},
		"failed to a prospect":   {services.OutboxFilter{Status: services.OutboxFailed, Audience: services.AudienceProspect}, []int64{ids[0]}},
		"sent":                   {services.OutboxFilter{Status: services.OutboxSent}, []int64{}},
		"pending before the 4th": {services.OutboxFilter{Status: services.OutboxPending, Before: ids[3]}, []int64{ids[2]}},
	} {
		t.Run(name, func(t *testing.T) {
			page, err := outbox.List(ctx, tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			if got := entryIDs(page.Entries); !slices.Equal(got, tc.want) {
				t.Fatalf("ids = %v, want %v", got, tc.want)
			}
		})
	}

	_, err = outbox.List(ctx, services.OutboxFilter{Status: "lost", Audience: "everyone"})
	var invalid *services.Error
	if !errors.As(err, &invalid) || invalid.Code != services.CodeInvalid || invalid.Fields["status"] == "" || invalid.Fields["audience"] == "" {
		t.Fatalf("unknown status and audience: %v, want both fields invalid", err)
	}
	for _, role := range []string{services.RoleConsultant, ""} {
		if _, err := outbox.List(staffCtx(role), services.OutboxFilter{}); !errors.Is(err, services.ErrForbidden) {
			t.Errorf("List as %q: %v, want ErrForbidden", role, err)
		}
	}
}

func entryIDs(entries []services.OutboxEntry) []int64 {
	ids := []int64{}
	for _, e := range entries {
		ids = append(ids, e.ID)
	}
	return ids
}

func TestOutboxReadAndRaw(t *testing.T) {
	db := pgtest.NewDB(t)
	outbox := services.NewOutbox(db, time.Now, nil)
	ctx := staffCtx(services.RoleAdmin)
	id := mustEnqueue(t, db, testMail(7))

	raw, err := outbox.Raw(ctx, id)
	if err != nil {
		t.Fatalf("Raw: %v", err)
	}
	if string(raw) != string(testMail(7).Message) {
		t.Fatalf("message bytes differ:\n%q\nwant\n%q", raw, testMail(7).Message)
	}
	view, err := outbox.Read(ctx, id)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if view.ID != id || view.Mail.Subject != "Your consultation 7" || !strings.Contains(view.Mail.Text, "Hello 7.\n.a line") {
		t.Fatalf("view = %+v", view)
	}
	for name, call := range map[string]func(context.Context, int64) error{
		"Raw":  func(ctx context.Context, id int64) error { _, err := outbox.Raw(ctx, id); return err },
		"Read": func(ctx context.Context, id int64) error { _, err := outbox.Read(ctx, id); return err },
	} {
		if err := call(ctx, id+100); !errors.Is(err, services.ErrNotFound) {
			t.Errorf("%s of a missing id: %v, want ErrNotFound", name, err)
		}
		if err := call(staffCtx(services.RoleConsultant), id); !errors.Is(err, services.ErrForbidden) {
			t.Errorf("%s as a consultant: %v, want ErrForbidden", name, err)
		}
	}
}

func TestOutboxRetry(t *testing.T) {
	db := pgtest.NewDB(t)
	now := time.Date(2026, 3, 2, 15, 4, 0, 0, time.UTC)
	woken := 0
	outbox := services.NewOutbox(db, func() time.Time { return now }, func() { woken++ })
	ctx := staffCtx(services.RoleSales)
	ids := map[string]int64{}
	for n, status := range services.OutboxStatuses {
		ids[status] = mustEnqueue(t, db, testMail(n))
		db.MustExec(`UPDATE outbox SET status = $2, attempts = 8, last_error = 'mailbox unavailable', next_attempt_at = now() + interval '1 hour' WHERE id = $1`, ids[status], status)
	}

	for _, status := range []string{services.OutboxFailed, services.OutboxKept, services.OutboxCapped} {
		t.Run(status, func(t *testing.T) {
			e, err := outbox.Retry(ctx, ids[status])
			if err != nil {
				t.Fatalf("Retry: %v", err)
			}
			if e.Status != services.OutboxPending || e.Attempts != 0 || !e.NextAttemptAt.Equal(now) {
				t.Fatalf("after retry: %s, %d attempts, next at %s; want pending, 0, %s", e.Status, e.Attempts, e.NextAttemptAt, now)
			}
			var entry struct {
				Actor  string `db:"actor"`
				Detail string `db:"detail"`
				IP     string `db:"ip"`
			}
			err = db.Get(&entry, `SELECT actor, detail::text AS detail, host(ip) AS ip FROM audit_log WHERE action = 'mail_retry' AND target_type = 'outbox' AND target_id = $1`, fmt.Sprint(ids[status]))
			if err != nil {
				t.Fatalf("audit record: %v", err)
			}
			if entry.Actor != "sales@consult.example" || entry.IP != "192.0.2.7" || !strings.Contains(entry.Detail, `"status": "`+status+`"`) {
				t.Fatalf("audit record = %+v", entry)
			}
		})
	}
	if woken != 3 {
		t.Fatalf("the mailer was woken %d times, want once per retry", woken)
	}
	for name, id := range map[string]int64{
		"sent":                    ids[services.OutboxSent],
		"superseded":              ids[services.OutboxSuperseded],
		"pending":                 ids[services.OutboxPending],
		"failed and retried once": ids[services.OutboxFailed],
	} {
		_, err := outbox.Retry(ctx, id)
		var conflict *services.Error
		if !errors.As(err, &conflict) || conflict.Code != services.CodeConflict || !strings.Contains(conflict.Message, "only failed, kept or capped") {
			t.Errorf("retry of a %s message: %v, want a conflict", name, err)
		}
	}
	if got := countOutbox(t, db, "status = 'sent' AND attempts = 8"); got != 1 {
		t.Fatalf("the sent message changed")
	}
	if got := countOutbox(t, db, "true"); got != len(services.OutboxStatuses) {
		t.Fatalf("rows = %d", got)
	}
	var audited int
	db.Get(&audited, `SELECT count(*) FROM audit_log`)
	if audited != 3 {
		t.Fatalf("audit records = %d, want one per accepted retry", audited)
	}
	if _, err := outbox.Retry(ctx, 999999); !errors.Is(err, services.ErrNotFound) {
		t.Fatalf("retry of a missing id: %v", err)
	}
	if _, err := outbox.Retry(staffCtx(services.RoleConsultant), ids[services.OutboxCapped]); !errors.Is(err, services.ErrForbidden) {
		t.Fatalf("retry as a consultant: %v", err)
	}
}
