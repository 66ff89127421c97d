import { DomainError } from '@meterflow/kernel';
import { describe, expect, it } from 'vitest';
import {
  applyMetadata,
  arr,
  bigInt,
  bool,
  decimalString,
  enumOf,
  exclusive,
  int,
  isUnset,
  metadata,
  obj,
  objArr,
  parseRfc3339,
  range,
  rangeSql,
  rejectUnknown,
  renderV2Time,
  str,
  strArr,
  timestamp,
} from './params.js';

/** Runs `f` and returns the DomainError it throws, as its shape. */
function errorOf(f: () => unknown): ReturnType<DomainError['toShape']> {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(DomainError);
    return (e as DomainError).toShape();
  }
  throw new Error('expected a DomainError');
}

describe('params readers', () => {
  it('str: absent, unset, required, maxLength', () => {
    expect(str({ a: 'x' }, 'a')).toBe('x');
    expect(str({}, 'a')).toBeUndefined();
    expect(str({ a: '' }, 'a')).toBeNull();
    expect(errorOf(() => str({}, 'name', { required: true }))).toEqual({
      type: 'invalid_request_error',
      code: 'parameter_missing',
      message: 'Missing required param: name.',
      param: 'name',
      status: 400,
    });
    expect(errorOf(() => str({ name: '' }, 'name', { required: true })).code).toBe('parameter_invalid_empty');
    expect(errorOf(() => str({ a: 'abcdef' }, 'a', { maxLength: 3 })).message).toBe('Invalid string: abcdef; must be at most 3 characters');
    expect(errorOf(() => str({ a: { b: '1' } }, 'a')).param).toBe('a');
  });

  it('int: form strings and JSON numbers; Stripe message for garbage', () => {
    expect(int({ n: '12' }, 'n')).toBe(12);
    expect(int({ n: '-3' }, 'n')).toBe(-3);
    expect(int({ n: 7 }, 'n')).toBe(7);
    expect(errorOf(() => int({ n: 'abc' }, 'n'))).toMatchObject({
      code: 'parameter_invalid_integer',
      message: 'Invalid integer: abc',
      param: 'n',
    });
    expect(errorOf(() => int({ n: '1.5' }, 'n')).code).toBe('parameter_invalid_integer');
    expect(errorOf(() => int({ n: 1.5 }, 'n')).code).toBe('parameter_invalid_integer');
    expect(errorOf(() => int({ limit: '0' }, 'limit', { min: 1 })).message).toBe('This value must be greater than or equal to 1.');
  });

  it('bigInt keeps large amounts exact', () => {
    expect(bigInt({ a: '123456789012345678901' }, 'a')).toBe(123456789012345678901n);
    expect(bigInt({ a: 5 }, 'a')).toBe(5n);
    expect(errorOf(() => bigInt({ a: '1e3' }, 'a')).message).toBe('Invalid integer: 1e3');
  });

  it('bool', () => {
    expect(bool({ b: 'true' }, 'b')).toBe(true);
    expect(bool({ b: 'false' }, 'b')).toBe(false);
    expect(bool({ b: false }, 'b')).toBe(false);
    expect(errorOf(() => bool({ b: 'yes' }, 'b')).message).toBe('Invalid boolean: yes');
  });

  it('enumOf names the choices like Stripe', () => {
    expect(enumOf({ f: 'sum' }, 'f', ['sum', 'count', 'last'] as const)).toBe('sum');
    const rec = obj({ recurring: { interval: 'hour' } }, 'recurring', { required: true });
    expect(errorOf(() => enumOf(rec, 'interval', ['day', 'week', 'month', 'year']))).toMatchObject({
      message: 'Invalid recurring[interval]: must be one of day, week, month, or year',
      param: 'recurring[interval]',
    });
  });

  it('decimalString: at most 12 places', () => {
    expect(decimalString({ d: '0.000000000001' }, 'd')).toBe('0.000000000001');
    expect(decimalString({ d: 1.25 }, 'd')).toBe('1.25');
    expect(errorOf(() => decimalString({ d: '0.0000000000001' }, 'd')).message).toBe('Invalid decimal: 0.0000000000001');
    expect(errorOf(() => decimalString({ d: 'abc' }, 'd')).param).toBe('d');
  });

  it("timestamp: unix seconds, 'now' where allowed, RFC 3339 for v2", () => {
    expect(timestamp({ t: '1700000000' }, 't')).toBe(1_700_000_000);
    expect(timestamp({ t: 1700000000 }, 't')).toBe(1_700_000_000);
    expect(timestamp({ t: 'now' }, 't', { allowNow: true })).toBe('now');
    expect(errorOf(() => timestamp({ t: 'now' }, 't')).message).toBe('Invalid integer: now');
    expect(timestamp({ t: '2023-11-14T22:13:20Z' }, 't', { rfc3339: true })).toBe(1_700_000_000);
    expect(timestamp({ t: '2023-11-14T22:13:20.999Z' }, 't', { rfc3339: true })).toBe(1_700_000_000);
    expect(errorOf(() => timestamp({ t: 'yesterday' }, 't', { rfc3339: true })).param).toBe('t');
  });

  it('obj and nested names', () => {
    const recurring = obj({ recurring: { meter: '', usage_type: 'metered' } }, 'recurring')!;
    expect(errorOf(() => str(recurring, 'meter', { required: true })).param).toBe('recurring[meter]');
    expect(errorOf(() => rejectUnknown(recurring, ['meter']))).toMatchObject({
      code: 'parameter_unknown',
      message: 'Received unknown parameter: recurring[usage_type]',
      param: 'recurring[usage_type]',
    });
    // the path marker is invisible to JSON and key enumeration
    expect(JSON.stringify(recurring)).toBe('{"meter":"","usage_type":"metered"}');
    expect(errorOf(() => obj({ recurring: 'x' }, 'recurring')).message).toBe('Invalid object');
    const deep = obj(obj({ a: { b: { c: 'x' } } }, 'a')!, 'b')!;
    expect(errorOf(() => int(deep, 'c')).param).toBe('a[b][c]');
  });

  it('arr: arrays and numeric-keyed objects, elements carry their path', () => {
    expect(arr({ a: ['x', 'y'] }, 'a')).toEqual(['x', 'y']);
    expect(arr({ a: { '1': 'y', '0': 'x', '10': 'z' } }, 'a')).toEqual(['x', 'y', 'z']);
    expect(arr({ a: '' }, 'a')).toBeNull();
    expect(errorOf(() => arr({ a: 'x' }, 'a')).message).toBe('Invalid array');
    const items = objArr({ items: [{ price: 'price_1' }, { quantity: 'x' }] }, 'items', { required: true });
    expect(errorOf(() => str(items[1]!, 'price', { required: true })).message).toBe('Missing required param: items[1][price].');
    expect(errorOf(() => int(items[1]!, 'quantity')).param).toBe('items[1][quantity]');
    expect(strArr({ expand: ['customer'] }, 'expand')).toEqual(['customer']);
  });

  it('rejectUnknown and exclusive at the top level', () => {
    expect(() => rejectUnknown({ a: '1' }, ['a', 'b'])).not.toThrow();
    expect(errorOf(() => rejectUnknown({ a: '1', zz: '2' }, ['a'])).message).toBe('Received unknown parameter: zz');
    expect(errorOf(() => exclusive({ a: '1', b: '2' }, ['a', 'b'])).code).toBe('parameters_exclusive');
  });

  it('isUnset', () => {
    expect(isUnset('')).toBe(true);
    expect(isUnset(null)).toBe(true);
    expect(isUnset('0')).toBe(false);
    expect(isUnset(undefined)).toBe(false);
  });
});

describe('range filters', () => {
  it('equality or bounds, unknown bounds rejected', () => {
    expect(range({}, 'created')).toBeUndefined();
    expect(range({ created: '1700000000' }, 'created')).toEqual({ eq: 1_700_000_000 });
    expect(range({ created: { gte: '10', lt: '20' } }, 'created')).toEqual({ gte: 10, lt: 20 });
    expect(errorOf(() => range({ created: { after: '1' } }, 'created')).message).toBe('Received unknown parameter: created[after]');
    expect(errorOf(() => range({ created: { gt: 'x' } }, 'created')).param).toBe('created[gt]');
  });
  it('renders SQL conditions', () => {
    expect(rangeSql({ gte: 10, lt: 20 }, 'created', 3)).toEqual({ conditions: ['created >= $3', 'created < $4'], args: [10, 20] });
    expect(rangeSql(undefined, 'created', 1)).toEqual({ conditions: [], args: [] });
  });
});

describe('metadata', () => {
  it('reads string values; empty metadata clears all', () => {
    expect(metadata({})).toBeUndefined();
    expect(metadata({ metadata: '' })).toBeNull();
    expect(metadata({ metadata: { a: '1', b: '' } })).toEqual({ a: '1', b: '' });
    expect(metadata({ metadata: { n: 5 } })).toEqual({ n: '5' });
  });

  it('enforces Stripe limits', () => {
    expect(errorOf(() => metadata({ metadata: { ['k'.repeat(41)]: 'v' } })).param).toBe(`metadata[${'k'.repeat(41)}]`);
    expect(errorOf(() => metadata({ metadata: { k: 'v'.repeat(501) } })).message).toMatch(/up to 500 characters/);
    const many = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v']));
    expect(errorOf(() => metadata({ metadata: many })).message).toMatch(/up to 50 keys/);
    expect(errorOf(() => metadata({ metadata: 'x' })).message).toBe('Invalid object');
  });

  it("merges on update: '' deletes a key, null clears all", () => {
    const current = { a: '1', b: '2' };
    expect(applyMetadata(current, { b: '', c: '3' })).toEqual({ a: '1', c: '3' });
    expect(applyMetadata(current, null)).toEqual({});
    expect(applyMetadata(current, undefined)).toEqual(current);
    expect(applyMetadata({}, { a: '' })).toEqual({});
  });
});

describe('v2 time', () => {
  it('renders RFC 3339 from unix seconds or a Date', () => {
    expect(renderV2Time(1_700_000_000)).toBe('2023-11-14T22:13:20.000Z');
    expect(renderV2Time(new Date(Date.UTC(2026, 0, 2, 3, 4, 5)))).toBe('2026-01-02T03:04:05.000Z');
  });

  it('parses strict RFC 3339', () => {
    expect(parseRfc3339('2023-11-14T22:13:20Z')?.getTime()).toBe(1_700_000_000_000);
    expect(parseRfc3339('2023-11-15T00:13:20+02:00')?.getTime()).toBe(1_700_000_000_000);
    expect(parseRfc3339('2023-11-14T22:13:20.5Z')?.getTime()).toBe(1_700_000_000_500);
    expect(parseRfc3339('2023-11-14')).toBeUndefined();
    expect(parseRfc3339('2023-02-31T00:00:00Z')).toBeUndefined();
    expect(parseRfc3339('1700000000')).toBeUndefined();
  });
});
