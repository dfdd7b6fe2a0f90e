package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// StaleStats lists the app's tables whose planner statistics lag behind
// their rows: changed since their last ANALYZE by more than minChanged rows
// plus fraction of the rows the statistics counted (autovacuum's own rule,
// with its own numbers, is 50 + 10%). Most changed first.
func (s *Store) StaleStats(ctx context.Context, minChanged int64, fraction float64) ([]string, error) {
	var names []string
	err := s.conn(ctx).Raw(`SELECT t.relname FROM pg_stat_user_tables t JOIN pg_class c ON c.oid = t.relid
		WHERE t.schemaname = current_schema() AND t.relname <> 'goose_db_version'
		  AND t.n_mod_since_analyze > ? + ? * GREATEST(c.reltuples, 0)
		ORDER BY t.n_mod_since_analyze DESC`, minChanged, fraction).Scan(&names).Error
	if err != nil {
		return nil, fmt.Errorf("store: stale statistics: %w", TranslateError(err))
	}
	return names, nil
}

// Analyze refreshes the planner statistics of one of the app's tables
// (named by StaleStats). PostgreSQL then plans again the statements cached
// on that table.
func (s *Store) Analyze(ctx context.Context, table string) error {
	if err := s.conn(ctx).Exec(`ANALYZE ` + pgx.Identifier{table}.Sanitize()).Error; err != nil {
		return fmt.Errorf("store: analyze %s: %w", table, TranslateError(err))
	}
	return nil
}
