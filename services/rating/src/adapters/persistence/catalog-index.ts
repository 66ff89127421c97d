import type pg from 'pg';
import { listSql, type ListParams, type StripeList } from '@meterflow/stripe-api';
import type {
  CustomerIndex,
  CustomerListFilter,
  PriceIndex,
  PriceListFilter,
  ProductIndex,
  ProductListFilter,
} from '../../application/ports.js';
import type { CustomerObject, ProductObject } from '../../domain/catalog.events.js';
import type { SearchClause, SearchQuery } from '../../domain/customer-search.js';
import type { PriceObject } from '../../domain/price.js';
import { rangeSql } from './list-sql.js';

/** Conditions with `?` for their value, numbered into `args` as they are added. */
function conditions(initial: string[]) {
  const args: unknown[] = [];
  const where = [...initial];
  const add = (sql: string, v: unknown) => {
    args.push(v);
    where.push(sql.replace('?', `$${args.length}`));
  };
  return { args, where, add };
}

/** One page of a catalog read model (`state` column), filtered by `where`. */
async function page<T>(
  pool: pg.Pool,
  table: string,
  c: ReturnType<typeof conditions>,
  lp: ListParams,
  url: string,
): Promise<StripeList<T>> {
  const page = listSql(lp, { firstArg: c.args.length + 1 });
  if (page.where) c.where.push(page.where);
  const { rows } = await pool.query<{ state: T }>(
    `SELECT state FROM ${table} WHERE ${c.where.join(' AND ')} ORDER BY ${page.orderBy} LIMIT ${page.limit}`,
    [...c.args, ...page.args],
  );
  return page.finish(
    rows.map((r) => r.state),
    url,
  );
}

/** The `customers` read model (its state row holds `{ object, ... }`). */
export class PgCustomerIndex implements CustomerIndex {
  constructor(private readonly pool: pg.Pool) {}

  async list(f: CustomerListFilter, lp: ListParams): Promise<StripeList<CustomerObject>> {
    const c = conditions(['NOT deleted']);
    // Customers on a test clock only show when the list asks for that clock.
    if (f.test_clock) c.add('test_clock = ?', f.test_clock);
    else c.where.push('test_clock IS NULL');
    if (f.email) c.add('email = ?', f.email);
    c.where.push(...rangeSql('created', f.created, c.args));
    const list = await page<{ object: CustomerObject }>(this.pool, 'customers', c, lp, '/v1/customers');
    return { ...list, data: list.data.map((s) => s.object) };
  }

  /** Substring clauses scan the id index until a page is full. */
  async search(query: SearchQuery, limit: number, before: string | undefined): Promise<{ data: CustomerObject[]; hasMore: boolean }> {
    const args: unknown[] = [];
    const arg = (v: unknown) => `$${args.push(v)}`;
    const where = ['NOT deleted', `(${query.clauses.map((c) => clauseSql(c, arg)).join(` ${query.join} `)})`];
    if (before !== undefined) where.push(`id < ${arg(before)}`);
    const { rows } = await this.pool.query<{ id: string; state: { object: CustomerObject } }>(
      `SELECT id, state FROM customers WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ${limit + 1}`,
      args,
    );
    return { data: rows.slice(0, limit).map((r) => r.state.object), hasMore: rows.length > limit };
  }

  async idsOnClock(clock: string): Promise<string[]> {
    const { rows } = await this.pool.query<{ id: string }>('SELECT id FROM customers WHERE test_clock = $1 AND NOT deleted', [clock]);
    return rows.map((r) => r.id);
  }
}

const likePattern = (v: string) => `%${v.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** One search clause as SQL over the `customers` read model (values always as parameters). */
function clauseSql(c: SearchClause, arg: (v: unknown) => string): string {
  let sql: string;
  if (c.field === 'created') sql = `created ${c.op === ':' ? '=' : c.op} ${arg(c.value)}`;
  else {
    const col =
      c.field === 'email'
        ? 'email'
        : typeof c.field === 'object'
          ? `(state->'object'->'metadata'->>${arg(c.field.metadata)})`
          : `(state->'object'->>'${c.field}')`;
    sql = c.op === '~' ? `${col} ILIKE ${arg(likePattern(String(c.value)))}` : `lower(${col}) = lower(${arg(c.value)})`;
  }
  // A NULL field matches no clause; its negation matches. The plain form keeps indexes usable.
  return c.negate ? `NOT coalesce(${sql}, false)` : sql;
}

export class PgProductIndex implements ProductIndex {
  constructor(private readonly pool: pg.Pool) {}

  list(f: ProductListFilter, lp: ListParams): Promise<StripeList<ProductObject>> {
    const c = conditions(['NOT deleted']);
    if (f.active != null) c.add('active = ?', f.active);
    if (f.ids) c.add('id = ANY(?::text[])', f.ids);
    c.where.push(...rangeSql('created', f.created, c.args));
    return page(this.pool, 'products', c, lp, '/v1/products');
  }

  async names(ids: readonly string[]): Promise<Map<string, string>> {
    const unique = [...new Set(ids)];
    if (unique.length === 0) return new Map();
    const { rows } = await this.pool.query<{ id: string; name: string }>(
      `SELECT id, state->>'name' AS name FROM products WHERE id = ANY($1::text[])`,
      [unique],
    );
    return new Map(rows.map((r) => [r.id, r.name]));
  }
}

export class PgPriceIndex implements PriceIndex {
  constructor(private readonly pool: pg.Pool) {}

  list(f: PriceListFilter, lp: ListParams): Promise<StripeList<PriceObject>> {
    const c = conditions(['true']);
    if (f.active != null) c.add('active = ?', f.active);
    if (f.currency) c.add('currency = ?', f.currency);
    if (f.product) c.add('product = ?', f.product);
    if (f.type) c.add('type = ?', f.type);
    if (f.lookup_keys) c.add('lookup_key = ANY(?::text[])', f.lookup_keys);
    if (f.recurring?.interval) c.add('recurring_interval = ?', f.recurring.interval);
    if (f.recurring?.meter) c.add('meter = ?', f.recurring.meter);
    if (f.recurring?.usage_type) c.add('usage_type = ?', f.recurring.usage_type);
    c.where.push(...rangeSql('created', f.created, c.args));
    return page(this.pool, 'prices', c, lp, '/v1/prices');
  }

  async lookupKeyHolder(key: string, except: string): Promise<string | null> {
    const { rows } = await this.pool.query<{ id: string }>('SELECT id FROM prices WHERE lookup_key = $1 AND active AND id <> $2', [
      key,
      except,
    ]);
    return rows[0]?.id ?? null;
  }
}
