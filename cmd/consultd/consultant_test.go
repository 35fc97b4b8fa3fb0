package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"consultd/internal/pgtest"
)

func TestConsultantCommands(t *testing.T) {
	_, url := pgtest.NewDBWithURL(t)
	env := envFrom(map[string]string{"DATABASE_URL": url, "LOG_LEVEL": "error"})
	ctx := context.Background()
	runOK := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		if err := run(ctx, args, env, nil, &out, io.Discard); err != nil {
			t.Fatalf("consultd %s: %v", strings.Join(args, " "), err)
		}
		return out.String()
	}
	out := runOK("consultant", "add", "--name", "Ana Silva", "--email", "ana@consult.example.com", "--team", "django",
		"--regions", "canada,usa", "--timezone", "America/St_Johns",
		"--hours", "mon-fri 09:00-12:00,13:00-17:00", "--hours", "sat 10:00-14:00")
	if !strings.HasPrefix(out, "created consultant ana@consult.example.com") {
		t.Fatalf("add printed %q", out)
	}
	out = runOK("consultant", "list")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 2 || !strings.Contains(lines[1], "ana@consult.example.com") ||
		!strings.Contains(lines[1], "canada,usa") || !strings.Contains(lines[1], "America/St_Johns") {
		t.Fatalf("list printed:\n%s", out)
	}
	out = runOK("consultant", "hours", "--email", "ana@consult.example.com")
	if strings.Count(out, "\n  ") != 11 || !strings.Contains(out, "sat 10:00-14:00") {
		t.Fatalf("hours printed:\n%s", out)
	}
	out = runOK("consultant", "hours", "--email", "ANA@consult.example.com", "--hours", "tue 08:00-10:00")
	if strings.Count(out, "\n  ") != 1 || !strings.Contains(out, "tue 08:00-10:00") {
		t.Fatalf("hours after replace:\n%s", out)
	}
	out = runOK("consultant", "timeoff", "--email", "ana@consult.example.com", "--from", "2030-12-24", "--to", "2030-12-27T12:00", "--reason", "holidays")
	if !strings.Contains(out, "2030-12-24 00:00 to 2030-12-27 12:00  holidays") {
		t.Fatalf("timeoff printed:\n%s", out)
	}
	for _, bad := range [][]string{
		{"consultant", "add", "--name", "X", "--email", "x@consult.example.com", "--team", "rails", "--regions", "canada", "--timezone", "America/Toronto"},
		{"consultant", "add", "--email", "y@consult.example.com", "--hours", "someday 9-5"},
		{"consultant", "timeoff", "--email", "ana@consult.example.com", "--from", "2030-12-27", "--to", "2030-12-24"},
		{"consultant", "hours", "--email", "nobody@consult.example.com"},
		{"consultant", "fire"},
	} {
		if err := run(ctx, bad, env, nil, io.Discard, io.Discard); err == nil {
			t.Errorf("consultd %s succeeded", strings.Join(bad, " "))
		}
	}
}
