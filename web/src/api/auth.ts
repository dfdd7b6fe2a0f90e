// Session tokens for every API call. Inside the Shopify admin App Bridge
// (the CDN script) mints them with shopify.idToken(). Opened outside the admin
// against the dev store (`make run`), the app's document carries a
// coupontrail-dev-store meta tag and the page asks the app's
// /_dev/session-token (which relays the dev store's POST /_dev/session-token)
// so the same Bearer-token path is exercised.

interface ShopifyGlobal {
  idToken: () => Promise<string>;
  toast?: { show: (msg: string, opts?: { isError?: boolean }) => void };
  config?: { shop?: string };
}

declare global {
  interface Window {
    shopify?: ShopifyGlobal;
  }
}

export class AuthError extends Error {}

export function embedded(): boolean {
  try {
    return window.top !== window.self;
  } catch {
    return true;
  }
}

export function devStoreURL(): string | null {
  const m = document.querySelector('meta[name="coupontrail-dev-store"]');
  return m?.getAttribute('content') || null;
}

// The dev store's tokens live a minute, like Shopify's; reuse one for 30 s.
let cached: { token: string; at: number; shop: string } | null = null;
const reuseMs = 30_000;

export function resetTokenCache() {
  cached = null;
}

export function currentShop(): string | null {
  return window.shopify?.config?.shop || cached?.shop || new URLSearchParams(window.location.search).get('shop');
}

export async function sessionToken(): Promise<string> {
  const dev = devStoreURL();
  if (window.shopify?.idToken && (embedded() || !dev)) {
    return window.shopify.idToken();
  }
  if (dev) {
    if (cached && Date.now() - cached.at < reuseMs) return cached.token;
    const shop = new URLSearchParams(window.location.search).get('shop');
    const res = await fetch('/_dev/session-token' + (shop ? '?shop=' + encodeURIComponent(shop) : ''), {
      headers: { Accept: 'application/json' },
    });
    const body = await res.json().catch(() => null);
    if (!res.ok || !body?.token) {
      throw new AuthError(body?.error?.message || `dev store session token: HTTP ${res.status}`);
    }
    cached = { token: body.token, at: Date.now(), shop: body.shop };
    return body.token;
  }
  throw new AuthError('Open coupontrail from the Shopify admin: no session token is available here.');
}
