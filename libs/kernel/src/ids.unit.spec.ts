import { describe, expect, it } from 'vitest';
import { kindOfId, newId } from './ids.js';

describe('newId', () => {
  it('is <prefix>_<8 time><3 sequence><13 random> in base62, unique, and sorts by creation time', () => {
    const ids = Array.from({ length: 50_000 }, (_, i) => newId('event', 1_700_000_000_000 + Math.floor(i / 1000)));
    for (const id of ids.slice(0, 100)) expect(id).toMatch(/^evt_[0-9A-Za-z]{24}$/);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    expect(kindOfId(ids[0]!)).toBe('event');
    // the time part is the millisecond clock in 8 base62 digits
    expect(newId('invoice', 0).slice(3, 11)).toBe('00000000');
    expect(newId('invoice', 62 ** 8 - 1).slice(3, 11)).toBe('zzzzzzzz');
  });

  it('draws the random part uniformly over the alphabet', () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 20_000; i++) for (const c of newId('customer').slice(-13)) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect(counts.size).toBe(62);
    // 260,000 draws: ~4,194 per digit; a biased or truncated draw would be far off
    for (const n of counts.values()) expect(Math.abs(n - 260_000 / 62)).toBeLessThan(500);
  });
});
