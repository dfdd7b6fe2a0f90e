import type { ReactElement } from 'react';
import { render } from '@testing-library/react';
import { MemoryRouter } from 'react-router-dom';
import en from '@shopify/polaris/locales/en.json';
import { vi } from 'vitest';
import { AppProvider } from '../ui';

export function renderPage(ui: ReactElement, path = '/') {
  return render(
    <AppProvider i18n={en}>
      <MemoryRouter initialEntries={[path]}>{ui}</MemoryRouter>
    </AppProvider>,
  );
}

export const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

export type Route = (url: string, init: RequestInit) => Response | Promise<Response> | undefined;

// serve answers fetch with the first route that returns a response, else 500;
// it records calls and gives every caller an App Bridge token.
export function serve(...routes: Route[]) {
  window.shopify = { idToken: async () => 'test-token' };
  const calls: { url: string; method: string; body?: string; auth?: string }[] = [];
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string, init: RequestInit = {}) => {
      calls.push({ url, method: init.method ?? 'GET', body: init.body as string | undefined, auth: (init.headers as Record<string, string>)?.Authorization });
      for (const r of routes) {
        const res = await r(url, init);
        if (res) return res;
      }
      return json(500, { error: { code: 'unexpected', message: `no test route for ${url}` } });
    }),
  );
  return calls;
}

export const notFound: Route = (url) => (url.startsWith('/api/v1/') ? json(404, { error: { code: 'not_found', message: 'no such API route' } }) : undefined);
export const emptyList: Route = (url) => (url.startsWith('/api/v1/') ? json(200, { items: [], next_cursor: '' }) : undefined);
