package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"consultd/services"
)

// chatAppAnswers route a lead to the Node.js team (a documented example).
var chatAppAnswers = map[string]any{
	"realtime": "core", "io": "massive", "cpu": "light", "data": "moderate", "features": []string{"chat", "streaming"},
	"security": "standard", "ml": "no", "shape": "microservices", "language": "javascript", "delivery": "flexible",
}

// nextSaturday is a Saturday at least two days away in loc, so minimum
// notice never hides its slots; no demo Node.js consultant works Saturdays.
func nextSaturday(loc *time.Location) time.Time {
	d := time.Now().In(loc).AddDate(0, 0, 2)
	for d.Weekday() != time.Saturday {
		d = d.AddDate(0, 0, 1)
	}
	return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc)
}

// bookNodeJS books a Canadian Node.js consultation for a new prospect
// through the public API and returns the API's answer.
func (s staffApp) bookNodeJS(t *testing.T, name, company, email string, start time.Time) map[string]any {
	t.Helper()
	resp, a := postJSON(t, s.URL+"/api/v1/assessments", map[string]any{"answers": chatAppAnswers})
	if resp.StatusCode != http.StatusCreated || a["team"] != "nodejs" {
		t.Fatalf("assessment = %d %v", resp.StatusCode, a)
	}
	resp, lead := postJSON(t, s.URL+"/api/v1/leads", map[string]any{
		"assessment_id": a["id"], "name": name, "email": email, "company": company,
		"region": "canada", "timezone": "America/Halifax", "consent": true,
	})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("lead = %d %v", resp.StatusCode, lead)
	}
	resp, bk := postJSON(t, s.URL+"/api/v1/bookings", map[string]any{"lead_id": lead["id"], "start": start.Format(time.RFC3339)})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("booking at %s = %d %v", start, resp.StatusCode, bk)
	}
	return bk
}

// slotStarts lists the Node.js slots for Canada on one day, as clock times in Halifax.
func (s staffApp) slotStarts(t *testing.T, day time.Time) []string {
	t.Helper()
	resp, body := get(t, s.URL+"/api/v1/slots?team=nodejs&region=canada&tz=America/Halifax&days=1&from="+day.Format(time.DateOnly), nil)
	var out struct {
		Slots []struct{ Start time.Time } `json:"slots"`
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("slots = %d %s", resp.StatusCode, body)
	}
	starts := []string{}
	for _, sl := range out.Slots {
		starts = append(starts, sl.Start.In(day.Location()).Format("15:04"))
	}
	return starts
}

// owenWeek is Owen's demo week as the hours form posts it, plus extra days.
func owenWeek(extra map[string]string) url.Values {
	// A browser sends every field of the form, the empty weekend too.
	form := url.Values{"sat": {""}, "sun": {""}}
	for _, d := range []string{"mon", "tue", "wed", "thu", "fri"} {
		form.Set(d, "09:00-12:00, 13:00-17:00")
	}
	for d, v := range extra {
		form.Set(d, v)
	}
	return form
}

func (s staffApp) owen(t *testing.T) *http.Client {
	t.Helper()
	c := browser(t)
	s.signIn(t, c, "owen@consult.example")
	return c
}

func (s staffApp) auditCount(t *testing.T, action string) int {
	t.Helper()
	var n int
	if err := s.db.Get(&n, `SELECT count(*) FROM audit_log WHERE action = $1 AND actor = 'owen@consult.example'`, action); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPortalShowsOnlyTheConsultantsOwnBookings(t *testing.T) {
	s := newStaffApp(t, nil)
	owen := s.owen(t)
	halifax, regina := mustLoad(t, "America/Halifax"), mustLoad(t, "America/Regina")
	sat := nextSaturday(halifax)
	if resp, _ := send(t, owen, "POST", s.URL+"/me/hours", owenWeek(map[string]string{"sat": "10:00-12:00"}), nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save hours = %d", resp.StatusCode)
	}
	consultants := services.NewConsultants(s.db)
	sophie, err := consultants.ByEmail(context.Background(), "sophie.lavoie@consult.example")
	if err != nil {
		t.Fatal(err)
	}
	if err := consultants.SetHours(context.Background(), sophie.ID, []services.HoursRange{{Weekday: time.Saturday, StartMinute: 13 * 60, EndMinute: 15 * 60}}); err != nil {
		t.Fatal(err)
	}

	mine := s.bookNodeJS(t, "Olive Harbourside", "Harbour Labs", "olive@harbour.example.com", sat.Add(10*time.Hour))
	theirs := s.bookNodeJS(t, "Sam Prairie", "Prairie Corp", "sam@prairie.example.com", time.Date(sat.Year(), sat.Month(), sat.Day(), 13, 0, 0, 0, regina))
	gone := s.bookNodeJS(t, "Cora Cancelled", "Gone Ltd", "cora@gone.example.com", sat.Add(11*time.Hour))
	for _, tc := range []struct {
		booking map[string]any
		want    string
	}{{mine, "Owen MacLeod"}, {theirs, "Sophie Lavoie"}, {gone, "Owen MacLeod"}} {
		if got := tc.booking["consultant"].(map[string]any)["name"]; got != tc.want {
			t.Fatalf("booking went to %v, want %s", got, tc.want)
		}
	}
	manage, _ := url.Parse(gone["manage_url"].(string))
	if resp, _ := postJSON(t, s.URL+"/api/v1/bookings/"+strings.TrimPrefix(manage.Path, "/b/")+"/cancel", map[string]any{"reason": "changed plans"}); resp.StatusCode != http.StatusOK {
		t.Fatalf("cancel = %d", resp.StatusCode)
	}

	resp, body := send(t, owen, "GET", s.URL+"/me", nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/me = %d", resp.StatusCode)
	}
	for _, want := range []string{"Olive Harbourside", "Harbour Labs", "https://meet.consult.example/owen.macleod", "10:00–10:30", sat.Format("Mon 2 Jan"), "America/Halifax", "Atlantic (Halifax)", "Node.js"} {
		if !strings.Contains(body, want) {
			t.Errorf("/me lacks %q", want)
		}
	}
	for _, leak := range []string{"Sam Prairie", "Prairie Corp", "sam@prairie", "olive@harbour"} {
		if strings.Contains(body, leak) {
			t.Errorf("/me shows %q", leak)
		}
	}
	cancelled := body[strings.Index(body, "Cancelled, next 30 days"):]
	if !strings.Contains(cancelled, `portal-bookings is-cancelled`) || !strings.Contains(cancelled, "Cora Cancelled") || strings.Contains(body[:strings.Index(body, "Cancelled, next 30 days")], "Cora Cancelled") {
		t.Fatal("the cancelled booking is not listed apart, struck through")
	}
}

func TestPortalHoursDriveSlots(t *testing.T) {
	s := newStaffApp(t, nil)
	owen := s.owen(t)
	sat := nextSaturday(mustLoad(t, "America/Halifax"))
	if got := s.slotStarts(t, sat); len(got) != 0 {
		t.Fatalf("Saturday slots before = %v, want none", got)
	}
	resp, _ := send(t, owen, "POST", s.URL+"/me/hours", owenWeek(map[string]string{"sat": "10:00 – 11:00, 11:00-12:00"}), nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/me?done=hours#hours" {
		t.Fatalf("save hours = %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if got, want := strings.Join(s.slotStarts(t, sat), " "), "10:00 10:30 11:00 11:30"; got != want {
		t.Fatalf("Saturday slots after = %q, want %q", got, want)
	}
	_, body := send(t, owen, "GET", s.URL+"/me?done=hours", nil, nil)
	for _, want := range []string{"Weekly hours saved", "Your next 7 days", "10:00–11:00, 11:00–12:00", `value="10:00-11:00, 11:00-12:00"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the page after saving lacks %q", want)
		}
	}

	bad := owenWeek(map[string]string{"sat": "12:00-10:00", "sun": "9am-5pm"})
	resp, body = send(t, owen, "POST", s.URL+"/me/hours", bad, nil)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("invalid hours = %d, want 422", resp.StatusCode)
	}
	for _, want := range []string{`value="12:00-10:00"`, `value="9am-5pm"`, `value="09:00-12:00, 13:00-17:00"`, "ends before it starts", "write each time as HH:MM", "Your weekly hours were not saved", `aria-invalid="true"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the refused form lacks %q", want)
		}
	}
	if got, want := strings.Join(s.slotStarts(t, sat), " "), "10:00 10:30 11:00 11:30"; got != want {
		t.Fatalf("refused hours changed the slots to %q", got)
	}
	// A post missing days (a stale or hand-made form) saves nothing.
	if resp, body := send(t, owen, "POST", s.URL+"/me/hours", url.Values{"sat": {"10:00-11:00"}}, nil); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "did not include every day") {
		t.Fatalf("a form without every day = %d, want 422", resp.StatusCode)
	}
	if got, want := strings.Join(s.slotStarts(t, sat), " "), "10:00 10:30 11:00 11:30"; got != want {
		t.Fatalf("an incomplete form changed the slots to %q", got)
	}

	if resp, _ := send(t, owen, "POST", s.URL+"/me/hours", owenWeek(nil), nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save hours = %d", resp.StatusCode)
	}
	if got := s.slotStarts(t, sat); len(got) != 0 {
		t.Fatalf("Saturday slots once Saturday is empty again = %v", got)
	}
	var details []string
	s.db.Select(&details, `SELECT detail->>'hours' FROM audit_log WHERE action = 'hours_changed' AND actor = 'owen@consult.example' ORDER BY id`)
	if len(details) != 2 || !strings.HasSuffix(details[0], "; sat 10:00-11:00,11:00-12:00") || strings.Contains(details[1], "sat") {
		t.Fatalf("hours_changed audit rows = %q", details)
	}
}

func TestPortalTimeOff(t *testing.T) {
	s := newStaffApp(t, nil)
	owen := s.owen(t)
	sat := nextSaturday(mustLoad(t, "America/Halifax"))
	send(t, owen, "POST", s.URL+"/me/hours", owenWeek(map[string]string{"sat": "10:00-12:00"}), nil)
	bk := s.bookNodeJS(t, "Olive Harbourside", "Harbour Labs", "olive@harbour.example.com", sat.Add(10*time.Hour))

	day := sat.Format(time.DateOnly)
	resp, _ := send(t, owen, "POST", s.URL+"/me/timeoff", url.Values{"from_date": {day}, "reason": {"Family wedding"}}, nil)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/me?done=timeoff&id=") {
		t.Fatalf("add time off = %d %s", resp.StatusCode, loc)
	}
	_, body := send(t, owen, "GET", s.URL+loc, nil, nil)
	for _, want := range []string{"Time off added", sat.Format("Mon 2 Jan 2006") + ", all day", "Family wedding", "1 booking falls inside this time off and is not cancelled", "Olive Harbourside"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page after adding time off lacks %q", want)
		}
	}
	var status string
	s.db.Get(&status, `SELECT status FROM bookings WHERE id = $1`, bk["id"])
	if status != "confirmed" {
		t.Fatalf("the booking inside the time off is %s", status)
	}
	if got := s.slotStarts(t, sat); len(got) != 0 {
		t.Fatalf("slots during time off = %v", got)
	}

	resp, body = send(t, owen, "POST", s.URL+"/me/timeoff", url.Values{"from_date": {day}, "from_time": {"15:00"}, "to_date": {day}, "to_time": {"09:30"}, "reason": {"Backwards"}}, nil)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("time off ending before it starts = %d, want 422", resp.StatusCode)
	}
	for _, want := range []string{"Time off must end after it starts.", `value="` + day + `"`, `value="15:00"`, `value="09:30"`, `value="Backwards"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the refused time off form lacks %q", want)
		}
	}

	consultants := services.NewConsultants(s.db)
	sophie, _ := consultants.ByEmail(context.Background(), "sophie.lavoie@consult.example")
	hers, err := consultants.AddTimeOff(context.Background(), sophie.ID, sat, sat.AddDate(0, 0, 1), "hers")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{strconv.FormatInt(hers.ID, 10), "abc", "0", "99999999"} {
		if resp, _ := send(t, owen, "POST", s.URL+"/me/timeoff/"+id+"/delete", url.Values{}, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("removing time off %s = %d, want 404", id, resp.StatusCode)
		}
	}
	if left, _ := consultants.TimeOff(context.Background(), sophie.ID, time.Now()); len(left) != 1 {
		t.Fatal("Sophie's time off was removed by Owen")
	}
	own := strings.TrimPrefix(loc, "/me?done=timeoff&id=")
	own = strings.TrimSuffix(own, "#timeoff")
	resp, _ = send(t, owen, "POST", s.URL+"/me/timeoff/"+own+"/delete", url.Values{}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/me?done=timeoff-removed#timeoff" {
		t.Fatalf("remove own time off = %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if got := s.slotStarts(t, sat); len(got) != 3 {
		t.Fatalf("slots once the time off is gone = %v, want the three around the booking", got)
	}
	if added, removed := s.auditCount(t, "time_off_added"), s.auditCount(t, "time_off_removed"); added != 1 || removed != 1 {
		t.Fatalf("audit rows: %d added, %d removed; want one each", added, removed)
	}
}

func TestPortalIsForConsultantsOnly(t *testing.T) {
	s := newStaffApp(t, nil)
	posts := map[string]url.Values{
		"/me/hours":            owenWeek(map[string]string{"sat": "10:00-12:00"}),
		"/me/timeoff":          {"from_date": {"2030-01-01"}},
		"/me/timeoff/1/delete": {},
	}
	for _, email := range []string{"sales@consult.example", "admin@consult.example"} {
		c := browser(t)
		s.signIn(t, c, email)
		if resp, _ := send(t, c, "GET", s.URL+"/me", nil, nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s GET /me = %d, want 403", email, resp.StatusCode)
		}
		for path, form := range posts {
			if resp, _ := send(t, c, "POST", s.URL+path, form, nil); resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s POST %s = %d, want 403", email, path, resp.StatusCode)
			}
		}
	}
	anon := browser(t)
	if resp, _ := send(t, anon, "GET", s.URL+"/me", nil, nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login?next=%2Fme" {
		t.Errorf("anonymous GET /me = %d %s, want /login", resp.StatusCode, resp.Header.Get("Location"))
	}
	for path, form := range posts {
		if resp, _ := send(t, anon, "POST", s.URL+path, form, nil); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
			t.Errorf("anonymous POST %s = %d, want /login", path, resp.StatusCode)
		}
	}
	var changes int
	s.db.Get(&changes, `SELECT count(*) FROM audit_log WHERE action IN ('hours_changed', 'time_off_added', 'time_off_removed')`)
	var saturday int
	s.db.Get(&saturday, `SELECT count(*) FROM consultant_hours WHERE weekday = 6`)
	if changes != 0 || saturday != 0 {
		t.Fatalf("refused posts changed something: %d audit rows, %d Saturday hours", changes, saturday)
	}
	owen := s.owen(t)
	if resp, _ := send(t, owen, "POST", s.URL+"/me/hours", owenWeek(nil), http.Header{"Origin": {"https://evil.example"}, "Sec-Fetch-Site": {"cross-site"}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site POST /me/hours = %d, want 403", resp.StatusCode)
	}
}

// The portal on a phone and on a desktop: nothing wider than the screen,
// with long names, a clash warning and a refused form on the page.
func TestBrowserPortalFitsPhoneAndDesktop(t *testing.T) {
	s := newStaffApp(t, nil)
	owen := s.owen(t)
	sat := nextSaturday(mustLoad(t, "America/Halifax"))
	send(t, owen, "POST", s.URL+"/me/hours", owenWeek(map[string]string{"sat": "10:00-12:00, 13:00-14:30"}), nil)
	s.bookNodeJS(t, "Maximiliana Featherstonehaugh-Cholmondeley", "Harbourside Maritime Logistics and Data Engineering Cooperative", "max@harbour.example.com", sat.Add(10*time.Hour))
	s.bookNodeJS(t, "Olive Chen", "Acme", "olive@acme.example.com", sat.Add(13*time.Hour))
	past := s.bookNodeJS(t, "Pat Earlier", "Yesterday Inc", "pat@earlier.example.com", sat.Add(11*time.Hour))
	s.db.MustExec(`UPDATE bookings SET starts_at = now() - interval '2 days', ends_at = now() - interval '2 days' + interval '30 minutes',
		blocked = tstzrange(now() - interval '2 days', now() - interval '2 days' + interval '30 minutes') WHERE id = $1`, past["id"])
	gone := s.bookNodeJS(t, "Cora Cancelled", "Gone Ltd", "cora@gone.example.com", sat.Add(11*time.Hour+30*time.Minute))
	manage, _ := url.Parse(gone["manage_url"].(string))
	postJSON(t, s.URL+"/api/v1/bookings/"+strings.TrimPrefix(manage.Path, "/b/")+"/cancel", map[string]any{})
	send(t, owen, "POST", s.URL+"/me/timeoff", url.Values{"from_date": {sat.Format(time.DateOnly)}, "from_time": {"09:30"}, "to_time": {"10:30"},
		"reason": {"Dentist appointment downtown, then the long drive back across the harbour bridge"}}, nil)

	ctx := newBrowser(t)
	if err := chromedp.Run(ctx,
		chromedp.EmulateViewport(360, 780),
		chromedp.Navigate(s.URL+"/login"),
		chromedp.SendKeys("#login-email", "owen@consult.example"),
		chromedp.SendKeys("#login-password", staffPassword),
		chromedp.Click(`.login-form button[type=submit]`),
		chromedp.WaitVisible(`#calendar`),
	); err != nil {
		t.Fatal(err)
	}
	fits := func(name string) { checkFitsScreen(t, ctx, "main", name) }

	fits("portal-360")

	if err := chromedp.Run(ctx,
		chromedp.SetValue(`#hours-sun`, "9am-5pm"),
		chromedp.SetValue(`#hours-sat`, "14:00-12:00"),
		chromedp.Click(`.portal-hours button[type=submit]`),
		chromedp.WaitVisible(`#hours-sun-error`),
	); err != nil {
		t.Fatal(err)
	}
	var kept string
	chromedp.Run(ctx, chromedp.Value(`#hours-sun`, &kept))
	if kept != "9am-5pm" {
		t.Fatalf("the refused form shows %q, want what was typed", kept)
	}
	fits("portal-360-refused")

	if err := chromedp.Run(ctx,
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(s.URL+"/me"),
		chromedp.WaitVisible(`#calendar`),
	); err != nil {
		t.Fatal(err)
	}
	fits("portal-1280")
}
