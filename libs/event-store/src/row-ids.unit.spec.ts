import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { withRowIdsText } from './index.js';

// Event rows store their metadata without `eventId` and `streamId` (the row's columns); the
// relay adds them back to the stored JSON text without parsing it. Rows stored before hold them
// already, as json in the order written or as jsonb (keys by length: `eventId` first).
describe('withRowIdsText', () => {
  const ids = { eventId: '3f1e2d4c-0000-4000-8000-000000000001', streamId: 'invoice-in_"odd\\id' };
  // values as metadata holds them (ids, W3C trace context): the jsonb-like spacing below is made
  // by a plain replace, which a quote or colon inside a value would break
  const value = fc.stringMatching(/^[A-Za-z0-9_-]{0,40}$/);
  const rest = fc.record(
    {
      occurredAt: fc.constant('2026-12-07T16:00:00.000Z'),
      causationId: value,
      correlationId: value,
      traceparent: value,
    },
    { requiredKeys: [] },
  );

  it('adds the row ids to stored text without them, as json or jsonb prints it', () => {
    fc.assert(
      fc.property(rest, fc.boolean(), (stored, spaced) => {
        // jsonb's text output puts a space after each colon and comma
        const text = spaced ? JSON.stringify(stored).replace(/":/g, '": ').replace(/,"/g, ', "') : JSON.stringify(stored);
        expect(JSON.parse(withRowIdsText(text, ids.eventId, ids.streamId))).toEqual({ ...ids, ...stored });
      }),
    );
  });

  it('leaves text that already holds them (rows stored before) as it is', () => {
    fc.assert(
      fc.property(rest, (stored) => {
        const old = JSON.stringify({ ...ids, ...stored });
        expect(withRowIdsText(old, ids.eventId, ids.streamId)).toBe(old);
        const jsonb = old.replace(/":/g, '": ');
        expect(withRowIdsText(jsonb, ids.eventId, ids.streamId)).toBe(jsonb);
      }),
    );
  });

  it('an empty object gets the ids alone', () => {
    for (const text of ['{}', '{ }']) expect(JSON.parse(withRowIdsText(text, ids.eventId, ids.streamId))).toEqual(ids);
  });
});
