import { useState } from 'react';
import { post, qs, type List } from '../api/client';
import { useResource } from '../api/hooks';
import type { FraudAlert } from '../api/types';
import { Badge, Button, Card, InlineStack, Modal, Page, Select, States, Table, notify } from '../ui';
import { date, num } from '../format';

const kinds = ['', 'leaked_code', 'self_referral', 'bot_clicks', 'duplicate_click', 'refund_farm', 'rule_violation', 'datacenter_ip', 'velocity'];

export function Fraud() {
  const [kind, setKind] = useState('');
  const r = useResource<List<FraudAlert>>(`/api/v1/fraud/alerts${qs({ kind, limit: 100 })}`, 15000);
  const items = r.data?.items ?? [];
  const [detail, setDetail] = useState<FraudAlert>();
  const disable = async (a: FraudAlert) => {
    try {
      await post(`/api/v1/fraud/alerts/${a.id}/disable-code`);
      notify(`Code ${a.code} disabled`);
      r.reload();
    } catch (e) {
      notify((e as Error).message, true);
    }
  };
  return (
    <Page title="Fraud alerts">
      <Card padding="0">
        <div style={{ padding: 12, maxWidth: 300 }}>
          <Select label="Kind" labelInline options={kinds.map((k) => ({ label: k || 'All', value: k }))} value={kind} onChange={setKind} />
        </div>
        <States what="Fraud alerts" loading={r.loading} error={r.error} hasData={!!r.data} empty={items.length === 0} emptyHeading="No fraud alerts" emptyBody="Leaked codes, self-referrals, bot clicks and bursts show up here." onRetry={r.reload}>
          <Table
            rows={items}
            columns={[
              { title: 'Kind', render: (a) => <InlineStack gap="100"><Badge tone="critical">{a.kind}</Badge>{a.shadow && <Badge>shadow</Badge>}</InlineStack> },
              { title: 'Score', numeric: true, render: (a) => num(a.max_score ?? null) },
              { title: 'Code', render: (a) => a.code || '—' },
              { title: 'Partner', render: (a) => a.partner_id || '—' },
              { title: 'Orders', numeric: true, render: (a) => (Array.isArray(a.orders) ? num(a.orders.length) : num(a.orders)) },
              { title: 'First seen', render: (a) => date(a.first_seen) },
              { title: 'Last seen', render: (a) => date(a.last_seen) },
              {
                title: '',
                render: (a) => (
                  <InlineStack gap="100">
                    <Button size="slim" onClick={() => setDetail(a)}>
                      Evidence
                    </Button>
                    {a.kind === 'leaked_code' && a.code && (
                      <Button size="slim" tone="critical" onClick={() => disable(a)}>
                        Disable code
                      </Button>
                    )}
                  </InlineStack>
                ),
              },
            ]}
          />
        </States>
      </Card>
      <Modal open={!!detail} onClose={() => setDetail(undefined)} title={detail?.kind ?? ''}>
        <Modal.Section>
          <pre style={{ whiteSpace: 'pre-wrap', fontSize: 12 }}>{JSON.stringify(detail?.evidence ?? null, null, 2)}</pre>
        </Modal.Section>
      </Modal>
    </Page>
  );
}
