// Package pgtest gives each test its own real PostgreSQL database, cloned
// from a template that is migrated once per migration set, and dropped when
// the test ends.
package pgtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"consultd/migrations"
	"consultd/services"
)

const (
	templatePrefix = "consultd_tmpl_"
	testDBPrefix   = "consultd_t_"
)

var (
	templateOnce sync.Once
	templateName string
	templateErr  error
)

// AdminURL is the URL of a role that may create databases; `make test` sets it.
func AdminURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("TEST_DATABASE_URL")
	if u == "" {
		t.Fatal("TEST_DATABASE_URL is not set: run the suite with `make test`, which starts PostgreSQL and sets it")
	}
	return u
}

// URLFor returns the admin URL pointed at database name.
func URLFor(t testing.TB, name string) string {
	t.Helper()
	u, err := url.Parse(AdminURL(t))
	if err != nil {
		t.Fatalf("TEST_DATABASE_URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// NewDB returns a connection to a fresh, fully migrated database.
func NewDB(t testing.TB) *sqlx.DB {
	t.Helper()
	db, _ := NewDBWithURL(t)
	return db
}

// NewDBWithURL is NewDB that also returns the database URL, for tests that
// start the whole app.
func NewDBWithURL(t testing.TB) (*sqlx.DB, string) {
	t.Helper()
	templateOnce.Do(func() { templateName, templateErr = ensureTemplate(AdminURL(t)) })
	if templateErr != nil {
		t.Fatalf("prepare template database: %v", templateErr)
	}
	return createDB(t, templateName)
}

// NewEmptyDB returns a database with no migrations applied.
func NewEmptyDB(t testing.TB) (*sqlx.DB, string) {
	t.Helper()
	return createDB(t, "template0")
}

func createDB(t testing.TB, template string) (*sqlx.DB, string) {
	t.Helper()
	admin := openAdmin(t)
	name := testDBPrefix + randomHex(8)
	stmt := fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", pq.QuoteIdentifier(name), pq.QuoteIdentifier(template))
	var err error
	for attempt := 0; attempt < 20; attempt++ {
		// Another session briefly connected to the template makes PostgreSQL
		// refuse the copy (55006); it clears within milliseconds.
		if _, err = admin.Exec(stmt); !isObjectInUse(err) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("create test database: %v", err)
	}
	dbURL := URLFor(t, name)
	// The server's own way of connecting (binary parameters, pool limits),
	// so the tests run every query as production sends it.
	db, err := services.OpenDB(dbURL)
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(func() {
		db.Close()
		drop := fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", pq.QuoteIdentifier(name))
		var err error
		for attempt := 0; attempt < 20; attempt++ {
			if _, err = admin.Exec(drop); err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
		admin.Close()
	})
	return db, dbURL
}

func openAdmin(t testing.TB) *sqlx.DB {
	t.Helper()
	admin, err := sqlx.Open("postgres", AdminURL(t))
	if err != nil {
		t.Fatalf("open admin connection: %v", err)
	}
	admin.SetMaxOpenConns(1)
	return admin
}

// ensureTemplate creates and migrates the template for the current
// migrations, once across every test process, under an advisory lock.
func ensureTemplate(adminURL string) (string, error) {
	name, lockID, err := templateIdentity()
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	admin, err := sqlx.Open("postgres", adminURL)
	if err != nil {
		return "", err
	}
	defer admin.Close()
	conn, err := admin.Connx(ctx)
	if err != nil {
		return "", fmt.Errorf("connect as admin: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", lockID); err != nil {
		return "", fmt.Errorf("template lock: %w", err)
	}
	defer conn.ExecContext(context.Background(), "SELECT pg_advisory_unlock($1)", lockID) //nolint:errcheck

	var exists bool
	if err := conn.GetContext(ctx, &exists, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name); err != nil {
		return "", fmt.Errorf("look for template: %w", err)
	}
	if exists {
		return name, nil
	}
	if err := dropStaleTemplates(ctx, conn, name); err != nil {
		return "", err
	}
	building := name + "_build"
	if _, err := conn.ExecContext(ctx, "DROP DATABASE IF EXISTS "+pq.QuoteIdentifier(building)+" WITH (FORCE)"); err != nil {
		return "", fmt.Errorf("drop half-built template: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "CREATE DATABASE "+pq.QuoteIdentifier(building)); err != nil {
		return "", fmt.Errorf("create template: %w", err)
	}
	if err := migrate(ctx, adminURL, building); err != nil {
		return "", err
	}
	// The comment dates the template, so a later migration set can tell a
	// stale one from one another checkout's suite is using right now.
	stamp := fmt.Sprintf("COMMENT ON DATABASE %s IS '%s%d'", pq.QuoteIdentifier(building), templateStampPrefix, time.Now().Unix())
	if _, err := conn.ExecContext(ctx, stamp); err != nil {
		return "", fmt.Errorf("date template: %w", err)
	}
	// Renaming last means a crash mid-migration never leaves a template that looks complete.
	if _, err := conn.ExecContext(ctx, "ALTER DATABASE "+pq.QuoteIdentifier(building)+" RENAME TO "+pq.QuoteIdentifier(name)); err != nil {
		return "", fmt.Errorf("publish template: %w", err)
	}
	return name, nil
}

const templateStampPrefix = "consultd test template, created at unix "

func migrate(ctx context.Context, adminURL, dbName string) error {
	u, _ := url.Parse(adminURL)
	u.Path = "/" + dbName
	db, err := services.OpenDB(u.String())
	if err != nil {
		return err
	}
	defer db.Close()
	m, err := services.NewMigrator(db.DB, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return err
	}
	_, err = m.Up(ctx)
	return err
}

// dropStaleTemplates drops templates of other migration sets made more than
// a day ago; a newer one may belong to a suite running in another checkout.
func dropStaleTemplates(ctx context.Context, conn *sqlx.Conn, keep string) error {
	var names []string
	err := conn.SelectContext(ctx, &names, `
		SELECT d.datname FROM pg_database d
		JOIN pg_shdescription s ON s.objoid = d.oid AND s.classoid = 'pg_database'::regclass
		WHERE d.datname LIKE $1 AND d.datname <> $2 AND s.description LIKE $3
		  AND substr(s.description, length($4) + 1)::bigint < extract(epoch FROM now() - interval '1 day')`,
		templatePrefix+"%", keep, templateStampPrefix+"%", templateStampPrefix)
	if err != nil {
		return fmt.Errorf("list old templates: %w", err)
	}
	for _, n := range names {
		if _, err := conn.ExecContext(ctx, "DROP DATABASE IF EXISTS "+pq.QuoteIdentifier(n)+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("drop old template %s: %w", n, err)
		}
	}
	return nil
}

// templateIdentity names the template after a hash of every migration, so a
// new or changed migration gets a new template automatically.
func templateIdentity() (string, int64, error) {
	h := sha256.New()
	err := fs.WalkDir(migrations.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".sql") {
			return err
		}
		data, err := fs.ReadFile(migrations.FS, p)
		if err != nil {
			return err
		}
		h.Write([]byte(p))
		h.Write(data)
		return nil
	})
	if err != nil {
		return "", 0, fmt.Errorf("hash migrations: %w", err)
	}
	sum := h.Sum(nil)
	return templatePrefix + hex.EncodeToString(sum[:6]), int64(binary.BigEndian.Uint64(sum[:8]) >> 1), nil
}

func isObjectInUse(err error) bool {
	var pqErr *pq.Error
	return errors.As(err, &pqErr) && pqErr.Code == "55006"
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
