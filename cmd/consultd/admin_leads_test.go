package main

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// newLeadAs captures a lead through the public API with the given name and
// company, and returns its inquiry id and lead id.
func (s staffApp) newLeadAs(t *testing.T, name, company, email string) (inquiry, lead string) {
	t.Helper()
	resp, a := postJSON(t, s.URL+"/api/v1/assessments", map[string]any{"answers": firstAnswers(t, s.testApp)})
	if resp.StatusCode != http.StatusCreated {
		t.Fatal(a)
	}
	resp, out := postJSON(t, s.URL+"/api/v1/leads", map[string]any{
		"assessment_id": a["id"], "name": name, "email": email, "company": company,
		"region": "canada", "timezone": "America/Halifax", "consent": true,
	})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("lead = %d %v", resp.StatusCode, out)
	}
	inquiry = out["id"].(string)
	if err := s.db.Get(&lead, `SELECT lead_id FROM inquiries WHERE id = $1`, inquiry); err != nil {
		t.Fatal(err)
	}
	return inquiry, lead
}

func TestLeadInboxFiltersSearchesAndPages(t *testing.T) {
	s := newStaffApp(t, nil)
	_, ada := s.newLeadAs(t, "Ada Lovelace", "Analytical Engines", "ada@engines.example.com")
	_, grace := s.newLeadAs(t, "Grace Hopper", "Cobol Works", "grace@cobol.example.com")
	inquiry, _ := s.newLeadAs(t, "Linus Booker", "Kernel Co", "linus@kernel.example.com")
	bookFirstOpen(t, s.testApp, inquiry)
	s.db.MustExec(`UPDATE leads SET region = 'usa', timezone = 'America/Chicago' WHERE id = $1`, grace)
	c := browser(t)
	s.signIn(t, c, "sales@consult.example")

	names := func(query string) []string {
		t.Helper()
		resp, page := send(t, c, "GET", s.URL+"/admin/leads?"+query, nil, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("inbox ?%s = %d", query, resp.StatusCode)
		}
		var out []string
		for _, m := range regexp.MustCompile(`<a href="/admin/leads/[0-9a-f-]+"><strong>([^<]+)</strong>`).FindAllStringSubmatch(page, -1) {
			out = append(out, m[1])
		}
		return out
	}
	for query, want := range map[string]string{
		"sort=name":                          "[Ada Lovelace Grace Hopper Linus Booker]",
		"q=cobol":                            "[Grace Hopper]",
		"q=ENGINES+ada":                      "[Ada Lovelace]",
		"q=%25":                              "[]",
		"region=usa":                         "[Grace Hopper]",
		"booked=yes":                         "[Linus Booker]",
		"booked=no&sort=name":                "[Ada Lovelace Grace Hopper]",
		"view=follow-up&sort=name":           "[Ada Lovelace Grace Hopper]",
		"status=booked":                      "[Linus Booker]",
		"status=new&status=booked&sort=name": "[Ada Lovelace Grace Hopper Linus Booker]",
		"from=2000-01-01&to=2000-12-31":      "[]",
	} {
		if got := names(query); strings.Join(got, " ") != strings.Trim(want, "[]") {
			t.Errorf("?%s lists %v, want %s", query, got, want)
		}
	}
	resp, page := send(t, c, "GET", s.URL+"/admin/leads?from=yesterday&status=maybe", nil, nil)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "Use a date such as") || !strings.Contains(page, `value="yesterday"`) {
		t.Fatalf("bad filter = %d, want 422 with the form kept", resp.StatusCode)
	}
	for _, q := range []string{"from=0000-01-01", "to=0000-01-01", "page=200000000000000000", "page=-5&sort=nonsense", "q=%00%ff"} {
		for _, path := range []string{"/admin/leads?", "/admin/leads.csv?"} {
			if resp, _ := send(t, c, "GET", s.URL+path+q, nil, nil); resp.StatusCode >= 500 {
				t.Errorf("%s%s = %d", path, q, resp.StatusCode)
			}
		}
	}
	// Every row says how long the lead has waited for a first contact.
	_, page = send(t, c, "GET", s.URL+"/admin/leads", nil, nil)
	if strings.Count(page, `class="waiting"`) != 3 {
		t.Fatalf("want 3 leads waiting for contact")
	}
	if _, err := s.db.Exec(`UPDATE leads SET first_contacted_at = now() WHERE id = $1`, ada); err != nil {
		t.Fatal(err)
	}
	_, page = send(t, c, "GET", s.URL+"/admin/leads", nil, nil)
	if strings.Count(page, `class="waiting"`) != 2 {
		t.Fatalf("a contacted lead still shows as waiting")
	}

	// Pages of 50: 55 leads make two.
	s.db.MustExec(`
		INSERT INTO leads (name, email, company, region, timezone, team)
		SELECT 'Bulk ' || g, 'bulk' || g || '@bulk.example', 'Bulk', 'canada', 'America/Toronto', 'django' FROM generate_series(1, 52) g`)
	_, page = send(t, c, "GET", s.URL+"/admin/leads?sort=name", nil, nil)
	if !strings.Contains(page, "Page 1 of 2") || !strings.Contains(page, `rel="next"`) {
		t.Fatal("55 leads do not make two pages")
	}
	_, page = send(t, c, "GET", s.URL+"/admin/leads?sort=name&page=2", nil, nil)
	if got := strings.Count(page, `<a href="/admin/leads/`); got != 5 || !strings.Contains(page, `rel="prev"`) {
		t.Fatalf("page 2 lists %d leads, want 5", got)
	}
}

// Hostile text in lead fields is shown as text in every staff page and
// cannot run as a formula in the CSV export.
func TestLeadFieldsAreEscapedInPagesAndNeutralisedInCSV(t *testing.T) {
	s := newStaffApp(t, nil)
	const script = `<script>alert(1)</script>`
	const formula = `=HYPERLINK("http://evil.example","click")`
	_, lead := s.newLeadAs(t, "Eve "+script, formula, "eve@evil.example.com")
	c := browser(t)
	s.signIn(t, c, "sales@consult.example")
	for _, path := range []string{"/admin/leads", "/admin/leads/" + lead} {
		resp, page := send(t, c, "GET", s.URL+path, nil, nil)
		if resp.StatusCode != http.StatusOK || strings.Contains(page, script) || !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Fatalf("%s = %d, want the name shown escaped", path, resp.StatusCode)
		}
	}
	resp, body := send(t, c, "GET", s.URL+"/admin/leads.csv?q=eve", nil, nil)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") ||
		!strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("CSV = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	records, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(records) != 2 {
		t.Fatalf("CSV rows = %d (%v)\n%s", len(records), err, body)
	}
	row := map[string]string{}
	for i, h := range records[0] {
		row[h] = records[1][i]
	}
	if row["company"] != "'"+formula || row["name"] != "Eve "+script {
		t.Fatalf("CSV cells: company %q name %q; want the formula neutralised", row["company"], row["name"])
	}
	var audited int
	s.db.Get(&audited, `SELECT count(*) FROM audit_log WHERE action = 'leads_exported' AND actor = 'sales@consult.example'`)
	if audited != 1 {
		t.Fatal("the export was not audited")
	}
	if resp, _ := send(t, c, "GET", s.URL+"/admin/leads.csv?from=never", nil, nil); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("CSV with a bad filter = %d, want 422", resp.StatusCode)
	}
}

func TestLeadPageActions(t *testing.T) {
	s := newStaffApp(t, nil)
	inquiry, lead := s.newLeadAs(t, "Pat Doe", "Acme", "pat@acme.example.com")
	_, a2 := postJSON(t, s.URL+"/api/v1/assessments", map[string]any{"answers": firstAnswers(t, s.testApp)})
	_, later := postJSON(t, s.URL+"/api/v1/leads", map[string]any{
		"assessment_id": a2["id"], "name": "Patricia Doe", "email": "PAT@acme.example.com", "company": "Acme Corp",
		"region": "usa", "timezone": "America/Chicago", "consent": true,
	})
	c := browser(t)
	s.signIn(t, c, "sales@consult.example")
	base := s.URL + "/admin/leads/" + lead
	post := func(path string, form url.Values) (*http.Response, string) {
		t.Helper()
		return send(t, c, "POST", base+path, form, nil)
	}

	if resp, page := post("/status", url.Values{"status": {"won"}}); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "cannot become won") {
		t.Fatalf("new → won = %d, want 422", resp.StatusCode)
	}
	if resp, _ := post("/status", url.Values{"status": {"contacted"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("new → contacted = %d", resp.StatusCode)
	}
	if resp, page := post("/notes", url.Values{"note": {"   "}}); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "Write a note") {
		t.Fatalf("empty note = %d", resp.StatusCode)
	}
	if resp, _ := post("/notes", url.Values{"note": {"Called <b>twice</b>; prefers mornings."}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("note = %d", resp.StatusCode)
	}
	if resp, _ := post("/inquiries/"+later["id"].(string)+"/accept", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("accept = %d", resp.StatusCode)
	}
	if resp, _ := post("/inquiries/"+inquiry+"x/accept", nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("accept an unknown inquiry = %d, want 404", resp.StatusCode)
	}
	if resp, _ := post("/bookings/not-a-uuid/no-show", nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("no-show of a malformed booking id = %d, want 404", resp.StatusCode)
	}
	resp, page := send(t, c, "GET", base, nil, nil)
	for _, want := range []string{"Patricia Doe", "Acme Corp", "contacted", "Called &lt;b&gt;twice&lt;/b&gt;; prefers mornings.",
		"Status new → contacted", "Details of a later submission accepted", "I agree to be contacted", "sales@consult.example"} {
		if !strings.Contains(page, want) {
			t.Errorf("lead page lacks %q", want)
		}
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Error("the lead page may be cached")
	}

	resp, body := send(t, c, "GET", base+"/export.json", nil, nil)
	var export struct {
		Lead      map[string]any   `json:"lead"`
		Inquiries []map[string]any `json:"submissions"`
		Notes     []map[string]any `json:"notes"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &export) != nil || len(export.Inquiries) != 2 || len(export.Notes) != 1 {
		t.Fatalf("export = %d: %d inquiries, %d notes", resp.StatusCode, len(export.Inquiries), len(export.Notes))
	}

	var actions []string
	s.db.Select(&actions, `SELECT action FROM audit_log WHERE target_id = $1 ORDER BY id`, lead)
	if strings.Join(actions, ",") != "status_changed,note_added,inquiry_accepted,lead_exported" {
		t.Fatalf("audit = %v", actions)
	}
}

func TestOnlyAdminsEraseAndErasureKeepsCounts(t *testing.T) {
	s := newStaffApp(t, nil)
	inquiry, lead := s.newLeadAs(t, "Erin Erase", "Gone Ltd", "erin@gone.example.com")
	bookFirstOpen(t, s.testApp, inquiry)
	_, a2 := postJSON(t, s.URL+"/api/v1/assessments", map[string]any{"answers": firstAnswers(t, s.testApp)})
	_, later := postJSON(t, s.URL+"/api/v1/leads", map[string]any{
		"assessment_id": a2["id"], "name": "Erin Secondname", "email": "erin@gone.example.com", "company": "SecretCo",
		"region": "canada", "timezone": "America/Halifax", "consent": true,
	})
	sales := browser(t)
	s.signIn(t, sales, "sales@consult.example")
	if resp, _ := send(t, sales, "POST", s.URL+"/admin/leads/"+lead+"/inquiries/"+later["id"].(string)+"/accept", nil, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("accept = %d", resp.StatusCode)
	}
	if resp, _ := send(t, sales, "POST", s.URL+"/admin/leads/"+lead+"/erase", url.Values{"confirm": {"erase"}}, nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("sales erasing = %d, want 403", resp.StatusCode)
	}
	admin := browser(t)
	s.signIn(t, admin, "admin@consult.example")
	if resp, _ := send(t, admin, "POST", s.URL+"/admin/leads/"+lead+"/erase", url.Values{"confirm": {"yes"}}, nil); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("erase without typing erase = %d, want 422", resp.StatusCode)
	}
	if resp, _ := send(t, admin, "POST", s.URL+"/admin/leads/"+lead+"/erase", url.Values{"confirm": {"erase"}}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("erase = %d", resp.StatusCode)
	}
	var left int
	s.db.Get(&left, `
		SELECT (SELECT count(*) FROM leads WHERE name LIKE '%Erin%' OR email LIKE '%gone.example%')
		     + (SELECT count(*) FROM inquiries WHERE name LIKE '%Erin%' OR email LIKE '%gone.example%')
		     + (SELECT count(*) FROM outbox WHERE to_address LIKE '%gone.example%' OR position('Erin' IN convert_from(message, 'UTF8')) > 0)
		     + (SELECT count(*) FROM lead_events WHERE detail::text LIKE '%Erin%' OR detail::text LIKE '%SecretCo%')
		     + (SELECT count(*) FROM audit_log WHERE detail::text LIKE '%Erin%' OR detail::text LIKE '%SecretCo%')`)
	var leads, inquiries, bookings int
	s.db.Get(&leads, `SELECT count(*) FROM leads WHERE id = $1 AND erased_at IS NOT NULL`, lead)
	s.db.Get(&inquiries, `SELECT count(*) FROM inquiries WHERE lead_id = $1`, lead)
	s.db.Get(&bookings, `SELECT count(*) FROM bookings WHERE lead_id = $1 AND status = 'cancelled'`, lead)
	if left != 0 || leads != 1 || inquiries != 2 || bookings != 1 {
		t.Fatalf("after erasure: %d rows still name the person; lead %d, inquiries %d, cancelled bookings %d", left, leads, inquiries, bookings)
	}
	if resp, page := send(t, admin, "POST", s.URL+"/admin/leads/"+lead+"/status", url.Values{"status": {"contacted"}}, nil); resp.StatusCode != http.StatusConflict || !strings.Contains(page, "erased") {
		t.Fatalf("changing an erased lead = %d, want 409", resp.StatusCode)
	}
	// The person's old links lead nowhere.
	if resp, _ := get(t, s.URL+"/leads/"+inquiry, nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("an erased lead's booking page = %d, want 404", resp.StatusCode)
	}
	if resp, _ := postJSON(t, s.URL+"/api/v1/bookings", map[string]any{"lead_id": inquiry, "start": "2030-01-07T15:00:00Z"}); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("booking through an erased lead's inquiry = %d, want 404", resp.StatusCode)
	}
}

// Consultants read the leads they meet and nothing else; they change nothing.
func TestConsultantsReadOnlyTheLeadsTheyMeet(t *testing.T) {
	s := newStaffApp(t, nil)
	_, stranger := s.newLeadAs(t, "Not Owens", "Other", "other@x.example.com")
	var owen string
	s.db.Get(&owen, `SELECT id FROM consultants WHERE email = 'owen.macleod@consult.example'`)
	// Make Owen the only Node.js consultant for Canada, then book a Node.js lead.
	s.db.MustExec(`UPDATE consultants SET active = false WHERE team = 'nodejs' AND id <> $1`, owen)
	inquiry, met := s.newLeadAs(t, "Met Lead", "Acme", "met@x.example.com")
	s.db.MustExec(`UPDATE inquiries SET team = 'nodejs' WHERE id = $1`, inquiry)
	booking := bookFirstOpen(t, s.testApp, inquiry)
	c := browser(t)
	s.signIn(t, c, "owen@consult.example")
	if resp, page := send(t, c, "GET", s.URL+"/admin/leads/"+met, nil, nil); resp.StatusCode != http.StatusOK || strings.Contains(page, "Change status") {
		t.Fatalf("Owen reading his lead = %d (actions shown: %v)", resp.StatusCode, strings.Contains(page, "Change status"))
	}
	for _, tc := range []struct{ method, path string }{
		{"GET", "/admin/leads/" + stranger}, {"GET", "/admin/leads"}, {"GET", "/admin/leads.csv"},
		{"POST", "/admin/leads/" + met + "/status"}, {"POST", "/admin/leads/" + met + "/notes"}, {"GET", "/admin/leads/" + met + "/export.json"},
	} {
		resp, _ := send(t, c, tc.method, s.URL+tc.path, url.Values{"status": {"contacted"}, "note": {"x"}}, nil)
		if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusForbidden {
			t.Errorf("consultant %s %s = %d, want 403 or 404", tc.method, tc.path, resp.StatusCode)
		}
	}
	anon := browser(t)
	if resp, _ := send(t, anon, "GET", s.URL+"/admin/leads/"+met, nil, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("anonymous lead page = %d, want the sign-in page", resp.StatusCode)
	}
	// Once the booking is cancelled, Owen no longer meets this lead.
	manage := strings.TrimPrefix(booking["manage_url"].(string), "http://localhost:8080")
	if resp, _ := postForm(t, s.URL+manage+"/cancel", url.Values{}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("cancel = %d", resp.StatusCode)
	}
	if resp, _ := send(t, c, "GET", s.URL+"/admin/leads/"+met, nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("Owen reading a lead whose booking was cancelled = %d, want 404", resp.StatusCode)
	}
}
