import { DomainError } from '@meterflow/kernel';
import { describe, expect, it } from 'vitest';
import { listSql, pageInMemory, parseListParams, toList } from './list.js';

const ids = (n: number): string[] => Array.from({ length: n }, (_, i) => `obj_${String(i).padStart(3, '0')}`);

describe('parseListParams', () => {
  it('defaults and bounds', () => {
    expect(parseListParams({})).toEqual({ limit: 10 });
    expect(parseListParams({ limit: '100', starting_after: 'cus_1' })).toEqual({ limit: 100, startingAfter: 'cus_1' });
    expect(parseListParams({ limit: 3, ending_before: 'cus_1' })).toEqual({ limit: 3, endingBefore: 'cus_1' });
    expect(() => parseListParams({ limit: '0' })).toThrow(DomainError);
    expect(() => parseListParams({ limit: '101' })).toThrow('This value must be less than or equal to 100.');
    expect(() => parseListParams({ limit: 'ten' })).toThrow('Invalid integer: ten');
  });

  it('rejects both cursors', () => {
    try {
      parseListParams({ starting_after: 'a', ending_before: 'b' });
      expect.fail('should throw');
    } catch (e) {
      expect((e as DomainError).code).toBe('parameters_exclusive');
      expect((e as DomainError).status).toBe(400);
    }
  });
});

describe('toList', () => {
  it('forward: limit+1 rows newest first => has_more and the first `limit`', () => {
    const rows = ['c', 'b', 'a'];
    expect(toList(rows, { limit: 2, url: '/v1/x' })).toEqual({ object: 'list', data: ['c', 'b'], has_more: true, url: '/v1/x' });
    expect(toList(['a'], { limit: 2, url: '/v1/x' }).has_more).toBe(false);
  });

  it('backward: rows oldest first from the cursor => reversed page', () => {
    // ending_before=a over [e d c b a]: fetched `id > a ORDER BY id ASC LIMIT 3` = b c d
    expect(toList(['b', 'c', 'd'], { limit: 2, url: '/v1/x', endingBefore: 'a' })).toEqual({
      object: 'list',
      data: ['c', 'b'],
      has_more: true,
      url: '/v1/x',
    });
  });
});

describe('listSql', () => {
  it('builds the fragments for each direction', () => {
    const first = listSql({ limit: 10 });
    expect(first).toMatchObject({ where: null, orderBy: 'id DESC', limit: 11, args: [] });
    const next = listSql({ limit: 5, startingAfter: 'cus_9' }, { idColumn: 'c.id', firstArg: 3 });
    expect(next).toMatchObject({ where: 'c.id < $3', orderBy: 'c.id DESC', limit: 6, args: ['cus_9'] });
    const prev = listSql({ limit: 5, endingBefore: 'cus_9' });
    expect(prev).toMatchObject({ where: 'id > $1', orderBy: 'id ASC', limit: 6, args: ['cus_9'] });
    expect(prev.finish(['a', 'b'], '/v1/customers')).toEqual({
      object: 'list',
      data: ['b', 'a'],
      has_more: false,
      url: '/v1/customers',
    });
  });
});

describe('pageInMemory walks a list like the SDK does', () => {
  const all = ids(25).reverse(); // newest first
  const idOf = (s: string): string => s;

  it('forward with starting_after = last id of each page', () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = pageInMemory(all, { limit: 10, ...(cursor ? { startingAfter: cursor } : {}) }, '/v1/x', idOf);
      seen.push(...page.data);
      if (!page.has_more) break;
      cursor = page.data.at(-1);
    }
    expect(seen).toEqual(all);
  });

  it('backward with ending_before = first id of each page', () => {
    const seen: string[] = [];
    let cursor = 'obj_000';
    for (;;) {
      const page = pageInMemory(all, { limit: 10, endingBefore: cursor }, '/v1/x', idOf);
      expect(page.data).toEqual([...page.data].sort().reverse()); // each page newest first
      seen.push(...[...page.data].reverse());
      if (!page.has_more) break;
      cursor = page.data[0]!;
    }
    expect(seen).toEqual(ids(25).slice(1));
  });
});
