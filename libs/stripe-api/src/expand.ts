import { DomainError } from '@meterflow/kernel';

/**
 * `expand[]`: after a service answered, ids are replaced by the objects they name.
 *
 * Which fields are expandable comes from Stripe's schemas (`anyOf [id, object]`), keyed by the
 * object's `object` value; dotted entries are paths through plain nested hashes. Embedded
 * objects (a subscription's `items` list, an item's `price`) are walked into, so
 * `items.data.price.product` works like on Stripe.
 */
export const EXPANDABLE: Readonly<Record<string, readonly string[]>> = {
  customer: ['default_source', 'invoice_settings.default_payment_method', 'test_clock'],
  product: ['default_price', 'tax_code'],
  price: ['product'],
  subscription: [
    'application',
    'customer',
    'default_payment_method',
    'default_source',
    'latest_invoice',
    'on_behalf_of',
    'pending_setup_intent',
    'schedule',
    'test_clock',
  ],
  subscription_item: [],
  invoice: [
    'application',
    'customer',
    'default_payment_method',
    'default_source',
    'from_invoice.invoice',
    'latest_revision',
    'on_behalf_of',
    'parent.subscription_details.subscription',
    'test_clock',
  ],
  invoiceitem: ['customer', 'invoice', 'pricing.price_details.price', 'test_clock'],
  line_item: ['pricing.price_details.price', 'subscription'],
  'billing.credit_grant': ['customer', 'test_clock'],
  'billing.credit_balance_summary': ['customer'],
  'billing.credit_balance_transaction': [
    'credit.credits_application_invoice_voided.invoice',
    'credit_grant',
    'debit.credits_applied.invoice',
    'test_clock',
  ],
  'billing.alert': ['usage_threshold.meter'],
};

export const MAX_EXPAND_DEPTH = 4;

/** Resolves an id to its object (the owning service's retrieve op); `undefined` = leave the id. */
export type FetchById = (id: string) => Promise<Record<string, unknown> | undefined>;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export const cannotExpand = (path: string): DomainError =>
  new DomainError('parameter_invalid', `This property cannot be expanded (${path}).`, { param: 'expand' });

/** The `expand` entries of a request (`expand[0]=a`, `expand[]=a`, JSON arrays, a lone string). */
export function expandPaths(raw: unknown): string[] {
  if (raw === undefined || raw === '' || raw === null) return [];
  const list = Array.isArray(raw) ? raw : isObj(raw) ? Object.values(raw) : [raw];
  const out: string[] = [];
  for (const p of list) {
    if (typeof p !== 'string' || p === '') throw new DomainError('parameter_invalid', 'Invalid array', { param: 'expand' });
    if (p.split('.').length > MAX_EXPAND_DEPTH) {
      throw new DomainError('parameter_invalid', `You cannot expand more than ${MAX_EXPAND_DEPTH} levels of a property. Property: ${p}`, {
        param: 'expand',
      });
    }
    if (!out.includes(p)) out.push(p);
  }
  return out;
}

/**
 * Expands `paths` in `root` in place (and returns it). Each id is fetched once per call, even
 * when it appears in many list items.
 */
export async function expandObject<T>(root: T, paths: readonly string[], fetch: FetchById): Promise<T> {
  if (paths.length === 0) return root;
  const cache = new Map<string, Promise<Obj | undefined>>();
  const fetchOnce = (id: string): Promise<Obj | undefined> => {
    let p = cache.get(id);
    if (!p) {
      p = fetch(id);
      cache.set(id, p);
    }
    return p;
  };
  // Shorter paths first so that `a` is expanded before `a.b` walks into it.
  const sorted = [...paths].sort((a, b) => a.split('.').length - b.split('.').length);
  for (const path of sorted) {
    await expandAt(root as unknown, path.split('.'), path, fetchOnce);
  }
  return root;
}

async function expandAt(
  value: unknown,
  segs: readonly string[],
  fullPath: string,
  fetch: (id: string) => Promise<Obj | undefined>,
): Promise<void> {
  if (segs.length === 0 || !isObj(value)) return;
  const type = value.object;
  if (type === 'list' && segs[0] === 'data' && Array.isArray(value.data)) {
    await Promise.all(value.data.map((item) => expandAt(item, segs.slice(1), fullPath, fetch)));
    return;
  }
  const expandable = typeof type === 'string' ? EXPANDABLE[type.replace(/^deleted_/, '')] : undefined;
  // Walk plain nested hashes (`pricing.price_details.price`) until an expandable field or an
  // embedded object is reached.
  let holder: Obj = value;
  for (let k = 1; k <= segs.length; k++) {
    const key = segs[k - 1]!;
    const prefix = segs.slice(0, k).join('.');
    const rest = segs.slice(k);
    const current = holder[key];
    if (expandable?.includes(prefix)) {
      if (typeof current === 'string') {
        const obj = await fetch(current);
        if (obj !== undefined) holder[key] = obj;
      }
      await expandAt(holder[key], rest, fullPath, fetch);
      return;
    }
    if (isObj(current) && typeof current.object === 'string') {
      if (rest.length === 0) throw cannotExpand(fullPath);
      await expandAt(current, rest, fullPath, fetch);
      return;
    }
    const leadsToExpandable = expandable?.some((e) => e.startsWith(`${prefix}.`)) ?? false;
    if (!leadsToExpandable) throw cannotExpand(fullPath);
    if (!isObj(current)) return; // e.g. `parent` is null: nothing to expand
    holder = current;
  }
  throw cannotExpand(fullPath);
}
