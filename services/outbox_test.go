package services_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jmoiron/sqlx"

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

func TestOutboxListAndMessageBytes(t *testing.T) {
	db := pgtest.NewDB(t)
	ctx := context.Background()
	var ids []int64
	for n := range 3 {
		ids = append(ids, mustEnqueue(t, db, testMail(n)))
	}

	entries, err := services.ListOutbox(ctx, db, 2)
	if err != nil {
		t.Fatalf("ListOutbox: %v", err)
	}
	if got, want := len(entries), 2; got != want {
		t.Fatalf("entries = %d, want %d", got, want)
	}
	newest, want := entries[0], testMail(2)
	if newest.ID != ids[2] || entries[1].ID != ids[1] {
		t.Fatalf("order = %d, %d; want newest first %d, %d", newest.ID, entries[1].ID, ids[2], ids[1])
	}
	if newest.Kind != want.Kind || newest.To != want.To || newest.Subject != want.Subject ||
		newest.Status != services.OutboxPending || newest.BookingID != "" || newest.SentAt != nil || newest.CreatedAt.IsZero() {
		t.Fatalf("entry = %+v, does not match the enqueued message", newest)
	}

	got, err := services.OutboxMessageBytes(ctx, db, ids[0])
	if err != nil {
		t.Fatalf("OutboxMessageBytes: %v", err)
	}
	if string(got) != string(testMail(0).Message) {
		t.Fatalf("message bytes differ:\n%q\nwant\n%q", got, testMail(0).Message)
	}
	if _, err := services.OutboxMessageBytes(ctx, db, ids[2]+100); !errors.Is(err, services.ErrNotFound) {
		t.Fatalf("missing id: err = %v, want ErrNotFound", err)
	}
}
