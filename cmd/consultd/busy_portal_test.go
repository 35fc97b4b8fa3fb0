package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

func TestBusyCalendarRefusesPrivateAddressesWhenDenied(t *testing.T) {
	s := newStaffApp(t, map[string]string{"BUSY_FETCH_PRIVATE": "deny"})
	owen := s.owen(t)
	feed := newCalendarFeed(t, "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(feed.URL, "http://"))
	for _, address := range []string{
		feed.URL + "/busy.ics", "http://[::1]:" + port + "/busy.ics", "http://10.1.2.3/busy.ics",
		"http://169.254.169.254/latest/meta-data/", "http://localhost:" + port + "/busy.ics",
	} {
		resp, body := send(t, owen, "POST", s.URL+"/me/busy", url.Values{"url": {address}}, nil)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "private or local network") || !strings.Contains(body, `value="`+address+`"`) {
			t.Errorf("%s: %d, want 422 with the address kept", address, resp.StatusCode)
		}
	}
	// A name that is not obviously local but resolves to a loopback address
	// passes the form and is refused when the connection is made.
	host, _ := os.Hostname()
	if addrs, err := net.LookupHost(host); err != nil || len(addrs) == 0 || !strings.HasPrefix(addrs[0], "127.") {
		t.Skipf("this machine's name %q does not resolve to a loopback address", host)
	}
	page := s.saveBusyURL(t, owen, "http://"+host+":"+port+"/busy.ics")
	if !strings.Contains(page, "refused: the address is on a private or local network") {
		t.Fatal("a name resolving to 127.0.0.1 was not refused at connect time")
	}
	if v := feed.validators(); len(v) != 0 {
		t.Fatalf("%d requests reached the loopback server", len(v))
	}
}

func TestBusyCalendarPortalActionsAndRoles(t *testing.T) {
	s := newStaffApp(t, nil)
	owen := s.owenWithSaturdays(t)
	sat := nextSaturday(mustLoad(t, "America/Halifax"))
	feed := newCalendarFeed(t, owenFeed(t, sat))

	// Refused input comes back as typed; nothing is saved.
	resp, body := send(t, owen, "POST", s.URL+"/me/busy", url.Values{"url": {"ftp://files.example.com/cal.ics"}}, nil)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "Only https://") || !strings.Contains(body, `value="ftp://files.example.com/cal.ics"`) || !strings.Contains(body, `aria-invalid="true"`) {
		t.Fatalf("an ftp address = %d", resp.StatusCode)
	}
	s.saveBusyURL(t, owen, feed.URL+"/owen.ics")
	if resp, body := send(t, owen, "POST", s.URL+"/me/busy/refresh", url.Values{}, nil); resp.StatusCode != http.StatusConflict || !strings.Contains(body, "read moments ago") {
		t.Fatalf("a refresh right after saving = %d", resp.StatusCode)
	}
	s.exec(t, `UPDATE busy_calendars SET last_attempt_at = now() - interval '1 minute'`)
	if resp, _ := send(t, owen, "POST", s.URL+"/me/busy/refresh", url.Values{}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("refresh = %d", resp.StatusCode)
	}

	// Sophie's calendar, set from the command line, is out of Owen's reach.
	var out bytes.Buffer
	err := run(context.Background(), []string{"consultant", "busy-url", "--email", "sophie.lavoie@consult.example", "--url", feed.URL + "/sophie.ics"}, envFrom(s.env), nil, &out, io.Discard)
	if err != nil || !strings.Contains(out.String(), feed.URL+"/…/sophie.ics") || !strings.Contains(out.String(), "Last updated just now.") {
		t.Fatalf("busy-url: %v\n%s", err, out.String())
	}
	if resp, _ := send(t, owen, "POST", s.URL+"/me/busy/delete?consultant=sophie", url.Values{"id": {"1"}}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("remove = %d", resp.StatusCode)
	}
	if _, page := send(t, owen, "GET", s.URL+"/me?done=busy-removed", nil, nil); !strings.Contains(page, "Busy calendar removed") || strings.Contains(page, "Refresh now") {
		t.Fatal("the portal does not show the calendar removed")
	}
	if resp, _ := send(t, owen, "POST", s.URL+"/me/busy/delete", url.Values{}, nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("removing again = %d, want 404", resp.StatusCode)
	}
	var left []string
	s.db.Select(&left, `SELECT c.email FROM busy_calendars b JOIN consultants c ON c.id = b.consultant_id`)
	if len(left) != 1 || left[0] != "sophie.lavoie@consult.example" {
		t.Fatalf("calendars left: %v, want Sophie's", left)
	}
	if got := strings.Join(s.slotStarts(t, sat), " "); !strings.HasPrefix(got, "08:00 08:30 09:00") {
		t.Fatalf("Owen's Saturday after removing his calendar = %q", got)
	}
	for action, want := range map[string]int{"busy_calendar_saved": 1, "busy_calendar_refreshed": 1, "busy_calendar_removed": 1} {
		if got := s.auditCount(t, action); got != want {
			t.Errorf("%d %s audit rows by Owen, want %d", got, action, want)
		}
	}
	out.Reset()
	run(context.Background(), []string{"consultant", "busy-url", "--email", "sophie.lavoie@consult.example"}, envFrom(s.env), nil, &out, io.Discard)
	if !strings.Contains(out.String(), "sophie.ics") {
		t.Fatalf("busy-url without --url: %s", out.String())
	}

	// Who reaches what.
	var sophiesID string
	s.db.Get(&sophiesID, `SELECT id::text FROM busy_calendars`)
	refresh := "/admin/calendars/" + sophiesID + "/refresh"
	for email, want := range map[string]map[string]int{
		"owen@consult.example":  {"GET /admin/calendars": 403, "POST " + refresh: 403, "POST /me/busy": 303},
		"sales@consult.example": {"GET /admin/calendars": 200, "POST " + refresh: 303, "POST /me/busy": 403, "POST /me/busy/refresh": 403},
		"admin@consult.example": {"GET /admin/calendars": 200, "POST /me/busy/delete": 403},
		"":                      {"GET /admin/calendars": 303, "POST " + refresh: 303, "POST /me/busy": 303},
	} {
		c := browser(t)
		if email != "" {
			s.signIn(t, c, email)
		}
		for req, status := range want {
			s.exec(t, `UPDATE busy_calendars SET last_attempt_at = now() - interval '1 minute'`)
			method, path, _ := strings.Cut(req, " ")
			var form url.Values
			if method == "POST" {
				form = url.Values{"url": {feed.URL + "/owen.ics"}}
			}
			if resp, _ := send(t, c, method, s.URL+path, form, nil); resp.StatusCode != status {
				t.Errorf("%q %s = %d, want %d", email, req, resp.StatusCode, status)
			}
		}
	}
	var staffRefreshes int
	s.db.Get(&staffRefreshes, `SELECT count(*) FROM audit_log WHERE action = 'busy_calendar_refreshed' AND actor = 'sales@consult.example'`)
	if staffRefreshes != 1 {
		t.Fatalf("%d refreshes by sales in the audit log, want 1", staffRefreshes)
	}
}

// The busy calendar box and the admin list at phone and desktop widths, in
// their longest state: a failing calendar with notes. With SCREENSHOT_DIR
// set, each is kept as a PNG.
func TestBrowserBusyCalendarFitsPhoneAndDesktop(t *testing.T) {
	s := newStaffApp(t, nil)
	owen := s.owenWithSaturdays(t)
	feed := newCalendarFeed(t, owenFeed(t, nextSaturday(mustLoad(t, "America/Halifax"))))
	s.saveBusyURL(t, owen, feed.URL+"/owa/calendar/00000000-1111-2222-3333-444444444444@harbour-consulting.example/8f3a0c1d2e4b5a69788796a5b4c3d2e1f0123456789/calendar.ics")
	s.exec(t, `UPDATE busy_calendars SET failures = 12, last_outcome = 'failed', last_success_at = now() - interval '2 days',
		last_error = 'there is no calendar at this address (404 Not Found); the secret address may have been reset',
		problems = '2 events could not be read and were left out; 1 time zone not recognised, its times read in your own zone'`)

	ctx := newBrowser(t)
	signIn := func(email, landing string) {
		t.Helper()
		if err := chromedp.Run(ctx,
			chromedp.Navigate(s.URL+"/login"),
			chromedp.WaitVisible(`#login-email`),
			chromedp.SendKeys(`#login-email`, email),
			chromedp.SendKeys(`#login-password`, staffPassword),
			chromedp.Submit(`.login-form`),
			chromedp.WaitVisible(landing),
		); err != nil {
			t.Fatal(err)
		}
	}
	wider := func(name string) { checkFitsScreen(t, ctx, "#calendar", name) }

	if err := chromedp.Run(ctx, chromedp.EmulateViewport(360, 780)); err != nil {
		t.Fatal(err)
	}
	signIn("owen@consult.example", `#busy`)
	for _, width := range []int64{360, 1280} {
		var state string
		if err := chromedp.Run(ctx,
			chromedp.EmulateViewport(width, 900),
			chromedp.Navigate(s.URL+"/me#busy"),
			chromedp.WaitVisible(`#busy .busy-state`),
			chromedp.Text(`#busy .busy-state`, &state),
		); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(state, "the last 12 attempts failed") {
			t.Fatalf("the busy box says %q", state)
		}
		wider(fmt.Sprintf("busy-portal-%d", width))
	}
	if err := chromedp.Run(ctx, network.ClearBrowserCookies()); err != nil {
		t.Fatal(err)
	}
	signIn("sales@consult.example", `.admin-page h1`)
	for _, width := range []int64{360, 1280} {
		var overflow int
		if err := chromedp.Run(ctx,
			chromedp.EmulateViewport(width, 800),
			chromedp.Navigate(s.URL+"/admin/calendars"),
			chromedp.WaitVisible(`.calendars-table`),
			chromedp.Evaluate(`document.documentElement.scrollWidth - document.documentElement.clientWidth`, &overflow),
		); err != nil {
			t.Fatal(err)
		}
		screenshot(t, ctx, fmt.Sprintf("busy-admin-%d", width))
		if overflow > 0 {
			t.Errorf("/admin/calendars at %dpx is %dpx wider than the window", width, overflow)
		}
	}
}

// A mistyped new address must not drop busy times that still hold: it is
// refused as typed, and the calendar read before stays in force.
func TestBusyCalendarReplacementMustReadFirst(t *testing.T) {
	s := newStaffApp(t, nil)
	owen := s.owenWithSaturdays(t)
	sat := nextSaturday(mustLoad(t, "America/Halifax"))
	feed := newCalendarFeed(t, owenFeed(t, sat))
	missing := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(missing.Close)

	s.saveBusyURL(t, owen, feed.URL+"/owen.ics")
	before := strings.Join(s.slotStarts(t, sat), " ")
	typo := missing.URL + "/owen-typo.ics"
	resp, body := send(t, owen, "POST", s.URL+"/me/busy", url.Values{"url": {typo}}, nil)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "Your current calendar is kept") || !strings.Contains(body, `value="`+typo+`"`) {
		t.Fatalf("a replacement that does not read = %d\n%s", resp.StatusCode, body)
	}
	if after := strings.Join(s.slotStarts(t, sat), " "); after != before {
		t.Fatalf("slots changed after a refused replacement:\n%s\n%s", before, after)
	}
	var hint string
	s.db.Get(&hint, `SELECT url_hint FROM busy_calendars`)
	if !strings.Contains(hint, "owen.ics") {
		t.Fatalf("stored calendar = %q, want the first one", hint)
	}
	// A first address that does not read yet is saved, with a warning.
	s.exec(t, `DELETE FROM busy_calendars`)
	send(t, owen, "POST", s.URL+"/me/busy", url.Values{"url": {typo}}, nil)
	if _, page := send(t, owen, "GET", s.URL+"/me?done=busy-saved", nil, nil); !strings.Contains(page, `banner banner-warn" role="status">Saved, but the calendar could not be read`) {
		t.Fatal("a first address that fails is not reported as a warning")
	}
}
