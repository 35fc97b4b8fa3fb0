package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"consultd/internal/pgtest"
	"consultd/services"
)

// bookFirstOpen books the first open slot of an inquiry through the API and
// returns the booking answer.
func bookFirstOpen(t *testing.T, app *testApp, inquiryID string) map[string]any {
	t.Helper()
	resp, slots := postJSONGet(t, app.URL+"/api/v1/slots?lead_id="+inquiryID+"&days=14")
	list, _ := slots["slots"].([]any)
	if resp.StatusCode != http.StatusOK || len(list) == 0 {
		t.Fatalf("slots = %d %v", resp.StatusCode, slots)
	}
	start := list[0].(map[string]any)["start"]
	resp, bk := postJSON(t, app.URL+"/api/v1/bookings", map[string]any{"lead_id": inquiryID, "start": start})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("booking = %d %v", resp.StatusCode, bk)
	}
	return bk
}

func postJSONGet(t *testing.T, target string) (*http.Response, map[string]any) {
	t.Helper()
	resp, body := get(t, target, nil)
	out := map[string]any{}
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatalf("%s: %v %q", target, err, body)
	}
	return resp, out
}

func keysOf(m map[string]any) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func seededApp(t *testing.T, env map[string]string) (*testApp, *sqlx.DB) {
	t.Helper()
	db, dbURL := pgtest.NewDBWithURL(t)
	if _, err := services.SeedDemo(context.Background(), services.NewConsultants(db)); err != nil {
		t.Fatal(err)
	}
	full := map[string]string{"DATABASE_URL": dbURL, "RATE_LIMITS": "off"}
	for k, v := range env {
		full[k] = v
	}
	return startApp(t, full), db
}

// A stranger who types the email of someone with an upcoming consultation
// gets an answer shaped exactly like anyone else's, reaches nothing of that
// person's, and the address on file gets the manage link.
func TestStrangerWithAKnownEmailLearnsAndChangesNothing(t *testing.T) {
	app, db := seededApp(t, nil)
	answers := firstAnswers(t, app)
	resp, a := postJSON(t, app.URL+"/api/v1/assessments", map[string]any{"answers": answers})
	if resp.StatusCode != http.StatusCreated {
		t.Fatal(a)
	}
	victimBody := map[string]any{
		"assessment_id": a["id"], "name": "Victor Victim", "email": "victor@acme.example.com", "company": "Acme",
		"region": "canada", "timezone": "America/Toronto", "consent": true,
	}
	resp, victim := postJSON(t, app.URL+"/api/v1/leads", victimBody)
	if resp.StatusCode != http.StatusCreated {
		t.Fatal(victim)
	}
	booking := bookFirstOpen(t, app, victim["id"].(string))
	manage := strings.TrimPrefix(booking["manage_url"].(string), "http://localhost:8080")

	_, a2 := postJSON(t, app.URL+"/api/v1/assessments", map[string]any{"answers": answers})
	resp, stranger := postJSON(t, app.URL+"/api/v1/leads", map[string]any{
		"assessment_id": a2["id"], "name": "Mallory", "email": "VICTOR@Acme.Example.com", "company": "Evil",
		"region": "usa", "timezone": "America/Chicago", "consent": true,
	})
	_, a3 := postJSON(t, app.URL+"/api/v1/assessments", map[string]any{"answers": answers})
	_, unknown := postJSON(t, app.URL+"/api/v1/leads", map[string]any{
		"assessment_id": a3["id"], "name": "Nobody", "email": "nobody@else.example.com", "company": "Else",
		"region": "usa", "timezone": "America/Chicago", "consent": true,
	})
	if resp.StatusCode != http.StatusCreated || stranger["id"] == victim["id"] || stranger["created"] != true {
		t.Fatalf("stranger's lead = %d %v", resp.StatusCode, stranger)
	}
	if got, want := keysOf(stranger), keysOf(unknown); !slices.Equal(got, want) || unknown["created"] != true {
		t.Fatalf("answer for a known email has fields %v, for an unknown one %v", got, want)
	}

	strangerID := stranger["id"].(string)
	resp, page := get(t, app.URL+"/leads/"+strangerID, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Check your email") || strings.Contains(page, "Victor") || strings.Contains(page, manage) {
		t.Fatalf("stranger's lead page = %d", resp.StatusCode)
	}
	if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Fatal("the lead page may be cached or leak through Referer")
	}
	resp, refused := postJSON(t, app.URL+"/api/v1/bookings", map[string]any{"lead_id": strangerID, "start": booking["start"]})
	if resp.StatusCode != http.StatusConflict || refused["error"] != "email_sent" || strings.Contains(jsonString(refused), "Victor") {
		t.Fatalf("stranger's booking = %d %v", resp.StatusCode, refused)
	}

	resp, page = get(t, app.URL+manage, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Victor Victim") || strings.Contains(page, "Mallory") {
		t.Fatalf("the victim's manage page changed (%d)", resp.StatusCode)
	}
	var lead struct {
		Name   string `db:"name"`
		Region string `db:"region"`
		Team   string `db:"team"`
	}
	db.Get(&lead, `SELECT name, region, team FROM leads WHERE lower(email) = 'victor@acme.example.com'`)
	if lead.Name != "Victor Victim" || lead.Region != "canada" || lead.Team != victim["team"] {
		t.Fatalf("lead after the stranger's submission = %+v", lead)
	}
	var to []string
	db.Select(&to, `SELECT to_address FROM outbox WHERE kind = 'existing_booking'`)
	if len(to) != 1 || to[0] != "victor@acme.example.com" {
		t.Fatalf("existing-booking mail went to %v", to)
	}
	var bookings int
	db.Get(&bookings, `SELECT count(*) FROM bookings`)
	if bookings != 1 {
		t.Fatalf("%d bookings, want the victim's only", bookings)
	}
}

// Pages showing a prospect's details are kept out of caches and Referer.
func TestProspectPagesAreNeitherCachedNorLeaked(t *testing.T) {
	app, _ := seededApp(t, nil)
	resp, a := postJSON(t, app.URL+"/api/v1/assessments", map[string]any{"answers": firstAnswers(t, app)})
	if resp.StatusCode != http.StatusCreated {
		t.Fatal(a)
	}
	assessment := a["id"].(string)
	inquiry, _ := newLeadVia(t, app, firstAnswers(t, app), "pat@acme.example.com")
	_, slots := postJSONGet(t, app.URL+"/api/v1/slots?lead_id="+inquiry+"&days=14")
	start := slots["slots"].([]any)[0].(map[string]any)["start"].(string)
	bad := leadValues("Pat", "not-an-email")

	pages := []struct {
		name string
		do   func() *http.Response
	}{
		{"result", func() *http.Response { r, _ := get(t, app.URL+"/assessment/"+assessment, nil); return r }},
		{"refused lead form", func() *http.Response { r, _ := postForm(t, app.URL+"/assessment/"+assessment+"/lead", bad); return r }},
		{"slot picker", func() *http.Response { r, _ := get(t, app.URL+"/leads/"+inquiry, nil); return r }},
		{"confirm", func() *http.Response {
			r, _ := get(t, app.URL+"/leads/"+inquiry+"/confirm?"+url.Values{"start": {start}}.Encode(), nil)
			return r
		}},
		{"lead API", func() *http.Response {
			r, _ := postJSON(t, app.URL+"/api/v1/leads", map[string]any{"assessment_id": assessment})
			return r
		}},
	}
	for _, p := range pages {
		resp := p.do()
		if resp.StatusCode >= 500 || resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: %d, Cache-Control %q", p.name, resp.StatusCode, resp.Header.Get("Cache-Control"))
		}
		if !strings.HasPrefix(p.name, "lead API") && resp.Header.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s: Referrer-Policy %q", p.name, resp.Header.Get("Referrer-Policy"))
		}
	}
}

// The confirm step shows only starts the service would book; anything else
// goes back to the slot picker with 422.
func TestConfirmRefusesStartsNotOffered(t *testing.T) {
	app, _ := seededApp(t, nil)
	inquiry, _ := newLeadVia(t, app, firstAnswers(t, app), "pat@acme.example.com")
	_, slots := postJSONGet(t, app.URL+"/api/v1/slots?lead_id="+inquiry+"&days=14")
	offered, _ := time.Parse(time.RFC3339, slots["slots"].([]any)[0].(map[string]any)["start"].(string))
	for name, start := range map[string]string{
		"year zero":      "0000-01-01T00:00:00Z",
		"past":           "2020-01-06T15:00:00Z",
		"off the grid":   offered.Add(7 * time.Minute).Format(time.RFC3339),
		"beyond horizon": offered.AddDate(0, 3, 0).Format(time.RFC3339),
		"not a time":     "soon",
	} {
		resp, page := get(t, app.URL+"/leads/"+inquiry+"/confirm?"+url.Values{"start": {start}}.Encode(), nil)
		if resp.StatusCode != http.StatusUnprocessableEntity || strings.Contains(page, "Confirm booking") || !strings.Contains(page, "Pick a time") {
			t.Errorf("%s: confirm = %d, want the slot picker with 422", name, resp.StatusCode)
		}
	}
	resp, page := get(t, app.URL+"/leads/"+inquiry+"/confirm?"+url.Values{"start": {offered.Format(time.RFC3339)}}.Encode(), nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Confirm booking") {
		t.Fatalf("an offered start: confirm = %d", resp.StatusCode)
	}
}

// Caps on changes and on mail to the prospect's address, through the pages.
func TestChangeAndMailCapsThroughThePages(t *testing.T) {
	app, db := seededApp(t, map[string]string{"BOOKING_MAX_RESCHEDULES": "1", "PROSPECT_MAIL_PER_DAY": "1"})
	inquiry, _ := newLeadVia(t, app, firstAnswers(t, app), "pat@acme.example.com")
	bk := bookFirstOpen(t, app, inquiry)
	if bk["emailed"] != true {
		t.Fatalf("booking answer emailed = %v, want true", bk["emailed"])
	}
	manage := strings.TrimPrefix(bk["manage_url"].(string), "http://localhost:8080")
	_, page := get(t, app.URL+manage+"/reschedule", nil)
	starts := slotButton.FindAllStringSubmatch(page, -1)
	if len(starts) < 2 {
		t.Fatal("no slots to move to")
	}
	resp, _ := postForm(t, app.URL+manage+"/reschedule", url.Values{"start": {starts[0][1]}})
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasSuffix(loc, "?done=moved&mail=held") {
		t.Fatalf("move = %d %s, want the mail held by the daily cap", resp.StatusCode, loc)
	}
	_, page = get(t, app.URL+manage+"?done=moved&mail=held", nil)
	if !strings.Contains(page, "held the update back") {
		t.Fatal("the manage page does not say the email was held")
	}
	resp, page = postForm(t, app.URL+manage+"/reschedule", url.Values{"start": {starts[1][1]}})
	if resp.StatusCode != http.StatusConflict || !strings.Contains(page, "as many times as we allow online") {
		t.Fatalf("second move = %d, want 409 naming the cap", resp.StatusCode)
	}
	var statuses []string
	db.Select(&statuses, `SELECT audience || ':' || kind || ':' || status FROM outbox ORDER BY id`)
	capped := 0
	for _, s := range statuses {
		if strings.HasSuffix(s, ":capped") {
			capped++
			if !strings.HasPrefix(s, "prospect:") {
				t.Fatalf("mail to staff or consultants was capped: %v", statuses)
			}
		}
	}
	if capped != 1 {
		t.Fatalf("outbox = %v, want exactly the prospect's move notice capped", statuses)
	}
}

// A rate-limited cancel shows the manage page again with the reason kept.
func TestRateLimitedCancelKeepsTheReason(t *testing.T) {
	app, _ := seededApp(t, map[string]string{"RATE_LIMITS": "on", "RATE_LIMIT_BOOKINGS": "1/1h"})
	inquiry, _ := newLeadVia(t, app, firstAnswers(t, app), "pat@acme.example.com")
	bk := bookFirstOpen(t, app, inquiry)
	manage := strings.TrimPrefix(bk["manage_url"].(string), "http://localhost:8080")
	resp, page := postForm(t, app.URL+manage+"/cancel", url.Values{"reason": {"Our CTO is travelling <that> week"}})
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("cancel over the limit = %d", resp.StatusCode)
	}
	if !strings.Contains(page, `value="Our CTO is travelling &lt;that&gt; week"`) || !strings.Contains(page, "Cancel consultation") {
		t.Fatal("the manage page did not come back with the reason kept")
	}
}

// During a database outage every form answers 503 with Retry-After and
// comes back with what was typed; the JSON API answers {"error":"unavailable"}.
// Once the database returns, the kept values go through.
func TestDatabaseOutageLosesNothingTyped(t *testing.T) {
	pg := pgtest.StartServer(t)
	db, err := sqlx.Open("postgres", pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	app := startApp(t, map[string]string{"DATABASE_URL": pg.URL, "RATE_LIMITS": "off"})
	if _, err := services.SeedDemo(context.Background(), services.NewConsultants(db)); err != nil {
		t.Fatal(err)
	}
	_, form := get(t, app.URL+"/assessment", nil)
	answers := formAnswers(t, form)
	resp, _ := postForm(t, app.URL+"/assessment", answers)
	resultPath := resp.Header.Get("Location")
	apiAnswers := firstAnswers(t, app)
	inquiry, _ := newLeadVia(t, app, apiAnswers, "pat@acme.example.com")
	manage := strings.TrimPrefix(bookFirstOpen(t, app, inquiry)["manage_url"].(string), "http://localhost:8080")
	db.Close()
	pg.Stop(t)

	unavailable := func(name string, resp *http.Response) {
		t.Helper()
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("%s during the outage = %d (Retry-After %q), want 503 with Retry-After", name, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	}
	resp, page := postForm(t, app.URL+"/assessment", answers)
	unavailable("assessment form", resp)
	if got := strings.Count(page, `" checked`); got < len(answers)-2 || !strings.Contains(page, "try again in a minute") {
		t.Fatalf("assessment form kept %d choices", got)
	}
	typed := leadValues(`Zoë "Z" Tremblay`, "zoe@acme.example.com")
	resp, page = postForm(t, app.URL+resultPath+"/lead", typed)
	unavailable("lead form", resp)
	for _, want := range []string{`value="Zoë &#34;Z&#34; Tremblay"`, `value="zoe@acme.example.com"`, "We need help.", `<option value="America/Phoenix" selected>`, "try again in a minute"} {
		if !strings.Contains(page, want) {
			t.Errorf("lead form during the outage lacks %q", want)
		}
	}
	bodies := map[string]map[string]any{
		"/api/v1/assessments": {"answers": apiAnswers},
		"/api/v1/leads": {"assessment_id": inquiry, "name": "Zoë", "email": "zoe@acme.example.com", "company": "Acme",
			"region": "canada", "timezone": "America/Toronto", "consent": true},
		"/api/v1/bookings": {"lead_id": inquiry, "start": time.Now().Add(48 * time.Hour).Truncate(time.Hour).Format(time.RFC3339)},
	}
	for api, body := range bodies {
		resp, out := postJSON(t, app.URL+api, body)
		if resp.StatusCode != http.StatusServiceUnavailable || out["error"] != "unavailable" || resp.Header.Get("Retry-After") == "" {
			t.Errorf("%s during the outage = %d %v", api, resp.StatusCode, out)
		}
	}
	resp, page = postForm(t, app.URL+manage+"/cancel", url.Values{"reason": {"Plans changed"}})
	unavailable("cancel form", resp)
	if !strings.Contains(page, `name="reason" value="Plans changed"`) || !strings.Contains(page, `action="`+manage+`/cancel"`) {
		t.Fatal("the retry page lost the cancel reason or its target")
	}

	pg.Start(t)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, _ = postForm(t, app.URL+manage+"/cancel", url.Values{"reason": {"Plans changed"}})
		if resp.StatusCode == http.StatusSeeOther || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the kept cancel after the outage = %d", resp.StatusCode)
	}
}
