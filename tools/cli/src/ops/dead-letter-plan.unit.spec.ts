import { describe, expect, it } from 'vitest';
import { fallbackMessageId, parseRef, replayMessage, type DeadLetterEntry } from './dead-letter-plan.js';

const entry = (over: Partial<DeadLetterEntry>): DeadLetterEntry => ({
  ref: 'credit_ledger:7',
  source: 'postgres',
  consumer: 'credit_ledger_invoice_finalized',
  subject: 'mf.svc.invoicing.InvoiceFinalizationRequested',
  messageId: 'evt-uuid-1',
  reason: 'gave up after 5 failed attempts',
  recordedAt: new Date(0),
  data: '{"id":1}',
  headers: { 'Nats-Msg-Id': 'evt-uuid-1', 'mf-correlation-id': 'c1', 'mf-dead-letter-reason': 'x' },
  ...over,
});

describe('dead-letter replay', () => {
  it('keeps the message id for inbox consumers, so those that handled it skip it', () => {
    const m = replayMessage(entry({}), 'mf.ingest.');
    expect(m).toEqual({
      subject: 'mf.svc.invoicing.InvoiceFinalizationRequested',
      data: '{"id":1}',
      msgId: 'evt-uuid-1',
      headers: { 'mf-correlation-id': 'c1', 'mf-replayed-from': 'credit_ledger:7' },
    });
  });

  it('gives ingest letters a fresh id (events of one batch share the batch id; ingest dedupes by identifier)', () => {
    const m = replayMessage(entry({ ref: 'ingestion:3', subject: 'ns.mf.ingest.meter_events', messageId: 'batch-1' }), 'ns.mf.ingest.');
    expect(m.msgId).toBe('replay:ingestion:3');
    expect(replayMessage(entry({ messageId: null }), 'mf.ingest.').msgId).toBe('replay:credit_ledger:7');
  });

  it('reads references', () => {
    expect(parseRef('ingestion:12', 'MF_DEAD_LETTERS')).toEqual({ schema: 'ingestion', id: '12' });
    expect(parseRef('NS_MF_DEAD_LETTERS:5', 'NS_MF_DEAD_LETTERS')).toEqual({ stream: 'NS_MF_DEAD_LETTERS', seq: 5 });
    expect(() => parseRef('ingestion', 'MF_DEAD_LETTERS')).toThrow(/not a dead-letter reference/);
  });

  it('recovers the original id of a fallback entry', () => {
    const c = 'meter-ingestion.ingest';
    expect(
      fallbackMessageId(
        { 'Nats-Msg-Id': `dl:${c}:MF_INGEST:7:17`, 'mf-dead-letter-stream': 'MF_INGEST', 'mf-dead-letter-message-id': 'abc' },
        c,
      ),
    ).toBe('abc');
    expect(fallbackMessageId({ 'Nats-Msg-Id': `dl:${c}:MF_INGEST:7:17`, 'mf-dead-letter-stream': 'MF_INGEST' }, c)).toBeNull();
    // published before the header existed
    expect(fallbackMessageId({ 'Nats-Msg-Id': `dl:${c}:abc` }, c)).toBe('abc');
    expect(fallbackMessageId({}, 'x')).toBeNull();
  });
});
