import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { eventually } from '@meterflow/testing';
import { errorOf, startIngestion, type Harness } from './harness.js';

describe('identifier uniqueness window (int)', () => {
  let h: Harness;
  let db: pg.Pool;
  beforeAll(async () => {
    h = await startIngestion({ METER_EVENT_IDENTIFIER_WINDOW_DAYS: '1', INGEST_SCHEDULER_INTERVAL_MS: '200' });
    db = new pg.Pool({ connectionString: h.db.url, options: '-c search_path=ingestion' });
    await h.call('meters.create', { display_name: 'Calls', event_name: 'calls', default_aggregation: { formula: 'sum' } });
  });
  afterAll(async () => {
    await db?.end();
    await h?.close();
  });

  it('an identifier is unique within the window and usable again once the window has passed', async () => {
    const send = () =>
      h.call('meter_events.create', { event_name: 'calls', payload: { stripe_customer_id: 'c', value: '1' }, identifier: 'w-1' });
    await send();
    expect(await errorOf(send())).toMatchObject({ status: 400, message: 'An event already exists with identifier w-1.' });
    // received 25 hours ago: outside a 1-day window, pruned by housekeeping
    await db.query('UPDATE meter_event_identifiers SET received_at = received_at - 90000');
    await eventually(async () => ((await db.query('SELECT 1 FROM meter_event_identifiers')).rowCount === 0 ? true : undefined), 5_000);
    const again = await send();
    expect(again.identifier).toBe('w-1');
  });
});
