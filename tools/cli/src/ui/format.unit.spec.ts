import { describe, expect, it } from 'vitest';
import { etaSeconds, formatDuration, progressText } from './format.js';

describe('progress formatting', () => {
  it('formats durations for people', () => {
    expect(formatDuration(5)).toBe('5s');
    expect(formatDuration(75)).toBe('1m 15s');
    expect(formatDuration(3725)).toBe('1h 2m');
    expect(formatDuration(Number.NaN)).toBe('?');
  });

  it('estimates the time left at the average rate', () => {
    expect(etaSeconds(250, 1000, 10_000)).toBe(30);
    expect(etaSeconds(1000, 1000, 10_000)).toBe(0);
    expect(etaSeconds(0, 1000, 10_000)).toBeUndefined();
    expect(etaSeconds(10, 0, 10_000)).toBeUndefined();
  });

  it('writes the plain line logs and CI get', () => {
    expect(progressText({ label: 'rebuild credit-ledger replay', done: 400_000, total: 1_000_000, unit: 'events', elapsedMs: 2_000 })).toBe(
      'rebuild credit-ledger replay: 400,000/1,000,000 events (40%), 200,000/s, ETA 3s',
    );
    expect(progressText({ label: 'tail', done: 0, total: 0, unit: '', elapsedMs: 0 })).toBe('tail: ...');
    expect(progressText({ label: 'x', done: 3, total: 0, unit: 'rows', elapsedMs: 500, detail: 'reached 2026-02-01' })).toBe(
      'x: 3 rows, reached 2026-02-01',
    );
  });
});
