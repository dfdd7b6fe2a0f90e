import { useEffect, useState } from 'react';
import { del, patch, post, type List } from '../api/client';
import { useResource } from '../api/hooks';
import type { APIKey, Settings as SettingsT, WebhookEndpoint } from '../api/types';
import { Banner, BlockStack, Button, Card, FormLayout, InlineGrid, InlineStack, Layout, NotAvailable, Page, Select, States, StatusBadge, Table, Text, TextField, notify } from '../ui';
import { date } from '../format';

const policies = [
  { label: 'Coupon wins', value: 'coupon_wins' },
  { label: 'Click wins', value: 'click_wins' },
  { label: 'Per-partner rule', value: 'per_partner' },
  { label: 'Split credit', value: 'split' },
];
const modes = [
  { label: 'Shadow: score and record only', value: 'shadow' },
  { label: 'Enforce: flag, hold for review, auto-reject', value: 'enforce' },
];
const thresholdHelp: Record<string, string> = {
  flag: 'score at which a conversion is flagged',
  hold: 'score at which it is held for review',
  reject: 'score at which it is rejected automatically',
};

type Policy = string | { kind?: string; [k: string]: unknown } | null | undefined;
export const policyKind = (p: Policy) => (typeof p === 'string' ? p : p?.kind ?? 'coupon_wins');
const withKind = (p: Policy, kind: string) => (p && typeof p === 'object' ? { ...p, kind } : { kind });

function General() {
  const r = useResource<SettingsT>('/api/v1/settings');
  const [s, setS] = useState<SettingsT>();
  const [saving, setSaving] = useState(false);
  const [err, setErr] = useState<string>();
  useEffect(() => setS(r.data), [r.data]);
  if (r.error?.notAvailable) return <NotAvailable what="Settings" />;
  const save = async () => {
    if (!s) return;
    setSaving(true);
    setErr(undefined);
    try {
      const out = await patch<SettingsT>('/api/v1/settings', {
        hold_days: Number(s.hold_days),
        crediting_policy: s.crediting_policy,
        attribution_window_days: Number(s.attribution_window_days),
        abandoned_checkout_delay_minutes: Number(s.abandoned_checkout_delay_minutes),
        fraud: { ...s.fraud },
      });
      setS(out);
      notify('Settings saved');
    } catch (e) {
      setErr((e as Error).message);
    } finally {
      setSaving(false);
    }
  };
  const setF = (k: keyof SettingsT) => (v: string) => setS((x) => (x ? { ...x, [k]: v } : x));
  const thresholds = s?.fraud?.thresholds ?? {};
  return (
    <States what="Settings" loading={r.loading} error={r.error} hasData={!!r.data} empty={false} emptyHeading="" onRetry={r.reload}>
      {s && (
        <BlockStack gap="400">
          {err && <Banner tone="critical" title="Not saved">{err}</Banner>}
          <Card>
            <FormLayout>
              <Text as="h2" variant="headingMd">Attribution and hold</Text>
              <FormLayout.Group>
                <TextField label="Hold period (days)" type="number" value={String(s.hold_days ?? '')} onChange={setF('hold_days')} autoComplete="off" helpText="Conversions stay held until the refund window closes" />
                <TextField label="Attribution window (days)" type="number" value={String(s.attribution_window_days ?? '')} onChange={setF('attribution_window_days')} autoComplete="off" />
              </FormLayout.Group>
              <FormLayout.Group>
                <Select label="Crediting policy" options={policies} value={policyKind(s.crediting_policy as Policy)} onChange={(v) => setS({ ...s, crediting_policy: withKind(s.crediting_policy as Policy, v) as SettingsT['crediting_policy'] })} />
                <TextField label="Abandoned-cart delay (minutes)" type="number" value={String(s.abandoned_checkout_delay_minutes ?? '')} onChange={setF('abandoned_checkout_delay_minutes')} autoComplete="off" />
              </FormLayout.Group>
            </FormLayout>
          </Card>
          <Card>
            <FormLayout>
              <Text as="h2" variant="headingMd">Fraud protection</Text>
              <Select label="Mode" options={modes} value={s.fraud?.mode ?? 'shadow'} onChange={(v) => setS({ ...s, fraud: { ...s.fraud, mode: v } })} />
              <InlineGrid columns={{ xs: 1, md: 3 }} gap="300">
                {Object.entries(thresholds).map(([k, v]) => (
                  <TextField key={k} label={`${k[0].toUpperCase()}${k.slice(1)} threshold`} helpText={thresholdHelp[k]} type="number" value={String(v)} autoComplete="off" onChange={(nv) => setS({ ...s, fraud: { ...s.fraud, thresholds: { ...thresholds, [k]: Number(nv) } } })} />
                ))}
              </InlineGrid>
            </FormLayout>
          </Card>
          <InlineStack align="end">
            <Button variant="primary" onClick={save} loading={saving}>
              Save settings
            </Button>
          </InlineStack>
        </BlockStack>
      )}
    </States>
  );
}

function APIKeys() {
  const r = useResource<List<APIKey>>('/api/v1/api-keys');
  const [name, setName] = useState('');
  const [created, setCreated] = useState<string>();
  const items = r.data?.items ?? [];
  const create = async () => {
    try {
      const k = await post<APIKey>('/api/v1/api-keys', { name });
      setCreated(k.key);
      setName('');
      r.reload();
    } catch (e) {
      notify((e as Error).message, true);
    }
  };
  const revoke = async (k: APIKey) => {
    try {
      await del(`/api/v1/api-keys/${k.id}`);
      r.reload();
    } catch (e) {
      notify((e as Error).message, true);
    }
  };
  return (
    <Card>
      <BlockStack gap="300">
        <Text as="h2" variant="headingMd">API keys</Text>
        <Text as="p" tone="subdued">For CRMs, email/SMS tools and Shopify Flow calling the issue API.</Text>
        {created && (
          <Banner tone="success" title="Copy this key now; it is not shown again" onDismiss={() => setCreated(undefined)}>
            <code style={{ wordBreak: 'break-all' }}>{created}</code>
          </Banner>
        )}
        <InlineStack gap="200" blockAlign="end">
          <TextField label="Key name" value={name} onChange={setName} autoComplete="off" />
          <Button onClick={create} disabled={!name}>
            Create key
          </Button>
        </InlineStack>
        <States what="API keys" loading={r.loading} error={r.error} hasData={!!r.data} empty={items.length === 0} emptyHeading="No API keys" onRetry={r.reload}>
          <Table
            rows={items}
            columns={[
              { title: 'Name', render: (k) => k.name },
              { title: 'Prefix', render: (k) => <code>{k.prefix}</code> },
              { title: 'Created', render: (k) => date(k.created_at) },
              { title: 'Last used', render: (k) => date(k.last_used_at) },
              { title: 'Status', render: (k) => <StatusBadge status={k.revoked_at ? 'revoked' : 'active'} /> },
              { title: '', render: (k) => (!k.revoked_at ? <Button size="slim" tone="critical" onClick={() => revoke(k)}>Revoke</Button> : null) },
            ]}
          />
        </States>
      </BlockStack>
    </Card>
  );
}

const events = ['code.issued', 'code.redeemed', 'code.expired', 'code.disabled', 'conversion.created', 'conversion.approved', 'conversion.reversed', 'fraud.alert'];

function Webhooks() {
  const r = useResource<List<WebhookEndpoint>>('/api/v1/webhook-endpoints');
  const [url, setUrl] = useState('');
  const [secret, setSecret] = useState<string>();
  const items = r.data?.items ?? [];
  const create = async () => {
    try {
      const w = await post<WebhookEndpoint>('/api/v1/webhook-endpoints', { url, events });
      setSecret(w.secret);
      setUrl('');
      r.reload();
    } catch (e) {
      notify((e as Error).message, true);
    }
  };
  const remove = async (w: WebhookEndpoint) => {
    try {
      await del(`/api/v1/webhook-endpoints/${w.id}`);
      r.reload();
    } catch (e) {
      notify((e as Error).message, true);
    }
  };
  return (
    <Card>
      <BlockStack gap="300">
        <Text as="h2" variant="headingMd">Outbound webhooks</Text>
        {secret && (
          <Banner tone="success" title="Signing secret (shown once)" onDismiss={() => setSecret(undefined)}>
            <code style={{ wordBreak: 'break-all' }}>{secret}</code>
          </Banner>
        )}
        <InlineStack gap="200" blockAlign="end">
          <TextField label="Endpoint URL" value={url} onChange={setUrl} autoComplete="off" placeholder="https://example.com/hooks" />
          <Button onClick={create} disabled={!url}>
            Add endpoint
          </Button>
        </InlineStack>
        <States what="Webhook endpoints" loading={r.loading} error={r.error} hasData={!!r.data} empty={items.length === 0} emptyHeading="No endpoints" onRetry={r.reload}>
          <Table
            rows={items}
            columns={[
              { title: 'URL', render: (w) => w.url },
              { title: 'Events', render: (w) => (w.events ?? []).join(', ') },
              { title: 'Created', render: (w) => date(w.created_at) },
              { title: '', render: (w) => <Button size="slim" tone="critical" onClick={() => remove(w)}>Delete</Button> },
            ]}
          />
        </States>
      </BlockStack>
    </Card>
  );
}

export function Settings() {
  return (
    <Page title="Settings">
      <Layout>
        <Layout.Section>
          <General />
        </Layout.Section>
        <Layout.Section>
          <BlockStack gap="400">
            <APIKeys />
            <Webhooks />
          </BlockStack>
        </Layout.Section>
      </Layout>
    </Page>
  );
}
