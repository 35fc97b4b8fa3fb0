package services

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
)

// Reassignment gives a lead to another team, or to a named consultant.
type Reassignment struct {
	Team         string
	ConsultantID string // optional: "" lets the fairest free consultant take an upcoming booking
}

// Reassign moves the lead to a team or consultant. Its upcoming
// consultation goes along at the same time: the old consultant gets a
// cancellation, the new one an invitation and the prospect an update. When
// nobody suitable is free then, nothing changes and staff are told why.
func (s *Leads) Reassign(ctx context.Context, leadID string, to Reassignment) error {
	var moved bool
	err := s.staffChange(ctx, leadID, func(tx *sqlx.Tx, l Lead) error {
		consultant, err := s.checkReassignment(ctx, tx, &to)
		if err != nil {
			return err
		}
		upcoming, err := upcomingBooking(ctx, tx, l.ID, s.bookings.now())
		if err != nil {
			return err
		}
		detail := map[string]string{"from_team": l.Team, "to_team": to.Team}
		if upcoming != "" {
			bk, err := s.bookings.reassignBooking(ctx, tx, upcoming, to)
			if err != nil {
				return err
			}
			moved = true
			to.ConsultantID, detail["booking_id"], detail["consultant"] = bk.ConsultantID, bk.ID, bk.ConsultantName
		} else if consultant != "" {
			detail["consultant"] = consultant
		}
		var id any
		if to.ConsultantID != "" {
			id = to.ConsultantID
		}
		_, err = tx.ExecContext(ctx, `UPDATE leads SET team = $2, consultant_id = COALESCE($3, consultant_id), updated_at = now() WHERE id = $1`,
			l.ID, to.Team, id)
		if err != nil {
			return fmt.Errorf("reassign lead: %w", err)
		}
		return s.logChange(ctx, tx, l.ID, "reassigned", detail)
	})
	if err == nil && moved {
		s.bookings.mailQueued()
	}
	return err
}

// checkReassignment validates the target and returns the named
// consultant's name; a named consultant decides the team.
func (s *Leads) checkReassignment(ctx context.Context, tx *sqlx.Tx, to *Reassignment) (string, error) {
	if to.ConsultantID == "" {
		if !ValidTeam(to.Team) {
			return "", Invalid(map[string]string{"team": "Choose Django or Node.js."})
		}
		return "", nil
	}
	if !ValidUUID(to.ConsultantID) {
		return "", Invalid(map[string]string{"consultant": "Choose a consultant from the list."})
	}
	var c struct {
		Name   string `db:"name"`
		Team   string `db:"team"`
		Active bool   `db:"active"`
	}
	if err := tx.GetContext(ctx, &c, `SELECT name, team, active FROM consultants WHERE id = $1`, to.ConsultantID); err != nil || !c.Active {
		return "", Invalid(map[string]string{"consultant": "Choose an active consultant from the list."})
	}
	if to.Team != "" && to.Team != c.Team {
		return "", Invalid(map[string]string{"consultant": c.Name + " is on the " + teamDisplayName(c.Team) + " team, not " + teamDisplayName(to.Team) + "."})
	}
	to.Team = c.Team
	return c.Name, nil
}

// reassignBooking gives a booking, at its time, to the named consultant or
// the fairest free one of the team who serves its region.
func (b *Bookings) reassignBooking(ctx context.Context, tx *sqlx.Tx, bookingID string, to Reassignment) (Booking, error) {
	locked, err := getBooking(ctx, tx, "b.id = $1 FOR UPDATE OF b", bookingID)
	if err != nil {
		return Booking{}, err
	}
	if locked.Team == to.Team && (to.ConsultantID == "" || to.ConsultantID == locked.ConsultantID) {
		return locked, nil
	}
	_, free, err := b.avail.atStart(ctx, to.Team, locked.Region, locked.Start, locked.ID)
	if err != nil {
		return Booking{}, err
	}
	free = slices.DeleteFunc(free, func(id string) bool { return id == locked.ConsultantID })
	if to.ConsultantID != "" {
		if !slices.Contains(free, to.ConsultantID) {
			return Booking{}, Conflict("That consultant is not free for the booked time (or does not serve the prospect's region). Pick another, or ask the prospect to move the booking.")
		}
		free = []string{to.ConsultantID}
	}
	if free, err = b.fairOrder(ctx, free); err != nil {
		return Booking{}, err
	}
	if err := giveToFirstFree(ctx, tx, locked.ID, free, to.Team, b.now()); err != nil {
		if err == errNoConsultantLeft {
			return Booking{}, Conflict(fmt.Sprintf("No %s consultant serving %s is free at the booked time, so the booking cannot move with the lead. Ask the prospect to pick another time, then reassign.",
				teamDisplayName(to.Team), RegionLabel(locked.Region)))
		}
		return Booking{}, err
	}
	moved, err := getBooking(ctx, tx, "b.id = $1", locked.ID)
	if err != nil {
		return Booking{}, err
	}
	if err := supersedePendingMail(ctx, tx, locked.ID); err != nil {
		return Booking{}, err
	}
	return moved, b.enqueueReassigned(ctx, tx, locked, moved)
}

// giveToFirstFree hands the booking to the first consultant the exclusion
// constraint lets have it, at the same time.
func giveToFirstFree(ctx context.Context, tx *sqlx.Tx, bookingID string, consultants []string, team string, now time.Time) error {
	for _, cid := range consultants {
		made, err := writeUnlessTaken(ctx, tx, func() error {
			_, err := tx.ExecContext(ctx, `
			UPDATE bookings SET consultant_id = $2, team = $3, sequence = sequence + 1, updated_at = $4 WHERE id = $1`,
				bookingID, cid, team, now)
			return err
		})
		if err != nil {
			return fmt.Errorf("reassign booking: %w", err)
		}
		if made {
			return nil
		}
	}
	return errNoConsultantLeft
}

// enqueueReassigned tells the prospect who they now meet, cancels the old
// consultant's event and invites the new consultant.
func (b *Bookings) enqueueReassigned(ctx context.Context, tx *sqlx.Tx, from, to Booking) error {
	token, err := b.sealer.open(to.tokenSealed)
	if err != nil {
		return err
	}
	d, err := b.inviteDetails(to, token, "REQUEST")
	if err != nil {
		return err
	}
	d.Reassigned = true
	if _, err := b.enqueueProspect(ctx, tx, to.ID, "invite", d, ProspectInviteEmail); err != nil {
		return err
	}
	old := from
	old.Sequence = to.Sequence
	od, err := b.inviteDetails(old, token, "CANCEL")
	if err != nil {
		return err
	}
	if err := enqueueConsultant(ctx, tx, to.ID, "consultant_cancel", od, ConsultantNoticeEmail); err != nil {
		return err
	}
	d.Reassigned = false // news to the new consultant
	return enqueueConsultant(ctx, tx, to.ID, "consultant_notice", d, ConsultantNoticeEmail)
}

// cancelForErasure cancels the lead's upcoming consultations without
// writing to the prospect, who asked to be forgotten; consultants are told.
func (b *Bookings) cancelForErasure(ctx context.Context, tx *sqlx.Tx, leadID string) ([]string, error) {
	var ids []string
	err := tx.SelectContext(ctx, &ids, `
		SELECT id FROM bookings WHERE lead_id = $1 AND `+liveBookingSQL+` AND ends_at > $2 ORDER BY starts_at FOR UPDATE`, leadID, b.now())
	if err != nil {
		return nil, fmt.Errorf("upcoming bookings to erase: %w", err)
	}
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, `
			UPDATE bookings SET status = 'cancelled', cancelled_at = $2, sequence = sequence + 1, updated_at = $2 WHERE id = $1`, id, b.now()); err != nil {
			return nil, fmt.Errorf("cancel booking for erasure: %w", err)
		}
		if err := supersedePendingMail(ctx, tx, id); err != nil {
			return nil, err
		}
		bk, err := getBooking(ctx, tx, "b.id = $1", id)
		if err != nil {
			return nil, err
		}
		d, err := b.inviteDetails(bk, "", "CANCEL")
		if err != nil {
			return nil, err
		}
		if err := enqueueConsultant(ctx, tx, id, "consultant_cancel", d, ConsultantNoticeEmail); err != nil {
			return nil, err
		}
	}
	return ids, nil
}
