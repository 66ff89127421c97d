import { describe, expect, it } from 'vitest';
import { DomainError } from '@meterflow/kernel';
import { decodeForm } from './form.js';
import { refuseUnstorableText } from './text.js';

const errorOf = (f: () => void): DomainError | undefined => {
  try {
    f();
  } catch (e) {
    return e as DomainError;
  }
  return undefined;
};

describe('refuseUnstorableText', () => {
  it('refuses NUL in a value with a 400 naming the parameter', () => {
    const e = errorOf(() => refuseUnstorableText(decodeForm('name=a%00b')));
    expect(e).toBeInstanceOf(DomainError);
    expect(e!.toShape()).toMatchObject({ status: 400, code: 'parameter_invalid', param: 'name' });
  });

  it('names nested parameters the Stripe way, and keys too', () => {
    expect(errorOf(() => refuseUnstorableText(decodeForm('items[0][price]=p%00')))!.param).toBe('items[0][price]');
    expect(errorOf(() => refuseUnstorableText(decodeForm('metadata[k%00]=v')))!.param).toBe('metadata[k\\u0000]');
    expect(errorOf(() => refuseUnstorableText({ payload: { v: 'x\ud800' } }))!.param).toBe('payload[v]');
    expect(errorOf(() => refuseUnstorableText({}, { id: 'cus_\u0000' }))!.param).toBe('id');
  });

  it('refuses hostile nesting without overflowing the stack', () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 100_000; i++) deep = { a: deep };
    expect(errorOf(() => refuseUnstorableText({ deep } as Record<string, unknown>))!.message).toMatch(/nested too deeply/);
  });

  it('lets ordinary text through (emoji, accents, CJK)', () => {
    expect(errorOf(() => refuseUnstorableText({ name: 'Zoë 😀 日本', metadata: { k: '' } }))).toBeUndefined();
  });
});
