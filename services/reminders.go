package services

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// reminderKinds are due from "before" until "until" ahead of a meeting; a
// 24-hour reminder that would arrive inside the last hour is dropped in
// favour of the 1-hour one.
var reminderKinds = []struct {
	kind          string
	before, until time.Duration
}{{"24h", 24 * time.Hour, time.Hour}, {"1h", time.Hour, 0}}

// QueueReminders puts due reminders in the outbox. Each (booking, kind,
// start) is recorded in booking_reminders in the same transaction, so a
// reminder goes out exactly once even with several instances; cancelled
// bookings are skipped, and a moved booking is reminded of its new time only.
// A booking made after a reminder's moment does not get that reminder. One
// booking that fails does not hold back the others.
func (b *Bookings) QueueReminders(ctx context.Context) (int, error) {
	now := b.now()
	queued := 0
	var errs []error
	for _, r := range reminderKinds {
		var ids []string
		err := b.db.SelectContext(ctx, &ids, `
			SELECT id FROM bookings
			WHERE `+reminderDue+`
			  AND NOT EXISTS (SELECT 1 FROM booking_reminders r WHERE r.booking_id = bookings.id AND r.kind = $4 AND r.starts_at = bookings.starts_at)
			ORDER BY starts_at`, now, r.before.Seconds(), r.until.Seconds(), r.kind)
		if err != nil {
			errs = append(errs, fmt.Errorf("due %s reminders: %w", r.kind, err))
			continue
		}
		for _, id := range ids {
			sent, err := b.queueReminder(ctx, id, r.kind, r.before, r.until, now)
			if err != nil {
				errs = append(errs, fmt.Errorf("reminder %s for booking %s: %w", r.kind, id, err))
				continue
			}
			if sent {
				queued++
			}
		}
	}
	if queued > 0 {
		b.mailQueued()
	}
	return queued, errors.Join(errs...)
}

// reminderDue selects confirmed bookings whose reminder of a kind is due at
// $1: the start lies between $3 and $2 seconds ahead, and the booking was
// made or last moved before the reminder's moment.
const reminderDue = `status = 'confirmed'
			  AND starts_at > $1::timestamptz + make_interval(secs => $3)
			  AND starts_at <= $1::timestamptz + make_interval(secs => $2)
			  AND updated_at < starts_at - make_interval(secs => $2)`

// queueReminder locks the booking, so a concurrent cancel or move either
// happens before (and the booking no longer qualifies) or waits until the
// reminder is recorded (and then supersedes it).
func (b *Bookings) queueReminder(ctx context.Context, bookingID, kind string, before, until time.Duration, now time.Time) (bool, error) {
	sent := false
	err := inTx(ctx, b.db, func(tx *sqlx.Tx) error {
		var due bool
		err := tx.GetContext(ctx, &due, `
			SELECT `+reminderDue+` FROM bookings WHERE id = $4 FOR UPDATE`,
			now, before.Seconds(), until.Seconds(), bookingID)
		if err != nil {
			return fmt.Errorf("lock booking: %w", err)
		}
		if !due {
			return nil
		}
		res, err := tx.ExecContext(ctx, `
			INSERT INTO booking_reminders (booking_id, kind, starts_at)
			SELECT id, $2, starts_at FROM bookings WHERE id = $1
			ON CONFLICT DO NOTHING`, bookingID, kind)
		if err != nil {
			return fmt.Errorf("record reminder: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // another instance sent it
		}
		bk, err := getBooking(ctx, tx, "b.id = $1", bookingID)
		if err != nil {
			return err
		}
		token, err := b.sealer.open(bk.tokenSealed)
		if err != nil {
			return err
		}
		d, err := b.inviteDetails(bk, token, "REQUEST")
		if err != nil {
			return err
		}
		sent = true
		_, err = b.enqueueProspect(ctx, tx, bk.ID, "reminder_"+kind, d, ReminderEmail)
		return err
	})
	return sent, err
}

// RunReminders queues reminders every interval until ctx ends.
func (b *Bookings) RunReminders(ctx context.Context, every time.Duration, onError func(error)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := b.QueueReminders(ctx); err != nil && ctx.Err() == nil {
			onError(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
