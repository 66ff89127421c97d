import { DomainError } from '@meterflow/kernel';
import { int, obj, rejectUnknown, type Params } from '@meterflow/stripe-api';
import type { Range } from './ports.js';

/** Stripe's range filter (`created=123` or `created[gte]=...&created[lt]=...`), validated; undefined when absent. */
export function parseRange(p: Params, key: string): Range | undefined {
  const v = p[key];
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'object' || v === null) {
    const exact = int(p, key, { min: 0 });
    return exact == null ? undefined : { eq: exact };
  }
  const r = obj(p, key)!;
  rejectUnknown(r, ['gt', 'gte', 'lt', 'lte']);
  const range: Range = {};
  for (const name of ['gt', 'gte', 'lt', 'lte'] as const) {
    const n = int(r, name, { min: 0 });
    if (n != null) range[name] = n;
  }
  if (Object.keys(range).length === 0)
    throw new DomainError('parameter_invalid', `Invalid ${key}: give gt, gte, lt or lte.`, { param: key });
  return range;
}
