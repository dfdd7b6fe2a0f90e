import { afterEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { Campaigns } from './Campaigns';
import { Conversions } from './Conversions';
import { Dashboard } from './Dashboard';
import { Experiments } from './Experiments';
import { Settings } from './Settings';
import { BatchProgress } from './CampaignDetail';
import { emptyList, json, notFound, renderPage, serve } from '../test/render';

vi.mock('../ui/charts', () => ({
  ChartsProvider: ({ children }: { children: unknown }) => children,
  Line: ({ series }: { series: { name: string }[] }) => <div data-testid="line">{series.map((s) => s.name).join(',')}</div>,
  Bars: ({ series }: { series: { name: string }[] }) => <div data-testid="bars">{series.map((s) => s.name).join(',')}</div>,
}));

afterEach(() => {
  vi.unstubAllGlobals();
  vi.useRealTimers();
  delete window.shopify;
});

const campaign = {
  id: '7', name: 'Spring', goal: 'acquisition', status: 'active', partner_id: null,
  discount: { type: 'percentage', value: '15', min_subtotal: '50.00' },
  code: { prefix: 'SPR', length: 10, check_char: false },
  usage: { single_use: true, once_per_customer: true, total_cap: null, budget: null },
  rules: { countries: ['US'], devices: null, traffic_sources: null },
  starts_at: '2026-01-01T00:00:00Z', ends_at: null, holdout: 0.1, hold_days: 30, currency: 'USD',
  sync: { status: 'synced', error: '' }, created_at: '2026-01-01T00:00:00Z',
};

describe('Campaigns page', () => {
  it('shows loading, then the list with actions, every call with a token', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const calls = serve(async (url) => {
      if (!url.startsWith('/api/v1/campaigns')) return undefined;
      await gate;
      return json(200, { items: [campaign], next_cursor: '' });
    });
    const { container } = renderPage(<Campaigns />);
    await waitFor(() => expect(container.querySelector('[data-state="loading"]')).not.toBeNull());
    release();
    expect(await screen.findByText('Spring')).toBeTruthy();
    expect(screen.getByText('15% off over 50.00')).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Pause' })).toBeTruthy();
    expect(calls.every((c) => c.auth === 'Bearer test-token')).toBe(true);
  });

  it('shows the empty state with a create action', async () => {
    serve(emptyList);
    renderPage(<Campaigns />);
    expect(await screen.findByText('Create your first campaign')).toBeTruthy();
  });

  it('shows the error with a retry that reloads', async () => {
    let fail = true;
    serve((url) => (url.startsWith('/api/v1/campaigns') ? (fail ? json(503, { error: { code: 'unavailable', message: 'database is down' } }) : json(200, { items: [campaign], next_cursor: '' })) : undefined));
    renderPage(<Campaigns />);
    expect(await screen.findByText('database is down')).toBeTruthy();
    fail = false;
    fireEvent.click(screen.getByRole('button', { name: 'Try again' }));
    expect(await screen.findByText('Spring')).toBeTruthy();
  });

  it('pauses a campaign through the API', async () => {
    const calls = serve((url, init) => {
      if (url === '/api/v1/campaigns/7/pause' && init.method === 'POST') return json(200, { ...campaign, status: 'paused' });
      if (url.startsWith('/api/v1/campaigns')) return json(200, { items: [campaign], next_cursor: '' });
      return undefined;
    });
    renderPage(<Campaigns />);
    fireEvent.click(await screen.findByRole('button', { name: 'Pause' }));
    await waitFor(() => expect(calls.some((c) => c.url === '/api/v1/campaigns/7/pause' && c.method === 'POST')).toBe(true));
  });
});

describe('Dashboard', () => {
  it('says reports are not available yet when the routes are missing', async () => {
    serve(notFound);
    renderPage(<Dashboard />);
    const msgs = await screen.findAllByText(/is not available yet/);
    expect(msgs.length).toBeGreaterThanOrEqual(3);
    expect(screen.queryByText(/Could not load/)).toBeNull();
  });

  it('renders tiles, charts and the breakdown', async () => {
    const m = { redemptions: 12, orders: 12, gross_revenue: '1200.00', net_revenue: '1000.00', discount_cost: '120.00', commission: '80.00', roas: '5.00', aov: '83.33', held: '300.00', approved: '700.00', reversed: '0.00', held_orders: 3, fraud_flagged: 1 };
    serve((url) => {
      if (url.startsWith('/api/v1/reports/overview')) return json(200, { currency: 'USD', today: m, last_30_days: m, incremental_lift: '0.12', fraud: { flagged_today: 0, flagged_30_days: 1, rejected_30_days: 0 } });
      if (url.startsWith('/api/v1/reports/timeseries')) return json(200, { currency: 'USD', points: [{ day: '2026-11-23', ...m }] });
      if (url.startsWith('/api/v1/reports/summary')) {
        expect(url).toMatch(/group_by=campaign&from=\d{4}-\d\d-\d\d&to=\d{4}-\d\d-\d\d/);
        return json(200, { currency: 'USD', rows: [{ key: '7', label: 'Spring', ...m }] });
      }
      if (url.startsWith('/api/v1/reports/ltv')) return json(200, { currency: 'USD', rows: [] });
      return undefined;
    });
    const { container } = renderPage(<Dashboard />);
    await screen.findByText('Incremental lift');
    const tiles = within(container.querySelector('[data-section="tiles"]') as HTMLElement);
    expect(tiles.getByText('$1,000.00')).toBeTruthy(); // net revenue
    expect(tiles.getByText('5.00×')).toBeTruthy(); // ROAS
    expect(tiles.getByText('$300.00')).toBeTruthy(); // held
    expect(tiles.getByText('12.0%')).toBeTruthy(); // incremental lift
    expect(await screen.findByText('Spring')).toBeTruthy();
    expect(screen.getAllByTestId('line').length).toBeGreaterThan(0);
    expect(await screen.findByText('No acquired customers yet')).toBeTruthy();
  });
});

describe('Conversions page', () => {
  const held = {
    id: '42', order_id: '1001', order_name: '#1001', status: 'held', campaign_id: '7', partner_id: null, channel: 'email', code: 'SPRABC',
    currency: 'USD', gross_revenue: '120.00', net_revenue: '108.00', discount_cost: '12.00', commission: '0.00', hold_until: '2026-12-24T00:00:00Z',
    fraud: { score: 60, action: 'flag', reasons: [{ kind: 'wrong_shopper', detail: 'issued to a@x, used by b@y' }] },
    credit: { rule: 'coupon', policy: 'coupon_wins', evidence: { code: 'SPRABC' } },
  };
  it('lists a held conversion with its fraud reasons and approves it', async () => {
    const calls = serve((url, init) => {
      if (url === '/api/v1/conversions/42/approve' && init.method === 'POST') return json(200, { ...held, status: 'approved' });
      if (url.startsWith('/api/v1/conversions')) return json(200, { items: [held], next_cursor: '' });
      return undefined;
    });
    renderPage(<Conversions />);
    expect(await screen.findByText('#1001')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Evidence' }));
    expect(await screen.findByText(/issued to a@x, used by b@y/)).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Approve' }));
    await waitFor(() => expect(calls.some((c) => c.url === '/api/v1/conversions/42/approve')).toBe(true));
  });

  it('shows an empty state', async () => {
    serve(emptyList);
    renderPage(<Conversions />);
    expect(await screen.findByText('No conversions yet')).toBeTruthy();
  });
});

describe('Experiments and settings', () => {
  it('experiments: not available yet on 404', async () => {
    serve(notFound);
    renderPage(<Experiments />);
    expect(await screen.findByText('Experiments is not available yet')).toBeTruthy();
  });

  it('settings: saves with PATCH', async () => {
    const s = { hold_days: 30, crediting_policy: 'coupon_wins', attribution_window_days: 30, abandoned_checkout_delay_minutes: 60, fraud: { mode: 'flag', thresholds: { flag: 50 } } };
    const calls = serve((url, init) => {
      if (url === '/api/v1/settings') return json(200, init.method === 'PATCH' ? { ...s, ...JSON.parse(init.body as string) } : s);
      return undefined;
    }, emptyList);
    renderPage(<Settings />);
    const hold = (await screen.findByLabelText('Hold period (days)')) as HTMLInputElement;
    fireEvent.change(hold, { target: { value: '14' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save settings' }));
    await waitFor(() => expect(calls.find((c) => c.method === 'PATCH')).toBeTruthy());
    expect(JSON.parse(calls.find((c) => c.method === 'PATCH')!.body!).hold_days).toBe(14);
  });
});

describe('code generation progress', () => {
  it('polls the batch until done', async () => {
    const states = [
      { status: 'queued', requested: 100, generated: 0, pushed: 0, failed: 0 },
      { status: 'generating', requested: 100, generated: 50, pushed: 0, failed: 0 },
      { status: 'pushing', requested: 100, generated: 100, pushed: 40, failed: 0 },
      { status: 'done', requested: 100, generated: 100, pushed: 100, failed: 0 },
    ];
    let i = 0;
    const calls = serve((url) => (url === '/api/v1/code-batches/9' ? json(200, { id: '9', error: '', ...states[Math.min(i++, 3)] }) : undefined));
    const onDone = vi.fn();
    const { container } = renderPage(<BatchProgress id="9" onDone={onDone} />);
    await waitFor(() => expect(container.querySelector('[data-status="done"]')).not.toBeNull(), { timeout: 5000 });
    expect(onDone).toHaveBeenCalledTimes(1);
    expect(screen.getByText('Live in Shopify 100 (100%)')).toBeTruthy();
    const n = calls.length;
    await new Promise((r) => setTimeout(r, 1000));
    expect(calls.length).toBe(n); // stopped polling
  });
});

describe('Experiments readout and fraud alerts', () => {
  it('renders an experiment whose readout is still mostly empty', async () => {
    const x = {
      campaign_id: '7', campaign_name: 'Spring', status: 'active', holdout: 0.1, currency: 'USD',
      arms: { treatment: { shoppers: 90, converters: 0, orders: 0, conversion_rate: null, revenue: '0.00', cost: '0.00' }, control: { shoppers: 10, converters: 0, orders: 0, conversion_rate: null, revenue: '0.00', cost: '0.00' } },
      lift: { absolute: null, absolute_ci: null, relative: null, relative_ci: [null, null] },
      incremental_orders: null, incremental_revenue: null, cost_per_incremental_order: null, incremental_roas: null,
      sequential: { p_value: 1, significant: false, looks: 0, ci: null, method: 'msprt' }, sample_size_needed: null,
    };
    serve((url) => (url === '/api/v1/experiments' ? json(200, { items: [x], next_cursor: '' }) : undefined));
    renderPage(<Experiments />);
    expect(await screen.findByText('Spring')).toBeTruthy();
    expect(screen.getByText('not significant yet')).toBeTruthy();
    expect(screen.getByText(/sequential p = 1.000 after 0 looks/)).toBeTruthy();
  });

  it('lists alerts and disables a leaked code', async () => {
    const { Fraud } = await import('./Fraud');
    const alert = { id: '3', kind: 'leaked_code', partner_id: null, code: 'SPRLEAK', orders: ['1', '2', '3'], first_seen: '2026-11-20T00:00:00Z', last_seen: '2026-11-21T00:00:00Z', max_score: 80, shadow: false, evidence: { ips: 9 } };
    const calls = serve((url, init) => {
      if (url === '/api/v1/fraud/alerts/3/disable-code' && init.method === 'POST') return json(200, {});
      if (url.startsWith('/api/v1/fraud/alerts')) return json(200, { items: [alert], next_cursor: '' });
      return undefined;
    });
    renderPage(<Fraud />);
    expect(await screen.findByText('SPRLEAK')).toBeTruthy();
    expect(screen.getByText('80')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Disable code' }));
    await waitFor(() => expect(calls.some((c) => c.url === '/api/v1/fraud/alerts/3/disable-code')).toBe(true));
  });
});

describe('Cart recovery readout', () => {
  it('shows the readout, and not available yet when the route is missing', async () => {
    const { CartRecovery } = await import('./CartRecovery');
    serve((url) =>
      url === '/api/v1/cart-recovery/report?campaign_id=7'
        ? json(200, { currency: 'USD', abandoned_checkouts: 40, codes_sent: 36, holdout_checkouts: 4, recovered_orders: 9, recovered_revenue: '900.00', recovery_rate: 0.25, holdout_recovery_rate: 0.1, incremental_recovery_rate: 0.15, attributed_revenue: '900.00' })
        : undefined,
    );
    const first = renderPage(<CartRecovery campaignId="7" />);
    expect(await screen.findByText('15.0%')).toBeTruthy();
    expect(screen.getByText('25.0% vs 10.0% in the holdout')).toBeTruthy();
    first.unmount();
    serve(notFound);
    renderPage(<CartRecovery campaignId="7" />);
    expect(await screen.findByText('Cart recovery is not available yet')).toBeTruthy();
  });
});
