import { describe, expect, it } from 'vitest';
import {
  aggregateBuckets,
  aggregateMinutes,
  foldMinuteRollups,
  foldWindowBuckets,
  mergeMinuteRollup,
  summaryWindows,
  type StoredEvent,
} from './usage.rollup.js';

const T = 1_800_000_000 - (1_800_000_000 % 86400); // a UTC midnight
const ev = (ts: number, value: number, seq: number, customer = 'c'): StoredEvent => ({
  meterId: 'm',
  customer,
  value: BigInt(value),
  timestamp: ts,
  seq: BigInt(seq),
  identifier: `i${seq}`,
});

describe('minute rollups', () => {
  it('given events in one minute, then sum, count and the last (by timestamp, then receipt) are folded', () => {
    const [r, ...rest] = foldMinuteRollups([ev(T + 10, 5, 1), ev(T + 50, 7, 2), ev(T + 50, -2, 3), ev(T + 20, 100, 4)]);
    expect(rest).toEqual([]);
    expect(r).toMatchObject({ bucket: T, sum: 110n, count: 4, lastValue: -2n, lastTs: T + 50, lastSeq: 3n });
  });

  it('given events in different minutes and customers, then one row each', () => {
    const rows = foldMinuteRollups([ev(T, 1, 1), ev(T + 60, 1, 2), ev(T, 1, 3, 'd')]);
    expect(rows.map((r) => [r.customer, r.bucket])).toEqual([
      ['c', T],
      ['c', T + 60],
      ['d', T],
    ]);
  });

  it('given a stored rollup, when a delta merges, then totals add and the later last wins', () => {
    const [stored] = foldMinuteRollups([ev(T + 30, 4, 10)]);
    const [older] = foldMinuteRollups([ev(T + 10, 9, 11)]);
    expect(mergeMinuteRollup(stored, older!)).toMatchObject({ sum: 13n, count: 2, lastValue: 4n });
    const [newer] = foldMinuteRollups([ev(T + 40, 1, 12)]);
    expect(mergeMinuteRollup(stored, newer!)).toMatchObject({ sum: 5n, count: 2, lastValue: 1n });
  });

  it('aggregates sum, count and last over a window (0 when empty)', () => {
    const rows = foldMinuteRollups([ev(T, 2, 1), ev(T + 61, 3, 2), ev(T + 65, -1, 3)]);
    expect(aggregateMinutes(rows, 'sum')).toBe(4n);
    expect(aggregateMinutes(rows, 'count')).toBe(3n);
    expect(aggregateMinutes(rows, 'last')).toBe(-1n);
    expect(aggregateMinutes([], 'last')).toBe(0n);
  });
});

describe('pre-aggregated meters (event_time_window)', () => {
  it('given several events in one UTC hour, then only the most recently received counts', () => {
    const rows = foldWindowBuckets([ev(T + 100, 5, 1), ev(T + 50, 8, 3), ev(T + 3000, 2, 2), ev(T + 3600, 9, 4)], () => 'hour');
    expect(rows.map((r) => [r.bucket, r.value])).toEqual([
      [T, 8n],
      [T + 3600, 9n],
    ]);
    expect(aggregateBuckets(rows, 'sum')).toBe(17n);
    expect(aggregateBuckets(rows, 'count')).toBe(2n);
    expect(aggregateBuckets(rows, 'last')).toBe(9n);
  });
  it('given a day window, then buckets are UTC days', () => {
    const rows = foldWindowBuckets([ev(T + 10, 1, 1), ev(T + 86399, 2, 2), ev(T + 86400, 3, 3)], () => 'day');
    expect(rows.map((r) => [r.bucket, r.value])).toEqual([
      [T, 2n],
      [T + 86400, 3n],
    ]);
  });
});

describe('event summary windows', () => {
  it('given no grouping, then one window for the whole range', () => {
    expect(summaryWindows(T + 60, T + 180, undefined)).toEqual([{ start: T + 60, end: T + 180 }]);
  });
  it('given hour grouping, then hourly windows', () => {
    expect(summaryWindows(T, T + 7200, 'hour')).toEqual([
      { start: T, end: T + 3600 },
      { start: T + 3600, end: T + 7200 },
    ]);
  });
  it('given day grouping, then UTC days', () => {
    expect(summaryWindows(T, T + 2 * 86400, 'day')).toHaveLength(2);
  });
  it('refuses misaligned or empty ranges', () => {
    expect(() => summaryWindows(T + 1, T + 60, undefined)).toThrow(/start_time.*minute/);
    expect(() => summaryWindows(T, T + 61, undefined)).toThrow(/end_time.*minute/);
    expect(() => summaryWindows(T, T, undefined)).toThrow(/after/);
    expect(() => summaryWindows(T + 60, T + 3600, 'hour')).toThrow(/hour boundary/);
    expect(() => summaryWindows(T + 3600, T + 86400, 'day')).toThrow(/day boundary/);
  });
});
