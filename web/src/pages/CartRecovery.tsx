import { useResource } from '../api/hooks';
import { BlockStack, Card, InlineGrid, States, Text, Tile } from '../ui';
import { money, num, pct } from '../format';

interface CartReport {
  currency: string;
  abandoned_checkouts: number;
  codes_sent: number;
  holdout_checkouts: number;
  recovered_orders: number;
  recovered_revenue: string;
  recovery_rate: number | null;
  holdout_recovery_rate: number | null;
  incremental_recovery_rate: number | null;
  attributed_revenue: string;
}

// CartRecovery is the abandoned-cart readout of a cart-recovery campaign.
export function CartRecovery({ campaignId }: { campaignId: string }) {
  const r = useResource<CartReport>(`/api/v1/cart-recovery/report?campaign_id=${encodeURIComponent(campaignId)}`, 15000);
  const x = r.data;
  return (
    <Card>
      <BlockStack gap="300">
        <Text as="h2" variant="headingMd">Cart recovery</Text>
        <States what="Cart recovery" loading={r.loading} error={r.error} hasData={!!x} empty={!!x && x.abandoned_checkouts === 0} emptyHeading="No abandoned checkouts yet" onRetry={r.reload}>
          {x && (
            <InlineGrid columns={{ xs: 2, md: 3 }} gap="300">
              <Tile label="Abandoned checkouts" value={num(x.abandoned_checkouts)} hint={`${num(x.codes_sent)} codes sent, ${num(x.holdout_checkouts)} held out`} />
              <Tile label="Recovered" value={num(x.recovered_orders)} hint={money(x.recovered_revenue, x.currency)} />
              <Tile label="Incremental recovery" value={pct(x.incremental_recovery_rate)} hint={`${pct(x.recovery_rate)} vs ${pct(x.holdout_recovery_rate)} in the holdout`} />
            </InlineGrid>
          )}
        </States>
      </BlockStack>
    </Card>
  );
}
