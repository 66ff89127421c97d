import { DomainError, invalid } from '@meterflow/kernel';
import {
  enumOf,
  exclusive,
  int,
  metadata,
  obj,
  objArr,
  rejectUnknown,
  str,
  timestamp,
  type MetadataPatch,
  type Params,
} from '@meterflow/stripe-api';
import type { Category, Scope } from '../domain/credit-grant.decider.js';

export interface CreateGrantParams {
  customer: string;
  currency: string;
  amount: bigint;
  category: Category;
  scope: Scope;
  priority: number;
  effectiveAt: number | undefined;
  expiresAt: number | null;
  name: string | null;
  metadata: Record<string, string>;
}

const noAccounts = (param: string) =>
  new DomainError('parameter_unsupported', `'${param}' (Accounts as customers) is not supported by Meterflow; pass 'customer'.`, { param });

function readScope(p: Params, key: string, required: boolean, where: string): { priceType: 'metered' | null; prices: string[] | null } {
  const scope = required ? obj(p, key, { required: true }) : obj(p, key);
  if (!scope) return { priceType: null, prices: null };
  rejectUnknown(scope, ['price_type', 'prices', 'billable_items']);
  exclusive(scope, ['price_type', 'prices', 'billable_items']);
  const priceType = enumOf(scope, 'price_type', ['metered'] as const) ?? null;
  const ids = (list: 'prices' | 'billable_items') =>
    objArr(scope, list)?.map((pr, i) => {
      rejectUnknown(pr, ['id']);
      const id = str(pr, 'id', { required: true });
      // Stripe's preview `billable_items`: here a billable item is the metered price that bills it
      // (docs/credits.md), so such a grant is a price-scoped grant.
      if (list === 'billable_items' && !id.startsWith('price_'))
        throw invalid(
          `${where}[billable_items][${i}][id]`,
          `A billable item is a metered price in Meterflow: '${id}' is not a price id (price_...).`,
        );
      return id;
    }) ?? null;
  const prices = ids('prices') ?? ids('billable_items');
  if (prices && prices.length > 20)
    throw invalid(`${where}[${scope.billable_items !== undefined ? 'billable_items' : 'prices'}]`, 'You can specify at most 20 prices.');
  return { priceType, prices };
}

export function parseCreateGrant(p: Params): CreateGrantParams {
  rejectUnknown(p, [
    'amount',
    'applicability_config',
    'category',
    'customer',
    'customer_account',
    'effective_at',
    'expires_at',
    'metadata',
    'name',
    'priority',
  ]);
  if (p.customer_account !== undefined) throw noAccounts('customer_account');
  const customer = str(p, 'customer', { required: true });
  const amount = obj(p, 'amount', { required: true });
  rejectUnknown(amount, ['type', 'monetary']);
  enumOf(amount, 'type', ['monetary'] as const, { required: true });
  const monetary = obj(amount, 'monetary', { required: true });
  rejectUnknown(monetary, ['currency', 'value']);
  const currency = str(monetary, 'currency', { required: true }).toLowerCase();
  if (!/^[a-z]{3}$/.test(currency)) throw invalid('amount[monetary][currency]', `Invalid currency: ${currency}`);
  const value = int(monetary, 'value', { required: true, min: 1 });

  const config = obj(p, 'applicability_config', { required: true });
  rejectUnknown(config, ['scope']);
  const scope = readScope(config, 'scope', true, 'applicability_config[scope]');
  if (!scope.priceType && !scope.prices) {
    throw new DomainError('parameter_missing', 'Missing required param: applicability_config[scope][price_type].', {
      param: 'applicability_config[scope][price_type]',
    });
  }

  const effectiveAt = timestamp(p, 'effective_at') ?? undefined;
  const expiresAt = timestamp(p, 'expires_at') ?? null;
  return {
    customer,
    currency,
    amount: BigInt(value),
    category: enumOf(p, 'category', ['paid', 'promotional'] as const) ?? 'paid',
    scope: { price_type: scope.prices ? null : 'metered', prices: scope.prices },
    priority: int(p, 'priority', { min: 0, max: 100 }) ?? 50,
    effectiveAt,
    expiresAt,
    name: str(p, 'name', { maxLength: 100 }) ?? null,
    metadata: stripEmpty(metadata(p)),
  };
}

const stripEmpty = (m: MetadataPatch): Record<string, string> => Object.fromEntries(Object.entries(m ?? {}).filter(([, v]) => v !== ''));

export interface UpdateGrantParams {
  expiresAt: number | null | undefined;
  metadata: MetadataPatch;
}

export function parseUpdateGrant(p: Params): UpdateGrantParams {
  rejectUnknown(p, ['expires_at', 'metadata']);
  return { expiresAt: timestamp(p, 'expires_at'), metadata: metadata(p) };
}

export function parseNoParams(p: Params): void {
  rejectUnknown(p, []);
}

export type SummaryFilter =
  { type: 'credit_grant'; creditGrant: string } | { type: 'applicability_scope'; priceType: 'metered' | null; prices: string[] | null };

export function parseSummary(p: Params): { customer: string; filter: SummaryFilter } {
  rejectUnknown(p, ['customer', 'customer_account', 'filter']);
  if (p.customer_account !== undefined) throw noAccounts('customer_account');
  const customer = str(p, 'customer', { required: true });
  const f = obj(p, 'filter', { required: true });
  rejectUnknown(f, ['type', 'applicability_scope', 'credit_grant']);
  const type = enumOf(f, 'type', ['applicability_scope', 'credit_grant'] as const, { required: true });
  if (type === 'credit_grant') return { customer, filter: { type, creditGrant: str(f, 'credit_grant', { required: true }) } };
  const scope = readScope(f, 'applicability_scope', true, 'filter[applicability_scope]');
  if (!scope.priceType && !scope.prices) {
    throw new DomainError('parameter_missing', 'Missing required param: filter[applicability_scope][price_type].', {
      param: 'filter[applicability_scope][price_type]',
    });
  }
  return { customer, filter: { type, priceType: scope.priceType, prices: scope.prices } };
}
