package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"

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
	return nil
}
