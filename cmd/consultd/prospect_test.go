package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"consultd/internal/pgtest"
)

// noRedirect is a client that shows redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func postForm(t *testing.T, target string, form url.Values) (*http.Response, string) {
	t.Helper()
	resp, err := noRedirect.PostForm(target, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func postJSON(t *testing.T, target string, body any) (*http.Response, map[string]any) {
	t.Helper()
	data, _ := json.Marshal(body)
	resp, err := http.Post(target, "application/json", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]any{}
	raw, _ := io.ReadAll(resp.Body)
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s answered %d with non-JSON %q", target, resp.StatusCode, raw)
		}
	}
	return resp, out
}

// formAnswers reads the assessment form as a browser without JavaScript
// would, and picks the first option of every question.
func formAnswers(t *testing.T, page string) url.Values {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	values := url.Values{}
	var walk func(*html.Node, bool)
	walk = func(n *html.Node, inForm bool) {
		if n.Type == html.ElementNode && n.Data == "form" && attr(n, "id") == "assessment-form" {
			inForm = true
		}
		if inForm && n.Type == html.ElementNode && n.Data == "input" {
			name, typ := attr(n, "name"), attr(n, "type")
			switch {
			case typ == "hidden":
				values.Set(name, attr(n, "value"))
			case (typ == "radio" || typ == "checkbox") && values.Get(name) == "":
				values.Set(name, attr(n, "value"))
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, inForm)
		}
	}
	walk(doc, false)
	return values
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func leadValues(name, email string) url.Values {
	return url.Values{
		"name": {name}, "email": {email}, "company": {"Acme"}, "region": {"usa"},
		"timezone": {"America/Phoenix"}, "message": {"We need help."}, "consent": {"yes"},
	}
}

func TestNoJavaScriptJourney(t *testing.T) {
	db, dbURL := pgtest.NewDBWithURL(t)
	app := startApp(t, map[string]string{"DATABASE_URL": dbURL})

	// The landing page is the same bytes for everyone; the first touch
	// travels in a cookie the browser sends back with the form.
	c := browser(t)
	_, page := send(t, c, "GET", app.URL+"/?utm_source=newsletter&utm_campaign=fall", nil, http.Header{"Referer": {"https://partner.example.com/blog"}})
	_, plain := get(t, app.URL+"/", nil)
	if page != plain {
		t.Fatal("the landing page differs with attribution; it must be the same bytes for everyone")
	}
	answers := formAnswers(t, page)
	resp, _ := send(t, c, "POST", app.URL+"/assessment", answers, nil)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/assessment/") {
		t.Fatalf("assessment POST = %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resultURL := app.URL + resp.Header.Get("Location")
	resp, result := get(t, resultURL, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(result, "Our recommendation") || !strings.Contains(result, `name="consent"`) {
		t.Fatalf("result page = %d", resp.StatusCode)
	}
	if !strings.Contains(result, `href="http://localhost:8080/#`) {
		t.Error("reasons do not link to article sections")
	}

	resp, body := postForm(t, resultURL+"/lead", leadValues("Ana Silva", "ana@acme.example.com"))
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/leads/") {
		t.Fatalf("lead POST = %d %s\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	leadID := strings.TrimPrefix(resp.Header.Get("Location"), "/leads/")
	var row struct {
		Name   string `db:"name"`
		Team   string `db:"team"`
		Source string `db:"source"`
	}
	if err := db.Get(&row, `SELECT l.name, l.team, l.utm->>'utm_source' AS source FROM leads l JOIN inquiries i ON i.lead_id = l.id WHERE i.id = $1`, leadID); err != nil {
		t.Fatal(err)
	}
	if row.Name != "Ana Silva" || row.Source != "newsletter" || (row.Team != "django" && row.Team != "nodejs") {
		t.Fatalf("lead row = %+v", row)
	}
	resp, next := get(t, app.URL+"/leads/"+leadID, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(next, "Ana Silva") {
		t.Fatalf("lead page = %d", resp.StatusCode)
	}
}

func TestNoJavaScriptFormsKeepWhatWasTyped(t *testing.T) {
	app := startApp(t, nil)
	_, page := get(t, app.URL+"/assessment", nil)
	answers := formAnswers(t, page)
	kept := answers.Get("cpu")
	answers.Del("realtime")
	resp, body := postForm(t, app.URL+"/assessment", answers)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "Please answer this question.") {
		t.Fatalf("incomplete assessment = %d", resp.StatusCode)
	}
	if !regexp.MustCompile(`name="cpu" value="` + kept + `" checked`).MatchString(body) {
		t.Fatal("the answers given were not kept")
	}

	resp, _ = postForm(t, app.URL+"/assessment", formAnswers(t, page))
	resultURL := app.URL + resp.Header.Get("Location")
	bad := leadValues(`Zoë "<b>"`, "not-an-email")
	bad.Set("region", "canada") // Phoenix is not a Canadian zone
	bad.Del("consent")
	resp, body = postForm(t, resultURL+"/lead", bad)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("invalid lead = %d", resp.StatusCode)
	}
	for _, want := range []string{
		`value="Zoë &#34;&lt;b&gt;&#34;"`, `value="not-an-email"`, `value="Acme"`, "We need help.",
		"Enter a work email", "Choose a time zone in Canada", "Please tick the box",
		`<option value="America/Phoenix" selected>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("re-rendered form lacks %q", want)
		}
	}
}

func TestLeadNameIsEscapedEverywhere(t *testing.T) {
	app := startApp(t, nil)
	_, a := postJSON(t, app.URL+"/api/v1/assessments", map[string]any{"answers": firstAnswers(t, app)})
	resp, out := postJSON(t, app.URL+"/api/v1/leads", map[string]any{
		"assessment_id": a["id"], "name": `<script>alert(1)</script>`, "email": "x@acme.example.com",
		"company": "Acme", "region": "canada", "timezone": "America/Toronto", "consent": true,
	})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("lead = %d %v", resp.StatusCode, out)
	}
	_, page := get(t, app.URL+"/leads/"+out["id"].(string), nil)
	if strings.Contains(page, "<script>alert(1)</script>") || !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Fatal("a <script> in the name is not escaped on the lead page")
	}
}

func firstAnswers(t *testing.T, app *testApp) map[string]any {
	t.Helper()
	resp, body := get(t, app.URL+"/api/v1/assessment", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("definition = %d", resp.StatusCode)
	}
	var def struct {
		Version   string `json:"version"`
		Questions []struct {
			ID       string `json:"id"`
			Multiple bool   `json:"multiple"`
			Options  []struct {
				ID string `json:"id"`
			} `json:"options"`
		} `json:"questions"`
	}
	if err := json.Unmarshal([]byte(body), &def); err != nil {
		t.Fatal(err)
	}
	if def.Version == "" || len(def.Questions) < 8 || strings.Contains(body, "weights") {
		t.Fatalf("definition: version %q, %d questions, weights exposed: %v", def.Version, len(def.Questions), strings.Contains(body, "weights"))
	}
	answers := map[string]any{}
	for _, q := range def.Questions {
		if q.Multiple {
			answers[q.ID] = []string{q.Options[0].ID, q.Options[1].ID}
		} else {
			answers[q.ID] = q.Options[0].ID
		}
	}
	return answers
}

func TestAssessmentAndLeadAPI(t *testing.T) {
	db, dbURL := pgtest.NewDBWithURL(t)
	app := startApp(t, map[string]string{"DATABASE_URL": dbURL})
	answers := firstAnswers(t, app)

	resp, a := postJSON(t, app.URL+"/api/v1/assessments", map[string]any{"answers": answers})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("assessment = %d %v", resp.StatusCode, a)
	}
	if team := a["team"]; team != "django" && team != "nodejs" {
		t.Fatalf("team = %v", team)
	}
	if c, ok := a["confidence"].(float64); !ok || c < 0 || c > 1 {
		t.Fatalf("confidence = %v", a["confidence"])
	}
	scores, _ := a["scores"].(map[string]any)
	if _, ok := scores["django"].(float64); !ok {
		t.Fatalf("scores = %v", a["scores"])
	}
	reasons, _ := a["reasons"].([]any)
	if len(reasons) < 2 || len(reasons) > 4 {
		t.Fatalf("reasons = %v", a["reasons"])
	}
	for _, r := range reasons {
		m := r.(map[string]any)
		for _, k := range []string{"question_id", "option_id", "text", "team", "article_url"} {
			if m[k] == "" || m[k] == nil {
				t.Errorf("reason lacks %s: %v", k, m)
			}
		}
	}

	bad := map[string]any{}
	for k, v := range answers {
		bad[k] = v
	}
	bad["no_such_question"] = "x"
	delete(bad, "realtime")
	resp, out := postJSON(t, app.URL+"/api/v1/assessments", map[string]any{"answers": bad})
	errs, _ := out["errors"].(map[string]any)
	if resp.StatusCode != http.StatusUnprocessableEntity || errs["no_such_question"] == nil || errs["realtime"] == nil {
		t.Fatalf("bad answers = %d %v", resp.StatusCode, out)
	}
	resp, out = postJSON(t, app.URL+"/api/v1/assessments", "not an object")
	if resp.StatusCode != http.StatusBadRequest || out["message"] == nil {
		t.Fatalf("malformed body = %d %v", resp.StatusCode, out)
	}

	lead := map[string]any{
		"assessment_id": a["id"], "name": "Ana", "email": "Ana@Acme.example.com", "company": "Acme",
		"region": "canada", "timezone": "America/St_Johns", "message": "", "consent": true,
		"utm": map[string]string{"utm_source": "partner"},
	}
	resp, out = postJSON(t, app.URL+"/api/v1/leads", lead)
	if resp.StatusCode != http.StatusCreated || out["team"] != a["team"] || out["region"] != "canada" || out["timezone"] != "America/St_Johns" {
		t.Fatalf("lead = %d %v", resp.StatusCode, out)
	}
	firstID := out["id"]

	_, a2 := postJSON(t, app.URL+"/api/v1/assessments", map[string]any{"answers": answers})
	lead["assessment_id"], lead["email"] = a2["id"], "ana@ACME.example.com"
	resp, out = postJSON(t, app.URL+"/api/v1/leads", lead)
	if resp.StatusCode != http.StatusCreated || out["id"] == firstID || out["created"] != true {
		t.Fatalf("same email again = %d %v, want a new submission with its own id", resp.StatusCode, out)
	}
	var leads, inquiries int
	db.Get(&leads, `SELECT count(*) FROM leads`)
	db.Get(&inquiries, `SELECT count(*) FROM inquiries`)
	if leads != 1 || inquiries != 2 {
		t.Fatalf("%d leads and %d inquiries after two captures with one email, want 1 and 2", leads, inquiries)
	}

	resp, out = postJSON(t, app.URL+"/api/v1/leads", map[string]any{"assessment_id": a["id"], "email": "nope", "region": "usa", "timezone": "America/Toronto"})
	errs, _ = out["errors"].(map[string]any)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("invalid lead = %d", resp.StatusCode)
	}
	for _, f := range []string{"name", "email", "company", "timezone", "consent"} {
		if errs[f] == nil {
			t.Errorf("no error for %s: %v", f, errs)
		}
	}
}

func TestHoneypotAndRateLimits(t *testing.T) {
	db, dbURL := pgtest.NewDBWithURL(t)
	app := startApp(t, map[string]string{"DATABASE_URL": dbURL, "RATE_LIMIT_LEADS": "3/1h"})
	answers := firstAnswers(t, app)
	_, a := postJSON(t, app.URL+"/api/v1/assessments", map[string]any{"answers": answers})
	resultURL := app.URL + "/assessment/" + a["id"].(string)

	bot := leadValues("Bot", "bot@acme.example.com")
	bot.Set("website", "http://spam.example")
	resp, body := postForm(t, resultURL+"/lead", bot)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "automated") {
		t.Fatalf("honeypot = %d", resp.StatusCode)
	}
	var n int
	db.Get(&n, `SELECT count(*) FROM leads`)
	if n != 0 {
		t.Fatal("the honeypot submission was stored")
	}
	postForm(t, resultURL+"/lead", leadValues("", ""))
	postForm(t, resultURL+"/lead", leadValues("", ""))
	resp, body = postForm(t, resultURL+"/lead", leadValues("Ana Patient", "ana@acme.example.com"))
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("fourth lead POST = %d, want 429 with Retry-After", resp.StatusCode)
	}
	if !strings.Contains(body, "Too many attempts") || !strings.Contains(body, `value="Ana Patient"`) {
		t.Fatal("429 page does not explain or lost what was typed")
	}
	resp, out := postJSON(t, app.URL+"/api/v1/leads", map[string]any{"assessment_id": a["id"]})
	if resp.StatusCode != http.StatusTooManyRequests || out["error"] != "rate_limited" {
		t.Fatalf("API after the limit = %d %v", resp.StatusCode, out)
	}

	off := startApp(t, map[string]string{"RATE_LIMITS": "off", "RATE_LIMIT_LEADS": "1/1h"})
	for i := 0; i < 3; i++ {
		if resp, _ := postJSON(t, off.URL+"/api/v1/leads", map[string]any{}); resp.StatusCode == http.StatusTooManyRequests {
			t.Fatal("RATE_LIMITS=off still limits")
		}
	}
}
