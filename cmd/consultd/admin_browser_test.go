package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// A sales person signs in, filters the inbox, opens a lead, changes its
// status and adds a note, in a real browser.
func TestBrowserSalesTriagesALead(t *testing.T) {
	s := newStaffApp(t, nil)
	_, lead := s.newLeadAs(t, "Robin Browser", "Chromium Works", "robin@chromium.example.com")
	s.newLeadAs(t, "Other Person", "Elsewhere", "other@elsewhere.example.com")
	ctx := newBrowser(t)
	if err := chromedp.Run(ctx,
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(s.URL+"/admin/leads"),
		chromedp.WaitVisible(`#login-email`),
		chromedp.SendKeys(`#login-email`, "sales@consult.example"),
		chromedp.SendKeys(`#login-password`, staffPassword),
		chromedp.Submit(`#login-password`),
		chromedp.WaitVisible(`.leads-table`),
	); err != nil {
		t.Fatal(err)
	}
	var url string
	chromedp.Run(ctx, chromedp.Location(&url))
	if !strings.HasSuffix(url, "/admin/leads") {
		t.Fatalf("after sign-in the browser is at %s, want the page it asked for", url)
	}
	screenshot(t, ctx, "admin-leads-desktop")

	var rows int
	if err := chromedp.Run(ctx,
		chromedp.SendKeys(`#f-q`, "chromium"),
		chromedp.Click(`.filters button[type=submit]`),
		// The new page, not the one the click left, carries the query.
		chromedp.WaitVisible(`#f-q[value="chromium"]`),
		chromedp.Evaluate(`document.querySelectorAll('.leads-table tbody a').length`, &rows),
	); err != nil {
		t.Fatal(err)
	}
	if rows != 1 {
		t.Fatalf("filtering for chromium lists %d leads, want 1", rows)
	}
	if err := chromedp.Run(ctx,
		chromedp.Click(`.leads-table tbody a`),
		chromedp.WaitVisible(`#a-status`),
		chromedp.SetValue(`#a-status`, "contacted"),
		chromedp.Click(`form[action$="/status"] button`),
		chromedp.WaitVisible(`//p[contains(@class, "banner-ok") and contains(., "Status changed")]`, chromedp.BySearch),
		chromedp.SendKeys(`#a-note`, "Spoke on the phone; sending a proposal."),
		chromedp.Click(`form[action$="/notes"] button`),
		chromedp.WaitVisible(`//p[contains(@class, "banner-ok") and contains(., "Note added")]`, chromedp.BySearch),
	); err != nil {
		t.Fatal(err)
	}
	var status, timeline string
	if err := chromedp.Run(ctx,
		chromedp.Text(`.lead-badges .status`, &status),
		chromedp.Text(`.timeline`, &timeline),
	); err != nil {
		t.Fatal(err)
	}
	if status != "contacted" || !strings.Contains(timeline, "Spoke on the phone") || !strings.Contains(timeline, "Status new → contacted") {
		t.Fatalf("lead page after triage: status %q, timeline %q", status, timeline)
	}
	screenshot(t, ctx, "admin-lead-desktop")
	var count int
	s.db.Get(&count, `SELECT count(*) FROM lead_notes WHERE lead_id = $1 AND author = 'sales@consult.example'`, lead)
	if count != 1 {
		t.Fatalf("%d notes stored", count)
	}

	// The same pages on a phone: nothing wider than the screen.
	for _, path := range []string{"/admin/leads", "/admin/leads/" + lead} {
		var overflow bool
		if err := chromedp.Run(ctx,
			chromedp.EmulateViewport(360, 800),
			chromedp.Navigate(s.URL+path),
			chromedp.Sleep(200*time.Millisecond),
			chromedp.Evaluate(`document.documentElement.scrollWidth > window.innerWidth`, &overflow),
		); err != nil {
			t.Fatal(err)
		}
		if overflow {
			t.Errorf("%s is wider than a 360 px phone", path)
		}
		screenshot(t, ctx, "admin"+strings.ReplaceAll(strings.TrimPrefix(path, "/admin"), "/", "-")+"-phone")
	}
}
