package ical

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"
)

// FetchConfig limits calendar downloads; zero fields take the defaults.
type FetchConfig struct {
	Timeout      time.Duration // the whole exchange, body included; default 15s
	MaxBytes     int64         // largest body read, after decompression; default 5 MiB
	MaxRedirects int           // default 5
	AllowPrivate bool          // connect to loopback and private addresses (development and tests only)
	UserAgent    string
}

// Fetcher downloads calendars over http and https, conditionally, within
// its limits, and (unless AllowPrivate) never from a private address.
type Fetcher struct {
	cfg    FetchConfig
	client *http.Client
}

// FetchRequest is one download; the validators come from the last one.
type FetchRequest struct {
	URL          string
	ETag         string
	LastModified string
}

// FetchResult is a downloaded calendar, or word that it has not changed.
type FetchResult struct {
	NotModified  bool
	Body         []byte
	ETag         string
	LastModified string
}

// FetchError is a failed download; Message is safe to show to the person
// whose calendar it is (it never quotes the server).
type FetchError struct {
	Kind    string // timeout, too_large, refused, status, redirects, connect, address
	Message string
	Err     error
}

func (e *FetchError) Error() string {
	if e.Err != nil {
		return "fetch calendar: " + e.Message + ": " + e.Err.Error()
	}
	return "fetch calendar: " + e.Message
}

func (e *FetchError) Unwrap() error { return e.Err }

var (
	errTooManyRedirects = errors.New("too many redirects")
	errRedirectScheme   = errors.New("redirect to a scheme other than http or https")
)

// NewFetcher returns a Fetcher with cfg's limits.
func NewFetcher(cfg FetchConfig) *Fetcher {
	blocked := PrivateAddr
	if cfg.AllowPrivate {
		blocked = func(netip.Addr) bool { return false }
	}
	return newFetcher(cfg, blocked)
}

func newFetcher(cfg FetchConfig, blocked func(netip.Addr) bool) *Fetcher {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 15 * time.Second
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = 5 << 20
	}
	if cfg.MaxRedirects <= 0 {
		cfg.MaxRedirects = 5
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "consultd-busy-calendar/1"
	}
	dialer := &net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second, Control: dialControl(blocked)}
	transport := &http.Transport{
		Proxy:                  nil, // through a proxy, the proxy would be the only address checked
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    10 * time.Second,
		ResponseHeaderTimeout:  cfg.Timeout,
		MaxResponseHeaderBytes: 64 << 10,
		MaxIdleConns:           16,
		MaxIdleConnsPerHost:    2,
		IdleConnTimeout:        time.Minute,
	}
	client := &http.Client{Transport: transport, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) > cfg.MaxRedirects {
			return errTooManyRedirects
		}
		if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
			return errRedirectScheme
		}
		return nil
	}}
	return &Fetcher{cfg: cfg, client: client}
}

// Fetch downloads r.URL, sending If-None-Match and If-Modified-Since when r
// carries validators; a 304 answer comes back as NotModified. Every failure
// is a *FetchError.
func (f *Fetcher) Fetch(ctx context.Context, r FetchRequest) (FetchResult, error) {
	u, err := url.Parse(r.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return FetchResult{}, &FetchError{Kind: "address", Message: "the address must start with https:// or http://"}
	}
	ctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return FetchResult{}, &FetchError{Kind: "address", Message: "the address cannot be used", Err: err}
	}
	req.Header.Set("User-Agent", f.cfg.UserAgent)
	req.Header.Set("Accept", "text/calendar, text/plain;q=0.5, */*;q=0.1")
	if v := fetchHeaderValue(r.ETag); v != "" {
		req.Header.Set("If-None-Match", v)
	}
	if v := fetchHeaderValue(r.LastModified); v != "" {
		req.Header.Set("If-Modified-Since", v)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return FetchResult{}, f.failure(ctx, err)
	}
	defer resp.Body.Close()
	etag, modified := fetchHeaderValue(resp.Header.Get("ETag")), fetchHeaderValue(resp.Header.Get("Last-Modified"))
	switch {
	case resp.StatusCode == http.StatusNotModified:
		return FetchResult{NotModified: true, ETag: fetchOr(etag, r.ETag), LastModified: fetchOr(modified, r.LastModified)}, nil
	case resp.StatusCode != http.StatusOK:
		return FetchResult{}, fetchStatusFailure(resp.StatusCode)
	case resp.ContentLength > f.cfg.MaxBytes:
		return FetchResult{}, f.tooLarge()
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, f.cfg.MaxBytes+1))
	if err != nil {
		return FetchResult{}, f.failure(ctx, err)
	}
	if int64(len(body)) > f.cfg.MaxBytes {
		return FetchResult{}, f.tooLarge()
	}
	return FetchResult{Body: body, ETag: etag, LastModified: modified}, nil
}

func (f *Fetcher) tooLarge() *FetchError {
	return &FetchError{Kind: "too_large", Message: "the calendar is larger than " + fetchSizeText(f.cfg.MaxBytes)}
}

// failure names what went wrong in words a consultant can act on.
func (f *Fetcher) failure(ctx context.Context, err error) *FetchError {
	var addrErr *AddressError
	var dnsErr *net.DNSError
	var netErr net.Error
	var certErr *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	fail := func(kind, msg string) *FetchError { return &FetchError{Kind: kind, Message: msg, Err: err} }
	switch {
	case errors.As(err, &addrErr):
		return fail("refused", "refused: the address is on a private or local network")
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()):
		return fail("timeout", "timed out after "+fetchDurationText(f.cfg.Timeout))
	case errors.Is(err, errTooManyRedirects):
		return fail("redirects", fmt.Sprintf("more than %d redirects", f.cfg.MaxRedirects))
	case errors.Is(err, errRedirectScheme):
		return fail("redirects", "redirected to an address that is not http or https")
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return fail("connect", "the host name was not found")
		}
		return fail("connect", "the host name could not be looked up")
	case errors.As(err, &certErr) || errors.As(err, &unknownCA) || errors.As(err, &hostErr):
		return fail("connect", "the server's TLS certificate was not accepted")
	case errors.Is(err, syscall.ECONNREFUSED):
		return fail("connect", "the server refused the connection")
	}
	return fail("connect", "the connection failed")
}

func fetchStatusFailure(code int) *FetchError {
	status := fmt.Sprintf("%d %s", code, http.StatusText(code))
	msg := "the calendar server answered " + status
	switch {
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		msg = "the calendar server refused access (" + status + "); the secret address may have been reset"
	case code == http.StatusNotFound || code == http.StatusGone:
		msg = "there is no calendar at this address (" + status + "); the secret address may have been reset"
	case code >= 500:
		msg = "the calendar server had an error (" + status + ")"
	}
	return &FetchError{Kind: "status", Message: msg}
}

// fetchHeaderValue keeps a validator only when it is short printable ASCII, so a
// strange one is neither stored nor sent back.
func fetchHeaderValue(v string) string {
	if len(v) > 256 {
		return ""
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7e {
			return ""
		}
	}
	return v
}

func fetchOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func fetchSizeText(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MB", n>>20)
	}
	return fmt.Sprintf("%d KB", (n+1023)>>10)
}

func fetchDurationText(d time.Duration) string {
	if d == time.Second {
		return "1 second"
	}
	if d%time.Second == 0 {
		return fmt.Sprintf("%d seconds", int(d/time.Second))
	}
	return d.String()
}
