package pgtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
)

// Server is a private PostgreSQL instance a test may stop and start, for
// outage tests that must not disturb the shared server.
type Server struct {
	URL     string
	bindir  string
	dataDir string
	port    int
	owner   *user.User // nil when not root: the server then runs as us
}

// StartServer initialises and starts a throwaway cluster on a free port.
// PostgreSQL refuses to run as root, so as root it runs as "postgres".
func StartServer(t testing.TB) *Server {
	t.Helper()
	bindir := os.Getenv("PG_BINDIR")
	if bindir == "" {
		t.Fatal("PG_BINDIR is not set: run the suite with `make test`, which sets it to PostgreSQL's bin directory")
	}
	s := &Server{bindir: bindir, port: freePort(t)}
	if os.Geteuid() == 0 {
		owner, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root needs the postgres user: %v", err)
		}
		s.owner = owner
	}
	root, err := os.MkdirTemp("", "pgtest-server-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	s.dataDir = filepath.Join(root, "data")
	if err := os.Mkdir(s.dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	s.chown(t, s.dataDir)
	s.pg(t, "initdb", "-D", s.dataDir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
	s.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable&connect_timeout=2", s.port)
	s.Start(t)
	t.Cleanup(func() { s.pgQuiet("pg_ctl", "-D", s.dataDir, "-m", "immediate", "stop") })
	return s
}

// Start starts the server and waits until it accepts connections.
func (s *Server) Start(t testing.TB) {
	t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", s.port, s.dataDir)
	s.pg(t, "pg_ctl", "-D", s.dataDir, "-o", opts, "-l", filepath.Join(s.dataDir, "server.log"), "-w", "start")
}

// Stop stops the server, dropping every connection.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	s.pg(t, "pg_ctl", "-D", s.dataDir, "-m", "fast", "-w", "stop")
}

func (s *Server) pg(t testing.TB, tool string, args ...string) {
	t.Helper()
	if out, err := s.command(tool, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", tool, args, err, out)
	}
}

func (s *Server) pgQuiet(tool string, args ...string) { _ = s.command(tool, args...).Run() }

func (s *Server) command(tool string, args ...string) *exec.Cmd {
	bin := filepath.Join(s.bindir, tool)
	if s.owner == nil {
		return exec.Command(bin, args...)
	}
	cmd := exec.Command("runuser", append([]string{"-u", s.owner.Username, "--", bin}, args...)...)
	cmd.Dir = "/"
	return cmd
}

func (s *Server) chown(t testing.TB, path string) {
	t.Helper()
	if s.owner == nil {
		return
	}
	uid, _ := strconv.Atoi(s.owner.Uid)
	gid, _ := strconv.Atoi(s.owner.Gid)
	if err := os.Chown(path, uid, gid); err != nil {
		t.Fatal(err)
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
