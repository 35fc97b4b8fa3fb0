package main

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"consultd/internal/pgtest"
	"consultd/services"
)

var slotButton = regexp.MustCompile(`name="start" value="([^"]+)"`)

func TestNoJavaScriptBookingJourney(t *testing.T) {
	db, dbURL := pgtest.NewDBWithURL(t)
	if _, err := services.SeedDemo(context.Background(), services.NewConsultants(db)); err != nil {
		t.Fatal(err)
	}
	app := startApp(t, map[string]string{"DATABASE_URL": dbURL})
	leadID, _ := newLeadVia(t, app, firstAnswers(t, app), "pat@acme.example.com")

	resp, page := get(t, app.URL+"/leads/"+leadID+"?tz=America/St_Johns", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `<option value="America/St_Johns" selected>`) {
		t.Fatalf("booking page = %d, zone switcher not on St. John's", resp.StatusCode)
	}
	if strings.Contains(page, `value="America/New_York"`) {
		t.Fatal("the zone switcher offers zones outside the lead's region")
	}
	starts := slotButton.FindAllStringSubmatch(page, -1)
	if len(starts) < 2 || !strings.HasSuffix(starts[0][1], "-03:30") {
		t.Fatalf("slots on the page: %v", starts)
	}
	first, second := starts[0][1], starts[1][1]

	resp, confirm := get(t, app.URL+"/leads/"+leadID+"/confirm?"+url.Values{"start": {first}, "tz": {"America/St_Johns"}}.Encode(), nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(confirm, "Newfoundland") || !strings.Contains(confirm, "Confirm booking") {
		t.Fatalf("confirm page = %d", resp.StatusCode)
	}
	resp, _ = postForm(t, app.URL+"/leads/"+leadID+"/book", url.Values{"start": {first}, "tz": {"America/St_Johns"}})
	manage := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(manage, "/b/") || !strings.HasSuffix(manage, "?done=booked") {
		t.Fatalf("book = %d %s", resp.StatusCode, manage)
	}
	manage = strings.TrimSuffix(manage, "?done=booked")
	resp, page = get(t, app.URL+manage+"?done=booked", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "You're booked") || !strings.Contains(page, "Newfoundland Standard Time") {
		t.Fatalf("manage page = %d", resp.StatusCode)
	}
	if resp.Header.Get("Referrer-Policy") != "no-referrer" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatal("the manage page may leak its link through Referer or caches")
	}
	resp, ics := get(t, app.URL+manage+"/invite.ics", nil)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/calendar") || !strings.Contains(ics, "METHOD:REQUEST") {
		t.Fatalf("invite.ics = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if resp, _ := get(t, app.URL+manage+"/cancel", nil); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET on the cancel action = %d, want 405 (no state change on GET)", resp.StatusCode)
	}

	// A second booking by the same person is not made: the address on file
	// gets the manage link, and the page says only that an email went out.
	resp, page = postForm(t, app.URL+"/leads/"+leadID+"/book", url.Values{"start": {second}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Check your email") || strings.Contains(page, manage) {
		t.Fatalf("second booking = %d", resp.StatusCode)
	}

	resp, page = get(t, app.URL+manage+"/reschedule", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Pick a new time") {
		t.Fatalf("reschedule page = %d", resp.StatusCode)
	}
	resp, _ = postForm(t, app.URL+manage+"/reschedule", url.Values{"start": {second}})
	if resp.StatusCode != http.StatusSeeOther || !strings.HasSuffix(resp.Header.Get("Location"), "?done=moved") {
		t.Fatalf("reschedule = %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, page = postForm(t, app.URL+manage+"/reschedule", url.Values{"start": {"2026-01-01T10:15:00Z"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "not one we offer") {
		t.Fatalf("reschedule to a time not offered = %d", resp.StatusCode)
	}

	resp, _ = postForm(t, app.URL+manage+"/cancel", url.Values{"reason": {"plans changed"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("cancel = %d", resp.StatusCode)
	}
	resp, page = postForm(t, app.URL+manage+"/cancel", nil)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(page, "was cancelled") {
		t.Fatalf("second cancel = %d", resp.StatusCode)
	}
	if resp, page := get(t, app.URL+manage+"/reschedule", nil); resp.StatusCode != http.StatusConflict || !strings.Contains(page, "was cancelled") {
		t.Fatalf("reschedule page of a cancelled booking = %d", resp.StatusCode)
	}
	var kinds []string
	db.Select(&kinds, `SELECT kind FROM outbox ORDER BY id`)
	if got := strings.Join(kinds, ","); got != "invite,consultant_notice,existing_booking,invite,consultant_notice,cancel,consultant_cancel" &&
		got != "invite,consultant_notice,existing_booking,invite,consultant_cancel,consultant_notice,cancel,consultant_cancel" {
		t.Fatalf("outbox = %s", got)
	}
}

func TestBookingAPIValidation(t *testing.T) {
	db, dbURL := pgtest.NewDBWithURL(t)
	services.SeedDemo(context.Background(), services.NewConsultants(db))
	app := startApp(t, map[string]string{"DATABASE_URL": dbURL})
	leadID, _ := newLeadVia(t, app, firstAnswers(t, app), "pat@acme.example.com")
	tests := []struct {
		path  string
		field string
	}{
		{"/api/v1/slots?lead_id=" + leadID + "&tz=America/Chicago", "tz"},
		{"/api/v1/slots?lead_id=" + leadID + "&days=90", "days"},
		{"/api/v1/slots?lead_id=" + leadID + "&days=many", "days"},
		{"/api/v1/slots?lead_id=" + leadID + "&from=tomorrow", "from"},
		{"/api/v1/slots?team=rails&region=usa", "team"},
		{"/api/v1/slots?team=django&region=mars", "region"},
	}
	for _, tt := range tests {
		resp, body := get(t, app.URL+tt.path, nil)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `"`+tt.field+`"`) {
			t.Errorf("%s = %d %s, want 422 naming %s", tt.path, resp.StatusCode, body, tt.field)
		}
	}
	if resp, body := get(t, app.URL+"/api/v1/slots?team=nodejs&region=usa&tz=America/Phoenix&days=7", nil); resp.StatusCode != http.StatusOK || !strings.Contains(body, "-07:00") {
		t.Errorf("team and region slots = %d %s", resp.StatusCode, body[:min(len(body), 200)])
	}
	if resp, _ := get(t, app.URL+"/api/v1/slots?lead_id=00000000-0000-4000-8000-000000000000", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown lead = %d", resp.StatusCode)
	}
	for _, body := range []map[string]any{
		{"lead_id": leadID, "start": "next tuesday"},
		{"lead_id": leadID, "start": "2026-01-05T10:07:00-05:00"},
		{"lead_id": leadID, "start": "2020-01-06T10:00:00-05:00"},
	} {
		resp, out := postJSON(t, app.URL+"/api/v1/bookings", body)
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("booking %v = %d %v, want 422", body["start"], resp.StatusCode, out)
		}
	}
	if resp, _ := postJSON(t, app.URL+"/api/v1/bookings", map[string]any{"lead_id": "nope", "start": "2026-01-05T10:00:00-05:00"}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("booking for an unknown lead = %d", resp.StatusCode)
	}
}

// Paging forward past a week without any free time must keep moving.
func TestLaterLinkMovesPastEmptyWeeks(t *testing.T) {
	db, dbURL := pgtest.NewDBWithURL(t)
	consultants := services.NewConsultants(db)
	services.SeedDemo(context.Background(), consultants)
	app := startApp(t, map[string]string{"DATABASE_URL": dbURL})
	leadID, _ := newLeadVia(t, app, firstAnswers(t, app), "pat@acme.example.com")
	list, _ := consultants.List(context.Background())
	from := time.Now().AddDate(0, 0, 14)
	for _, c := range list {
		if _, err := consultants.AddTimeOff(context.Background(), c.ID, from.AddDate(0, 0, -1), from.AddDate(0, 0, 9), "retreat"); err != nil {
			t.Fatal(err)
		}
	}
	day := from.In(mustLoad(t, "America/Toronto")).Format(time.DateOnly)
	resp, page := get(t, app.URL+"/leads/"+leadID+"?tz=America/Toronto&from="+day, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "No free times in these days") {
		t.Fatalf("empty week = %d", resp.StatusCode)
	}
	next := from.In(mustLoad(t, "America/Toronto")).AddDate(0, 0, 7).Format(time.DateOnly)
	if !strings.Contains(page, "from="+next) {
		t.Fatalf("the Later link does not move to %s", next)
	}
}

func mustLoad(t *testing.T, zone string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// The week links stop at the booking horizon, and a date past it (typed
// into the URL) shows the current week instead of an error.
func TestSlotPickerStopsAtTheHorizon(t *testing.T) {
	db, dbURL := pgtest.NewDBWithURL(t)
	services.SeedDemo(context.Background(), services.NewConsultants(db))
	app := startApp(t, map[string]string{"DATABASE_URL": dbURL, "BOOKING_HORIZON_DAYS": "30"})
	leadID, _ := newLeadVia(t, app, firstAnswers(t, app), "pat@acme.example.com")
	toronto := mustLoad(t, "America/Toronto")
	day := func(offset int) string { return time.Now().In(toronto).AddDate(0, 0, offset).Format(time.DateOnly) }
	page := func(from string) string {
		t.Helper()
		resp, body := get(t, app.URL+"/leads/"+leadID+"?tz=America/Toronto&from="+from, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("from=%s = %d", from, resp.StatusCode)
		}
		return body
	}
	if body := page(day(14)); !strings.Contains(body, "from="+day(21)) {
		t.Fatal("no Later link inside the horizon")
	}
	if body := page(day(28)); strings.Contains(body, "Later →") {
		t.Fatal("a Later link points past the horizon")
	}
	if body := page(day(45)); !strings.Contains(body, `name="from" value="`+day(0)+`"`) {
		t.Fatal("a date past the horizon did not fall back to this week")
	}
	if body := page("0000-01-01"); !strings.Contains(body, `name="from" value="`+day(0)+`"`) {
		t.Fatal("a date long past did not fall back to this week")
	}
}
