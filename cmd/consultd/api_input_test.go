package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"consultd/internal/pgtest"
	"consultd/services"
)

// newBookedApp starts the app with consultants of both teams free around
// the clock and returns it with the manage token of a fresh booking.
func newBookedApp(t *testing.T, email string) (*testApp, string) {
	t.Helper()
	db, dbURL := pgtest.NewDBWithURL(t)
	consultants := services.NewConsultants(db)
	hours, _ := services.ParseWeeklyHours([]string{"mon-sun 00:00-24:00"})
	for _, team := range []string{"django", "nodejs"} {
		_, _, err := consultants.Upsert(context.Background(), services.NewConsultant{
			Name: team, Email: team + "@consult.example.com", Team: team, Regions: []string{"canada"}, Timezone: "America/Toronto", Hours: hours,
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	app := startApp(t, map[string]string{"DATABASE_URL": dbURL, "RATE_LIMITS": "off"})
	leadID, _ := newLeadVia(t, app, firstAnswers(t, app), email)
	_, body := get(t, app.URL+"/api/v1/slots?lead_id="+leadID+"&days=2", nil)
	var slots struct {
		Slots []struct{ Start string } `json:"slots"`
	}
	if err := json.Unmarshal([]byte(body), &slots); err != nil || len(slots.Slots) == 0 {
		t.Fatalf("slots: %s", body)
	}
	resp, bk := postJSON(t, app.URL+"/api/v1/bookings", map[string]any{"lead_id": leadID, "start": slots.Slots[0].Start})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("booking = %d %v", resp.StatusCode, bk)
	}
	manage, _ := url.Parse(bk["manage_url"].(string))
	return app, strings.TrimPrefix(manage.Path, "/b/")
}

// rawPost sends a request exactly as written, so the test controls the
// framing (here: chunked, without Content-Length) that Go's client chooses.
func rawPost(t *testing.T, app *testApp, path, header, body string) (int, string) {
	t.Helper()
	u, _ := url.Parse(app.URL)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := "POST " + path + " HTTP/1.1\r\nHost: " + u.Host + "\r\nConnection: close\r\n" + header + "\r\n" + body
	if _, err := conn.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out strings.Builder
	bufio.NewReader(resp.Body).WriteTo(&out)
	return resp.StatusCode, out.String()
}

func TestCancelAcceptsAnEmptyBodyHoweverFramed(t *testing.T) {
	tests := []struct{ name, header, body string }{
		{"chunked, empty", "Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n", "0\r\n\r\n"},
		{"chunked, whitespace", "Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n", "2\r\n \n\r\n0\r\n\r\n"},
		{"content-length 0", "Content-Length: 0\r\n", ""},
		{"chunked, with a reason", "Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n", "12\r\n{\"reason\": \"sick\"}\r\n0\r\n\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app, token := newBookedApp(t, "pat@acme.example.com")
			status, body := rawPost(t, app, "/api/v1/bookings/"+token+"/cancel", tt.header, tt.body)
			if status != http.StatusOK || !strings.Contains(body, `"status":"cancelled"`) {
				t.Fatalf("cancel = %d %s", status, body)
			}
		})
	}
}

func TestJSONBodiesAreOneObject(t *testing.T) {
	app := startApp(t, map[string]string{"RATE_LIMITS": "off"})
	answers, _ := json.Marshal(firstAnswers(t, app))
	tests := []struct {
		name, path, body string
		want             int
		message          string // part of the message; empty when any will do
	}{
		{"two objects", "/api/v1/assessments", `{}{}`, http.StatusBadRequest, "after the JSON object"},
		{"an object then a word", "/api/v1/assessments", `{"answers": ` + string(answers) + `} x`, http.StatusBadRequest, "after the JSON object"},
		{"an array", "/api/v1/assessments", `[]`, http.StatusBadRequest, "must be a JSON object"},
		{"a string", "/api/v1/leads", `"x"`, http.StatusBadRequest, "must be a JSON object"},
		{"a number", "/api/v1/bookings", `3`, http.StatusBadRequest, "must be a JSON object"},
		{"an answer of the wrong type", "/api/v1/assessments", `{"answers": {"realtime": 3}}`, http.StatusBadRequest, `"answers.realtime"`},
		{"a list answer of the wrong type", "/api/v1/assessments", `{"answers": {"features": ["chat", 3]}}`, http.StatusBadRequest, `"answers.features"`},
		{"answers of the wrong type", "/api/v1/assessments", `{"answers": 3}`, http.StatusBadRequest, `"answers"`},
		{"a UTM value of the wrong type", "/api/v1/assessments", `{"utm": {"utm_source": 3}}`, http.StatusBadRequest, `"utm.utm_source"`},
		{"a top-level field of the wrong type", "/api/v1/leads", `{"consent": "yes"}`, http.StatusBadRequest, `"consent"`},
		{"cancel with data after the object", "/api/v1/bookings/nope/cancel", `{} x`, http.StatusBadRequest, "after the JSON object"},
		{"one object and white space", "/api/v1/assessments", "{\"answers\": " + string(answers) + "}\n \r\n", http.StatusCreated, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := do(t, "POST", app.URL+tt.path, "application/json", tt.body, nil)
			var out struct{ Message string }
			json.Unmarshal([]byte(body), &out)
			if resp.StatusCode != tt.want || !strings.Contains(out.Message, tt.message) || strings.Contains(out.Message, `field ""`) {
				t.Fatalf("%s = %d %s, want %d with %q", tt.body, resp.StatusCode, body, tt.want, tt.message)
			}
		})
	}
}

func TestSlotsRefuseDaysAndDatesOutOfRange(t *testing.T) {
	app := startApp(t, map[string]string{"RATE_LIMITS": "off", "BOOKING_HORIZON_DAYS": "30"})
	toronto := mustLoad(t, "America/Toronto")
	day := func(offset int) string { return time.Now().In(toronto).AddDate(0, 0, offset).Format(time.DateOnly) }
	base := app.URL + "/api/v1/slots?team=django&region=canada&tz=America/Toronto"
	refused := []struct{ query, field, message string }{
		{"&days=0", "days", "Ask for 1 to 31 days."},
		{"&days=-3", "days", "Ask for 1 to 31 days."},
		{"&days=32", "days", "Ask for 1 to 31 days."},
		{"&from=0000-01-01", "from", "from today up to 30 days ahead"},
		{"&from=" + day(-3), "from", "from today up to 30 days ahead"},
		{"&from=" + day(32), "from", "from today up to 30 days ahead"},
	}
	for _, tt := range refused {
		resp, body := get(t, base+tt.query, nil)
		var out struct{ Errors map[string]string }
		json.Unmarshal([]byte(body), &out)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(out.Errors[tt.field], tt.message) {
			t.Errorf("%s = %d %s, want 422 with %s: %q", tt.query, resp.StatusCode, body, tt.field, tt.message)
		}
	}
	for _, query := range []string{"", "&days=1", "&days=31", "&from=" + day(-1), "&from=" + day(0), "&from=" + day(29)} {
		if resp, body := get(t, base+query, nil); resp.StatusCode != http.StatusOK {
			t.Errorf("%q = %d %s, want 200", query, resp.StatusCode, body)
		}
	}
}

func funnelCount(t *testing.T, app *testApp, stage string) string {
	t.Helper()
	_, metrics := get(t, app.URL+"/metrics", nil)
	m := regexp.MustCompile(`consultd_funnel_total\{stage="` + stage + `"\} (\d+)`).FindStringSubmatch(metrics)
	if m == nil {
		t.Fatalf("no funnel count for %s", stage)
	}
	return m[1]
}

// An API client that never reported a start still started: completed can
// never exceed started.
func TestAPIAssessmentCountsItsStart(t *testing.T) {
	app := startApp(t, map[string]string{"RATE_LIMITS": "off"})
	answers := firstAnswers(t, app)
	if resp, out := postJSON(t, app.URL+"/api/v1/assessments", map[string]any{"answers": answers}); resp.StatusCode != http.StatusCreated {
		t.Fatalf("assessment = %d %v", resp.StatusCode, out)
	}
	if got := funnelCount(t, app, "assessment_started"); got != "1" {
		t.Fatalf("started = %s after one API submission, want 1", got)
	}
	// The page script reports the start itself, then says so.
	postJSON(t, app.URL+"/api/v1/assessments/started", nil)
	postJSON(t, app.URL+"/api/v1/assessments", map[string]any{"answers": answers, "started_reported": true})
	// A refused submission is no start.
	postJSON(t, app.URL+"/api/v1/assessments", map[string]any{"answers": map[string]any{}})
	if started, completed := funnelCount(t, app, "assessment_started"), funnelCount(t, app, "assessment_completed"); started != "2" || completed != "2" {
		t.Fatalf("started %s, completed %s; want 2 and 2", started, completed)
	}
	resp, out := postJSON(t, app.URL+"/api/v1/assessments", map[string]any{"answers": answers, "started_reported": "yes"})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(out["message"].(string), "started_reported") {
		t.Fatalf("started_reported as a string = %d %v", resp.StatusCode, out)
	}
}

func TestAssessmentStartedIsRateLimited(t *testing.T) {
	app := startApp(t, map[string]string{"RATE_LIMIT_ASSESSMENTS": "2/1h"})
	for i, want := range []int{http.StatusNoContent, http.StatusNoContent, http.StatusTooManyRequests} {
		resp, _ := do(t, "POST", app.URL+"/api/v1/assessments/started", "", "", nil)
		if resp.StatusCode != want {
			t.Fatalf("start report %d = %d, want %d", i+1, resp.StatusCode, want)
		}
		if want == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
	}
	if got := funnelCount(t, app, "assessment_started"); got != "2" {
		t.Fatalf("started = %s, want the 2 reports under the limit", got)
	}
}
