package main

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

func (s staffApp) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	if _, err := s.db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// tableRows returns the text of each body and footer row of the table
// whose caption is caption, one string per cell.
func tableRows(t *testing.T, page, caption string) [][]string {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]string
	found := false
	var walk func(n *html.Node, inTable bool)
	walk = func(n *html.Node, inTable bool) {
		if n.Type == html.ElementNode && n.Data == "table" {
			inTable = false
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				if c.Type == html.ElementNode && c.Data == "caption" && textOf(c) == caption {
					inTable, found = true, true
				}
			}
		}
		if inTable && n.Type == html.ElementNode && n.Data == "tr" && n.Parent.Data != "thead" {
			var cells []string
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				if c.Type == html.ElementNode && (c.Data == "td" || c.Data == "th") {
					cells = append(cells, textOf(c))
				}
			}
			rows = append(rows, cells)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, inTable)
		}
	}
	walk(doc, false)
	if !found {
		t.Fatalf("no table captioned %q", caption)
	}
	return rows
}

func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

func TestAdminPagesByRole(t *testing.T) {
	s := newStaffApp(t, nil)
	id := s.mail(t, "Your consultation", "failed")
	msg := fmt.Sprintf("/admin/outbox/%d", id)
	paths := []string{"/admin", "/admin/outbox", msg, msg + "/message.eml", "/admin/audit"}
	anon := browser(t)
	for _, path := range paths {
		resp, _ := send(t, anon, "GET", s.URL+path, nil, nil)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login?next="+url.QueryEscape(path) {
			t.Errorf("anonymous GET %s = %d %s, want the sign-in page", path, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	resp, _ := send(t, anon, "POST", s.URL+msg+"/retry", url.Values{}, nil)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Errorf("anonymous retry = %d, want the sign-in page", resp.StatusCode)
	}
	want := map[string][]int{
		"admin@consult.example": {200, 200, 200, 200, 200},
		"sales@consult.example": {200, 200, 200, 200, 403},
		"owen@consult.example":  {403, 403, 403, 403, 403},
	}
	for email, statuses := range want {
		c := browser(t)
		s.signIn(t, c, email)
		for i, path := range paths {
			resp, body := send(t, c, "GET", s.URL+path, nil, nil)
			if resp.StatusCode != statuses[i] {
				t.Errorf("%s GET %s = %d, want %d", email, path, resp.StatusCode, statuses[i])
			}
			if resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("%s GET %s: Cache-Control %q, want no-store", email, path, resp.Header.Get("Cache-Control"))
			}
			if hasAudit := strings.Contains(body, `href="/admin/audit"`); resp.StatusCode == 200 && path == "/admin" && hasAudit != (email == "admin@consult.example") {
				t.Errorf("%s: the header links to the audit log: %v", email, hasAudit)
			}
		}
	}
	owen := browser(t)
	s.signIn(t, owen, "owen@consult.example")
	if resp, _ := send(t, owen, "POST", s.URL+msg+"/retry", url.Values{}, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("consultant retry = %d, want 403", resp.StatusCode)
	}
	var status string
	s.db.Get(&status, `SELECT status FROM outbox WHERE id = $1`, id)
	if status != "failed" {
		t.Fatalf("after refused retries the message is %s", status)
	}
}

func TestAdminAuditLog(t *testing.T) {
	s := newStaffApp(t, nil)
	id := s.mail(t, "Your consultation", "capped")
	sales := browser(t)
	s.signIn(t, sales, "sales@consult.example")
	send(t, sales, "POST", s.URL+fmt.Sprintf("/admin/outbox/%d/retry", id), url.Values{}, nil)
	s.exec(t, `INSERT INTO audit_log (actor, action, target_type, target_id, detail, ip, created_at)
		SELECT 'old@consult.example', 'lead_note', 'lead', 'L' || n, jsonb_build_object('note', 'x<y ' || n), '198.51.100.9', now() - interval '1 hour' + n * interval '1 second'
		FROM generate_series(1, 120) n`)

	admin := browser(t)
	s.signIn(t, admin, "admin@consult.example")
	resp, page := send(t, admin, "GET", s.URL+"/admin/audit", nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/admin/audit = %d", resp.StatusCode)
	}
	// Newest first: the admin's sign-in, the 120 notes, the retry, the
	// sales sign-in; 100 to a page.
	rows := tableRows(t, page, "Audit log")
	if len(rows) != 100 || rows[0][2] != "sign_in" || rows[0][1] != "admin@consult.example" || rows[1][4] != "note: x<y 120" || rows[99][4] != "note: x<y 22" {
		t.Fatalf("first page: %d rows, first %q, second %q", len(rows), rows[0], rows[1])
	}
	if !strings.Contains(page, "note: x&lt;y 120") {
		t.Fatal("details should be escaped")
	}
	older := regexp.MustCompile(`href="(/admin/audit\?before=\d+)"`).FindStringSubmatch(page)
	if older == nil {
		t.Fatal("no link to older entries")
	}
	_, page = send(t, admin, "GET", s.URL+older[1], nil, nil)
	rest := tableRows(t, page, "Audit log")
	if len(rest) != 23 || rest[0][4] != "note: x<y 21" || strings.Contains(page, "Older entries") {
		t.Fatalf("second page: %d rows, first %q; want the 23 oldest", len(rest), rest[0])
	}
	retry, signIn := rest[21], rest[22]
	if want := []string{"sales@consult.example", "mail_retry", fmt.Sprintf("outbox %d", id), "kind: invite status: capped", "127.0.0.1"}; !slices.Equal(retry[1:], want) {
		t.Fatalf("retry row = %q, want %q", retry[1:], want)
	}
	if signIn[2] != "sign_in" || signIn[3] == "" {
		t.Fatalf("oldest row = %q, want the sales sign-in", signIn)
	}
	if !strings.Contains(page, fmt.Sprintf(`<a href="/admin/outbox/%d">outbox %d</a>`, id, id)) {
		t.Fatal("the retry row should link to the message")
	}
}
