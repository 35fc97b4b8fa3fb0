package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"consultd/internal/pgtest"
)

// testApp is the whole binary's serve path running in-process on a free port.
type testApp struct {
	URL    string
	cancel context.CancelFunc
	done   chan error
	logs   *syncBuffer
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func startApp(t *testing.T, env map[string]string) *testApp {
	t.Helper()
	full := map[string]string{"ADDR": "127.0.0.1:0", "APP_ENV": "test", "LOG_LEVEL": "info", "MAIL_DIR": t.TempDir()}
	for k, v := range env {
		full[k] = v
	}
	if full["DATABASE_URL"] == "" {
		_, full["DATABASE_URL"] = pgtest.NewDBWithURL(t)
	}
	cfg, err := loadConfig(envFrom(full))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	app := &testApp{cancel: cancel, done: make(chan error, 1), logs: &syncBuffer{}}
	addrCh := make(chan net.Addr, 1)
	go func() {
		app.done <- serve(ctx, cfg, newLogger(app.logs, cfg.LogLevel), func(a net.Addr) { addrCh <- a })
	}()
	select {
	case a := <-addrCh:
		app.URL = "http://" + a.String()
	case err := <-app.done:
		t.Fatalf("app did not start: %v\n%s", err, app.logs.String())
	case <-time.After(30 * time.Second):
		t.Fatal("app did not start within 30s")
	}
	t.Cleanup(func() { app.stop(t) })
	return app
}

func (a *testApp) stop(t *testing.T) {
	a.cancel()
	select {
	case err := <-a.done:
		if err != nil {
			t.Errorf("serve returned %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Error("app did not shut down within 30s")
	}
	a.done <- nil // later stop calls return at once
}

func get(t *testing.T, url string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	if h := header.Get("Host"); h != "" {
		req.Host = h
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func TestAppServesHealthAndHeaders(t *testing.T) {
	app := startApp(t, nil)
	resp, body := get(t, app.URL+"/healthz", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"ok"`) {
		t.Fatalf("/healthz = %d %s", resp.StatusCode, body)
	}
	resp, _ = get(t, app.URL+"/readyz", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/readyz = %d", resp.StatusCode)
	}
	resp, body = get(t, app.URL+"/", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/ = %d", resp.StatusCode)
	}
	wantHeaders := map[string]string{
		"X-Content-Type-Options":     "nosniff",
		"X-Frame-Options":            "DENY",
		"Referrer-Policy":            "strict-origin-when-cross-origin",
		"Cross-Origin-Opener-Policy": "same-origin",
	}
	for k, v := range wantHeaders {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	csp := resp.Header.Get("Content-Security-Policy")
	for _, part := range []string{"default-src 'self'", "frame-ancestors 'none'", "object-src 'none'"} {
		if !strings.Contains(csp, part) {
			t.Errorf("CSP %q lacks %q", csp, part)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("CSP %q must allow this site's scripts and no inline ones", csp)
	}
	if resp.Header.Get("Strict-Transport-Security") != "" {
		t.Error("HSTS sent for an http BASE_URL")
	}
	if resp.Header.Get("X-Request-Id") == "" {
		t.Error("no X-Request-Id")
	}
	if !strings.Contains(body, "<html") {
		t.Error("home is not HTML")
	}
	// The access log line is written once the answer has gone out.
	deadline := time.Now().Add(2 * time.Second)
	for !strings.Contains(app.logs.String(), `"route":"/"`) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(app.logs.String(), `"route":"/"`) {
		t.Errorf("no structured request log line for /:\n%s", app.logs.String())
	}
}

func TestAppSendsHSTSForHTTPSBaseURL(t *testing.T) {
	app := startApp(t, map[string]string{"BASE_URL": "https://consult.example.com", "ALLOWED_HOSTS": "consult.example.com"})
	resp, _ := get(t, app.URL+"/", http.Header{"Host": {"consult.example.com"}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if got := resp.Header.Get("Strict-Transport-Security"); !strings.Contains(got, "max-age=") {
		t.Fatalf("HSTS = %q", got)
	}
}

func TestAppRefusesUnknownHost(t *testing.T) {
	app := startApp(t, map[string]string{"ALLOWED_HOSTS": "consult.example.com"})
	resp, body := get(t, app.URL+"/", http.Header{"Host": {"evil.example.net"}})
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("unknown host got %d, want 400", resp.StatusCode)
	}
	if !strings.Contains(body, "host") {
		t.Errorf("body %q does not explain", body)
	}
	resp, _ = get(t, app.URL+"/", http.Header{"Host": {"consult.example.com:443"}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("allowed host with port got %d", resp.StatusCode)
	}
	resp, _ = get(t, app.URL+"/healthz", http.Header{"Host": {"10.1.2.3:8080"}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("health probe by IP got %d", resp.StatusCode)
	}
}

func TestAppRefusesCrossOriginPost(t *testing.T) {
	app := startApp(t, nil)
	for name, header := range map[string]http.Header{
		"sec-fetch-site": {"Sec-Fetch-Site": {"cross-site"}},
		"origin":         {"Origin": {"https://evil.example.net"}},
	} {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, app.URL+"/", strings.NewReader("x=1"))
			req.Header = header
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("cross-origin POST got %d, want 403", resp.StatusCode)
			}
		})
	}
}

func TestAppFriendlyErrorPages(t *testing.T) {
	app := startApp(t, nil)
	resp, body := get(t, app.URL+"/no/such/page", nil)
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "could not find") {
		t.Fatalf("404 page = %d %q", resp.StatusCode, body)
	}
	resp, body = get(t, app.URL+"/api/v1/nothing", nil)
	if resp.StatusCode != http.StatusNotFound || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("API 404 = %d %s %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}

func TestAppReadinessFollowsDatabase(t *testing.T) {
	pg := pgtest.StartServer(t)
	app := startApp(t, map[string]string{"DATABASE_URL": pg.URL})
	waitReady := func(want int) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			resp, _ := get(t, app.URL+"/readyz", nil)
			if resp.StatusCode == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("/readyz stayed %d, want %d", resp.StatusCode, want)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	waitReady(http.StatusOK)
	pg.Stop(t)
	waitReady(http.StatusServiceUnavailable)
	if resp, _ := get(t, app.URL+"/healthz", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz = %d while the database is down, want 200", resp.StatusCode)
	}
	// Pages that need the database fail politely, without internal detail,
	// and say when to come back.
	resp, page := get(t, app.URL+"/assessment/00000000-0000-4000-8000-000000000000", nil)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !strings.Contains(page, "try again in a minute") {
		t.Fatalf("page during the outage = %d (Retry-After %q)", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	for _, leak := range []string{"dial", "connect", "pq:", "sql", "127.0.0.1"} {
		if strings.Contains(strings.ToLower(page), leak) {
			t.Fatalf("the error page shows internal detail %q", leak)
		}
	}
	resp, body := get(t, app.URL+"/api/v1/slots?team=django&region=canada", nil)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !strings.HasPrefix(body, `{"error":"unavailable",`) {
		t.Fatalf("API during the outage = %d %s", resp.StatusCode, body)
	}
	pg.Start(t)
	waitReady(http.StatusOK)
}

func TestAppShutsDownGracefully(t *testing.T) {
	app := startApp(t, nil)
	// A request still sending its body when shutdown begins must be answered
	// by the handler, not cut off.
	pr, pw := io.Pipe()
	req, _ := http.NewRequest(http.MethodPost, app.URL+"/api/v1/assessments", pr)
	req.Header.Set("Content-Type", "application/json")
	type result struct {
		status int
		err    error
	}
	respCh := make(chan result, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			respCh <- result{err: err}
			return
		}
		resp.Body.Close()
		respCh <- result{status: resp.StatusCode}
	}()
	if _, err := pw.Write([]byte(`{"answers": {"realtime": `)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	app.cancel()
	time.Sleep(300 * time.Millisecond)
	select {
	case <-app.done:
		t.Fatal("server stopped while a request was in flight")
	default:
	}
	pw.Write([]byte(`"core"}}`))
	pw.Close()
	res := <-respCh
	if res.err != nil {
		t.Fatalf("in-flight request failed during shutdown: %v", res.err)
	}
	if res.status != http.StatusUnprocessableEntity {
		t.Fatalf("in-flight request got %d, want the handler's 422 for an incomplete assessment", res.status)
	}
	select {
	case err := <-app.done:
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
		app.done <- nil
	case <-time.After(30 * time.Second):
		t.Fatal("no shutdown")
	}
}

func TestRunVersionAndUsage(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"version"}, envFrom(nil), nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "consultd ") {
		t.Fatalf("version printed %q", out.String())
	}
	err := run(context.Background(), []string{"frobnicate"}, envFrom(map[string]string{"DATABASE_URL": "postgres://x@127.0.0.1/x"}), nil, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "unknown command") {
		t.Fatalf("unknown command error = %v", err)
	}
}

func TestRunMigrateAndSeedDemo(t *testing.T) {
	_, url := pgtest.NewEmptyDB(t)
	env := envFrom(map[string]string{"DATABASE_URL": url, "LOG_LEVEL": "error"})
	ctx := context.Background()
	var out bytes.Buffer
	if err := run(ctx, []string{"migrate", "status"}, env, nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "pending") {
		t.Fatalf("status before up:\n%s", out.String())
	}
	if err := run(ctx, []string{"migrate", "up"}, env, nil, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(ctx, []string{"migrate", "status"}, env, nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "pending") || !strings.Contains(out.String(), "applied") {
		t.Fatalf("status after up:\n%s", out.String())
	}
	for i, want := range []string{"12 consultants created, 0 updated", "0 consultants created, 12 updated"} {
		out.Reset()
		if err := run(ctx, []string{"seed-demo"}, env, nil, &out, io.Discard); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), want) {
			t.Fatalf("seed-demo run %d printed %q, want %q", i+1, out.String(), want)
		}
	}
	if err := run(ctx, []string{"migrate", "sideways"}, env, nil, io.Discard, io.Discard); err == nil {
		t.Fatal("migrate sideways accepted")
	}
}
