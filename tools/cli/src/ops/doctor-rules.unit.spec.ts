import { describe, expect, it } from 'vitest';
import {
  consumerLagCheck,
  deadLettersCheck,
  migrationsCheck,
  parseMigrateCheck,
  outboxCheck,
  postgresFailure,
  serviceOfDurable,
  streamsCheck,
} from './doctor-rules.js';

const URL_ = 'postgres://postgres:secret@db.internal:5433/meterflow';

describe('doctor verdicts', () => {
  it('tells a missing database from a refused login from no server', () => {
    expect(postgresFailure({ code: '3D000' }, URL_)).toMatchObject({ status: 'fail', fix: expect.stringContaining('pnpm migrate') });
    expect(postgresFailure({ code: '28P01', message: 'password authentication failed' }, URL_).fix).toMatch(/user and password/);
    const down = postgresFailure({ code: 'ECONNREFUSED' }, URL_);
    expect(down.detail).toContain('db.internal:5433');
    expect(down.detail).not.toContain('secret');
    expect(down.fix).toMatch(/\.\/mf start/);
  });

  it('names the migrations not applied', () => {
    expect(migrationsCheck([{ service: 'rating', pending: [] }]).status).toBe('ok');
    const c = migrationsCheck([
      { service: 'rating', pending: [] },
      { service: 'invoicing', pending: ['0004_numbers'] },
    ]);
    expect(c).toMatchObject({ status: 'fail', detail: 'not applied: invoicing (0004_numbers)' });
    expect(c.fix).toMatch(/pnpm migrate/);
    expect(migrationsCheck([{ service: 'gateway', error: '/x/dist/migrate.js is missing: build first (pnpm build)' }]).fix).toMatch(
      /pnpm build/,
    );
  });

  it("reads each service's migrate.js --check", () => {
    expect(parseMigrateCheck('rating', ['rating: schema rating is up to date'])).toEqual({ service: 'rating', pending: [] });
    expect(parseMigrateCheck('invoicing', ['invoicing: schema invoicing: 2 pending (0003_a, 0004_b)'])).toEqual({
      service: 'invoicing',
      pending: ['0003_a', '0004_b'],
    });
    expect(parseMigrateCheck('gateway', ['gateway: schema gateway: database not reachable (ECONNREFUSED)'])).toEqual({
      service: 'gateway',
      error: 'gateway: schema gateway: database not reachable (ECONNREFUSED)',
    });
  });

  it('finds missing streams and ones whose subjects changed', () => {
    const expected = [
      { name: 'MF_INGEST', subjects: ['mf.ingest.>'] },
      { name: 'MF_EVENTS', subjects: ['mf.events.>'] },
    ];
    expect(streamsCheck(expected, new Map([['MF_INGEST', { name: 'MF_INGEST', subjects: ['mf.ingest.>'], messages: 3 }]]))).toMatchObject({
      status: 'fail',
      detail: 'missing: MF_EVENTS',
    });
    const found = new Map([
      ['MF_INGEST', { name: 'MF_INGEST', subjects: ['mf.ingest.*'], messages: 0 }],
      ['MF_EVENTS', { name: 'MF_EVENTS', subjects: ['mf.events.>'], messages: 5 }],
    ]);
    expect(streamsCheck(expected, found).status).toBe('warn');
    found.set('MF_INGEST', { name: 'MF_INGEST', subjects: ['mf.ingest.>'], messages: 1000 });
    expect(streamsCheck(expected, found)).toMatchObject({ status: 'ok', detail: '2 streams, 1,005 messages' });
  });

  it('reports consumers behind with the service to look at', () => {
    const opts = { namespace: 'ns1', threshold: 1000, ingestStream: 'NS1_MF_INGEST' };
    expect(consumerLagCheck([], opts).status).toBe('warn');
    const lagging = consumerLagCheck(
      [
        { stream: 'NS1_MF_INGEST', durable: 'NS1_meter_ingestion_ingest', pending: 50_000, ackPending: 1000, redelivered: 0 },
        { stream: 'NS1_MF_EVENTS', durable: 'NS1_gateway_events', pending: 2, ackPending: 0, redelivered: 0 },
      ],
      opts,
    );
    expect(lagging.status).toBe('warn');
    expect(lagging.detail).toBe('NS1_meter_ingestion_ingest on NS1_MF_INGEST: 50,000 pending, 1,000 unacknowledged');
    expect(lagging.fix).toMatch(/^is meter-ingestion running\?/);
    expect(serviceOfDurable('credit_ledger_invoice_finalized', '')).toBe('credit-ledger');
  });

  it('points at the dead-letter commands and the relays', () => {
    expect(deadLettersCheck([{ where: 'ingestion.dead_letters', count: 0 }])).toMatchObject({ status: 'ok' });
    expect(deadLettersCheck([{ where: 'ingestion.dead_letters', count: 12 }]).fix).toMatch(/dead-letters list/);
    expect(outboxCheck([{ service: 'rating', behind: 5000 }], 1000)).toMatchObject({
      status: 'warn',
      detail: expect.stringContaining('rating: 5,000'),
    });
  });
});
