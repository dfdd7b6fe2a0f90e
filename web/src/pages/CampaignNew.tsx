import { useState } from 'react';
import { useNavigate } from 'react-router-dom';
import { post, type List } from '../api/client';
import { useResource } from '../api/hooks';
import type { Campaign, Partner } from '../api/types';
import { Banner, BlockStack, Card, Checkbox, FormLayout, InlineGrid, Page, Select, Text, TextField, notify } from '../ui';

const goals = ['acquisition', 'retention', 'cart_recovery', 'win_back', 'partner'];
const list = (s: string) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

export function CampaignNew() {
  const nav = useNavigate();
  const partners = useResource<List<Partner>>('/api/v1/partners?limit=200');
  const [f, setF] = useState({
    name: '',
    goal: 'acquisition',
    partner_id: '',
    type: 'percentage',
    value: '15',
    min_subtotal: '',
    prefix: '',
    length: '10',
    check_char: false,
    single_use: true,
    once_per_customer: true,
    total_cap: '',
    budget: '',
    countries: '',
    devices: '',
    traffic_sources: '',
    holdout: '0',
    hold_days: '',
    code_ttl_hours: '',
  });
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<string>();
  const set = (k: keyof typeof f) => (v: string | boolean) => setF((x) => ({ ...x, [k]: v }));

  const submit = async () => {
    setSaving(true);
    setError(undefined);
    const body = {
      name: f.name,
      goal: f.goal,
      partner_id: f.partner_id || null,
      discount: {
        type: f.type,
        value: f.type === 'free_shipping' ? 0 : Number(f.value),
        min_subtotal: f.min_subtotal || null,
      },
      code: { prefix: f.prefix, length: Number(f.length), check_char: f.check_char },
      usage: {
        single_use: f.single_use,
        once_per_customer: f.once_per_customer,
        total_cap: f.total_cap ? Number(f.total_cap) : null,
        budget: f.budget || null,
      },
      rules: { countries: list(f.countries), devices: list(f.devices), traffic_sources: list(f.traffic_sources) },
      holdout: Number(f.holdout) / 100,
      hold_days: f.hold_days ? Number(f.hold_days) : null,
      code_ttl_hours: f.code_ttl_hours ? Number(f.code_ttl_hours) : null,
    };
    try {
      const c = await post<Campaign>('/api/v1/campaigns', body);
      notify('Campaign created');
      nav(`/campaigns/${c.id}${window.location.search}`);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setSaving(false);
    }
  };

  return (
    <Page
      title="Create campaign"
      backAction={{ content: 'Campaigns', url: '/campaigns' + window.location.search }}
      primaryAction={{ content: 'Save', onAction: submit, loading: saving, disabled: !f.name }}
    >
      <BlockStack gap="400">
        {error && (
          <Banner tone="critical" title="The campaign was not saved">
            <p>{error}</p>
          </Banner>
        )}
        <Card>
          <FormLayout>
            <TextField label="Name" value={f.name} onChange={set('name')} autoComplete="off" />
            <FormLayout.Group>
              <Select label="Goal" options={goals.map((g) => ({ label: g.replace('_', ' '), value: g }))} value={f.goal} onChange={set('goal')} />
              <Select
                label="Partner"
                options={[{ label: 'None', value: '' }, ...(partners.data?.items ?? []).map((p) => ({ label: p.name, value: p.id }))]}
                value={f.partner_id}
                onChange={set('partner_id')}
              />
            </FormLayout.Group>
          </FormLayout>
        </Card>
        <Card>
          <BlockStack gap="300">
            <Text as="h2" variant="headingMd">Discount</Text>
            <InlineGrid columns={3} gap="300">
              <Select
                label="Type"
                options={[
                  { label: 'Percentage', value: 'percentage' },
                  { label: 'Fixed amount', value: 'fixed_amount' },
                  { label: 'Free shipping', value: 'free_shipping' },
                ]}
                value={f.type}
                onChange={set('type')}
              />
              <TextField label="Value" type="number" value={f.value} onChange={set('value')} autoComplete="off" disabled={f.type === 'free_shipping'} />
              <TextField label="Minimum subtotal" value={f.min_subtotal} onChange={set('min_subtotal')} autoComplete="off" placeholder="50.00" />
            </InlineGrid>
          </BlockStack>
        </Card>
        <Card>
          <BlockStack gap="300">
            <Text as="h2" variant="headingMd">Codes and usage</Text>
            <InlineGrid columns={3} gap="300">
              <TextField label="Prefix" value={f.prefix} onChange={set('prefix')} autoComplete="off" />
              <TextField label="Length" type="number" value={f.length} onChange={set('length')} autoComplete="off" />
              <TextField label="Code lifetime (hours)" type="number" value={f.code_ttl_hours} onChange={set('code_ttl_hours')} autoComplete="off" />
            </InlineGrid>
            <InlineGrid columns={3} gap="300">
              <Checkbox label="Check character" checked={f.check_char} onChange={set('check_char')} />
              <Checkbox label="Single use" checked={f.single_use} onChange={set('single_use')} />
              <Checkbox label="Once per customer" checked={f.once_per_customer} onChange={set('once_per_customer')} />
            </InlineGrid>
            <InlineGrid columns={2} gap="300">
              <TextField label="Total redemption cap" type="number" value={f.total_cap} onChange={set('total_cap')} autoComplete="off" />
              <TextField label="Budget" value={f.budget} onChange={set('budget')} autoComplete="off" />
            </InlineGrid>
          </BlockStack>
        </Card>
        <Card>
          <BlockStack gap="300">
            <Text as="h2" variant="headingMd">Rules, experiment and hold</Text>
            <InlineGrid columns={3} gap="300">
              <TextField label="Countries" helpText="comma separated, e.g. US, CA" value={f.countries} onChange={set('countries')} autoComplete="off" />
              <TextField label="Devices" helpText="mobile, desktop, tablet" value={f.devices} onChange={set('devices')} autoComplete="off" />
              <TextField label="Traffic sources" helpText="email, affiliate, ..." value={f.traffic_sources} onChange={set('traffic_sources')} autoComplete="off" />
            </InlineGrid>
            <InlineGrid columns={2} gap="300">
              <TextField label="Holdout (%)" type="number" value={f.holdout} onChange={set('holdout')} autoComplete="off" helpText="share of shoppers kept as a control group" />
              <TextField label="Hold days" type="number" value={f.hold_days} onChange={set('hold_days')} autoComplete="off" helpText="empty: the shop's setting" />
            </InlineGrid>
          </BlockStack>
        </Card>
      </BlockStack>
    </Page>
  );
}
