package main

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// widerThanScreen lists elements of main reaching past the window's edges.
const widerThanScreen = `(() => {
	const w = document.documentElement.clientWidth, out = [];
	if (document.documentElement.scrollWidth > w) out.push('page ' + document.documentElement.scrollWidth + ' > ' + w);
	for (const el of document.querySelectorAll('main *')) {
		const r = el.getBoundingClientRect();
		if (r.width > 0 && (r.right > w + 0.5 || r.left < -0.5) && !el.closest('.visually-hidden')) out.push(el.tagName + '.' + el.className + ' ' + Math.round(r.left) + '..' + Math.round(r.right));
	}
	return out.slice(0, 10);
})()`

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
			var wide []string
			var copyButtons int
			if err := chromedp.Run(ctx,
				chromedp.EmulateViewport(width, 800),
				chromedp.Navigate(s.URL+tc.page),
				chromedp.WaitVisible(tc.ready),
				chromedp.Evaluate(widerThanScreen, &wide),
				chromedp.Evaluate(`document.querySelectorAll('button[data-copy]:not([hidden])').length`, &copyButtons),
			); err != nil {
				t.Fatal(err)
			}
			name := fmt.Sprintf("feeds-%s-%d", tc.account[:strings.Index(tc.account, "@")], width)
			screenshot(t, ctx, name)
			if len(wide) > 0 {
				t.Errorf("%s: wider than the screen: %v", name, wide)
			}
			if copyButtons != 2 {
				t.Errorf("%s: %d copy buttons shown, want 2", name, copyButtons)
			}
		}
	}
}
