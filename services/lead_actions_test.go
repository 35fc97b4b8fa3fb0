package services_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"consultd/services"
)

// A reassigned lead takes its upcoming booking along at the same time: the
// old consultant gets a cancellation, the new one an invitation, the
// prospect an update; the event keeps its UID and SEQUENCE goes up.
func TestReassignMovesTheUpcomingBookingWithTheRightMail(t *testing.T) {
	f := newBookingFixture(t, 0)
	ana := f.mustConsultant(t, "ana@consult.example.com", "django", "America/Toronto", "mon-fri 09:00-17:00")
	nat := f.mustConsultant(t, "nat@consult.example.com", "nodejs", "America/Toronto", "mon-fri 09:00-17:00")
	inq := f.mustLead(t, "pat@acme.example.com", "django")
	bk, _, err := f.bookings.Book(context.Background(), services.NewBooking{InquiryID: inq.ID, Start: f.at(8, 10, 0)})
	if err != nil || bk.ConsultantID != ana.ID {
		t.Fatalf("book: %v", err)
	}
	f.db.MustExec(`UPDATE outbox SET status = 'sent'`)

	if err := f.leads.Reassign(staffCtx(services.RoleSales), inq.LeadID, services.Reassignment{Team: "nodejs"}); err != nil {
		t.Fatal(err)
	}
	moved, err := f.bookings.Get(context.Background(), bk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if moved.ConsultantID != nat.ID || moved.Team != "nodejs" || !moved.Start.Equal(bk.Start) || moved.UID != bk.UID || moved.Sequence != bk.Sequence+1 {
		t.Fatalf("booking after reassign = consultant %s team %s start %s seq %d", moved.ConsultantName, moved.Team, moved.Start, moved.Sequence)
	}
	var mails []struct {
		Kind    string `db:"kind"`
		To      string `db:"to_address"`
		Subject string `db:"subject"`
		Message string `db:"message"`
	}
	f.db.Select(&mails, `SELECT kind, to_address, subject, convert_from(message, 'UTF8') AS message FROM outbox WHERE status = 'pending' ORDER BY id`)
	var got []string
	for _, m := range mails {
		got = append(got, m.Kind+" → "+m.To)
	}
	want := "invite → pat@acme.example.com, consultant_cancel → ana@consult.example.com, consultant_notice → nat@consult.example.com"
	if strings.Join(got, ", ") != want {
		t.Fatalf("mail = %v\nwant %s", got, want)
	}
	if !strings.HasPrefix(mails[0].Subject, "Updated: Node.js consultation") || !strings.Contains(mailText(t, mails[0].Message), "now with nat") {
		t.Fatalf("the prospect's update: %q", mails[0].Subject)
	}
	for i, method := range []string{"METHOD:REQUEST", "METHOD:CANCEL", "METHOD:REQUEST"} {
		if body := mailText(t, mails[i].Message); !strings.Contains(body, method) || !strings.Contains(body, "SEQUENCE:1") {
			t.Errorf("%s lacks %s with SEQUENCE:1", mails[i].Kind, method)
		}
	}
	var team, consultant string
	f.db.QueryRow(`SELECT team, consultant_id FROM leads WHERE id = $1`, inq.LeadID).Scan(&team, &consultant)
	var audited int
	f.db.Get(&audited, `SELECT count(*) FROM audit_log WHERE action = 'reassigned' AND target_id = $1`, inq.LeadID)
	if team != "nodejs" || consultant != nat.ID || audited != 1 {
		t.Fatalf("lead team %s consultant %s, %d audit rows", team, consultant, audited)
	}
}

func TestReassignRefusesWhenNobodyIsFreeAndChangesNothing(t *testing.T) {
	f := newBookingFixture(t, 0)
	f.mustConsultant(t, "ana@consult.example.com", "django", "America/Toronto", "mon-fri 09:00-17:00")
	nat := f.mustConsultant(t, "nat@consult.example.com", "nodejs", "America/Toronto", "mon-fri 13:00-17:00")
	inq := f.mustLead(t, "pat@acme.example.com", "django")
	bk, _, err := f.bookings.Book(context.Background(), services.NewBooking{InquiryID: inq.ID, Start: f.at(8, 10, 0)})
	if err != nil {
		t.Fatal(err)
	}
	for _, to := range []services.Reassignment{{Team: "nodejs"}, {ConsultantID: nat.ID}} {
		err := f.leads.Reassign(staffCtx(services.RoleSales), inq.LeadID, to)
		var e *services.Error
		if !errors.As(err, &e) || e.Code != services.CodeConflict {
			t.Fatalf("reassign to %+v while nobody there is free: %v, want a conflict", to, err)
		}
	}
	after, _ := f.bookings.Get(context.Background(), bk.ID)
	var team string
	f.db.Get(&team, `SELECT team FROM leads WHERE id = $1`, inq.LeadID)
	if after.ConsultantID != bk.ConsultantID || after.Sequence != bk.Sequence || team != "django" {
		t.Fatal("a refused reassignment changed something")
	}
	if err := f.leads.Reassign(staffCtx(services.RoleSales), inq.LeadID, services.Reassignment{Team: "django", ConsultantID: nat.ID}); services.ErrorCode(err) != services.CodeInvalid {
		t.Fatalf("a Node.js consultant for the Django team: %v, want invalid", err)
	}
	if err := f.leads.Reassign(context.Background(), inq.LeadID, services.Reassignment{Team: "nodejs"}); !errors.Is(err, services.ErrForbidden) {
		t.Fatalf("reassign without a staff member: %v, want forbidden", err)
	}
}

func TestStatusWorkflowAndNoShow(t *testing.T) {
	f := newBookingFixture(t, 0)
	f.mustConsultant(t, "ana@consult.example.com", "django", "America/Toronto", "mon-fri 09:00-17:00")
	inq := f.mustLead(t, "pat@acme.example.com", "django")
	ctx := staffCtx(services.RoleSales)
	for _, step := range []struct {
		to string
		ok bool
	}{{"won", false}, {"booked", false}, {"contacted", true}, {"new", false}, {"qualified", true}, {"won", true}, {"qualified", true}, {"lost", true}, {"contacted", true}} {
		err := f.leads.SetStatus(ctx, inq.LeadID, step.to)
		if (err == nil) != step.ok {
			t.Fatalf("→ %s: %v, want ok=%v", step.to, err, step.ok)
		}
	}
	var contacted bool
	f.db.Get(&contacted, `SELECT first_contacted_at IS NOT NULL FROM leads WHERE id = $1`, inq.LeadID)
	if !contacted {
		t.Fatal("the first contact was not recorded")
	}

	bk, _, err := f.bookings.Book(context.Background(), services.NewBooking{InquiryID: inq.ID, Start: f.at(8, 10, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.leads.MarkNoShow(ctx, inq.LeadID, bk.ID); services.ErrorCode(err) != services.CodeConflict {
		t.Fatalf("no-show before the meeting: %v, want a conflict", err)
	}
	f.clock.Set(f.at(8, 10, 20))
	if err := f.leads.MarkNoShow(ctx, inq.LeadID, bk.ID); err != nil {
		t.Fatal(err)
	}
	other := f.mustLead(t, "other@acme.example.com", "django")
	if err := f.leads.MarkNoShow(ctx, other.LeadID, bk.ID); services.ErrorCode(err) != services.CodeNotFound {
		t.Fatalf("no-show through another lead: %v, want not found", err)
	}
	got, _ := f.bookings.Get(context.Background(), bk.ID)
	if got.Status != "no_show" {
		t.Fatalf("status = %s", got.Status)
	}
}

func TestSafeSpreadsheetCell(t *testing.T) {
	for in, want := range map[string]string{
		`=HYPERLINK("x")`: `'=HYPERLINK("x")`, "+1": "'+1", "-2+3": "'-2+3", "@SUM(A1)": "'@SUM(A1)",
		"\tx": "'\tx", "\rx": "'\rx", "Acme": "Acme", "": "", "a=b": "a=b",
	} {
		if got := services.SafeSpreadsheetCell(in); got != want {
			t.Errorf("SafeSpreadsheetCell(%q) = %q, want %q", in, got, want)
		}
	}
}
