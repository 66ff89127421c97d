import { describe, expect, it } from 'vitest';
import { eventContractViolation, stripeEvent, StripeEventAnnounced } from './core.js';
import {
  INVOICING_EVENTS,
  InvoiceCreated,
  InvoiceCreditsApplied,
  InvoiceDeleted,
  InvoiceFinalized,
  InvoiceItemCreated,
  InvoiceItemDeleted,
  InvoiceItemInvoiced,
  InvoiceItemUpdated,
  InvoiceKeyClaimed,
  InvoiceLineAdded,
  InvoiceLineChanged,
  InvoiceLineRemoved,
  InvoiceLinesRefreshed,
  InvoiceMarkedUncollectible,
  InvoicePaid,
  InvoiceSent,
  InvoiceUpdated,
  InvoiceVoided,
  type InvoiceItemData,
  type LineData,
} from './invoicing.js';

// Shaped like the invoice and invoice-item deciders' output (amounts are decimal strings); the
// deciders' own output is checked in services/invoicing.
const line: LineData = {
  id: 'il_1',
  type: 'subscription_item_details',
  amount: '3000',
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
};
const invoice = {
  id: 'in_1',
  customer: 'cus_1',
  currency: 'usd',
  created: 2_000,
  billing_reason: 'subscription_cycle' as const,
  collection_method: 'charge_automatically' as const,
  auto_advance: true,
  automatically_finalizes_at: 5_600,
  description: null,
  metadata: {},
  test_clock: 'clock_1',
  subscription: 'sub_1',
  period_start: 1_000,
  period_end: 2_000,
  days_until_due: null,
  due_date: null,
  footer: null,
  idempotency_key: 'sub_1:1000:subscription_cycle',
  lines: [line],
};
const item: InvoiceItemData = {
  id: 'ii_1',
  customer: 'cus_1',
  currency: 'usd',
  amount: '-100',
  quantity: 1,
  unit_amount_decimal: '-100',
  description: 'Goodwill',
  date: 1_000,
  period: { start: 1_000, end: 1_000 },
  metadata: { k: 'v' },
  price: null,
  product: null,
  subscription: null,
  test_clock: null,
  invoice: null,
  line: null,
};

const check = (e: { type: string; data: unknown }) => eventContractViolation(INVOICING_EVENTS, e.type, e.data);

describe('INVOICING_EVENTS', () => {
  it('accepts every event the service appends', () => {
    const oneOff = {
      ...line,
      id: 'il_2',
      type: 'invoice_item_details' as const,
      subscription: null,
      subscription_item: null,
      invoice_item: 'ii_1',
      metered: false,
    };
    const events = [
      InvoiceCreated(invoice),
      InvoiceCreated({
        ...invoice,
        id: 'in_2',
        billing_reason: 'manual',
        collection_method: 'send_invoice',
        days_until_due: 30,
        subscription: null,
        idempotency_key: null,
        lines: [],
      }),
      InvoiceUpdated({ at: 2_100, description: 'x', metadata: { a: 'b' }, footer: null }),
      InvoiceLineAdded({ at: 2_100, line: oneOff }),
      InvoiceLineChanged({ at: 2_100, line: { ...oneOff, amount: '-50' } }),
      InvoiceLineRemoved({ at: 2_100, line: 'il_2' }),
      InvoiceLinesRefreshed({ at: 5_600, lines: [{ ...line, amount: '3300', quantity: 33 }] }),
      InvoiceCreditsApplied({
        at: 5_600,
        applications: [{ line: 'il_1', amount: '500', credit_balance_transaction: 'cbtxn_1', credit_grant: 'credgr_1' }],
      }),
      InvoiceFinalized({ at: 5_600, number: 'ABC-0001' }),
      InvoiceFinalized({ at: 5_600, number: 'ABC-0002', auto_advance: false }),
      InvoicePaid({ at: 6_000, amount_paid: '2800', paid_out_of_band: true }),
      InvoiceVoided({ at: 6_000 }),
      InvoiceMarkedUncollectible({ at: 6_000 }),
      InvoiceSent({ at: 6_000 }),
      InvoiceDeleted({ at: 6_000 }),
      InvoiceItemCreated(item),
      InvoiceItemUpdated({
        amount: '-200',
        quantity: 2,
        unit_amount_decimal: '-100',
        description: null,
        period: item.period,
        metadata: {},
        price: null,
        product: null,
      }),
      InvoiceItemInvoiced({ invoice: 'in_2', line: 'il_2' }),
      InvoiceItemDeleted({ at: 6_000 }),
      InvoiceKeyClaimed({ key: 'sub_1:1000:subscription_cycle', invoice: 'in_1' }),
      stripeEvent('evt_1', 'invoice.created', { id: 'in_1', object: 'invoice' }, 2_000),
      StripeEventAnnounced({ id: 'evt_2', type: 'invoice.finalized', created: 2_000, request: { id: null, idempotency_key: null } }),
    ];
    for (const e of events) expect(check(e), e.type).toBeNull();
    expect(new Set(events.map((e) => e.type))).toEqual(new Set(INVOICING_EVENTS.keys()));
  });

  it('rejects malformed events and unknown types', () => {
    // amounts are decimal strings of minor units, never JS numbers or bigints
    expect(check({ type: 'InvoiceLineAdded', data: { at: 1, line: { ...line, amount: 3000 } } })).toMatch(/^line\.amount: /);
    expect(check({ type: 'InvoicePaid', data: { at: 1, amount_paid: 10n, paid_out_of_band: false } })).toMatch(/^amount_paid: /);
    expect(check({ type: 'InvoiceCreated', data: { ...invoice, billing_reason: 'whim' } })).toMatch(/^billing_reason: /);
    const { customer: _c, ...noCustomer } = invoice;
    expect(check({ type: 'InvoiceCreated', data: noCustomer })).toMatch(/^customer: /);
    expect(check({ type: 'InvoiceKeyClaimed', data: { key: 'k' } })).toMatch(/^invoice: /);
    expect(check({ type: 'InvoiceReopened', data: { at: 1 } })).toBe("unknown event type 'InvoiceReopened'");
  });
});
