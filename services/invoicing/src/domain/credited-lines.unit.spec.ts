import { describe, expect, it } from 'vitest';
import { deciderSpec } from '@meterflow/testing';
import type { InvoiceEvent, LineData } from '@meterflow/contracts';
import { createInvoice, draftLine } from '../../test/invoice.fixtures.js';
import { decideInvoice, invoiceDecider } from './invoice.decider.js';

/*
 * Credits are applied at finalization to the lines as they are then, each ledger debit naming its
 * line (stripe-api.md §5 "When credits are applied"; issue 8 item 3): once the ledger's answer is
 * recorded, the lines are frozen. Found by invoice.properties.unit.spec.ts: a credited line
 * changed to 0 kept its credit (total below subtotal − what the line could take).
 */

const line = (id: string, amount: number): LineData =>
  draftLine(id, amount, { description: null, quantity: 1, unit_amount_decimal: null, price: 'price_m' });

const created = decideInvoice(createInvoice([line('il_1', 2)]), null);
const credited: InvoiceEvent[] = [
  ...created,
  ...decideInvoice(
    {
      type: 'RecordCreditApplications',
      at: 5_000,
      applications: [{ line: 'il_1', amount: '1', credit_balance_transaction: 'cbtxn_1', credit_grant: 'credgr_1' }],
    },
    invoiceDecider.evolve(null, created[0]!),
  ),
];
const given = (events: InvoiceEvent[]) => deciderSpec(invoiceDecider).given(events);

describe('lines once credits are recorded', () => {
  it('given credits recorded on a draft, when a credited line is changed, then invoice_not_editable', () => {
    given(credited)
      .when({ type: 'ChangeLine', at: 5_001, line: line('il_1', 0) })
      .then({ code: 'invoice_not_editable' });
  });
  it('given credits recorded, when a line is removed or added, then invoice_not_editable', () => {
    given(credited).when({ type: 'RemoveLine', at: 5_001, line: 'il_1' }).then({ code: 'invoice_not_editable' });
    given(credited)
      .when({ type: 'AddLine', at: 5_001, line: line('il_2', 5) })
      .then({ code: 'invoice_not_editable' });
  });
  it('given no credits yet, then a draft line can still change', () => {
    given(created)
      .when({ type: 'ChangeLine', at: 5_001, line: line('il_1', 0) })
      .then((ev) => expect(ev.map((e) => e.type)).toEqual(['InvoiceLineChanged']));
  });
});
