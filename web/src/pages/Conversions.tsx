import { useState } from 'react';
import { post, qs, type List } from '../api/client';
import { useResource } from '../api/hooks';
import type { Conversion } from '../api/types';
import { Badge, BlockStack, Button, ButtonGroup, Card, Modal, Page, States, StatusBadge, Table, Tabs, Text, TextField, notify } from '../ui';
import { date, money } from '../format';

const statuses = ['', 'held', 'approved', 'rejected', 'reversed', 'paid'];

function Evidence({ c }: { c: Conversion }) {
  return (
    <BlockStack gap="300">
      <Text as="p">
        Credit: <b>{c.credit?.rule || '—'}</b>
        {c.credit?.policy ? ` (policy ${c.credit.policy})` : ''}
      </Text>
      {c.status_reason && <Text as="p">Status reason: {c.status_reason}</Text>}
      <Text as="p">
        Fraud score {c.fraud?.score ?? 0} · action {c.fraud?.action || 'none'}
      </Text>
      {(c.fraud?.reasons ?? []).map((r, i) => (
        <Text as="p" key={i}>
          <Badge tone="warning">{r.kind}</Badge> {r.detail}
        </Text>
      ))}
      <pre style={{ whiteSpace: 'pre-wrap', fontSize: 12, maxHeight: 300, overflow: 'auto' }}>{JSON.stringify(c.credit?.evidence ?? null, null, 2)}</pre>
    </BlockStack>
  );
}

export function Conversions() {
  const [tab, setTab] = useState(0);
  const status = statuses[tab];
  const r = useResource<List<Conversion>>(`/api/v1/conversions${qs({ status, limit: 100 })}`, 3000);
  const items = r.data?.items ?? [];
  const [detail, setDetail] = useState<Conversion>();
  const [rejecting, setRejecting] = useState<Conversion>();
  const [reason, setReason] = useState('');
  const approve = async (c: Conversion) => {
    try {
      await post(`/api/v1/conversions/${c.id}/approve`, { reason: 'approved by merchant' });
      notify(`${c.order_name || c.order_id} approved`);
      r.reload();
    } catch (e) {
      notify((e as Error).message, true);
    }
  };
  const reject = async () => {
    if (!rejecting) return;
    try {
      await post(`/api/v1/conversions/${rejecting.id}/reject`, { reason });
      notify(`${rejecting.order_name || rejecting.order_id} rejected`);
      setRejecting(undefined);
      setReason('');
      r.reload();
    } catch (e) {
      notify((e as Error).message, true);
    }
  };
  return (
    <Page title="Conversions" subtitle="Orders credited to a campaign, partner or channel; held until the refund window closes">
      <Card padding="0">
        <Tabs tabs={statuses.map((s) => ({ id: s || 'all', content: s || 'all' }))} selected={tab} onSelect={setTab} />
        <States what="Conversions" loading={r.loading} error={r.error} hasData={!!r.data} empty={items.length === 0} emptyHeading={status ? `No ${status} conversions` : 'No conversions yet'} emptyBody="Orders that redeem a code or follow a SmartLink appear here within seconds." onRetry={r.reload}>
          <Table
            rows={items}
            columns={[
              { title: 'Order', render: (c) => <span data-order={c.order_id}>{c.order_name || c.order_id}</span> },
              { title: 'Status', render: (c) => <span data-conversion-status={c.status}><StatusBadge status={c.status} /></span> },
              { title: 'Code', render: (c) => c.code || '—' },
              { title: 'Channel', render: (c) => c.channel || '—' },
              { title: 'Net revenue', numeric: true, render: (c) => money(c.net_revenue, c.currency) },
              { title: 'Discount', numeric: true, render: (c) => money(c.discount_cost, c.currency) },
              { title: 'Commission', numeric: true, render: (c) => money(c.commission, c.currency) },
              { title: 'Fraud', numeric: true, render: (c) => (c.fraud?.score ? <Badge tone={c.fraud.score >= 50 ? 'critical' : 'warning'}>{String(c.fraud.score)}</Badge> : '0') },
              { title: 'Reason', render: (c) => c.status_reason || c.credit?.rule || '—' },
              { title: 'Hold until', render: (c) => (c.status === 'held' ? date(c.hold_until) : '—') },
              {
                title: '',
                render: (c) => (
                  <ButtonGroup>
                    <Button size="slim" onClick={() => setDetail(c)}>
                      Evidence
                    </Button>
                    {c.status === 'held' && (
                      <>
                        <Button size="slim" onClick={() => approve(c)}>
                          Approve
                        </Button>
                        <Button size="slim" tone="critical" onClick={() => setRejecting(c)}>
                          Reject
                        </Button>
                      </>
                    )}
                  </ButtonGroup>
                ),
              },
            ]}
          />
        </States>
      </Card>
      <Modal open={!!detail} onClose={() => setDetail(undefined)} title={`Conversion ${detail?.order_name ?? ''}`}>
        <Modal.Section>{detail && <Evidence c={detail} />}</Modal.Section>
      </Modal>
      <Modal
        open={!!rejecting}
        onClose={() => setRejecting(undefined)}
        title={`Reject ${rejecting?.order_name ?? ''}`}
        primaryAction={{ content: 'Reject', destructive: true, onAction: reject, disabled: !reason }}
        secondaryActions={[{ content: 'Cancel', onAction: () => setRejecting(undefined) }]}
      >
        <Modal.Section>
          <TextField label="Reason" value={reason} onChange={setReason} autoComplete="off" helpText="Recorded in the ledger and shown to the partner" />
        </Modal.Section>
      </Modal>
    </Page>
  );
}
