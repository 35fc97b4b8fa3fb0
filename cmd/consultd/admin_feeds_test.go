package main

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// assertFeedGzip fetches a feed of 1 KiB or more as a client taking gzip:
// the same bytes compressed, under an ETag of their own, and 304 to it.
func assertFeedGzip(t *testing.T, feed, identity, etag string) {
	t.Helper()
	if len(identity) < 1024 {
		t.Fatalf("a %d-byte feed is too small to be compressed", len(identity))
	}
	resp, zipped := fetchFeed(t, feed, http.Header{"Accept-Encoding": {"br;q=1, gzip;q=0.8"}})
	zr, err := gzip.NewReader(strings.NewReader(zipped))
	if resp.Header.Get("Content-Encoding") != "gzip" || err != nil {
		t.Fatalf("Content-Encoding %q (%v)", resp.Header.Get("Content-Encoding"), err)
	}
	plain, _ := io.ReadAll(zr)
	gzipTag := strings.TrimSuffix(etag, `"`) + `-gzip"`
	if string(plain) != identity || resp.Header.Get("ETag") != gzipTag {
		t.Fatalf("the gzipped feed differs, or its ETag %q is not %q", resp.Header.Get("ETag"), gzipTag)
	}
	if resp, _ := fetchFeed(t, feed, http.Header{"Accept-Encoding": {"gzip"}, "If-None-Match": {gzipTag}}); resp.StatusCode != http.StatusNotModified {
		t.Fatalf("If-None-Match with the gzip ETag = %d, want 304", resp.StatusCode)
	}
	if resp, _ := fetchFeed(t, feed, http.Header{"Accept-Encoding": {"gzip;q=0"}}); resp.Header.Get("Content-Encoding") != "" || resp.Header.Get("ETag") != etag {
		t.Fatalf("gzip;q=0 got Content-Encoding %q", resp.Header.Get("Content-Encoding"))
	}
}

var adminFeedURL = regexp.MustCompile(`id="feed-nodejs" type="text" value="([^"]+)"`)

func TestTeamFeedsAreIssuedByAdmins(t *testing.T) {
	s := newStaffApp(t, nil)
	owen := s.owen(t)
	mine, theirs := s.feedBookings(t, owen)
	admin := browser(t)
	s.signIn(t, admin, "admin@consult.example")

	resp, body := send(t, admin, "GET", s.URL+"/admin/feeds", nil, nil)
	if resp.StatusCode != http.StatusOK || strings.Count(body, "No feed URL issued yet") != 2 || !strings.Contains(body, `href="/admin/feeds"`) {
		t.Fatalf("/admin/feeds = %d", resp.StatusCode)
	}
	resp, _ = send(t, admin, "POST", s.URL+"/admin/feeds/nodejs/rotate", url.Values{}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/feeds?done=created-nodejs#team-nodejs" {
		t.Fatalf("issue = %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, body = send(t, admin, "GET", s.URL+"/admin/feeds?done=created-nodejs", nil, nil)
	m := adminFeedURL.FindStringSubmatch(body)
	if m == nil || !strings.Contains(body, "Feed URL issued") || strings.Count(body, "No feed URL issued yet") != 1 {
		t.Fatal("the page does not show the issued Node.js feed")
	}
	issued, _ := url.Parse(m[1])
	if !strings.Contains(body, `value="webcal://localhost:8080`+issued.Path+`"`) {
		t.Fatal("the page lacks the webcal:// form")
	}

	resp, ics := fetchFeed(t, s.URL+issued.Path, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("team feed = %d", resp.StatusCode)
	}
	assertFeedLines(t, []byte(ics))
	assertFeedGzip(t, s.URL+issued.Path, ics, resp.Header.Get("ETag"))
	read := checkFeedWithOutsideParsers(t, []byte(ics))
	if read.Name != "Stackpoint Consulting: Node.js team" || len(read.Events) != 2 {
		t.Fatalf("the team feed reads %+v", read)
	}
	for booking, want := range map[string]string{s.bookingUID(t, mine): "Owen MacLeod with Olive Harbourside (Harbour Labs)", s.bookingUID(t, theirs): "Sophie Lavoie with Sam Prairie (Prairie Corp)"} {
		if e, _ := read.event(booking); e.Summary != want || e.Status != "CONFIRMED" {
			t.Errorf("team feed event %+v, want %q", e, want)
		}
	}

	resp, _ = send(t, admin, "POST", s.URL+"/admin/feeds/nodejs/rotate", url.Values{}, nil)
	if resp.Header.Get("Location") != "/admin/feeds?done=rotated-nodejs#team-nodejs" {
		t.Fatalf("rotate = %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := fetchFeed(t, s.URL+issued.Path, nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("the old team URL = %d, want 404", resp.StatusCode)
	}
	if _, body := send(t, admin, "GET", s.URL+"/admin/feeds?done=rotated-nodejs", nil, nil); !strings.Contains(body, "The old one stopped working at once") {
		t.Fatal("no confirmation that the old URL stopped")
	}
	var audited []string
	s.db.Select(&audited, `SELECT action FROM audit_log WHERE target_type = 'team' AND target_id = 'nodejs' AND actor = 'admin@consult.example' ORDER BY id`)
	if strings.Join(audited, ",") != "feed_created,feed_rotated" {
		t.Fatalf("audit log = %v", audited)
	}
	if resp, _ := send(t, admin, "POST", s.URL+"/admin/feeds/cobol/rotate", url.Values{}, nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown team = %d, want 404", resp.StatusCode)
	}

	sales := browser(t)
	s.signIn(t, sales, "sales@consult.example")
	for who, c := range map[string]*http.Client{"sales": sales, "consultant": owen} {
		for _, tc := range []struct{ method, path string }{{"GET", "/admin/feeds"}, {"POST", "/admin/feeds/nodejs/rotate"}} {
			if resp, _ := send(t, c, tc.method, s.URL+tc.path, url.Values{}, nil); resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s %s %s = %d, want 403", who, tc.method, tc.path, resp.StatusCode)
			}
		}
	}
	if _, body := send(t, sales, "GET", s.URL+"/admin", nil, nil); strings.Contains(body, `href="/admin/feeds"`) {
		t.Error("sales staff are offered the team feeds page")
	}
}
