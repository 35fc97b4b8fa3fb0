package main

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"consultd/internal/pgtest"
)

// Only the checkbox's own value is consent; a crafted "false" or "no" is not.
func TestLeadFormConsentIsTheCheckboxValue(t *testing.T) {
	app := startApp(t, map[string]string{"RATE_LIMITS": "off"})
	_, a := postJSON(t, app.URL+"/api/v1/assessments", map[string]any{"answers": firstAnswers(t, app)})
	leadURL := app.URL + "/assessment/" + a["id"].(string) + "/lead"
	for _, value := range []string{"false", "no", "0", "on"} {
		t.Run(value, func(t *testing.T) {
			form := leadValues("Ana Silva", "ana@acme.example.com")
			form.Set("consent", value)
			resp, body := postForm(t, leadURL, form)
			if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "Please tick the box") {
				t.Fatalf("consent=%s = %d, want 422 asking for the box", value, resp.StatusCode)
			}
		})
	}
	if resp, body := postForm(t, leadURL, leadValues("Ana Silva", "ana@acme.example.com")); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("consent=yes = %d\n%s", resp.StatusCode, body)
	}
}

// multipartBody encodes values, and files as file parts, the way a browser
// posts a form with enctype="multipart/form-data".
func multipartBody(t *testing.T, values url.Values, files map[string]string) (contentType, body string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for name, vs := range values {
		for _, v := range vs {
			w.WriteField(name, v)
		}
	}
	for name, content := range files {
		part, err := w.CreateFormFile(name, name+".bin")
		if err != nil {
			t.Fatal(err)
		}
		part.Write([]byte(content))
	}
	w.Close()
	return w.FormDataContentType(), buf.String()
}

func TestMultipartFormsAreReadLikeURLEncoded(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // where a parser would spill uploaded files
	db, dbURL := pgtest.NewDBWithURL(t)
	app := startApp(t, map[string]string{"DATABASE_URL": dbURL, "RATE_LIMITS": "off"})

	_, page := get(t, app.URL+"/assessment", nil)
	ctype, body := multipartBody(t, formAnswers(t, page), map[string]string{"attachment": strings.Repeat("x", 600<<10)})
	resp, out := do(t, "POST", app.URL+"/assessment", ctype, body, nil)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/assessment/") {
		t.Fatalf("multipart assessment = %d %.200s", resp.StatusCode, out)
	}
	leadURL := app.URL + resp.Header.Get("Location") + "/lead"
	ctype, body = multipartBody(t, leadValues("Ana Multipart", "ana@acme.example.com"), nil)
	if resp, out := do(t, "POST", leadURL, ctype, body, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("multipart lead = %d %.200s", resp.StatusCode, out)
	}
	var name string
	if err := db.Get(&name, `SELECT name FROM leads WHERE email = 'ana@acme.example.com'`); err != nil || name != "Ana Multipart" {
		t.Fatalf("stored name %q, %v", name, err)
	}

	big := leadValues("Ana Big", "big@acme.example.com")
	big.Set("message", strings.Repeat("x", 2<<20))
	ctype, body = multipartBody(t, big, nil)
	if resp, out := do(t, "POST", leadURL, ctype, body, nil); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("2 MB multipart lead = %d %.200s", resp.StatusCode, out)
	}
	ctype, body = multipartBody(t, leadValues("Ana Cut", "cut@acme.example.com"), nil)
	for name, tt := range map[string]struct{ ctype, body string }{
		"no boundary":     {"multipart/form-data", body},
		"no closing line": {ctype, body[:len(body)-10]},
		"empty body":      {ctype, ""},
		"not multipart":   {ctype, "name=Ana"},
	} {
		if resp, out := do(t, "POST", leadURL, tt.ctype, tt.body, nil); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s = %d %.200s, want 400", name, resp.StatusCode, out)
		}
	}

	entries, _ := os.ReadDir(tmp)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "multipart-") {
			t.Errorf("an upload was kept in %s", filepath.Join(tmp, e.Name()))
		}
	}
}

func TestNoneOfTheseCannotBeCombined(t *testing.T) {
	app := startApp(t, map[string]string{"RATE_LIMITS": "off"})
	_, page := get(t, app.URL+"/assessment", nil)
	values := formAnswers(t, page)
	values["features"] = []string{"chat", "none"}
	resp, body := postForm(t, app.URL+"/assessment", values)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "None of these\u201d cannot be chosen with other answers") {
		t.Fatalf("no-JavaScript form with none and chat = %d", resp.StatusCode)
	}
	for _, v := range []string{"chat", "none"} {
		if !strings.Contains(body, `name="features" value="`+v+`" checked`) {
			t.Errorf("the choice %s was not kept", v)
		}
	}
	answers := firstAnswers(t, app)
	answers["features"] = []string{"none", "admin"}
	resp2, out := postJSON(t, app.URL+"/api/v1/assessments", map[string]any{"answers": answers})
	errs, _ := out["errors"].(map[string]any)
	if resp2.StatusCode != http.StatusUnprocessableEntity || errs["features"] == nil {
		t.Fatalf("API with none and admin = %d %v", resp2.StatusCode, out)
	}
}

// Ticking "None of these" unticks the other choices, and the other way round.
func TestBrowserNoneOfTheseUnticksTheOthers(t *testing.T) {
	app := startApp(t, nil)
	ctx := newBrowser(t)
	var got string
	if err := chromedp.Run(ctx,
		chromedp.Navigate(app.URL+"/assessment"),
		chromedp.WaitVisible(`#assessment-form .progress`),
		chromedp.Evaluate(`(() => {
			const box = v => document.querySelector('#q-features input[value="' + v + '"]');
			const ticked = () => [...document.querySelectorAll('#q-features input:checked')].map(i => i.value).join(',');
			box('chat').click(); box('admin').click(); const before = ticked();
			box('none').click(); const none = ticked();
			box('payments').click(); const after = ticked();
			return [before, none, after].join(' | ');
		})()`, &got),
	); err != nil {
		t.Fatal(err)
	}
	if want := "chat,admin | none | payments"; got != want {
		t.Fatalf("ticked after each click: %q, want %q", got, want)
	}
}
