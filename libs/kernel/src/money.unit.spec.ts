import { describe, expect, it } from 'vitest';
import { Dec, formatDecimal, parseDecimal, roundMinor } from './money.js';
import { kindOfId, newId } from './ids.js';

describe('money', () => {
  it('rounds a line once, half up', () => {
    expect(roundMinor(new Dec('0.05').mul(30))).toBe(2n);
    expect(roundMinor(new Dec('2.5'))).toBe(3n);
    expect(roundMinor(new Dec('2.4999999999'))).toBe(2n);
    expect(roundMinor(new Dec('-2.5'))).toBe(-3n);
  });
  it('accepts decimals with at most 12 places', () => {
    expect(parseDecimal('1.123456789012')?.toString()).toBe('1.123456789012');
    expect(parseDecimal('1.1234567890123')).toBeUndefined();
    expect(parseDecimal('1e5')).toBeUndefined();
    expect(formatDecimal(new Dec('16.6700'))).toBe('16.67');
    expect(formatDecimal(new Dec('1000'))).toBe('1000');
  });
});

describe('ids', () => {
  it('carries the prefix and sorts by creation', () => {
    const a = newId('creditGrant', 1_700_000_000_000);
    const b = newId('creditGrant', 1_700_000_000_000);
    const c = newId('creditGrant', 1_700_000_000_001);
    expect(a.startsWith('credgr_')).toBe(true);
    expect([c, a, b].sort()).toEqual([a, b, c]);
    expect(kindOfId('mtr_event_adj_x')).toBe('meterEventAdjustment');
    expect(kindOfId('mtr_x')).toBe('meter');
  });
});
