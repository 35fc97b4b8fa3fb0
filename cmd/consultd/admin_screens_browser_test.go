package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// busyAdminData fills twelve weeks of funnel, a page of mail in every
// status and some audit entries, so the admin pages show realistic shapes.
func (s staffApp) busyAdminData(t *testing.T) int64 {
	t.Helper()
	monday := thisMonday()
	s.funnelRows(t, "Alexandrina Featherstonehaugh-Smythe <Lead>")
	s.exec(t, `INSERT INTO funnel_counts (day, stage, count)
		SELECT $1::date - w * 7 + d, stage, (40 + 13 * ((w * 7 + d) % 5)) * CASE stage WHEN 'article_viewed' THEN 6 ELSE 2 END
		FROM generate_series(0, 11) w, generate_series(0, 6) d, unnest(ARRAY['article_viewed', 'assessment_started']) stage
		WHERE $1::date - w * 7 + d <= now()::date
		ON CONFLICT (day, stage, shard) DO UPDATE SET count = funnel_counts.count + EXCLUDED.count`, monday.Format("2006-01-02"))
	s.exec(t, `INSERT INTO assessments (version, answers, team, confidence, score_django, score_nodejs, reasons, created_at)
		SELECT 'v1', '{}', CASE WHEN n % 3 = 0 THEN 'nodejs' ELSE 'django' END, 0.6, 3, 2, '[]', $1::timestamptz - (n % 12) * interval '7 days' + interval '1 hour'
		FROM generate_series(1, 230) n`, monday)
	for i := range 40 {
		s.inquiry(t, []string{"django", "nodejs"}[i%2], []string{"canada", "usa", "canada"}[i%3], monday.AddDate(0, 0, -7*(i%12)))
	}
	var first int64
	for i, status := range []string{"sent", "sent", "failed", "kept", "capped", "pending", "superseded", "sent"} {
		subject := fmt.Sprintf("Your Django consultation on Tue 3 Mar, 10:00 a.m. Eastern Standard Time (%d)", i)
		id := s.mail(t, subject, status)
		if status == "failed" {
			s.exec(t, `UPDATE outbox SET last_error = '554 5.7.1 <pat@acme.example>: Recipient address rejected: mailbox unavailable; see https://support.example.com/troubleshooting/delivery/554-5-7-1' WHERE id = $1`, id)
			first = id
		}
	}
	s.exec(t, `INSERT INTO audit_log (actor, action, target_type, target_id, detail, ip)
		VALUES ('sales@consult.example', 'mail_retry', 'outbox', $1, '{"kind": "invite", "status": "failed"}', '2001:db8:85a3::8a2e:370:7334'),
		       ('admin@consult.example', 'lead_status', 'lead', '7f1c2f8e-5b1a-4c65-9d0b-0c1f7d2d9a11', '{"from": "new", "to": "contacted", "note": "Called, left a voicemail about the Node.js migration"}', '203.0.113.20')`,
		fmt.Sprint(first))
	return first
}

// The three admin screens at phone and desktop widths: nothing wider than
// the window (tables and charts scroll inside their own boxes). With
// SCREENSHOT_DIR set, each is kept as a PNG.
func TestBrowserAdminScreens(t *testing.T) {
	s := newStaffApp(t, nil)
	msg := s.busyAdminData(t)
	ctx := newBrowser(t)
	if err := chromedp.Run(ctx,
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(s.URL+"/login"),
		chromedp.WaitVisible(`#login-email`),
		chromedp.SendKeys(`#login-email`, "admin@consult.example"),
		chromedp.SendKeys(`#login-password`, staffPassword),
		chromedp.Submit(`.login-form`),
		chromedp.WaitVisible(`.dashboard h1`),
	); err != nil {
		t.Fatal(err)
	}
	pages := map[string]string{
		"dashboard": "/admin",
		"outbox":    "/admin/outbox",
		"message":   fmt.Sprintf("/admin/outbox/%d", msg),
		"audit":     "/admin/audit",
	}
	for _, width := range []int64{360, 1280} {
		for name, path := range pages {
			var overflow int
			var heading string
			if err := chromedp.Run(ctx,
				chromedp.EmulateViewport(width, 800),
				chromedp.Navigate(s.URL+path),
				chromedp.WaitVisible(`.admin-page h1`),
				chromedp.Text(`.admin-page h1`, &heading),
				chromedp.Evaluate(`document.documentElement.scrollWidth - document.documentElement.clientWidth`, &overflow),
			); err != nil {
				t.Fatal(err)
			}
			screenshot(t, ctx, fmt.Sprintf("admin-%s-%d", name, width))
			if overflow > 0 {
				t.Errorf("%s at %dpx is %dpx wider than the window", path, width, overflow)
			}
			if strings.TrimSpace(heading) == "" {
				t.Errorf("%s at %dpx has no heading", path, width)
			}
		}
	}
}
