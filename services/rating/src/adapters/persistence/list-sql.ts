import type { Range } from '../../application/ports.js';

const OPS = { eq: '=', gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;

/** A parsed range filter as SQL conditions on `column`, its values appended to `args` (numbered after them). */
export function rangeSql(column: string, range: Range | undefined, args: unknown[]): string[] {
  if (!range) return [];
  const sql: string[] = [];
  for (const [name, op] of Object.entries(OPS)) {
    const v = range[name as keyof Range];
    if (v === undefined) continue;
    args.push(v);
    sql.push(`${column} ${op} $${args.length}`);
  }
  return sql;
}

/** Subscriptions on one test clock, or (`null`) without one. */
export const clockSql = (clock: string | null, args: unknown[]): string => {
  if (clock === null) return 'test_clock IS NULL';
  args.push(clock);
  return `test_clock = $${args.length}`;
};
