package services

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// inviteDetails describes bk for the invite builders.
func (b *Bookings) inviteDetails(bk Booking, token, method string) (InviteDetails, error) {
	prospectTZ, err := LoadZone(bk.Timezone)
	if err != nil {
		return InviteDetails{}, fmt.Errorf("prospect zone: %w", err)
	}
	consultantTZ, err := LoadZone(bk.ConsultantTZ)
	if err != nil {
		return InviteDetails{}, fmt.Errorf("consultant zone: %w", err)
	}
	return InviteDetails{
		UID: bk.UID, Sequence: bk.Sequence, Method: method,
		Start: bk.Start, End: bk.End, Stamp: b.now(),
		Prospect: Person{Name: bk.LeadName, Email: bk.LeadEmail}, ProspectTZ: prospectTZ,
		Consultant: Person{Name: bk.ConsultantName, Email: bk.ConsultantEmail}, ConsultantTZ: consultantTZ,
		Team: bk.Team, Company: bk.LeadCompany, MeetingURL: bk.MeetingURL,
		ManageURL: b.ManageURL(token), ICSURL: b.ICSURL(token), Organizer: b.cfg.Organizer,
	}, nil
}

// InviteICS returns the current invite of the booking a token points to:
// a REQUEST while it stands, a CANCEL once cancelled.
func (b *Bookings) InviteICS(ctx context.Context, token string) ([]byte, error) {
	bk, err := b.ByToken(ctx, token)
	if err != nil {
		return nil, err
	}
	method := "REQUEST"
	if !bk.Live() {
		method = "CANCEL"
	}
	d, err := b.inviteDetails(bk, token, method)
	if err != nil {
		return nil, err
	}
	return InviteICS(d)
}

// enqueueBooked invites both people; it reports whether the prospect's
// daily mail cap held their invite back.
func (b *Bookings) enqueueBooked(ctx context.Context, tx *sqlx.Tx, bk Booking, token string) (bool, error) {
	d, err := b.inviteDetails(bk, token, "REQUEST")
	if err != nil {
		return false, err
	}
	return b.enqueueBoth(ctx, tx, bk.ID, d, "invite", "consultant_notice")
}

// enqueueBoth renders d for the prospect (under their daily cap) and the
// consultant, and queues both; it reports whether the cap held the
// prospect's message back.
func (b *Bookings) enqueueBoth(ctx context.Context, tx *sqlx.Tx, bookingID string, d InviteDetails, prospectKind, consultantKind string) (bool, error) {
	prospect, consultant, err := b.pairMessages(bookingID, d, prospectKind, consultantKind)
	if err != nil {
		return false, err
	}
	capped, _, err := enqueuePair(ctx, tx, prospect, consultant)
	return capped, err
}

// pairMessages renders the prospect's and the consultant's message about
// one event.
func (b *Bookings) pairMessages(bookingID string, d InviteDetails, prospectKind, consultantKind string) (prospect, consultant OutboxMessage, err error) {
	if prospect, err = b.prospectMessage(bookingID, prospectKind, d, ProspectInviteEmail); err != nil {
		return prospect, consultant, err
	}
	consultant, err = consultantMessage(bookingID, consultantKind, d, ConsultantNoticeEmail)
	return prospect, consultant, err
}

// enqueueMoved sends the prospect the moved event; a consultant who lost the
// meeting gets a cancellation and the new one an invitation. It reports
// whether the prospect's daily mail cap held their message back.
func (b *Bookings) enqueueMoved(ctx context.Context, tx *sqlx.Tx, from, to Booking, token string) (bool, error) {
	d, err := b.inviteDetails(to, token, "REQUEST")
	if err != nil {
		return false, err
	}
	d.Rescheduled = true
	capped, err := b.enqueueProspect(ctx, tx, to.ID, "invite", d, ProspectInviteEmail)
	if err != nil {
		return false, err
	}
	if from.ConsultantID != to.ConsultantID {
		old := from
		old.Sequence = to.Sequence
		od, err := b.inviteDetails(old, token, "CANCEL")
		if err != nil {
			return false, err
		}
		if err := enqueueConsultant(ctx, tx, to.ID, "consultant_cancel", od, ConsultantNoticeEmail); err != nil {
			return false, err
		}
		d.Rescheduled = false // news to the new consultant
	}
	return capped, enqueueConsultant(ctx, tx, to.ID, "consultant_notice", d, ConsultantNoticeEmail)
}

func (b *Bookings) enqueueCancelled(ctx context.Context, tx *sqlx.Tx, bk Booking, token string) (bool, error) {
	d, err := b.inviteDetails(bk, token, "CANCEL")
	if err != nil {
		return false, err
	}
	return b.enqueueBoth(ctx, tx, bk.ID, d, "cancel", "consultant_cancel")
}

// enqueueProspect queues mail to the prospect under the daily cap per address.
func (b *Bookings) enqueueProspect(ctx context.Context, tx *sqlx.Tx, bookingID, kind string, d InviteDetails, build func(InviteDetails) (Email, error)) (bool, error) {
	msg, err := b.prospectMessage(bookingID, kind, d, build)
	if err != nil {
		return false, err
	}
	_, capped, err := enqueue(ctx, tx, msg)
	return capped, err
}

// enqueueConsultant queues mail to a consultant; it is never capped.
func enqueueConsultant(ctx context.Context, tx *sqlx.Tx, bookingID, kind string, d InviteDetails, build func(InviteDetails) (Email, error)) error {
	msg, err := consultantMessage(bookingID, kind, d, build)
	if err != nil {
		return err
	}
	_, err = Enqueue(ctx, tx, msg)
	return err
}

// prospectMessage renders mail to the prospect, under their daily cap.
func (b *Bookings) prospectMessage(bookingID, kind string, d InviteDetails, build func(InviteDetails) (Email, error)) (OutboxMessage, error) {
	msg, err := renderOutboxMessage(bookingID, kind, d, build)
	msg.Audience, msg.DailyCap = AudienceProspect, b.cfg.ProspectMailPerDay
	return msg, err
}

// consultantMessage renders mail to the consultant; it is never capped.
func consultantMessage(bookingID, kind string, d InviteDetails, build func(InviteDetails) (Email, error)) (OutboxMessage, error) {
	msg, err := renderOutboxMessage(bookingID, kind, d, build)
	msg.Audience = AudienceConsultant
	return msg, err
}

func renderOutboxMessage(bookingID, kind string, d InviteDetails, build func(InviteDetails) (Email, error)) (OutboxMessage, error) {
	email, err := build(d)
	if err != nil {
		return OutboxMessage{}, fmt.Errorf("build %s email: %w", kind, err)
	}
	raw, err := RenderEmail(email)
	if err != nil {
		return OutboxMessage{}, fmt.Errorf("render %s email: %w", kind, err)
	}
	return OutboxMessage{Kind: kind, BookingID: bookingID, To: email.To.Email, Subject: email.Subject, Message: raw}, nil
}
