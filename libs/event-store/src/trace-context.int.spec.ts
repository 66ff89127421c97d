import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { context, propagation, trace, TraceFlags } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { createTestDatabase, type TestDatabase } from '@meterflow/testing';
import { eventStoreMigration, PgEventStore } from './index.js';

describe('trace context in event metadata', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let store: PgEventStore;

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = new pg.Pool({ connectionString: db.url, max: 2 });
    await pool.query(eventStoreMigration('traced').sql);
    store = new PgEventStore(pool, 'traced');
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  });
  afterAll(async () => {
    context.disable();
    propagation.disable();
    await pool.end();
    await db.drop();
  });

  it('records the active span as traceparent, and nothing when there is none', async () => {
    const spanContext = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: TraceFlags.SAMPLED };
    const traced = trace.setSpanContext(context.active(), spanContext);
    await context.with(traced, () => store.append('traced-1', 'no_stream', [{ type: 'Happened', data: {} }]));
    await store.append('untraced-1', 'no_stream', [{ type: 'Happened', data: {} }]);
    const [withSpan] = await store.readStream('traced-1');
    const [without] = await store.readStream('untraced-1');
    expect(withSpan?.metadata.traceparent).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    expect(without?.metadata.traceparent).toBeUndefined();
  });
});
