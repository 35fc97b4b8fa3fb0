package services

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// ByToken returns the booking a manage link points to.
func (b *Bookings) ByToken(ctx context.Context, token string) (Booking, error) {
	if !validToken(token) {
		return Booking{}, ErrNotFound
	}
	return getBooking(ctx, b.db, "b.manage_token_hash = $1", hashToken(token))
}

// Get returns a booking by id.
func (b *Bookings) Get(ctx context.Context, id string) (Booking, error) {
	if !ValidUUID(id) {
		return Booking{}, ErrNotFound
	}
	return getBooking(ctx, b.db, "b.id = $1", id)
}

// changeable refuses changes to a cancelled booking or a meeting under way.
func (b *Bookings) changeable(bk Booking) error {
	switch {
	case bk.Status == StatusCancelled || bk.Status == StatusExpired:
		return Conflict("This booking was cancelled. You can book a new time from the assessment page.")
	case !b.now().Before(bk.Start):
		return Conflict("This meeting has already started, so it can no longer be moved or cancelled.")
	case bk.Status != StatusConfirmed:
		return Conflict("This booking is not confirmed yet.")
	}
	return nil
}

// Unchangeable says why a booking can no longer be moved or cancelled, or
// "" when it can.
func (b *Bookings) Unchangeable(bk Booking) string {
	var e *Error
	if err := b.changeable(bk); errors.As(err, &e) {
		return e.Message
	}
	return ""
}

// Reschedule moves the booking to start: to the same consultant when they
// are free then, otherwise to the fairest free consultant of the team. The
// event keeps its UID and its SEQUENCE goes up by one.
func (b *Bookings) Reschedule(ctx context.Context, token string, start time.Time) (Booking, error) {
	current, err := b.ByToken(ctx, token)
	if err != nil {
		return Booking{}, err
	}
	if err := b.changeable(current); err != nil {
		return Booking{}, err
	}
	if err := b.underRescheduleCap(current); err != nil {
		return Booking{}, err
	}
	if start.Equal(current.Start) {
		return Booking{}, Invalid(map[string]string{"start": "Your consultation is already at that time."})
	}
	free, err := b.freeConsultants(ctx, current.Team, current.Region, start, current.ID)
	if err != nil {
		return Booking{}, err
	}
	free = preferFirst(free, current.ConsultantID)
	if len(free) == 0 {
		return Booking{}, b.slotTaken(ctx, current.Team, current.Region, start, current.Timezone)
	}
	var moved Booking
	capped := false
	err = inTx(ctx, b.db, func(tx *sqlx.Tx) error {
		locked, err := b.lockChangeable(ctx, tx, current.ID)
		if err != nil {
			return err
		}
		if err := b.underRescheduleCap(locked); err != nil {
			return err
		}
		if err := moveToFirstFree(ctx, tx, locked.ID, free, start, b.avail.rules.Buffer, b.now()); err != nil {
			return err
		}
		if moved, err = getBooking(ctx, tx, "b.id = $1", locked.ID); err != nil {
			return err
		}
		if err := markLeadMoved(ctx, tx, locked, moved); err != nil {
			return err
		}
		if err := supersedePendingMail(ctx, tx, locked.ID); err != nil {
			return err
		}
		capped, err = b.enqueueMoved(ctx, tx, locked, moved, token)
		return err
	})
	if err == errNoConsultantLeft {
		return Booking{}, b.slotTaken(ctx, current.Team, current.Region, start, current.Timezone)
	}
	if err == nil {
		b.mailQueued()
	}
	moved.ProspectMailCapped = capped
	return moved, err
}

// underRescheduleCap refuses a move past the cap: every move mails the
// prospect's address, which nobody verified, and the consultant.
func (b *Bookings) underRescheduleCap(bk Booking) error {
	if b.cfg.MaxReschedules > 0 && bk.Reschedules >= b.cfg.MaxReschedules {
		return &Error{Code: CodeConflict, Message: fmt.Sprintf(
			"This consultation has been moved as many times as we allow online (%d). Reply to your invite and we will find a time with you.", b.cfg.MaxReschedules)}
	}
	return nil
}

// lockChangeable locks the booking row and checks, under the lock, that it
// may still change: a concurrent cancel has either committed or waits.
func (b *Bookings) lockChangeable(ctx context.Context, tx *sqlx.Tx, id string) (Booking, error) {
	locked, err := getBooking(ctx, tx, "b.id = $1 FOR UPDATE OF b", id)
	if err != nil {
		return Booking{}, err
	}
	return locked, b.changeable(locked)
}

func preferFirst(ids []string, first string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if id == first {
			out = append(out, id)
		}
	}
	for _, id := range ids {
		if id != first {
			out = append(out, id)
		}
	}
	return out
}

func moveToFirstFree(ctx context.Context, tx *sqlx.Tx, bookingID string, consultants []string, start time.Time, buffer time.Duration, now time.Time) error {
	for _, cid := range consultants {
		made, err := writeUnlessTaken(ctx, tx, func() error {
			if err := lockConsultantStart(ctx, tx, cid, start); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `
			UPDATE bookings SET consultant_id = $2, starts_at = $3, ends_at = $4, blocked = tstzrange($3, $5, '[)'),
				sequence = sequence + 1, reschedules = reschedules + 1, updated_at = $6
			WHERE id = $1`, bookingID, cid, start, start.Add(SlotLength), start.Add(SlotLength+buffer), now)
			return err
		})
		if err != nil {
			return fmt.Errorf("move booking: %w", err)
		}
		if made {
			return nil
		}
	}
	return errNoConsultantLeft
}

func markLeadMoved(ctx context.Context, tx *sqlx.Tx, from, to Booking) error {
	if _, err := tx.ExecContext(ctx, `UPDATE leads SET consultant_id = $2, updated_at = now(), last_activity_at = now() WHERE id = $1`, to.LeadID, to.ConsultantID); err != nil {
		return fmt.Errorf("update lead consultant: %w", err)
	}
	return leadEvent(ctx, tx, to.LeadID, "booking_rescheduled", map[string]string{
		"booking_id": to.ID, "from": from.Start.UTC().Format(time.RFC3339), "to": to.Start.UTC().Format(time.RFC3339), "consultant": to.ConsultantName,
	})
}

// Cancel releases the slot and tells both people; the lead returns to the
// follow-up list unless sales already moved it on.
func (b *Bookings) Cancel(ctx context.Context, token, reason string) (Booking, error) {
	current, err := b.ByToken(ctx, token)
	if err != nil {
		return Booking{}, err
	}
	var cancelled Booking
	capped, refund := false, false
	err = inTx(ctx, b.db, func(tx *sqlx.Tx) error {
		locked, err := b.lockChangeable(ctx, tx, current.ID)
		if err != nil {
			return err
		}
		if refund, err = b.refundOnCancel(ctx, tx, locked); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `
			UPDATE bookings SET status = 'cancelled', cancelled_at = $2, cancel_reason = $3, sequence = sequence + 1, updated_at = $2
			WHERE id = $1`, locked.ID, b.now(), truncate(cleanLine(reason), 500))
		if err != nil {
			return fmt.Errorf("cancel booking: %w", err)
		}
		if cancelled, err = getBooking(ctx, tx, "b.id = $1", locked.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE leads SET updated_at = now(), last_activity_at = now(),
				status = CASE WHEN status = 'booked' AND NOT EXISTS (SELECT 1 FROM bookings WHERE lead_id = $1 AND `+liveBookingSQL+`)
				              THEN 'new' ELSE status END
			WHERE id = $1`, locked.LeadID); err != nil {
			return fmt.Errorf("reopen lead: %w", err)
		}
		if err := leadEvent(ctx, tx, locked.LeadID, "booking_cancelled", map[string]string{"booking_id": locked.ID, "start": locked.Start.UTC().Format(time.RFC3339)}); err != nil {
			return err
		}
		if err := supersedePendingMail(ctx, tx, locked.ID); err != nil {
			return err
		}
		capped, err = b.enqueueCancelled(ctx, tx, cancelled, token)
		return err
	})
	if err == nil {
		b.afterPaymentChange(ctx, refund, true)
	}
	cancelled.ProspectMailCapped = capped
	return cancelled, err
}

// ManageURL is the link a prospect uses to see, move or cancel a booking.
func (b *Bookings) ManageURL(token string) string { return b.cfg.BaseURL + "/b/" + token }

// ICSURL is the download link of the booking's invite.
func (b *Bookings) ICSURL(token string) string { return b.ManageURL(token) + "/invite.ics" }

// supersedePendingMail withdraws the booking's messages that have not left
// yet (held back by an SMTP outage, say): an old invite or a reminder of the
// old time must not arrive after the news that replaces it.
func supersedePendingMail(ctx context.Context, tx *sqlx.Tx, bookingID string) error {
	_, err := tx.ExecContext(ctx, `UPDATE outbox SET status = 'superseded' WHERE booking_id = $1 AND status = 'pending'`, bookingID)
	if err != nil {
		return fmt.Errorf("supersede pending mail: %w", err)
	}
	return nil
}
