package services

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// leadTransitions is the status workflow: where sales staff may move a
// lead from each status. "booked" is left to bookings.
var leadTransitions = map[string][]string{
	LeadNew:       {LeadContacted, LeadQualified, LeadLost, LeadSpam},
	LeadBooked:    {LeadContacted, LeadQualified, LeadWon, LeadLost, LeadSpam},
	LeadContacted: {LeadQualified, LeadWon, LeadLost, LeadSpam},
	LeadQualified: {LeadWon, LeadLost, LeadSpam},
	LeadWon:       {LeadQualified},
	LeadLost:      {LeadContacted},
	LeadSpam:      {LeadNew},
}

// NextStatuses lists where a lead in status may go next.
func NextStatuses(status string) []string { return leadTransitions[status] }

// staffChange runs fn on the locked lead in a transaction, for staff only,
// and refuses changes to an erased lead.
func (s *Leads) staffChange(ctx context.Context, leadID string, fn func(tx *sqlx.Tx, l Lead) error) error {
	if !ActorFrom(ctx).Staff() {
		return ErrForbidden
	}
	if !ValidUUID(leadID) {
		return ErrNotFound
	}
	return inTx(ctx, s.db, func(tx *sqlx.Tx) error {
		l, err := getLead(ctx, tx, leadID, true)
		if err != nil {
			return err
		}
		if l.ErasedAt.Valid {
			return Conflict("This lead was erased; nothing about it can change.")
		}
		return fn(tx, l)
	})
}

// SetStatus moves the lead along the workflow. The first move past "new"
// records when sales first reached the person.
func (s *Leads) SetStatus(ctx context.Context, leadID, status string) error {
	return s.staffChange(ctx, leadID, func(tx *sqlx.Tx, l Lead) error {
		if !slices.Contains(leadTransitions[l.Status], status) {
			return Invalid(map[string]string{"status": fmt.Sprintf("A %s lead cannot become %s.", l.Status, status)})
		}
		_, err := tx.ExecContext(ctx, `
			UPDATE leads SET status = $2, updated_at = now(),
				first_contacted_at = CASE WHEN first_contacted_at IS NULL AND $2 NOT IN ('new', 'spam') THEN now() ELSE first_contacted_at END
			WHERE id = $1`, l.ID, status)
		if err != nil {
			return fmt.Errorf("set lead status: %w", err)
		}
		return s.logChange(ctx, tx, l.ID, "status_changed", map[string]string{"from": l.Status, "to": status})
	})
}

// logChange writes the lead's history and the audit log together.
func (s *Leads) logChange(ctx context.Context, tx *sqlx.Tx, leadID, kind string, detail map[string]string) error {
	if err := leadEvent(ctx, tx, leadID, kind, detail); err != nil {
		return err
	}
	return audit(ctx, tx, kind, "lead", leadID, detail)
}

// AddNote adds a staff note to the lead.
func (s *Leads) AddNote(ctx context.Context, leadID, body string) error {
	body = cleanText(body)
	if body == "" || len([]rune(body)) > 5000 {
		return Invalid(map[string]string{"note": "Write a note of 1 to 5,000 characters."})
	}
	return s.staffChange(ctx, leadID, func(tx *sqlx.Tx, l Lead) error {
		a := ActorFrom(ctx)
		var user any
		if a.UserID != "" {
			user = a.UserID
		}
		var id int64
		err := tx.GetContext(ctx, &id, `INSERT INTO lead_notes (lead_id, user_id, author, body) VALUES ($1, $2, $3, $4) RETURNING id`,
			l.ID, user, a.Label(), body)
		if err != nil {
			return fmt.Errorf("add note: %w", err)
		}
		return audit(ctx, tx, "note_added", "lead", l.ID, map[string]string{"note_id": fmt.Sprint(id)})
	})
}

// AcceptInquiry copies a later submission's contact details onto the lead:
// staff decide which details they trust.
func (s *Leads) AcceptInquiry(ctx context.Context, leadID, inquiryID string) error {
	return s.staffChange(ctx, leadID, func(tx *sqlx.Tx, l Lead) error {
		inq, err := getInquiryAny(ctx, tx, inquiryID)
		if err != nil || inq.LeadID != l.ID {
			return ErrNotFound
		}
		_, err = tx.ExecContext(ctx, `
			UPDATE leads SET name = $2, email = $3, company = $4, region = $5, timezone = $6,
				message = CASE WHEN $7 <> '' THEN $7 ELSE message END, updated_at = now()
			WHERE id = $1`, l.ID, inq.Name, inq.Email, inq.Company, inq.Region, inq.Timezone, inq.Message)
		if err != nil {
			return fmt.Errorf("accept inquiry: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE inquiries SET accepted_at = now() WHERE id = $1`, inq.ID); err != nil {
			return fmt.Errorf("mark inquiry accepted: %w", err)
		}
		return s.logChange(ctx, tx, l.ID, "inquiry_accepted", map[string]string{
			"inquiry_id": inq.ID, "name": inq.Name, "company": inq.Company, "region": inq.Region,
		})
	})
}

// MarkNoShow records that the prospect missed a consultation that began.
func (s *Leads) MarkNoShow(ctx context.Context, leadID, bookingID string) error {
	if !ValidUUID(bookingID) {
		return ErrNotFound
	}
	return s.staffChange(ctx, leadID, func(tx *sqlx.Tx, l Lead) error {
		bk, err := getBooking(ctx, tx, "b.id = $1 AND b.lead_id = $2 FOR UPDATE OF b", bookingID, l.ID)
		if err != nil {
			return err
		}
		if bk.Status != StatusConfirmed || s.bookings.now().Before(bk.Start) {
			return Conflict("Only a confirmed consultation that has started can be marked as a no-show.")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE bookings SET status = 'no_show', no_show_at = now(), updated_at = now() WHERE id = $1`, bk.ID); err != nil {
			return fmt.Errorf("mark no-show: %w", err)
		}
		return s.logChange(ctx, tx, l.ID, "no_show", map[string]string{"booking_id": bk.ID, "start": bk.Start.UTC().Format(time.RFC3339)})
	})
}

// Export returns the lead's data as indented JSON, for a data request, and
// audits the export.
func (s *Leads) Export(ctx context.Context, leadID string) ([]byte, error) {
	if !ActorFrom(ctx).Staff() {
		return nil, ErrForbidden
	}
	r, err := s.Record(ctx, leadID)
	if err != nil {
		return nil, err
	}
	out, err := json.MarshalIndent(newLeadExport(r, s.bookings.now()), "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode lead export: %w", err)
	}
	if err := audit(ctx, s.db, "lead_exported", "lead", leadID, nil); err != nil {
		return nil, err
	}
	return out, nil
}

// erasedName stands in for every erased piece of personal data.
const erasedName = "Erased"

// Erase removes a lead's personal data on request and keeps the counts:
// the lead, its submissions, bookings and history stay as rows, with the
// name, email, company, messages, attribution, addresses and notes gone.
// Upcoming consultations are cancelled and their consultants told. Admins only.
func (s *Leads) Erase(ctx context.Context, leadID string) error {
	if !ActorFrom(ctx).Admin() {
		return ErrForbidden
	}
	var cancelled []string
	err := s.staffChange(ctx, leadID, func(tx *sqlx.Tx, l Lead) error {
		erased := "erased-" + l.ID + "@erased.invalid"
		for _, step := range []struct {
			q    string
			args []any
		}{
			{`UPDATE leads SET name = $2, email = $3, company = $2, message = '', utm = '{}', referrer = '', erased_at = now(), updated_at = now() WHERE id = $1`,
				[]any{l.ID, erasedName, erased}},
			{`UPDATE inquiries SET name = $2, email = $3, company = $2, message = '', utm = '{}', referrer = '' WHERE lead_id = $1`,
				[]any{l.ID, erasedName, erased}},
			{`UPDATE lead_consents SET ip = NULL, user_agent = '' WHERE lead_id = $1`, []any{l.ID}},
			{`UPDATE assessments SET utm = '{}', referrer = '' WHERE lead_id = $1 OR id IN (SELECT assessment_id FROM inquiries WHERE lead_id = $1)`, []any{l.ID}},
			{`UPDATE lead_notes SET body = '(erased)' WHERE lead_id = $1`, []any{l.ID}},
			{`UPDATE bookings SET cancel_reason = '' WHERE lead_id = $1`, []any{l.ID}},
			// History keeps what happened, not who it was about.
			{`UPDATE lead_events SET detail = detail - 'name' - 'company' - 'email' WHERE lead_id = $1`, []any{l.ID}},
			{`UPDATE audit_log SET detail = detail - 'name' - 'company' - 'email' WHERE target_type = 'lead' AND target_id = $1`, []any{l.ID}},
			// Every stored message about the lead, to anyone, carries its details.
			{`UPDATE outbox SET subject = '(erased)', message = '\x00'::bytea,
				to_address = CASE WHEN audience = 'prospect' THEN $2 ELSE to_address END,
				status = CASE WHEN status = 'pending' THEN 'superseded' ELSE status END
			 WHERE booking_id IN (SELECT id FROM bookings WHERE lead_id = $1)
			    OR (audience = 'prospect' AND lower(to_address) = lower($3))`, []any{l.ID, erased, l.Email}},
		} {
			if _, err := tx.ExecContext(ctx, step.q, step.args...); err != nil {
				return fmt.Errorf("erase lead: %w", err)
			}
		}
		// Cancelled after erasing, so the consultants' notices name no one.
		ids, err := s.bookings.cancelForErasure(ctx, tx, l.ID)
		if err != nil {
			return err
		}
		cancelled = ids
		return s.logChange(ctx, tx, l.ID, "lead_erased", map[string]string{"cancelled_bookings": strings.Join(cancelled, ",")})
	})
	if err == nil && len(cancelled) > 0 {
		s.bookings.mailQueued()
	}
	return err
}
