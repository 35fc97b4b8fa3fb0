package handlers

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
)

const (
	ctxRequestID = "request_id"
	ctxNonce     = "csp_nonce"
)

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{8,64}$`)

// requestID keeps a well-formed X-Request-ID from the proxy or makes one.
func requestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader("X-Request-ID")
		if !requestIDPattern.MatchString(id) {
			id = randomHex(16)
		}
		c.Set(ctxRequestID, id)
		c.Header("X-Request-ID", id)
		c.Next()
	}
}

// accessLog writes one structured line per request. It logs the route
// pattern, never the raw path or query: paths carry secret tokens and
// queries can carry personal data.
func accessLog(logger *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		level := slog.LevelInfo
		if c.Writer.Status() >= 500 {
			level = slog.LevelError
		}
		logger.LogAttrs(c.Request.Context(), level, "request",
			slog.String("request_id", c.GetString(ctxRequestID)),
			slog.String("method", c.Request.Method),
			slog.String("route", routeLabel(c)),
			slog.Int("status", c.Writer.Status()),
			slog.Int("bytes", c.Writer.Size()),
			slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
		)
	}
}

func routeLabel(c *gin.Context) string {
	if r := c.FullPath(); r != "" {
		return r
	}
	return "unmatched"
}

// httpMetrics counts requests and their latency per route pattern.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "consultd_http_requests_total", Help: "HTTP requests by method, route and status code.",
		}, []string{"method", "route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "consultd_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"method", "route"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

func (m *httpMetrics) middleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		m.observe(c.Request.Method, routeLabel(c), c.Writer.Status(), time.Since(start))
	}
}

func (m *httpMetrics) observe(method, route string, status int, took time.Duration) {
	method = methodLabel(method)
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(method, route).Observe(took.Seconds())
}

// hostAllowlist answers 400 to a Host header that is not ours, which stops
// cache poisoning and links built from a forged host. Probes and scrapers
// reach the instance by IP, so the operational endpoints are exempt.
func hostAllowlist(allowed []string) gin.HandlerFunc {
	hosts := newHostSet(allowed)
	return func(c *gin.Context) {
		switch c.Request.URL.Path {
		case "/healthz", "/readyz", "/metrics":
			c.Next()
			return
		}
		if hosts.allows(c.Request.Host) {
			c.Next()
			return
		}
		c.Header("Content-Type", "text/plain; charset=utf-8")
		c.String(http.StatusBadRequest, "Bad Request: this site does not answer to that host name.\n")
		c.Abort()
	}
}

// hostSet is the Host allowlist: exact host:port values, hosts on any
// port, or everything.
type hostSet struct {
	exact, anyPort map[string]bool
	wildcard       bool
}

func newHostSet(allowed []string) hostSet {
	s := hostSet{exact: map[string]bool{}, anyPort: map[string]bool{}}
	for _, h := range allowed {
		h = strings.ToLower(h)
		if h == "*" {
			s.wildcard = true
		} else if _, _, err := net.SplitHostPort(h); err == nil {
			s.exact[h] = true
		} else {
			s.anyPort[h] = true
		}
	}
	return s
}

func (s hostSet) allows(hostHeader string) bool {
	if s.wildcard {
		return true
	}
	host := strings.ToLower(hostHeader)
	name := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		name = h
		if strings.Contains(h, ":") {
			name = "[" + h + "]"
		}
	}
	return s.exact[host] || s.anyPort[name]
}

// securityHeaders sets the headers every response carries. The CSP allows
// only our own scripts plus inline ones carrying this request's nonce.
func securityHeaders(https bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		nonce := randomNonce()
		c.Set(ctxNonce, nonce)
		setSecurityHeaders(c.Writer.Header(), https, contentSecurityPolicy(nonce, "'none'"))
		c.Next()
	}
}

// setSecurityHeaders sets the headers every response carries, with csp.
func setSecurityHeaders(h http.Header, https bool, csp string) {
	h["Content-Security-Policy"] = []string{csp}
	fixed := fixedSecurityHeaders
	if https {
		fixed = securityHeadersHTTPS
	}
	for k, v := range fixed {
		h[k] = v // shared slices: net/http only reads them
	}
}

// fixedSecurityHeaders are the fixed ones, keys canonical, values ready.
var (
	fixedSecurityHeaders = http.Header{
		"X-Frame-Options":              {"DENY"},
		"X-Content-Type-Options":       {"nosniff"},
		"Referrer-Policy":              {"strict-origin-when-cross-origin"},
		"Cross-Origin-Opener-Policy":   {"same-origin"},
		"Cross-Origin-Resource-Policy": {"same-origin"},
		"Permissions-Policy":           {"camera=(), microphone=(), geolocation=(), payment=()"},
	}
	securityHeadersHTTPS = func() http.Header {
		h := fixedSecurityHeaders.Clone()
		h["Strict-Transport-Security"] = []string{"max-age=63072000; includeSubDomains"}
		return h
	}()
)

// contentSecurityPolicy is the CSP with scripts from this site only, plus
// inline ones carrying nonce when there is one.
func contentSecurityPolicy(nonce, frameAncestors string) string {
	scripts := "'self'"
	if nonce != "" {
		scripts += " 'nonce-" + nonce + "'"
	}
	return "default-src 'self'; script-src " + scripts + "; style-src 'self'; " +
		"img-src 'self' data:; font-src 'self'; connect-src 'self'; form-action 'self' https://checkout.stripe.com; " +
		"base-uri 'none'; object-src 'none'; frame-ancestors " + frameAncestors
}

// bodyLimit caps request bodies; a larger one fails to read with a 413.
func bodyLimit(n int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.Body != nil {
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, n)
		}
		c.Next()
	}
}

// formBody reads form posts, urlencoded or multipart, before any handler,
// so a malformed body is a 400 and an oversized one a 413, instead of
// fields silently read as empty.
func formBody() gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.Method != http.MethodPost {
			c.Next()
			return
		}
		var err error
		switch c.ContentType() {
		case "application/x-www-form-urlencoded":
			err = c.Request.ParseForm()
		case "multipart/form-data":
			err = parseMultipartValues(c.Request)
		default:
			c.Next()
			return
		}
		if err != nil {
			status, msg := http.StatusBadRequest, "Bad Request: the form could not be read. Please go back and try again.\n"
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				status, msg = http.StatusRequestEntityTooLarge, "Request Entity Too Large: the form is larger than we accept.\n"
			}
			c.Header("Content-Type", "text/plain; charset=utf-8")
			c.String(status, msg)
			c.Abort()
			return
		}
		c.Next()
	}
}

// parseMultipartValues fills r.Form and r.PostForm from a multipart body,
// as ParseForm does from an urlencoded one. Our forms upload nothing, so
// file parts are read past and dropped: unlike ParseMultipartForm, nothing
// is held in memory or spilled to temporary files.
func parseMultipartValues(r *http.Request) error {
	_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || params["boundary"] == "" {
		return errors.New("multipart body without a boundary")
	}
	if err := r.ParseForm(); err != nil { // the query only: ParseForm leaves multipart bodies alone
		return err
	}
	values := url.Values{}
	parts := multipart.NewReader(r.Body, params["boundary"])
	for {
		part, err := parts.NextPart()
		if err == io.EOF { // the closing boundary; a wrapped EOF is a cut-off body
			break
		}
		if err != nil {
			return err
		}
		if part.FormName() == "" || part.FileName() != "" {
			_, err = io.Copy(io.Discard, part)
		} else {
			var v strings.Builder
			if _, err = io.Copy(&v, part); err == nil {
				values.Add(part.FormName(), v.String())
			}
		}
		if err != nil {
			return err
		}
	}
	for k, vs := range values {
		r.PostForm[k] = append(r.PostForm[k], vs...)
		r.Form[k] = append(r.Form[k], vs...)
	}
	// gin's PostForm calls ParseMultipartForm, which returns at once when
	// MultipartForm is set, instead of finding the body already read.
	r.MultipartForm = &multipart.Form{Value: values, File: map[string][]*multipart.FileHeader{}}
	return nil
}

// knownMethods bounds the method label of the request metrics; anything
// else is "other", so made-up methods cannot grow the series without end.
var knownMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true,
}

func methodLabel(m string) string {
	if knownMethods[m] {
		return m
	}
	return "other"
}

// headAsGet answers HEAD like GET; net/http drops the body because the
// original request, which the response writer keeps, is still a HEAD.
func headAsGet(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			r = r.Clone(r.Context())
			r.Method = http.MethodGet
		}
		next.ServeHTTP(w, r)
	})
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}

func randomNonce() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawStdEncoding.EncodeToString(b)
}
