// Package handlers translates HTTP into service calls and back: it parses
// requests, calls one service method and renders a page, JSON or a redirect.
package handlers

import (
	"crypto/subtle"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/gin-gonic/gin"
	"github.com/klauspost/compress/gzhttp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"consultd/services"
	"consultd/static"
	"consultd/templates"
)

// Config is what the HTTP layer needs to know about its deployment.
type Config struct {
	SiteName       string
	BaseURL        *url.URL
	AllowedHosts   []string
	TrustedProxies []string
	EmbedOrigins   []string
	MaxBodyBytes   int64
	Version        string
	RateLimits     RateLimits
	MetricsToken   string // when set, /metrics wants "Authorization: Bearer <token>"
	// Staff sessions end after this long without a request, and after
	// SessionLifetime in any case.
	SessionIdleTimeout time.Duration
	SessionLifetime    time.Duration
}

// Deps are the services the handlers call.
type Deps struct {
	Logger       *slog.Logger
	Registry     *prometheus.Registry
	Health       *services.Health
	Article      *services.Article
	Assessments  *services.Assessments
	Leads        *services.Leads
	Funnel       *services.Funnel
	Bookings     *services.Bookings
	Users        *services.Users
	Audit        *services.Audit
	Inbox        *services.Inbox
	Consultants  *services.Consultants
	Portal       *services.Portal
	Dashboard    *services.Dashboard
	Outbox       *services.Outbox
	SessionTypes *services.SessionTypes
	// PaymentsEnabled: paid session types are offered (Stripe is set up).
	PaymentsEnabled bool
	Feeds           *services.Feeds
	// RateLimits is the shared store of the per-network limits.
	RateLimits *services.RateLimits
	Busy       *services.BusyCalendars
	// SessionStore keeps staff sessions where every instance sees them.
	SessionStore scs.Store
}

// Handler holds what every route needs.
type Handler struct {
	cfg    Config
	log    *slog.Logger
	tmpl   *Templates
	assets *Assets
	health *services.Health
	reg    *prometheus.Registry
	limits limiters

	art         *services.Article
	faqJSON     template.JS
	assessments *services.Assessments
	leads       *services.Leads
	funnel      *services.Funnel
	bookings    *services.Bookings
	users       *services.Users
	audit       *services.Audit
	inbox       *services.Inbox
	consultants *services.Consultants
	portal      *services.Portal
	dashboard   *services.Dashboard
	outbox      *services.Outbox
	feeds       *services.Feeds
	busy        *services.BusyCalendars
	sessions    *scs.SessionManager

	sessionTypes    *services.SessionTypes
	paymentsEnabled bool

	articleCache sync.Map // variant → *cachedPage
	metrics      *httpMetrics
	hosts        hostSet
	slotAnswers  answerCache
}

// pageNames lists every page template a handler renders; all must exist at start.
var pageNames = []string{"article", "assessment", "result", "booking", "confirm", "manage", "reschedule", "reschedule_confirm", "email_sent", "retry", "error", "login", "admin_dashboard", "admin_outbox", "admin_outbox_message", "admin_audit", "portal", "admin_leads", "admin_lead", "admin_session_types", "admin_feeds", "admin_calendars"}

// New builds the whole HTTP stack: gin routes inside net/http's cross-origin
// protection, which refuses state-changing requests from other sites.
func New(cfg Config, deps Deps) (http.Handler, error) {
	assets, err := NewAssets(static.FS)
	if err != nil {
		return nil, err
	}
	h := &Handler{
		cfg: cfg, log: deps.Logger, assets: assets, health: deps.Health, reg: deps.Registry,
		limits: newLimiters(cfg.RateLimits, deps.RateLimits), art: deps.Article, assessments: deps.Assessments,
		leads: deps.Leads, funnel: deps.Funnel, bookings: deps.Bookings,
		users: deps.Users, audit: deps.Audit, inbox: deps.Inbox, consultants: deps.Consultants, portal: deps.Portal, dashboard: deps.Dashboard, outbox: deps.Outbox,
		feeds:    deps.Feeds,
		sessions: newSessionManager(deps.SessionStore, cfg), sessionTypes: deps.SessionTypes, paymentsEnabled: deps.PaymentsEnabled,
		busy: deps.Busy,
	}
	faq, err := deps.Article.FAQJSONLD()
	if err != nil {
		return nil, fmt.Errorf("FAQ JSON-LD: %w", err)
	}
	h.faqJSON = template.JS(faq) // json.Marshal escapes <, > and &, so it cannot close the script
	h.tmpl, err = LoadTemplates(templates.FS, template.FuncMap{"asset": assets.URL, "inc": inc, "selected": selected, "hasPrefix": strings.HasPrefix, "formatPrice": services.FormatPrice})
	if err != nil {
		return nil, err
	}
	if err := h.tmpl.Require(pageNames...); err != nil {
		return nil, err
	}

	h.metrics, h.hosts = newHTTPMetrics(deps.Registry), newHostSet(cfg.AllowedHosts)
	gin.SetMode(gin.ReleaseMode)
	engine := gin.New()
	if err := engine.SetTrustedProxies(cfg.TrustedProxies); err != nil {
		return nil, fmt.Errorf("trusted proxies: %w", err)
	}
	engine.HandleMethodNotAllowed = true
	engine.HTMLRender = h.tmpl
	engine.Use(
		requestID(),
		accessLog(h.log),
		h.metrics.middleware(),
		gin.CustomRecovery(h.recovered),
		hostAllowlist(cfg.AllowedHosts),
		securityHeaders(cfg.BaseURL.Scheme == "https"),
		bodyLimit(cfg.MaxBodyBytes),
		formBody(),
	)
	h.routes(engine)

	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(crossOriginDenied))
	compress, err := gzhttp.NewWrapper(gzhttp.MinSize(1024))
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	return h.articleFastPath(compress(headAsGet(cop.Handler(withStaffSessions(engine, h.sessions))))), nil
}

// withStaffSessions loads and saves sessions on the staff paths only.
func withStaffSessions(next http.Handler, sm *scs.SessionManager) http.Handler {
	staff := sm.LoadAndSave(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sessionPath(r.URL.Path) {
			staff.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (h *Handler) metricsHandler() gin.HandlerFunc {
	metrics := promhttp.HandlerFor(h.reg, promhttp.HandlerOpts{Registry: h.reg})
	want := []byte("Bearer " + h.cfg.MetricsToken)
	return func(c *gin.Context) {
		if h.cfg.MetricsToken != "" && subtle.ConstantTimeCompare([]byte(c.GetHeader("Authorization")), want) != 1 {
			c.Header("WWW-Authenticate", `Bearer realm="metrics"`)
			c.String(http.StatusUnauthorized, "Unauthorized: /metrics needs the METRICS_TOKEN bearer token.\n")
			return
		}
		metrics.ServeHTTP(c.Writer, c.Request)
	}
}

func crossOriginDenied(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusForbidden)
	fmt.Fprintln(w, "Forbidden: cross-origin requests that change data are refused.")
}

func inc(i int) int { return i + 1 }

func selected(sel map[string]map[string]bool, question, option string) bool {
	return sel[question][option]
}
