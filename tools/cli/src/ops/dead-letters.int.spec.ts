import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { DeadLetterStore, ensureStreams } from '@meterflow/messaging';
import { eventStoreMigration } from '@meterflow/event-store';
import { openTestInfra, type TestInfra } from '@meterflow/testing';
import { testConfig } from '../../test/helpers.js';
import { listDeadLetters, replayDeadLetters } from './dead-letters.js';

describe('meterflow dead-letters (real Postgres and NATS)', () => {
  let infra: TestInfra;
  beforeAll(async () => {
    infra = await openTestInfra();
    await infra.pool.query(eventStoreMigration('ingestion').sql);
  });
  afterAll(async () => {
    await infra.close();
  });

  it('lists the table and the MF_DEAD_LETTERS fallback, replays both to their subjects and removes them', async () => {
    const cfg = testConfig(infra.db.url, infra.ns);
    await ensureStreams(infra.nc, cfg.names);
    const event = JSON.stringify({ event_name: 'api_call', payload: { stripe_customer_id: 'cus_1', value: '2' } });
    await new DeadLetterStore(infra.pool, 'ingestion').record({
      consumer: 'meter-ingestion.ingest',
      subject: cfg.names.ingestSubject(),
      messageId: 'batch-1',
      data: event,
      reason: 'no_meter: No active meter was found for api_call',
    });
    // A schema without the table: Postgres refuses, the entry goes to the JetStream fallback.
    const refused = new DeadLetterStore(infra.pool, 'no_such_schema', {
      nc: infra.nc,
      subject: cfg.names.deadLetterSubject('credit-ledger'),
    });
    const paid = JSON.stringify({ id: 'evt_1', type: 'invoice.paid' });
    expect(
      await refused.record({
        consumer: 'credit_ledger_invoice_paid',
        subject: cfg.names.eventSubject('invoice.paid'),
        messageId: 'evt_1',
        data: paid,
        headers: { 'mf-correlation-id': 'corr-1' },
        reason: 'gave up after 5 failed attempts',
      }),
    ).toBe('jetstream');

    const listed = await listDeadLetters(cfg, infra.pool, infra.nc, { limit: 10 });
    expect(listed.map((e) => [e.source, e.subject, e.reason])).toEqual(
      expect.arrayContaining([
        ['postgres', cfg.names.ingestSubject(), 'no_meter: No active meter was found for api_call'],
        ['jetstream', cfg.names.eventSubject('invoice.paid'), 'gave up after 5 failed attempts'],
      ]),
    );
    expect(listed.find((e) => e.source === 'jetstream')!.messageId).toBe('evt_1');

    const results = await replayDeadLetters(cfg, infra.pool, infra.nc, listed);
    expect(results.map((r) => r.outcome)).toEqual(['replayed', 'replayed']);
    const jsm = await jetstreamManager(infra.nc);
    const ingest = await jsm.streams.getMessage(cfg.names.ingestStream, { last_by_subj: cfg.names.ingestSubject() });
    expect(ingest!.string()).toBe(event);
    expect(ingest!.header.get('Nats-Msg-Id')).toMatch(/^replay:ingestion:\d+$/);
    const again = await jsm.streams.getMessage(cfg.names.eventsStream, { last_by_subj: cfg.names.eventSubject('invoice.paid') });
    expect(again!.string()).toBe(paid);
    expect(again!.header.get('Nats-Msg-Id')).toBe('evt_1');
    expect(again!.header.get('mf-correlation-id')).toBe('corr-1');
    expect(await listDeadLetters(cfg, infra.pool, infra.nc, { limit: 10 })).toEqual([]);

    // Another consumer's letter of the same message, within the stream's duplicate window: held, kept for later.
    await refused.record({
      consumer: 'credit_ledger_invoice_paid_other',
      subject: cfg.names.eventSubject('invoice.paid'),
      messageId: 'evt_1',
      data: paid,
      reason: 'again',
    });
    const second = await listDeadLetters(cfg, infra.pool, infra.nc, { limit: 10 });
    expect((await replayDeadLetters(cfg, infra.pool, infra.nc, second)).map((r) => r.outcome)).toEqual(['held']);
    expect(await listDeadLetters(cfg, infra.pool, infra.nc, { limit: 10 })).toHaveLength(1);
  });
});
