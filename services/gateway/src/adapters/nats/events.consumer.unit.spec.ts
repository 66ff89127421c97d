import { describe, expect, it } from 'vitest';
import type { InboundMessage } from '@meterflow/messaging';
import { eventFromHeaders, stripeEventFacts } from './events.consumer.js';

const PREFIX = 'ns.mf.events.';
const msg = (subject: string, headers: Record<string, string>): InboundMessage => ({
  subject,
  data: new Uint8Array(0),
  json: () => {
    throw new Error('headers only');
  },
  headers,
  messageId: headers['Nats-Msg-Id'],
  deliveryCount: 1,
  streamSequence: 42,
});

describe('the MF_EVENTS consumer', () => {
  it('knows a relayed event by its headers and subject alone', () => {
    const h = { 'Nats-Msg-Id': 'evt_1', 'mf-stripe-created': '1700000000', traceparent: '00-abc-def-01' };
    expect(eventFromHeaders(msg(`${PREFIX}invoice.payment_succeeded`, h), PREFIX)).toEqual({
      id: 'evt_1',
      type: 'invoice.payment_succeeded',
      created: 1_700_000_000,
      streamSeq: 42,
      traceparent: '00-abc-def-01',
    });
  });

  it('leaves a message without them to its body', () => {
    const ok = { 'Nats-Msg-Id': 'evt_1', 'mf-stripe-created': '1700000000' };
    expect(eventFromHeaders(msg(`${PREFIX}invoice.paid`, { 'Nats-Msg-Id': 'evt_1' }), PREFIX)).toBeUndefined();
    expect(eventFromHeaders(msg(`${PREFIX}invoice.paid`, { ...ok, 'mf-stripe-created': 'soon' }), PREFIX)).toBeUndefined();
    expect(eventFromHeaders(msg(`${PREFIX}invoice.paid`, { ...ok, 'Nats-Msg-Id': 'in_1' }), PREFIX)).toBeUndefined();
    expect(eventFromHeaders(msg(PREFIX, ok), PREFIX)).toBeUndefined();
    expect(eventFromHeaders(msg('other.mf.events.invoice.paid', ok), PREFIX)).toBeUndefined();
  });

  it('reads a body: a Stripe event object, or why not', () => {
    expect(stripeEventFacts('{"id":"evt_2","object":"event","type":"customer.created","created":5}')).toEqual({
      id: 'evt_2',
      type: 'customer.created',
      created: 5,
    });
    expect(stripeEventFacts('{"id":"evt_2","object":"customer"}')).toBe('not a Stripe event object');
    expect(stripeEventFacts('{')).toBe('not JSON');
  });
});
