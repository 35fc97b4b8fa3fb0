package handlers

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html/template"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"consultd/services"
)

type articlePage struct {
	Page
	Article  *services.Article
	FAQJSON  template.JS
	Form     assessmentForm
	LeadForm leadForm
}

// article serves the comparison with the assessment inside it. The page has
// no per-request content beyond the landing attribution, so it carries an
// ETag and answers 304 to a repeat visit.
func (h *Handler) article(c *gin.Context) {
	p := h.page(c, h.art.Title, h.art.Description)
	p.Canonical = h.cfg.BaseURL.String() + "/"
	p.OGType = "article"
	data := articlePage{Page: p, Article: h.art, FAQJSON: h.faqJSON, Form: h.newAssessmentForm(c, landingAttribution(c)), LeadForm: h.newLeadForm(c, "")}
	if c.Request.Method == http.MethodGet {
		h.funnel.Count(services.StageArticleViewed)
	}
	h.renderWithETag(c, "article", data)
}

// renderWithETag renders into memory, then answers 304 when the client
// already has these exact bytes.
func (h *Handler) renderWithETag(c *gin.Context, name string, data any) {
	var buf bytes.Buffer
	if err := h.tmpl.Instance(name, data).Render(&bufferWriter{header: http.Header{}, buf: &buf}); err != nil {
		h.fail(c, fmt.Errorf("render %s: %w", name, err))
		return
	}
	sum := sha256.Sum256(buf.Bytes())
	etag := `W/"` + hex.EncodeToString(sum[:12]) + `"`
	c.Header("ETag", etag)
	// private: the page carries the visitor's own attribution (referrer,
	// UTM) in hidden fields, which a shared cache must not hand to others.
	c.Header("Cache-Control", "private, max-age=0, must-revalidate")
	if inm := c.GetHeader("If-None-Match"); inm != "" && strings.Contains(inm, etag) {
		c.Status(http.StatusNotModified)
		return
	}
	c.Data(http.StatusOK, "text/html; charset=utf-8", buf.Bytes())
}

// bufferWriter lets a gin renderer write into memory.
type bufferWriter struct {
	header http.Header
	buf    *bytes.Buffer
}

func (w *bufferWriter) Header() http.Header         { return w.header }
func (w *bufferWriter) Write(p []byte) (int, error) { return w.buf.Write(p) }
func (w *bufferWriter) WriteHeader(int)             {}

// landingAttribution reads UTM parameters from the query and the referrer of
// a visit from another site.
func landingAttribution(c *gin.Context) services.Attribution {
	attr := services.Attribution{UTM: map[string]string{}}
	for _, k := range services.UTMKeys() {
		if v := c.Query(k); v != "" {
			attr.UTM[k] = v
		}
	}
	if ref := c.Request.Referer(); ref != "" && !strings.Contains(ref, "://"+c.Request.Host) {
		attr.Referrer = ref
	}
	return attr
}

func (h *Handler) robots(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=3600")
	c.String(http.StatusOK, "User-agent: *\nAllow: /\nDisallow: /api/\nDisallow: /leads/\nDisallow: /b/\nDisallow: /admin/\n\nSitemap: %s/sitemap.xml\n", h.cfg.BaseURL)
}

func (h *Handler) sitemap(c *gin.Context) {
	base := h.cfg.BaseURL.String()
	lastmod := h.art.Updated.Format("2006-01-02")
	c.Header("Cache-Control", "public, max-age=3600")
	c.Data(http.StatusOK, "application/xml; charset=utf-8", []byte(`<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url><loc>`+template.HTMLEscapeString(base+"/")+`</loc><lastmod>`+lastmod+`</lastmod><priority>1.0</priority></url>
  <url><loc>`+template.HTMLEscapeString(base+"/assessment")+`</loc><lastmod>`+lastmod+`</lastmod><priority>0.8</priority></url>
</urlset>
`))
}
