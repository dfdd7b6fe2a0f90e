// Package config owns the process configuration: every environment variable
// coupontrail reads is parsed and validated here, in one place. It imports the
// standard library only.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// DefaultAPIVersion is the Shopify Admin API version the app speaks.
const DefaultAPIVersion = "2026-07"

// Config is the validated process configuration.
type Config struct {
	DatabaseURL string
	RedisURL    string
	HTTPAddr    string
	AppURL      string

	ShopifyAPIKey      string
	ShopifyAPISecret   string
	ShopifyScopes      string
	ShopifyAPIVersion  string
	AdminURLTemplate   string
	EncryptionKey      string
	DevStoreAddr       string
	LogLevel           string
	DBMaxOpenConns     int
	DBMaxIdleConns     int
	WorkerConcurrency  int
	ShutdownTimeout    time.Duration
	WebhookBodyLimit   int64
	WebhookSecretsPrev []string
}

// Var documents one environment variable for --help and the README.
type Var struct {
	Name, Default, Help string
	Secret              bool
}

// Vars lists every variable Load reads, in the order the README shows them.
var Vars = []Var{
	{Name: "DATABASE_URL", Default: "postgres://postgres@127.0.0.1:5432/coupontrail?sslmode=disable", Help: "PostgreSQL connection URL (the source of truth)"},
	{Name: "REDIS_URL", Default: "redis://127.0.0.1:6379/0", Help: "Redis URL (asynq queues, scheduler, shared rate-limit state)"},
	{Name: "HTTP_ADDR", Default: "127.0.0.1:8080", Help: "address the HTTP server listens on"},
	{Name: "APP_URL", Default: "http://127.0.0.1:8080", Help: "public base URL of the app (OAuth redirects, SmartLinks, webhooks)"},
	{Name: "SHOPIFY_API_KEY", Default: "coupontrail-dev-key", Help: "app client id (session token audience)"},
	{Name: "SHOPIFY_API_SECRET", Default: "coupontrail-dev-secret", Help: "app client secret (webhook HMAC, session tokens)", Secret: true},
	{Name: "SHOPIFY_API_SECRET_PREVIOUS", Default: "", Help: "comma-separated previous secrets still accepted during rotation", Secret: true},
	{Name: "SHOPIFY_SCOPES", Default: "read_orders,read_customers,read_discounts,write_discounts,read_checkouts", Help: "comma-separated access scopes"},
	{Name: "SHOPIFY_API_VERSION", Default: DefaultAPIVersion, Help: "Admin API version (YYYY-MM)"},
	{Name: "SHOPIFY_ADMIN_URL_TEMPLATE", Default: "https://{shop}", Help: "how a shop domain maps to its Admin base URL; the dev store uses http://127.0.0.1:8081/store/{shop}"},
	{Name: "ENCRYPTION_KEY", Default: "", Help: "tokens-at-rest key: 32 bytes base64/hex, or kid:key,kid:key for rotation (first is current)", Secret: true},
	{Name: "DEVSTORE_ADDR", Default: "127.0.0.1:8081", Help: "address of the dev store (coupontrail devstore)"},
	{Name: "LOG_LEVEL", Default: "info", Help: "debug, info, warn or error"},
	{Name: "DB_MAX_OPEN_CONNS", Default: "20", Help: "PostgreSQL pool size per process"},
	{Name: "DB_MAX_IDLE_CONNS", Default: "10", Help: "idle PostgreSQL connections kept per process (below DB_MAX_OPEN_CONNS)"},
	{Name: "WORKER_CONCURRENCY", Default: "", Help: "asynq handlers running at once per worker process (empty: 6 per CPU, at least 8)"},
	{Name: "SHUTDOWN_TIMEOUT", Default: "25s", Help: "how long shutdown waits for in-flight requests and jobs"},
	{Name: "WEBHOOK_BODY_LIMIT", Default: "1048576", Help: "largest webhook body accepted, in bytes (larger -> 413)"},
}

// Error is a configuration problem: it names the variable and what is wrong
// with it, never the value of a secret.
type Error struct {
	Var, Problem string
}

func (e *Error) Error() string { return e.Var + ": " + e.Problem }

// Load reads and validates the configuration from getenv. It returns the
// first problem found as an *Error.
func Load(getenv func(string) string) (*Config, error) {
	get := func(name string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		for _, v := range Vars {
			if v.Name == name {
				return v.Default
			}
		}
		return ""
	}
	c := &Config{
		DatabaseURL:       get("DATABASE_URL"),
		RedisURL:          get("REDIS_URL"),
		HTTPAddr:          get("HTTP_ADDR"),
		AppURL:            strings.TrimRight(get("APP_URL"), "/"),
		ShopifyAPIKey:     get("SHOPIFY_API_KEY"),
		ShopifyAPISecret:  get("SHOPIFY_API_SECRET"),
		ShopifyScopes:     get("SHOPIFY_SCOPES"),
		ShopifyAPIVersion: get("SHOPIFY_API_VERSION"),
		AdminURLTemplate:  get("SHOPIFY_ADMIN_URL_TEMPLATE"),
		EncryptionKey:     get("ENCRYPTION_KEY"),
		DevStoreAddr:      get("DEVSTORE_ADDR"),
		LogLevel:          strings.ToLower(get("LOG_LEVEL")),
	}
	if prev := get("SHOPIFY_API_SECRET_PREVIOUS"); prev != "" {
		for _, s := range strings.Split(prev, ",") {
			if s = strings.TrimSpace(s); s != "" {
				c.WebhookSecretsPrev = append(c.WebhookSecretsPrev, s)
			}
		}
	}
	var err error
	if c.DBMaxOpenConns, err = positiveInt(get, "DB_MAX_OPEN_CONNS"); err != nil {
		return nil, err
	}
	if c.DBMaxIdleConns, err = positiveInt(get, "DB_MAX_IDLE_CONNS"); err != nil {
		return nil, err
	}
	if get("WORKER_CONCURRENCY") == "" {
		c.WorkerConcurrency = DefaultWorkerConcurrency(runtime.GOMAXPROCS(0))
	} else if c.WorkerConcurrency, err = positiveInt(get, "WORKER_CONCURRENCY"); err != nil {
		return nil, err
	}
	n, err := positiveInt(get, "WEBHOOK_BODY_LIMIT")
	if err != nil {
		return nil, err
	}
	c.WebhookBodyLimit = int64(n)
	if c.ShutdownTimeout, err = time.ParseDuration(get("SHUTDOWN_TIMEOUT")); err != nil || c.ShutdownTimeout <= 0 {
		return nil, &Error{"SHUTDOWN_TIMEOUT", "must be a positive duration such as 25s"}
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// Validate checks every field and returns the first problem as an *Error.
func (c *Config) Validate() error {
	if err := checkURL("DATABASE_URL", c.DatabaseURL, "postgres", "postgresql"); err != nil {
		return err
	}
	if err := checkURL("REDIS_URL", c.RedisURL, "redis", "rediss"); err != nil {
		return err
	}
	if err := checkAddr("HTTP_ADDR", c.HTTPAddr); err != nil {
		return err
	}
	if err := checkAddr("DEVSTORE_ADDR", c.DevStoreAddr); err != nil {
		return err
	}
	if err := checkURL("APP_URL", c.AppURL, "http", "https"); err != nil {
		return err
	}
	if c.ShopifyAPIKey == "" {
		return &Error{"SHOPIFY_API_KEY", "must not be empty"}
	}
	if len(c.ShopifyAPISecret) < 8 {
		return &Error{"SHOPIFY_API_SECRET", "must be at least 8 characters"}
	}
	if c.ShopifyScopes == "" {
		return &Error{"SHOPIFY_SCOPES", "must list at least one scope"}
	}
	for _, s := range strings.Split(c.ShopifyScopes, ",") {
		s = strings.TrimSpace(s)
		if s == "" || strings.ContainsAny(s, " /") {
			return &Error{"SHOPIFY_SCOPES", fmt.Sprintf("%q is not a scope (want e.g. read_orders,write_discounts)", s)}
		}
	}
	if _, err := time.Parse("2006-01", c.ShopifyAPIVersion); err != nil {
		return &Error{"SHOPIFY_API_VERSION", "must look like 2026-07"}
	}
	if !strings.Contains(c.AdminURLTemplate, "{shop}") {
		return &Error{"SHOPIFY_ADMIN_URL_TEMPLATE", "must contain {shop}"}
	}
	if err := checkURL("SHOPIFY_ADMIN_URL_TEMPLATE", strings.ReplaceAll(c.AdminURLTemplate, "{shop}", "x.myshopify.com"), "http", "https"); err != nil {
		return err
	}
	if c.EncryptionKey == "" {
		return &Error{"ENCRYPTION_KEY", "must be set (32 random bytes, base64 or hex; make run generates one into .data/)"}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return &Error{"LOG_LEVEL", "must be debug, info, warn or error"}
	}
	// The ORM and the bulk paths (webhook intake, COPY, the issue path)
	// share one pool: connections the ORM keeps idle are held from the bulk
	// paths, so keeping all of them idle would starve the intake for good.
	if c.DBMaxIdleConns >= c.DBMaxOpenConns {
		return &Error{"DB_MAX_IDLE_CONNS", "must be below DB_MAX_OPEN_CONNS (idle ORM connections are unavailable to the webhook intake and bulk paths)"}
	}
	return nil
}

// Scopes returns the configured scopes as a slice.
func (c *Config) Scopes() []string {
	var out []string
	for _, s := range strings.Split(c.ShopifyScopes, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func positiveInt(get func(string) string, name string) (int, error) {
	n, err := strconv.Atoi(get(name))
	if err != nil || n <= 0 {
		return 0, &Error{name, "must be a positive integer"}
	}
	return n, nil
}

func checkAddr(name, v string) error {
	if _, _, err := net.SplitHostPort(v); err != nil {
		return &Error{name, "must be host:port such as 127.0.0.1:8080"}
	}
	return nil
}

func checkURL(name, v string, schemes ...string) error {
	u, err := url.Parse(v)
	if err != nil || u.Host == "" {
		return &Error{name, fmt.Sprintf("is not a URL (want %s://host...)", schemes[0])}
	}
	for _, s := range schemes {
		if u.Scheme == s {
			return nil
		}
	}
	return &Error{name, fmt.Sprintf("scheme %q is not one of %s", u.Scheme, strings.Join(schemes, ", "))}
}

// IsConfigError reports whether err is a configuration problem.
func IsConfigError(err error) bool {
	var ce *Error
	return errors.As(err, &ce)
}

// DefaultWorkerConcurrency is how many jobs a worker runs at once on cpus
// CPUs: attribution is CPU work shared with PostgreSQL, and more handlers
// than that only wait on each other's locks (on 2 CPUs, 12 handlers attribute
// ~10% more orders per second than 20 did), while at least 8 leave room for
// jobs that mostly wait on Shopify.
func DefaultWorkerConcurrency(cpus int) int {
	return max(8, 6*cpus)
}
