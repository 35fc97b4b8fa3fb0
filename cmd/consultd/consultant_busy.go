package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/jmoiron/sqlx"

	"consultd/services"
)

// consultantBusyURL shows, sets or removes a consultant's busy calendar. A
// new address is read at once, and the outcome printed.
func consultantBusyURL(ctx context.Context, cfg config, db *sqlx.DB, svc *services.Consultants, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("consultant busy-url", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	email, address, remove := fs.String("email", "", ""), fs.String("url", "", ""), fs.Bool("remove", false, "")
	if err := fs.Parse(args); err != nil || (*address != "" && *remove) {
		return fmt.Errorf("%w: consultd consultant busy-url --email E [--url U | --remove]\n%s", errUsage, consultantUsage)
	}
	c, err := svc.ByEmail(ctx, *email)
	if err != nil {
		return describe(err)
	}
	busy, err := newBusyCalendars(cfg, db, slog.New(slog.DiscardHandler)) // the outcome is printed below
	if err != nil {
		return err
	}
	switch {
	case *remove:
		if err := busy.RemoveFor(ctx, c.ID); err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "%s: busy calendar removed\n", c.Email)
		return nil
	case *address != "":
		if _, err := busy.SaveFor(ctx, c.ID, *address); err != nil {
			return describe(err)
		}
	}
	cal, err := busy.For(ctx, c.ID)
	if errors.Is(err, services.ErrNotFound) {
		fmt.Fprintf(stdout, "%s: no busy calendar\n", c.Email)
		return nil
	}
	if err != nil {
		return err
	}
	st := busy.Status(cal)
	fmt.Fprintf(stdout, "%s: %s\n  %s %s\n", c.Email, cal.URLHint, st.Summary, st.Effect)
	if st.Notes != "" {
		fmt.Fprintf(stdout, "  %s\n", st.Notes)
	}
	return nil
}
