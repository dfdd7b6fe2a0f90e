import { useState } from 'react';
import { post, type List } from '../api/client';
import { useResource } from '../api/hooks';
import type { Campaign, Partner, SmartLink } from '../api/types';
import { Banner, FormLayout, Card, Link, Modal, Page, Select, States, StatusBadge, Table, TextField, notify } from '../ui';
import { date } from '../format';

export function Links() {
  const [adding, setAdding] = useState(false);
  const r = useResource<List<SmartLink>>('/api/v1/links?limit=100');
  const campaigns = useResource<List<Campaign>>('/api/v1/campaigns?limit=200');
  const partners = useResource<List<Partner>>('/api/v1/partners?limit=200');
  const [f, setF] = useState({ campaign_id: '', partner_id: '', channel: 'affiliate', destination: '/' });
  const [err, setErr] = useState<string>();
  const items = r.data?.items ?? [];
  const cn = new Map((campaigns.data?.items ?? []).map((c) => [c.id, c.name]));
  const pn = new Map((partners.data?.items ?? []).map((p) => [p.id, p.name]));
  const save = async () => {
    setErr(undefined);
    try {
      await post('/api/v1/links', { ...f, campaign_id: f.campaign_id || null, partner_id: f.partner_id || null });
      notify('SmartLink created');
      setAdding(false);
      r.reload();
    } catch (e) {
      setErr((e as Error).message);
    }
  };
  return (
    <Page title="SmartLinks" primaryAction={{ content: 'Create SmartLink', onAction: () => setAdding(true) }}>
      <Card padding="0">
        <States what="SmartLinks" loading={r.loading} error={r.error} hasData={!!r.data} empty={items.length === 0} emptyHeading="No SmartLinks yet" emptyBody="A SmartLink records the click, applies your rules and lands the shopper with a code applied." emptyAction={{ content: 'Create SmartLink', onAction: () => setAdding(true) }} onRetry={r.reload}>
          <Table
            rows={items}
            columns={[
              { title: 'Link', render: (l) => <Link url={l.url} external>{l.slug}</Link> },
              { title: 'Campaign', render: (l) => (l.campaign_id ? cn.get(l.campaign_id) ?? l.campaign_id : '—') },
              { title: 'Partner', render: (l) => (l.partner_id ? pn.get(l.partner_id) ?? l.partner_id : '—') },
              { title: 'Channel', render: (l) => l.channel },
              { title: 'Code', render: (l) => l.code_mode },
              { title: 'Destination', render: (l) => l.destination },
              { title: 'Status', render: (l) => <StatusBadge status={l.status} /> },
              { title: 'Created', render: (l) => date(l.created_at) },
            ]}
          />
        </States>
      </Card>
      <Modal open={adding} onClose={() => setAdding(false)} title="Create SmartLink" primaryAction={{ content: 'Create', onAction: save }} secondaryActions={[{ content: 'Cancel', onAction: () => setAdding(false) }]}>
        <Modal.Section>
          <FormLayout>
            {err && <Banner tone="critical">{err}</Banner>}
            <Select label="Campaign" options={[{ label: 'None', value: '' }, ...(campaigns.data?.items ?? []).map((c) => ({ label: c.name, value: c.id }))]} value={f.campaign_id} onChange={(v) => setF({ ...f, campaign_id: v })} />
            <Select label="Partner" options={[{ label: 'None', value: '' }, ...(partners.data?.items ?? []).map((p) => ({ label: p.name, value: p.id }))]} value={f.partner_id} onChange={(v) => setF({ ...f, partner_id: v })} />
            <Select label="Channel" options={['affiliate', 'influencer', 'email', 'sms', 'whatsapp', 'paid', 'organic', 'other']} value={f.channel} onChange={(v) => setF({ ...f, channel: v })} />
            <TextField label="Destination path" value={f.destination} onChange={(v) => setF({ ...f, destination: v })} autoComplete="off" />
          </FormLayout>
        </Modal.Section>
      </Modal>
    </Page>
  );
}
