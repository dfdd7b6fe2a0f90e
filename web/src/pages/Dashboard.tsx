import { useMemo, useState } from 'react';
import { useResource } from '../api/hooks';
import { qs } from '../api/client';
import type { LTVReport, Metrics, Overview, Summary, Timeseries } from '../api/types';
import { BlockStack, Card, InlineGrid, InlineStack, Layout, NotAvailable, Page, Select, States, Table, Tabs, Text, Tile } from '../ui';
import { Bars, Line } from '../ui/charts';
import { date, isoDay, money, num, pct, ratio } from '../format';

const ranges = [
  { label: 'Last 7 days', value: '7' },
  { label: 'Last 30 days', value: '30' },
  { label: 'Last 90 days', value: '90' },
  { label: 'Last 365 days', value: '365' },
];
const emptyMetrics: Metrics = {
  redemptions: 0, orders: 0, gross_revenue: '0', net_revenue: '0', discount_cost: '0', commission: '0', roas: null, aov: '0',
  held: '0', approved: '0', reversed: '0', fraud_flagged: 0,
};
const groups = ['campaign', 'partner', 'channel', 'day'] as const;

const n = (s: string | number | null | undefined) => (s === null || s === undefined || s === '' ? null : Number(s));

function Tiles({ m, o, currency }: { m: Metrics; o: Overview; currency: string }) {
  const flagged = o.fraud?.flagged_30_days ?? m.fraud_flagged;
  return (
    <InlineGrid columns={{ xs: 2, sm: 3, md: 4, lg: 6 }} gap="300">
      <Tile label="Redemptions" value={num(m.redemptions)} hint={`${num(m.orders)} orders`} />
      <Tile label="Net revenue" value={money(m.net_revenue, currency)} hint={`gross ${money(m.gross_revenue, currency)}`} />
      <Tile label="ROAS" value={ratio(m.roas)} hint="net revenue / (discount + commission)" />
      <Tile label="AOV" value={money(m.aov, currency)} />
      <Tile label="Discount cost" value={money(m.discount_cost, currency)} />
      <Tile label="Commission" value={money(m.commission, currency)} />
      <Tile label="Held" value={money(m.held, currency)} hint={m.held_orders !== undefined ? `${num(m.held_orders)} conversions` : undefined} />
      <Tile label="Approved" value={money(m.approved, currency)} hint={m.approved_orders !== undefined ? `${num(m.approved_orders)} conversions` : undefined} />
      <Tile label="Reversed" value={money(m.reversed, currency)} hint={m.reversed_orders !== undefined ? `${num(m.reversed_orders)} conversions` : undefined} />
      <Tile label="Incremental lift" value={o.incremental_lift === null || o.incremental_lift === undefined ? '—' : pct(o.incremental_lift)} hint={o.incremental_lift == null ? 'needs a holdout experiment' : 'from holdouts'} />
      <Tile label="Fraud flagged" value={num(flagged)} hint={o.fraud?.rejected_30_days !== undefined ? `${num(o.fraud.rejected_30_days)} rejected` : undefined} />
      <Tile label="Fraud today" value={num(o.fraud?.flagged_today ?? 0)} />
    </InlineGrid>
  );
}

export function Dashboard() {
  const [range, setRange] = useState('30');
  const [groupIdx, setGroupIdx] = useState(0);
  const { from, to } = useMemo(() => {
    const t = new Date();
    const f = new Date(t.getTime() - (Number(range) - 1) * 86400000);
    return { from: isoDay(f), to: isoDay(t) };
  }, [range]);
  const group = groups[groupIdx];
  const overview = useResource<Overview>('/api/v1/reports/overview', 5000);
  const series = useResource<Timeseries>(`/api/v1/reports/timeseries${qs({ from, to })}`, 15000);
  const summary = useResource<Summary>(`/api/v1/reports/summary${qs({ group_by: group, from, to })}`, 15000);
  const ltv = useResource<LTVReport>(`/api/v1/reports/ltv${qs({ group_by: group === 'day' ? 'campaign' : group })}`);

  const points = series.data?.points ?? [];
  const cur = overview.data?.currency ?? series.data?.currency ?? summary.data?.currency ?? 'USD';
  const line = (name: string, pick: (p: Metrics) => string | number | null) => ({
    name,
    data: points.map((p) => ({ key: p.day, value: n(pick(p)) })),
  });
  const rows = summary.data?.rows ?? [];
  const top = rows.slice(0, 10);

  return (
    <Page
      title="Dashboard"
      subtitle={overview.data?.as_of ? `as of ${date(overview.data.as_of)} UTC` : undefined}
      secondaryActions={<Select label="Range" labelInline options={ranges} value={range} onChange={setRange} />}
    >
      <BlockStack gap="400">
        <div data-section="tiles">
          <States
            minHeight={184}
            what="Overview"
            loading={overview.loading}
            error={overview.error}
            hasData={!!overview.data}
            empty={false}
            emptyHeading=""
            onRetry={overview.reload}
          >
            {overview.data && <Tiles m={overview.data.last_30_days ?? overview.data.today ?? emptyMetrics} o={overview.data} currency={cur} />}
          </States>
        </div>
        <Layout>
          <Layout.Section variant="oneHalf">
            <Card>
              <BlockStack gap="200">
                <Text as="h2" variant="headingMd">Revenue over time</Text>
                <States minHeight={260} what="Time series" loading={series.loading} error={series.error} hasData={!!series.data} empty={points.length === 0} emptyHeading="No orders in this range yet" onRetry={series.reload}>
                  <Line series={[line('Net revenue', (p) => p.net_revenue), line('Gross revenue', (p) => p.gross_revenue)]} />
                </States>
              </BlockStack>
            </Card>
          </Layout.Section>
          <Layout.Section variant="oneHalf">
            <Card>
              <BlockStack gap="200">
                <Text as="h2" variant="headingMd">Cost over time</Text>
                <States minHeight={260} what="Time series" loading={series.loading} error={series.error} hasData={!!series.data} empty={points.length === 0} emptyHeading="No orders in this range yet" onRetry={series.reload}>
                  <Line series={[line('Discount cost', (p) => p.discount_cost), line('Commission', (p) => p.commission)]} />
                </States>
              </BlockStack>
            </Card>
          </Layout.Section>
          <Layout.Section variant="oneHalf">
            <Card>
              <BlockStack gap="200">
                <Text as="h2" variant="headingMd">Redemptions and fraud</Text>
                <States minHeight={260} what="Time series" loading={series.loading} error={series.error} hasData={!!series.data} empty={points.length === 0} emptyHeading="No redemptions in this range yet" onRetry={series.reload}>
                  <Bars series={[line('Redemptions', (p) => p.redemptions), line('Fraud flagged', (p) => p.fraud_flagged)]} />
                </States>
              </BlockStack>
            </Card>
          </Layout.Section>
          <Layout.Section variant="oneHalf">
            <Card>
              <BlockStack gap="200">
                <Text as="h2" variant="headingMd">ROAS over time</Text>
                <States minHeight={260} what="Time series" loading={series.loading} error={series.error} hasData={!!series.data} empty={points.length === 0} emptyHeading="No orders in this range yet" onRetry={series.reload}>
                  <Line series={[line('ROAS', (p) => p.roas)]} />
                </States>
              </BlockStack>
            </Card>
          </Layout.Section>
          <Layout.Section variant="oneHalf">
            <Card>
              <BlockStack gap="200">
                <Text as="h2" variant="headingMd">Average order value</Text>
                <States minHeight={260} what="Time series" loading={series.loading} error={series.error} hasData={!!series.data} empty={points.length === 0} emptyHeading="No orders in this range yet" onRetry={series.reload}>
                  <Line series={[line('AOV', (p) => p.aov)]} />
                </States>
              </BlockStack>
            </Card>
          </Layout.Section>
          <Layout.Section variant="oneHalf">
            <Card>
              <BlockStack gap="200">
                <Text as="h2" variant="headingMd">Held, approved and reversed</Text>
                <States minHeight={260} what="Time series" loading={series.loading} error={series.error} hasData={!!series.data} empty={points.length === 0} emptyHeading="No conversions in this range yet" onRetry={series.reload}>
                  <Line series={[line('Held', (p) => p.held), line('Approved', (p) => p.approved), line('Reversed', (p) => p.reversed)]} />
                </States>
              </BlockStack>
            </Card>
          </Layout.Section>
        </Layout>
        <Card padding="0">
          <Tabs tabs={groups.map((g) => ({ id: g, content: `By ${g}` }))} selected={groupIdx} onSelect={setGroupIdx} />
          <BlockStack gap="300">
            <States what="Summary" loading={summary.loading} error={summary.error} hasData={!!summary.data} empty={rows.length === 0} emptyHeading={`No results by ${group} yet`} onRetry={summary.reload}>
              {group !== 'day' && top.length > 0 && (
                <div style={{ padding: 16 }}>
                  <Bars horizontal height={Math.max(160, top.length * 36)} series={[{ name: 'Net revenue', data: top.map((r) => ({ key: r.label || r.key, value: n(r.net_revenue) })) }]} />
                </div>
              )}
              <Table
                rows={rows}
                columns={[
                  { title: group, render: (r) => r.label || r.key },
                  { title: 'Redemptions', numeric: true, render: (r) => num(r.redemptions) },
                  { title: 'Orders', numeric: true, render: (r) => num(r.orders) },
                  { title: 'Net revenue', numeric: true, render: (r) => money(r.net_revenue, cur) },
                  { title: 'Discount cost', numeric: true, render: (r) => money(r.discount_cost, cur) },
                  { title: 'Commission', numeric: true, render: (r) => money(r.commission, cur) },
                  { title: 'ROAS', numeric: true, render: (r) => ratio(r.roas) },
                  { title: 'AOV', numeric: true, render: (r) => money(r.aov, cur) },
                  { title: 'Held', numeric: true, render: (r) => money(r.held, cur) },
                  { title: 'Reversed', numeric: true, render: (r) => money(r.reversed, cur) },
                  { title: 'Fraud', numeric: true, render: (r) => num(r.fraud_flagged) },
                ]}
              />
            </States>
          </BlockStack>
        </Card>
        <Card>
          <BlockStack gap="200">
            <InlineStack align="space-between">
              <Text as="h2" variant="headingMd">Customer lifetime value by acquisition {group === 'day' ? 'campaign' : group}</Text>
            </InlineStack>
            {ltv.error?.notAvailable ? (
              <NotAvailable what="Lifetime value" />
            ) : (
              <States what="Lifetime value" loading={ltv.loading} error={ltv.error} hasData={!!ltv.data} empty={(ltv.data?.rows ?? []).length === 0} emptyHeading="No acquired customers yet" onRetry={ltv.reload}>
                <Table
                  rows={ltv.data?.rows ?? []}
                  columns={[
                    { title: 'Cohort', render: (r) => r.label || r.key },
                    { title: 'Customers', numeric: true, render: (r) => num(r.customers) },
                    { title: 'LTV 30 d', numeric: true, render: (r) => money(r.ltv_30, ltv.data?.currency) },
                    { title: 'LTV 90 d', numeric: true, render: (r) => money(r.ltv_90, ltv.data?.currency) },
                    { title: 'LTV 365 d', numeric: true, render: (r) => money(r.ltv_365, ltv.data?.currency) },
                  ]}
                />
              </States>
            )}
          </BlockStack>
        </Card>
      </BlockStack>
    </Page>
  );
}
