package handlers

import (
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"consultd/services"
)

type sessionTypesPage struct {
	Page
	Types           []services.SessionType
	Form            sessionTypeForm
	Errors          map[string]string
	FormError       string
	Saved           bool
	PaymentsEnabled bool
}

// sessionTypeForm is the edit form as typed; prices in the currency's units.
type sessionTypeForm struct {
	Slug, Name, Description, PriceCAD, PriceUSD, Position string
	Active                                                bool
}

// adminSessionTypes lists what prospects can book and lets admins edit it.
func (h *Handler) adminSessionTypes(c *gin.Context) {
	h.renderSessionTypes(c, http.StatusOK, sessionTypeForm{Active: true, Position: "10"}, nil, "")
}

func (h *Handler) renderSessionTypes(c *gin.Context, status int, form sessionTypeForm, errs map[string]string, formError string) {
	types, err := h.sessionTypes.All(c.Request.Context())
	if err != nil {
		h.fail(c, err)
		return
	}
	p := h.page(c, "Session types", "")
	p.NoIndex = true
	c.HTML(status, "admin_session_types", sessionTypesPage{Page: p, Types: types, Form: form, Errors: errs, FormError: formError,
		Saved: c.Query("done") == "saved", PaymentsEnabled: h.paymentsEnabled})
}

// saveSessionType creates or updates a type by its slug.
func (h *Handler) saveSessionType(c *gin.Context) {
	form := sessionTypeForm{
		Slug: c.PostForm("slug"), Name: c.PostForm("name"), Description: c.PostForm("description"),
		PriceCAD: c.PostForm("price_cad"), PriceUSD: c.PostForm("price_usd"), Position: c.PostForm("position"),
		Active: c.PostForm("active") == "yes",
	}
	errs := map[string]string{}
	cad, ok := cents(form.PriceCAD)
	if !ok {
		errs["price_cad"] = "Give an amount such as 250 or 250.00, or leave it empty for free."
	}
	usd, ok := cents(form.PriceUSD)
	if !ok {
		errs["price_usd"] = "Give an amount such as 190 or 190.00, or leave it empty for free."
	}
	position, err := strconv.Atoi(strings.TrimSpace(form.Position))
	if err != nil && strings.TrimSpace(form.Position) != "" {
		errs["position"] = "Give a whole number."
	}
	if len(errs) == 0 {
		err = h.sessionTypes.Save(c.Request.Context(), services.SessionTypeInput{
			Slug: form.Slug, Name: form.Name, Description: form.Description, PriceCAD: cad, PriceUSD: usd, Active: form.Active, Position: position,
		})
		if services.ErrorCode(err) != services.CodeInvalid {
			if err != nil {
				h.fail(c, err)
				return
			}
			c.Redirect(http.StatusSeeOther, "/admin/session-types?done=saved")
			return
		}
		errs = fieldErrors(err)
	}
	h.renderSessionTypes(c, http.StatusUnprocessableEntity, form, errs, "Please correct the highlighted fields.")
}

// cents reads "250", "250.5" or "250.00" as cents; empty is 0 (free).
func cents(s string) (int64, bool) {
	s = strings.TrimSpace(strings.ReplaceAll(s, ",", ""))
	if s == "" {
		return 0, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f > 100000 || math.IsNaN(f) {
		return 0, false
	}
	return int64(math.Round(f * 100)), true
}
