package main

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"consultd/internal/pgtest"
)

func do(t *testing.T, method, target, contentType, body string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, string(raw)
}

func TestMalformedInputIsAClientError(t *testing.T) {
	db, dbURL := pgtest.NewDBWithURL(t)
	app := startApp(t, map[string]string{"DATABASE_URL": dbURL, "RATE_LIMITS": "off"})
	form := "application/x-www-form-urlencoded"
	tests := []struct {
		name, method, path, ctype, body string
		want                            int
	}{
		{"bad escape in a form body", "POST", "/assessment", form, "realtime=%zz", http.StatusBadRequest},
		{"bad escape in the query of a form post", "POST", "/assessment?x=%zz", form, "realtime=core", http.StatusBadRequest},
		{"form larger than the limit", "POST", "/assessment", form, "message=" + strings.Repeat("x", 2<<20), http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if resp, body := do(t, tt.method, app.URL+tt.path, tt.ctype, tt.body, nil); resp.StatusCode != tt.want {
				t.Fatalf("%d %q, want %d", resp.StatusCode, body, tt.want)
			}
		})
	}

	// NUL bytes and invalid UTF-8 are cleaned, never a 500.
	answers := firstAnswers(t, app)
	resp, a := postJSON(t, app.URL+"/api/v1/assessments", map[string]any{
		"answers": answers, "referrer": "https://x.example/\u0000", "utm": map[string]string{"utm_source": "a\u0000b"},
	})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("assessment with NUL bytes = %d %v", resp.StatusCode, a)
	}
	_, page := get(t, app.URL+"/assessment", nil)
	values := formAnswers(t, page)
	values.Set("referrer", "\xff\xfe")
	values.Set("utm_source", "x\x00y")
	if resp, body := postForm(t, app.URL+"/assessment", values); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("form with invalid UTF-8 = %d %s", resp.StatusCode, body)
	}
	lead := leadValues("Ana\x00 Silva", "ana@acme.example.com")
	lead.Set("message", "hi\x00 \xff there")
	resp, body := do(t, "POST", app.URL+"/assessment/"+a["id"].(string)+"/lead", form, lead.Encode(), http.Header{"User-Agent": {"x\xff"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("lead with NUL and invalid UTF-8 = %d %s", resp.StatusCode, body)
	}
	var stored string
	db.Get(&stored, `SELECT message FROM leads WHERE email = 'ana@acme.example.com'`)
	if stored != "hi \uFFFD there" {
		t.Fatalf("stored message %q", stored)
	}
}

func TestHeadIsAnsweredLikeGet(t *testing.T) {
	app := startApp(t, nil)
	for _, path := range []string{"/", "/healthz", "/assessment"} {
		resp, body := do(t, http.MethodHead, app.URL+path, "", "", nil)
		if resp.StatusCode != http.StatusOK || body != "" {
			t.Errorf("HEAD %s = %d with %d bytes", path, resp.StatusCode, len(body))
		}
	}
}

func TestMetricsStayBoundedAndCanBeProtected(t *testing.T) {
	app := startApp(t, map[string]string{"METRICS_TOKEN": "s3cret-token"})
	do(t, "XMETHOD1", app.URL+"/", "", "", nil)
	do(t, "XMETHOD2", app.URL+"/", "", "", nil)
	if resp, _ := get(t, app.URL+"/metrics", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("/metrics without the token = %d", resp.StatusCode)
	}
	resp, metrics := get(t, app.URL+"/metrics", http.Header{"Authorization": {"Bearer s3cret-token"}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics with the token = %d", resp.StatusCode)
	}
	if strings.Contains(metrics, "XMETHOD") || !strings.Contains(metrics, `method="other"`) {
		t.Fatal("made-up methods are labelled by name, not as other")
	}
}

func TestIncompleteNoJavaScriptSubmitIsNotAStart(t *testing.T) {
	app := startApp(t, nil)
	_, page := get(t, app.URL+"/assessment", nil)
	values := formAnswers(t, page)
	values.Del("realtime")
	postForm(t, app.URL+"/assessment", values)
	postForm(t, app.URL+"/assessment", url.Values{})
	_, metrics := get(t, app.URL+"/metrics", nil)
	if !strings.Contains(metrics, `consultd_funnel_total{stage="assessment_started"} 0`) {
		t.Fatal("refused submissions were counted as starts")
	}
	postForm(t, app.URL+"/assessment", formAnswers(t, page))
	_, metrics = get(t, app.URL+"/metrics", nil)
	if !strings.Contains(metrics, `consultd_funnel_total{stage="assessment_started"} 1`) {
		t.Fatal("a complete no-JavaScript submission did not count as a start")
	}
}
