import { describe, expect, it } from 'vitest';
import { formatProgressLine, parseProgressLine } from './progress.js';

describe('progress lines between a job and the CLI', () => {
  it('round-trips and ignores every other line', () => {
    const p = { phase: 'replay', done: 10, total: 100, unit: 'events' };
    expect(parseProgressLine(formatProgressLine(p))).toEqual(p);
    expect(parseProgressLine('credit-ledger: rebuilt 3 grants')).toBeUndefined();
    expect(parseProgressLine('{"mf_progress":{"phase":1}}')).toBeUndefined();
    expect(parseProgressLine('{"mf_progress":')).toBeUndefined();
  });
});
