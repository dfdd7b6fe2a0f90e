package store

import (
	"context"
	"time"
)

// EndDueCampaigns moves up to limit active or paused campaigns whose ends_at
// is at or before now to ended, the way a manual end does (rules version
// bumped, sync pending so that Shopify's discount ends too), and returns
// them. Rows another transaction holds are skipped and picked up by the
// next run; a campaign already ended is never touched again, so running it
// twice changes nothing. Drafts stay drafts: they never reached Shopify and
// their dates may still be edited.
func (s *Store) EndDueCampaigns(ctx context.Context, now time.Time, limit int) ([]CampaignRef, error) {
	var out []CampaignRef
	err := s.conn(ctx).Raw(`UPDATE campaigns SET status = 'ended', updated_at = ?, rules_version = rules_version + 1,
			sync_status = 'pending', sync_error = ''
		WHERE id IN (SELECT id FROM campaigns WHERE status IN ('active', 'paused') AND ends_at IS NOT NULL AND ends_at <= ?
			ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED)
		RETURNING id, shop_id, rules_version`, now, now, limit).Scan(&out).Error
	return out, TranslateError(err)
}
