package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jmoiron/sqlx"

	"consultd/services"
)

// stringList is a repeatable flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, "; ") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

const consultantUsage = `usage: consultd consultant <command> [flags]

  add      --name N --email E --team django|nodejs --regions canada,usa --timezone ZONE
           --hours "mon-fri 09:00-12:00,13:00-17:00" [--hours "sat 10:00-14:00"] [--meeting-url URL]
           (adding an existing email updates that consultant)
  list     one consultant per line
  hours    --email E [--hours SPEC ...]   show, or replace, weekly hours (consultant's local time)
  timeoff  --email E --from T --to T [--reason R] | --email E   add, or list, time off
           T is 2026-12-24, 2026-12-24T13:00 (consultant's local time) or RFC 3339
  feed-url --email E   issue a new private calendar feed URL and print it; the old one stops at once
  busy-url --email E [--url U | --remove]   show, set (and read at once) or remove the
           consultant's busy calendar (an ICS address such as Google's secret address)
`

func consultantCommand(ctx context.Context, cfg config, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w\n%s", errUsage, consultantUsage)
	}
	db, err := services.OpenDB(cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	svc := services.NewConsultants(db)
	switch args[0] {
	case "add":
		return consultantAdd(ctx, svc, args[1:], stdout)
	case "list":
		return consultantList(ctx, svc, stdout)
	case "hours":
		return consultantHours(ctx, svc, args[1:], stdout)
	case "timeoff":
		return consultantTimeOff(ctx, svc, args[1:], stdout)
	case "feed-url":
		return consultantFeedURL(ctx, cfg, db, args[1:], stdout)
	case "busy-url":
		return consultantBusyURL(ctx, cfg, db, svc, args[1:], stdout)
	}
	return fmt.Errorf("%w: unknown consultant command %q\n%s", errUsage, args[0], consultantUsage)
}

func consultantAdd(ctx context.Context, svc *services.Consultants, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("consultant add", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var in services.NewConsultant
	var regions string
	var hours stringList
	fs.StringVar(&in.Name, "name", "", "")
	fs.StringVar(&in.Email, "email", "", "")
	fs.StringVar(&in.Team, "team", "", "")
	fs.StringVar(&regions, "regions", "", "")
	fs.StringVar(&in.Timezone, "timezone", "", "")
	fs.StringVar(&in.MeetingURL, "meeting-url", "", "")
	fs.Var(&hours, "hours", "")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v\n%s", errUsage, err, consultantUsage)
	}
	in.Regions = splitList(regions)
	parsed, err := services.ParseWeeklyHours(hours)
	if err != nil {
		return err
	}
	in.Hours = parsed
	c, created, err := svc.Upsert(ctx, in)
	if err != nil {
		return describe(err)
	}
	verb := "updated"
	if created {
		verb = "created"
	}
	fmt.Fprintf(stdout, "%s consultant %s (%s)\n", verb, c.Email, c.ID)
	return nil
}

func consultantList(ctx context.Context, svc *services.Consultants, stdout io.Writer) error {
	list, err := svc.List(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "EMAIL\tNAME\tTEAM\tREGIONS\tTIMEZONE\tACTIVE")
	for _, c := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%v\n", c.Email, c.Name, c.Team, strings.Join(c.Regions, ","), c.Timezone, c.Active)
	}
	return tw.Flush()
}

func consultantHours(ctx context.Context, svc *services.Consultants, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("consultant hours", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	email := fs.String("email", "", "")
	var hours stringList
	fs.Var(&hours, "hours", "")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v\n%s", errUsage, err, consultantUsage)
	}
	c, err := svc.ByEmail(ctx, *email)
	if err != nil {
		return describe(err)
	}
	if len(hours) > 0 {
		parsed, err := services.ParseWeeklyHours(hours)
		if err != nil {
			return err
		}
		if err := svc.SetHours(ctx, c.ID, parsed); err != nil {
			return describe(err)
		}
	}
	current, err := svc.Hours(ctx, c.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s (%s):\n", c.Email, c.Timezone)
	for _, h := range current {
		fmt.Fprintf(stdout, "  %s\n", h)
	}
	return nil
}

func consultantTimeOff(ctx context.Context, svc *services.Consultants, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("consultant timeoff", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	email, from, to, reason := fs.String("email", "", ""), fs.String("from", "", ""), fs.String("to", "", ""), fs.String("reason", "", "")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v\n%s", errUsage, err, consultantUsage)
	}
	c, err := svc.ByEmail(ctx, *email)
	if err != nil {
		return describe(err)
	}
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil {
		return err
	}
	if *from != "" || *to != "" {
		start, err := services.ParseLocalTime(*from, loc)
		if err != nil {
			return err
		}
		end, err := services.ParseLocalTime(*to, loc)
		if err != nil {
			return err
		}
		if _, err := svc.AddTimeOff(ctx, c.ID, start, end, *reason); err != nil {
			return describe(err)
		}
	}
	list, err := svc.TimeOff(ctx, c.ID, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s time off (%s):\n", c.Email, c.Timezone)
	for _, t := range list {
		fmt.Fprintf(stdout, "  %s to %s  %s\n", t.Start.In(loc).Format("2006-01-02 15:04"), t.End.In(loc).Format("2006-01-02 15:04"), t.Reason)
	}
	return nil
}

// consultantFeedURL rotates a consultant's calendar feed token and prints
// the new URL in both forms: anyone holding the old one loses access.
func consultantFeedURL(ctx context.Context, cfg config, db *sqlx.DB, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("consultant feed-url", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	email := fs.String("email", "", "")
	if err := fs.Parse(args); err != nil || *email == "" || fs.NArg() > 0 {
		return fmt.Errorf("%w: consultd consultant feed-url --email E\n%s", errUsage, consultantUsage)
	}
	feeds, err := newFeeds(cfg, db)
	if err != nil {
		return err
	}
	link, err := feeds.RotateConsultant(ctx, *email)
	if err != nil {
		return describe(err)
	}
	fmt.Fprintf(stdout, "%s\n%s\n", link.URL, link.Webcal)
	return nil
}

// describe turns a service error into a message an operator can act on.
func describe(err error) error {
	var e *services.Error
	if !asServiceError(err, &e) {
		return err
	}
	if len(e.Fields) == 0 {
		return fmt.Errorf("%s", e.Message)
	}
	var parts []string
	for field, msg := range e.Fields {
		parts = append(parts, "--"+strings.ReplaceAll(field, "_", "-")+": "+msg)
	}
	slices.Sort(parts)
	return fmt.Errorf("invalid input:\n  %s", strings.Join(parts, "\n  "))
}
