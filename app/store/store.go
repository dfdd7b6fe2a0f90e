// Package store is the only package that talks to PostgreSQL. It owns the
// rows, the queries, transactions (InTx), error translation and migrations.
// Every method takes ctx first; methods on shop data are scoped by shop id.
package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Sentinel errors callers match with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
	// ErrUnavailable means the database could not be reached.
	ErrUnavailable = errors.New("database unavailable")
)

// Options tunes the connection pool.
type Options struct {
	MaxOpenConns    int
	MaxIdleConns    int
	ConnMaxLifetime time.Duration
	Logger          *slog.Logger
}

// Store wraps the gorm handle and, for bulk paths (COPY), a pgx pool.
type Store struct {
	db   *gorm.DB
	sql  *sql.DB
	pool *pgxpool.Pool
	// issue group-commits IssueCode calls (issue_batch.go).
	issue issueGroup
	log   *slog.Logger
}

// Open connects to PostgreSQL and configures the pool. It does not migrate.
func Open(ctx context.Context, dsn string, opt Options) (*Store, error) {
	if opt.MaxOpenConns <= 0 {
		opt.MaxOpenConns = 20
	}
	if opt.MaxIdleConns <= 0 {
		opt.MaxIdleConns = opt.MaxOpenConns / 2
	}
	if opt.ConnMaxLifetime <= 0 {
		opt.ConnMaxLifetime = 30 * time.Minute
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	pcfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("store: parse DATABASE_URL: %w", err)
	}
	pcfg.MaxConns = int32(opt.MaxOpenConns)
	pcfg.MinConns = 0
	pcfg.MaxConnLifetime = opt.ConnMaxLifetime
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("store: open pool: %w", err)
	}
	sqlDB := stdlib.OpenDBFromPool(pool)
	sqlDB.SetMaxOpenConns(opt.MaxOpenConns)
	sqlDB.SetMaxIdleConns(opt.MaxIdleConns)
	sqlDB.SetConnMaxLifetime(opt.ConnMaxLifetime)
	gdb, err := gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), &gorm.Config{
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true,
		PrepareStmt:            false,
		NowFunc:                func() time.Time { return time.Now().UTC() },
	})
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("store: open gorm: %w", err)
	}
	return &Store{db: gdb, sql: sqlDB, pool: pool, log: opt.Logger}, nil
}

// Close releases every connection.
func (s *Store) Close() error {
	err := s.sql.Close()
	s.pool.Close()
	return err
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return nil
}

// txKey marks a context that carries an open transaction.
type txKey struct{}

// conn returns the transaction carried by ctx, or the root handle.
func (s *Store) conn(ctx context.Context) *gorm.DB {
	if tx, ok := ctx.Value(txKey{}).(*gorm.DB); ok {
		return tx
	}
	return s.db.WithContext(ctx)
}

// InTx runs fn in one transaction. Store methods called with the ctx passed to
// fn join that transaction. Nested calls reuse the outer transaction.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if _, ok := ctx.Value(txKey{}).(*gorm.DB); ok {
		return fn(ctx)
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		st := &txState{}
		tctx := context.WithValue(context.WithValue(ctx, txKey{}, tx), txStateKey{}, st)
		if err := fn(tctx); err != nil {
			return err
		}
		return st.beforeCommit(tctx, s)
	})
	return TranslateError(err)
}

// txStateKey marks the bookkeeping of the transaction carried by a context.
type txStateKey struct{}

// txState is what the store remembers for one open transaction: the
// advisory locks it holds (taking one twice is a wasted round trip) and the
// code redemptions to write just before it commits.
type txState struct {
	locks        map[string]bool
	redeem       map[redeemKey]*redeemDelta
	hours        map[SubjectHourKey]int
	refundCounts map[[2]int64][2]int // (shop, partner) -> (orders, refunded)
	// refundReads are the refund-rate counters as read in this transaction
	// (FraudRefundCounts): its own changes wait for the commit, so they read
	// the same until then.
	refundReads map[[2]int64][4]int
}

type redeemKey struct {
	shopID int64
	code   string
}

type redeemDelta struct {
	uses int
	at   time.Time
}

func stateOf(ctx context.Context) *txState {
	st, _ := ctx.Value(txStateKey{}).(*txState)
	return st
}

// beforeCommit writes the deferred counters and code redemptions, each in
// key order (two transactions touching the same rows lock them in the same
// order).
func (st *txState) beforeCommit(ctx context.Context, s *Store) error {
	var ws []write
	if len(st.hours) > 0 {
		ws = append(ws, subjectHoursWrite(st.hours))
		st.hours = nil
	}
	if len(st.refundCounts) > 0 {
		ws = append(ws, fraudCountsWrite(st.refundCounts))
		st.refundCounts = nil
	}
	if len(st.redeem) > 0 {
		keys := make([]redeemKey, 0, len(st.redeem))
		for k := range st.redeem {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b redeemKey) int {
			if c := cmpInt64(a.shopID, b.shopID); c != 0 {
				return c
			}
			return strings.Compare(a.code, b.code)
		})
		rs := make([]codeRedemption, len(keys))
		for i, k := range keys {
			d := st.redeem[k]
			rs[i] = codeRedemption{ShopID: k.shopID, Code: k.code, Uses: d.uses, At: d.at}
		}
		ws = append(ws, redeemWrite(rs))
		st.redeem = nil
	}
	return s.execWrites(ctx, ws...)
}

// write is one data-modifying part of a statement: cte is one or more
// "name AS (...)" common table expressions, the last of them named name and
// returning a row per row written.
type write struct {
	name, cte string
	args      []any
}

// execWrites runs writes as one statement, in the order given (each one's
// rows are locked in its own key order, so concurrent transactions take
// them in the same order).
func (s *Store) execWrites(ctx context.Context, ws ...write) error {
	if len(ws) == 0 {
		return nil
	}
	ctes := make([]string, len(ws))
	counts := make([]string, len(ws))
	var args []any
	for i, w := range ws {
		ctes[i], counts[i] = w.cte, "(SELECT count(*) FROM "+w.name+")"
		args = append(args, w.args...)
	}
	var n int64
	err := s.conn(ctx).Raw("WITH "+strings.Join(ctes, ", ")+" SELECT "+strings.Join(counts, " + "), args...).Row().Scan(&n)
	if err != nil {
		names := make([]string, len(ws))
		for i, w := range ws {
			names[i] = w.name
		}
		return fmt.Errorf("store: write %s: %w", strings.Join(names, ", "), TranslateError(err))
	}
	return nil
}

// jsonArg encodes v as a JSON parameter (for jsonb_to_recordset).
func jsonArg(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("store: encode %T: %v", v, err)) // plain structs of numbers, strings and times
	}
	return string(b)
}

// TranslateError maps driver errors to the store's sentinels so callers never
// see gorm or pgx types.
func TranslateError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) || errors.Is(err, ErrUnavailable) {
		return err
	}
	if errors.Is(err, gorm.ErrRecordNotFound) || errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505": // unique_violation
			return fmt.Errorf("%w: %s", ErrConflict, pgErr.ConstraintName)
		case "57P01", "57P02", "57P03", "08000", "08003", "08006", "08001", "08004":
			return fmt.Errorf("%w: %s", ErrUnavailable, pgErr.Message)
		}
		return err
	}
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return err
}

// Migrate applies the migrations in fsys (up), or reverts the last (down).
func (s *Store) Migrate(ctx context.Context, fsys fs.FS, direction string) error {
	// Numbers are reserved per feature and land in any order: a database
	// that already has a higher one still gets a lower one that arrives
	// later (applied first, then the new ones).
	p, err := goose.NewProvider(goose.DialectPostgres, s.sql, fsys, goose.WithAllowOutofOrder(true))
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	switch direction {
	case "up":
		res, err := p.Up(ctx)
		for _, r := range res {
			s.log.InfoContext(ctx, "migration applied", "version", r.Source.Version, "file", r.Source.Path, "duration_ms", r.Duration.Milliseconds())
		}
		if err != nil {
			return fmt.Errorf("store: migrate up: %w", err)
		}
	case "down":
		r, err := p.Down(ctx)
		if err != nil {
			return fmt.Errorf("store: migrate down: %w", err)
		}
		if r != nil {
			s.log.InfoContext(ctx, "migration reverted", "version", r.Source.Version, "file", r.Source.Path)
		}
	default:
		return fmt.Errorf("store: unknown migration direction %q", direction)
	}
	return nil
}

// MigrationStatus is one line of `migrate status`.
type MigrationStatus struct {
	Version   int64
	File      string
	Applied   bool
	AppliedAt time.Time
}

// MigrationStatuses lists every migration and whether it is applied.
func (s *Store) MigrationStatuses(ctx context.Context, fsys fs.FS) ([]MigrationStatus, error) {
	p, err := goose.NewProvider(goose.DialectPostgres, s.sql, fsys)
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: migration status: %w", err)
	}
	out := make([]MigrationStatus, 0, len(st))
	for _, m := range st {
		out = append(out, MigrationStatus{Version: m.Source.Version, File: m.Source.Path, Applied: m.State == goose.StateApplied, AppliedAt: m.AppliedAt})
	}
	return out, nil
}

// CreateDatabase creates database name on the server of adminDSN if it does
// not exist. Used by `make run` and by tests that need a throwaway database.
func CreateDatabase(ctx context.Context, adminDSN, name string) error {
	if !validIdent(name) {
		return fmt.Errorf("store: invalid database name %q", name)
	}
	conn, err := pgconn.Connect(ctx, adminDSN)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, "CREATE DATABASE "+name).ReadAll()
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // duplicate_database
		return nil
	}
	return err
}

// DropDatabase drops database name, disconnecting its sessions.
func DropDatabase(ctx context.Context, adminDSN, name string) error {
	if !validIdent(name) {
		return fmt.Errorf("store: invalid database name %q", name)
	}
	conn, err := pgconn.Connect(ctx, adminDSN)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)").ReadAll()
	return err
}

// WithDatabase returns dsn with its database name replaced.
func WithDatabase(dsn, name string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

// DatabaseName returns the database name in dsn.
func DatabaseName(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(u.Path, "/")
}

func validIdent(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
