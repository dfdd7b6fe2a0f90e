import { useEffect, useState } from 'react';
import { useParams } from 'react-router-dom';
import { download, get, post, type List } from '../api/client';
import { useResource } from '../api/hooks';
import type { Campaign, CodeBatch, IssuedCode } from '../api/types';
import {
  Banner,
  BlockStack,
  Button,
  Card,
  InlineGrid,
  InlineStack,
  Layout,
  Page,
  ProgressBar,
  Select,
  States,
  StatusBadge,
  Table,
  Text,
  TextField,
  notify,
} from '../ui';
import { date, num, pct } from '../format';
import { CampaignActions, discountLabel } from './Campaigns';
import { CartRecovery } from './CartRecovery';

const channels = ['email', 'sms', 'whatsapp', 'push', 'affiliate', 'influencer', 'paid', 'organic', 'tv', 'other'];
const finished = (s: string) => s === 'done' || s === 'failed';

// BatchProgress polls one code batch until it is done or failed.
export function BatchProgress({ id, onDone }: { id: string; onDone?: () => void }) {
  const [b, setB] = useState<CodeBatch>();
  const [err, setErr] = useState<string>();
  useEffect(() => {
    let stop = false;
    let timer: number | undefined;
    const tick = async () => {
      try {
        const nb = await get<CodeBatch>(`/api/v1/code-batches/${id}`);
        if (stop) return;
        setB(nb);
        setErr(undefined);
        if (finished(nb.status)) {
          onDone?.();
          return;
        }
      } catch (e) {
        if (stop) return;
        setErr((e as Error).message);
      }
      timer = window.setTimeout(tick, 800);
    };
    tick();
    return () => {
      stop = true;
      window.clearTimeout(timer);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [id]);
  if (!b) return <Text as="p" tone="subdued">{err ?? 'Starting…'}</Text>;
  const total = Math.max(1, b.requested);
  const generatedPct = Math.round((100 * b.generated) / total);
  const pushedPct = Math.round((100 * b.pushed) / total);
  return (
    <div data-batch={b.id} data-status={b.status}>
      <BlockStack gap="200">
        <InlineStack align="space-between">
          <Text as="span" variant="bodyMd">
            Batch {b.id} · {num(b.requested)} codes
          </Text>
          <StatusBadge status={b.status} />
        </InlineStack>
        <Text as="span" variant="bodySm" tone="subdued">Generated {num(b.generated)} ({generatedPct}%)</Text>
        <ProgressBar progress={generatedPct} size="small" tone={b.status === 'failed' ? 'critical' : 'primary'} />
        <Text as="span" variant="bodySm" tone="subdued">
          Live in Shopify {num(b.pushed)} ({pushedPct}%){b.failed ? ` · ${num(b.failed)} failed` : ''}
        </Text>
        <ProgressBar progress={pushedPct} size="small" tone={b.status === 'failed' ? 'critical' : 'success'} />
        {b.error && <Text as="p" tone="critical">{b.error}</Text>}
      </BlockStack>
    </div>
  );
}

function Generate({ c, onBatch }: { c: Campaign; onBatch: (id: string) => void }) {
  const [count, setCount] = useState('100');
  const [channel, setChannel] = useState('email');
  const [busy, setBusy] = useState(false);
  const go = async () => {
    setBusy(true);
    try {
      const b = await post<CodeBatch>(`/api/v1/campaigns/${c.id}/codes`, { count: Number(count), channel, partner_id: c.partner_id });
      onBatch(b.id);
    } catch (e) {
      notify((e as Error).message, true);
    } finally {
      setBusy(false);
    }
  };
  return (
    <BlockStack gap="300">
      <InlineGrid columns={2} gap="300">
        <TextField label="Number of codes" type="number" value={count} onChange={setCount} autoComplete="off" />
        <Select label="Channel" options={channels} value={channel} onChange={setChannel} />
      </InlineGrid>
      <InlineStack gap="200">
        <Button variant="primary" onClick={go} loading={busy}>
          Generate codes
        </Button>
        <Button onClick={() => download(`/api/v1/campaigns/${c.id}/codes.csv`, `${c.name}-codes.csv`).catch((e) => notify(e.message, true))}>
          Export CSV
        </Button>
      </InlineStack>
    </BlockStack>
  );
}

function Issue({ c }: { c: Campaign }) {
  const [email, setEmail] = useState('');
  const [channel, setChannel] = useState('email');
  const [out, setOut] = useState<IssuedCode>();
  const [err, setErr] = useState<string>();
  const go = async () => {
    setErr(undefined);
    try {
      setOut(await post<IssuedCode>('/api/v1/codes/issue', { campaign_id: c.id, customer_email: email || undefined, channel }));
    } catch (e) {
      setOut(undefined);
      setErr((e as Error).message);
    }
  };
  return (
    <BlockStack gap="300">
      <InlineGrid columns={2} gap="300">
        <TextField label="Shopper email" value={email} onChange={setEmail} autoComplete="off" />
        <Select label="Channel" options={channels} value={channel} onChange={setChannel} />
      </InlineGrid>
      <div>
        <Button onClick={go} disabled={c.status !== 'active'}>
          Issue a code
        </Button>
      </div>
      {c.status !== 'active' && <Text as="p" tone="subdued">Activate the campaign to issue codes.</Text>}
      {err && <Banner tone="critical">{err}</Banner>}
      {out?.holdout && <Banner tone="info">This shopper is in the holdout (control) group: no code.</Banner>}
      {out?.code && (
        <div data-issued-code={out.code}>
          <Banner tone="success" title={out.code}>
            <p>Expires {date(out.expires_at)}</p>
            <p style={{ wordBreak: 'break-all' }}>{out.share_url}</p>
          </Banner>
        </div>
      )}
    </BlockStack>
  );
}

export function CampaignDetail() {
  const { id } = useParams();
  const r = useResource<Campaign>(`/api/v1/campaigns/${id}`);
  const batches = useResource<List<CodeBatch>>(`/api/v1/code-batches?campaign_id=${id}&limit=20`);
  const [running, setRunning] = useState<string[]>([]);
  const c = r.data;
  const past = (batches.data?.items ?? []).filter((b) => b.campaign_id === id);
  return (
    <Page
      title={c?.name ?? 'Campaign'}
      titleMetadata={c && <StatusBadge status={c.status} />}
      backAction={{ content: 'Campaigns', url: '/campaigns' + window.location.search }}
      secondaryActions={c ? <CampaignActions c={c} onChange={r.reload} /> : undefined}
    >
      <States what="Campaign" loading={r.loading} error={r.error} hasData={!!c} empty={false} emptyHeading="" onRetry={r.reload}>
        {c && (
          <Layout>
            <Layout.Section>
              <BlockStack gap="400">
                <Card>
                  <BlockStack gap="300">
                    <Text as="h2" variant="headingMd">Generate codes</Text>
                    <Generate c={c} onBatch={(b) => setRunning((xs) => [b, ...xs])} />
                    {running.map((b) => (
                      <BatchProgress
                        key={b}
                        id={b}
                        onDone={() => {
                          batches.reload();
                          r.reload();
                        }}
                      />
                    ))}
                  </BlockStack>
                </Card>
                {c.goal === 'cart_recovery' && <CartRecovery campaignId={c.id} />}
                <Card>
                  <BlockStack gap="300">
                    <Text as="h2" variant="headingMd">Issue a code to one shopper</Text>
                    <Issue c={c} />
                  </BlockStack>
                </Card>
                <Card padding="0">
                  <div style={{ padding: 16 }}>
                    <Text as="h2" variant="headingMd">Code batches</Text>
                  </div>
                  <States what="Code batches" loading={batches.loading} error={batches.error} hasData={!!batches.data} empty={past.length === 0} emptyHeading="No code batches yet" onRetry={batches.reload}>
                    <Table
                      rows={past}
                      columns={[
                        { title: 'Batch', render: (b) => b.id },
                        { title: 'Channel', render: (b) => b.channel },
                        { title: 'Status', render: (b) => <StatusBadge status={b.status} /> },
                        { title: 'Requested', numeric: true, render: (b) => num(b.requested) },
                        { title: 'Live', numeric: true, render: (b) => num(b.pushed) },
                        { title: 'Failed', numeric: true, render: (b) => num(b.failed) },
                        { title: 'Created', render: (b) => date(b.created_at) },
                      ]}
                    />
                  </States>
                </Card>
              </BlockStack>
            </Layout.Section>
            <Layout.Section variant="oneThird">
              <Card>
                <BlockStack gap="200">
                  <Text as="h2" variant="headingMd">Details</Text>
                  <Text as="p">Goal: {c.goal}</Text>
                  <Text as="p">Discount: {discountLabel(c)}</Text>
                  <Text as="p">
                    Codes: {c.code.prefix || '(no prefix)'} · {c.code.length} chars{c.code.check_char ? ' · check char' : ''}
                  </Text>
                  <Text as="p">
                    Usage: {c.usage.single_use ? 'single use' : 'multi use'}
                    {c.usage.once_per_customer ? ', once per customer' : ''}
                    {c.usage.total_cap ? `, cap ${num(c.usage.total_cap)}` : ''}
                  </Text>
                  <Text as="p">Countries: {c.rules.countries?.join(', ') || 'any'}</Text>
                  <Text as="p">Devices: {c.rules.devices?.join(', ') || 'any'}</Text>
                  <Text as="p">Traffic sources: {c.rules.traffic_sources?.join(', ') || 'any'}</Text>
                  <Text as="p">Holdout: {pct(c.holdout, 0)}</Text>
                  <Text as="p">Hold days: {c.hold_days ?? 'shop default'}</Text>
                  <Text as="p">Starts {date(c.starts_at)} · ends {date(c.ends_at)}</Text>
                  {c.sync && (
                    <InlineStack gap="200">
                      <Text as="span">Shopify sync:</Text> <StatusBadge status={c.sync.status} />
                    </InlineStack>
                  )}
                  {c.sync?.error && <Text as="p" tone="critical">{c.sync.error}</Text>}
                </BlockStack>
              </Card>
            </Layout.Section>
          </Layout>
        )}
      </States>
    </Page>
  );
}
