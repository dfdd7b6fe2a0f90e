import { useState } from 'react';
import { qs, type List } from '../api/client';
import { useResource } from '../api/hooks';
import type { Campaign, Recommendation } from '../api/types';
import { Card, Page, Select, States, Table } from '../ui';
import { money, num, pct } from '../format';

export function Insights() {
  const campaigns = useResource<List<Campaign>>('/api/v1/campaigns?limit=200');
  const [campaign, setCampaign] = useState('');
  const chosen = campaign || campaigns.data?.items[0]?.id || '';
  const r = useResource<List<Recommendation>>(chosen ? `/api/v1/insights/recommendations${qs({ campaign: chosen })}` : null);
  const items = r.data?.items ?? [];
  return (
    <Page title="Insights" subtitle="Who should get a discount, which level, on which channel and when — by expected profit">
      <Card padding="0">
        <div style={{ padding: 12, maxWidth: 360 }}>
          <Select label="Campaign" labelInline options={(campaigns.data?.items ?? []).map((c) => ({ label: c.name, value: c.id }))} value={chosen} onChange={setCampaign} />
        </div>
        <States
          what="Recommendations"
          loading={r.loading || campaigns.loading}
          error={r.error ?? campaigns.error}
          hasData={!!r.data}
          empty={!chosen || items.length === 0}
          emptyHeading={chosen ? 'No recommendations yet' : 'Create a campaign first'}
          emptyBody="Recommendations come from uplift models trained on experiment data."
          onRetry={r.reload}
        >
          <Table
            rows={items}
            columns={[
              { title: 'Segment', render: (x) => x.segment },
              { title: 'Customers', numeric: true, render: (x) => num(x.customers) },
              { title: 'Offer', render: (x) => x.arm },
              { title: 'Channel', render: (x) => x.channel },
              { title: 'When', render: (x) => x.when },
              { title: 'Expected uplift', numeric: true, render: (x) => pct(x.expected_uplift, 2) },
              { title: 'Expected profit', numeric: true, render: (x) => money(x.expected_profit) },
              { title: 'Why', render: (x) => x.reason },
            ]}
          />
        </States>
      </Card>
    </Page>
  );
}
