package main

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// The feed URLs on the portal and the team feeds page at phone and desktop
// widths: the long URLs stay inside the window, and the copy buttons show
// where the clipboard works.
func TestBrowserFeedScreensFit(t *testing.T) {
	s := newStaffApp(t, nil)
	send(t, s.owen(t), "POST", s.URL+"/me/feed", url.Values{}, nil)
	admin := browser(t)
	s.signIn(t, admin, "admin@consult.example")
	send(t, admin, "POST", s.URL+"/admin/feeds/django/rotate", url.Values{}, nil)

	for _, tc := range []struct {
		account, page, ready string
	}{
		{"owen@consult.example", "/me?done=feed-rotated#calendar", "#calendar-feed"},
		{"admin@consult.example", "/admin/feeds?done=created-django", "#feed-django"},
	} {
		ctx := newBrowser(t)
		if err := chromedp.Run(ctx,
			chromedp.Navigate(s.URL+"/login"),
			chromedp.SendKeys("#login-email", tc.account),
			chromedp.SendKeys("#login-password", staffPassword),
			chromedp.Click(`.login-form button[type=submit]`),
			chromedp.WaitVisible(`main h1`),
		); err != nil {
			t.Fatal(err)
		}
		for _, width := range []int64{360, 1280} {
			var copyButtons int
			if err := chromedp.Run(ctx,
				chromedp.EmulateViewport(width, 800),
				chromedp.Navigate(s.URL+tc.page),
				chromedp.WaitVisible(tc.ready),
				chromedp.Evaluate(`document.querySelectorAll('button[data-copy]:not([hidden])').length`, &copyButtons),
			); err != nil {
				t.Fatal(err)
			}
			name := fmt.Sprintf("feeds-%s-%d", tc.account[:strings.Index(tc.account, "@")], width)
			checkFitsScreen(t, ctx, "main", name)
			if copyButtons != 2 {
				t.Errorf("%s: %d copy buttons shown, want 2", name, copyButtons)
			}
		}
	}
}
