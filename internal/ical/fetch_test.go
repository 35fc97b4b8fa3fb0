package ical

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func fetchKind(t *testing.T, err error) string {
	t.Helper()
	var fe *FetchError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v is not a FetchError", err)
	}
	return fe.Kind + ": " + fe.Message
}

func TestFetchIsConditional(t *testing.T) {
	var seen atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Store(r.Header.Get("If-None-Match") + " | " + r.Header.Get("If-Modified-Since"))
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Last-Modified", "Mon, 02 Mar 2026 12:00:00 GMT")
		w.Write([]byte("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"))
	}))
	defer srv.Close()
	f := NewFetcher(FetchConfig{AllowPrivate: true})
	first, err := f.Fetch(context.Background(), FetchRequest{URL: srv.URL})
	if err != nil || first.NotModified || first.ETag != `"v1"` || !bytes.HasPrefix(first.Body, []byte("BEGIN:VCALENDAR")) {
		t.Fatalf("first fetch = %+v, %v", first, err)
	}
	if got := seen.Load(); got != " | " {
		t.Fatalf("the first fetch sent validators %q", got)
	}
	second, err := f.Fetch(context.Background(), FetchRequest{URL: srv.URL, ETag: first.ETag, LastModified: first.LastModified})
	if err != nil || !second.NotModified || second.ETag != `"v1"` || second.LastModified != first.LastModified {
		t.Fatalf("second fetch = %+v, %v", second, err)
	}
	if got, want := seen.Load(), `"v1" | Mon, 02 Mar 2026 12:00:00 GMT`; got != want {
		t.Fatalf("validators sent %q, want %q", got, want)
	}
}

func TestFetchLimits(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	mux := http.NewServeMux()
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/drip", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("BEGIN:VCALENDAR\r\n"))
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	big := bytes.Repeat([]byte("X"), 2000)
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) { w.Write(big) })
	mux.HandleFunc("/chunked", func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i < 4; i++ {
			w.Write(big[:600])
			w.(http.Flusher).Flush()
		}
	})
	var bomb bytes.Buffer // a megabyte that travels as a kilobyte
	zw := gzip.NewWriter(&bomb)
	zw.Write(bytes.Repeat([]byte("A"), 1<<20))
	zw.Close()
	mux.HandleFunc("/bomb", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(bomb.Bytes())
	})
	mux.HandleFunc("/gone", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "<html>secret page</html>", http.StatusNotFound)
	})
	mux.HandleFunc("/forbidden", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusForbidden) })
	mux.HandleFunc("/error", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) })
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop", http.StatusFound) })
	mux.HandleFunc("/ftp", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "ftp://files.example.com/cal.ics", http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	// Only the hanging paths meet the short limit; the others get time to
	// spare on a loaded machine.
	quick := NewFetcher(FetchConfig{AllowPrivate: true, Timeout: 300 * time.Millisecond, MaxBytes: 1000})
	roomy := NewFetcher(FetchConfig{AllowPrivate: true, Timeout: 10 * time.Second, MaxBytes: 1000})
	for path, want := range map[string]string{
		"/slow":      "timeout: timed out after 300ms",
		"/drip":      "timeout: timed out after 300ms",
		"/big":       "too_large: the calendar is larger than 1 KB",
		"/chunked":   "too_large: the calendar is larger than 1 KB",
		"/bomb":      "too_large: the calendar is larger than 1 KB",
		"/gone":      "status: there is no calendar at this address (404 Not Found); the secret address may have been reset",
		"/forbidden": "status: the calendar server refused access (403 Forbidden); the secret address may have been reset",
		"/error":     "status: the calendar server had an error (502 Bad Gateway)",
		"/loop":      "redirects: more than 5 redirects",
		"/ftp":       "redirects: redirected to an address that is not http or https",
	} {
		f := roomy
		if strings.HasPrefix(want, "timeout") {
			f = quick
		}
		start := time.Now()
		_, err := f.Fetch(context.Background(), FetchRequest{URL: srv.URL + path})
		if got := fetchKind(t, err); got != want {
			t.Errorf("%s: %q, want %q", path, got, want)
		}
		if took := time.Since(start); f == quick && took > 3*time.Second {
			t.Errorf("%s took %s", path, took)
		}
	}
	for _, raw := range []string{"file:///etc/passwd", "gopher://example.com/", "//example.com/cal.ics", "https://"} {
		if _, err := roomy.Fetch(context.Background(), FetchRequest{URL: raw}); !strings.HasPrefix(fetchKind(t, err), "address: ") {
			t.Errorf("%s: %v, want an address error", raw, err)
		}
	}
}

// countingServer counts the requests that reach it, on the given address.
func countingServer(t *testing.T, addr string, h http.Handler) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	var hits atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		h.ServeHTTP(w, r)
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &hits
}

func TestFetchRefusesPrivateAddresses(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")) })
	v4, v4hits := countingServer(t, "127.0.0.1:0", ok)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(v4.URL, "http://"))
	f := NewFetcher(FetchConfig{Timeout: 2 * time.Second})
	for _, target := range []string{
		v4.URL,
		"http://localhost:" + port + "/busy.ics", // a name that resolves to 127.0.0.1
		"http://[::1]:" + port + "/",
		"http://[::ffff:127.0.0.1]:" + port + "/",
		"http://0.0.0.0:" + port + "/",
		"http://10.0.0.1/busy.ics",
		"http://172.16.5.4/",
		"http://192.168.1.1/",
		"http://169.254.169.254/latest/meta-data/",
		"http://100.64.0.1/",
		"http://[fd00::1]/",
		"http://[fe80::1]/",
	} {
		_, err := f.Fetch(context.Background(), FetchRequest{URL: target})
		if got := fetchKind(t, err); got != "refused: refused: the address is on a private or local network" {
			t.Errorf("%s: %s", target, got)
		}
	}
	if n := v4hits.Load(); n != 0 {
		t.Fatalf("%d requests reached the loopback server", n)
	}
}

func TestFetchRefusesRedirectsToPrivateAddresses(t *testing.T) {
	inside, insideHits := countingServer(t, "127.0.0.2:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	outside, _ := countingServer(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
	}))
	// 127.0.0.1 stands in for a public server here; everything else private is refused.
	public := netip.MustParseAddr("127.0.0.1")
	f := newFetcher(FetchConfig{Timeout: 2 * time.Second}, func(a netip.Addr) bool { return a != public && PrivateAddr(a) })
	for _, to := range []string{inside.URL + "/busy.ics", "http://169.254.169.254/latest/meta-data/", "http://[::1]:9/", "http://10.0.0.1/"} {
		_, err := f.Fetch(context.Background(), FetchRequest{URL: outside.URL + "/?to=" + to})
		if got := fetchKind(t, err); got != "refused: refused: the address is on a private or local network" {
			t.Errorf("redirect to %s: %s", to, got)
		}
	}
	if n := insideHits.Load(); n != 0 {
		t.Fatalf("%d requests reached the private server through a redirect", n)
	}
}

func TestPrivateAddr(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1": true, "127.8.9.10": true, "::1": true, "10.1.2.3": true, "172.31.255.255": true, "192.168.0.1": true,
		"169.254.169.254": true, "fe80::1": true, "0.0.0.0": true, "::": true, "224.0.0.251": true, "ff02::1": true,
		"100.64.0.1": true, "100.127.255.254": true, "fc00::1": true, "fd12:3456::1": true, "::ffff:10.0.0.1": true,
		"64:ff9b::7f00:1": true, "2002:a00:1::": true, "255.255.255.255": true, "240.0.0.1": true, "198.18.0.1": true,
		"8.8.8.8": false, "172.32.0.1": false, "100.128.0.1": false, "2607:f8b0:4004:800::200e": false,
		"64:ff9b::808:808": false, "142.250.72.14": false,
	} {
		if got := PrivateAddr(netip.MustParseAddr(addr)); got != want {
			t.Errorf("PrivateAddr(%s) = %v, want %v", addr, got, want)
		}
	}
}
