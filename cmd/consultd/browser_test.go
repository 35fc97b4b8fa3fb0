package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"consultd/internal/pgtest"
	"consultd/services"
)

// newBrowser starts Debian's headless Chromium, as root-safe as it gets.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is not installed: run the suite with `make test`, which installs it")
	}
	// Chromium may still be writing its profile as it exits, so the profile
	// is removed after the browser has stopped (cleanups run last-in first-out).
	profile, err := os.MkdirTemp("", "consultd-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for i := 0; i < 20 && os.RemoveAll(profile) != nil; i++ {
			time.Sleep(100 * time.Millisecond)
		}
	})
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(profile),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	return ctx
}

// checkFitsScreen fails the test for elements within selector (and the
// page itself) that reach past the window's edges, then keeps a screenshot.
func checkFitsScreen(t *testing.T, ctx context.Context, selector, name string) {
	t.Helper()
	var wide []string
	script := `(() => {
		const w = document.documentElement.clientWidth, out = [];
		if (document.documentElement.scrollWidth > w) out.push('page ' + document.documentElement.scrollWidth + ' > ' + w);
		for (const el of document.querySelectorAll(` + strconv.Quote(selector+" *") + `)) {
			const r = el.getBoundingClientRect();
			if (r.width > 0 && (r.right > w + 0.5 || r.left < -0.5) && !el.closest('.visually-hidden')) out.push(el.tagName + '.' + el.className + ' ' + Math.round(r.left) + '..' + Math.round(r.right));
		}
		return out.slice(0, 10);
	})()`
	if err := chromedp.Run(ctx, chromedp.Evaluate(script, &wide)); err != nil {
		t.Fatal(err)
	}
	if len(wide) > 0 {
		t.Errorf("%s: wider than the screen: %v", name, wide)
	}
	screenshot(t, ctx, name)
}

// screenshot keeps a picture of the page when SCREENSHOT_DIR is set, so a
// person can look at what the browser showed.
func screenshot(t *testing.T, ctx context.Context, name string) {
	dir := os.Getenv("SCREENSHOT_DIR")
	if dir == "" {
		return
	}
	var png []byte
	if err := chromedp.Run(ctx, chromedp.FullScreenshot(&png, 100)); err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
}

func visibleQuestion(t *testing.T, ctx context.Context) string {
	t.Helper()
	var id string
	if err := chromedp.Run(ctx, chromedp.Evaluate(`(() => {
		const shown = [...document.querySelectorAll('#assessment-form fieldset.question')].filter(f => !f.hidden);
		return shown.length === 1 ? shown[0].dataset.question : 'visible:' + shown.length;
	})()`, &id)); err != nil {
		t.Fatal(err)
	}
	return id
}

func waitQuestion(t *testing.T, ctx context.Context, not string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if q := visibleQuestion(t, ctx); q != not && !strings.HasPrefix(q, "visible:") {
			return q
		}
		if time.Now().After(deadline) {
			t.Fatalf("still on question %q", not)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestBrowserAssessmentToLead(t *testing.T) {
	db, dbURL := pgtest.NewDBWithURL(t)
	if _, err := services.SeedDemo(context.Background(), services.NewConsultants(db)); err != nil {
		t.Fatal(err)
	}
	app := startApp(t, map[string]string{"DATABASE_URL": dbURL})
	ctx := newBrowser(t)
	if err := chromedp.Run(ctx,
		// Smooth scrolling would move targets while chromedp clicks them.
		emulation.SetEmulatedMedia().WithFeatures([]*emulation.MediaFeature{{Name: "prefers-reduced-motion", Value: "reduce"}}),
		emulation.SetTimezoneOverride("America/Regina"),
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(app.URL+"/?utm_source=browser-test"),
		chromedp.WaitVisible(`#assessment-form .progress`),
	); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "article-desktop")

	first := visibleQuestion(t, ctx)
	if strings.HasPrefix(first, "visible:") {
		t.Fatalf("the enhanced form shows %s questions at once, want 1", first)
	}
	var progress string
	chromedp.Run(ctx, chromedp.Text(`.progress-label`, &progress))
	if !strings.HasPrefix(progress, "Question 1 of ") {
		t.Fatalf("progress = %q", progress)
	}
	// Arrow keys move between answers without moving on; keyboard users press Next.
	if err := chromedp.Run(ctx,
		chromedp.Focus(`#q-`+first+` label.option:first-of-type input`),
		chromedp.KeyEvent(kb.ArrowDown),
		chromedp.Sleep(500*time.Millisecond),
	); err != nil {
		t.Fatal(err)
	}
	if q := visibleQuestion(t, ctx); q != first {
		t.Fatalf("an arrow key moved the form on to %q", q)
	}
	// Answer the first question with a click, go back, and answer it again.
	if err := chromedp.Run(ctx, chromedp.Click(`#q-`+first+` label.option:nth-of-type(3) input`)); err != nil {
		t.Fatal(err)
	}
	second := waitQuestion(t, ctx, first)
	if err := chromedp.Run(ctx, chromedp.Click(`.js-back`)); err != nil {
		t.Fatal(err)
	}
	if q := waitQuestion(t, ctx, second); q != first {
		t.Fatalf("Back went to %q, want %q", q, first)
	}
	var kept bool
	chromedp.Run(ctx, chromedp.Evaluate(`document.querySelector('#q-`+first+` label.option:nth-of-type(3) input').checked`, &kept))
	if !kept {
		t.Fatal("Back lost the answer")
	}
	if err := chromedp.Run(ctx, chromedp.Click(`.js-next`)); err != nil {
		t.Fatal(err)
	}

	current := waitQuestion(t, ctx, first)
	var path string
	for i := 0; i < 12; i++ {
		var multiple, last bool
		chromedp.Run(ctx,
			chromedp.Evaluate(`document.getElementById('q-`+current+`').hasAttribute('data-multiple')`, &multiple),
			chromedp.Evaluate(`!document.querySelector('.js-submit').hidden`, &last),
		)
		if err := chromedp.Run(ctx, chromedp.Click(`#q-`+current+` label.option:first-of-type input`)); err != nil {
			t.Fatal(err)
		}
		if last {
			if err := chromedp.Run(ctx, chromedp.Click(`.js-submit`)); err != nil {
				t.Fatal(err)
			}
			break
		}
		if multiple {
			chromedp.Run(ctx, chromedp.Click(`.js-next`))
		}
		current = waitQuestion(t, ctx, current)
	}
	var team string
	if err := chromedp.Run(ctx,
		chromedp.WaitVisible(`#assessment-result .result-team`),
		chromedp.Text(`#assessment-result .result-team`, &team),
		chromedp.Location(&path),
	); err != nil {
		t.Fatal(err)
	}
	if team != "Django" && team != "Node.js" {
		t.Fatalf("result team = %q", team)
	}
	if !strings.HasSuffix(path, "/?utm_source=browser-test") {
		t.Fatalf("the page reloaded or moved to %s", path)
	}
	// The page reported the start on the first answer and said so when
	// submitting, so the start is counted once.
	if started, completed := funnelCount(t, app, "assessment_started"), funnelCount(t, app, "assessment_completed"); started != "1" || completed != "1" {
		t.Fatalf("funnel after the JavaScript assessment: started %s, completed %s; want 1 and 1", started, completed)
	}
	var region, zone string
	chromedp.Run(ctx,
		chromedp.WaitVisible(`#lead-form`),
		chromedp.Evaluate(`(document.querySelector('#lead-form input[name=region]:checked') || {}).value || ''`, &region),
		chromedp.Value(`#lead-form select[name=timezone]`, &zone),
	)
	if region != "canada" || zone != "America/Regina" {
		t.Fatalf("preselected region %q zone %q, want canada and the browser's America/Regina", region, zone)
	}
	screenshot(t, ctx, "result-desktop")

	// Submit without consent first: inline error, nothing typed is lost.
	if err := chromedp.Run(ctx,
		chromedp.SendKeys(`#lead-name`, "Robin Tester"),
		chromedp.SendKeys(`#lead-email`, "robin@acme.example.com"),
		chromedp.SendKeys(`#lead-company`, "Acme"),
		chromedp.Click(`#lead-form button[type=submit]`),
		chromedp.WaitVisible(`#lead-form [data-field=consent].has-error`),
	); err != nil {
		t.Fatal(err)
	}
	var name string
	chromedp.Run(ctx, chromedp.Value(`#lead-name`, &name))
	if name != "Robin Tester" {
		t.Fatalf("name after a refused submit = %q", name)
	}
	if err := chromedp.Run(ctx,
		chromedp.Click(`#lead-form input[name=consent]`),
		chromedp.Click(`#lead-form button[type=submit]`),
		chromedp.WaitVisible(`.booking-page .slot`),
		chromedp.Location(&path),
	); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(path, "/leads/") {
		t.Fatalf("after the lead form the browser is at %s", path)
	}
	var row struct {
		Timezone string `db:"timezone"`
		Source   string `db:"source"`
	}
	if err := db.Get(&row, `SELECT timezone, utm->>'utm_source' AS source FROM leads WHERE email = 'robin@acme.example.com'`); err != nil {
		t.Fatal(err)
	}
	if row.Timezone != "America/Regina" || row.Source != "browser-test" {
		t.Fatalf("lead row = %+v", row)
	}

	screenshot(t, ctx, "booking-desktop")

	// Pick the first slot, confirm in place, and land on the result without a reload.
	var slotLabel, tzShown string
	if err := chromedp.Run(ctx,
		chromedp.Value(`#tz`, &tzShown),
		chromedp.Text(`.day .slot`, &slotLabel),
		chromedp.Click(`.day .slot`),
		chromedp.WaitVisible(`.confirm-panel`),
		chromedp.Click(`.confirm-panel .button:not(.button-secondary)`),
		chromedp.WaitVisible(`.booking-done h2`),
	); err != nil {
		t.Fatal(err)
	}
	if tzShown != "America/Regina" {
		t.Fatalf("slots shown in %q, want the lead's America/Regina", tzShown)
	}
	var when, manage string
	chromedp.Run(ctx,
		chromedp.Text(`.booking-done h2`, &when),
		chromedp.AttributeValue(`.booking-done a.button:not(.button-secondary)`, "href", &manage, nil),
	)
	if !strings.Contains(when, "Central Standard Time") || !strings.Contains(when, strings.TrimSpace(slotLabel)[:len(strings.TrimSpace(slotLabel))-5]) {
		t.Fatalf("confirmation says %q for slot %q", when, slotLabel)
	}
	screenshot(t, ctx, "booked-desktop")
	var booked int
	db.Get(&booked, `SELECT count(*) FROM bookings b JOIN leads l ON l.id = b.lead_id WHERE l.email = 'robin@acme.example.com' AND b.status = 'confirmed'`)
	if booked != 1 || !strings.HasPrefix(manage, "/b/") {
		t.Fatalf("%d confirmed bookings, manage link %q", booked, manage)
	}

	// The manage link: details, then cancel with the plain form.
	if err := chromedp.Run(ctx,
		chromedp.Navigate(app.URL+manage),
		chromedp.WaitVisible(`.manage-page h1`),
		chromedp.EmulateViewport(390, 844),
	); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "manage-phone")
	if err := chromedp.Run(ctx,
		chromedp.Click(`.cancel-form button`),
		chromedp.WaitVisible(`.manage-page .banner`),
	); err != nil {
		t.Fatal(err)
	}
	var status string
	db.Get(&status, `SELECT b.status FROM bookings b JOIN leads l ON l.id = b.lead_id WHERE l.email = 'robin@acme.example.com'`)
	if status != "cancelled" {
		t.Fatalf("booking status after cancel = %s", status)
	}

	if err := chromedp.Run(ctx, chromedp.EmulateViewport(390, 844), chromedp.Navigate(app.URL+"/assessment"), chromedp.WaitVisible(`#assessment-form .progress`)); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "assessment-phone")
}
