package handlers

import (
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"consultd/services"
)

const rateLimitMessage = "Too many attempts from your network. Please wait a few minutes and try again; what you typed is kept below."

// Rate is "Count requests per Per", with bursts up to Count.
type Rate struct {
	Count int
	Per   time.Duration
}

// ParseRate reads "N/duration", e.g. "10/10m".
func ParseRate(s string) (Rate, error) {
	n, per, ok := strings.Cut(strings.TrimSpace(s), "/")
	count, err := strconv.Atoi(n)
	if !ok || err != nil || count < 1 {
		return Rate{}, fmt.Errorf("rate %q: use N/duration such as 10/10m", s)
	}
	d, err := time.ParseDuration(per)
	if err != nil || d <= 0 {
		return Rate{}, fmt.Errorf("rate %q: use N/duration such as 10/10m", s)
	}
	if d/time.Duration(count) < time.Millisecond {
		return Rate{}, fmt.Errorf("rate %q: at most one request per millisecond; use a longer duration", s)
	}
	return Rate{Count: count, Per: d}, nil
}

// ipLimiter limits one kind of request per client network, counting in
// the shared store so every instance sees the same buckets.
type ipLimiter struct {
	name    string
	enabled bool
	rate    Rate
	store   *services.RateLimits
}

func newIPLimiter(name string, r Rate, enabled bool, store *services.RateLimits) *ipLimiter {
	return &ipLimiter{name: name, enabled: enabled, rate: r, store: store}
}

// allow spends one request of the client's allowance; over it, it sets
// Retry-After. When the store cannot be reached the request goes ahead:
// it needs the database anyway and will fail there politely.
func (l *ipLimiter) allow(c *gin.Context) bool {
	if !l.enabled {
		return true
	}
	ok, wait, err := l.store.Take(c.Request.Context(), l.name+":"+clientKey(c.ClientIP()), l.rate.Count, l.rate.Per)
	if err != nil || ok {
		return true
	}
	c.Header("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
	return false
}

// clientKey groups IPv6 clients by their /64, the block one subscriber
// usually holds, so rotating addresses within it buys no extra attempts.
func clientKey(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil || addr.Is4() || addr.Is4In6() {
		return ip
	}
	prefix, err := addr.Prefix(64)
	if err != nil {
		return ip
	}
	return prefix.String()
}

// RateLimits are the per-IP limits on submissions.
type RateLimits struct {
	Enabled     bool
	Assessments Rate
	Leads       Rate
	Bookings    Rate
	Feeds       Rate // calendar feed fetches
}

type limiters struct {
	assessments *ipLimiter
	leads       *ipLimiter
	bookings    *ipLimiter
	feeds       *ipLimiter
}

func newLimiters(cfg RateLimits, store *services.RateLimits) limiters {
	return limiters{
		assessments: newIPLimiter("assessments", cfg.Assessments, cfg.Enabled, store),
		leads:       newIPLimiter("leads", cfg.Leads, cfg.Enabled, store),
		bookings:    newIPLimiter("bookings", cfg.Bookings, cfg.Enabled, store),
		feeds:       newIPLimiter("feeds", cfg.Feeds, cfg.Enabled, store),
	}
}

func (h *Handler) tooManyRequests(c *gin.Context) {
	h.respondError(c, http.StatusTooManyRequests, "rate_limited", "Too many requests from your network. Please wait a few minutes and try again.")
}
