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

/**
 * Stripe's range filter as SQL conditions on `column`, numbered from `firstArg`.
 * @deprecated catalog lists still build their SQL here; new code takes `parseRange` and a port.
 */
export function rangeFilter(p: Params, key: string, column: string, firstArg: number): { sql: string[]; args: number[] } {
  const range = parseRange(p, key);
  if (!range) return { sql: [], args: [] };
  const ops = { eq: '=', gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;
  const sql: string[] = [];
  const args: number[] = [];
  for (const [name, op] of Object.entries(ops)) {
    const n = range[name as keyof Range];
    if (n === undefined) continue;
    args.push(n);
    sql.push(`${column} ${op} $${firstArg + args.length - 1}`);
  }
  return { sql, args };
}
