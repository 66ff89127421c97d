import { describe, expect, it } from 'vitest';
import { deciderSpec } from '@meterflow/testing';
import {
  decideInvoiceItem,
  evolveInvoiceItem,
  invoiceItemDecider,
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
