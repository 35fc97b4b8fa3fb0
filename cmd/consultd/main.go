// Command consultd serves the consulting site and runs its operator tasks.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	_ "time/tzdata" // zones must not depend on the host's tzdata

	"consultd/services"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "consultd:", err)
		os.Exit(1)
	}
}

const usage = `usage: consultd [command]

commands:
  serve                 serve the site (default)
  migrate up            apply pending database migrations
  migrate status        list migrations and whether each is applied
  seed-demo             load demo data (idempotent)
  consultant add|list|hours|timeoff|feed-url
                        manage consultants (consultd consultant for details)
  user add|list|disable manage staff accounts (consultd user for details)
  healthcheck           exit 0 when the local server answers /healthz (for containers)
  version               print the version
`

// run is the whole program; tests call it with their own args and
// environment. stdin (nil reads as empty) carries passwords for `user add`.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "version", "-v", "--version":
		fmt.Fprintln(stdout, "consultd", buildVersion())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	case "healthcheck":
		return healthcheck(ctx, getenv("ADDR"))
	}

	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	logger := newLogger(stderr, cfg.LogLevel)

	switch cmd {
	case "serve":
		return serve(ctx, cfg, logger, nil)
	case "migrate":
		return migrateCommand(ctx, cfg, logger, args, stdout)
	case "seed-demo":
		return seedDemoCommand(ctx, cfg, logger, stdout)
	case "consultant":
		return consultantCommand(ctx, cfg, args, stdout)
	case "user":
		return userCommand(ctx, cfg, args, stdin, stdout)
	default:
		return fmt.Errorf("unknown command %q\n\n%s", cmd, usage)
	}
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		lvl = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lvl}))
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
		return info.Main.Version
	}
	return "dev"
}

var errUsage = errors.New("bad usage")

func asServiceError(err error, target **services.Error) bool { return errors.As(err, target) }
