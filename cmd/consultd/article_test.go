package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"

	"consultd/internal/pgtest"
)

func TestArticlePageSEOAndCaching(t *testing.T) {
	app := startApp(t, nil)
	resp, page := get(t, app.URL+"/", nil)
	for _, want := range []string{
		`<link rel="canonical" href="http://localhost:8080/">`, `<meta property="og:title"`, `<meta property="og:type" content="article">`,
		`<meta name="description"`, `<script type="application/ld+json">{"@context":"https://schema.org","@type":"FAQPage"`,
		`<h2 id="concurrency">`, `id="assessment-form"`, `action="/assessment"`, "30-minute",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("article lacks %q", want)
		}
	}
	if regexp.MustCompile(`(src|href)="https?://(?:[^"l]|l[^"o])`).MatchString(page) {
		t.Error("article references a third-party URL")
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "public, no-cache" {
		t.Errorf("article Cache-Control = %q; the page is the same for everyone and revalidated", cc)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); strings.Contains(csp, "nonce") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("article CSP %q: no inline script runs, so no nonce; and no framing", csp)
	}
	// Attribution goes in a first-touch cookie, never replaced by a later landing.
	resp, _ = get(t, app.URL+"/?utm_source=first", nil)
	var attr *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "consultd_attr" {
			attr = ck
		}
	}
	if attr == nil || !strings.Contains(attr.Value, "utm_source=first") || !attr.HttpOnly {
		t.Fatalf("attribution cookie = %+v", attr)
	}
	resp, _ = get(t, app.URL+"/?utm_source=second", http.Header{"Cookie": {"consultd_attr=" + attr.Value}})
	if len(resp.Cookies()) != 0 {
		t.Error("a later landing replaced the first touch")
	}
	etag := resp.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	resp, _ = get(t, app.URL+"/", http.Header{"If-None-Match": {etag}})
	if resp.StatusCode != http.StatusNotModified {
		t.Fatalf("conditional GET = %d, want 304", resp.StatusCode)
	}

	req, _ := http.NewRequest(http.MethodGet, app.URL+"/", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	gz, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer gz.Body.Close()
	if gz.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding = %q", gz.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(gz.Body)
	if err != nil {
		t.Fatal(err)
	}
	unzipped, _ := io.ReadAll(zr)
	if !bytes.Equal(unzipped, []byte(page)) {
		t.Fatal("gzip body differs from the plain one")
	}

	_, robots := get(t, app.URL+"/robots.txt", nil)
	if !strings.Contains(robots, "Sitemap: http://localhost:8080/sitemap.xml") || !strings.Contains(robots, "Disallow: /api/") {
		t.Fatalf("robots.txt = %q", robots)
	}
	resp, sitemap := get(t, app.URL+"/sitemap.xml", nil)
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/xml") || !strings.Contains(sitemap, "<loc>http://localhost:8080/</loc>") {
		t.Fatalf("sitemap.xml = %q", sitemap)
	}
	css := regexp.MustCompile(`href="(/static/css/site\.[0-9a-f]+\.css)"`).FindStringSubmatch(page)
	if css == nil {
		t.Fatal("no hashed stylesheet URL")
	}
	resp, _ = get(t, app.URL+css[1], nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
		t.Fatalf("stylesheet = %d %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	if resp, _ := get(t, app.URL+"/static/css/site.0000000000.css", nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("stale asset hash = %d, want 404", resp.StatusCode)
	}
}

func TestEmbedIsFrameableOnlyByPartners(t *testing.T) {
	app := startApp(t, map[string]string{"EMBED_ORIGINS": "https://partner.example.com"})
	resp, page := get(t, app.URL+"/embed/assessment", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("embed = %d", resp.StatusCode)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "frame-ancestors 'self' https://partner.example.com") || resp.Header.Get("X-Frame-Options") != "" {
		t.Fatalf("embed CSP %q, X-Frame-Options %q", csp, resp.Header.Get("X-Frame-Options"))
	}
	if !strings.Contains(page, `class="embed"`) || !strings.Contains(page, "js/embed.") || !strings.Contains(page, `action="/assessment?embed=1"`) {
		t.Fatal("embed page lacks embed layout, resize script or embed form action")
	}
	resp, _ = postForm(t, app.URL+"/assessment?embed=1", formAnswers(t, page))
	if loc := resp.Header.Get("Location"); !strings.HasSuffix(loc, "?embed=1") {
		t.Fatalf("embed submit redirects to %q, want embed mode kept", loc)
	}
	resp, _ = get(t, app.URL+"/", nil)
	if !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Fatal("the article page is frameable")
	}
}

func TestFunnelMetrics(t *testing.T) {
	db, dbURL := pgtest.NewDBWithURL(t)
	app := startApp(t, map[string]string{"DATABASE_URL": dbURL})
	get(t, app.URL+"/", nil)
	postJSON(t, app.URL+"/api/v1/assessments/started", nil)
	_, a := postJSON(t, app.URL+"/api/v1/assessments", map[string]any{"answers": firstAnswers(t, app), "started_reported": true})
	postJSON(t, app.URL+"/api/v1/leads", map[string]any{
		"assessment_id": a["id"], "name": "Ana", "email": "ana@acme.example.com", "company": "Acme",
		"region": "usa", "timezone": "America/New_York", "consent": true,
	})
	_, metrics := get(t, app.URL+"/metrics", nil)
	for _, stage := range []string{"article_viewed", "assessment_started", "assessment_completed", "lead_created"} {
		if !strings.Contains(metrics, `consultd_funnel_total{stage="`+stage+`"} 1`) {
			t.Errorf("metrics lack %s = 1", stage)
		}
	}
	app.stop(t) // shutdown flushes the counts
	assertFunnelRow(t, db, "lead_created", 1)
}

func assertFunnelRow(t *testing.T, db *sqlx.DB, stage string, want int64) {
	t.Helper()
	var got int64
	if err := db.Get(&got, `SELECT coalesce(sum(count), 0) FROM funnel_counts WHERE stage = $1`, stage); err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("funnel_counts %s = %d, want %d", stage, got, want)
	}
}
