import { InvoiceKeyClaimed, type EventOf } from '@meterflow/contracts';

/**
 * An idempotency key of `subscription_invoices.create[_many]` (its own stream): the first claim
 * names the key's one invoice; a later claim records nothing (the caller answers that invoice).
 */
export type InvoiceKeyEvent = EventOf<typeof InvoiceKeyClaimed>;
export type InvoiceKeyState = { invoice: string } | null;
export type InvoiceKeyCommand = { type: 'ClaimInvoiceKey'; key: string; invoice: string };

export const invoiceKeyDecider = {
  initialState: (): InvoiceKeyState => null,
  decide: (command: InvoiceKeyCommand, state: InvoiceKeyState): InvoiceKeyEvent[] =>
    state ? [] : [InvoiceKeyClaimed({ key: command.key, invoice: command.invoice })],
  evolve: (state: InvoiceKeyState, event: InvoiceKeyEvent): InvoiceKeyState =>
    event.type === 'InvoiceKeyClaimed' ? (state ?? { invoice: event.data.invoice }) : state,
};
