import { describe, expect, it } from 'vitest';
import { MicroBatcher } from './micro-batcher.js';

describe('MicroBatcher', () => {
  it('sends what arrives in one turn as one batch, and what arrives meanwhile as the next', async () => {
    const batches: number[][] = [];
    let release: () => void = () => {};
    const b = new MicroBatcher<number, number>(
      async (items) => {
        batches.push(items);
        if (batches.length === 1) await new Promise<void>((r) => (release = r));
        return items.map((i) => i * 10);
      },
      { maxBatch: 100, maxConcurrent: 1 },
    );
    const first = [b.submit(1), b.submit(2)];
    await new Promise((r) => setImmediate(r));
    const second = [b.submit(3), b.submit(4), b.submit(5)];
    await new Promise((r) => setImmediate(r));
    expect(batches).toEqual([[1, 2]]); // the second waits for the first statement
    release();
    expect(await Promise.all([...first, ...second])).toEqual([10, 20, 30, 40, 50]);
    expect(batches).toEqual([
      [1, 2],
      [3, 4, 5],
    ]);
  });

  it('splits at maxBatch and rejects every item of a failed batch', async () => {
    const sizes: number[] = [];
    const b = new MicroBatcher<number, number>(
      async (items) => {
        sizes.push(items.length);
        if (items.includes(99)) throw new Error('db down');
        return items;
      },
      { maxBatch: 2, maxConcurrent: 2 },
    );
    expect(await Promise.all([b.submit(1), b.submit(2), b.submit(3)])).toEqual([1, 2, 3]);
    expect(sizes).toEqual([2, 1]);
    await expect(b.submit(99)).rejects.toThrow('db down');
  });
});
