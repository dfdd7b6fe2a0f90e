import { useState } from 'react';
import { post, qs, type List } from '../api/client';
import { useResource } from '../api/hooks';
import type { Campaign, Code } from '../api/types';
import { Button, Card, InlineGrid, Page, Select, States, StatusBadge, Table, TextField, notify } from '../ui';
import { date } from '../format';

export function Codes() {
  const [campaign, setCampaign] = useState('');
  const [status, setStatus] = useState('');
  const [email, setEmail] = useState('');
  const campaigns = useResource<List<Campaign>>('/api/v1/campaigns?limit=200');
  const r = useResource<List<Code>>(`/api/v1/codes${qs({ campaign_id: campaign, status, customer_email: email, limit: 100 })}`);
  const items = r.data?.items ?? [];
  const names = new Map((campaigns.data?.items ?? []).map((c) => [c.id, c.name]));
  const toggle = async (c: Code) => {
    const action = c.status === 'disabled' ? 'enable' : 'disable';
    try {
      await post(`/api/v1/codes/${encodeURIComponent(c.code)}/${action}`);
      notify(`Code ${action}d`);
      r.reload();
    } catch (e) {
      notify((e as Error).message, true);
    }
  };
  return (
    <Page title="Codes">
      <Card padding="0">
        <div style={{ padding: 12 }}>
          <InlineGrid columns={3} gap="300">
            <Select
              label="Campaign"
              options={[{ label: 'All', value: '' }, ...(campaigns.data?.items ?? []).map((c) => ({ label: c.name, value: c.id }))]}
              value={campaign}
              onChange={setCampaign}
            />
            <Select
              label="Status"
              options={[{ label: 'All', value: '' }, ...['available', 'issued', 'redeemed', 'expired', 'disabled'].map((s) => ({ label: s, value: s }))]}
              value={status}
              onChange={setStatus}
            />
            <TextField label="Shopper email" value={email} onChange={setEmail} autoComplete="off" />
          </InlineGrid>
        </div>
        <States what="Codes" loading={r.loading} error={r.error} hasData={!!r.data} empty={items.length === 0} emptyHeading="No codes match" emptyBody="Generate codes from a campaign." onRetry={r.reload}>
          <Table
            rows={items}
            columns={[
              { title: 'Code', render: (c) => <code>{c.code}</code> },
              { title: 'Status', render: (c) => <StatusBadge status={c.status} /> },
              { title: 'Campaign', render: (c) => names.get(c.campaign_id) ?? c.campaign_id },
              { title: 'Channel', render: (c) => c.channel || '—' },
              { title: 'Shopper', render: (c) => c.customer_email ?? '—' },
              { title: 'Issued', render: (c) => date(c.issued_at) },
              { title: 'Expires', render: (c) => date(c.expires_at) },
              { title: 'Redeemed', render: (c) => date(c.redeemed_at) },
              {
                title: '',
                render: (c) =>
                  c.status === 'redeemed' || c.status === 'expired' ? null : (
                    <Button size="slim" onClick={() => toggle(c)}>
                      {c.status === 'disabled' ? 'Enable' : 'Disable'}
                    </Button>
                  ),
              },
            ]}
          />
        </States>
      </Card>
    </Page>
  );
}
