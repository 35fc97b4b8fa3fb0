package services_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"consultd/services"
)

func TestExternalBusyBlocksHideSlots(t *testing.T) {
	f := newBookingFixture(t, 10*time.Minute)
	c := f.mustConsultant(t, "ana@consult.example.com", "django", "America/Toronto", "tue 09:00-12:00")
	if _, err := f.db.Exec(`INSERT INTO consultant_busy (consultant_id, period) VALUES ($1, tstzrange($2, $3))`, c.ID, f.at(8, 10, 0), f.at(8, 10, 30)); err != nil {
		t.Fatal(err)
	}
	slots, _, err := f.bookings.OpenSlots(context.Background(), services.SlotRequest{Team: "django", Region: "canada", Timezone: "America/Toronto", From: "2026-12-08", Days: "1"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range slots {
		got = append(got, s.Start.Format("15:04"))
	}
	// The 10-minute buffer keeps 09:30 (it would end right at the block)
	// and 10:30 (inside the buffer after the block) free.
	if want := "[09:00 11:00 11:30]"; fmt.Sprint(got) != want {
		t.Fatalf("slots around a busy block = %v, want %s", got, want)
	}
}

// BenchmarkSlots measures a week of slots for one team with and without a
// long booking history: the work should follow consultants × days only.
func BenchmarkSlots(b *testing.B) {
	for _, history := range []int{0, 20000} {
		b.Run(fmt.Sprintf("history=%d", history), func(b *testing.B) {
			f := newBookingFixture(b, 0)
			for i := 0; i < 6; i++ {
				f.mustConsultant(b, fmt.Sprintf("c%d@consult.example.com", i), "django", "America/Toronto", "mon-fri 09:00-17:00")
			}
			lead := f.mustLead(b, "pat@acme.example.com", "django")
			// Old bookings, one per half hour going back in time, spread over the consultants.
			_, err := f.db.Exec(`
				INSERT INTO bookings (lead_id, inquiry_id, team, region, consultant_id, status, starts_at, ends_at, blocked, timezone, uid, manage_token_hash, manage_token_sealed)
				SELECT $4::uuid, $1, 'django', 'canada', c.id, 'confirmed', s, s + interval '30 minutes', tstzrange(s, s + interval '30 minutes'), 'America/Toronto',
				       gen_random_uuid()::text, sha256(gen_random_uuid()::text::bytea), '\x00'
				FROM generate_series(1, $2) AS g(n)
				CROSS JOIN LATERAL (SELECT $3::timestamptz - g.n * interval '30 minutes' AS s) t
				JOIN LATERAL (SELECT id FROM consultants ORDER BY email OFFSET (g.n % 6) LIMIT 1) c ON true`,
				lead.ID, history, fixtureNow.Add(-24*time.Hour), lead.LeadID)
			if err != nil {
				b.Fatal(err)
			}
			f.db.Exec(`ANALYZE bookings`)
			req := services.SlotRequest{InquiryID: lead.ID, From: "2026-12-08", Days: "7"}
			b.ResetTimer()
			for b.Loop() {
				slots, _, err := f.bookings.OpenSlots(context.Background(), req)
				if err != nil || len(slots) == 0 {
					b.Fatalf("slots: %d, %v", len(slots), err)
				}
			}
		})
	}
}

// Cached slots follow every committed change, by any writer, and only
// committed ones; pruning the change log keeps the version.
func TestSlotCacheFollowsEveryCommittedChange(t *testing.T) {
	f := newBookingFixture(t, 0)
	avail := services.NewAvailability(f.db, services.BookingRules{MinNotice: 4 * time.Hour, HorizonDays: 30}, f.clock.Now)
	avail.EnableCache()
	ana := f.mustConsultant(t, "ana@consult.example.com", "django", "America/Toronto", "mon-fri 09:00-12:00")
	ctx := context.Background()
	q := services.SlotQuery{Team: "django", Region: "canada", From: f.at(8, 0, 0), Days: 1, Loc: f.toronto}
	starts := func() string {
		t.Helper()
		slots, err := avail.Slots(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, s := range slots {
			out = append(out, s.Start.Format("15:04"))
		}
		return strings.Join(out, " ")
	}
	if got := starts(); got != "09:00 09:30 10:00 10:30 11:00 11:30" {
		t.Fatalf("slots = %s", got)
	}
	// Another instance books 10:00 straight in the database.
	lead := f.mustLead(t, "pat@acme.example.com", "django")
	f.db.MustExec(`
		INSERT INTO bookings (lead_id, inquiry_id, team, region, consultant_id, status, starts_at, ends_at, blocked, timezone, uid, manage_token_hash, manage_token_sealed)
		VALUES ($1, $2, 'django', 'canada', $3, 'confirmed', $4, $5, tstzrange($4, $5), 'America/Toronto', 'x@y', '\x01', '\x00')`,
		lead.LeadID, lead.ID, ana.ID, f.at(8, 10, 0), f.at(8, 10, 30))
	if got := starts(); got != "09:00 09:30 10:30 11:00 11:30" {
		t.Fatalf("after another writer's booking: %s", got)
	}
	// An uncommitted change shows nowhere; its commit shows at once.
	tx := f.db.MustBegin()
	tx.MustExec(`INSERT INTO consultant_time_off (consultant_id, period) VALUES ($1, tstzrange($2, $3))`, ana.ID, f.at(8, 11, 0), f.at(8, 12, 0))
	if got := starts(); got != "09:00 09:30 10:30 11:00 11:30" {
		t.Fatalf("during an uncommitted change: %s", got)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := starts(); got != "09:00 09:30 10:30" {
		t.Fatalf("after the commit: %s", got)
	}
	f.db.MustExec(`UPDATE consultant_hours SET end_minute = 600 WHERE consultant_id = $1`, ana.ID)
	if got := starts(); got != "09:00 09:30" {
		t.Fatalf("after hours changed: %s", got)
	}
	var before, after int64
	version := `SELECT (SELECT pruned FROM schedule_versions) + (SELECT count(*) FROM schedule_changes)`
	f.db.Get(&before, version)
	f.db.MustExec(`UPDATE schedule_changes SET at = now() - interval '1 hour'`)
	if err := avail.PruneScheduleChanges(ctx); err != nil {
		t.Fatal(err)
	}
	f.db.Get(&after, version)
	var left int
	f.db.Get(&left, `SELECT count(*) FROM schedule_changes`)
	if before != after || left != 0 || before == 0 {
		t.Fatalf("version %d before pruning, %d after, %d rows left", before, after, left)
	}
	// Pruning with nothing to fold writes nothing (it runs every second).
	var rowVersion, rowVersionAfter string
	f.db.Get(&rowVersion, `SELECT xmin::text FROM schedule_versions`)
	if err := avail.PruneScheduleChanges(ctx); err != nil {
		t.Fatal(err)
	}
	f.db.Get(&rowVersionAfter, `SELECT xmin::text FROM schedule_versions`)
	if rowVersion != rowVersionAfter {
		t.Fatalf("an empty prune rewrote the version row (xmin %s, then %s)", rowVersion, rowVersionAfter)
	}
	// Rows of any age are folded: the table stays near empty.
	f.db.MustExec(`UPDATE consultant_hours SET end_minute = 660 WHERE consultant_id = $1`, ana.ID)
	if err := avail.PruneScheduleChanges(ctx); err != nil {
		t.Fatal(err)
	}
	f.db.Get(&left, `SELECT count(*) FROM schedule_changes`)
	f.db.Get(&after, version)
	if left != 0 || after != before+1 {
		t.Fatalf("after a fresh change and a prune: %d rows left, version %d (was %d)", left, after, before)
	}
	if got := starts(); got != "09:00 09:30 10:30" {
		t.Fatalf("after hours changed and the change was pruned: %s", got)
	}
}
