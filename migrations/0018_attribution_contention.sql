-- +goose Up
-- Attribution reads a code's earlier redemptions through conversions_codes_idx
-- on every order. With GIN's fast-update list on, each new conversion's codes
-- go to an unsorted pending list that every later search scans in full (up to
-- gin_pending_list_limit), which made the lookup cost milliseconds under load;
-- off, each insert updates the index directly and a search is an index probe.
ALTER INDEX conversions_codes_idx SET (fastupdate = off);
-- Flush what the pending list holds now.
SELECT gin_clean_pending_list('conversions_codes_idx'::regclass);

-- fraud_refund_counts: the app now picks a counter's shard by database
-- session (pg_backend_pid() % 64) instead of by order id, so two open
-- attributions never update the same row; readers still sum the shards.

-- +goose Down
ALTER INDEX conversions_codes_idx RESET (fastupdate);
