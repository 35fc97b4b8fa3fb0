package services

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"
)

// Payment statuses of a booking.
const (
	PaymentNone      = "none"
	PaymentPending   = "pending"
	PaymentPaid      = "paid"
	PaymentFailed    = "failed"
	PaymentRefundDue = "refund_due"
	PaymentRefunded  = "refunded"
)

// CodePaymentUnavailable marks a paid booking refused because Stripe could
// not be reached; nothing was booked.
const CodePaymentUnavailable = "payment_unavailable"

var errPaymentUnavailable = &Error{Code: CodePaymentUnavailable,
	Message: "We could not reach our payment provider, so nothing was booked and the time is free again. Please try again in a few minutes."}

// openCheckout starts Stripe Checkout for a held booking. When Stripe
// cannot be reached the hold is released at once: no ghost booking.
func (b *Bookings) openCheckout(ctx context.Context, bk Booking, token string, kind SessionType) (Booking, error) {
	manage := b.ManageURL(token)
	cs, err := b.stripe.createCheckout(ctx, checkoutRequest{
		BookingID: bk.ID, AmountCents: bk.AmountCents, Currency: bk.Currency, Email: bk.LeadEmail,
		ProductName: kind.Name + " · " + FormatMeetingTime(bk.Start, bk.End, mustLoadZone(bk.Timezone)),
		ExpiresAt:   b.now().Add(checkoutLifetime), SuccessURL: manage + "?done=paid", CancelURL: manage + "?done=checkout_cancelled",
	})
	if err != nil {
		if relErr := b.releaseAfterCheckoutFailure(context.WithoutCancel(ctx), bk.ID); relErr != nil {
			return Booking{}, errors.Join(err, relErr)
		}
		return Booking{}, errors.Join(errPaymentUnavailable, err)
	}
	if _, err := b.db.ExecContext(ctx, `UPDATE bookings SET checkout_session_id = $2, checkout_url = $3, updated_at = now() WHERE id = $1`,
		bk.ID, cs.ID, cs.URL); err != nil {
		return Booking{}, fmt.Errorf("record checkout session: %w", err)
	}
	bk.CheckoutID, bk.CheckoutURL = cs.ID, cs.URL
	return bk, nil
}

func (b *Bookings) releaseAfterCheckoutFailure(ctx context.Context, bookingID string) error {
	return inTx(ctx, b.db, func(tx *sqlx.Tx) error {
		bk, err := getBooking(ctx, tx, "b.id = $1 FOR UPDATE OF b", bookingID)
		if err != nil {
			return err
		}
		return b.releaseHold(ctx, tx, bk, "checkout could not start")
	})
}

func mustLoadZone(name string) *time.Location {
	loc, err := LoadZone(name)
	if err != nil {
		return time.UTC
	}
	return loc
}

// HandleStripeWebhook verifies a webhook's signature on the raw body and
// applies it once: the event id is stored under a unique key in the same
// transaction as its effect. Events may come in any order.
func (b *Bookings) HandleStripeWebhook(ctx context.Context, payload []byte, signature string) error {
	if b.stripe == nil || b.pay.WebhookSecret == "" {
		return &Error{Code: CodeNotFound, Message: "Payments are not enabled."}
	}
	ev, err := webhook.ConstructEvent(payload, signature, b.pay.WebhookSecret)
	if err != nil {
		return &Error{Code: CodeInvalid, Message: "The Stripe signature is missing, does not match, is too old, or the event's API version is not " + stripe.APIVersion + "."}
	}
	var cs stripe.CheckoutSession
	switch ev.Type {
	case "checkout.session.completed", "checkout.session.async_payment_succeeded",
		"checkout.session.async_payment_failed", "checkout.session.expired":
		if err := json.Unmarshal(ev.Data.Raw, &cs); err != nil {
			return &Error{Code: CodeInvalid, Message: "The event does not hold a Checkout Session."}
		}
	}
	var refunds, queued bool
	err = inTx(ctx, b.db, func(tx *sqlx.Tx) error {
		bookingID := cs.ClientReferenceID
		if !ValidUUID(bookingID) {
			bookingID = ""
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO stripe_events (id, type, booking_id) VALUES ($1, $2, NULLIF($3, '')::uuid) ON CONFLICT (id) DO NOTHING`,
			ev.ID, string(ev.Type), bookingID)
		if err != nil {
			return fmt.Errorf("record stripe event: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 || bookingID == "" {
			return nil // seen before, or not about a booking of ours
		}
		bk, err := getBooking(ctx, tx, "b.id = $1 AND b.checkout_session_id = $2 FOR UPDATE OF b", bookingID, cs.ID)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		switch {
		case ev.Type == "checkout.session.async_payment_succeeded" ||
			(ev.Type == "checkout.session.completed" && cs.PaymentStatus == stripe.CheckoutSessionPaymentStatusPaid):
			refunds, queued, err = b.confirmPayment(ctx, tx, bk, paymentIntentID(cs), cs.AmountTotal)
			return err
		case ev.Type == "checkout.session.async_payment_failed" || ev.Type == "checkout.session.expired":
			return b.releaseHold(ctx, tx, bk, string(ev.Type))
		}
		return nil // completed but not yet paid: the async events follow
	})
	if err != nil {
		return err
	}
	b.afterPaymentChange(ctx, refunds, queued)
	return nil
}

func paymentIntentID(cs stripe.CheckoutSession) string {
	if cs.PaymentIntent != nil {
		return cs.PaymentIntent.ID
	}
	return ""
}

// afterPaymentChange sends what a committed payment change queued.
func (b *Bookings) afterPaymentChange(ctx context.Context, refunds, queued bool) {
	if refunds {
		_, _ = b.ProcessRefunds(context.WithoutCancel(ctx))
	}
	if refunds || queued {
		b.mailQueued()
	}
}

// confirmPayment settles a paid booking: a held one is confirmed and both
// people invited; one whose hold was already released is confirmed again if
// its time is still free, and otherwise refunded in full with the prospect
// told. It reports whether a refund is due and whether mail was queued.
func (b *Bookings) confirmPayment(ctx context.Context, tx *sqlx.Tx, bk Booking, intent string, amount int64) (bool, bool, error) {
	if bk.PaymentStatus == PaymentPaid || bk.PaymentStatus == PaymentRefundDue || bk.PaymentStatus == PaymentRefunded {
		return false, false, nil
	}
	if amount == 0 {
		amount = bk.AmountCents
	}
	if _, err := tx.ExecContext(ctx, `
		UPDATE bookings SET payment_status = 'paid', paid_at = $2, payment_intent_id = $3, updated_at = $2 WHERE id = $1`,
		bk.ID, b.now(), intent); err != nil {
		return false, false, fmt.Errorf("record payment: %w", err)
	}
	if bk.Status != StatusPendingPayment {
		ok, err := b.retakeSlot(ctx, tx, bk)
		if err != nil {
			return false, false, err
		}
		if !ok {
			return true, true, b.owe(ctx, tx, bk.ID, amount, "The time you paid for was released before the payment arrived and someone else took it.")
		}
	} else if _, err := tx.ExecContext(ctx, `UPDATE bookings SET status = 'confirmed', hold_expires_at = NULL WHERE id = $1`, bk.ID); err != nil {
		return false, false, fmt.Errorf("confirm paid booking: %w", err)
	}
	confirmed, err := getBooking(ctx, tx, "b.id = $1", bk.ID)
	if err != nil {
		return false, false, err
	}
	token, err := b.sealer.open(confirmed.tokenSealed)
	if err != nil {
		return false, false, err
	}
	if err := b.confirmBooked(ctx, tx, confirmed, token, nil); err != nil {
		return false, false, err
	}
	return false, true, nil
}

// retakeSlot tries to make a released booking live again; the exclusion
// constraint says whether its time is still free.
func (b *Bookings) retakeSlot(ctx context.Context, tx *sqlx.Tx, bk Booking) (bool, error) {
	if bk.Status != StatusExpired || !b.now().Before(bk.Start) {
		return false, nil
	}
	made, err := writeUnlessTaken(ctx, tx, func() error {
		_, err := tx.ExecContext(ctx, `UPDATE bookings SET status = 'confirmed', hold_expires_at = NULL, updated_at = now() WHERE id = $1`, bk.ID)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("retake slot: %w", err)
	}
	if !made {
		return false, nil
	}
	var others int
	err = tx.GetContext(ctx, &others, `SELECT count(*) FROM bookings WHERE lead_id = $1 AND id <> $2 AND `+liveBookingSQL+` AND ends_at > $3`,
		bk.LeadID, bk.ID, b.now())
	if err != nil || others == 0 {
		return err == nil, err
	}
	// The person booked something else meanwhile: one upcoming at a time.
	if _, err := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT retake`); err != nil {
		return false, fmt.Errorf("rollback to savepoint: %w", err)
	}
	return false, nil
}

// owe records that the booking's payment, or part of it, must go back.
func (b *Bookings) owe(ctx context.Context, tx *sqlx.Tx, bookingID string, cents int64, reason string) error {
	_, err := tx.ExecContext(ctx, `
		UPDATE bookings SET payment_status = 'refund_due', refund_cents = $2, refund_reason = $3, updated_at = now() WHERE id = $1`,
		bookingID, cents, reason)
	if err != nil {
		return fmt.Errorf("record refund due: %w", err)
	}
	return nil
}

// releaseHold frees the slot of a booking still waiting for payment; any
// other state is left alone, so a late "expired" cannot undo a payment.
func (b *Bookings) releaseHold(ctx context.Context, tx *sqlx.Tx, bk Booking, why string) error {
	if bk.Status != StatusPendingPayment {
		return nil
	}
	_, err := tx.ExecContext(ctx, `
		UPDATE bookings SET status = 'expired', payment_status = 'failed', hold_expires_at = NULL, updated_at = $2 WHERE id = $1`, bk.ID, b.now())
	if err != nil {
		return fmt.Errorf("release hold: %w", err)
	}
	return leadEvent(ctx, tx, bk.LeadID, "hold_released", map[string]string{"booking_id": bk.ID, "reason": why})
}

// SweepHolds releases holds past their expiry even when no webhook came.
// Each is checked with Stripe first: a session that turns out paid is
// confirmed instead, and an open one is expired so it cannot be paid after
// its slot is gone. Rows are claimed with SKIP LOCKED, so several
// instances may sweep at once.
func (b *Bookings) SweepHolds(ctx context.Context) (int, error) {
	if b.stripe == nil {
		return 0, nil
	}
	released := 0
	for {
		done, changed, err := b.sweepOneHold(ctx)
		if err != nil || done {
			return released, err
		}
		if changed {
			released++
		}
	}
}

func (b *Bookings) sweepOneHold(ctx context.Context) (done, changed bool, err error) {
	var refunds, queued bool
	err = inTx(ctx, b.db, func(tx *sqlx.Tx) error {
		var ids []string
		if err := tx.SelectContext(ctx, &ids, `
			SELECT id FROM bookings WHERE status = 'pending_payment' AND hold_expires_at < $1
			ORDER BY hold_expires_at LIMIT 1 FOR UPDATE SKIP LOCKED`, b.now()); err != nil {
			return fmt.Errorf("due holds: %w", err)
		}
		if len(ids) == 0 {
			done = true
			return nil
		}
		bk, err := getBooking(ctx, tx, "b.id = $1", ids[0])
		if err != nil {
			return err
		}
		changed = true
		if bk.CheckoutID == "" {
			return b.releaseHold(ctx, tx, bk, "hold expired")
		}
		cs, err := b.stripe.getCheckout(ctx, bk.CheckoutID)
		if err != nil {
			return err
		}
		if cs.PaymentStatus != stripe.CheckoutSessionPaymentStatusPaid && cs.Status == stripe.CheckoutSessionStatusOpen {
			if err := b.stripe.expireCheckout(ctx, bk.CheckoutID); err != nil {
				// It may have been paid this very moment: look again.
				if cs, err = b.stripe.getCheckout(ctx, bk.CheckoutID); err != nil {
					return err
				}
			}
		}
		if cs.PaymentStatus == stripe.CheckoutSessionPaymentStatusPaid {
			refunds, queued, err = b.confirmPayment(ctx, tx, bk, paymentIntentID(*cs), cs.AmountTotal)
			return err
		}
		return b.releaseHold(ctx, tx, bk, "hold expired")
	})
	if err == nil {
		b.afterPaymentChange(ctx, refunds, queued)
	}
	return done, changed, err
}

// ProcessRefunds pays back what is owed, one booking at a time, with an
// idempotency key per booking and amount, so a retry after a crash cannot
// refund twice; the prospect is told.
func (b *Bookings) ProcessRefunds(ctx context.Context) (int, error) {
	if b.stripe == nil {
		return 0, nil
	}
	n := 0
	for {
		var done bool
		err := inTx(ctx, b.db, func(tx *sqlx.Tx) error {
			var ids []string
			if err := tx.SelectContext(ctx, &ids, `
				SELECT id FROM bookings WHERE payment_status = 'refund_due' ORDER BY updated_at LIMIT 1 FOR UPDATE SKIP LOCKED`); err != nil {
				return fmt.Errorf("due refunds: %w", err)
			}
			if len(ids) == 0 {
				done = true
				return nil
			}
			bk, err := getBooking(ctx, tx, "b.id = $1", ids[0])
			if err != nil {
				return err
			}
			return b.refundNow(ctx, tx, bk)
		})
		if err != nil || done {
			if n > 0 {
				b.mailQueued()
			}
			return n, err
		}
		n++
	}
}

func (b *Bookings) refundNow(ctx context.Context, tx *sqlx.Tx, bk Booking) error {
	var reason string
	if err := tx.GetContext(ctx, &reason, `SELECT refund_reason FROM bookings WHERE id = $1`, bk.ID); err != nil {
		return fmt.Errorf("refund reason: %w", err)
	}
	if _, err := b.stripe.refund(ctx, bk.ID, bk.PaymentIntentID, bk.RefundCents); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE bookings SET payment_status = 'refunded', refunded_at = $2, updated_at = $2 WHERE id = $1`, bk.ID, b.now()); err != nil {
		return fmt.Errorf("record refund: %w", err)
	}
	if err := leadEvent(ctx, tx, bk.LeadID, "refunded", map[string]string{"booking_id": bk.ID, "amount": FormatPrice(bk.RefundCents, bk.Currency)}); err != nil {
		return err
	}
	token, err := b.sealer.open(bk.tokenSealed)
	if err != nil {
		return err
	}
	d, err := b.inviteDetails(bk, token, MethodCancel)
	if err != nil {
		return err
	}
	d.Refund = RefundNote{Amount: FormatPrice(bk.RefundCents, bk.Currency), Reason: reason}
	_, err = b.enqueueProspect(ctx, tx, bk.ID, "refund", d, RefundEmail)
	return err
}

// refundOnCancel applies the cancellation policy to a paid booking being
// cancelled: in full when cancelled early enough, otherwise nothing.
func (b *Bookings) refundOnCancel(ctx context.Context, tx *sqlx.Tx, bk Booking) (bool, error) {
	if bk.PaymentStatus != PaymentPaid {
		return false, nil
	}
	if b.now().Add(b.pay.RefundFullBefore).After(bk.Start) {
		return false, nil
	}
	return true, b.owe(ctx, tx, bk.ID, bk.AmountCents, "You cancelled in time for a full refund.")
}

// RefundPolicy says, for a paid booking, what cancelling now would give back.
func (b *Bookings) RefundPolicy(bk Booking) string {
	if bk.PaymentStatus != PaymentPaid {
		return ""
	}
	if b.now().Add(b.pay.RefundFullBefore).After(bk.Start) {
		return fmt.Sprintf("Cancelling less than %s before the start gives no refund.", humanHours(b.pay.RefundFullBefore))
	}
	return fmt.Sprintf("Cancel at least %s before the start and %s is refunded in full.", humanHours(b.pay.RefundFullBefore), FormatPrice(bk.AmountCents, bk.Currency))
}

func humanHours(d time.Duration) string {
	if h := int(d.Hours()); h != 1 {
		return fmt.Sprintf("%d hours", h)
	}
	return "1 hour"
}

// RefundBooking gives a paid booking's amount back at an admin's request.
func (s *Leads) RefundBooking(ctx context.Context, leadID, bookingID string) error {
	if !ActorFrom(ctx).Admin() {
		return ErrForbidden
	}
	if !ValidUUID(bookingID) {
		return ErrNotFound
	}
	err := s.staffChange(ctx, leadID, func(tx *sqlx.Tx, l Lead) error {
		bk, err := getBooking(ctx, tx, "b.id = $1 AND b.lead_id = $2 FOR UPDATE OF b", bookingID, l.ID)
		if err != nil {
			return err
		}
		if bk.PaymentStatus != PaymentPaid {
			return Conflict("Only a paid booking that has not been refunded can be refunded.")
		}
		if err := s.bookings.owe(ctx, tx, bk.ID, bk.AmountCents, "We have refunded your payment."); err != nil {
			return err
		}
		return s.logChange(ctx, tx, l.ID, "refund_requested", map[string]string{"booking_id": bk.ID, "amount": FormatPrice(bk.AmountCents, bk.Currency)})
	})
	if err != nil {
		return err
	}
	if _, err := s.bookings.ProcessRefunds(ctx); err != nil {
		return fmt.Errorf("refund (it will be retried): %w", err)
	}
	return nil
}

// RunPayments sweeps expired holds and owed refunds every interval.
func (b *Bookings) RunPayments(ctx context.Context, every time.Duration, onError func(error)) {
	if b.stripe == nil {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := b.SweepHolds(ctx); err != nil && ctx.Err() == nil {
			onError(err)
		}
		if _, err := b.ProcessRefunds(ctx); err != nil && ctx.Err() == nil {
			onError(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
