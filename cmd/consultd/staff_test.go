package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"consultd/internal/pgtest"
	"consultd/services"
)

// staffApp is a running app with a seeded database and one account per role.
type staffApp struct {
	*testApp
	db  *sqlx.DB
	env map[string]string
}

const staffPassword = "correct horse battery staple"

func newStaffApp(t *testing.T, env map[string]string) staffApp {
	t.Helper()
	db, dbURL := pgtest.NewDBWithURL(t)
	if _, err := services.SeedDemo(context.Background(), services.NewConsultants(db)); err != nil {
		t.Fatal(err)
	}
	full := map[string]string{"DATABASE_URL": dbURL, "RATE_LIMITS": "off"}
	for k, v := range env {
		full[k] = v
	}
	s := staffApp{testApp: startApp(t, full), db: db, env: full}
	s.addUser(t, "admin@consult.example", "admin", "")
	s.addUser(t, "sales@consult.example", "sales", "")
	s.addUser(t, "owen@consult.example", "consultant", "owen.macleod@consult.example")
	return s
}

func (s staffApp) addUser(t *testing.T, email, role, consultant string) {
	t.Helper()
	args := []string{"user", "add", "--email", email, "--role", role}
	if consultant != "" {
		args = append(args, "--consultant-email", consultant)
	}
	if err := run(context.Background(), args, envFrom(s.env), strings.NewReader(staffPassword+"\n"), io.Discard, io.Discard); err != nil {
		t.Fatalf("user add %s: %v", email, err)
	}
}

// browser is an HTTP client with its own cookies that does not follow
// redirects, so tests see where they point.
func browser(t *testing.T) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func send(t *testing.T, c *http.Client, method, target string, form url.Values, header http.Header) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, string(raw)
}

func (s staffApp) signIn(t *testing.T, c *http.Client, email string) {
	t.Helper()
	resp, body := send(t, c, "POST", s.URL+"/login", url.Values{"email": {email}, "password": {staffPassword}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in as %s = %d\n%s", email, resp.StatusCode, body)
	}
}

func sessionCookie(c *http.Client, base string) string {
	u, _ := url.Parse(base)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "consultd_session" {
			return ck.Value
		}
	}
	return ""
}

func TestEveryRoleSeesOnlyItsPages(t *testing.T) {
	s := newStaffApp(t, nil)
	anon := browser(t)
	for _, path := range []string{"/admin", "/me", "/admin/leads", "/admin/leads.csv"} {
		resp, _ := send(t, anon, "GET", s.URL+path, nil, nil)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login?next="+url.QueryEscape(path) {
			t.Errorf("anonymous %s = %d %s, want /login", path, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	want := map[string]map[string]int{
		"admin@consult.example": {"/admin": 200, "/me": 403, "/admin/leads": 200, "/admin/leads.csv": 200},
		"sales@consult.example": {"/admin": 200, "/me": 403, "/admin/leads": 200, "/admin/leads.csv": 200},
		"owen@consult.example":  {"/admin": 403, "/me": 200, "/admin/leads": 403, "/admin/leads.csv": 403},
	}
	for email, pages := range want {
		c := browser(t)
		s.signIn(t, c, email)
		for path, status := range pages {
			resp, _ := send(t, c, "GET", s.URL+path, nil, nil)
			if resp.StatusCode != status {
				t.Errorf("%s GET %s = %d, want %d", email, path, resp.StatusCode, status)
			}
			if resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("%s GET %s: Cache-Control %q, want no-store", email, path, resp.Header.Get("Cache-Control"))
			}
		}
	}
}

func TestSignInRenewsTheSessionAndSignOutEndsIt(t *testing.T) {
	s := newStaffApp(t, map[string]string{"SESSION_IDLE_TIMEOUT": "30m"})
	c := browser(t)
	base, _ := url.Parse(s.URL)
	c.Jar.SetCookies(base, []*http.Cookie{{Name: "consultd_session", Value: "planted-by-someone-else", Path: "/"}})
	resp, _ := send(t, c, "POST", s.URL+"/login", url.Values{"email": {"sales@consult.example"}, "password": {staffPassword}, "next": {"/admin"}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin" {
		t.Fatalf("sign in = %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	token := sessionCookie(c, s.URL)
	if token == "" || token == "planted-by-someone-else" {
		t.Fatalf("session token after sign-in = %q, want a new one", token)
	}
	for _, ck := range resp.Cookies() {
		if ck.Name == "consultd_session" && (!ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode) {
			t.Fatalf("session cookie %+v must be HttpOnly and SameSite=Lax", ck)
		}
	}
	// The store forgets the session after the idle timeout.
	var expiry time.Time
	s.db.Get(&expiry, `SELECT expiry FROM sessions`)
	if until := time.Until(expiry); until > 31*time.Minute || until < 25*time.Minute {
		t.Fatalf("session expires in %s, want the 30m idle timeout", until)
	}
	s.db.Exec(`UPDATE sessions SET expiry = now() - interval '1 second'`)
	if resp, _ := send(t, c, "GET", s.URL+"/admin", nil, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("after the idle timeout /admin = %d, want the sign-in page", resp.StatusCode)
	}

	s.signIn(t, c, "sales@consult.example")
	token = sessionCookie(c, s.URL)
	if resp, _ := send(t, c, "POST", s.URL+"/logout", url.Values{}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out = %d", resp.StatusCode)
	}
	var left int
	s.db.Get(&left, `SELECT count(*) FROM sessions WHERE expiry > now()`)
	replay := browser(t)
	replay.Jar.SetCookies(base, []*http.Cookie{{Name: "consultd_session", Value: token, Path: "/"}})
	if resp, _ := send(t, replay, "GET", s.URL+"/admin", nil, nil); resp.StatusCode != http.StatusSeeOther || left != 0 {
		t.Fatalf("the old token after sign-out: /admin = %d, %d sessions stored", resp.StatusCode, left)
	}
}

func TestDisablingAnAccountEndsItsSessions(t *testing.T) {
	s := newStaffApp(t, nil)
	c := browser(t)
	s.signIn(t, c, "sales@consult.example")
	if resp, _ := send(t, c, "GET", s.URL+"/admin", nil, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("/admin = %d", resp.StatusCode)
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"user", "disable", "--email", "SALES@consult.example"}, envFrom(s.env), nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if resp, _ := send(t, c, "GET", s.URL+"/admin", nil, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("/admin after disabling = %d, want the sign-in page", resp.StatusCode)
	}
	// The right password for a disabled account reads like a wrong one, so
	// guessing cannot confirm it.
	resp, body := send(t, browser(t), "POST", s.URL+"/login", url.Values{"email": {"sales@consult.example"}, "password": {staffPassword}}, nil)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "do not match") {
		t.Fatalf("sign in to a disabled account = %d", resp.StatusCode)
	}
}

// Failures are throttled per account and per network, never so that a
// stranger locks the owner out of a browser they signed in with before.
func TestSignInThrottling(t *testing.T) {
	s := newStaffApp(t, map[string]string{
		"LOGIN_FAILURES_PER_ACCOUNT": "3", "LOGIN_FAILURES_PER_NETWORK": "8", "TRUSTED_PROXIES": "127.0.0.1",
	})
	from := func(ip string) http.Header { return http.Header{"X-Forwarded-For": {ip}} }
	owner := browser(t)
	resp, _ := send(t, owner, "POST", s.URL+"/login", url.Values{"email": {"sales@consult.example"}, "password": {staffPassword}}, from("198.51.100.7"))
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("owner's first sign-in = %d", resp.StatusCode)
	}
	send(t, owner, "POST", s.URL+"/logout", url.Values{}, from("198.51.100.7"))

	attacker := browser(t)
	for i, ip := range []string{"203.0.113.1", "203.0.113.2", "203.0.113.3"} {
		resp, body := send(t, attacker, "POST", s.URL+"/login", url.Values{"email": {"sales@consult.example"}, "password": {"wrong guess " + ip}}, from(ip))
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "do not match") {
			t.Fatalf("failure %d = %d", i+1, resp.StatusCode)
		}
	}
	resp, body := send(t, attacker, "POST", s.URL+"/login", url.Values{"email": {"sales@consult.example"}, "password": {staffPassword}}, from("203.0.113.4"))
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "Too many failed sign-ins for this account") {
		t.Fatalf("fourth attempt on the account, right password, new device = %d", resp.StatusCode)
	}
	if !strings.Contains(body, `value="sales@consult.example"`) {
		t.Fatal("the throttled form lost the email typed")
	}
	resp, _ = send(t, owner, "POST", s.URL+"/login", url.Values{"email": {"sales@consult.example"}, "password": {staffPassword}}, from("198.51.100.7"))
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the owner's known browser = %d, want it to sign in while the account is throttled for others", resp.StatusCode)
	}

	// One network guessing at many accounts hits the network limit.
	office := browser(t)
	var last *http.Response
	for i := 0; i < 9; i++ {
		last, _ = send(t, office, "POST", s.URL+"/login", url.Values{"email": {"nobody" + string(rune('a'+i)) + "@x.example"}, "password": {"wrong password"}}, from("192.0.2.10"))
	}
	if last.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("ninth failure from one network = %d, want 429", last.StatusCode)
	}
	resp, _ = send(t, browser(t), "POST", s.URL+"/login", url.Values{"email": {"admin@consult.example"}, "password": {staffPassword}}, from("192.0.2.99"))
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("another network = %d, want it unaffected", resp.StatusCode)
	}
	// The owner's known browser is not held back by the network's count.
	resp, _ = send(t, owner, "POST", s.URL+"/login", url.Values{"email": {"sales@consult.example"}, "password": {staffPassword}}, from("192.0.2.10"))
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the owner's known browser on the throttled network = %d, want it to sign in", resp.StatusCode)
	}
}

// A burst of parallel guesses gets no more tries than a queue would.
func TestSignInThrottleHoldsUnderABurst(t *testing.T) {
	s := newStaffApp(t, map[string]string{"LOGIN_FAILURES_PER_ACCOUNT": "3"})
	var wg sync.WaitGroup
	codes := make(chan int, 24)
	for i := 0; i < 24; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, _ := send(t, browser(t), "POST", s.URL+"/login", url.Values{"email": {"sales@consult.example"}, "password": {"wrong guess"}}, nil)
			codes <- resp.StatusCode
		}()
	}
	wg.Wait()
	close(codes)
	counts := map[int]int{}
	for c := range codes {
		counts[c]++
	}
	if counts[http.StatusUnauthorized] > 3 || counts[http.StatusUnauthorized]+counts[http.StatusTooManyRequests] != 24 {
		t.Fatalf("24 parallel guesses answered %v, want at most 3 checked", counts)
	}
}

func TestSignInRefusesHostileInputPolitely(t *testing.T) {
	s := newStaffApp(t, nil)
	for name, form := range map[string]url.Values{
		"NUL in the email": {"email": {"a\x00b@x.example"}, "password": {"whatever1"}},
		"invalid UTF-8":    {"email": {"\xff\xfe@x.example"}, "password": {"whatever1"}},
		"huge password":    {"email": {"sales@consult.example"}, "password": {strings.Repeat("x", 100000)}},
		"no fields":        {},
	} {
		if resp, _ := send(t, browser(t), "POST", s.URL+"/login", form, nil); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", name, resp.StatusCode)
		}
	}
	for _, next := range []string{"/\t/evil.example", "/\n/evil.example", "//evil.example", "/\\evil.example", "https://evil.example/", "/%09/evil.example"} {
		resp, _ := send(t, browser(t), "POST", s.URL+"/login", url.Values{"email": {"sales@consult.example"}, "password": {staffPassword}, "next": {next}}, nil)
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || (loc != "/admin" && loc != next) || strings.ContainsAny(loc, "\t\n\\") || strings.HasPrefix(loc, "//") || strings.Contains(loc, "://") {
			t.Errorf("next %q sends the browser to %q", next, loc)
		}
	}
}

func TestStaffPostsFromOtherSitesAreRefused(t *testing.T) {
	s := newStaffApp(t, nil)
	c := browser(t)
	s.signIn(t, c, "sales@consult.example")
	header := http.Header{"Origin": {"https://evil.example"}, "Sec-Fetch-Site": {"cross-site"}}
	for _, path := range []string{"/login", "/logout"} {
		if resp, _ := send(t, c, "POST", s.URL+path, url.Values{"email": {"sales@consult.example"}, "password": {staffPassword}}, header); resp.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site POST %s = %d, want 403", path, resp.StatusCode)
		}
	}
}

func TestUserCommands(t *testing.T) {
	s := newStaffApp(t, nil)
	add := func(password string, args ...string) error {
		return run(context.Background(), append([]string{"user", "add"}, args...), envFrom(s.env), strings.NewReader(password), io.Discard, io.Discard)
	}
	for name, tc := range map[string]struct {
		password string
		args     []string
		want     string
	}{
		"short password":      {"short1", []string{"--email", "a@x.example", "--role", "sales"}, "at least 8"},
		"common password":     {"password123\n", []string{"--email", "a@x.example", "--role", "sales"}, "most common"},
		"no password":         {"", []string{"--email", "a@x.example", "--role", "sales"}, "standard input"},
		"unknown role":        {staffPassword, []string{"--email", "a@x.example", "--role", "boss"}, "admin, sales or consultant"},
		"unknown consultant":  {staffPassword, []string{"--email", "a@x.example", "--role", "consultant", "--consultant-email", "who@x.example"}, "No consultant"},
		"existing email":      {staffPassword, []string{"--email", "Sales@consult.example", "--role", "sales"}, "already exists"},
		"password = email":    {"a@x.example", []string{"--email", "a@x.example", "--role", "sales"}, "email address"},
		"very long password ": {strings.Repeat("x", 129), []string{"--email", "a@x.example", "--role", "sales"}, "at most 128"},
	} {
		if err := add(tc.password, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error mentioning %q", name, err, tc.want)
		}
	}
	if err := add(strings.Repeat("é", 64)+"\n", "--email", "long@x.example", "--role", "sales"); err != nil {
		t.Fatalf("a 64-character passphrase: %v", err)
	}
	var hash string
	s.db.Get(&hash, `SELECT password_hash FROM users WHERE email = 'long@x.example'`)
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("stored hash %q is not an argon2id PHC string", hash)
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"user", "list"}, envFrom(s.env), nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"admin@consult.example", "long@x.example", "consultant", "never"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("user list lacks %q:\n%s", want, out.String())
		}
	}
}
