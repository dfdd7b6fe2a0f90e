import { useState } from 'react';
import { download, post, type List } from '../api/client';
import { useResource } from '../api/hooks';
import type { Partner, Statement } from '../api/types';
import { Banner, BlockStack, Button, Card, FormLayout, InlineStack, Modal, Page, Select, States, StatusBadge, Table, Text, TextField, notify } from '../ui';
import { isoDay, money, num } from '../format';

function NewPartner({ open, onClose, onSaved }: { open: boolean; onClose: () => void; onSaved: () => void }) {
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [kind, setKind] = useState('affiliate');
  const [mode, setMode] = useState('percent');
  const [value, setValue] = useState('10');
  const [err, setErr] = useState<string>();
  const save = async () => {
    setErr(undefined);
    try {
      await post('/api/v1/partners', {
        name,
        email,
        kind,
        commission: mode === 'percent' ? { percent: Number(value) } : { fixed: value },
      });
      notify('Partner added');
      onSaved();
      onClose();
    } catch (e) {
      setErr((e as Error).message);
    }
  };
  return (
    <Modal open={open} onClose={onClose} title="Add partner" primaryAction={{ content: 'Save', onAction: save, disabled: !name }} secondaryActions={[{ content: 'Cancel', onAction: onClose }]}>
      <Modal.Section>
        <FormLayout>
          {err && <Banner tone="critical">{err}</Banner>}
          <TextField label="Name" value={name} onChange={setName} autoComplete="off" />
          <TextField label="Email" value={email} onChange={setEmail} autoComplete="off" />
          <Select label="Kind" options={['affiliate', 'influencer', 'agency']} value={kind} onChange={setKind} />
          <FormLayout.Group>
            <Select label="Commission" options={[{ label: '% of net revenue', value: 'percent' }, { label: 'Fixed per conversion', value: 'fixed' }]} value={mode} onChange={setMode} />
            <TextField label="Value" value={value} onChange={setValue} autoComplete="off" />
          </FormLayout.Group>
        </FormLayout>
      </Modal.Section>
    </Modal>
  );
}

function commission(p: Partner): string {
  if (!p.commission) return '—';
  if (p.commission.percent !== undefined) return `${p.commission.percent}%`;
  return `${money(p.commission.fixed, p.currency)} / conversion`;
}

export function Partners() {
  const [adding, setAdding] = useState(false);
  const partners = useResource<List<Partner>>('/api/v1/partners?limit=200');
  const statements = useResource<List<Statement>>('/api/v1/payouts/statements?limit=100');
  const items = partners.data?.items ?? [];
  const names = new Map(items.map((p) => [p.id, p.name]));
  const st = statements.data?.items ?? [];
  const createStatements = async () => {
    const end = new Date();
    const start = new Date(end.getFullYear(), end.getMonth() - 1, 1);
    const endPrev = new Date(end.getFullYear(), end.getMonth(), 0);
    try {
      await post('/api/v1/payouts/statements', { period_start: isoDay(start), period_end: isoDay(endPrev) });
      notify('Statements created');
      statements.reload();
    } catch (e) {
      notify((e as Error).message, true);
    }
  };
  const markPaid = async (s: Statement) => {
    try {
      await post(`/api/v1/payouts/statements/${s.id}/paid`);
      statements.reload();
    } catch (e) {
      notify((e as Error).message, true);
    }
  };
  return (
    <Page title="Partners and payouts" primaryAction={{ content: 'Add partner', onAction: () => setAdding(true) }}>
      <BlockStack gap="400">
        <Card padding="0">
          <States what="Partners" loading={partners.loading} error={partners.error} hasData={!!partners.data} empty={items.length === 0} emptyHeading="No partners yet" emptyBody="Affiliates, influencers and agencies you pay on attributed net revenue." emptyAction={{ content: 'Add partner', onAction: () => setAdding(true) }} onRetry={partners.reload}>
            <Table
              rows={items}
              columns={[
                { title: 'Name', render: (p) => p.name },
                { title: 'Kind', render: (p) => p.kind },
                { title: 'Email', render: (p) => p.email || '—' },
                { title: 'Commission', render: (p) => commission(p) },
                { title: 'Status', render: (p) => <StatusBadge status={p.status} /> },
              ]}
            />
          </States>
        </Card>
        <Card padding="0">
          <div style={{ padding: 16 }}>
            <InlineStack align="space-between" blockAlign="center">
              <Text as="h2" variant="headingMd">Payout statements</Text>
              <Button onClick={createStatements}>Create last month's statements</Button>
            </InlineStack>
          </div>
          <States what="Statements" loading={statements.loading} error={statements.error} hasData={!!statements.data} empty={st.length === 0} emptyHeading="No statements yet" emptyBody="Statements sum approved conversions minus clawbacks per partner and period." onRetry={statements.reload}>
            <Table
              rows={st}
              columns={[
                { title: 'Partner', render: (s) => names.get(s.partner_id) ?? s.partner_id },
                { title: 'Period', render: (s) => `${s.period_start.slice(0, 10)} – ${s.period_end.slice(0, 10)}` },
                { title: 'Conversions', numeric: true, render: (s) => num(s.conversions) },
                { title: 'Commission', numeric: true, render: (s) => money(s.commission, s.currency) },
                { title: 'Clawbacks', numeric: true, render: (s) => money(s.clawbacks, s.currency) },
                { title: 'Total', numeric: true, render: (s) => money(s.total, s.currency) },
                { title: 'Status', render: (s) => <StatusBadge status={s.status} /> },
                {
                  title: '',
                  render: (s) => (
                    <InlineStack gap="100">
                      <Button size="slim" onClick={() => download(`/api/v1/payouts/statements/${s.id}/csv`, `statement-${s.id}.csv`).catch((e) => notify(e.message, true))}>
                        CSV
                      </Button>
                      {!s.paid_at && (
                        <Button size="slim" onClick={() => markPaid(s)}>
                          Mark paid
                        </Button>
                      )}
                    </InlineStack>
                  ),
                },
              ]}
            />
          </States>
        </Card>
      </BlockStack>
      <NewPartner open={adding} onClose={() => setAdding(false)} onSaved={partners.reload} />
    </Page>
  );
}
