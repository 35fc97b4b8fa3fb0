package handlers

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"consultd/services"
)

// assessmentForm is the questionnaire with the visitor's choices and errors.
type assessmentForm struct {
	Questions   []services.Question
	Version     string
	Selected    map[string]map[string]bool
	Errors      map[string]string
	Attribution services.Attribution
	UTMKeys     []string
	Action      string
	Embed       bool
	FormError   string
}

func (h *Handler) newAssessmentForm(c *gin.Context, attr services.Attribution) assessmentForm {
	def := h.assessments.Definition()
	embed := isEmbed(c)
	action := "/assessment"
	if embed {
		action += "?embed=1"
	}
	return assessmentForm{
		Questions: def.Questions, Version: def.Version, Selected: map[string]map[string]bool{},
		Attribution: attr, UTMKeys: services.UTMKeys(), Action: action, Embed: embed,
	}
}

type assessmentPage struct {
	Page
	Form     assessmentForm
	LeadForm leadForm
}

// assessmentStandalone serves the questionnaire on its own page; the partner
// embed is the same page in embed mode.
func (h *Handler) assessmentStandalone(c *gin.Context) {
	h.allowFramingIfEmbed(c)
	p := h.page(c, "Which backend fits your product? Take the assessment", "Ten questions about your workload and team; get a Django or Node.js recommendation and book a free 30-minute consultation.")
	c.HTML(http.StatusOK, "assessment", assessmentPage{Page: p, Form: h.newAssessmentForm(c, landingAttribution(c)), LeadForm: h.newLeadForm(c, "")})
}

func (h *Handler) embedAssessment(c *gin.Context) {
	q := c.Request.URL.Query()
	q.Set("embed", "1")
	c.Request.URL.RawQuery = q.Encode()
	h.assessmentStandalone(c)
}

// submitAssessment is the no-JavaScript path: a plain form POST, then a
// redirect to the result, or the same form again with the choices kept.
func (h *Handler) submitAssessment(c *gin.Context) {
	h.allowFramingIfEmbed(c)
	answers := answersFromForm(c.Request.PostForm, h.assessments.Definition())
	attr := services.Attribution{UTM: map[string]string{}, Referrer: c.PostForm("referrer")}
	for _, k := range services.UTMKeys() {
		attr.UTM[k] = c.PostForm(k)
	}
	attr = rememberedAttribution(c, attr)
	if !h.limits.assessments.allow(c) {
		form := h.newAssessmentForm(c, attr)
		form.Selected, form.FormError = selectedFrom(answers), rateLimitMessage
		h.renderAssessmentForm(c, http.StatusTooManyRequests, form)
		return
	}
	a, err := h.assessments.Submit(c.Request.Context(), services.NewAssessment{Answers: answers, Attribution: attr})
	if services.ErrorCode(err) == services.CodeInvalid {
		form := h.newAssessmentForm(c, attr)
		form.Selected, form.Errors = selectedFrom(answers), fieldErrors(err)
		form.FormError = "Please check the highlighted questions; your other answers are kept."
		h.renderAssessmentForm(c, http.StatusUnprocessableEntity, form)
		return
	}
	if services.IsUnavailable(err) {
		form := h.newAssessmentForm(c, attr)
		form.Selected = selectedFrom(answers)
		h.formUnavailable(c, err, func(status int, msg string) { form.FormError = msg; h.renderAssessmentForm(c, status, form) })
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	// Without JavaScript the start is only known once, at the first
	// complete submission; the page script reports it on the first answer.
	if c.PostForm("js_started") != "1" {
		h.countStarted(c)
	}
	c.Redirect(http.StatusSeeOther, withEmbed(c, "/assessment/"+a.ID))
}

func (h *Handler) renderAssessmentForm(c *gin.Context, status int, form assessmentForm) {
	p := h.page(c, "Which backend fits your product? Take the assessment", "")
	p.NoIndex = true
	c.HTML(status, "assessment", assessmentPage{Page: p, Form: form, LeadForm: h.newLeadForm(c, "")})
}

func answersFromForm(form url.Values, def *services.AssessmentDefinition) services.Answers {
	answers := services.Answers{}
	for _, q := range def.Questions {
		if vals := form[q.ID]; len(vals) > 0 {
			answers[q.ID] = vals
		}
	}
	return answers
}

func selectedFrom(answers services.Answers) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for q, ids := range answers {
		out[q] = map[string]bool{}
		for _, id := range ids {
			out[q][id] = true
		}
	}
	return out
}

func fieldErrors(err error) map[string]string {
	var e *services.Error
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}
