package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"io/fs"

	"github.com/alexedwards/scs/postgresstore"
	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"consultd/content"
	"consultd/handlers"
	"consultd/internal/ical"
	"consultd/services"
)

// serve migrates the database, then serves HTTP until ctx ends, and finishes
// in-flight requests before returning. onListen, when set, learns the bound
// address (tests listen on ":0").
func serve(ctx context.Context, cfg config, logger *slog.Logger, onListen func(net.Addr)) error {
	db, err := services.OpenDB(cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := migrateUp(ctx, db, logger); err != nil {
		return err
	}
	preparedPool, err := services.OpenPreparedPool(cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer preparedPool.Close()
	services.UsePreparedPool(db, preparedPool)
	if err := services.PrepareTxStatements(ctx, db); err != nil {
		// Transactions then send their statements unprepared.
		logger.Warn("transaction statements not prepared", "error", err)
	}
	if cfg.AppEnv == "production" {
		go warmPools(ctx, logger, db, preparedPool)
	}

	app, err := buildApp(cfg, logger, db)
	if err != nil {
		return err
	}
	workers, stopWorkers := context.WithCancel(context.Background())
	workersDone := app.startWorkers(workers, logger)
	defer func() {
		stopWorkers()
		<-workersDone
	}()
	if cfg.PprofAddr != "" {
		go servePprof(cfg.PprofAddr, logger)
	}
	softMemoryLimit(logger)
	srv := &http.Server{
		Addr:              cfg.Addr,
		Handler:           app.handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	logger.Info("serving", "addr", ln.Addr().String(), "base_url", cfg.BaseURL.String(), "env", cfg.AppEnv, "version", buildVersion())
	if onListen != nil {
		onListen(ln.Addr())
	}

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	logger.Info("stopped")
	return nil
}

// app is the wired application: the HTTP handler and its background workers.
type app struct {
	handler  http.Handler
	funnel   *services.Funnel
	mailer   *services.Mailer
	bookings *services.Bookings
	users    *services.Users

	rateLimits *services.RateLimits
	busy       *services.BusyCalendars
}

// buildApp wires services into the HTTP layer.
func buildApp(cfg config, logger *slog.Logger, db *sqlx.DB) (*app, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	funnelMetric := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "consultd_funnel_total", Help: "Prospects reaching each funnel stage, counted by this instance.",
	}, []string{"stage"})
	reg.MustRegister(funnelMetric)
	for _, s := range services.FunnelStages {
		funnelMetric.WithLabelValues(s)
	}
	funnel := services.NewFunnel(db, time.Now, func(stage string) { funnelMetric.WithLabelValues(stage).Inc() })

	article, err := services.LoadArticle(content.FS)
	if err != nil {
		return nil, err
	}
	def, err := loadAssessmentDefinition()
	if err != nil {
		return nil, err
	}
	mailer, err := newMailer(cfg, db, logger)
	if err != nil {
		return nil, err
	}
	bookings, err := newBookings(cfg, db, funnel, mailer.Wake)
	if err != nil {
		return nil, err
	}
	users := services.NewUsers(db, cfg.SecretKey, cfg.LoginLimits, time.Now)
	rateLimits := services.NewRateLimits(db, time.Now)
	feeds, err := newFeeds(cfg, db)
	if err != nil {
		return nil, err
	}
	busy, err := newBusyCalendars(cfg, db, logger)
	if err != nil {
		return nil, err
	}
	handler, err := handlers.New(handlers.Config{
		SiteName:           cfg.SiteName,
		BaseURL:            cfg.BaseURL,
		AllowedHosts:       cfg.AllowedHosts,
		TrustedProxies:     cfg.TrustedProxies,
		EmbedOrigins:       cfg.EmbedOrigins,
		MaxBodyBytes:       cfg.MaxBodyBytes,
		Version:            buildVersion(),
		RateLimits:         cfg.RateLimits,
		MetricsToken:       cfg.MetricsToken,
		SessionIdleTimeout: cfg.SessionIdleTimeout,
		SessionLifetime:    cfg.SessionLifetime,
	}, handlers.Deps{
		Logger:          logger,
		Registry:        reg,
		Health:          services.NewHealth(db),
		Article:         article,
		Assessments:     services.NewAssessments(db, def, funnel),
		Leads:           services.NewLeads(db, funnel, bookings),
		Funnel:          funnel,
		Bookings:        bookings,
		Users:           users,
		Audit:           services.NewAudit(db),
		Inbox:           services.NewInbox(db, time.Now),
		Consultants:     services.NewConsultants(db),
		SessionTypes:    services.NewSessionTypes(db),
		PaymentsEnabled: cfg.StripeSecretKey != "",
		Portal:          services.NewPortal(db, time.Now),
		Dashboard:       services.NewDashboard(db, time.Now),
		Outbox:          services.NewOutbox(db, time.Now, mailer.Wake),
		Feeds:           feeds,
		RateLimits:      rateLimits,
		Busy:            busy,
		// Expired sessions are swept by the login-failure pruner's loop below.
		SessionStore: postgresstore.NewWithCleanupInterval(db.DB, 0),
	})
	if err != nil {
		return nil, err
	}
	return &app{handler: handler, funnel: funnel, mailer: mailer, bookings: bookings, users: users, rateLimits: rateLimits, busy: busy}, nil
}

// loadAssessmentDefinition reads the embedded questionnaire.
func loadAssessmentDefinition() (*services.AssessmentDefinition, error) {
	defJSON, err := fs.ReadFile(content.FS, "assessment.json")
	if err != nil {
		return nil, fmt.Errorf("read assessment: %w", err)
	}
	return services.ParseAssessment(defJSON, services.ArticleSections)
}

func newBookings(cfg config, db *sqlx.DB, funnel *services.Funnel, mailQueued func()) (*services.Bookings, error) {
	sealer, err := services.NewTokenSealer(cfg.SecretKey)
	if err != nil {
		return nil, err
	}
	avail := services.NewAvailability(db, services.BookingRules{
		Buffer: cfg.BookingBuffer, MinNotice: cfg.BookingMinNotice, HorizonDays: cfg.BookingHorizonDays,
	}, time.Now)
	avail.EnableCache()
	b := services.NewBookings(db, avail, funnel, sealer, services.BookingsConfig{
		BaseURL:    cfg.BaseURL.String(),
		UIDDomain:  cfg.BaseURL.Hostname(),
		Organizer:  cfg.Organizer,
		MailQueued: mailQueued,
		// 0 turns either cap off.
		MaxReschedules:     cfg.MaxReschedules,
		ProspectMailPerDay: cfg.ProspectMailPerDay,
	}, time.Now)
	b.EnablePayments(services.PaymentsConfig{
		SecretKey: cfg.StripeSecretKey, WebhookSecret: cfg.StripeWebhookKey, APIURL: cfg.StripeAPIURL, RefundFullBefore: cfg.RefundFullBefore,
	})
	return b, nil
}

// newFeeds publishes the calendar feeds, their tokens sealed under SECRET_KEY.
func newFeeds(cfg config, db *sqlx.DB) (*services.Feeds, error) {
	sealer, err := services.NewFeedTokenSealer(cfg.SecretKey)
	if err != nil {
		return nil, err
	}
	return services.NewFeeds(db, sealer, services.FeedsConfig{
		BaseURL: cfg.BaseURL, SiteName: cfg.SiteName, HorizonDays: cfg.BookingHorizonDays,
	}, time.Now), nil
}

// newBusyCalendars reads consultants' own calendars within BUSY_FETCH_*,
// a day past the booking horizon.
func newBusyCalendars(cfg config, db *sqlx.DB, logger *slog.Logger) (*services.BusyCalendars, error) {
	return services.NewBusyCalendars(db, services.BusyConfig{
		Every: cfg.BusyFetch.Interval, HorizonDays: cfg.BookingHorizonDays, SecretKey: cfg.SecretKey, Logger: logger,
		Fetch: ical.FetchConfig{
			Timeout: cfg.BusyFetch.Timeout, MaxBytes: cfg.BusyFetch.MaxBytes, AllowPrivate: cfg.BusyFetch.AllowPrivate,
			UserAgent: "consultd/" + buildVersion() + " (busy calendar; +" + cfg.BaseURL.String() + ")",
		},
	}, time.Now)
}

// newMailer delivers over SMTP_URL, or keeps mail as .eml files in MAIL_DIR.
func newMailer(cfg config, db *sqlx.DB, logger *slog.Logger) (*services.Mailer, error) {
	var transport services.MailTransport
	if cfg.SMTPURL != "" {
		t, err := services.NewSMTPTransport(cfg.SMTPURL)
		if err != nil {
			return nil, err
		}
		transport = t
	}
	return services.NewMailer(db, services.MailerConfig{
		Transport: transport, From: cfg.Organizer.Email, Dir: cfg.MailDir, Now: time.Now, Logger: logger,
	}), nil
}

// startWorkers runs the background loops until ctx ends; the returned
// channel closes once every loop has finished its last round.
func (a *app) startWorkers(ctx context.Context, logger *slog.Logger) <-chan struct{} {
	var wg sync.WaitGroup
	loops := []func(){
		func() {
			a.funnel.Run(ctx, time.Second, func(err error) { logger.Warn("funnel flush failed", "error", err) })
		},
		func() { a.mailer.Run(ctx, 5*time.Second) },
		func() {
			a.bookings.RunReminders(ctx, time.Minute, func(err error) { logger.Warn("queueing reminders failed", "error", err) })
		},
		func() {
			a.bookings.Availability().RunHousekeeping(ctx, time.Second, func(err error) { logger.Warn("schedule housekeeping failed", "error", err) })
		},
		func() {
			a.rateLimits.RunHousekeeping(ctx, 10*time.Minute, func(err error) { logger.Warn("rate limit housekeeping failed", "error", err) })
		},
		func() {
			a.bookings.RunPayments(ctx, time.Minute, func(err error) { logger.Warn("payment sweep failed", "error", err) })
		},
		func() {
			a.users.RunHousekeeping(ctx, 10*time.Minute, func(err error) { logger.Warn("sign-in housekeeping failed", "error", err) })
		},
		func() {
			a.busy.Run(ctx, 30*time.Second, func(err error) { logger.Warn("reading busy calendars failed", "error", err) })
		},
	}
	for _, loop := range loops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			loop()
		}()
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	return done
}

// defaultMemoryLimit is the memory the Go runtime manages (heap, stacks)
// past which the collector works harder instead of letting it grow; the
// process's RSS is about this plus 20 MB of program and runtime. With
// defaultGCPercent the heap reaches it under load: at 40 MiB peak RSS was
// 58-66 MB, at 32 MiB 53-54 MB, under the 64 MB the bench holds it to.
// GOMEMLIMIT, read by the Go runtime, overrides it.
const defaultMemoryLimit = 32 << 20

// defaultGCPercent lets the heap grow to four times what is live before a
// collection, where Go's default (100) collects at twice. The live heap is
// about 10 MB, so at 100 the collector ran every few thousand requests and
// took a fifth of the CPU under load; the memory limit above still bounds
// the heap. Alternating the two on the slots load: p99 11.4-11.9 ms at
// 100, 7.1-8.5 ms at 300. GOGC overrides it.
const defaultGCPercent = 300

// warmPools fills both pools while the server starts, in production only:
// elsewhere (development, the test suite's many servers) connections are
// opened as they are needed.
func warmPools(ctx context.Context, logger *slog.Logger, db, prepared *sqlx.DB) {
	if err := services.WarmPool(ctx, db, services.MainPoolSize); err != nil {
		logger.Warn("database connections not opened ahead", "error", err)
		return
	}
	if err := services.WarmPool(ctx, prepared, services.PreparedPoolSize); err != nil {
		logger.Warn("database connections not opened ahead", "error", err)
	}
}

// softMemoryLimit sets the collector's defaults, unless GOGC or GOMEMLIMIT
// (read by the Go runtime itself) say otherwise.
func softMemoryLimit(logger *slog.Logger) {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
		logger.Debug("collector percent", "gogc", defaultGCPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
		logger.Debug("soft memory limit", "bytes", defaultMemoryLimit)
	}
}

// servePprof exposes Go's profiles on a loopback address, for measuring
// under load; it is off unless PPROF_ADDR is set.
func servePprof(addr string, logger *slog.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		logger.Warn("pprof server stopped", "error", err)
	}
}

func migrateUp(ctx context.Context, db *sqlx.DB, logger *slog.Logger) error {
	m, err := services.NewMigrator(db.DB, logger)
	if err != nil {
		return err
	}
	n, err := m.Up(ctx)
	if err != nil {
		return fmt.Errorf("%w (is PostgreSQL running and DATABASE_URL right?)", err)
	}
	logger.Info("migrations applied", "count", n)
	return nil
}
