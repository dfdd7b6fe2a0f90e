import { sessionToken } from './auth';

// ApiError is every failed call: the HTTP status and the API's stable
// {"error":{"code","message"}}. Status 0 is a network failure.
export class ApiError extends Error {
  status: number;
  code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
  // notAvailable is a route this server does not have (yet).
  get notAvailable(): boolean {
    return this.status === 404 && (this.code === 'not_found' || this.code === 'http_404' || this.code === '');
  }
}

export interface List<T> {
  items: T[];
  next_cursor: string;
}

async function authorizedFetch(method: string, path: string, body?: unknown, accept = 'application/json'): Promise<Response> {
  let token: string;
  try {
    token = await sessionToken();
  } catch (e) {
    throw new ApiError(401, 'no_session', (e as Error).message);
  }
  const headers: Record<string, string> = { Authorization: `Bearer ${token}`, Accept: accept };
  let payload: string | undefined;
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  try {
    return await fetch(path, { method, headers, body: payload });
  } catch (e) {
    throw new ApiError(0, 'network', `Network error: ${(e as Error).message}`);
  }
}

async function failure(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  let code = `http_${res.status}`;
  let message = res.statusText || `HTTP ${res.status}`;
  try {
    const j = JSON.parse(text);
    if (j?.error?.code) code = j.error.code;
    if (j?.error?.message) message = j.error.message;
    else if (typeof j?.message === 'string') message = j.message;
  } catch {
    if (text && text.length < 300) message = text;
  }
  return new ApiError(res.status, code, message);
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await authorizedFetch(method, path, body);
  if (!res.ok) throw await failure(res);
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export const get = <T>(path: string) => api<T>('GET', path);
export const post = <T>(path: string, body?: unknown) => api<T>('POST', path, body ?? {});
export const patch = <T>(path: string, body: unknown) => api<T>('PATCH', path, body);
export const del = <T>(path: string) => api<T>('DELETE', path);

// download fetches a file with the session token and hands it to the browser.
export async function download(path: string, filename: string): Promise<void> {
  const res = await authorizedFetch('GET', path, undefined, 'text/csv, */*');
  if (!res.ok) throw await failure(res);
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function qs(params: Record<string, string | number | undefined | null>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}
