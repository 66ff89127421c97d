import { describe, expect, it } from 'vitest';
import { STRIPE_EVENT_ANNOUNCED, stripeEvent, type InvoiceEvent, type LineData } from '@meterflow/contracts';
import { toJson, type StoredEvent } from '@meterflow/event-store';
import { invoiceDecider, stripeTypesFor, type InvoiceCommand, type InvoiceState } from '../domain/invoice.decider.js';
import { renderInvoice } from '../domain/invoice.render.js';
import { invoicingAggregates, renderInvoiceEvents } from './invoicing.aggregates.js';
import type { InvoiceProjections } from './ports.js';
import { createInvoice, draftLine } from '../../test/invoice.fixtures.js';

const line = draftLine;
const create = (lines: LineData[]): InvoiceCommand =>
  createInvoice(lines, { test_clock: 'clock_1', idempotency_key: 'sub_1:1000:subscription_cycle' });

/** The Stripe events as they were stored whole before announcements (the reference). */
function wholeEvents(event: InvoiceEvent, before: InvoiceState, after: InvoiceState, ids: string[]): unknown[] {
  const types = stripeTypesFor(event);
  if (types.length === 0 || !after) return [];
  const at = event.type === 'InvoiceCreated' ? event.data.created : event.data.at;
  const object = renderInvoice(after) as unknown as Record<string, unknown>;
  const old = before && !before.deleted ? (renderInvoice(before) as unknown as Record<string, unknown>) : null;
  return types.map((type, i) => {
    const prev: Record<string, unknown> = {};
    if (old) for (const [k, v] of Object.entries(old)) if (JSON.stringify(v) !== JSON.stringify(object[k])) prev[k] = v;
    return stripeEvent(ids[i]!, type, object, at, {
      requestId: 'req_1',
      idempotencyKey: null,
      ...(type.endsWith('.updated') && old ? { previousAttributes: prev } : {}),
    }).data;
  });
}

/** Run commands as the pipeline does (announce after each decided event), storing them as jsonb would (JSON round trip). */
function run(commands: InvoiceCommand[]): { history: StoredEvent[]; expected: Map<number, unknown> } {
  const type = invoicingAggregates({} as InvoiceProjections).invoice;
  const history: StoredEvent[] = [];
  const expected = new Map<number, unknown>();
  let state: InvoiceState = invoiceDecider.initialState();
  const store = (e: { type: string; data: unknown }) => {
    const stored = { type: e.type, data: JSON.parse(toJson(e.data)), streamPosition: history.length + 1 } as unknown as StoredEvent;
    history.push(stored);
    return stored;
  };
  for (const command of commands) {
    for (const event of [invoiceDecider.decide(command, state)].flat()) {
      const before = state;
      state = invoiceDecider.evolve(state, event);
      store(event);
      const announced = type.announce!({ id: 'in_1', event, before, after: state, command }, { requestId: 'req_1' });
      const whole = wholeEvents(
        event,
        before,
        state,
        announced.map((a) => (a.data as { id: string }).id),
      );
      announced.forEach((a, i) => expected.set(store(a).streamPosition, JSON.parse(toJson(whole[i]))));
    }
  }
  return { history, expected };
}

describe('announced invoice events', () => {
  it('render at relay time exactly the Stripe events once stored whole (created, updated with previous_attributes, finalized, paid)', () => {
    const { history, expected } = run([
      create([line('il_1', 3000), line('il_2', 250, { subscription_item: 'si_2' })]),
      { type: 'UpdateInvoice', at: 2_100, changes: { metadata: { a: 'b' } } },
      { type: 'AddLine', at: 2_200, line: line('il_3', 100, { subscription_item: 'si_3' }) },
      { type: 'RefreshSubscriptionLines', at: 5_000, lines: [line('il_1', 4000, { quantity: 4 })] },
      {
        type: 'RecordCreditApplications',
        at: 5_000,
        applications: [{ line: 'il_1', amount: '1000', credit_balance_transaction: 'cbtxn_1', credit_grant: 'credgr_1' }],
      },
      { type: 'FinalizeInvoice', at: 5_600, number: 'ABC-0001' },
      { type: 'PayInvoice', at: 7_000, paid_out_of_band: true },
    ]);
    const announced = history.filter((e) => e.type === STRIPE_EVENT_ANNOUNCED);
    expect(announced.map((e) => e.data.type)).toEqual([
      'invoice.created',
      'invoice.updated',
      'invoice.updated',
      'invoice.finalized',
      'invoice.updated',
      'invoice.paid',
      'invoice.payment_succeeded',
    ]);
    // every announcement is small: the facts, not the invoice
    for (const a of announced) expect(JSON.stringify(a.data).length).toBeLessThan(200);
    const rendered = renderInvoiceEvents(
      history,
      announced.map((a) => ({ streamPosition: a.streamPosition, data: a.data })),
    ).map((t) => JSON.parse(t));
    expect(rendered).toEqual(announced.map((a) => expected.get(a.streamPosition)));
    // in any order and any subset (the relay hands over what one batch holds)
    const last = announced.slice(-3).reverse();
    expect(
      renderInvoiceEvents(
        history,
        last.map((a) => ({ streamPosition: a.streamPosition, data: a.data })),
      ).map((t) => JSON.parse(t)),
    ).toEqual(last.map((a) => expected.get(a.streamPosition)));
  });
});
