import { Badge } from '@shopify/polaris';

type Tone = 'success' | 'attention' | 'critical' | 'info' | 'warning' | undefined;

const tones: Record<string, Tone> = {
  active: 'success', approved: 'success', done: 'success', paid: 'success', redeemed: 'success', synced: 'success',
  available: 'info', issued: 'info', queued: 'info', generating: 'info', pushing: 'info', draft: undefined,
  held: 'attention', paused: 'attention', pending: 'attention', open: 'attention', review: 'attention', flag: 'attention',
  rejected: 'critical', reversed: 'critical', failed: 'critical', disabled: 'critical', expired: undefined, ended: undefined,
  revoked: 'critical', reject: 'critical', hold: 'warning',
};

export function StatusBadge({ status }: { status: string }) {
  return <Badge tone={tones[status]}>{status}</Badge>;
}
