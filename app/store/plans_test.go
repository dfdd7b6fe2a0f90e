package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coupontrail/coupontrail/migrations"
)

// explainIn returns the plan PostgreSQL chooses for sql (with ? placeholders)
// as a prepared statement executed with args, after the settings in setup.
func explainIn(t *testing.T, s *Store, setup []string, sql string, args ...any) string {
	t.Helper()
	var n int
	var b strings.Builder
	for _, r := range sql {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	var plan []string
	err := s.InTx(context.Background(), func(ctx context.Context) error {
		for _, q := range setup {
			if err := s.conn(ctx).Exec(q).Error; err != nil {
				return err
			}
		}
		if err := s.conn(ctx).Exec("PREPARE plan_probe AS " + b.String()).Error; err != nil {
			return err
		}
		lits := make([]string, len(args))
		for i, a := range args {
			lits[i] = literal(t, a)
		}
		if err := s.conn(ctx).Raw("EXPLAIN EXECUTE plan_probe(" + strings.Join(lits, ", ") + ")").Scan(&plan).Error; err != nil {
			return err
		}
		return s.conn(ctx).Exec("DEALLOCATE plan_probe").Error
	})
	if err != nil {
		t.Fatalf("explain %s: %v", sql, err)
	}
	return strings.Join(plan, "\n")
}

// openMigrated opens a store on a fresh, migrated test database.
func openMigrated(t *testing.T) *Store {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, newInternalTestDB(t), Options{MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Migrate(ctx, migrations.FS, "up"); err != nil {
		t.Fatal(err)
	}
	return s
}

// literal renders a statement argument as SQL (EXECUTE inside EXPLAIN takes
// no bind parameters).
func literal(t *testing.T, a any) string {
	switch v := a.(type) {
	case int, int64:
		return fmt.Sprint(v)
	case *int64:
		return fmt.Sprint(*v)
	case string:
		return "'" + strings.ReplaceAll(v, "'", "''") + "'"
	case time.Time:
		return "'" + v.Format(time.RFC3339Nano) + "'::timestamptz"
	}
	t.Fatalf("no literal for %T", a)
	return ""
}

// The statements that run for every order read the indexes they were written
// for under the plans PostgreSQL really uses: the generic plan it caches for
// a prepared statement (it cannot see the values, so a partial index is only
// usable when the statement repeats its predicate), and plans made from
// statistics that say nothing is pending (true between bursts, wrong during
// one). Both mistakes cost nothing on a test-sized table and everything on a
// shop's (a whole-table read per order).
func TestHotStatementsReadTheirIndexes(t *testing.T) {
	s := openMigrated(t)
	generic := []string{"SET LOCAL plan_cache_mode = force_generic_plan", "SET LOCAL enable_seqscan = off"}
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	pid := int64(7)
	for _, tc := range []struct {
		q     FraudHistoryQuery
		index string
	}{
		{FraudHistoryQuery{ShopID: 1, Code: "LEAKED10"}, "fraud_events_code_idx"},
		{FraudHistoryQuery{ShopID: 1, PartnerID: &pid}, "fraud_events_partner_idx"},
		{FraudHistoryQuery{ShopID: 1, ClickID: "c-1"}, "fraud_events_click_idx"},
		{FraudHistoryQuery{ShopID: 1, Prefix: "203.0.113"}, "fraud_events_prefix_idx"},
	} {
		tc.q.From, tc.q.To, tc.q.PrefixFrom, tc.q.ExcludeOrder = now.Add(-time.Hour), now, now.Add(-time.Hour), 1
		sql, args := fraudHistorySQL(tc.q)
		if plan := explainIn(t, s, generic, sql, args...); !strings.Contains(plan, tc.index) {
			t.Errorf("fraud history by %s: generic plan does not read %s:\n%s", tc.index, tc.index, plan)
		}
	}

	// Deliveries are locked by id: the primary key, never the pending index
	// filtered by id.
	plan := explainIn(t, s, []string{"SET LOCAL enable_seqscan = off"}, strings.Replace(lockDeliveriesSQL, "IN ?", "IN (?, ?, ?)", 1), 1, 2, 3)
	if !strings.Contains(plan, "webhook_deliveries_pkey") || strings.Contains(plan, "webhook_deliveries_pending_idx") {
		t.Errorf("locking deliveries by id does not read the primary key alone:\n%s", plan)
	}
}

// ForDeliveryWork sets its settings for the transaction only: generic plans
// for the order topics, the default for the rest, and neither outlives it.
func TestForDeliveryWorkSettings(t *testing.T) {
	ctx := context.Background()
	s := openMigrated(t)
	show := func(ctx context.Context) (string, string) {
		var mode, sync string
		if err := s.conn(ctx).Raw(`SELECT current_setting('plan_cache_mode'), current_setting('synchronous_commit')`).Row().Scan(&mode, &sync); err != nil {
			t.Fatal(err)
		}
		return mode, sync
	}
	for _, tc := range []struct {
		planOnce bool
		mode     string
	}{{true, "force_generic_plan"}, {false, "auto"}} {
		err := s.InTx(ctx, func(ctx context.Context) error {
			if err := s.ForDeliveryWork(ctx, tc.planOnce); err != nil {
				return err
			}
			if mode, sync := show(ctx); mode != tc.mode || sync != "off" {
				t.Errorf("planOnce=%v: plan_cache_mode %s, synchronous_commit %s; want %s, off", tc.planOnce, mode, sync, tc.mode)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if mode, sync := show(ctx); mode != "auto" || sync != "on" {
			t.Errorf("after the transaction: plan_cache_mode %s, synchronous_commit %s; want auto, on", mode, sync)
		}
	}
}

// StaleStats names a table once its rows changed well past its statistics,
// and Analyze brings them up to date (the planner then plans it again).
func TestStaleStatsAndAnalyze(t *testing.T) {
	ctx := context.Background()
	s := openMigrated(t)
	if err := s.conn(ctx).Exec(`ANALYZE`).Error; err != nil {
		t.Fatal(err)
	}
	err := s.conn(ctx).Exec(`INSERT INTO webhook_deliveries (shop_domain, webhook_id, topic, api_version, received_at, payload)
		SELECT 'stats.myshopify.com', 'w-' || g, 'orders/create', '2025-10', now(), '\x7b7d'::bytea FROM generate_series(1, 2000) g`).Error
	if err != nil {
		t.Fatal(err)
	}
	stale := func() []string {
		// This session's counts reach the statistics views at its next
		// transaction end once a flush is asked for.
		if err := s.conn(ctx).Exec(`SELECT pg_stat_force_next_flush()`).Error; err != nil {
			t.Fatal(err)
		}
		if err := s.conn(ctx).Exec(`SELECT 1`).Error; err != nil {
			t.Fatal(err)
		}
		names, err := s.StaleStats(ctx, 500, 0.2)
		if err != nil {
			t.Fatal(err)
		}
		return names
	}
	if got := stale(); !slices.Contains(got, "webhook_deliveries") {
		t.Fatalf("2,000 new deliveries, stale tables %v", got)
	}
	if err := s.Analyze(ctx, "webhook_deliveries"); err != nil {
		t.Fatal(err)
	}
	if got := stale(); slices.Contains(got, "webhook_deliveries") {
		t.Fatalf("after ANALYZE, stale tables %v", got)
	}
	var n float64
	if err := s.conn(ctx).Raw(`SELECT reltuples FROM pg_class WHERE relname = 'webhook_deliveries'`).Row().Scan(&n); err != nil || n < 1900 {
		t.Fatalf("planner's row count %v after ANALYZE (%v)", n, err)
	}
}
