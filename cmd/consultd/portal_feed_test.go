package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestFeedRotationFromThePortalAndTheCommandLine(t *testing.T) {
	s := newStaffApp(t, nil)
	owen := s.owen(t)
	send(t, owen, "POST", s.URL+"/me/feed", url.Values{}, nil)
	first := s.myFeedPath(t, owen)

	resp, _ := send(t, owen, "POST", s.URL+"/me/feed", url.Values{}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/me?done=feed-rotated#calendar" {
		t.Fatalf("rotate = %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, body := send(t, owen, "GET", s.URL+"/me?done=feed-rotated", nil, nil); !strings.Contains(body, "The old one stopped working at once") {
		t.Fatal("no confirmation that the old URL stopped")
	}
	second := s.myFeedPath(t, owen)
	if second == first {
		t.Fatal("rotating kept the URL")
	}
	if resp, _ := fetchFeed(t, s.URL+first, nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("the old URL = %d, want 404", resp.StatusCode)
	}
	if resp, _ := fetchFeed(t, s.URL+second, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("the new URL = %d", resp.StatusCode)
	}
	if got := s.auditCount(t, "feed_created") + s.auditCount(t, "feed_rotated"); got != 2 {
		t.Fatalf("%d feed changes audited, want 2", got)
	}

	var out bytes.Buffer
	if err := run(context.Background(), []string{"consultant", "feed-url", "--email", "Owen.MacLeod@consult.example"}, envFrom(s.env), nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "http://localhost:8080/feeds/") || lines[1] != "webcal://"+strings.TrimPrefix(lines[0], "http://") {
		t.Fatalf("feed-url printed %q", out.String())
	}
	printed, _ := url.Parse(lines[0])
	if resp, _ := fetchFeed(t, s.URL+printed.Path, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("the printed URL = %d", resp.StatusCode)
	}
	if resp, _ := fetchFeed(t, s.URL+second, nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("the portal's URL after the command = %d, want 404", resp.StatusCode)
	}
	if got := s.myFeedPath(t, owen); got != printed.Path {
		t.Fatalf("the portal shows %s, the command printed %s", got, printed.Path)
	}
	// Issued under another SECRET_KEY, the URL cannot be shown again, but works.
	rekeyed := map[string]string{"SECRET_KEY": "another-secret-key-of-at-least-32-characters"}
	for k, v := range s.env {
		if _, ok := rekeyed[k]; !ok {
			rekeyed[k] = v
		}
	}
	out.Reset()
	if err := run(context.Background(), []string{"consultant", "feed-url", "--email", "owen.macleod@consult.example"}, envFrom(rekeyed), nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if _, body := send(t, owen, "GET", s.URL+"/me", nil, nil); !strings.Contains(body, "can no longer be shown here") || portalFeedURL.MatchString(body) {
		t.Fatal("a URL sealed under another key should be announced, not shown")
	}
	rekeyedURL, _ := url.Parse(strings.SplitN(out.String(), "\n", 2)[0])
	if resp, _ := fetchFeed(t, s.URL+rekeyedURL.Path, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("the feed issued under another key = %d", resp.StatusCode)
	}

	for args, want := range map[string]string{"--email nobody@consult.example": "No consultant", "": "usage"} {
		err := run(context.Background(), append([]string{"consultant", "feed-url"}, strings.Fields(args)...), envFrom(s.env), nil, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("feed-url %s: %v, want %q", args, err, want)
		}
	}
}

func TestPortalFeedIsShownOnlyToItsConsultant(t *testing.T) {
	s := newStaffApp(t, nil)
	s.addUser(t, "sophie@consult.example", "consultant", "sophie.lavoie@consult.example")
	owen := s.owen(t)
	mine, _ := s.feedBookings(t, owen)
	send(t, owen, "POST", s.URL+"/me/feed", url.Values{}, nil)
	owenFeed := s.myFeedPath(t, owen)
	token := strings.TrimSuffix(strings.TrimPrefix(owenFeed, "/feeds/"), ".ics")

	// Each upcoming booking links to its lead page, which Owen may read.
	_, body := send(t, owen, "GET", s.URL+"/me", nil, nil)
	lead := "/admin/leads/" + s.leadOf(t, mine)
	if !strings.Contains(body, `<a href="`+lead+`">Olive Harbourside</a>`) {
		t.Fatal("the upcoming booking does not link to its lead page")
	}
	if resp, page := send(t, owen, "GET", s.URL+lead, nil, nil); resp.StatusCode != http.StatusOK || !strings.Contains(page, "Olive Harbourside") {
		t.Fatalf("Owen's lead page = %d", resp.StatusCode)
	}

	sophie := browser(t)
	s.signIn(t, sophie, "sophie@consult.example")
	resp, body := send(t, sophie, "GET", s.URL+"/me", nil, nil)
	if resp.StatusCode != http.StatusOK || strings.Contains(body, token) || !strings.Contains(body, "Create my feed URL") {
		t.Fatalf("Sophie's page = %d, shows Owen's feed %v", resp.StatusCode, strings.Contains(body, token))
	}
	send(t, sophie, "POST", s.URL+"/me/feed", url.Values{}, nil)
	_, body = send(t, sophie, "GET", s.URL+"/me", nil, nil)
	if strings.Contains(body, token) || !portalFeedURL.MatchString(body) {
		t.Fatal("Sophie's page should show her own feed only")
	}
	if resp, _ := fetchFeed(t, s.URL+owenFeed, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("Sophie's new feed stopped Owen's: %d", resp.StatusCode)
	}

	sales := browser(t)
	s.signIn(t, sales, "sales@consult.example")
	for _, tc := range []struct{ method, path string }{{"GET", "/me"}, {"POST", "/me/feed"}} {
		if resp, _ := send(t, sales, tc.method, s.URL+tc.path, url.Values{}, nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("sales %s %s = %d, want 403", tc.method, tc.path, resp.StatusCode)
		}
	}
	if resp, _ := send(t, browser(t), "POST", s.URL+"/me/feed", url.Values{}, nil); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Fatalf("anonymous POST /me/feed = %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}
