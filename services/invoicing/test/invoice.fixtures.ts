import type { LineData } from '@meterflow/contracts';
import {
  decideInvoice,
  evolveInvoice,
  initialInvoiceState,
  type Invoice,
  type InvoiceCommand,
  type InvoiceState,
} from '../src/domain/invoice.decider.js';

/**
 * Draft-invoice fixtures shared by the invoice domain's unit specs: a subscription line, the
 * `CreateInvoice` of a cycle invoice (in_1 for cus_1 and sub_1, period [1000, 2000)), and a
 * draft folded from it. Specs override what their rule is about.
 */

/** A metered subscription line of sub_1/si_1 for [1000, 2000). */
export const draftLine = (id: string, amount: number, over: Partial<LineData> = {}): LineData => ({
  id,
  type: 'subscription_item_details',
  amount: String(amount),
  currency: 'usd',
  description: 'usage',
  period: { start: 1_000, end: 2_000 },
  quantity: 3,
  unit_amount_decimal: '1000',
  price: 'price_1',
  product: 'prod_1',
  metered: true,
  subscription: 'sub_1',
  subscription_item: 'si_1',
  invoice_item: null,
  metadata: {},
  ...over,
});

type CreateInvoice = Extract<InvoiceCommand, { type: 'CreateInvoice' }>;

/** `CreateInvoice` of in_1, a subscription_cycle draft created at 2000, finalizing at 5600. */
export const createInvoice = (lines: LineData[], over: Partial<CreateInvoice['data']> = {}): CreateInvoice => ({
  type: 'CreateInvoice',
  data: {
    id: 'in_1',
    customer: 'cus_1',
    currency: 'usd',
    created: 2_000,
    billing_reason: 'subscription_cycle',
    collection_method: 'charge_automatically',
    auto_advance: true,
    automatically_finalizes_at: 5_600,
    description: null,
    metadata: {},
    test_clock: null,
    subscription: 'sub_1',
    period_start: 1_000,
    period_end: 2_000,
    days_until_due: null,
    due_date: null,
    footer: null,
    idempotency_key: 'k',
    lines,
    ...over,
  },
});

/** The invoice after `createInvoice(lines, over)` and then `commands`, each decided and folded. */
export function draftInvoice(lines: LineData[], commands: InvoiceCommand[] = [], over: Partial<CreateInvoice['data']> = {}): Invoice {
  let state: InvoiceState = initialInvoiceState();
  for (const c of [createInvoice(lines, over), ...commands]) for (const e of decideInvoice(c, state)) state = evolveInvoice(state, e);
  return state!;
}
