import { DomainError } from '@meterflow/kernel';
import { int, obj, rejectUnknown, type Params } from '@meterflow/stripe-api';

/**
 * Stripe's range filter (`created=123` or `created[gte]=...&created[lt]=...`) as SQL conditions on
 * `column`, numbered from `firstArg`.
 */
export function rangeFilter(p: Params, key: string, column: string, firstArg: number): { sql: string[]; args: number[] } {
  const v = p[key];
  if (v === undefined || v === '') return { sql: [], args: [] };
  if (typeof v !== 'object' || v === null) {
    const exact = int(p, key, { min: 0 });
    return exact == null ? { sql: [], args: [] } : { sql: [`${column} = $${firstArg}`], args: [exact] };
  }
  const r = obj(p, key)!;
  rejectUnknown(r, ['gt', 'gte', 'lt', 'lte']);
  const ops = { gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;
  const sql: string[] = [];
  const args: number[] = [];
  for (const [name, op] of Object.entries(ops)) {
    const n = int(r, name, { min: 0 });
    if (n == null) continue;
    args.push(n);
    sql.push(`${column} ${op} $${firstArg + args.length - 1}`);
  }
  if (sql.length === 0) throw new DomainError('parameter_invalid', `Invalid ${key}: give gt, gte, lt or lte.`, { param: key });
  return { sql, args };
}
