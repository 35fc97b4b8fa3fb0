package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"consultd/services"
)

type adminLeadPage struct {
	Page
	Lead        services.LeadRecord
	TeamLabel   string
	Confidence  int
	Inquiries   []inquiryView
	Bookings    []bookingRowView
	Timeline    []timelineView
	Next        []string
	Teams       []teamOption
	Banner      string
	FormError   string
	FormField   string // which action the error belongs to
	NoteDraft   string
	CanChange   bool
	CanErase    bool
	Now         time.Time
	ExportURL   string
	BaseActions string
}

type teamOption struct {
	ID, Label   string
	Consultants []services.Consultant
}

type inquiryView struct {
	services.InquiryRecord
	TeamLabel  string
	Confidence int
	Answers    []answerView
	Reasons    []reasonView
	SameAsLead bool
}

type answerView struct{ Question, Answer string }

type bookingRowView struct {
	services.Booking
	When      string
	TeamLabel string
	CanNoShow bool
	Payment   string // e.g. "CA$250.00, paid"
	CanRefund bool
}

type timelineView struct {
	At    time.Time
	Actor string
	Text  string
	Note  string
}

// adminLead shows one lead with everything about it. Consultants may read
// the leads they meet; only sales staff and admins see the actions.
func (h *Handler) adminLead(c *gin.Context) {
	h.renderLead(c, http.StatusOK, "", "")
}

func (h *Handler) renderLead(c *gin.Context, status int, field, formError string) {
	ctx := c.Request.Context()
	rec, err := h.leads.Record(ctx, c.Param("id"))
	if err != nil {
		h.fail(c, err)
		return
	}
	actor := services.ActorFrom(ctx)
	now := time.Now()
	p := adminLeadPage{
		Lead: rec, TeamLabel: teamLabel(rec.Team), Confidence: int(rec.Confidence*100 + 0.5),
		Next: services.NextStatuses(rec.Status), Banner: c.Query("done"), FormError: formError, FormField: field,
		NoteDraft: c.PostForm("note"), CanChange: actor.Staff() && !rec.ErasedAt.Valid, CanErase: actor.Admin() && !rec.ErasedAt.Valid,
		Now: now, BaseActions: "/admin/leads/" + rec.ID,
	}
	for _, inq := range rec.Inquiries {
		p.Inquiries = append(p.Inquiries, h.inquiryView(inq, rec.Lead))
	}
	for _, bk := range rec.Bookings {
		p.Bookings = append(p.Bookings, bookingRowView{
			Booking: bk, TeamLabel: teamLabel(bk.Team), When: services.FormatMeetingTime(bk.Start, bk.End, mustZone(bk.Timezone)),
			CanNoShow: p.CanChange && bk.Status == services.StatusConfirmed && !now.Before(bk.Start),
			Payment:   bookingPayment(bk), CanRefund: p.CanErase && bk.PaymentStatus == services.PaymentPaid,
		})
	}
	for _, e := range rec.Timeline() {
		p.Timeline = append(p.Timeline, timelineEntry(e))
	}
	if p.CanChange {
		if p.Teams, err = h.teamOptions(c); err != nil {
			h.fail(c, err)
			return
		}
	}
	p.Page = h.page(c, rec.Name+" · Lead", "")
	p.NoIndex = true
	c.HTML(status, "admin_lead", p)
}

func (h *Handler) teamOptions(c *gin.Context) ([]teamOption, error) {
	all, err := h.consultants.List(c.Request.Context())
	if err != nil {
		return nil, err
	}
	out := []teamOption{{ID: services.TeamDjango, Label: "Django"}, {ID: services.TeamNodeJS, Label: "Node.js"}}
	for _, con := range all {
		for i := range out {
			if out[i].ID == con.Team && con.Active {
				out[i].Consultants = append(out[i].Consultants, con)
			}
		}
	}
	return out, nil
}

func (h *Handler) inquiryView(inq services.InquiryRecord, lead services.Lead) inquiryView {
	v := inquiryView{InquiryRecord: inq, TeamLabel: teamLabel(inq.Team),
		SameAsLead: inq.Name == lead.Name && inq.Company == lead.Company && inq.Region == lead.Region && inq.Timezone == lead.Timezone}
	if inq.Assessment == nil {
		return v
	}
	a := *inq.Assessment
	v.Confidence = int(a.Result.Confidence*100 + 0.5)
	v.Reasons = h.resultView(a).Reasons
	for _, q := range h.assessments.Definition().Questions {
		for _, id := range a.Answers[q.ID] {
			for _, o := range q.Options {
				if o.ID == id {
					v.Answers = append(v.Answers, answerView{Question: q.Text, Answer: o.Label})
				}
			}
		}
	}
	return v
}

// timelineEntry says in words what happened.
func timelineEntry(e services.TimelineEntry) timelineView {
	v := timelineView{At: e.At, Actor: e.Actor}
	d := e.Detail
	switch e.Kind {
	case "note":
		v.Text, v.Note = "Note", e.Note.Body
	case "mail":
		v.Text = fmt.Sprintf("Mail %q to %s: %s", e.Mail.Kind, e.Mail.To, e.Mail.Status)
	case "lead_created":
		v.Text = "Lead created from the first submission (" + teamLabel(d["team"]) + ")"
	case "inquiry_received":
		v.Text = "Another submission received (" + teamLabel(d["team"]) + ")"
	case "booked":
		v.Text = "Booked " + d["start"] + " with " + d["consultant"]
	case "booking_rescheduled":
		v.Text = "Booking moved from " + d["from"] + " to " + d["to"] + " (" + d["consultant"] + ")"
	case "booking_cancelled":
		v.Text = "Booking of " + d["start"] + " cancelled"
	case "existing_booking_mailed":
		v.Text = "Asked to book again while a consultation was upcoming; the manage link was mailed to the address on file"
	case "status_changed":
		v.Text = "Status " + d["from"] + " → " + d["to"]
	case "reassigned":
		v.Text = "Reassigned from " + teamLabel(d["from_team"]) + " to " + teamLabel(d["to_team"])
		if d["consultant"] != "" {
			v.Text += " (" + d["consultant"] + ")"
		}
	case "inquiry_accepted":
		v.Text = "Details of a later submission accepted: " + d["name"] + ", " + d["company"]
	case "no_show":
		v.Text = "Marked as a no-show for " + d["start"]
	case "lead_erased":
		v.Text = "Personal data erased on request"
	default:
		v.Text = e.Kind
	}
	return v
}

// leadAction runs one staff change and redirects back to the lead with a
// banner; a refusal shows the page again with the reason by the form.
func (h *Handler) leadAction(c *gin.Context, field, banner string, change func() error) {
	err := change()
	var svcErr *services.Error
	if errors.As(err, &svcErr) && (svcErr.Code == services.CodeInvalid || svcErr.Code == services.CodeConflict) {
		msg := svcErr.Message
		for _, m := range svcErr.Fields {
			msg = m
		}
		h.renderLead(c, statusByCode[svcErr.Code], field, msg)
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/admin/leads/"+c.Param("id")+"?done="+banner)
}

func (h *Handler) adminLeadStatus(c *gin.Context) {
	h.leadAction(c, "status", "status", func() error {
		return h.leads.SetStatus(c.Request.Context(), c.Param("id"), c.PostForm("status"))
	})
}

func (h *Handler) adminLeadNote(c *gin.Context) {
	h.leadAction(c, "note", "note", func() error {
		return h.leads.AddNote(c.Request.Context(), c.Param("id"), c.PostForm("note"))
	})
}

func (h *Handler) adminLeadReassign(c *gin.Context) {
	h.leadAction(c, "reassign", "reassigned", func() error {
		return h.leads.Reassign(c.Request.Context(), c.Param("id"), services.Reassignment{Team: c.PostForm("team"), ConsultantID: c.PostForm("consultant")})
	})
}

func (h *Handler) adminLeadAccept(c *gin.Context) {
	h.leadAction(c, "inquiries", "accepted", func() error {
		return h.leads.AcceptInquiry(c.Request.Context(), c.Param("id"), c.Param("inquiry"))
	})
}

func (h *Handler) adminLeadNoShow(c *gin.Context) {
	h.leadAction(c, "bookings", "no_show", func() error {
		return h.leads.MarkNoShow(c.Request.Context(), c.Param("id"), c.Param("booking"))
	})
}

// bookingPayment sums up a paid booking's payment for staff, or "free".
func bookingPayment(bk services.Booking) string {
	if !bk.Paid() {
		return "free"
	}
	s := services.FormatPrice(bk.AmountCents, bk.Currency) + ", " + paymentLabels[bk.PaymentStatus]
	if bk.RefundCents > 0 && bk.PaymentStatus == services.PaymentRefunded {
		s += " (" + services.FormatPrice(bk.RefundCents, bk.Currency) + ")"
	}
	return s
}

func (h *Handler) adminLeadRefund(c *gin.Context) {
	h.leadAction(c, "bookings", "refunded", func() error {
		return h.leads.RefundBooking(c.Request.Context(), c.Param("id"), c.Param("booking"))
	})
}

func (h *Handler) adminLeadErase(c *gin.Context) {
	h.leadAction(c, "erase", "erased", func() error {
		if c.PostForm("confirm") != "erase" {
			return services.Invalid(map[string]string{"confirm": "Type erase to confirm: this cannot be undone."})
		}
		return h.leads.Erase(c.Request.Context(), c.Param("id"))
	})
}

// adminLeadExport downloads the lead's data as JSON, for a data request.
func (h *Handler) adminLeadExport(c *gin.Context) {
	data, err := h.leads.Export(c.Request.Context(), c.Param("id"))
	if err != nil {
		h.fail(c, err)
		return
	}
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="lead-%s.json"`, c.Param("id")))
	c.Data(http.StatusOK, "application/json; charset=utf-8", data)
}
