package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"consultd/services"
)

type apiOption struct {
	ID    string `json:"id"`
	Label string `json:"label"`
}

type apiQuestion struct {
	ID       string      `json:"id"`
	Text     string      `json:"text"`
	Help     string      `json:"help,omitempty"`
	Multiple bool        `json:"multiple"`
	Options  []apiOption `json:"options"`
}

// apiAssessmentDefinition serves the questions without their weights.
func (h *Handler) apiAssessmentDefinition(c *gin.Context) {
	def := h.assessments.Definition()
	qs := make([]apiQuestion, 0, len(def.Questions))
	for _, q := range def.Questions {
		aq := apiQuestion{ID: q.ID, Text: q.Text, Help: q.Help, Multiple: q.Multiple}
		for _, o := range q.Options {
			aq.Options = append(aq.Options, apiOption{ID: o.ID, Label: o.Label})
		}
		qs = append(qs, aq)
	}
	c.Header("Cache-Control", "public, max-age=300")
	c.JSON(http.StatusOK, gin.H{"version": def.Version, "questions": qs})
}

// flexibleAnswer accepts "option" or ["option", ...].
type flexibleAnswer []string

func (f *flexibleAnswer) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*f = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err // a type error, which the 400 names by field
	}
	*f = many
	return nil
}

// keyedMap is a JSON object whose values are all V. encoding/json leaves
// map keys out of type errors; this puts them in, so a client reads
// `field "answers.realtime"` instead of `field "answers"`.
type keyedMap[V any] map[string]V

func (m *keyedMap[V]) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil // as encoding/json does for a plain map
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	out := make(keyedMap[V], len(raw))
	for k, v := range raw {
		var val V
		if err := json.Unmarshal(v, &val); err != nil {
			var typ *json.UnmarshalTypeError
			if errors.As(err, &typ) {
				typ.Field = strings.TrimSuffix(k+"."+typ.Field, ".")
			}
			return err
		}
		out[k] = val
	}
	*m = out
	return nil
}

type apiAssessmentRequest struct {
	Answers  keyedMap[flexibleAnswer] `json:"answers"`
	UTM      keyedMap[string]         `json:"utm"`
	Referrer string                   `json:"referrer"`
	// StartedReported says this session already counted its start through
	// POST /api/v1/assessments/started, as the page script does.
	StartedReported bool `json:"started_reported"`
}

type apiReason struct {
	QuestionID string `json:"question_id"`
	OptionID   string `json:"option_id"`
	Text       string `json:"text"`
	Team       string `json:"team"`
	ArticleURL string `json:"article_url"`
}

type apiScores struct {
	Django int `json:"django"`
	NodeJS int `json:"nodejs"`
}

type apiAssessmentResponse struct {
	ID         string      `json:"id"`
	Version    string      `json:"version"`
	Team       string      `json:"team"`
	Confidence float64     `json:"confidence"`
	Scores     apiScores   `json:"scores"`
	Reasons    []apiReason `json:"reasons"`
}

func (h *Handler) apiSubmitAssessment(c *gin.Context) {
	var req apiAssessmentRequest
	if !h.limitedJSON(c, h.limits.assessments, &req) {
		return
	}
	answers := services.Answers{}
	for q, ids := range req.Answers {
		answers[q] = ids
	}
	a, err := h.assessments.Submit(c.Request.Context(), services.NewAssessment{
		Answers: answers, Attribution: rememberedAttribution(c, services.Attribution{UTM: req.UTM, Referrer: req.Referrer}),
	})
	if err != nil {
		h.fail(c, err)
		return
	}
	// A client that never reported the start still started; counting it
	// here keeps completed from outgrowing started.
	if !req.StartedReported {
		h.countStarted(c)
	}
	resp := apiAssessmentResponse{
		ID: a.ID, Version: a.Version, Team: a.Result.Team, Confidence: a.Result.Confidence,
		Scores:  apiScores{Django: a.Result.Scores.Django, NodeJS: a.Result.Scores.NodeJS},
		Reasons: []apiReason{},
	}
	for _, r := range a.Result.Reasons {
		resp.Reasons = append(resp.Reasons, apiReason{QuestionID: r.QuestionID, OptionID: r.OptionID, Text: r.Text, Team: r.Team, ArticleURL: h.sectionURL(r.Section)})
	}
	c.JSON(http.StatusCreated, resp)
}

// countStarted records a start; a failure to count never fails the
// prospect's request.
func (h *Handler) countStarted(c *gin.Context) {
	if err := h.assessments.CountStarted(c.Request.Context()); err != nil {
		h.log.Warn("counting a start failed", "request_id", c.GetString(ctxRequestID), "error", err)
	}
}

// apiAssessmentStarted is the page script's signal that a visitor answered
// the first question.
func (h *Handler) apiAssessmentStarted(c *gin.Context) {
	if !h.limits.assessments.allow(c) {
		h.tooManyRequests(c)
		return
	}
	h.countStarted(c)
	c.Status(http.StatusNoContent)
}

type apiLeadRequest struct {
	AssessmentID string           `json:"assessment_id"`
	Name         string           `json:"name"`
	Email        string           `json:"email"`
	Company      string           `json:"company"`
	Region       string           `json:"region"`
	Timezone     string           `json:"timezone"`
	Message      string           `json:"message"`
	Consent      bool             `json:"consent"`
	UTM          keyedMap[string] `json:"utm"`
	Referrer     string           `json:"referrer"`
	Website      string           `json:"website"`
}

func (h *Handler) apiCreateLead(c *gin.Context) {
	var req apiLeadRequest
	if !h.limitedJSON(c, h.limits.leads, &req) {
		return
	}
	in := services.NewLead{
		AssessmentID: req.AssessmentID, Name: req.Name, Email: req.Email, Company: req.Company,
		Region: req.Region, Timezone: req.Timezone, Message: req.Message, Consent: req.Consent,
		Website: req.Website, IP: c.ClientIP(), UserAgent: c.Request.UserAgent(),
	}
	if len(req.UTM) > 0 || req.Referrer != "" {
		in.Attribution = &services.Attribution{UTM: req.UTM, Referrer: req.Referrer}
	}
	inq, err := h.leads.Capture(c.Request.Context(), in)
	if err != nil {
		h.fail(c, err)
		return
	}
	// The same answer whether or not the email was known: "created" says a
	// new submission was recorded, which is always so.
	c.JSON(http.StatusCreated, gin.H{
		"id": inq.ID, "team": inq.Team, "region": inq.Region, "timezone": inq.Timezone,
		"created": true, "next_url": h.cfg.BaseURL.String() + "/leads/" + inq.ID,
	})
}

// limitedJSON applies the rate limit, then reads the JSON body; on failure
// it has answered.
func (h *Handler) limitedJSON(c *gin.Context, limit *ipLimiter, dst any) bool {
	if !limit.allow(c) {
		h.tooManyRequests(c)
		return false
	}
	return h.decodeJSON(c, dst)
}

// decodeJSON reads a body holding one JSON object, or answers 400 (empty,
// malformed, not an object, data after it) or 413 (too large).
func (h *Handler) decodeJSON(c *gin.Context, dst any) bool { return h.readJSON(c, dst, false) }

// decodeOptionalJSON is decodeJSON for a body the client may leave out. An
// empty body is known only by reading it: chunked or not, with or without
// Content-Length, so emptiness is judged on what arrives.
func (h *Handler) decodeOptionalJSON(c *gin.Context, dst any) bool { return h.readJSON(c, dst, true) }

var errDataAfterJSON = errors.New("data after the JSON object")

func (h *Handler) readJSON(c *gin.Context, dst any, optional bool) bool {
	dec := json.NewDecoder(c.Request.Body)
	err := dec.Decode(dst)
	if err == nil {
		err = nothingAfter(dec, c.Request.Body)
	}
	if err == nil || (optional && errors.Is(err, io.EOF)) {
		return true
	}
	var tooBig *http.MaxBytesError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooBig):
		h.respondError(c, http.StatusRequestEntityTooLarge, "too_large", "The request body is too large.")
	case errors.Is(err, io.EOF):
		h.respondError(c, http.StatusBadRequest, "bad_json", "The request body is empty; send a JSON object.")
	case errors.Is(err, errDataAfterJSON):
		h.respondError(c, http.StatusBadRequest, "bad_json", "The request body has data after the JSON object; send one object only.")
	case errors.As(err, &typ) && typ.Field == "":
		h.respondError(c, http.StatusBadRequest, "bad_json", "The request body must be a JSON object.")
	default:
		h.respondError(c, http.StatusBadRequest, "bad_json", fmt.Sprintf("The request body is not valid JSON: %s.", jsonProblem(err)))
	}
	return false
}

// nothingAfter reads the rest of the body: a second object or stray text
// after the first means the client sent something other than it thinks.
func nothingAfter(dec *json.Decoder, body io.Reader) error {
	rest, err := io.ReadAll(io.MultiReader(dec.Buffered(), body))
	if err != nil {
		return err
	}
	if len(bytes.Trim(rest, " \t\r\n")) > 0 {
		return errDataAfterJSON
	}
	return nil
}

func jsonProblem(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("syntax error at byte %d", syntax.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q has the wrong type", typ.Field)
	}
	return "it could not be read"
}
