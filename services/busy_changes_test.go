package services_test

import (
	"context"
	"errors"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"consultd/services"
)

func TestBusyCalendarRefreshIsSpacedAndOwnOnly(t *testing.T) {
	f := newBusyFixture(t, 20*time.Second)
	f.feed.set("/ana.ics", busyICS(tuesdayTen))
	if _, err := f.busy.Save(as(f.ana), f.feed.URL+"/ana.ics"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.busy.Refresh(as(f.ana)); services.ErrorCode(err) != services.CodeConflict {
		t.Fatalf("a refresh right after saving: %v, want a conflict", err)
	}
	// Saving the same address again is no way round the spacing.
	if cal, err := f.busy.Save(as(f.ana), f.feed.URL+"/ana.ics"); err != nil || cal.BlockCount != 1 {
		t.Fatalf("saving the same address again: %+v, %v", cal, err)
	}
	if hits, _ := f.feed.seen("/ana.ics"); hits != 1 {
		t.Fatalf("the calendar was read %d times, want once", hits)
	}
	if saved := auditRows(t, f.db, "busy_calendar_saved"); len(saved) != 2 || saved[1]["address"] != "unchanged" {
		t.Fatalf("saved audit rows: %v", saved)
	}
	f.clock.Set(fixtureNow.Add(21 * time.Second))
	if cal, err := f.busy.Refresh(as(f.ana)); err != nil || cal.LastOutcome != "unchanged" {
		t.Fatalf("a refresh 21 seconds later: %+v, %v", cal, err)
	}
	refreshed := auditRows(t, f.db, "busy_calendar_refreshed")
	if len(refreshed) != 1 || refreshed[0]["outcome"] != "unchanged" || refreshed[0]["target_id"] != f.ana.ID {
		t.Fatalf("refresh audit rows: %v", refreshed)
	}

	// Ben has no calendar; nothing he does reaches Ana's.
	for name, call := range map[string]func() error{
		"mine":    func() error { _, err := f.busy.Mine(as(f.ben)); return err },
		"refresh": func() error { _, err := f.busy.Refresh(as(f.ben)); return err },
		"remove":  func() error { return f.busy.Remove(as(f.ben)) },
	} {
		if err := call(); !errors.Is(err, services.ErrNotFound) {
			t.Errorf("Ben's %s: %v, want not found", name, err)
		}
	}
	if _, err := f.busy.Mine(as(f.ana)); err != nil {
		t.Fatalf("Ana's calendar after Ben's attempts: %v", err)
	}

	staff := services.WithActor(context.Background(), services.Actor{Email: "sales@consult.example.com", Role: services.RoleSales})
	if _, err := f.busy.Save(staff, f.feed.URL+"/ana.ics"); !errors.Is(err, services.ErrForbidden) {
		t.Fatalf("sales saving a calendar of their own: %v", err)
	}
	if _, err := f.busy.List(as(f.ana)); !errors.Is(err, services.ErrForbidden) {
		t.Fatalf("a consultant listing every calendar: %v", err)
	}
	list, err := f.busy.List(staff)
	if err != nil || len(list) != 1 || list[0].ConsultantEmail != "ana@consult.example.com" {
		t.Fatalf("staff list: %v, %v", list, err)
	}
	if _, err := f.busy.RefreshCalendar(as(f.ben), list[0].ID); !errors.Is(err, services.ErrForbidden) {
		t.Fatalf("a consultant refreshing by id: %v", err)
	}
	f.clock.Set(fixtureNow.Add(time.Minute))
	if _, err := f.busy.RefreshCalendar(staff, list[0].ID); err != nil {
		t.Fatal(err)
	}
	if rows := auditRows(t, f.db, "busy_calendar_refreshed"); len(rows) != 2 || rows[1]["actor"] != "sales@consult.example.com" {
		t.Fatalf("refresh audit rows: %v", rows)
	}
}

func TestBusyCalendarAddresses(t *testing.T) {
	f := newBusyFixture(t, 0)
	strict, err := services.NewBusyCalendars(f.db, services.BusyConfig{SecretKey: "test-secret", Logger: slog.New(slog.DiscardHandler)}, f.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	for raw, want := range map[string]string{
		"":                                  "Paste the ICS address",
		"calendar.google.com/cal.ics":       "should start with https://",
		"ftp://files.example.com/cal.ics":   "Only https://",
		"file:///etc/passwd":                "should start with https://",
		"https://user:pw@example.com/c.ics": "user name and password",
		"https://example.com/a b.ics":       "spaces",
		"https://example.com/" + strings.Repeat("a", 2100): "longer than 2,048",
		"http://127.0.0.1:8080/cal.ics":                    "private or local network",
		"http://[::1]/cal.ics":                             "private or local network",
		"http://169.254.169.254/latest":                    "private or local network",
		"http://localhost/cal.ics":                         "private or local network",
		"https://intranet.localhost/cal.ics":               "private or local network",
	} {
		_, err := strict.Save(as(f.ana), raw)
		var e *services.Error
		if !errors.As(err, &e) || !strings.Contains(e.Fields["url"], want) {
			t.Errorf("%q: %v, want a message with %q", raw, err, want)
		}
	}
	if n := len(auditRows(t, f.db, "busy_calendar_saved")); n != 0 {
		t.Fatalf("%d refused addresses were saved", n)
	}
	// webcal:// is read over https; this server's certificate is not trusted, and the status says so.
	tlsFeed := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	tlsFeed.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	tlsFeed.StartTLS()
	defer tlsFeed.Close()
	host := strings.TrimPrefix(tlsFeed.URL, "https://")
	cal, err := f.busy.Save(as(f.ana), "webcal://"+host+"/private-0123456789abcdef/basic.ics")
	if err != nil {
		t.Fatal(err)
	}
	if cal.URLHint != "https://"+host+"/…/basic.ics" || cal.LastOutcome != "failed" || cal.LastError != "the server's TLS certificate was not accepted" {
		t.Fatalf("webcal address: %+v", cal)
	}
	if st := cal.Status(f.clock.Now(), f.busy.Every()); st.Summary != "Never read; the last attempt failed: the server's TLS certificate was not accepted." ||
		st.Effect != "No busy times from this calendar block slots yet." {
		t.Fatalf("status: %+v", st)
	}
}
