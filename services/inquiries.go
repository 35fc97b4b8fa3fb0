package services

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Inquiry is one submission of the contact form, exactly as typed, attached
// to the lead of its email. Its id is the only one a prospect's browser
// holds: slots, bookings and the /leads/{id} pages work on it, so whoever
// types a known email reaches nothing but their own submission.
type Inquiry struct {
	ID                      string       `db:"id"`
	LeadID                  string       `db:"lead_id"`
	AssessmentID            string       `db:"assessment_id"`
	Name                    string       `db:"name"`
	Email                   string       `db:"email"`
	Company                 string       `db:"company"`
	Region                  string       `db:"region"`
	Timezone                string       `db:"timezone"`
	Message                 string       `db:"message"`
	Team                    string       `db:"team"`
	Referrer                string       `db:"referrer"`
	ExistingBookingMailedAt sql.NullTime `db:"existing_booking_mailed_at"`
	AcceptedAt              sql.NullTime `db:"accepted_at"`
	CreatedAt               time.Time    `db:"created_at"`
}

const inquiryColumns = `id, lead_id, COALESCE(assessment_id::text, '') AS assessment_id, name, email, company, region,
	timezone, message, team, referrer, existing_booking_mailed_at, accepted_at, created_at`

// ExistingBookingMailed reports whether this inquiry came in while its
// person already held an upcoming consultation, so the address on file was
// sent that booking's manage link instead of a second booking.
func (i Inquiry) ExistingBookingMailed() bool { return i.ExistingBookingMailedAt.Valid }

// CodeEmailSent marks a request answered by email to the address on file.
const CodeEmailSent = "email_sent"

// ErrExistingBookingMailed is the whole answer to someone who asks to book
// for an email that already holds an upcoming consultation. It says only
// that an email went out, so the caller learns nothing about the booking.
var ErrExistingBookingMailed = &Error{
	Code:    CodeEmailSent,
	Message: "We've sent the next step to the email address you entered. Please check your inbox.",
}

// Inquiry returns the submission a prospect's browser holds.
func (s *Leads) Inquiry(ctx context.Context, id string) (Inquiry, error) {
	return getInquiry(ctx, s.db, id)
}

// getInquiry reads an inquiry for the prospect's flow; an erased lead's
// inquiries are gone from it.
func getInquiry(ctx context.Context, q sqlx.QueryerContext, id string) (Inquiry, error) {
	return readInquiry(ctx, q, id, inquiryOfLiveLead)
}

// inquiryOfLiveLead, after a WHERE on inquiries, leaves out the inquiries
// of erased leads.
const inquiryOfLiveLead = `AND NOT EXISTS (SELECT 1 FROM leads WHERE leads.id = inquiries.lead_id AND erased_at IS NOT NULL)`

// getInquiryAny reads an inquiry whatever became of its lead, for staff.
func getInquiryAny(ctx context.Context, q sqlx.QueryerContext, id string) (Inquiry, error) {
	return readInquiry(ctx, q, id, "")
}

func readInquiry(ctx context.Context, q sqlx.QueryerContext, id, and string) (Inquiry, error) {
	if !ValidUUID(id) {
		return Inquiry{}, ErrNotFound
	}
	var inq Inquiry
	err := getPrepared(ctx, q, &inq, `SELECT `+inquiryColumns+` FROM inquiries WHERE id = $1 `+and, id)
	if errors.Is(err, sql.ErrNoRows) {
		return Inquiry{}, ErrNotFound
	}
	if err != nil {
		return Inquiry{}, fmt.Errorf("get inquiry: %w", err)
	}
	return inq, nil
}

// insertInquiry stores the submission as typed.
func insertInquiry(ctx context.Context, tx *sqlx.Tx, leadID string, in NewLead, team string, attr Attribution) (Inquiry, error) {
	utm := jsonArg(attr.UTM)
	var inq Inquiry
	err := tx.GetContext(ctx, &inq, `
		INSERT INTO inquiries (lead_id, assessment_id, name, email, company, region, timezone, message, team, utm, referrer)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		RETURNING `+inquiryColumns,
		leadID, in.AssessmentID, in.Name, in.Email, in.Company, in.Region, in.Timezone, in.Message, team, utm, attr.Referrer)
	if err != nil {
		return Inquiry{}, translatePQ(err, "Those details could not be saved.", "insert inquiry")
	}
	return inq, nil
}

// mailExistingBooking sends the address on file the manage link of its
// upcoming booking, once per inquiry, and marks the inquiry so its pages
// offer no second booking.
func (b *Bookings) mailExistingBooking(ctx context.Context, tx *sqlx.Tx, inquiryID, bookingID string) error {
	res, err := tx.ExecContext(ctx, `
		UPDATE inquiries SET existing_booking_mailed_at = $2 WHERE id = $1 AND existing_booking_mailed_at IS NULL`, inquiryID, b.now())
	if err != nil {
		return fmt.Errorf("mark inquiry mailed: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
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
	var onFile string
	if err := tx.GetContext(ctx, &onFile, `SELECT email FROM leads WHERE id = $1`, bk.LeadID); err != nil {
		return fmt.Errorf("lead address: %w", err)
	}
	d.Prospect = Person{Email: onFile}
	if _, err := b.enqueueProspect(ctx, tx, bk.ID, KindExistingBooking, d, ExistingBookingEmail); err != nil {
		return err
	}
	return leadEvent(ctx, tx, bk.LeadID, "existing_booking_mailed", map[string]string{"inquiry_id": inquiryID, "booking_id": bk.ID})
}
