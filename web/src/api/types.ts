export interface Metrics {
  redemptions: number;
  orders: number;
  gross_revenue: string;
  net_revenue: string;
  discount_cost: string;
  commission: string;
  roas: string | null;
  aov: string;
  held: string;
  approved: string;
  reversed: string;
  held_orders?: number;
  approved_orders?: number;
  reversed_orders?: number;
  rejected_orders?: number;
  fraud_flagged: number;
}
export interface SummaryRow extends Metrics {
  key: string;
  label: string;
}
export interface Summary {
  currency: string;
  rows: SummaryRow[];
  total?: Metrics;
}
export interface Timeseries {
  currency: string;
  points: (Metrics & { day: string })[];
}
export interface LTVReport {
  currency: string;
  rows: { key: string; label: string; customers: number; ltv_30: string; ltv_90: string; ltv_365: string }[];
}
export interface Overview {
  currency: string;
  as_of?: string;
  today?: Metrics;
  last_30_days?: Metrics;
  incremental_lift: string | null;
  fraud?: { flagged_today?: number; flagged_30_days?: number; rejected_30_days?: number };
}
export interface Partner {
  id: string;
  name: string;
  kind: string;
  email: string;
  commission: { percent?: number; fixed?: string } | null;
  status: string;
  currency: string;
  created_at: string;
}
export interface Campaign {
  id: string;
  name: string;
  goal: string;
  status: string;
  partner_id: string | null;
  discount: { type: string; value: string | number; min_subtotal: string | null };
  code: { prefix: string; length: number; check_char: boolean };
  usage: { single_use: boolean; once_per_customer: boolean; total_cap: number | null; budget: string | null };
  rules: { countries: string[] | null; devices: string[] | null; traffic_sources: string[] | null; channels?: string[] | null };
  starts_at: string;
  ends_at: string | null;
  holdout: number;
  hold_days: number | null;
  currency: string;
  sync?: { status: string; error: string };
  created_at: string;
}
export interface CodeBatch {
  id: string;
  status: 'queued' | 'generating' | 'pushing' | 'done' | 'failed';
  campaign_id: string;
  channel: string;
  requested: number;
  generated: number;
  pushed: number;
  failed: number;
  error: string;
  created_at: string;
}
export interface Code {
  code: string;
  status: string;
  customer_email: string | null;
  partner_id: string | null;
  channel: string;
  campaign_id: string;
  issued_at: string | null;
  expires_at: string | null;
  redeemed_at: string | null;
}
export interface IssuedCode {
  code?: string;
  expires_at?: string | null;
  share_url?: string;
  holdout?: boolean;
}
export interface Conversion {
  id: string;
  order_id: string;
  order_name: string;
  status: string;
  campaign_id: string | null;
  partner_id: string | null;
  channel: string;
  code: string;
  currency: string;
  gross_revenue: string;
  net_revenue: string;
  discount_cost: string;
  commission: string;
  hold_until: string;
  status_reason?: string;
  refunded?: string;
  fraud: { score: number; action: string; reasons: { kind: string; detail: string }[] } | null;
  credit: { rule: string; policy?: string; evidence: unknown };
}
export interface Statement {
  id: string;
  partner_id: string;
  period_start: string;
  period_end: string;
  currency: string;
  status: string;
  conversions: number;
  commission: string;
  clawbacks: string;
  total: string;
  paid_at: string | null;
}
export interface SmartLink {
  id: string;
  slug: string;
  url: string;
  partner_id: string | null;
  campaign_id: string | null;
  channel: string;
  destination: string;
  code_mode: string;
  status: string;
  created_at: string;
}
export interface FraudAlert {
  id: string;
  kind: string;
  partner_id: string | null;
  code: string | null;
  orders: number | string[];
  first_seen: string;
  last_seen: string;
  max_score?: number;
  shadow?: boolean;
  evidence: unknown;
}
export interface Settings {
  hold_days: number;
  crediting_policy: string | { kind?: string; [k: string]: unknown };
  attribution_window_days: number;
  abandoned_checkout_delay_minutes: number;
  fraud: { mode: string; thresholds: Record<string, number>; auto_disable_leaked_codes?: boolean; [k: string]: unknown };
  [k: string]: unknown;
}
export interface Arm {
  shoppers: number;
  orders: number;
  conversion_rate: number | null;
  revenue: string;
  cost?: string;
}
type N = number | null;
export interface Experiment {
  campaign_id: string;
  campaign_name: string;
  holdout: number;
  arms: { treatment: Arm; control: Arm };
  currency?: string;
  lift: { absolute: N; absolute_ci: N[] | null; relative: N; relative_ci: N[] | null };
  incremental_orders: N;
  incremental_revenue: string | null;
  cost_per_incremental_order: string | null;
  incremental_roas: number | string | null;
  sequential: { p_value: number | null; significant: boolean; looks: number };
  sample_size_needed: N;
}
export interface Recommendation {
  segment: string;
  customers: number;
  arm: string;
  channel: string;
  when: string;
  expected_uplift: number;
  expected_profit: string;
  reason: string;
}
export interface APIKey {
  id: string;
  name: string;
  prefix: string;
  key?: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}
export interface WebhookEndpoint {
  id: string;
  url: string;
  events: string[];
  secret?: string;
  created_at?: string;
}
