package services_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"consultd/internal/pgtest"
	"consultd/services"
)

const testFrom = "consult@example.com"

// testClock is a clock the test moves; it starts ahead of the database's
// now(), which stamps next_attempt_at of new rows.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock {
	return &testClock{now: time.Now().Add(time.Minute).Truncate(time.Microsecond)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newMailer(db *sqlx.DB, tr services.MailTransport, clock *testClock, cfg services.MailerConfig) *services.Mailer {
	cfg.Transport, cfg.From, cfg.Now = tr, "Consultations <"+testFrom+">", clock.Now
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return services.NewMailer(db, cfg)
}

type outboxState struct {
	Status        string       `db:"status"`
	Attempts      int          `db:"attempts"`
	LastError     string       `db:"last_error"`
	NextAttemptAt time.Time    `db:"next_attempt_at"`
	SentAt        sql.NullTime `db:"sent_at"`
}

func stateOf(t *testing.T, db *sqlx.DB, id int64) outboxState {
	t.Helper()
	var s outboxState
	err := db.Get(&s, `SELECT status, attempts, last_error, next_attempt_at, sent_at FROM outbox WHERE id = $1`, id)
	if err != nil {
		t.Fatalf("outbox row %d: %v", id, err)
	}
	return s
}

func deliver(t *testing.T, m *services.Mailer, want int) {
	t.Helper()
	n, err := m.DeliverDue(context.Background())
	if err != nil {
		t.Fatalf("DeliverDue: %v", err)
	}
	if n != want {
		t.Fatalf("DeliverDue delivered %d, want %d", n, want)
	}
}

func TestMailerDeliversThroughSMTP(t *testing.T) {
	db := pgtest.NewDB(t)
	sink := &smtpSink{}
	port := serveSMTP(t, listen(t, "127.0.0.1:0"), sink, nil)
	clock := newTestClock()
	var logs bytes.Buffer
	m := newMailer(db, mustTransport(t, fmt.Sprintf("smtp://127.0.0.1:%d", port)), clock,
		services.MailerConfig{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	msg := testMail(1)
	id := mustEnqueue(t, db, msg)

	deliver(t, m, 1)
	got := sink.deliveries()
	if len(got) != 1 {
		t.Fatalf("server received %d messages, want 1", len(got))
	}
	// DATA ends with CRLF "." CRLF; the stored message already ends with CRLF.
	if got[0].from != testFrom || !slices.Equal(got[0].to, []string{msg.To}) || !bytes.Equal(got[0].data, msg.Message) {
		t.Fatalf("server got from %q to %q data\n%q\nwant from %q to %q data\n%q", got[0].from, got[0].to, got[0].data, testFrom, msg.To, msg.Message)
	}
	s := stateOf(t, db, id)
	if s.Status != services.OutboxSent || s.Attempts != 1 || !s.SentAt.Valid || !s.SentAt.Time.Equal(clock.Now()) {
		t.Fatalf("row = %+v, want sent once at %v", s, clock.Now())
	}
	if out := logs.String(); !strings.Contains(out, `"outcome":"sent"`) || strings.Contains(out, msg.To) || strings.Contains(out, msg.Subject) {
		t.Fatalf("log must report the outcome without address or subject:\n%s", out)
	}

	deliver(t, m, 0)
	if n := len(sink.deliveries()); n != 1 {
		t.Fatalf("server received %d messages after a second run, want 1", n)
	}
}

func TestMailerSMTPAuth(t *testing.T) {
	db := pgtest.NewDB(t)
	sink := &smtpSink{user: "mailer", pass: "p@ss:w/rd"}
	port := serveSMTP(t, listen(t, "127.0.0.1:0"), sink, nil)
	cases := []struct {
		name, userinfo, status, lastError string
		delivered                         int
	}{
		{"right password", "mailer:" + url.QueryEscape(sink.pass) + "@", services.OutboxSent, "", 1},
		{"wrong password", "mailer:wrong@", services.OutboxPending, "smtp connect: 535 5.7.8", 0},
		{"no credentials", "", services.OutboxPending, "smtp mail from: 502 5.7.0", 0},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := len(sink.deliveries())
			tr := mustTransport(t, fmt.Sprintf("smtp://%s127.0.0.1:%d", tc.userinfo, port))
			id := mustEnqueue(t, db, testMail(i))
			deliver(t, newMailer(db, tr, newTestClock(), services.MailerConfig{}), tc.delivered)
			s := stateOf(t, db, id)
			if s.Status != tc.status || s.Attempts != 1 || s.LastError != tc.lastError {
				t.Fatalf("row = %+v, want status %q, 1 attempt, last_error %q", s, tc.status, tc.lastError)
			}
			if got := len(sink.deliveries()) - before; got != tc.delivered {
				t.Fatalf("server received %d, want %d", got, tc.delivered)
			}
		})
	}
}

func TestMailerFailureTextOmitsAddress(t *testing.T) {
	db := pgtest.NewDB(t)
	msg := testMail(1)
	sink := &smtpSink{rejectRcpt: msg.To}
	port := serveSMTP(t, listen(t, "127.0.0.1:0"), sink, nil)
	var logs bytes.Buffer
	m := newMailer(db, mustTransport(t, fmt.Sprintf("smtp://127.0.0.1:%d", port)), newTestClock(),
		services.MailerConfig{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	id := mustEnqueue(t, db, msg)

	deliver(t, m, 0)
	if got, want := stateOf(t, db, id).LastError, "smtp rcpt to: 550 5.1.1"; got != want {
		t.Fatalf("last_error = %q, want %q", got, want)
	}
	if strings.Contains(logs.String(), msg.To) || !strings.Contains(logs.String(), "550 5.1.1") {
		t.Fatalf("log must give the reply code without the address:\n%s", logs.String())
	}
}

func TestMailerRetriesAfterServerWasDown(t *testing.T) {
	db := pgtest.NewDB(t)
	port := freePort(t)
	clock := newTestClock()
	backoff := 10 * time.Second
	m := newMailer(db, mustTransport(t, fmt.Sprintf("smtp://127.0.0.1:%d", port)), clock, services.MailerConfig{Backoff: backoff})
	id := mustEnqueue(t, db, testMail(1))

	deliver(t, m, 0)
	s := stateOf(t, db, id)
	earliest, latest := clock.Now().Add(backoff*9/10), clock.Now().Add(backoff)
	if s.Status != services.OutboxPending || s.Attempts != 1 || s.LastError != "smtp connect: connection refused" ||
		s.NextAttemptAt.Before(earliest) || s.NextAttemptAt.After(latest) {
		t.Fatalf("row = %+v, want pending after 1 refused attempt, next attempt in [%v, %v]", s, earliest, latest)
	}
	deliver(t, m, 0)
	if got := stateOf(t, db, id).Attempts; got != 1 {
		t.Fatalf("attempts before next_attempt_at = %d, want 1", got)
	}

	clock.Add(backoff)
	sink := &smtpSink{}
	serveSMTP(t, listen(t, fmt.Sprintf("127.0.0.1:%d", port)), sink, nil)
	deliver(t, m, 1)
	deliver(t, m, 0)
	if got := len(sink.deliveries()); got != 1 {
		t.Fatalf("server received %d, want 1", got)
	}
	if s := stateOf(t, db, id); s.Status != services.OutboxSent || s.Attempts != 2 || s.LastError != "" {
		t.Fatalf("row = %+v, want sent on attempt 2", s)
	}
}

func TestMailerInstancesDeliverEachMessageOnce(t *testing.T) {
	db, dbURL := pgtest.NewDBWithURL(t)
	other, err := sqlx.Open("postgres", dbURL)
	if err != nil {
		t.Fatalf("open second pool: %v", err)
	}
	t.Cleanup(func() { other.Close() })
	const total = 50
	for n := range total {
		mustEnqueue(t, db, testMail(n))
	}
	sink := &smtpSink{}
	smtpURL := fmt.Sprintf("smtp://127.0.0.1:%d", serveSMTP(t, listen(t, "127.0.0.1:0"), sink, nil))
	clock := newTestClock()
	cfg := services.MailerConfig{BatchSize: 5}
	mailers := []*services.Mailer{newMailer(db, mustTransport(t, smtpURL), clock, cfg), newMailer(other, mustTransport(t, smtpURL), clock, cfg)}

	var wg sync.WaitGroup
	errs := make(chan error, len(mailers))
	for _, m := range mailers {
		wg.Go(func() {
			for {
				n, err := m.DeliverDue(context.Background())
				if err != nil || n == 0 {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("DeliverDue: %v", err)
		}
	}

	perID := map[string]int{}
	for _, d := range sink.deliveries() {
		parsed, err := mail.ReadMessage(bytes.NewReader(d.data))
		if err != nil {
			t.Fatalf("parse delivered message: %v", err)
		}
		perID[parsed.Header.Get("Message-Id")]++
	}
	for n := range total {
		if id := fmt.Sprintf("<m%d@consultd.test>", n); perID[id] != 1 {
			t.Errorf("message %s delivered %d times, want 1", id, perID[id])
		}
	}
	if got := countOutbox(t, db, "status = 'sent' AND attempts = 1"); got != total {
		t.Fatalf("rows sent on the first attempt = %d, want %d", got, total)
	}
}

func TestMailerGivesUpAfterMaxAttempts(t *testing.T) {
	db := pgtest.NewDB(t)
	clock := newTestClock()
	m := newMailer(db, mustTransport(t, fmt.Sprintf("smtp://127.0.0.1:%d", freePort(t))), clock,
		services.MailerConfig{MaxAttempts: 3, Backoff: 40 * time.Minute})
	id := mustEnqueue(t, db, testMail(1))

	// Doubling 40m gives 80m, capped at an hour; jitter takes up to a tenth off.
	for attempt, delay := range []time.Duration{40 * time.Minute, time.Hour} {
		deliver(t, m, 0)
		s := stateOf(t, db, id)
		earliest, latest := clock.Now().Add(delay*9/10), clock.Now().Add(delay)
		if s.Status != services.OutboxPending || s.Attempts != attempt+1 || s.NextAttemptAt.Before(earliest) || s.NextAttemptAt.After(latest) {
			t.Fatalf("after attempt %d: row = %+v, want pending, next attempt in [%v, %v]", attempt+1, s, earliest, latest)
		}
		clock.Add(2 * time.Hour)
	}
	deliver(t, m, 0)
	if s := stateOf(t, db, id); s.Status != services.OutboxFailed || s.Attempts != 3 {
		t.Fatalf("row = %+v, want failed after 3 attempts", s)
	}
	clock.Add(2 * time.Hour)
	deliver(t, m, 0)
	if got := stateOf(t, db, id).Attempts; got != 3 {
		t.Fatalf("a failed row was tried again: attempts = %d", got)
	}
}

func TestMailerKeepsMailWithoutTransport(t *testing.T) {
	db := pgtest.NewDB(t)
	dir := filepath.Join(t.TempDir(), "mail")
	m := newMailer(db, nil, newTestClock(), services.MailerConfig{Dir: dir})
	msgs := []services.OutboxMessage{testMail(1), testMail(2)}
	msgs[1].Kind = "reminder_24h"
	var files []string
	for _, msg := range msgs {
		id := mustEnqueue(t, db, msg)
		files = append(files, filepath.Join(dir, fmt.Sprintf("%d-%s.eml", id, msg.Kind)))
	}

	deliver(t, m, 2)
	for i, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatalf("read kept mail: %v", err)
		}
		if !bytes.Equal(data, msgs[i].Message) {
			t.Fatalf("%s differs from the stored message", name)
		}
		if info, err := os.Stat(name); err != nil || info.Mode().Perm()&0o007 != 0 {
			t.Fatalf("%s: mode %v, err %v; want no access for others", name, info.Mode(), err)
		}
		if err := os.Remove(name); err != nil {
			t.Fatal(err)
		}
	}
	if got := countOutbox(t, db, "status = 'kept' AND sent_at IS NULL AND attempts = 1"); got != 2 {
		t.Fatalf("kept rows = %d, want 2", got)
	}

	deliver(t, m, 0)
	for _, name := range files {
		if _, err := os.Stat(name); !os.IsNotExist(err) {
			t.Fatalf("%s was written again (stat err %v)", name, err)
		}
	}
}

// signalTransport reports each message on sent.
type signalTransport struct{ sent chan []byte }

func (s signalTransport) Send(_ context.Context, _ string, _ []string, message []byte) error {
	s.sent <- message
	return nil
}

func TestMailerRunDrainsFullBatchesAtOnce(t *testing.T) {
	db := pgtest.NewDB(t)
	tr := signalTransport{sent: make(chan []byte, 3)}
	m := newMailer(db, tr, newTestClock(), services.MailerConfig{BatchSize: 1})
	for n := range 3 {
		mustEnqueue(t, db, testMail(n))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		m.Run(ctx, time.Hour) // an interval the test never waits for
		close(done)
	}()
	for range 3 {
		select {
		case <-tr.sent:
		case <-time.After(30 * time.Second):
			t.Fatal("Run waited for the interval after a full batch")
		}
	}
	cancel()
	<-done
	if got := countOutbox(t, db, "status = 'sent'"); got != 3 {
		t.Fatalf("sent rows = %d, want 3", got)
	}
}

// runMailer runs m until the test ends, and returns once a first mail,
// enqueued before it started, is sent: Run is then past its first round.
func runMailer(t *testing.T, db *sqlx.DB, m *services.Mailer, tr signalTransport) {
	t.Helper()
	mustEnqueue(t, db, testMail(0))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		m.Run(ctx, time.Hour) // an interval the test never waits for
		close(done)
	}()
	t.Cleanup(func() { cancel(); <-done })
	mustBeSent(t, tr, "Run did not deliver what was due when it started")
}

// mustBeSent waits for tr to send a message, and fails with failure if
// none comes within 30 s.
func mustBeSent(t *testing.T, tr signalTransport, failure string) {
	t.Helper()
	select {
	case <-tr.sent:
	case <-time.After(30 * time.Second):
		t.Fatal(failure)
	}
}

func TestMailerRunDeliversWhenABurstOfWakesSettles(t *testing.T) {
	db := pgtest.NewDB(t)
	tr := signalTransport{sent: make(chan []byte, 2)}
	m := newMailer(db, tr, newTestClock(), services.MailerConfig{Settle: time.Second, MaxDelay: time.Hour})
	runMailer(t, db, m, tr)

	mustEnqueue(t, db, testMail(1))
	burst := time.NewTicker(20 * time.Millisecond)
	defer burst.Stop()
	for end := time.Now().Add(1500 * time.Millisecond); time.Now().Before(end); {
		m.Wake()
		select {
		case <-tr.sent:
			t.Fatal("the mailer delivered while wakes were still coming")
		case <-burst.C:
		}
	}
	mustBeSent(t, tr, "the mailer did not deliver once the wakes stopped")
}

func TestMailerRunDeliversWithinMaxDelayOfEndlessWakes(t *testing.T) {
	db := pgtest.NewDB(t)
	tr := signalTransport{sent: make(chan []byte, 2)}
	m := newMailer(db, tr, newTestClock(), services.MailerConfig{Settle: time.Second, MaxDelay: 300 * time.Millisecond})
	runMailer(t, db, m, tr)

	mustEnqueue(t, db, testMail(1))
	burst := time.NewTicker(20 * time.Millisecond)
	defer burst.Stop()
	// Loose, for a loaded machine: without MaxDelay the wakes would hold
	// the mail back for as long as they come.
	giveUp := time.After(10 * time.Second)
	for {
		m.Wake()
		select {
		case <-tr.sent:
			return
		case <-giveUp:
			t.Fatal("after 10 s of wakes 20 ms apart the mail had not left (MaxDelay 300 ms)")
		case <-burst.C:
		}
	}
}
