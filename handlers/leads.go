package handlers

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"consultd/services"
)

// resultView is an assessment result ready to show.
type resultView struct {
	AssessmentID  string
	Team          string
	TeamLabel     string
	Confidence    float64
	ConfidencePct int
	Scores        services.Weights
	Reasons       []reasonView
}

type reasonView struct {
	Question string
	Answer   string
	Text     string
	Team     string
	URL      string
}

// leadForm is the contact form with what the prospect typed and the errors.
type leadForm struct {
	Action         string
	Values         services.NewLead
	Errors         map[string]string
	FormError      string
	Regions        []regionZones
	ConsentWording string
	Embed          bool
}

type regionZones struct {
	ID    string
	Label string
	Zones []services.Zone
}

type resultPage struct {
	Page
	Result resultView
	Lead   leadForm
}

func teamLabel(team string) string {
	if team == services.TeamNodeJS {
		return "Node.js"
	}
	return "Django"
}

func (h *Handler) resultView(a services.Assessment) resultView {
	def := h.assessments.Definition()
	v := resultView{
		AssessmentID: a.ID, Team: a.Result.Team, TeamLabel: teamLabel(a.Result.Team),
		Confidence: a.Result.Confidence, ConfidencePct: int(a.Result.Confidence*100 + 0.5), Scores: a.Result.Scores,
	}
	for _, r := range a.Result.Reasons {
		rv := reasonView{Text: r.Text, Team: r.Team, URL: h.sectionURL(r.Section)}
		for _, q := range def.Questions {
			if q.ID != r.QuestionID {
				continue
			}
			rv.Question = q.Text
			for _, o := range q.Options {
				if o.ID == r.OptionID {
					rv.Answer = o.Label
				}
			}
		}
		v.Reasons = append(v.Reasons, rv)
	}
	return v
}

func (h *Handler) sectionURL(section string) string { return h.cfg.BaseURL.String() + "/#" + section }

func (h *Handler) newLeadForm(c *gin.Context, assessmentID string) leadForm {
	f := leadForm{
		Action:         withEmbed(c, "/assessment/"+assessmentID+"/lead"),
		Values:         services.NewLead{AssessmentID: assessmentID},
		ConsentWording: services.ConsentWording,
		Embed:          isEmbed(c),
	}
	for _, r := range services.Regions() {
		f.Regions = append(f.Regions, regionZones{ID: r, Label: services.RegionLabel(r), Zones: services.ZonesFor(r)})
	}
	return f
}

// assessmentResult shows the recommendation and the contact form.
func (h *Handler) assessmentResult(c *gin.Context) {
	privateLink(c)
	h.allowFramingIfEmbed(c)
	a, err := h.assessments.Get(c.Request.Context(), c.Param("id"))
	if err != nil {
		h.fail(c, err)
		return
	}
	h.renderResult(c, http.StatusOK, a, h.newLeadForm(c, a.ID))
}

func (h *Handler) renderResult(c *gin.Context, status int, a services.Assessment, form leadForm) {
	res := h.resultView(a)
	p := h.page(c, "Your recommendation: "+res.TeamLabel, "")
	p.NoIndex = true
	c.HTML(status, "result", resultPage{Page: p, Result: res, Lead: form})
}

// consentChecked is the value of the consent checkbox in
// templates/partials/lead_form.html. Only it counts: a body made by hand
// with consent=false must not pass for a tick.
const consentChecked = "yes"

// submitLead is the no-JavaScript lead form. Any refusal shows the same form
// again with everything the prospect typed.
func (h *Handler) submitLead(c *gin.Context) {
	privateLink(c)
	h.allowFramingIfEmbed(c)
	ctx := c.Request.Context()
	a, err := h.assessments.Get(ctx, c.Param("id"))
	if err != nil && !(services.IsUnavailable(err) && services.ValidUUID(c.Param("id"))) {
		h.fail(c, err)
		return
	}
	form := h.newLeadForm(c, c.Param("id"))
	form.Values = services.NewLead{
		AssessmentID: c.Param("id"), Name: c.PostForm("name"), Email: c.PostForm("email"), Company: c.PostForm("company"),
		Region: c.PostForm("region"), Timezone: c.PostForm("timezone"), Message: c.PostForm("message"),
		Consent: c.PostForm("consent") == consentChecked, Website: c.PostForm("website"),
		IP: c.ClientIP(), UserAgent: c.Request.UserAgent(),
	}
	if err != nil {
		h.formUnavailable(c, err, func(status int, msg string) { form.FormError = msg; h.renderResult(c, status, a, form) })
		return
	}
	if !h.limits.leads.allow(c) {
		form.FormError = rateLimitMessage
		h.renderResult(c, http.StatusTooManyRequests, a, form)
		return
	}
	inq, err := h.leads.Capture(ctx, form.Values)
	if status, ok := formStatus(err); ok {
		form.Errors, form.FormError = fieldErrors(err), formMessage(err)
		h.renderResult(c, status, a, form)
		return
	}
	if services.IsUnavailable(err) {
		h.formUnavailable(c, err, func(status int, msg string) { form.FormError = msg; h.renderResult(c, status, a, form) })
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, withEmbed(c, "/leads/"+inq.ID))
}

// formStatus maps the refusals a form shows inline to their status.
func formStatus(err error) (int, bool) {
	switch services.ErrorCode(err) {
	case services.CodeInvalid:
		return http.StatusUnprocessableEntity, true
	case services.CodeConflict:
		return http.StatusConflict, true
	case services.CodeRejected:
		return http.StatusBadRequest, true
	}
	return 0, false
}

func formMessage(err error) string {
	if services.ErrorCode(err) == services.CodeInvalid {
		return "Please correct the highlighted fields."
	}
	var e *services.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return ""
}
