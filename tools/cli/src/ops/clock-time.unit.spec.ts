import { describe, expect, it } from 'vitest';
import { parseAdvanceTime } from './clock-time.js';
import { describeEvent } from './events-tail.js';

const JAN_31 = Date.UTC(2026, 0, 31, 12) / 1000;

describe('clock advance times', () => {
  it('reads unix seconds, ISO dates (UTC by default) and offsets', () => {
    expect(parseAdvanceTime('1767225600', JAN_31)).toBe(1767225600);
    expect(parseAdvanceTime('2026-02-01', JAN_31)).toBe(Date.UTC(2026, 1, 1) / 1000);
    expect(parseAdvanceTime('2026-02-01T06:00:00', JAN_31)).toBe(Date.UTC(2026, 1, 1, 6) / 1000);
    expect(parseAdvanceTime('2026-02-01T06:00:00+02:00', JAN_31)).toBe(Date.UTC(2026, 1, 1, 4) / 1000);
  });

  it('reads offsets from the frozen time; months clamp to the last day', () => {
    expect(parseAdvanceTime('+35d', JAN_31)).toBe(JAN_31 + 35 * 86_400);
    expect(parseAdvanceTime('+36h', JAN_31)).toBe(JAN_31 + 36 * 3600);
    expect(parseAdvanceTime('+1mo', JAN_31)).toBe(Date.UTC(2026, 1, 28, 12) / 1000);
    expect(parseAdvanceTime('+2months', JAN_31)).toBe(Date.UTC(2026, 2, 31, 12) / 1000);
  });

  it('refuses what it cannot read, saying what it takes', () => {
    expect(() => parseAdvanceTime('next tuesday', JAN_31)).toThrow(/unix seconds, an ISO date/);
  });
});

describe('events tail lines', () => {
  it('shows the object and the fields read first', () => {
    const line = describeEvent({
      id: 'evt_1',
      type: 'invoice.paid',
      created: 1,
      data: { object: { id: 'in_1', object: 'invoice', status: 'paid', amount_due: 2000, currency: 'usd', lines: { data: [] } } },
    });
    expect(line).toEqual({
      id: 'evt_1',
      type: 'invoice.paid',
      created: 1,
      object: 'invoice',
      objectId: 'in_1',
      summary: 'status=paid amount_due=2000 currency=usd',
    });
  });
});
