import { describe, expect, it } from 'vitest';
import { deciderSpec } from '@meterflow/testing';
import {
  decideInvoiceItem,
  evolveInvoiceItem,
  invoiceItemDecider,
  itemForSubscription,
  lineForItem,
  renderInvoiceItem,
  type InvoiceItemCommand,
  type InvoiceItemState,
} from './invoice-item.decider.js';
import { INVOICING_EVENTS, eventContractViolation, type InvoiceItemData, type InvoiceItemEvent } from '@meterflow/contracts';

const data: InvoiceItemData = {
  id: 'ii_1',
  customer: 'cus_1',
  currency: 'usd',
  amount: '100',
  quantity: 3,
  unit_amount_decimal: '33.335',
  description: 'Credits pack',
  date: 1_000,
  period: { start: 1_000, end: 1_000 },
  metadata: { pack: 'small' },
  price: null,
  product: null,
  subscription: null,
  test_clock: null,
  invoice: null,
  line: null,
};

const fold = (events: InvoiceItemEvent[]): InvoiceItemState => events.reduce(evolveInvoiceItem, null as InvoiceItemState);
const created = decideInvoiceItem({ type: 'CreateInvoiceItem', data }, null);

/** given events, when command, then events (a function of them and the state after) or the error `{ code }`. */
const given = (events: InvoiceItemEvent[]) => deciderSpec(invoiceItemDecider).given(events);

describe('invoice item', () => {
  it('is created pending and renders as Stripe does', () => {
    const s = fold(created)!;
    expect(renderInvoiceItem(s)).toMatchObject({
      object: 'invoiceitem',
      amount: 100,
      quantity: 3,
      invoice: null,
      pricing: { type: 'price_details', unit_amount_decimal: '33.335' },
      metadata: { pack: 'small' },
      parent: null,
    });
  });

  it('is pulled into one invoice only', () => {
    given(created)
      .when({ type: 'InvoiceItem', invoice: 'in_1', line: 'il_1' })
      .then((ev, s) => {
        expect(ev.map((e) => e.type)).toEqual(['InvoiceItemInvoiced']);
        expect(s).toMatchObject({ invoice: 'in_1', line: 'il_1' });
        expect(lineForItem(s!, 'il_1')).toMatchObject({
          type: 'invoice_item_details',
          amount: '100',
          invoice_item: 'ii_1',
          metered: false,
        });
      });
    const invoiced = [...created, ...decideInvoiceItem({ type: 'InvoiceItem', invoice: 'in_1', line: 'il_1' }, fold(created))];
    given(invoiced)
      .when({ type: 'InvoiceItem', invoice: 'in_1', line: 'il_1' })
      .then((ev) => expect(ev).toEqual([]));
    given(invoiced).when({ type: 'InvoiceItem', invoice: 'in_2', line: 'il_2' }).then({ code: 'invoice_not_editable' });
  });

  it('is created once, and updated while it exists', () => {
    given([]).when({ type: 'CreateInvoiceItem', data }).then(created);
    given(created).when({ type: 'CreateInvoiceItem', data }).then({ code: 'resource_already_exists' });
    given([]).when({ type: 'InvoiceItem', invoice: 'in_1', line: 'il_1' }).then({ code: 'resource_missing' });
    given(created)
      .when({
        type: 'UpdateInvoiceItem',
        changes: {
          amount: '500',
          quantity: 5,
          unit_amount_decimal: '100',
          description: 'Five',
          period: data.period,
          metadata: {},
          price: null,
          product: null,
        },
      })
      .then((ev, s) => {
        expect(ev.map((e) => e.type)).toEqual(['InvoiceItemUpdated']);
        expect(renderInvoiceItem(s!)).toMatchObject({ amount: 500, quantity: 5, description: 'Five', metadata: {} });
      });
  });

  it('can be deleted while pending or on a draft, not once its invoice is finalized', () => {
    given(created)
      .when({ type: 'DeleteInvoiceItem', at: 2_000, invoiceStatus: null })
      .then((_ev, s) => expect(s!.deleted).toBe(true));
    given(created)
      .when({ type: 'DeleteInvoiceItem', at: 2_000, invoiceStatus: 'draft' })
      .then((ev) => expect(ev).toHaveLength(1));
    given(created).when({ type: 'DeleteInvoiceItem', at: 2_000, invoiceStatus: 'open' }).then({ code: 'invoice_not_editable' });
    const deleted = [...created, ...decideInvoiceItem({ type: 'DeleteInvoiceItem', at: 2_000, invoiceStatus: null }, fold(created))];
    given(deleted)
      .when({ type: 'UpdateInvoiceItem', changes: { ...data, amount: '1' } })
      .then({ code: 'resource_missing' });
  });
});

describe('the event contract (INVOICING_EVENTS)', () => {
  it('accepts everything the invoice item decider emits', () => {
    const out = [...created];
    const cmds: InvoiceItemCommand[] = [
      {
        type: 'UpdateInvoiceItem',
        changes: {
          amount: '200',
          quantity: 2,
          unit_amount_decimal: '100',
          description: null,
          period: data.period,
          metadata: {},
          price: null,
          product: null,
        },
      },
      { type: 'InvoiceItem', invoice: 'in_1', line: 'il_1' },
      { type: 'DeleteInvoiceItem', at: 2_000, invoiceStatus: 'draft' },
    ];
    for (const c of cmds) out.push(...decideInvoiceItem(c, fold(out)));
    expect(out.map((e) => e.type)).toEqual(['InvoiceItemCreated', 'InvoiceItemUpdated', 'InvoiceItemInvoiced', 'InvoiceItemDeleted']);
    for (const e of out) expect(eventContractViolation(INVOICING_EVENTS, e.type, e.data), e.type).toBeNull();
  });

  it('refuses an item without a customer', () => {
    const { customer: _c, ...rest } = created[0]!.data as InvoiceItemData;
    expect(eventContractViolation(INVOICING_EVENTS, 'InvoiceItemCreated', rest)).toMatch(/^customer: /);
  });
});

// Issue 8 items 5 and 7 (reference §4 "Mid-cycle metered price change / removal", "Proration"):
// a subscription change's invoice items, pending until the subscription's next invoice.
describe('invoice items a subscription change makes', () => {
  const req = { customer: 'cus_1', subscription: 'sub_1', currency: 'usd', created: 5_000, test_clock: 'clock_1' };
  const usage = itemForSubscription(
    {
      id: 'ii_usage',
      subscription_item: 'si_1',
      price: 'price_a',
      product: 'prod_a',
      meter: 'mtr_1',
      quantity: 150,
      amount: 3000,
      currency: 'usd',
      unit_amount_decimal: '1000',
      description: '150 × Car rental (per 60)',
      period: { start: 1_000, end: 5_000 },
      proration: false,
      credited_invoice_item: null,
    },
    req,
  );
  const credit = itemForSubscription(
    {
      id: 'ii_credit',
      subscription_item: 'si_2',
      price: 'price_seat',
      product: 'prod_seat',
      meter: null,
      quantity: 3,
      amount: -1000,
      currency: 'usd',
      unit_amount_decimal: null,
      description: 'Unused time on 3 × Seat after 16 Jan 2026',
      period: { start: 5_000, end: 9_000 },
      proration: true,
      credited_invoice_item: 'ii_charge',
    },
    req,
  );

  it('a flexible metered item’s usage so far: parent names the subscription and item, the old price, the period; credits apply to its line', () => {
    const s = fold([...decideInvoiceItem({ type: 'CreateSubscriptionItem', data: usage }, null)])!;
    expect(renderInvoiceItem(s)).toMatchObject({
      id: 'ii_usage',
      amount: 3000,
      invoice: null,
      parent: { type: 'subscription_details', subscription_details: { subscription: 'sub_1', subscription_item: 'si_1' } },
      pricing: { price_details: { price: 'price_a', product: 'prod_a' }, unit_amount_decimal: '1000' },
      period: { start: 1_000, end: 5_000 },
      proration: false,
      discountable: true,
      test_clock: 'clock_1',
    });
    expect(lineForItem(s, 'il_1')).toMatchObject({
      type: 'invoice_item_details',
      metered: true,
      subscription_item: 'si_1',
      invoice_item: 'ii_usage',
    });
  });

  it('a proration credit: proration true, not discountable, names the debit it credits back; no credits apply to it', () => {
    const s = fold(decideInvoiceItem({ type: 'CreateSubscriptionItem', data: credit }, null))!;
    expect(renderInvoiceItem(s)).toMatchObject({
      amount: -1000,
      quantity: 3,
      proration: true,
      discountable: false,
      proration_details: { credited_items: { type: 'invoice_item', invoice_item: 'ii_charge' } },
      pricing: { unit_amount_decimal: '-333.333333333333' },
    });
    expect(lineForItem(s, 'il_2')).toMatchObject({ metered: false, proration: true });
  });

  it('is made once: a repeated hand-over records nothing', () => {
    given(decideInvoiceItem({ type: 'CreateSubscriptionItem', data: credit }, null))
      .when({ type: 'CreateSubscriptionItem', data: credit })
      .then([]);
    for (const e of decideInvoiceItem({ type: 'CreateSubscriptionItem', data: credit }, null))
      expect(eventContractViolation(INVOICING_EVENTS, e.type, e.data)).toBeNull();
  });
});
