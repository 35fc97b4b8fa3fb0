package handlers

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/klauspost/compress/gzhttp"

	"consultd/services"
)

// feedGzipMin is the smallest feed worth compressing.
const feedGzipMin = 1024

// calendarFeed serves /feeds/{token}.ics to calendar apps: a strong ETag
// over the bytes sent, 304 to a client that already has them, and a copy
// any cache must check before use. Calendar apps get plain-text errors.
func (h *Handler) calendarFeed(c *gin.Context) {
	c.Header("Cache-Control", "private, no-cache")
	c.Header("Referrer-Policy", "no-referrer")
	c.Header("X-Robots-Tag", "noindex")
	// The feed compresses itself, so its ETag can name the encoding.
	c.Header(gzhttp.HeaderNoCompression, "1")
	if !h.limits.feeds.allow(c) {
		feedError(c, http.StatusTooManyRequests, "Too Many Requests: this network fetches calendar feeds too often; try again later.")
		return
	}
	token, ok := strings.CutSuffix(c.Param("file"), ".ics")
	if !ok {
		h.feedFailed(c, services.ErrNotFound)
		return
	}
	body, err := h.feeds.Calendar(c.Request.Context(), token)
	if err != nil {
		h.feedFailed(c, err)
		return
	}
	sum := sha256.Sum256(body)
	tag := hex.EncodeToString(sum[:16])
	gz := len(body) >= feedGzipMin && acceptsGzip(c.GetHeader("Accept-Encoding"))
	if gz {
		tag += "-gzip" // another encoding is another representation, with its own strong validator
	}
	etag := `"` + tag + `"`
	c.Header("ETag", etag)
	c.Header("Vary", "Accept-Encoding")
	if etagMatches(c.GetHeader("If-None-Match"), etag) {
		c.Status(http.StatusNotModified)
		return
	}
	if gz {
		body = gzipBytes(body)
		c.Header("Content-Encoding", "gzip")
	}
	c.Header("Content-Disposition", `inline; filename="bookings.ics"`)
	c.Data(http.StatusOK, "text/calendar; charset=utf-8", body)
}

// feedFailed answers a failed feed in plain text: a missing or replaced
// feed is 404, an outage 503 with Retry-After, anything else 500 and logged.
func (h *Handler) feedFailed(c *gin.Context, err error) {
	switch {
	case errors.Is(err, services.ErrNotFound):
		feedError(c, http.StatusNotFound, "Not Found: no calendar feed has this address. It may have been replaced; ask for the new one.")
	case services.IsUnavailable(err):
		h.log.Warn("database unavailable", "request_id", c.GetString(ctxRequestID), "route", routeLabel(c), "error", err)
		c.Header("Retry-After", retryAfterSeconds)
		feedError(c, http.StatusServiceUnavailable, "Service Unavailable: the calendar feed is briefly unavailable; your calendar app will try again.")
	default:
		h.log.Error("internal error", "request_id", c.GetString(ctxRequestID), "route", routeLabel(c), "error", err)
		feedError(c, http.StatusInternalServerError, "Internal Server Error: the calendar feed could not be built; we have been told.")
	}
}

func feedError(c *gin.Context, status int, msg string) {
	c.Header("Content-Type", "text/plain; charset=utf-8")
	c.String(status, msg+"\n")
	c.Abort()
}

// etagMatches is If-None-Match's weak comparison (RFC 9110 §13.1.2):
// "*" or any listed tag with the same opaque value, W/ or not.
func etagMatches(header, etag string) bool {
	for _, tag := range strings.Split(header, ",") {
		tag = strings.TrimSpace(tag)
		if tag == "*" || strings.TrimPrefix(tag, "W/") == etag {
			return true
		}
	}
	return false
}

// acceptsGzip reads Accept-Encoding: gzip, or failing that *, with q > 0.
func acceptsGzip(header string) bool {
	q := map[string]float64{}
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(part, ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		q[coding] = 1
		if v, ok := strings.CutPrefix(strings.ReplaceAll(strings.ToLower(params), " ", ""), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q[coding] = f
			}
		}
	}
	if v, ok := q["gzip"]; ok {
		return v > 0
	}
	return q["*"] > 0
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(b) // writes to memory cannot fail
	_ = zw.Close()
	return buf.Bytes()
}
