package handlers

import (
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"
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

// ipLimiter keeps one token bucket per client IP. Buckets idle longer than
// their refill time are dropped, so memory follows active clients only.
type ipLimiter struct {
	enabled bool
	rate    Rate
	mu      sync.Mutex
	buckets map[string]*bucket
	calls   int
}

type bucket struct {
	limiter *rate.Limiter
	seen    time.Time
}

func newIPLimiter(r Rate, enabled bool) *ipLimiter {
	return &ipLimiter{enabled: enabled, rate: r, buckets: map[string]*bucket{}}
}

func (l *ipLimiter) allow(c *gin.Context) bool {
	if !l.enabled {
		return true
	}
	ok := l.allowKey(clientKey(c.ClientIP()), time.Now())
	if !ok {
		c.Header("Retry-After", strconv.Itoa(int(l.rate.Per.Seconds()/float64(l.rate.Count))+1))
	}
	return ok
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

func (l *ipLimiter) allowKey(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	if l.calls%1000 == 0 {
		for k, b := range l.buckets {
			if now.Sub(b.seen) > l.rate.Per {
				delete(l.buckets, k)
			}
		}
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{limiter: rate.NewLimiter(rate.Every(l.rate.Per/time.Duration(l.rate.Count)), l.rate.Count)}
		l.buckets[key] = b
	}
	b.seen = now
	return b.limiter.AllowN(now, 1)
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

func newLimiters(cfg RateLimits) limiters {
	return limiters{
		assessments: newIPLimiter(cfg.Assessments, cfg.Enabled),
		leads:       newIPLimiter(cfg.Leads, cfg.Enabled),
		bookings:    newIPLimiter(cfg.Bookings, cfg.Enabled),
		feeds:       newIPLimiter(cfg.Feeds, cfg.Enabled),
	}
}

func (h *Handler) tooManyRequests(c *gin.Context) {
	h.respondError(c, http.StatusTooManyRequests, "rate_limited", "Too many requests from your network. Please wait a few minutes and try again.")
}
