package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jmoiron/sqlx"

	"consultd/services"
)

func migrateCommand(ctx context.Context, cfg config, logger *slog.Logger, args []string, stdout io.Writer) error {
	if len(args) != 1 || (args[0] != "up" && args[0] != "status") {
		return fmt.Errorf("%w: consultd migrate up|status", errUsage)
	}
	db, err := services.OpenDB(cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	if args[0] == "up" {
		return migrateUp(ctx, db, logger)
	}
	m, err := services.NewMigrator(db.DB, logger)
	if err != nil {
		return err
	}
	statuses, err := m.Status(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tSTATE\tAPPLIED AT\tFILE")
	for _, s := range statuses {
		state, at := "pending", ""
		if s.Applied {
			state, at = "applied", s.AppliedAt.UTC().Format("2006-01-02 15:04:05Z")
		}
		fmt.Fprintf(tw, "%05d\t%s\t%s\t%s\n", s.Version, state, at, s.Source)
	}
	return tw.Flush()
}

func seedDemoCommand(ctx context.Context, cfg config, logger *slog.Logger, stdout io.Writer) error {
	db, err := services.OpenDB(cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := migrateUp(ctx, db, logger); err != nil {
		return err
	}
	res, err := services.SeedDemo(ctx, services.NewConsultants(db))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "demo data: %d consultants created, %d updated\n", res.ConsultantsCreated, res.ConsultantsUpdated)
	def, err := loadAssessmentDefinition()
	if err != nil {
		return err
	}
	funnel := services.NewFunnel(db, time.Now, nil)
	bookings, err := newBookings(cfg, db, funnel, nil)
	if err != nil {
		return err
	}
	n, err := services.SeedDemoLeads(ctx, services.DemoLeadDeps{
		Assessments: services.NewAssessments(db, def, funnel), Leads: services.NewLeads(db, funnel, bookings), Bookings: bookings,
	})
	if err != nil {
		return err
	}
	if err := funnel.Flush(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "demo data: %d leads created\n", n)
	if cfg.StripeSecretKey != "" {
		if err := services.NewSessionTypes(db).SeedPaidSessionType(ctx); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "demo data: paid session type architecture-review")
	}
	if cfg.AppEnv == "production" {
		return nil
	}
	return seedDemoAccounts(ctx, cfg, db, stdout)
}

// demoAccounts can sign in to a development server; their password is new
// on every seed and printed, so no fixed password exists anywhere.
var demoAccounts = []services.NewUser{
	{Email: "admin@" + services.DemoDomain, Name: "Demo Admin", Role: services.RoleAdmin},
	{Email: "sales@" + services.DemoDomain, Name: "Demo Sales", Role: services.RoleSales},
	{Email: "owen@" + services.DemoDomain, Name: "Owen MacLeod", Role: services.RoleConsultant, ConsultantEmail: "owen.macleod@consult.example"},
}

func seedDemoAccounts(ctx context.Context, cfg config, db *sqlx.DB, stdout io.Writer) error {
	users := services.NewUsers(db, cfg.SecretKey, cfg.LoginLimits, time.Now)
	raw := make([]byte, 9)
	_, _ = rand.Read(raw)
	password := "demo-" + base64.RawURLEncoding.EncodeToString(raw)
	var emails []string
	for _, in := range demoAccounts {
		in.Password = password
		err := users.SetPassword(ctx, in.Email, password)
		if services.ErrorCode(err) == services.CodeNotFound {
			_, err = users.Create(ctx, in)
		}
		if err != nil {
			return fmt.Errorf("demo account %s: %w", in.Email, describe(err))
		}
		emails = append(emails, in.Email)
	}
	fmt.Fprintf(stdout, "demo sign-in: %s/login as %s, password %s (a new one on every seed)\n",
		cfg.BaseURL, strings.Join(emails, " or "), password)
	return nil
}
