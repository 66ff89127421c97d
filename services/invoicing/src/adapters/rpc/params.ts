import { DomainError } from '@meterflow/kernel';
import { int, isUnset, obj, rejectUnknown, timestamp, type Params } from '@meterflow/stripe-api';
import type { RangeFilter } from '../persistence/invoice.queries.js';

/** `created=123` or `created[gte]=...&created[lt]=...`. */
export function rangeParam(p: Params, key: string): RangeFilter | number | undefined {
  const v = p[key];
  if (v === undefined || isUnset(v)) return undefined;
  if (typeof v !== 'object') return timestamp(p, key) ?? undefined;
  const r = obj(p, key)!;
  rejectUnknown(r, ['gt', 'gte', 'lt', 'lte']);
  const out: RangeFilter = {};
  for (const k of ['gt', 'gte', 'lt', 'lte'] as const) {
    const t = int(r, k);
    if (t != null) out[k] = t;
  }
  return out;
}

/** `period[start]` + `period[end]`, both required when `period` is sent. */
export function periodParam(p: Params): { start: number; end: number } | undefined {
  const o = obj(p, 'period');
  if (!o) return undefined;
  rejectUnknown(o, ['start', 'end']);
  const start = timestamp(o, 'start', { required: true });
  const end = timestamp(o, 'end', { required: true });
  if (end < start) throw new DomainError('parameter_invalid', 'The period end must be after its start.', { param: 'period[end]' });
  return { start, end };
}

/** `pricing[price]`. */
export function pricingPrice(p: Params): string | undefined {
  const o = obj(p, 'pricing');
  if (!o) return undefined;
  rejectUnknown(o, ['price']);
  const v = o.price;
  if (typeof v !== 'string' || v === '')
    throw new DomainError('parameter_missing', 'Missing required param: pricing[price].', { param: 'pricing[price]' });
  return v;
}

export const undef = <T>(v: T | null | undefined): T | undefined => (v === null ? undefined : v);
