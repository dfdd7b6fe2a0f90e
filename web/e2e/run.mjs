// End-to-end: the admin UI in Debian's chromium (playwright-core) against the
// real binary and the dev store started by scripts/e2e.sh. Flow: create a
// partner and a campaign -> activate -> generate codes and watch progress ->
// issue a code -> place an order with it in the dev store -> the conversion
// shows held -> refund it in the dev store -> it shows reversed. Every page
// is screenshotted into e2e/screenshots/, and LCP/CLS are measured on the
// dashboard, empty and seeded (Built for Shopify: LCP <= 2.5 s, CLS <= 0.1).
import { chromium } from 'playwright-core';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const shots = join(here, 'screenshots');
mkdirSync(shots, { recursive: true });

const APP = process.env.APP_URL;
const DEV = process.env.DEVSTORE_URL;
const SHOP = process.env.E2E_SHOP;
if (!APP || !DEV || !SHOP) throw new Error('APP_URL, DEVSTORE_URL and E2E_SHOP are required (run scripts/e2e.sh)');

const t0 = Date.now();
const steps = [];
function step(name) {
  const s = Date.now();
  process.stderr.write(`e2e: ${name}\n`);
  return () => steps.push({ name, ms: Date.now() - s });
}

async function dev(method, path, body) {
  const res = await fetch(DEV + path, { method, headers: { 'Content-Type': 'application/json' }, body: body && JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`dev store ${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
// Shopify's CDN is not reachable here; outside the admin App Bridge is not
// needed (the page gets dev-store tokens), so answer its script with nothing.
await context.route('https://cdn.shopify.com/**', (r) => r.fulfill({ status: 200, contentType: 'text/javascript', body: '' }));
await context.addInitScript(() => {
  window.__vitals = { lcp: 0, cls: 0 };
  new PerformanceObserver((l) => {
    for (const e of l.getEntries()) window.__vitals.lcp = e.startTime;
  }).observe({ type: 'largest-contentful-paint', buffered: true });
  new PerformanceObserver((l) => {
    for (const e of l.getEntries()) if (!e.hadRecentInput) window.__vitals.cls += e.value;
  }).observe({ type: 'layout-shift', buffered: true });
});
const page = await context.newPage();
const apiCalls = { total: 0, withToken: 0, failed: [] };
page.on('request', (r) => {
  if (new URL(r.url()).pathname.startsWith('/api/v1/')) {
    apiCalls.total++;
    if (/^Bearer .+/.test(r.headers()['authorization'] || '')) apiCalls.withToken++;
  }
});
page.on('response', (r) => {
  const p = new URL(r.url()).pathname;
  if (p.startsWith('/api/v1/') && r.status() >= 500) apiCalls.failed.push(`${r.status()} ${p}`);
});
const consoleErrors = [];
page.on('pageerror', (e) => consoleErrors.push(String(e)));

const q = `?shop=${encodeURIComponent(SHOP)}`;
const go = (path) => page.goto(APP + path + q, { waitUntil: 'load' });
const shot = (name) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
const settle = () => page.waitForFunction(() => !document.querySelector('[data-state="loading"]'), null, { timeout: 15000 });

let ok = false;
const result = {};
try {
  let done = step('dashboard loads (web vitals)');
  await go('/');
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
  await settle();
  await page.waitForTimeout(1500);
  // LCP is final once the user interacts; read it after the page settled.
  result.vitalsEmpty = await page.evaluate(() => window.__vitals);
  await shot('01-dashboard-empty');
  done();

  done = step('create a partner');
  await go('/partners');
  await page.getByRole('button', { name: 'Add partner' }).first().click();
  const dlg = page.getByRole('dialog');
  await dlg.getByLabel('Name').fill('Ana Influencer');
  await dlg.getByLabel('Email').fill('ana@example.com');
  await dlg.getByRole('button', { name: 'Save' }).click();
  await page.getByText('Ana Influencer').first().waitFor();
  await shot('02-partners');
  done();

  done = step('create a campaign');
  await go('/campaigns');
  await settle();
  await shot('03-campaigns-empty');
  await page.getByRole('button', { name: 'Create campaign' }).first().click();
  await page.getByRole('heading', { name: 'Create campaign' }).waitFor();
  await page.getByLabel('Name').fill('E2E Spring');
  await page.getByLabel('Value').fill('10');
  await page.getByLabel('Prefix').fill('E2E');
  await shot('04-campaign-new');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('heading', { name: 'E2E Spring' }).waitFor();
  result.campaignURL = page.url();
  done();

  done = step('activate it');
  await page.getByRole('button', { name: 'Activate' }).first().click();
  await page.getByRole('button', { name: 'Pause' }).first().waitFor({ timeout: 20000 });
  done();

  done = step('generate codes and watch progress');
  await page.getByLabel('Number of codes').fill('300');
  await page.getByRole('button', { name: 'Generate codes' }).click();
  const batch = page.locator('[data-batch]').first();
  await batch.waitFor();
  const seen = new Set();
  const deadline = Date.now() + 90000;
  for (;;) {
    const st = await batch.getAttribute('data-status');
    seen.add(st);
    if (st === 'done') break;
    if (st === 'failed') throw new Error('code batch failed: ' + (await batch.innerText()));
    if (Date.now() > deadline) throw new Error('code batch did not finish; saw ' + [...seen].join(','));
    if (seen.size === 2) await shot('05-codes-progress');
    await page.waitForTimeout(200);
  }
  result.batchStatuses = [...seen];
  await shot('06-codes-done');
  done();

  done = step('issue a code');
  await page.getByLabel('Shopper email').fill('shopper@example.com');
  await page.getByRole('button', { name: 'Issue a code' }).click();
  const issued = page.locator('[data-issued-code]');
  await issued.waitFor({ timeout: 20000 });
  const code = await issued.getAttribute('data-issued-code');
  result.code = code;
  await shot('07-code-issued');
  done();

  done = step('place an order with it in the dev store');
  const order = await dev('POST', `/_dev/shops/${SHOP}/orders`, {
    email: 'shopper@example.com',
    line_items: [{ title: 'Linen shirt', price: '120.00', quantity: 1, product_id: 1001 }],
    discount_codes: [code],
    browser_ip: '203.0.113.7',
    user_agent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120 Safari/537.36',
    country: 'US',
  });
  const orderId = String(order.id);
  result.orderId = orderId;
  done();

  done = step('the conversion appears held');
  await go('/conversions');
  const row = page.locator('tr', { has: page.locator(`[data-order="${orderId}"]`) });
  await row.locator('[data-conversion-status="held"]').waitFor({ timeout: 60000 });
  result.heldAfterMs = Date.now() - t0;
  await shot('08-conversions-held');
  await go('/');
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
  await settle();
  const heldTile = page.locator('[data-section="tiles"]').getByText('Held', { exact: true });
  try {
    await page.waitForFunction(() => {
      const tiles = document.querySelector('[data-section="tiles"]');
      if (!tiles) return false;
      const held = [...tiles.querySelectorAll('h3')].find((h) => h.textContent === 'Held');
      const v = held?.parentElement?.querySelector('p')?.textContent ?? '';
      return v !== '' && v !== '$0.00' && v !== '—';
    }, null, { timeout: 20000 });
    result.dashboardHeld = true;
  } catch {
    result.dashboardHeld = (await heldTile.count()) > 0 ? 'tile present, amount not updated' : 'no tiles (reports unavailable)';
  }
  await shot('09-dashboard-held');
  done();

  done = step('refund it in the dev store -> reversed');
  await dev('POST', `/_dev/shops/${SHOP}/orders/${orderId}/refunds`, { amount: String(order.total_price ?? '108.00') });
  await go('/conversions');
  await page
    .locator('tr', { has: page.locator(`[data-order="${orderId}"]`) })
    .locator('[data-conversion-status="reversed"]')
    .waitFor({ timeout: 60000 });
  await shot('10-conversions-reversed');
  done();

  done = step('every page renders');
  const pages = [
    ['/', '11-dashboard'],
    ['/campaigns', '12-campaigns'],
    ['/codes', '13-codes'],
    ['/partners', '14-partners-payouts'],
    ['/links', '15-smartlinks'],
    ['/conversions', '16-conversions'],
    ['/fraud', '17-fraud'],
    ['/experiments', '18-experiments'],
    ['/insights', '19-insights'],
    ['/settings', '20-settings'],
  ];
  result.pages = {};
  for (const [path, name] of pages) {
    await go(path);
    await settle();
    await page.waitForTimeout(path === '/' ? 1500 : 300);
    if (path === '/') result.vitals = await page.evaluate(() => window.__vitals); // the seeded dashboard
    const state = await page.evaluate(() =>
      document.querySelector('[data-state="error"]') ? 'error' : /not available yet/.test(document.body.innerText) ? 'not available yet' : 'ok',
    );
    result.pages[path] = state;
    await shot(name);
  }
  done();
  ok = true;
} catch (e) {
  result.error = String(e?.stack || e);
  await shot('99-failure').catch(() => {});
} finally {
  await browser.close();
}

result.apiCalls = apiCalls;
result.pageErrors = consoleErrors;
result.steps = steps;
result.seconds = Math.round((Date.now() - t0) / 100) / 10;
writeFileSync(join(shots, 'result.json'), JSON.stringify(result, null, 2));
console.log(JSON.stringify(result, null, 2));
if (apiCalls.total === 0 || apiCalls.withToken !== apiCalls.total) {
  console.error(`e2e: ${apiCalls.total - apiCalls.withToken} of ${apiCalls.total} API calls had no session token`);
  ok = false;
}
// Web vitals gate the run unless the machine is overloaded (load average
// above twice the core count), where timings say more about the machine than
// about the page; E2E_VITALS=strict gates regardless.
const load = os.loadavg()[0] / os.cpus().length;
result.loadPerCore = Math.round(load * 10) / 10;
const gate = process.env.E2E_VITALS === 'strict' || load <= 2;
for (const v of [result.vitals, result.vitalsEmpty]) {
  if (ok && v && (v.lcp > 2500 || v.cls > 0.1)) {
    console.error(`e2e: dashboard web vitals over Built for Shopify thresholds: LCP ${v.lcp} ms, CLS ${v.cls}` + (gate ? '' : ` (not gating: load ${result.loadPerCore} per core)`));
    if (gate) ok = false;
  }
}
result.ok = ok;
writeFileSync(join(shots, 'result.json'), JSON.stringify(result, null, 2));
process.exit(ok ? 0 : 1);
