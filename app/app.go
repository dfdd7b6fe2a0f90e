package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"github.com/coupontrail/coupontrail/app/config"
	"github.com/coupontrail/coupontrail/app/metrics"
	"github.com/coupontrail/coupontrail/app/secrets"
	"github.com/coupontrail/coupontrail/app/shopify"
	"github.com/coupontrail/coupontrail/app/shopify/admin"
	"github.com/coupontrail/coupontrail/app/shops"
	"github.com/coupontrail/coupontrail/app/store"
	"github.com/coupontrail/coupontrail/jobs"
	"github.com/coupontrail/coupontrail/migrations"
	"github.com/coupontrail/coupontrail/webhooks"
)

// App holds every dependency, built once in newApp.
type App struct {
	cfg       *config.Config
	log       *slog.Logger
	store     *store.Store
	redis     redis.UniversalClient
	redisOpt  asynq.RedisConnOpt
	queue     *asynq.Client
	inspector *asynq.Inspector
	metrics   *metrics.Metrics
	keyring   *secrets.Keyring
	jobs      *jobs.Jobs
	intake    *webhooks.Intake
	shops     *shops.Service
	links     *linkRuntime // SmartLink cache and click writers
	now       func() time.Time
	rand      io.Reader     // crypto/rand in production
	retryBase time.Duration // first job retry delay (0: jobs' default); tests shorten it
}

func newLogger(level string, w io.Writer) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

// newApp connects to PostgreSQL and Redis and wires the parts. It does not
// start serving.
func newApp(ctx context.Context, cfg *config.Config, log *slog.Logger) (*App, error) {
	kr, err := secrets.ParseKeyring(cfg.EncryptionKey)
	if err != nil {
		return nil, &config.Error{Var: "ENCRYPTION_KEY", Problem: err.Error()}
	}
	ropt, err := jobs.RedisOpt(cfg.RedisURL)
	if err != nil {
		return nil, &config.Error{Var: "REDIS_URL", Problem: err.Error()}
	}
	st, err := store.Open(ctx, cfg.DatabaseURL, store.Options{MaxOpenConns: cfg.DBMaxOpenConns, MaxIdleConns: cfg.DBMaxIdleConns, Logger: log})
	if err != nil {
		return nil, &config.Error{Var: "DATABASE_URL", Problem: err.Error()}
	}
	a := &App{
		cfg: cfg, log: log, store: st, redisOpt: ropt,
		redis:     ropt.MakeRedisClient().(redis.UniversalClient),
		queue:     asynq.NewClient(ropt),
		inspector: asynq.NewInspector(ropt),
		metrics:   metrics.New(),
		keyring:   kr,
		now:       func() time.Time { return time.Now().UTC() },
		rand:      rand.Reader,
	}
	adminURL := shopify.AdminURLFunc(cfg.AdminURLTemplate)
	httpc := &http.Client{Timeout: 30 * time.Second}
	a.shops = &shops.Service{
		Store: st, Keyring: kr, AdminURL: adminURL, APIVersion: cfg.ShopifyAPIVersion, HTTPClient: httpc, Log: log, Now: a.now,
		Tokens:  &shopify.TokenClient{APIKey: cfg.ShopifyAPIKey, APISecret: cfg.ShopifyAPISecret, HTTP: httpc, AdminURL: adminURL, Now: a.now},
		Limiter: admin.NewRedisLimiter(a.redis, "coupontrail:shopify-cost"),
		Metrics: adminMetrics{a.metrics},
	}
	a.links = newLinkRuntime(st)
	a.shops.OnInstalled = func(ctx context.Context, sh *store.Shop) { a.syncDetails(ctx, sh.ID) }
	a.jobs = jobs.New(jobs.Deps{Store: st, Client: a.queue, Shops: a.shops, Keyring: kr, Rand: a.rand, Log: log, Metrics: a.metrics, Now: a.now})
	return a, nil
}

// webhookSecrets returns the current secret first, then previous ones.
func (a *App) webhookSecrets() [][]byte {
	out := [][]byte{[]byte(a.cfg.ShopifyAPISecret)}
	for _, s := range a.cfg.WebhookSecretsPrev {
		out = append(out, []byte(s))
	}
	return out
}

// close releases connections; call it last.
func (a *App) close() {
	if a.intake != nil {
		a.intake.Close()
	}
	a.links.rec.stop()
	_ = a.queue.Close()
	_ = a.inspector.Close()
	_ = a.redis.Close()
	_ = a.store.Close()
}

func bootstrap(ctx context.Context) (*App, error) {
	cfg, err := loadConfig()
	if err != nil {
		return nil, err
	}
	log := newLogger(cfg.LogLevel, os.Stderr)
	return newApp(ctx, cfg, log)
}

// tuneGC raises the GC target when GOGC is not set: the live heap of the
// server and of the workers is small (tens of MB) and webhook bursts
// allocate fast, so collecting less often buys throughput for little
// memory (the attribution bench: the worker's CPU per order -10%).
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
}

func runServe(ctx context.Context, args []string, _, stderr io.Writer) error {
	return runRole(ctx, args, stderr, "serve", "Run the HTTP server: admin UI, /api, /webhooks, /l SmartLinks, /healthz, /readyz, /metrics.", true, false)
}

func runWorker(ctx context.Context, args []string, _, stderr io.Writer) error {
	return runRole(ctx, args, stderr, "worker", "Run the asynq workers (critical, default, low queues) and the periodic scheduler.", false, true)
}

func runAll(ctx context.Context, args []string, _, stderr io.Writer) error {
	return runRole(ctx, args, stderr, "all", "Run the HTTP server and the workers in one process (development).", true, true)
}

// runRole parses the command's flags, builds the app and runs the HTTP
// server and/or the workers until ctx ends.
func runRole(ctx context.Context, args []string, stderr io.Writer, name, summary string, serve, work bool) error {
	fs := newFlags(name, name, summary, stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	a, err := bootstrap(ctx)
	if err != nil {
		return err
	}
	defer a.close()
	tuneGC()
	return a.runProcesses(ctx, serve, work)
}

// runProcesses starts the HTTP server and/or the workers and shuts them down
// in order when ctx ends: stop accepting and finish in-flight requests, drain
// the webhook intake, finish (or hand back) running jobs, then close.
func (a *App) runProcesses(ctx context.Context, serve, work bool) error {
	if err := a.store.Ping(ctx); err != nil {
		return fmt.Errorf("PostgreSQL at DATABASE_URL does not answer: %w", err)
	}
	var wg sync.WaitGroup
	errc := make(chan error, 4)
	mctx, cancelMetrics := context.WithCancel(context.Background())
	defer cancelMetrics()
	go jobs.CollectQueueMetrics(mctx, a.inspector, a.metrics, 10*time.Second)

	var srv *http.Server
	if serve {
		a.startIntake()
		e := a.newEcho()
		srv = &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
		ln, err := net.Listen("tcp", a.cfg.HTTPAddr)
		if err != nil {
			return &config.Error{Var: "HTTP_ADDR", Problem: err.Error()}
		}
		a.log.Info("http listening", "addr", ln.Addr().String(), "app_url", a.cfg.AppURL)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("http: %w", err)
			}
		}()
	}
	stopWorker := func() {}
	if work {
		var err error
		if stopWorker, err = a.startWorker(true); err != nil {
			return err
		}
	}

	var runErr error
	select {
	case <-ctx.Done():
		a.log.Info("shutting down")
	case runErr = <-errc:
		a.log.Error("stopping after error", "err", runErr)
	}
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	if srv != nil {
		if err := srv.Shutdown(sctx); err != nil {
			a.log.Error("http shutdown", "err", err)
		}
		a.intake.Close()
	}
	stopWorker()
	wg.Wait()
	a.log.Info("stopped")
	return runErr
}

// startIntake builds the webhook intake (group committer).
func (a *App) startIntake() {
	a.intake = webhooks.New(webhooks.Options{
		Secrets: a.webhookSecrets(), BodyLimit: a.cfg.WebhookBodyLimit, Recorder: a.store,
		Enqueue: func(ctx context.Context, ids []int64) error { return jobs.EnqueueDeliveries(ctx, a.queue, ids) },
		Log:     a.log, Metrics: a.metrics, Now: a.now,
	})
}

// startWorker starts the asynq server (and the scheduler when withScheduler)
// and returns the function that stops them: the scheduler first, then the
// server, which waits up to SHUTDOWN_TIMEOUT for running jobs; unfinished
// ones go back to the queue and their rows stay pending in PostgreSQL.
func (a *App) startWorker(withScheduler bool) (func(), error) {
	asrv := jobs.NewServer(a.redisOpt, jobs.ServerOptions{Concurrency: a.cfg.WorkerConcurrency, ShutdownTimeout: a.cfg.ShutdownTimeout, Logger: a.log, Metrics: a.metrics, RetryBase: a.retryBase})
	if err := asrv.Start(a.jobs.NewMux()); err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	var sched *asynq.Scheduler
	if withScheduler {
		var err error
		if sched, err = jobs.NewScheduler(a.redisOpt, a.log); err != nil {
			asrv.Shutdown()
			return nil, err
		}
		if err := sched.Start(); err != nil {
			asrv.Shutdown()
			return nil, fmt.Errorf("scheduler: %w", err)
		}
	}
	a.log.Info("worker started", "concurrency", a.cfg.WorkerConcurrency)
	return func() {
		if sched != nil {
			sched.Shutdown()
		}
		asrv.Shutdown()
	}, nil
}

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("migrate", "migrate [--create-db] up|down|status", "Apply all pending migrations (up), revert the newest one (down), or list them (status).", stderr)
	createDB := fs.Bool("create-db", false, "create the database named in DATABASE_URL first if it does not exist")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return usageErr("want exactly one of up, down, status")
	}
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	log := newLogger(cfg.LogLevel, stderr)
	if *createDB {
		admin, err := store.WithDatabase(cfg.DatabaseURL, "postgres")
		if err != nil {
			return &config.Error{Var: "DATABASE_URL", Problem: err.Error()}
		}
		if err := store.CreateDatabase(ctx, admin, store.DatabaseName(cfg.DatabaseURL)); err != nil {
			return fmt.Errorf("create database: %w", err)
		}
	}
	st, err := store.Open(ctx, cfg.DatabaseURL, store.Options{MaxOpenConns: 2, Logger: log})
	if err != nil {
		return &config.Error{Var: "DATABASE_URL", Problem: err.Error()}
	}
	defer st.Close()
	switch fs.Arg(0) {
	case "up", "down":
		return st.Migrate(ctx, migrations.FS, fs.Arg(0))
	case "status":
		ms, err := st.MigrationStatuses(ctx, migrations.FS)
		if err != nil {
			return err
		}
		for _, m := range ms {
			state := "pending"
			if m.Applied {
				state = "applied " + m.AppliedAt.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(stdout, "%04d  %-45s %s\n", m.Version, m.File, state)
		}
		return nil
	default:
		return usageErr("unknown migrate action %q (want up, down or status)", fs.Arg(0))
	}
}

// newEchoBase is the shared echo setup (error handler, middleware order).
func newEchoBase() *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	return e
}
