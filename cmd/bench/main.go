// Command bench measures consultd side by side with its baselines, in one
// run on one machine, and writes the table to bench/RESULTS.md. `make bench`
// runs it; it needs the dev PostgreSQL (TEST_DATABASE_URL), Debian's wrk
// and nginx, and bin/consultd.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq"

	"consultd/services"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// settings of one run; BENCH_DURATION shortens it for a smoke run.
type settings struct {
	binary   string
	adminURL string
	duration time.Duration
	workDir  string
	out      string
}

func run() error {
	s := settings{binary: "bin/consultd", adminURL: os.Getenv("TEST_DATABASE_URL"), duration: 10 * time.Second, out: "bench/RESULTS.md"}
	if d, err := time.ParseDuration(os.Getenv("BENCH_DURATION")); err == nil {
		s.duration = d
	}
	if s.adminURL == "" {
		return errors.New("TEST_DATABASE_URL is not set: run `make bench`")
	}
	var err error
	if s.workDir, err = os.MkdirTemp("", "consultd-bench-"); err != nil {
		return err
	}
	if os.Getenv("BENCH_KEEP") == "" {
		defer os.RemoveAll(s.workDir)
	} else {
		fmt.Println("bench: keeping", s.workDir)
	}
	ctx := context.Background()

	dbURL, err := freshDatabase(s.adminURL, "consultd_bench")
	if err != nil {
		return err
	}
	fmt.Println("bench: seeding")
	if err := migrate(ctx, s, dbURL); err != nil {
		return err
	}
	seed, err := seedDatabase(ctx, dbURL)
	if err != nil {
		return err
	}

	var r results
	r.seed = seed
	app, err := startApp(ctx, s, dbURL, "a")
	if err != nil {
		return err
	}
	defer app.stop()
	r.startToReady = app.ready

	switch os.Getenv("BENCH_ONLY") {
	case "race":
		return raceOnly(dbURL, app, seed)
	case "article":
		if err := benchArticle(s, app, &r); err != nil {
			return err
		}
		fmt.Printf("article: %.0f req/s, p50 %s, p99 %s; nginx %.0f req/s, p50 %s, p99 %s; peak RSS %d MB\n", r.article.rps, ms(r.article.p50), ms(r.article.p99), r.nginx.rps, ms(r.nginx.p50), ms(r.nginx.p99), app.peakRSS()>>20)
		return nil
	case "slots":
		if err := benchSlots(s, app, seed, &r); err != nil {
			return err
		}
		fmt.Printf("slots: %.0f req/s, p50 %s, p99 %s; /healthz %.0f req/s, p50 %s, p99 %s; peak RSS %d MB\n", r.slots.rps, ms(r.slots.p50), ms(r.slots.p99), r.healthz.rps, ms(r.healthz.p50), ms(r.healthz.p99), app.peakRSS()>>20)
		return nil
	}
	fmt.Println("bench: article against nginx")
	if err := benchArticle(s, app, &r); err != nil {
		return err
	}
	fmt.Println("bench: slots against /healthz")
	if err := benchSlots(s, app, seed, &r); err != nil {
		return err
	}
	fmt.Println("bench: admin inbox")
	if err := benchInbox(s, app, &r); err != nil {
		return err
	}
	fmt.Println("bench: booking race, one instance")
	r.floor1 = refusedBurst([]string{app.url}, 200, seed.raceStarts[0])
	if r.race1, err = bookingRace(dbURL, []string{app.url}, seed.raceLeads[:200], seed.raceStarts); err != nil {
		return err
	}
	r.rss = app.peakRSS()

	fmt.Println("bench: booking race, two instances behind nginx")
	if err := resetRace(dbURL); err != nil {
		return err
	}
	second, err := startApp(ctx, s, dbURL, "b")
	if err != nil {
		return err
	}
	defer second.stop()
	lb, err := startNginx(s, "lb", nginxProxy, nginxUpstream([]string{app.addr, second.addr}))
	if err != nil {
		return err
	}
	defer lb.stop()
	r.floor2 = refusedBurst([]string{lb.url}, 200, seed.raceStarts[0])
	if r.race2, err = bookingRace(dbURL, []string{lb.url}, seed.raceLeads[200:], seed.raceStarts); err != nil {
		return err
	}
	r.rss = max(r.rss, second.peakRSS(), app.peakRSS())
	return r.write(s)
}

// freshDatabase drops and creates name and returns its URL.
func freshDatabase(adminURL, name string) (string, error) {
	admin, err := sqlx.Open("postgres", adminURL)
	if err != nil {
		return "", err
	}
	defer admin.Close()
	if _, err := admin.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`); err != nil {
		return "", fmt.Errorf("drop bench database: %w", err)
	}
	if _, err := admin.Exec(`CREATE DATABASE ` + name); err != nil {
		return "", fmt.Errorf("create bench database: %w", err)
	}
	u, _ := url.Parse(adminURL)
	u.Path = "/" + name
	return u.String(), nil
}

func migrate(ctx context.Context, s settings, dbURL string) error {
	cmd := exec.CommandContext(ctx, s.binary, "migrate", "up")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("migrate: %v\n%s", err, out)
	}
	return nil
}

// seeded is what the runs use: who books, when, and how to ask for slots.
type seeded struct {
	consultants int
	bookings    int
	leads       int
	raceLeads   []string // inquiry ids, 400: 200 per race
	raceStarts  []string // 50 starts one consultant is free at
}

// seedDatabase fills the database as a busy consultancy's: 20 consultants
// per team (a 41st, the only Node.js consultant in the USA, takes the
// booking race), 10,000 past and future bookings, 50,000 leads.
func seedDatabase(ctx context.Context, dbURL string) (seeded, error) {
	db, err := sqlx.Open("postgres", dbURL)
	if err != nil {
		return seeded{}, err
	}
	defer db.Close()
	consultants := services.NewConsultants(db)
	hours, _ := services.ParseWeeklyHours([]string{"mon-fri 08:00-18:00"})
	allDay, _ := services.ParseWeeklyHours([]string{"mon-sun 00:00-24:00"})
	zones := []string{"America/Toronto", "America/Vancouver", "America/Halifax", "America/Chicago", "America/New_York"}
	for i := 0; i < 40; i++ {
		team, regions := services.TeamDjango, []string{services.RegionCanada, services.RegionUSA}
		if i >= 20 {
			team, regions = services.TeamNodeJS, []string{services.RegionCanada}
		}
		if _, _, err := consultants.Upsert(ctx, services.NewConsultant{
			Name: fmt.Sprintf("Consultant %02d", i), Email: fmt.Sprintf("c%02d@bench.example", i), Team: team,
			Regions: regions, Timezone: zones[i%len(zones)], Hours: hours,
		}); err != nil {
			return seeded{}, err
		}
	}
	_, _, err = consultants.Upsert(ctx, services.NewConsultant{
		Name: "Race Consultant", Email: "racer@bench.example", Team: services.TeamNodeJS,
		Regions: []string{services.RegionUSA}, Timezone: "America/Chicago", Hours: allDay,
	})
	if err != nil {
		return seeded{}, err
	}
	steps := []string{
		// 50,000 leads, each with its inquiry (the id a browser holds).
		`INSERT INTO leads (name, email, company, region, timezone, team, confidence, status, created_at, last_activity_at)
		 SELECT 'Person ' || g, 'p' || g || '@company' || (g % 997) || '.example', 'Company ' || (g % 997),
		        CASE WHEN g % 3 = 0 THEN 'usa' ELSE 'canada' END, 'America/Toronto',
		        CASE WHEN g % 2 = 0 THEN 'django' ELSE 'nodejs' END, (g % 100) / 100.0,
		        (ARRAY['new', 'contacted', 'qualified', 'won', 'lost', 'spam'])[1 + g % 6],
		        now() - g * interval '7 minutes', now() - g * interval '5 minutes'
		 FROM generate_series(1, 50000) g`,
		`INSERT INTO inquiries (lead_id, name, email, company, region, timezone, team, created_at)
		 SELECT id, name, email, company, region, timezone, team, created_at FROM leads`,
		// 10,000 bookings over the 40 consultants, 125 days back and forth,
		// one per consultant per half hour of the working day at most.
		`INSERT INTO bookings (lead_id, inquiry_id, team, region, consultant_id, status, starts_at, ends_at, blocked, timezone, uid,
		                       manage_token_hash, manage_token_sealed)
		 SELECT l.id, i.id, c.team, 'canada', c.id, CASE WHEN g % 9 = 0 THEN 'cancelled' ELSE 'confirmed' END,
		        s, s + interval '30 minutes', tstzrange(s, s + interval '30 minutes'), c.timezone,
		        gen_random_uuid()::text || '@bench.example', sha256(gen_random_uuid()::text::bytea), '\x00'
		 FROM generate_series(0, 9999) g
		 JOIN LATERAL (SELECT id, team, timezone FROM consultants WHERE email LIKE 'c%@bench.example' ORDER BY email OFFSET g % 40 LIMIT 1) c ON true
		 JOIN LATERAL (SELECT date_trunc('day', now()) - interval '125 days' + (g / 40) * interval '1 day' + interval '14 hours'
		                      + ((g / 40) % 16) * interval '30 minutes' AS s) t ON true
		 JOIN (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM leads) l ON l.rn = g + 1
		 JOIN inquiries i ON i.lead_id = l.id`,
		// A database in service is vacuumed and analysed; one just loaded
		// is not, and autovacuum would then work through 60,000 new rows
		// while the load runs.
		`VACUUM ANALYZE`,
	}
	for _, q := range steps {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return seeded{}, fmt.Errorf("seed: %w", err)
		}
	}
	var out seeded
	out.consultants = 41
	db.GetContext(ctx, &out.bookings, `SELECT count(*) FROM bookings`)
	db.GetContext(ctx, &out.leads, `SELECT count(*) FROM leads`)
	// Racers: US Node.js inquiries, one lead each, never booked.
	err = db.SelectContext(ctx, &out.raceLeads, `
		UPDATE inquiries SET team = 'nodejs', region = 'usa', timezone = 'America/Chicago'
		WHERE id IN (SELECT i.id FROM inquiries i WHERE NOT EXISTS (SELECT 1 FROM bookings b WHERE b.lead_id = i.lead_id) ORDER BY i.id LIMIT 400)
		RETURNING id`)
	if err != nil || len(out.raceLeads) != 400 {
		return out, fmt.Errorf("race leads: %d, %v", len(out.raceLeads), err)
	}
	// Fifty starts from the day after tomorrow, the racer's, every half hour.
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 2).Add(15 * time.Hour)
	for i := 0; i < 50; i++ {
		out.raceStarts = append(out.raceStarts, day.Add(time.Duration(i)*30*time.Minute).Format(time.RFC3339))
	}
	return out, nil
}

// raceOnly runs the one-instance race a few times and prints each, for
// working on the booking path (BENCH_ONLY=race); RESULTS.md is left alone.
func raceOnly(dbURL string, app *process, seed seeded) error {
	runs, err := strconv.Atoi(os.Getenv("BENCH_RACES"))
	if err != nil || runs < 1 {
		runs = 3
	}
	for i := 0; i < runs; i++ {
		if err := resetRace(dbURL); err != nil {
			return err
		}
		floor := refusedBurst([]string{app.url}, 200, seed.raceStarts[0])
		x, err := bookingRace(dbURL, []string{app.url}, seed.raceLeads[i%2*200:i%2*200+200], seed.raceStarts)
		if err != nil {
			return err
		}
		b := x.burst
		fmt.Printf("race %d: %d booked, %d × 409, %d × 5xx, %d other, %d overlaps, p99 %s %s\n",
			i+1, x.booked, x.conflicts, x.serverErrors, x.other, x.overlaps, ms(x.p99), x.firstServerError)
		fmt.Printf("  booked p50 %s, p99 %s; 409 p50 %s, p99 %s\n",
			ms(percentile(b.byStatus[http.StatusCreated], 0.5)), ms(percentile(b.byStatus[http.StatusCreated], 0.99)),
			ms(percentile(b.byStatus[http.StatusConflict], 0.5)), ms(percentile(b.byStatus[http.StatusConflict], 0.99)))
		fmt.Printf("  from the first request to the last answer, %s: machine %.0f%% busy;", ms(b.took), 100*b.busy)
		for name, d := range b.cpuByProg {
			if d >= 20*time.Millisecond && !strings.HasPrefix(name, "kworker") {
				fmt.Printf(" %s %s CPU", name, ms(d))
			}
		}
		fmt.Printf("\n  floor (same burst, refused after one query): p99 %s, machine %.0f%% busy; peak RSS so far %d MB\n",
			ms(floor.p99), 100*floor.busy, app.peakRSS()>>20)
	}
	return nil
}

// cpuTicks reads the machine's busy and total CPU time from /proc/stat.
func cpuTicks() (busy, total int64) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	fields := strings.Fields(strings.SplitN(string(data), "\n", 2)[0])[1:]
	for i, f := range fields {
		n, _ := strconv.ParseInt(f, 10, 64)
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, total
}

// cpuByProgram sums user and system CPU ticks of live processes by name.
func cpuByProgram() map[string]int64 {
	out := map[string]int64{}
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, d := range dirs {
		data, err := os.ReadFile(d)
		if err != nil {
			continue
		}
		s := string(data)
		open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || close < open {
			continue
		}
		f := strings.Fields(s[close+2:])
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		out[s[open+1:close]] += u + st
	}
	return out
}

func resetRace(dbURL string) error {
	db, err := sqlx.Open("postgres", dbURL)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.Exec(`DELETE FROM bookings WHERE consultant_id = (SELECT id FROM consultants WHERE email = 'racer@bench.example')`)
	return err
}

// process is a program the bench started and will stop.
type process struct {
	cmd   *exec.Cmd
	url   string
	addr  string
	ready time.Duration
	stop  func()
}

func (p *process) peakRSS() int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	m := regexp.MustCompile(`VmHWM:\s+(\d+) kB`).FindSubmatch(data)
	if m == nil {
		return 0
	}
	kb, _ := strconv.ParseInt(string(m[1]), 10, 64)
	return kb * 1024
}

func freeAddr() string {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	return ln.Addr().String()
}

// startApp runs consultd with production settings, rate limits off for the
// load only, and times it from start to ready.
func startApp(ctx context.Context, s settings, dbURL, name string) (*process, error) {
	addr := freeAddr()
	secret := make([]byte, 32)
	rand.Read(secret)
	cmd := exec.CommandContext(ctx, s.binary, "serve")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "ADDR="+addr, "APP_ENV=production", "BASE_URL=https://bench.example",
		"ALLOWED_HOSTS=*", "SECRET_KEY="+hex.EncodeToString(secret), "RATE_LIMITS=off", "LOG_LEVEL=warn",
		"MAIL_DIR="+filepath.Join(s.workDir, "mail-"+name), "BOOKING_MIN_NOTICE=1h")
	logFile, _ := os.Create(filepath.Join(s.workDir, "app-"+name+".log"))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	began := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, url: "http://" + addr, addr: addr}
	p.stop = func() { cmd.Process.Signal(os.Interrupt); cmd.Wait(); logFile.Close() }
	for time.Since(began) < 30*time.Second {
		if resp, err := http.Get(p.url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				p.ready = time.Since(began)
				return p, nil
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	p.stop()
	log, _ := os.ReadFile(logFile.Name())
	return nil, fmt.Errorf("app %s did not become ready:\n%s", name, log)
}

// startNginx runs Debian's nginx with the given server block contents and
// http-level extras.
func startNginx(s settings, name, server, extra string) (*process, error) {
	dir := filepath.Join(s.workDir, "nginx-"+name)
	os.MkdirAll(dir, 0o755)
	addr := freeAddr()
	conf := fmt.Sprintf(`worker_processes 1;
daemon off;
error_log %[1]s/error.log;
pid %[1]s/nginx.pid;
user root;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path %[1]s/body; proxy_temp_path %[1]s/proxy; fastcgi_temp_path %[1]s/fcgi; uwsgi_temp_path %[1]s/uwsgi; scgi_temp_path %[1]s/scgi;
  keepalive_requests 100000;
%[4]s
  server {
    listen %[2]s;
%[3]s
  }
}
`, dir, addr, server, extra)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command("nginx", "-c", path, "-p", dir)
	out := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("nginx: %w", err)
	}
	p := &process{cmd: cmd, url: "http://" + addr, addr: addr, stop: func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }}
	for i := 0; i < 200; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return p, nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	p.stop()
	return nil, fmt.Errorf("nginx did not start: %s", out)
}

func nginxStatic(root string) string {
	return fmt.Sprintf(`    root %s;
    location / { gzip_static on; default_type text/html; index index.html; }`, root)
}

const nginxProxy = `    location / { proxy_pass http://apps; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_set_header Host $host; }`

func nginxUpstream(backends []string) string {
	var ups []string
	for _, b := range backends {
		ups = append(ups, "server "+b+";")
	}
	return "  upstream apps { " + strings.Join(ups, " ") + " keepalive 64; }"
}

// wrkResult is one wrk run.
type wrkResult struct {
	rps           float64
	p50, p99      time.Duration
	errors, non2x int
}

var (
	wrkRPS     = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	wrkPct     = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([\d.]+)(us|ms|s)\b`)
	wrkNon2x   = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	wrkSockErr = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

// runWrk loads target with 2 threads and conns connections, gzip accepted.
func runWrk(s settings, target string, conns int, header ...string) (wrkResult, error) {
	args := []string{"-t2", fmt.Sprintf("-c%d", conns), "-d" + s.duration.String(), "--latency", "-H", "Accept-Encoding: gzip"}
	for _, h := range header {
		args = append(args, "-H", h)
	}
	out, err := exec.Command("wrk", append(args, target)...).CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk %s: %v\n%s", target, err, out)
	}
	var r wrkResult
	if m := wrkRPS.FindSubmatch(out); m != nil {
		r.rps, _ = strconv.ParseFloat(string(m[1]), 64)
	}
	for _, m := range wrkPct.FindAllSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(string(m[2]), 64)
		d := time.Duration(v * float64(map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[string(m[3])]))
		if string(m[1]) == "50" {
			r.p50 = d
		} else {
			r.p99 = d
		}
	}
	if m := wrkNon2x.FindSubmatch(out); m != nil {
		r.non2x, _ = strconv.Atoi(string(m[1]))
	}
	if m := wrkSockErr.FindSubmatch(out); m != nil {
		for _, g := range m[1:] {
			n, _ := strconv.Atoi(string(g))
			r.errors += n
		}
	}
	if r.rps == 0 {
		return r, fmt.Errorf("wrk %s printed no rate:\n%s", target, out)
	}
	return r, nil
}

func benchArticle(s settings, app *process, r *results) error {
	root := filepath.Join(s.workDir, "static")
	os.MkdirAll(root, 0o755)
	plain, err := fetch(app.url+"/", "")
	if err != nil {
		return err
	}
	gz, err := fetch(app.url+"/", "gzip")
	if err != nil {
		return err
	}
	os.WriteFile(filepath.Join(root, "index.html"), plain, 0o644)
	os.WriteFile(filepath.Join(root, "index.html.gz"), gz, 0o644)
	r.articleBytes, r.articleGzip = len(plain), len(gz)
	web, err := startNginx(s, "static", nginxStatic(root), "")
	if err != nil {
		return err
	}
	defer web.stop()
	if r.nginx, err = runWrk(s, web.url+"/", 64); err != nil {
		return err
	}
	r.article, err = runWrk(s, app.url+"/", 64)
	return err
}

// fetch reads a page as a browser would, gzip or not.
func fetch(target, encoding string) ([]byte, error) {
	req, _ := http.NewRequest("GET", target, nil)
	if encoding != "" {
		req.Header.Set("Accept-Encoding", encoding)
	}
	resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

func benchSlots(s settings, app *process, seed seeded, r *results) error {
	var err error
	if r.healthz, err = runWrk(s, app.url+"/healthz", 64); err != nil {
		return err
	}
	r.slots, err = runWrk(s, app.url+"/api/v1/slots?team=django&region=canada&days=14&tz=America/Toronto", 64)
	return err
}

func benchInbox(s settings, app *process, r *results) error {
	cookie, err := adminCookie(s, app)
	if err != nil {
		return err
	}
	r.inbox, err = runWrk(s, app.url+"/admin/leads?q=company42&status=new&status=contacted&team=django&sort=confidence", 8, "Cookie: "+cookie)
	return err
}

// adminCookie creates an admin and signs in, returning the session cookie.
func adminCookie(s settings, app *process) (string, error) {
	password := "bench-" + hex.EncodeToString([]byte(time.Now().String()))[:16]
	cmd := exec.Command(s.binary, "user", "add", "--email", "admin@bench.example", "--role", "admin")
	cmd.Env = os.Environ()
	for _, kv := range app.cmd.Env {
		if strings.HasPrefix(kv, "DATABASE_URL=") || strings.HasPrefix(kv, "SECRET_KEY=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Stdin = strings.NewReader(password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("user add: %v %s", err, out)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.PostForm(app.url+"/login", url.Values{"email": {"admin@bench.example"}, "password": {password}})
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if strings.HasSuffix(c.Name, "consultd_session") {
			return c.Name + "=" + c.Value, nil
		}
	}
	return "", fmt.Errorf("sign-in answered %d without a session", resp.StatusCode)
}

// raceResult is one booking race.
type raceResult struct {
	clients, booked, conflicts, serverErrors, other, overlaps int
	p99                                                       time.Duration
	firstServerError                                          string // status and body of the first 5xx, to find its cause
	burst                                                     burstResult
}

// bookingRace sends one booking per lead, all at once, spread over the
// starts and round-robin over the targets, then checks the database.
func bookingRace(dbURL string, targets, leads, starts []string) (raceResult, error) {
	bodies := make([][]byte, len(leads))
	for i, lead := range leads {
		bodies[i], _ = json.Marshal(map[string]string{"lead_id": lead, "start": starts[i%len(starts)]})
	}
	b := postBurst(targets, bodies)
	res := raceResult{
		clients: len(leads), booked: b.statuses[http.StatusCreated], conflicts: b.statuses[http.StatusConflict],
		serverErrors: b.serverErrors, p99: b.p99, firstServerError: b.firstServerError, burst: b,
	}
	res.other = len(leads) - res.booked - res.conflicts - res.serverErrors
	db, err := sqlx.Open("postgres", dbURL)
	if err != nil {
		return res, err
	}
	defer db.Close()
	err = db.Get(&res.overlaps, `
		SELECT count(*) FROM bookings a JOIN bookings b ON a.id < b.id AND a.consultant_id = b.consultant_id AND a.blocked && b.blocked
		WHERE a.status IN ('held', 'pending_payment', 'confirmed') AND b.status IN ('held', 'pending_payment', 'confirmed')`)
	return res, err
}

// refusedBurst is the race's floor: the same burst of 200 new clients on
// the same route, each refused after one query (no inquiry has the id).
// What the harness, the connections and one round trip cost in this run
// is the part of the race's p99 no booking code can remove.
func refusedBurst(targets []string, clients int, start string) burstResult {
	bodies := make([][]byte, clients)
	for i := range bodies {
		id := make([]byte, 16)
		rand.Read(id)
		id[6], id[8] = id[6]&0x0f|0x40, id[8]&0x3f|0x80
		bodies[i], _ = json.Marshal(map[string]string{
			"lead_id": fmt.Sprintf("%x-%x-%x-%x-%x", id[0:4], id[4:6], id[6:8], id[8:10], id[10:]), "start": start})
	}
	return postBurst(targets, bodies)
}

// burstResult is what a burst of POSTs got back.
type burstResult struct {
	statuses map[int]int
	byStatus map[int][]time.Duration // each status's latencies, sorted
	// From the first request out to the last answer in: the share of the
	// machine's CPU that was busy, and the CPU each program used.
	busy             float64
	took             time.Duration
	cpuByProg        map[string]time.Duration
	serverErrors     int
	p99              time.Duration
	firstServerError string // status and body of the first 5xx, to find its cause
}

// postBurst sends every body at once, each from its own client connection,
// round-robin over the targets.
func postBurst(targets []string, bodies [][]byte) burstResult {
	res := burstResult{statuses: map[int]int{}, byStatus: map[int][]time.Duration{}}
	transport := &http.Transport{MaxIdleConnsPerHost: len(bodies)}
	client := &http.Client{Transport: transport, Timeout: 30 * time.Second}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var latencies []time.Duration
	gate := make(chan struct{})
	for i, body := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			began := time.Now()
			resp, err := client.Post(targets[i%len(targets)]+"/api/v1/bookings", "application/json", bytes.NewReader(body))
			took := time.Since(began)
			mu.Lock()
			defer mu.Unlock()
			latencies = append(latencies, took)
			if err != nil {
				res.statuses[0]++
				return
			}
			res.statuses[resp.StatusCode]++
			res.byStatus[resp.StatusCode] = append(res.byStatus[resp.StatusCode], took)
			if resp.StatusCode >= 500 {
				res.serverErrors++
				if res.firstServerError == "" {
					b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
					res.firstServerError = resp.Status + " " + string(b)
				}
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}()
	}
	time.Sleep(200 * time.Millisecond)
	busy0, total0 := cpuTicks()
	procs0 := cpuByProgram()
	began := time.Now()
	close(gate)
	wg.Wait()
	res.took = time.Since(began)
	busy1, total1 := cpuTicks()
	res.busy = float64(busy1-busy0) / float64(max(1, total1-total0))
	res.cpuByProg = map[string]time.Duration{}
	for name, t := range cpuByProgram() {
		if d := t - procs0[name]; d > 0 {
			res.cpuByProg[name] = time.Duration(d) * 10 * time.Millisecond
		}
	}
	// The clients leave: their connections must not idle on the server
	// through the runs that follow.
	transport.CloseIdleConnections()
	res.p99 = percentile(latencies, 0.99)
	for _, l := range res.byStatus {
		sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
	}
	return res
}

// percentile sorts latencies and returns the q-th.
func percentile(latencies []time.Duration, q float64) time.Duration {
	if len(latencies) == 0 {
		return 0
	}
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	return latencies[max(0, int(float64(len(latencies))*q+0.5)-1)]
}

type results struct {
	seed                      seeded
	startToReady              time.Duration
	articleBytes, articleGzip int
	article, nginx            wrkResult
	slots, healthz, inbox     wrkResult
	race1, race2              raceResult
	floor1, floor2            burstResult // the races' floors: the same burst refused after one query
	rss                       int64
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func (r results) write(s settings) error {
	commit, _ := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	cpu := "unknown CPU"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		if m := regexp.MustCompile(`model name\s*:\s*(.+)`).FindSubmatch(data); m != nil {
			cpu = string(m[1])
		}
	}
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "**not met**"
	}
	articleRatio := r.article.rps / r.nginx.rps
	slotsRatio := r.slots.rps / r.healthz.rps
	race := func(x raceResult) string {
		return fmt.Sprintf("%d clients: %d booked, %d × 409, %d × 5xx, %d other, %d overlaps, p99 %s",
			x.clients, x.booked, x.conflicts, x.serverErrors, x.other, x.overlaps, ms(x.p99))
	}
	floor := func(x burstResult) string {
		return fmt.Sprintf("the same burst refused after one query (%d × 404): p99 %s", x.statuses[http.StatusNotFound], ms(x.p99))
	}
	ratio := func(x raceResult, f burstResult) string {
		return fmt.Sprintf("%.1f × floor", float64(x.p99)/float64(max(f.p99, 1)))
	}
	raceOK := func(x raceResult) bool {
		return x.booked == 50 && x.conflicts == x.clients-50 && x.serverErrors == 0 && x.overlaps == 0
	}
	rows := [][]string{
		{fmt.Sprintf("Article `/` (%d KB HTML, %.1f KB gzip)", r.articleBytes/1024, float64(r.articleGzip)/1024),
			fmt.Sprintf("%.0f req/s, p99 %s", r.article.rps, ms(r.article.p99)),
			fmt.Sprintf("nginx `gzip_static`, same bytes: %.0f req/s, p99 %s", r.nginx.rps, ms(r.nginx.p99)),
			fmt.Sprintf("%.2f", articleRatio), "≥ 0.6 × nginx: " + verdict(articleRatio >= 0.6)},
		{"Slots API, 14 days, a team of 20",
			fmt.Sprintf("%.0f req/s, p50 %s, p99 %s", r.slots.rps, ms(r.slots.p50), ms(r.slots.p99)),
			fmt.Sprintf("`/healthz`: %.0f req/s, p50 %s, p99 %s", r.healthz.rps, ms(r.healthz.p50), ms(r.healthz.p99)),
			fmt.Sprintf("%.2f", slotsRatio), "≥ 0.3 × `/healthz`, p99 ≤ 10 ms: " + verdict(slotsRatio >= 0.3 && r.slots.p99 <= 10*time.Millisecond)},
		{"Booking race, 50 starts, one consultant, one instance", race(r.race1), floor(r.floor1), ratio(r.race1, r.floor1), "50 booked, rest 409, no overlap, p99 ≤ 100 ms: " + verdict(raceOK(r.race1) && r.race1.p99 <= 100*time.Millisecond)},
		{"Booking race, two instances behind nginx", race(r.race2), floor(r.floor2), ratio(r.race2, r.floor2), "same correctness: " + verdict(raceOK(r.race2))},
		{fmt.Sprintf("Admin inbox, %d leads, filter + search", r.seed.leads), fmt.Sprintf("%.0f req/s, p99 %s", r.inbox.rps, ms(r.inbox.p99)), "", "", ""},
		{"Peak RSS under that load", fmt.Sprintf("%d MB", r.rss>>20), "", "", "≤ 64 MB: " + verdict(r.rss <= 64<<20)},
		{"Start to ready (migrations applied)", ms(r.startToReady), "", "", "≤ 1 s: " + verdict(r.startToReady <= time.Second)},
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Benchmark results\n\n%s, commit %s, %s (%d cores), Go %s, %s of load per measurement with `wrk -t2` and `Accept-Encoding: gzip`; server and load generator share the machine.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), strings.TrimSpace(string(commit)), cpu, runtime.NumCPU(), runtime.Version(), s.duration)
	fmt.Fprintf(&b, "Data: %d consultants, %d bookings, %d leads. Rerun with `make bench`.\n\n", r.seed.consultants, r.seed.bookings, r.seed.leads)
	b.WriteString("| What | Result | Baseline in the same run | Ratio | Target |\n|---|---|---|---|---|\n")
	for _, row := range rows {
		b.WriteString("| " + strings.Join(row, " | ") + " |\n")
	}
	// What the machine allows in this run, whatever the handlers do: the
	// server's do-nothing answer against nginx, and its tail.
	fmt.Fprintf(&b, "\nBounds in this run: `/healthz`, which does nothing, served %.0f req/s, %.2f of nginx's rate, so the article at %.2f of `/healthz` is %.2f of nginx; `/healthz`'s own p99 was %s. Each race's floor is in its baseline column.\n",
		r.healthz.rps, r.healthz.rps/r.nginx.rps, r.article.rps/r.healthz.rps, articleRatio, ms(r.healthz.p99))
	for _, x := range []raceResult{r.race1, r.race2} {
		if x.firstServerError != "" {
			fmt.Fprintf(&b, "\nA booking answered %s\n", strings.TrimSpace(x.firstServerError))
		}
	}
	if errs := r.article.errors + r.slots.errors + r.inbox.errors; errs > 0 || r.article.non2x+r.slots.non2x+r.inbox.non2x > 0 {
		fmt.Fprintf(&b, "\nErrors under load: %d socket errors, %d non-2xx answers.\n", errs, r.article.non2x+r.slots.non2x+r.inbox.non2x)
	}
	os.MkdirAll(filepath.Dir(s.out), 0o755)
	if err := os.WriteFile(s.out, []byte(b.String()), 0o644); err != nil {
		return err
	}
	fmt.Print(b.String())
	return nil
}
