import { describe, expect, it } from 'vitest';
import { deciderSpec } from '@meterflow/testing';
import {
  decideInvoice,
  evolveInvoice,
  initialInvoiceState,
  invoiceDecider,
  stripeTypesFor,
  totals,
  type InvoiceCommand,
  type InvoiceState,
} from './invoice.decider.js';
import { INVOICING_EVENTS, eventContractViolation, type InvoiceEvent, type LineData } from '@meterflow/contracts';
import { renderInvoice } from './invoice.render.js';
import { itemAmount, lineForRated } from './invoice-item.decider.js';
import { createInvoice, draftLine } from '../../test/invoice.fixtures.js';

const line = draftLine;

const created = (lines: LineData[], over: Parameters<typeof createInvoice>[1] = {}): InvoiceEvent =>
  decideInvoice(createInvoice(lines, { test_clock: 'clock_1', idempotency_key: 'sub_1:1000:subscription_cycle', ...over }), null)[0]!;

const fold = (events: InvoiceEvent[]): InvoiceState => events.reduce(evolveInvoice, initialInvoiceState());

/** given events, when command, then events (a function of them and the state after) or the error `{ code }`. */
const given = (events: InvoiceEvent[]) => deciderSpec(invoiceDecider).given(events);

const credits = {
  type: 'RecordCreditApplications' as const,
  at: 5_000,
  applications: [{ line: 'il_1', amount: '1000', credit_balance_transaction: 'cbtxn_1', credit_grant: 'credgr_1' }],
};

describe('invoice aggregate', () => {
  it('a subscription draft totals its lines', () => {
    const s = fold([created([line('il_1', 3000), line('il_2', 250, { subscription_item: 'si_2' })])])!;
    expect(totals(s)).toMatchObject({ subtotal: 3250n, total: 3250n, amount_due: 3250n, amount_paid: 0n, amount_remaining: 3250n });
    const o = renderInvoice(s);
    expect(o).toMatchObject({
      status: 'draft',
      number: null,
      billing_reason: 'subscription_cycle',
      auto_advance: true,
      automatically_finalizes_at: 5_600,
    });
    expect(o.parent?.subscription_details?.subscription).toBe('sub_1');
    expect(o.lines.data[0]).toMatchObject({
      amount: 3000,
      pricing: { price_details: { price: 'price_1' } },
      parent: { subscription_item_details: { subscription_item: 'si_1' } },
    });
  });

  // stripe-api.md §5 (credits are pre-tax credits) and issue 8 item 3: total = subtotal − credits.
  it('credits reduce total and amount due and appear on lines and the invoice', () => {
    given([created([line('il_1', 3000)])])
      .when(credits)
      .then((ev, s) => {
        expect(ev.map((e) => e.type)).toEqual(['InvoiceCreditsApplied']);
        const o = renderInvoice(s!);
        expect(o.amount_due).toBe(2000);
        expect(o.subtotal).toBe(3000);
        expect(o.subtotal_excluding_tax).toBe(3000);
        expect(o.total).toBe(2000);
        expect(o.total_excluding_tax).toBe(2000);
        expect(o.lines.data[0]).toMatchObject({ amount: 3000, subtotal: 3000 });
        expect(o.lines.data[0]!.pretax_credit_amounts).toEqual([
          { amount: 1000, type: 'credit_balance_transaction', credit_balance_transaction: 'cbtxn_1' },
        ]);
        expect(o.total_pretax_credit_amounts).toEqual([
          { amount: 1000, type: 'credit_balance_transaction', credit_balance_transaction: 'cbtxn_1' },
        ]);
      });
  });

  it('credits are recorded once (the ledger is idempotent by invoice, and so is the draft)', () => {
    const first = decideInvoice(credits, fold([created([line('il_1', 3000)])]));
    given([created([line('il_1', 3000)]), ...first])
      .when(credits)
      .then((ev) => expect(ev).toEqual([]));
  });

  it('an empty answer records nothing and leaves the lines editable (no credit to protect)', () => {
    given([created([line('il_1', 3000)])])
      .when({ ...credits, applications: [] })
      .then((ev) => expect(ev).toEqual([]));
    const s = fold([
      created([line('il_1', 3000)]),
      ...decideInvoice({ ...credits, applications: [] }, fold([created([line('il_1', 3000)])])),
    ]);
    expect(decideInvoice({ type: 'ChangeLine', at: 5_001, line: line('il_1', 10) }, s).map((e) => e.type)).toEqual(['InvoiceLineChanged']);
  });

  it('refuses credits larger than the line', () => {
    given([created([line('il_1', 500)])])
      .when(credits)
      .then({ code: 'credit_application_invalid' });
  });

  it('finalizing opens the invoice with a number; nothing due means paid at once', () => {
    given([created([line('il_1', 3000)])])
      .when({ type: 'FinalizeInvoice', at: 5_600, number: 'ABC-0001' })
      .then((ev, s) => {
        expect(ev.map((e) => e.type)).toEqual(['InvoiceFinalized']);
        expect(s).toMatchObject({ status: 'open', number: 'ABC-0001', status_transitions: { finalized_at: 5_600 } });
        expect(renderInvoice(s!).automatically_finalizes_at).toBeNull();
      });
    given([created([line('il_1', 1000)]), ...decideInvoice(credits, fold([created([line('il_1', 1000)])]))])
      .when({ type: 'FinalizeInvoice', at: 5_600, number: 'ABC-0001' })
      .then((ev, s) => {
        expect(ev.map((e) => e.type)).toEqual(['InvoiceFinalized', 'InvoicePaid']);
        expect(renderInvoice(s!)).toMatchObject({ status: 'paid', amount_due: 0, amount_paid: 0, status_transitions: { paid_at: 5_600 } });
      });
  });

  it('drafts are editable and re-rated; open invoices are not', () => {
    const start = [created([line('il_1', 3000)])];
    given(start)
      .when({ type: 'RefreshSubscriptionLines', at: 5_000, lines: [line('il_1', 4000, { quantity: 4 })] })
      .then((_ev, s) => expect(totals(s!).subtotal).toBe(4000n));
    // Re-rated lines equal to the ones handed over (usage unchanged): nothing to record.
    expect(decideInvoice({ type: 'RefreshSubscriptionLines', at: 5_000, lines: [line('il_1', 3000)] }, fold(start))).toEqual([]);
    expect(
      decideInvoice({ type: 'RefreshSubscriptionLines', at: 5_000, lines: [line('il_1', 3000, { description: 'other' })] }, fold(start)),
    ).toHaveLength(1);
    const open = [...start, ...decideInvoice({ type: 'FinalizeInvoice', at: 5_600, number: 'X-0001' }, fold(start))];
    given(open)
      .when({ type: 'AddLine', at: 6_000, line: line('il_9', 1) })
      .then({ code: 'invoice_not_editable' });
    given(open).when({ type: 'FinalizeInvoice', at: 6_000, number: 'X' }).then({ code: 'status_transition_invalid' });
    given(open)
      .when({ type: 'UpdateInvoice', at: 6_000, changes: { collection_method: 'send_invoice' } })
      .then({ code: 'invoice_not_editable' });
    given(open)
      .when({ type: 'UpdateInvoice', at: 6_000, changes: { metadata: { a: 'b' } } })
      .then((_e, s) => expect(s!.metadata).toEqual({ a: 'b' }));
  });

  it('open -> paid (out of band), and paid is terminal', () => {
    const start = [created([line('il_1', 3000)])];
    const open = [...start, ...decideInvoice({ type: 'FinalizeInvoice', at: 5_600, number: 'X-0001' }, fold(start))];
    given(open)
      .when({ type: 'PayInvoice', at: 7_000, paid_out_of_band: true })
      .then((ev, s) => {
        expect(ev.flatMap(stripeTypesFor)).toEqual(['invoice.paid', 'invoice.payment_succeeded']);
        expect(renderInvoice(s!)).toMatchObject({
          status: 'paid',
          amount_paid: 3000,
          amount_remaining: 0,
          amount_due: 3000,
          status_transitions: { paid_at: 7_000 },
        });
      });
    const paid = [...open, ...decideInvoice({ type: 'PayInvoice', at: 7_000, paid_out_of_band: true }, fold(open))];
    given(paid).when({ type: 'VoidInvoice', at: 8_000 }).then({ code: 'status_transition_invalid' });
    given(paid).when({ type: 'PayInvoice', at: 8_000, paid_out_of_band: false }).then({ code: 'invoice_already_paid' });
  });

  it('open -> uncollectible -> void; drafts cannot be voided', () => {
    const start = [created([line('il_1', 3000)])];
    given(start).when({ type: 'VoidInvoice', at: 1 }).then({ code: 'status_transition_invalid' });
    const open = [...start, ...decideInvoice({ type: 'FinalizeInvoice', at: 5_600, number: 'X-0001' }, fold(start))];
    const unc = [...open, ...decideInvoice({ type: 'MarkUncollectible', at: 6_000 }, fold(open))];
    expect(fold(unc)).toMatchObject({ status: 'uncollectible', status_transitions: { marked_uncollectible_at: 6_000 } });
    given(unc)
      .when({ type: 'VoidInvoice', at: 7_000 })
      .then((_e, s) =>
        expect(renderInvoice(s!)).toMatchObject({ status: 'void', amount_remaining: 0, status_transitions: { voided_at: 7_000 } }),
      );
    given(unc)
      .when({ type: 'PayInvoice', at: 7_000, paid_out_of_band: true })
      .then((_e, s) => expect(s!.status).toBe('paid'));
  });

  it('only one-off drafts can be deleted', () => {
    given([created([line('il_1', 3000)])])
      .when({ type: 'DeleteInvoice', at: 1 })
      .then({ code: 'invoice_not_editable' });
    given([created([], { subscription: null, billing_reason: 'manual', idempotency_key: null })])
      .when({ type: 'DeleteInvoice', at: 1 })
      .then((ev, s) => {
        expect(ev.flatMap(stripeTypesFor)).toEqual(['invoice.deleted']);
        expect(s!.deleted).toBe(true);
      });
  });

  it('is created once; any other command needs an invoice that exists and is not deleted', () => {
    given([])
      .when({ type: 'CreateInvoice', data: (created([]) as Extract<InvoiceEvent, { type: 'InvoiceCreated' }>).data })
      .then([created([])]);
    given([created([])])
      .when({ type: 'CreateInvoice', data: (created([]) as Extract<InvoiceEvent, { type: 'InvoiceCreated' }>).data })
      .then({ code: 'resource_already_exists' });
    given([]).when({ type: 'VoidInvoice', at: 1 }).then({ code: 'resource_missing' });
    const deleted = [created([], { subscription: null, billing_reason: 'manual', idempotency_key: null })];
    deleted.push(...decideInvoice({ type: 'DeleteInvoice', at: 1 }, fold(deleted)));
    given(deleted).when({ type: 'DeleteInvoice', at: 2 }).then({ code: 'resource_missing' });
    given(deleted)
      .when({ type: 'UpdateInvoice', at: 2, changes: { description: 'x' } })
      .then({ code: 'resource_missing' });
  });

  it('changing or removing a line the draft does not have records nothing', () => {
    given([created([line('il_1', 3000)])])
      .when({ type: 'ChangeLine', at: 3_000, line: line('il_9', 1) })
      .then([]);
    given([created([line('il_1', 3000)])])
      .when({ type: 'RemoveLine', at: 3_000, line: 'il_9' })
      .then([]);
    given([created([line('il_1', 3000)])])
      .when({ type: 'RemoveLine', at: 3_000, line: 'il_1' })
      .then((ev, s) => {
        expect(ev.flatMap(stripeTypesFor)).toEqual(['invoice.updated']);
        expect(totals(s!).subtotal).toBe(0n);
      });
  });

  it('credits name lines of the invoice, and re-rating stops once they are recorded', () => {
    given([created([line('il_1', 3000)])])
      .when({ ...credits, applications: [{ ...credits.applications[0]!, line: 'il_nope' }] })
      .then({ code: 'credit_application_invalid' });
    const credited = [created([line('il_1', 3000)]), ...decideInvoice(credits, fold([created([line('il_1', 3000)])]))];
    given(credited)
      .when({ type: 'RefreshSubscriptionLines', at: 5_000, lines: [line('il_1', 9000)] })
      .then([]);
  });

  it('only open invoices are sent; drafts are neither paid nor marked uncollectible', () => {
    const start = [created([line('il_1', 3000)])];
    given(start).when({ type: 'SendInvoice', at: 1 }).then({ code: 'status_transition_invalid' });
    given(start).when({ type: 'PayInvoice', at: 1, paid_out_of_band: true }).then({ code: 'status_transition_invalid' });
    given(start).when({ type: 'MarkUncollectible', at: 1 }).then({ code: 'status_transition_invalid' });
    const open = [...start, ...decideInvoice({ type: 'FinalizeInvoice', at: 5_600, number: 'X-0001' }, fold(start))];
    given(open)
      .when({ type: 'SendInvoice', at: 6_000 })
      .then((ev, s) => {
        expect(ev.flatMap(stripeTypesFor)).toEqual(['invoice.sent']);
        expect(s!.status).toBe('open');
      });
  });

  it('embeds the first 10 lines and says there are more', () => {
    const lines = Array.from({ length: 12 }, (_, i) => line(`il_${String(i).padStart(2, '0')}`, 100));
    const o = renderInvoice(fold([created(lines)])!);
    expect(o.lines.data).toHaveLength(10);
    expect(o.lines.has_more).toBe(true);
    expect(o.subtotal).toBe(1200);
  });
});

describe('line amounts', () => {
  it('rounds unit_amount_decimal x quantity once, half up', () => {
    expect(itemAmount({ unit_amount_decimal: '0.125', quantity: 3 })).toEqual({ amount: 0n, unit_amount_decimal: '0.125' });
    expect(itemAmount({ unit_amount_decimal: '0.5', quantity: 5 }).amount).toBe(3n);
    expect(itemAmount({ unit_amount_decimal: '16.6666666', quantity: 3 }).amount).toBe(50n);
    expect(itemAmount({ amount: 1000n, quantity: 1 })).toEqual({ amount: 1000n, unit_amount_decimal: '1000' });
    expect(itemAmount({ amount: 100n, quantity: 3 })).toEqual({ amount: 100n, unit_amount_decimal: '33.333333333333' });
  });
  it('a rated line becomes a metered subscription line', () => {
    const l = lineForRated(
      {
        subscription_item: 'si_1',
        price: 'price_1',
        product: 'prod_1',
        meter: 'mtr_1',
        quantity: 3,
        amount: 3000,
        currency: 'usd',
        unit_amount_decimal: '1000',
        description: '3 × hours',
        period: { start: 1, end: 2 },
      },
      'il_1',
      'sub_1',
    );
    expect(l).toMatchObject({ amount: '3000', metered: true, subscription_item: 'si_1', type: 'subscription_item_details' });
  });
});

describe('the event contract (INVOICING_EVENTS)', () => {
  const run = (history: InvoiceEvent[], ...cmds: InvoiceCommand[]): InvoiceEvent[] => {
    const out = [...history];
    for (const c of cmds) out.push(...decideInvoice(c, fold(out)));
    return out;
  };

  it('accepts everything the invoice decider emits', () => {
    const sub = run(
      [created([line('il_1', 3000)])],
      { type: 'UpdateInvoice', at: 2_100, changes: { description: 'April', metadata: { a: 'b' }, footer: 'f' } },
      {
        type: 'AddLine',
        at: 2_200,
        line: line('il_9', -100, { type: 'invoice_item_details', subscription_item: null, invoice_item: 'ii_1', metered: false }),
      },
      {
        type: 'ChangeLine',
        at: 2_300,
        line: line('il_9', -50, { type: 'invoice_item_details', subscription_item: null, invoice_item: 'ii_1', metered: false }),
      },
      { type: 'RemoveLine', at: 2_400, line: 'il_9' },
      { type: 'RefreshSubscriptionLines', at: 5_000, lines: [line('il_1', 4000, { quantity: 4 })] },
      credits,
      { type: 'FinalizeInvoice', at: 5_600, number: 'X-0001', auto_advance: false },
      { type: 'SendInvoice', at: 5_700 },
      { type: 'PayInvoice', at: 7_000, paid_out_of_band: true },
    );
    const open = [created([line('il_1', 3000)], { id: 'in_2' })];
    const voided = run(
      open,
      { type: 'FinalizeInvoice', at: 5_600, number: 'X-0002' },
      { type: 'MarkUncollectible', at: 6_000 },
      { type: 'VoidInvoice', at: 7_000 },
    );
    const deleted = run([created([], { id: 'in_3', subscription: null, billing_reason: 'manual', idempotency_key: null })], {
      type: 'DeleteInvoice',
      at: 1,
    });
    const events = [...sub, ...voided, ...deleted];
    expect(new Set(events.map((e) => e.type))).toEqual(
      new Set(
        [...INVOICING_EVENTS.keys()].filter((t) => t.startsWith('Invoice') && !t.startsWith('InvoiceItem') && t !== 'InvoiceKeyClaimed'),
      ),
    );
    for (const e of events) expect(eventContractViolation(INVOICING_EVENTS, e.type, e.data), e.type).toBeNull();
  });

  it('refuses a line whose amount is a number instead of a decimal string', () => {
    const [e] = decideInvoice({ type: 'AddLine', at: 2_200, line: line('il_9', 5) }, fold([created([line('il_1', 3000)])]));
    expect(eventContractViolation(INVOICING_EVENTS, e!.type, { ...e!.data, line: { ...line('il_9', 5), amount: 5 } })).toMatch(
      /^line\.amount: /,
    );
  });
});
