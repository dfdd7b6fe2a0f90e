import type { List } from '../api/client';
import { useResource } from '../api/hooks';
import type { Experiment } from '../api/types';
import { Badge, BlockStack, Card, InlineGrid, Page, States, Text, Tile } from '../ui';
import { Bars } from '../ui/charts';
import { money, num, pct, ratio } from '../format';

function ExperimentCard({ x }: { x: Experiment }) {
  const t = x.arms.treatment;
  const c = x.arms.control;
  return (
    <Card>
      <BlockStack gap="300">
        <Text as="h2" variant="headingMd">
          {x.campaign_name} <Badge tone={x.sequential?.significant ? 'success' : 'attention'}>{x.sequential?.significant ? 'significant' : 'not significant yet'}</Badge>
        </Text>
        <InlineGrid columns={{ xs: 2, md: 4 }} gap="300">
          <Tile label="Relative lift" value={pct(x.lift?.relative)} hint={`95% CI ${pct(x.lift?.relative_ci?.[0])} – ${pct(x.lift?.relative_ci?.[1])}`} />
          <Tile label="Absolute lift" value={pct(x.lift?.absolute, 2)} hint={`95% CI ${pct(x.lift?.absolute_ci?.[0], 2)} – ${pct(x.lift?.absolute_ci?.[1], 2)}`} />
          <Tile label="Incremental orders" value={x.incremental_orders == null ? '—' : num(Math.round(x.incremental_orders))} hint={`revenue ${money(x.incremental_revenue, x.currency)}`} />
          <Tile label="Incremental ROAS" value={ratio(x.incremental_roas)} hint={`cost / incremental order ${money(x.cost_per_incremental_order, x.currency)}`} />
        </InlineGrid>
        <Bars
          height={180}
          horizontal
          series={[{ name: 'Conversion rate', data: [{ key: 'Treatment', value: t.conversion_rate }, { key: `Control (${pct(x.holdout, 0)})`, value: c.conversion_rate }] }]}
        />
        <Text as="p" tone="subdued">
          Treatment {num(t.shoppers)} shoppers, {num(t.orders)} orders · control {num(c.shoppers)} shoppers, {num(c.orders)} orders · sequential p = {x.sequential?.p_value == null ? '—' : x.sequential.p_value.toFixed(3)} after {x.sequential?.looks ?? 0} looks · sample size needed {num(x.sample_size_needed)}
        </Text>
      </BlockStack>
    </Card>
  );
}

export function Experiments() {
  const r = useResource<List<Experiment>>('/api/v1/experiments');
  const items = r.data?.items ?? [];
  return (
    <Page title="Experiments" subtitle="Holdout experiments: would these sales have happened without the discount?">
      <States what="Experiments" loading={r.loading} error={r.error} hasData={!!r.data} empty={items.length === 0} emptyHeading="No experiments yet" emptyBody="Give a campaign a holdout share to measure its incremental lift." onRetry={r.reload}>
        <BlockStack gap="400">
          {items.map((x) => (
            <ExperimentCard key={x.campaign_id} x={x} />
          ))}
        </BlockStack>
      </States>
    </Page>
  );
}
