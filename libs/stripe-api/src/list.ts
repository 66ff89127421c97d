import { DomainError } from '@meterflow/kernel';
import { int, str, type Params } from './params.js';

/**
 * Stripe cursor pagination.
 *
 * Ids are time-sortable (kernel `newId`), lists are newest first, so a page is a range scan on
 * the id column:
 *
 *   forward (default / starting_after):
 *     SELECT ... WHERE <filters> [AND id < $cursor] ORDER BY id DESC LIMIT limit+1
 *   backward (ending_before):
 *     SELECT ... WHERE <filters> AND id > $cursor ORDER BY id ASC LIMIT limit+1   -- then reverse
 *
 * The extra row only tells whether there is more (`has_more`). `listSql` builds the fragments
 * and `finish` turns the fetched rows into the Stripe list object.
 *
 * Id ordering is byte order (base62 digits `0-9A-Za-z`): the id column must compare bytewise,
 * i.e. the database collation is `C`/`C.UTF-8` (ours is) or the column is `text COLLATE "C"`.
 */
export interface ListParams {
  limit: number;
  startingAfter?: string;
  endingBefore?: string;
}

export interface StripeList<T> {
  object: 'list';
  data: T[];
  has_more: boolean;
  url: string;
}

export const LIST_PARAM_KEYS = ['limit', 'starting_after', 'ending_before'] as const;

export function parseListParams(p: Params): ListParams {
  const limit = int(p, 'limit', { min: 1, max: 100 }) ?? 10;
  const startingAfter = str(p, 'starting_after', { maxLength: 5000 }) ?? undefined;
  const endingBefore = str(p, 'ending_before', { maxLength: 5000 }) ?? undefined;
  if (startingAfter !== undefined && endingBefore !== undefined) {
    throw new DomainError('parameters_exclusive', 'You may only specify one of these parameters: ending_before, starting_after.', {
      param: 'ending_before',
    });
  }
  return {
    limit,
    ...(startingAfter !== undefined ? { startingAfter } : {}),
    ...(endingBefore !== undefined ? { endingBefore } : {}),
  };
}

/**
 * Builds the list object from rows fetched with `LIMIT limit+1`: newest first (`id DESC`) for
 * forward pages, oldest first (`id ASC`) when `endingBefore` is set.
 */
export function toList<T>(
  rows: readonly T[],
  opts: { limit: number; url: string; startingAfter?: string; endingBefore?: string },
): StripeList<T> {
  const hasMore = rows.length > opts.limit;
  const page = rows.slice(0, opts.limit);
  if (opts.endingBefore !== undefined) page.reverse();
  return { object: 'list', data: page, has_more: hasMore, url: opts.url };
}

export interface ListSql {
  /** `id < $n` / `id > $n`, or null when there is no cursor. AND it with your filters. */
  where: string | null;
  /** `id DESC` or `id ASC` (no `ORDER BY`). */
  orderBy: string;
  /** Rows to fetch (limit + 1). Pass it as a literal or as an argument. */
  limit: number;
  /** Arguments for `where` (the cursor), numbered from `firstArg`. */
  args: string[];
  finish<T>(rows: readonly T[], url: string): StripeList<T>;
}

/**
 * The SQL fragments for one page. `firstArg` is the placeholder number of the cursor (use the
 * count of your own filter arguments + 1).
 *
 *   const page = listSql(parseListParams(req.params), { firstArg: 2 });
 *   const sql = `SELECT body FROM meters WHERE status = $1${page.where ? ` AND ${page.where}` : ''}
 *                ORDER BY ${page.orderBy} LIMIT ${page.limit}`;
 *   const { rows } = await pool.query(sql, ['active', ...page.args]);
 *   return page.finish(rows.map((r) => r.body), '/v1/billing/meters');
 */
export function listSql(lp: ListParams, opts: { idColumn?: string; firstArg?: number } = {}): ListSql {
  const col = opts.idColumn ?? 'id';
  const n = opts.firstArg ?? 1;
  const backward = lp.endingBefore !== undefined;
  const cursor = lp.endingBefore ?? lp.startingAfter;
  return {
    where: cursor === undefined ? null : `${col} ${backward ? '>' : '<'} $${n}`,
    orderBy: `${col} ${backward ? 'ASC' : 'DESC'}`,
    limit: lp.limit + 1,
    args: cursor === undefined ? [] : [cursor],
    finish: (rows, url) => toList(rows, { ...lp, url }),
  };
}

/**
 * The same page over rows already in memory (small lists, nested `lines`): `rows` sorted newest
 * first by `id` (or any key), cursors compared by that key.
 */
export function pageInMemory<T>(rows: readonly T[], lp: ListParams, url: string, idOf: (row: T) => string): StripeList<T> {
  if (lp.endingBefore !== undefined) {
    const cursor = lp.endingBefore;
    const newer = rows.filter((r) => idOf(r) > cursor).reverse();
    return toList(newer.slice(0, lp.limit + 1), { ...lp, url });
  }
  const cursor = lp.startingAfter;
  const older = cursor === undefined ? rows : rows.filter((r) => idOf(r) < cursor);
  return toList(older.slice(0, lp.limit + 1), { ...lp, url });
}
