package services_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"consultd/services"
)

func TestRemindersGoOutExactlyOnce(t *testing.T) {
	f := newBookingFixture(t, 0)
	f.mustConsultant(t, "ana@consult.example.com", "django", "America/Toronto", "mon-fri 09:00-17:00")
	f.mustConsultant(t, "ben@consult.example.com", "django", "America/Toronto", "mon-fri 09:00-17:00")
	ctx := context.Background()
	kept, _, err := f.bookings.Book(ctx, services.NewBooking{InquiryID: f.mustLead(t, "a@acme.example.com", "django").ID, Start: f.at(10, 10, 0)})
	if err != nil {
		t.Fatal(err)
	}
	_, cancelToken, _ := f.bookings.Book(ctx, services.NewBooking{InquiryID: f.mustLead(t, "b@acme.example.com", "django").ID, Start: f.at(10, 10, 0)})
	moved, moveToken, _ := f.bookings.Book(ctx, services.NewBooking{InquiryID: f.mustLead(t, "c@acme.example.com", "django").ID, Start: f.at(10, 11, 0)})
	if _, err := f.bookings.Cancel(ctx, cancelToken, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := f.bookings.Reschedule(ctx, moveToken, f.at(11, 11, 0)); err != nil {
		t.Fatal(err)
	}
	reminders := func(id string) []string {
		var kinds []string
		f.db.Select(&kinds, `SELECT kind FROM outbox WHERE booking_id = $1 AND kind LIKE 'reminder%' ORDER BY id`, id)
		return kinds
	}
	run := func(at time.Time) {
		t.Helper()
		f.clock.Set(at)
		var wg sync.WaitGroup
		for i := 0; i < 3; i++ { // three instances at once
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := f.bookings.QueueReminders(ctx); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
	}
	run(f.at(9, 9, 0)) // 25h before: nothing due
	if got := reminders(kept.ID); len(got) != 0 {
		t.Fatalf("reminders 25h before: %v", got)
	}
	run(f.at(9, 10, 30)) // 23.5h before
	run(f.at(9, 11, 0))
	run(f.at(10, 9, 15)) // 45 min before
	run(f.at(10, 9, 45))
	if got := strings.Join(reminders(kept.ID), ","); got != "reminder_24h,reminder_1h" {
		t.Fatalf("kept booking reminders = %s, want one of each", got)
	}
	if got := reminders(moved.ID); len(got) != 0 {
		t.Fatalf("moved booking got reminders for its old time: %v", got)
	}
	var cancelledReminders int
	f.db.Get(&cancelledReminders, `SELECT count(*) FROM outbox o JOIN bookings b ON b.id = o.booking_id WHERE b.status = 'cancelled' AND o.kind LIKE 'reminder%'`)
	if cancelledReminders != 0 {
		t.Fatalf("%d reminders for a cancelled booking", cancelledReminders)
	}
	run(f.at(11, 10, 30))
	if got := strings.Join(reminders(moved.ID), ","); got != "reminder_1h" {
		t.Fatalf("moved booking reminders at its new time = %s", got)
	}
}

func TestOneBrokenBookingDoesNotStopReminders(t *testing.T) {
	f := newBookingFixture(t, 0)
	f.mustConsultant(t, "ana@consult.example.com", "django", "America/Toronto", "mon-fri 09:00-17:00")
	f.mustConsultant(t, "ben@consult.example.com", "django", "America/Toronto", "mon-fri 09:00-17:00")
	ctx := context.Background()
	broken, _, err := f.bookings.Book(ctx, services.NewBooking{InquiryID: f.mustLead(t, "a@acme.example.com", "django").ID, Start: f.at(10, 10, 0)})
	if err != nil {
		t.Fatal(err)
	}
	healthy, _, err := f.bookings.Book(ctx, services.NewBooking{InquiryID: f.mustLead(t, "b@acme.example.com", "django").ID, Start: f.at(10, 11, 0)})
	if err != nil {
		t.Fatal(err)
	}
	// As after a SECRET_KEY change: this booking's link can no longer be opened.
	if _, err := f.db.Exec(`UPDATE bookings SET manage_token_sealed = '\x00010203' WHERE id = $1`, broken.ID); err != nil {
		t.Fatal(err)
	}
	f.clock.Set(f.at(9, 12, 0))
	n, err := f.bookings.QueueReminders(ctx)
	if err == nil || !strings.Contains(err.Error(), broken.ID) {
		t.Fatalf("error = %v, want one naming the broken booking", err)
	}
	var got int
	f.db.Get(&got, `SELECT count(*) FROM outbox WHERE booking_id = $1 AND kind = 'reminder_24h'`, healthy.ID)
	if n != 1 || got != 1 {
		t.Fatalf("queued %d, healthy booking has %d reminders; want 1 and 1", n, got)
	}
}
