import { useState } from 'react';
import { useNavigate } from 'react-router-dom';
import { useResource } from '../api/hooks';
import { post, qs, type List } from '../api/client';
import type { Campaign } from '../api/types';
import { Button, ButtonGroup, Card, Link, Page, Select, States, StatusBadge, Table, notify } from '../ui';
import { date, pct } from '../format';

export function discountLabel(c: Campaign): string {
  const d = c.discount;
  if (!d) return '—';
  const v = d.type === 'percentage' ? `${d.value}% off` : d.type === 'fixed_amount' ? `${d.value} ${c.currency} off` : 'Free shipping';
  return d.min_subtotal ? `${v} over ${d.min_subtotal}` : v;
}

export async function campaignAction(id: string, action: 'activate' | 'pause' | 'resume' | 'end'): Promise<Campaign | null> {
  try {
    const c = await post<Campaign>(`/api/v1/campaigns/${id}/${action}`);
    notify(`Campaign ${c.status}`);
    return c;
  } catch (e) {
    notify((e as Error).message, true);
    return null;
  }
}

export function CampaignActions({ c, onChange }: { c: Campaign; onChange: () => void }) {
  const run = async (a: 'activate' | 'pause' | 'resume' | 'end') => {
    if (await campaignAction(c.id, a)) onChange();
  };
  return (
    <ButtonGroup>
      {c.status === 'draft' && <Button onClick={() => run('activate')}>Activate</Button>}
      {c.status === 'active' && <Button onClick={() => run('pause')}>Pause</Button>}
      {c.status === 'paused' && <Button onClick={() => run('resume')}>Resume</Button>}
    </ButtonGroup>
  );
}

export function Campaigns() {
  const nav = useNavigate();
  const [status, setStatus] = useState('');
  const r = useResource<List<Campaign>>(`/api/v1/campaigns${qs({ status, limit: 100 })}`);
  const items = r.data?.items ?? [];
  return (
    <Page title="Campaigns" primaryAction={{ content: 'Create campaign', onAction: () => nav('/campaigns/new' + window.location.search) }}>
      <Card padding="0">
        <div style={{ padding: 12, maxWidth: 240 }}>
          <Select
            label="Status"
            labelInline
            options={[{ label: 'All', value: '' }, ...['draft', 'active', 'paused', 'ended'].map((s) => ({ label: s, value: s }))]}
            value={status}
            onChange={setStatus}
          />
        </div>
        <States
          what="Campaigns"
          loading={r.loading}
          error={r.error}
          hasData={!!r.data}
          empty={items.length === 0}
          emptyHeading="Create your first campaign"
          emptyBody="A campaign holds the discount, its rules and the codes you hand to shoppers, partners and channels."
          emptyAction={{ content: 'Create campaign', onAction: () => nav('/campaigns/new' + window.location.search) }}
          onRetry={r.reload}
        >
          <Table
            rows={items}
            columns={[
              { title: 'Name', render: (c) => <Link url={`/campaigns/${c.id}${window.location.search}`}>{c.name}</Link> },
              { title: 'Goal', render: (c) => c.goal },
              { title: 'Discount', render: (c) => discountLabel(c) },
              { title: 'Status', render: (c) => <StatusBadge status={c.status} /> },
              { title: 'Sync', render: (c) => (c.sync ? <StatusBadge status={c.sync.status} /> : '—') },
              { title: 'Holdout', numeric: true, render: (c) => pct(c.holdout, 0) },
              { title: 'Starts', render: (c) => date(c.starts_at) },
              { title: '', render: (c) => <CampaignActions c={c} onChange={r.reload} /> },
            ]}
          />
        </States>
      </Card>
    </Page>
  );
}
