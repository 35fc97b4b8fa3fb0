package main

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	"consultd/handlers"
	"consultd/services"
)

// devSecretKey is the development default; production refuses to start with it.
const devSecretKey = "development-only-secret-key-change-me"

// config is every setting the binary reads, from the environment, once.
type config struct {
	Addr               string
	SiteName           string
	DatabaseURL        string
	BaseURL            *url.URL
	AllowedHosts       []string
	SecretKey          string
	AppEnv             string
	SMTPURL            string
	SMTPFrom           string
	Organizer          services.Person
	MailDir            string
	StripeSecretKey    string
	StripeWebhookKey   string
	StripeAPIURL       string
	TrustedProxies     []string
	EmbedOrigins       []string
	RateLimits         handlers.RateLimits
	MaxBodyBytes       int64
	LogLevel           string
	MetricsToken       string
	ShutdownTimeout    time.Duration
	BookingBuffer      time.Duration
	BookingMinNotice   time.Duration
	BookingHorizonDays int
	MaxReschedules     int
	ProspectMailPerDay int
	SessionIdleTimeout time.Duration
	SessionLifetime    time.Duration
	LoginLimits        services.LoginLimits
	RefundFullBefore   time.Duration
	PprofAddr          string
	BusyFetch          busyFetchConfig
}

// busyFetchConfig is how consultants' busy calendars are read.
type busyFetchConfig struct {
	Interval     time.Duration
	Timeout      time.Duration
	MaxBytes     int64
	AllowPrivate bool // fetches may reach loopback and private addresses
}

// loadConfig reads the environment and reports every problem at once, each
// phrased so an operator knows what to change.
func loadConfig(getenv func(string) string) (config, error) {
	env := func(key, fallback string) string {
		if v := strings.TrimSpace(getenv(key)); v != "" {
			return v
		}
		return fallback
	}
	var problems []string
	cfg := config{
		Addr:             env("ADDR", ":8080"),
		SiteName:         env("SITE_NAME", "Stackpoint Consulting"),
		DatabaseURL:      env("DATABASE_URL", ""),
		SecretKey:        env("SECRET_KEY", devSecretKey),
		AppEnv:           env("APP_ENV", "development"),
		SMTPURL:          env("SMTP_URL", ""),
		MailDir:          env("MAIL_DIR", "var/mail"),
		StripeSecretKey:  env("STRIPE_SECRET_KEY", ""),
		StripeWebhookKey: env("STRIPE_WEBHOOK_SECRET", ""),
		StripeAPIURL:     env("STRIPE_API_URL", ""),
		TrustedProxies:   splitList(getenv("TRUSTED_PROXIES")),
		EmbedOrigins:     splitList(getenv("EMBED_ORIGINS")),
		LogLevel:         env("LOG_LEVEL", "info"),
		MetricsToken:     env("METRICS_TOKEN", ""),
		PprofAddr:        env("PPROF_ADDR", ""),
	}

	switch cfg.AppEnv {
	case "development", "test", "production":
	default:
		problems = append(problems, fmt.Sprintf("APP_ENV=%q: use development, test or production", cfg.AppEnv))
	}
	if cfg.DatabaseURL == "" {
		problems = append(problems, "DATABASE_URL is empty: set it to a PostgreSQL URL such as postgres://user:pass@127.0.0.1:5432/consultd?sslmode=disable (make run sets one up for you)")
	}

	base, err := url.Parse(env("BASE_URL", "http://localhost:8080"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" ||
		strings.Trim(base.Path, "/") != "" || base.RawQuery != "" || base.Fragment != "" || base.User != nil {
		problems = append(problems, fmt.Sprintf("BASE_URL=%q: use the site's origin, such as https://consult.example.com (no path or query)", getenv("BASE_URL")))
		base, _ = url.Parse("http://localhost:8080")
	}
	base.Path = strings.TrimSuffix(base.Path, "/")
	cfg.BaseURL = base

	cfg.AllowedHosts = splitList(getenv("ALLOWED_HOSTS"))
	if len(cfg.AllowedHosts) == 0 && cfg.AppEnv != "production" {
		cfg.AllowedHosts = []string{base.Host, "localhost", "127.0.0.1", "[::1]"}
	}
	for _, h := range cfg.AllowedHosts {
		if strings.ContainsAny(h, "/ ") {
			problems = append(problems, fmt.Sprintf("ALLOWED_HOSTS entry %q: list host or host:port values, without scheme or path", h))
		}
	}
	for _, p := range cfg.TrustedProxies {
		if _, _, err := net.ParseCIDR(p); err != nil && net.ParseIP(p) == nil {
			problems = append(problems, fmt.Sprintf("TRUSTED_PROXIES entry %q: use an IP address or CIDR such as 10.0.0.0/8", p))
		}
	}
	for _, o := range cfg.EmbedOrigins {
		if u, err := url.Parse(o); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || o != u.Scheme+"://"+u.Host {
			problems = append(problems, fmt.Sprintf("EMBED_ORIGINS entry %q: use an origin such as https://partner.example.com", o))
		}
	}
	switch v := env("RATE_LIMITS", "on"); v {
	case "on", "off":
		cfg.RateLimits.Enabled = v == "on"
	default:
		problems = append(problems, fmt.Sprintf("RATE_LIMITS=%q: use on or off", v))
	}
	cfg.RateLimits.Assessments = parseRate(env("RATE_LIMIT_ASSESSMENTS", "30/10m"), "RATE_LIMIT_ASSESSMENTS", &problems)
	cfg.RateLimits.Leads = parseRate(env("RATE_LIMIT_LEADS", "10/10m"), "RATE_LIMIT_LEADS", &problems)
	cfg.RateLimits.Bookings = parseRate(env("RATE_LIMIT_BOOKINGS", "20/10m"), "RATE_LIMIT_BOOKINGS", &problems)
	cfg.RateLimits.Feeds = parseRate(env("RATE_LIMIT_FEEDS", "120/10m"), "RATE_LIMIT_FEEDS", &problems)
	if cfg.SMTPURL != "" {
		if u, err := url.Parse(cfg.SMTPURL); err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Host == "" {
			problems = append(problems, fmt.Sprintf("SMTP_URL: use smtp://user:pass@host:587 or smtps://host:465 (got scheme %q)", schemeOf(cfg.SMTPURL)))
		}
	}
	cfg.SMTPFrom = env("SMTP_FROM", fmt.Sprintf("%q <consult@localhost>", cfg.SiteName))
	if addr, err := mail.ParseAddress(cfg.SMTPFrom); err != nil {
		problems = append(problems, fmt.Sprintf("SMTP_FROM=%q: use an address such as \"Consultations <consult@example.com>\"", cfg.SMTPFrom))
	} else {
		cfg.Organizer = services.Person{Name: addr.Name, Email: addr.Address}
		if cfg.Organizer.Name == "" {
			cfg.Organizer.Name = cfg.SiteName
		}
	}
	if cfg.StripeAPIURL != "" {
		if u, err := url.Parse(cfg.StripeAPIURL); err != nil || u.Host == "" {
			problems = append(problems, "STRIPE_API_URL: use an absolute URL such as http://127.0.0.1:12111")
		}
	}
	if cfg.PprofAddr != "" {
		if host, _, err := net.SplitHostPort(cfg.PprofAddr); err != nil || (host != "127.0.0.1" && host != "localhost" && host != "::1") {
			problems = append(problems, fmt.Sprintf("PPROF_ADDR=%q: use a loopback address such as 127.0.0.1:6060; profiles must not be public", cfg.PprofAddr))
		}
	}
	switch cfg.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		problems = append(problems, fmt.Sprintf("LOG_LEVEL=%q: use debug, info, warn or error", cfg.LogLevel))
	}

	cfg.MaxBodyBytes = parseInt(env("MAX_BODY_BYTES", "1048576"), "MAX_BODY_BYTES", 1024, 64<<20, &problems)
	cfg.ShutdownTimeout = parseDuration(env("SHUTDOWN_TIMEOUT", "20s"), "SHUTDOWN_TIMEOUT", &problems)
	cfg.BookingBuffer = parseDuration(env("BOOKING_BUFFER", "0s"), "BOOKING_BUFFER", &problems)
	cfg.BookingMinNotice = parseDuration(env("BOOKING_MIN_NOTICE", "4h"), "BOOKING_MIN_NOTICE", &problems)
	cfg.BookingHorizonDays = int(parseInt(env("BOOKING_HORIZON_DAYS", "30"), "BOOKING_HORIZON_DAYS", 1, 365, &problems))
	cfg.MaxReschedules = int(parseInt(env("BOOKING_MAX_RESCHEDULES", "5"), "BOOKING_MAX_RESCHEDULES", 0, 100, &problems))
	cfg.ProspectMailPerDay = int(parseInt(env("PROSPECT_MAIL_PER_DAY", "10"), "PROSPECT_MAIL_PER_DAY", 0, 10000, &problems))
	cfg.SessionIdleTimeout = parseDuration(env("SESSION_IDLE_TIMEOUT", "2h"), "SESSION_IDLE_TIMEOUT", &problems)
	cfg.SessionLifetime = parseDuration(env("SESSION_LIFETIME", "12h"), "SESSION_LIFETIME", &problems)
	if cfg.SessionIdleTimeout < time.Minute || cfg.SessionLifetime < cfg.SessionIdleTimeout {
		problems = append(problems, "SESSION_IDLE_TIMEOUT must be at least 1m and SESSION_LIFETIME at least as long")
	}
	cfg.RefundFullBefore = parseDuration(env("REFUND_FULL_BEFORE", "24h"), "REFUND_FULL_BEFORE", &problems)
	if cfg.StripeSecretKey != "" && cfg.StripeWebhookKey == "" {
		problems = append(problems, "STRIPE_WEBHOOK_SECRET is empty: with STRIPE_SECRET_KEY set, paid bookings are confirmed only by signed webhooks (whsec_... from the Stripe dashboard)")
	}
	cfg.LoginLimits = services.LoginLimits{
		PerAccount: int(parseInt(env("LOGIN_FAILURES_PER_ACCOUNT", "5"), "LOGIN_FAILURES_PER_ACCOUNT", 1, 1000, &problems)),
		PerNetwork: int(parseInt(env("LOGIN_FAILURES_PER_NETWORK", "50"), "LOGIN_FAILURES_PER_NETWORK", 1, 100000, &problems)),
		Window:     15 * time.Minute,
	}

	cfg.BusyFetch = loadBusyFetch(env, cfg.AppEnv, &problems)

	if cfg.AppEnv == "production" {
		problems = append(problems, cfg.productionProblems()...)
	}
	if len(problems) > 0 {
		return cfg, errors.New("configuration:\n  - " + strings.Join(problems, "\n  - "))
	}
	return cfg, nil
}

// loadBusyFetch reads the BUSY_FETCH_* settings. Private addresses are
// refused by default in production and allowed elsewhere, so a laptop or
// a test can serve a calendar from 127.0.0.1.
func loadBusyFetch(env func(key, fallback string) string, appEnv string, problems *[]string) busyFetchConfig {
	b := busyFetchConfig{
		Interval: durationIn(env("BUSY_FETCH_INTERVAL", "10m"), "BUSY_FETCH_INTERVAL", time.Minute, 24*time.Hour, problems),
		Timeout:  durationIn(env("BUSY_FETCH_TIMEOUT", "15s"), "BUSY_FETCH_TIMEOUT", time.Second, 2*time.Minute, problems),
		MaxBytes: parseInt(env("BUSY_FETCH_MAX_BYTES", "5242880"), "BUSY_FETCH_MAX_BYTES", 64<<10, 50<<20, problems),
	}
	fallback := "allow"
	if appEnv == "production" {
		fallback = "deny"
	}
	switch v := env("BUSY_FETCH_PRIVATE", fallback); v {
	case "allow", "deny":
		b.AllowPrivate = v == "allow"
	default:
		*problems = append(*problems, fmt.Sprintf("BUSY_FETCH_PRIVATE=%q: use allow or deny", v))
	}
	return b
}

// durationIn reads a duration that must lie in [lo, hi].
func durationIn(raw, key string, lo, hi time.Duration, problems *[]string) time.Duration {
	d, err := time.ParseDuration(raw)
	if err != nil || d < lo || d > hi {
		*problems = append(*problems, fmt.Sprintf("%s=%q: use a Go duration from %s to %s", key, raw, lo, hi))
		return lo
	}
	return d
}

// productionProblems is the deploy check: settings that are tolerable on a
// laptop but dangerous on the internet.
func (c config) productionProblems() []string {
	var problems []string
	if c.SecretKey == devSecretKey || len(c.SecretKey) < 32 {
		problems = append(problems, "SECRET_KEY must be at least 32 random characters in production (try: openssl rand -hex 32)")
	}
	if c.BaseURL.Scheme != "https" {
		problems = append(problems, "BASE_URL must use https in production")
	}
	if len(c.AllowedHosts) == 0 {
		problems = append(problems, "ALLOWED_HOSTS must list the host names this site answers to in production (e.g. consult.example.com)")
	}
	return problems
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if p := strings.TrimSpace(part); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func schemeOf(raw string) string {
	if i := strings.Index(raw, "://"); i > 0 {
		return raw[:i]
	}
	return ""
}

func parseInt(raw, key string, lo, hi int64, problems *[]string) int64 {
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || n < lo || n > hi {
		*problems = append(*problems, fmt.Sprintf("%s=%q: use a whole number from %d to %d", key, raw, lo, hi))
		return lo
	}
	return n
}

func parseRate(raw, key string, problems *[]string) handlers.Rate {
	r, err := handlers.ParseRate(raw)
	if err != nil {
		*problems = append(*problems, key+": "+err.Error())
		return handlers.Rate{Count: 1, Per: time.Minute}
	}
	return r
}

func parseDuration(raw, key string, problems *[]string) time.Duration {
	d, err := time.ParseDuration(raw)
	if err != nil || d < 0 {
		*problems = append(*problems, fmt.Sprintf("%s=%q: use a Go duration such as 30m or 4h", key, raw))
		return 0
	}
	return d
}
