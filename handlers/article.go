package handlers

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

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

// article serves the comparison with the assessment inside it. Its bytes
// are the same for everyone (the landing attribution travels in a cookie,
// not in the page), so they are rendered and compressed once per variant
// and served as they are, with an ETag for repeat visits.
func (h *Handler) article(c *gin.Context) {
	rememberAttribution(c, h.cfg.BaseURL.Scheme == "https")
	page, err := h.cachedArticle(c)
	if err != nil {
		h.fail(c, err)
		return
	}
	if c.Request.Method == http.MethodGet {
		h.funnel.Count(services.StageArticleViewed)
	}
	// No inline script runs on this page, so it needs no per-request nonce.
	ancestors := "'none'"
	if isEmbed(c) {
		ancestors = "'self'"
		if len(h.cfg.EmbedOrigins) > 0 {
			ancestors += " " + strings.Join(h.cfg.EmbedOrigins, " ")
		}
		c.Writer.Header().Del("X-Frame-Options")
	}
	c.Header("Content-Security-Policy", contentSecurityPolicy("", ancestors))
	page.serve(c)
}

// articleFastPath answers the plain landing page, the site's busiest
// request, before gin: the bytes are ready, so what remains is what every
// response gets (security headers, request id, metrics, access log) done
// directly. Any other request, and the embed variant, goes to next.
func (h *Handler) articleFastPath(next http.Handler) http.Handler {
	csp := contentSecurityPolicy("", "'none'")
	https := h.cfg.BaseURL.Scheme == "https"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" || (r.Method != http.MethodGet && r.Method != http.MethodHead) ||
			strings.Contains(r.URL.RawQuery, "embed") || !h.hosts.allows(r.Host) {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		c := &gin.Context{Request: r, Writer: nil}
		page, err := h.cachedArticle(c)
		if err != nil {
			next.ServeHTTP(w, r)
			return
		}
		header := w.Header()
		id := r.Header.Get("X-Request-ID")
		if !requestIDPattern.MatchString(id) {
			id = randomHex(16)
		}
		header.Set("X-Request-ID", id)
		setSecurityHeaders(header, https, csp)
		rememberAttributionHTTP(w, r, https)
		if r.Method == http.MethodGet {
			h.funnel.Count(services.StageArticleViewed)
		}
		status := page.write(w, r)
		h.metrics.observe(r.Method, "/", status, time.Since(start))
		if h.log.Enabled(r.Context(), slog.LevelInfo) {
			h.log.LogAttrs(r.Context(), slog.LevelInfo, "request", slog.String("request_id", id), slog.String("method", r.Method),
				slog.String("route", "/"), slog.Int("status", status), slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000))
		}
	})
}

// cachedPage is a page rendered once: its bytes, gzipped bytes and ETag,
// and the header values of each encoding ready to assign, since setting
// headers one by one (canonical keys, a new slice each) showed in profiles
// of the landing page.
type cachedPage struct {
	plain, gzipped []byte
	etag           string
	plainHeader    http.Header
	gzipHeader     http.Header
}

// pageHeader is the header a cached page sends with body under etag.
func pageHeader(body []byte, etag, encoding string) http.Header {
	h := http.Header{"Etag": {etag}, "Content-Length": {strconv.Itoa(len(body))}, "Vary": {"Accept-Encoding"}}
	if encoding != "" {
		h["Content-Encoding"] = []string{encoding}
	}
	return h
}

func newCachedPage(plain []byte) (*cachedPage, error) {
	var gz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(plain); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(plain)
	etag := `"` + hex.EncodeToString(sum[:12]) + `"`
	gzipETag := etag[:len(etag)-1] + `-gz"`
	return &cachedPage{plain: plain, gzipped: gz.Bytes(), etag: etag,
		plainHeader: pageHeader(plain, etag, ""), gzipHeader: pageHeader(gz.Bytes(), gzipETag, "gzip")}, nil
}

// serve answers 304 to a client that has the bytes, and the gzipped bytes
// to one that takes them.
func (p *cachedPage) serve(c *gin.Context) { p.write(c.Writer, c.Request) }

// write sends the page and returns the status it sent.
func (p *cachedPage) write(w http.ResponseWriter, r *http.Request) int {
	h := w.Header()
	if h.Get("Cache-Control") == "" {
		h["Cache-Control"] = cacheControlPublic
	}
	if h.Get("Content-Type") == "" {
		h["Content-Type"] = contentTypeHTML
	}
	body, fixed := p.plain, p.plainHeader
	if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		body, fixed = p.gzipped, p.gzipHeader
	}
	for k, v := range fixed {
		h[k] = v // shared slices: net/http only reads them
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && strings.Contains(inm, fixed["Etag"][0]) {
		delete(h, "Content-Encoding")
		delete(h, "Content-Length")
		w.WriteHeader(http.StatusNotModified)
		return http.StatusNotModified
	}
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
	return http.StatusOK
}

var (
	cacheControlPublic = []string{"public, no-cache"}
	contentTypeHTML    = []string{"text/html; charset=utf-8"}
)

// cachedArticle renders the article for the variant (embed or not, and the
// year in the footer) on first use.
func (h *Handler) cachedArticle(c *gin.Context) (*cachedPage, error) {
	key := articleVariant{embed: isEmbed(c), year: time.Now().Year()}
	if p, ok := h.articleCache.Load(key); ok {
		return p.(*cachedPage), nil
	}
	p := h.page(c, h.art.Title, h.art.Description)
	p.Canonical = h.cfg.BaseURL.String() + "/"
	p.OGType = "article"
	p.Nonce = ""
	data := articlePage{Page: p, Article: h.art, FAQJSON: h.faqJSON, Form: h.newAssessmentForm(c, services.Attribution{}), LeadForm: h.newLeadForm(c, "")}
	var buf bytes.Buffer
	if err := h.tmpl.Instance("article", data).Render(&bufferWriter{header: http.Header{}, buf: &buf}); err != nil {
		return nil, fmt.Errorf("render article: %w", err)
	}
	page, err := newCachedPage(buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("compress article: %w", err)
	}
	h.articleCache.Store(key, page)
	return page, nil
}

// articleVariant names one rendering of the article.
type articleVariant struct {
	embed bool
	year  int
}

// bufferWriter lets a gin renderer write into memory.
type bufferWriter struct {
	header http.Header
	buf    *bytes.Buffer
}

func (w *bufferWriter) Header() http.Header         { return w.header }
func (w *bufferWriter) Write(p []byte) (int, error) { return w.buf.Write(p) }
func (w *bufferWriter) WriteHeader(int)             {}

// attributionCookie carries the first touch (UTM parameters and the
// referrer of a visit from another site) from the landing page to the
// forms, so the landing page can be the same bytes for everyone.
const attributionCookie = "consultd_attr"

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

// rememberAttribution sets the first-touch cookie on a landing with
// attribution, unless the visitor already has one.
func rememberAttribution(c *gin.Context, secure bool) {
	rememberAttributionHTTP(c.Writer, c.Request, secure)
}

func rememberAttributionHTTP(w http.ResponseWriter, r *http.Request, secure bool) {
	if r.URL.RawQuery == "" && r.Referer() == "" {
		return // the common case, with nothing to remember
	}
	attr := landingAttribution(&gin.Context{Request: r})
	if len(attr.UTM) == 0 && attr.Referrer == "" {
		return
	}
	if _, err := r.Cookie(attributionCookie); err == nil {
		return
	}
	v := url.Values{}
	for k, val := range attr.UTM {
		v.Set(k, truncateText(val, 200))
	}
	if attr.Referrer != "" {
		v.Set("referrer", truncateText(attr.Referrer, 500))
	}
	http.SetCookie(w, &http.Cookie{Name: attributionCookie, Value: v.Encode(), Path: "/", MaxAge: 30 * 24 * 3600,
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode})
}

// rememberedAttribution is the first touch a form carries: its own fields
// when it has them, otherwise the cookie set on the landing page.
func rememberedAttribution(c *gin.Context, fromForm services.Attribution) services.Attribution {
	for _, v := range fromForm.UTM {
		if v != "" {
			return fromForm
		}
	}
	if fromForm.Referrer != "" {
		return fromForm
	}
	raw, err := c.Cookie(attributionCookie)
	if err != nil {
		return fromForm
	}
	v, err := url.ParseQuery(raw)
	if err != nil {
		return fromForm
	}
	attr := services.Attribution{UTM: map[string]string{}, Referrer: v.Get("referrer")}
	for _, k := range services.UTMKeys() {
		if val := v.Get(k); val != "" {
			attr.UTM[k] = val
		}
	}
	return attr
}

func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
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

// answerCache keeps encoded answers by a key naming their exact content;
// "" is never kept. Past its size it starts again.
type answerCache struct {
	mu      sync.Mutex
	entries map[string]*cachedPage
}

const maxCachedAnswers = 512

func (a *answerCache) get(key string) (*cachedPage, bool) {
	if key == "" {
		return nil, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	p, ok := a.entries[key]
	return p, ok
}

func (a *answerCache) put(key string, p *cachedPage) {
	if key == "" {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.entries == nil || len(a.entries) >= maxCachedAnswers {
		a.entries = map[string]*cachedPage{}
	}
	a.entries[key] = p
}
