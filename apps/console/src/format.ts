/** Display helpers. Money stays integer minor units until it becomes text: no float arithmetic. */

const ZERO_DECIMAL = new Set([
  'bif',
  'clp',
  'djf',
  'gnf',
  'jpy',
  'kmf',
  'krw',
  'mga',
  'pyg',
  'rwf',
  'ugx',
  'vnd',
  'vuv',
  'xaf',
  'xof',
  'xpf',
]);

/** `3000, 'usd'` -> `30.00 USD`; `-1000` -> `-10.00 USD`. */
export function money(minor: number | null | undefined, currency: string | null | undefined): string {
  if (minor === null || minor === undefined) return '—';
  const cur = (currency ?? '').toLowerCase();
  const digits = ZERO_DECIMAL.has(cur) ? 0 : 2;
  const neg = minor < 0;
  const s = String(Math.abs(Math.trunc(minor))).padStart(digits + 1, '0');
  const whole = digits ? s.slice(0, -digits) : s;
  const frac = digits ? `.${s.slice(-digits)}` : '';
  return `${neg ? '-' : ''}${whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}${frac}${cur ? ` ${cur.toUpperCase()}` : ''}`;
}

/** A decimal string of minor units (`unit_amount_decimal`, `'1000'` or `'0.5'`) as major units: `'10.00'`, `'0.005'`. */
export function decimalMinor(dec: string | null | undefined, currency: string | null | undefined): string {
  if (dec === null || dec === undefined || dec === '') return '—';
  const cur = (currency ?? '').toLowerCase();
  const digits = ZERO_DECIMAL.has(cur) ? 0 : 2;
  const neg = dec.startsWith('-');
  const [intPart = '0', fracPart = ''] = (neg ? dec.slice(1) : dec).split('.');
  const all = (intPart + fracPart).replace(/^0+(?=\d)/, '').padStart(fracPart.length + digits + 1, '0');
  const point = all.length - fracPart.length - digits;
  let whole = all.slice(0, point);
  let frac = all.slice(point).replace(/0+$/, '');
  if (frac.length < digits) frac = frac.padEnd(digits, '0');
  whole = whole.replace(/^0+(?=\d)/, '');
  return `${neg ? '-' : ''}${whole}${frac ? `.${frac}` : ''}${cur ? ` ${cur.toUpperCase()}` : ''}`;
}

/** Unix seconds as `2026-02-01 00:00 UTC`. */
export function when(unix: number | null | undefined): string {
  if (unix === null || unix === undefined) return '—';
  return `${new Date(unix * 1000).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export function day(unix: number | null | undefined): string {
  if (unix === null || unix === undefined) return '—';
  return new Date(unix * 1000).toISOString().slice(0, 10);
}

export const period = (p: { start: number; end: number } | null | undefined): string => (p ? `${day(p.start)} → ${day(p.end)}` : '—');

/** A number as a person reads it (usage values may be decimals). */
export const qty = (n: number | null | undefined): string => (n === null || n === undefined ? '—' : n.toLocaleString('en-US'));

/** `<input type="datetime-local">` value (read as UTC) to unix seconds. */
export function fromLocalInput(v: string): number | undefined {
  const t = Date.parse(`${v}Z`);
  return Number.isNaN(t) ? undefined : Math.floor(t / 1000);
}
export const toLocalInput = (unix: number): string => new Date(unix * 1000).toISOString().slice(0, 16);
