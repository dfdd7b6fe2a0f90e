export function money(v: string | number | null | undefined, currency?: string): string {
  if (v === null || v === undefined || v === '') return '—';
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isFinite(n)) return String(v);
  try {
    return new Intl.NumberFormat('en-US', { style: 'currency', currency: currency || 'USD' }).format(n);
  } catch {
    return `${n.toFixed(2)} ${currency ?? ''}`.trim();
  }
}

export function num(v: number | null | undefined): string {
  if (v === null || v === undefined) return '—';
  return new Intl.NumberFormat('en-US').format(v);
}

export function pct(v: number | string | null | undefined, digits = 1): string {
  if (v === null || v === undefined || v === '') return '—';
  const n = Number(v);
  if (!Number.isFinite(n)) return String(v);
  return `${(n * 100).toFixed(digits)}%`;
}

export function ratio(v: string | number | null | undefined): string {
  if (v === null || v === undefined || v === '') return '—';
  return `${Number(v).toFixed(2)}×`;
}

export function date(v: string | null | undefined): string {
  if (!v) return '—';
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) return v;
  return d.toISOString().slice(0, 16).replace('T', ' ');
}

export function isoDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}
