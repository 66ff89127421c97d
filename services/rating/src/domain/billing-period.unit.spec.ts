import { describe, expect, it } from 'vitest';
import { addMonthsClamped, boundary, nextBoundaryAfter, periodContaining, resolveAnchorConfig } from './billing-period.js';

const u = (iso: string): number => Date.parse(iso) / 1000;
const iso = (s: number): string => new Date(s * 1000).toISOString().replace('.000Z', 'Z');
const monthly = { interval: 'month' as const, interval_count: 1 };

describe('billing periods from the anchor', () => {
  it('given an anchor on Jan 31, then Feb 29 (leap), Mar 31, Apr 30, May 31', () => {
    const a = u('2024-01-31T10:00:00Z');
    expect([1, 2, 3, 4].map((k) => iso(boundary(a, monthly, k)))).toEqual([
      '2024-02-29T10:00:00Z',
      '2024-03-31T10:00:00Z',
      '2024-04-30T10:00:00Z',
      '2024-05-31T10:00:00Z',
    ]);
  });
  it('given a Jan 31 anchor in a common year, then Feb 28 and back to Mar 31 (never end + 1 month)', () => {
    const a = u('2025-01-31T00:00:00Z');
    const p1 = periodContaining(a, monthly, a);
    expect(iso(p1.end)).toBe('2025-02-28T00:00:00Z');
    const p2 = periodContaining(a, monthly, p1.end);
    expect([iso(p2.start), iso(p2.end)]).toEqual(['2025-02-28T00:00:00Z', '2025-03-31T00:00:00Z']);
  });
  it('given a Feb 29 anchor and yearly interval, then Feb 28 in common years and Feb 29 again in 2028', () => {
    const a = u('2024-02-29T00:00:00Z');
    const yearly = { interval: 'year' as const, interval_count: 1 };
    expect([1, 2, 3, 4].map((k) => iso(boundary(a, yearly, k)).slice(0, 10))).toEqual([
      '2025-02-28',
      '2026-02-28',
      '2027-02-28',
      '2028-02-29',
    ]);
  });
  it('given interval_count 3 months, then quarterly boundaries', () => {
    const a = u('2025-01-15T00:00:00Z');
    expect(iso(nextBoundaryAfter(a, { interval: 'month', interval_count: 3 }, a))).toBe('2025-04-15T00:00:00Z');
  });
  it('given day and week intervals, then fixed lengths', () => {
    const a = u('2025-03-01T12:00:00Z');
    expect(iso(nextBoundaryAfter(a, { interval: 'day', interval_count: 2 }, a))).toBe('2025-03-03T12:00:00Z');
    expect(iso(nextBoundaryAfter(a, { interval: 'week', interval_count: 1 }, a + 1))).toBe('2025-03-08T12:00:00Z');
  });
  it('given t exactly on a boundary, then the period starting there', () => {
    const a = u('2025-01-01T00:00:00Z');
    const p = periodContaining(a, monthly, u('2025-03-01T00:00:00Z'));
    expect([iso(p.start), iso(p.end)]).toEqual(['2025-03-01T00:00:00Z', '2025-04-01T00:00:00Z']);
  });
  it('given t before the anchor (future anchor), then boundaries before it are still from the anchor', () => {
    const a = u('2025-05-31T00:00:00Z');
    expect(iso(nextBoundaryAfter(a, monthly, u('2025-02-10T00:00:00Z')))).toBe('2025-02-28T00:00:00Z');
    expect(iso(nextBoundaryAfter(a, monthly, u('2025-05-30T00:00:00Z')))).toBe('2025-05-31T00:00:00Z');
  });
  it('walks many periods without drift', () => {
    const a = u('2000-01-31T23:59:59Z');
    let t = a;
    for (let i = 0; i < 400; i++) t = nextBoundaryAfter(a, monthly, t);
    expect(iso(t)).toBe(iso(addMonthsClamped(a, 400)));
    expect(iso(t)).toBe('2033-05-31T23:59:59Z');
  });
});

describe('billing_cycle_anchor_config', () => {
  it('given day 31 in April, then resolves to Apr 30 at the given time', () => {
    expect(iso(resolveAnchorConfig({ day_of_month: 31, hour: 6 }, u('2025-04-10T00:00:00Z'), 'month'))).toBe('2025-04-30T06:00:00Z');
  });
  it('given a day already past this month, then next month', () => {
    expect(iso(resolveAnchorConfig({ day_of_month: 1 }, u('2025-04-10T00:00:00Z'), 'month'))).toBe('2025-05-01T00:00:00Z');
  });
  it('given a yearly price and a month, then that month next occurrence', () => {
    expect(iso(resolveAnchorConfig({ day_of_month: 15, month: 2 }, u('2025-04-10T00:00:00Z'), 'year'))).toBe('2026-02-15T00:00:00Z');
  });
});
