import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError, api, get, post } from './client';
import { resetTokenCache } from './auth';

type Call = { url: string; init: RequestInit };

function setDevMeta(on: boolean) {
  document.head.querySelectorAll('meta[name="coupontrail-dev-store"]').forEach((m) => m.remove());
  if (on) {
    const m = document.createElement('meta');
    m.name = 'coupontrail-dev-store';
    m.content = 'http://127.0.0.1:8081';
    document.head.appendChild(m);
  }
}

function mockFetch(handler: (url: string, init: RequestInit) => Response): Call[] {
  const calls: Call[] = [];
  vi.stubGlobal('fetch', vi.fn(async (url: string, init: RequestInit = {}) => {
    calls.push({ url, init });
    return handler(url, init);
  }));
  return calls;
}

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
const auth = (c: Call) => (c.init.headers as Record<string, string> | undefined)?.Authorization;

beforeEach(() => {
  resetTokenCache();
  delete window.shopify;
  setDevMeta(false);
});
afterEach(() => vi.unstubAllGlobals());

describe('api client', () => {
  it('sends a fresh App Bridge session token on every call', async () => {
    let n = 0;
    window.shopify = { idToken: vi.fn(async () => `tok-${++n}`) };
    const calls = mockFetch(() => json(200, { items: [], next_cursor: '' }));
    await get('/api/v1/campaigns');
    await post('/api/v1/campaigns/1/pause');
    await api('PATCH', '/api/v1/settings', { hold_days: 7 });
    expect(calls.map(auth)).toEqual(['Bearer tok-1', 'Bearer tok-2', 'Bearer tok-3']);
    expect(calls[2].init.method).toBe('PATCH');
    expect(calls[2].init.body).toBe('{"hold_days":7}');
    expect((calls[2].init.headers as Record<string, string>)['Content-Type']).toBe('application/json');
  });

  it('outside the admin, gets its token from the dev store relay and reuses it briefly', async () => {
    setDevMeta(true);
    window.history.replaceState(null, '', '/?shop=demo.myshopify.com');
    const calls = mockFetch((url) => (url.startsWith('/_dev/session-token') ? json(200, { shop: 'demo.myshopify.com', token: 'devtok' }) : json(200, {})));
    await get('/api/v1/shop');
    await get('/api/v1/campaigns');
    const tokenCalls = calls.filter((c) => c.url.startsWith('/_dev/session-token'));
    expect(tokenCalls).toHaveLength(1);
    expect(tokenCalls[0].url).toBe('/_dev/session-token?shop=demo.myshopify.com');
    const apiCalls = calls.filter((c) => c.url.startsWith('/api/v1/'));
    expect(apiCalls.map(auth)).toEqual(['Bearer devtok', 'Bearer devtok']);
  });

  it('prefers the dev store over an App Bridge global when not embedded', async () => {
    setDevMeta(true);
    window.shopify = { idToken: vi.fn(async () => 'ab') };
    const calls = mockFetch((url) => (url.startsWith('/_dev/') ? json(200, { token: 'dev' }) : json(200, {})));
    await get('/api/v1/shop');
    expect(auth(calls[calls.length - 1])).toBe('Bearer dev');
    expect(window.shopify.idToken).not.toHaveBeenCalled();
  });

  it('turns {"error":{"code","message"}} into an ApiError with the status', async () => {
    window.shopify = { idToken: async () => 't' };
    mockFetch(() => json(422, { error: { code: 'invalid_discount', message: 'value must be positive' } }));
    const err = await get('/api/v1/campaigns').catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(422);
    expect(err.code).toBe('invalid_discount');
    expect(err.message).toBe('value must be positive');
    expect(err.notAvailable).toBe(false);
  });

  it('marks a missing route as not available', async () => {
    window.shopify = { idToken: async () => 't' };
    mockFetch(() => json(404, { error: { code: 'not_found', message: 'no such API route' } }));
    const err = await get('/api/v1/experiments').catch((e) => e);
    expect(err.status).toBe(404);
    expect(err.notAvailable).toBe(true);
  });

  it('reports a non-JSON failure and a network failure', async () => {
    window.shopify = { idToken: async () => 't' };
    mockFetch(() => new Response('upstream broke', { status: 502, statusText: 'Bad Gateway' }));
    const e1 = await get('/api/v1/x').catch((e) => e);
    expect([e1.status, e1.code, e1.message]).toEqual([502, 'http_502', 'upstream broke']);
    vi.stubGlobal('fetch', vi.fn(async () => { throw new TypeError('Failed to fetch'); }));
    const e2 = await get('/api/v1/x').catch((e) => e);
    expect([e2.status, e2.code]).toEqual([0, 'network']);
  });

  it('fails with no_session and makes no API call when no token source exists', async () => {
    const calls = mockFetch(() => json(200, {}));
    const err = await get('/api/v1/shop').catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect([err.status, err.code]).toEqual([401, 'no_session']);
    expect(calls).toHaveLength(0);
  });

  it('surfaces a dev store relay error', async () => {
    setDevMeta(true);
    mockFetch(() => json(404, { error: { code: 'no_dev_shop', message: 'the dev store has no shop yet' } }));
    const err = await get('/api/v1/shop').catch((e) => e);
    expect(err.code).toBe('no_session');
    expect(err.message).toContain('no shop yet');
  });
});
