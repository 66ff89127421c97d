import { DomainError } from '@meterflow/kernel';
import { describe, expect, it } from 'vitest';
import { resultOf } from './service-caller.js';

describe('resultOf (reply envelope -> result JSON text)', () => {
  it('forwards the result text without re-serialising it', () => {
    const result = '{"object":"billing.meter_event","payload":{"value":"1"},"note":"a}b"}';
    expect(resultOf(JSON.stringify({ ok: true, result: JSON.parse(result) }))).toBe(result);
  });

  it('handles replies without a result', () => {
    expect(resultOf('{"ok":true}')).toBe('{}');
  });

  it('throws the service error as a DomainError', () => {
    const reply = {
      ok: false,
      error: { type: 'invalid_request_error', code: 'resource_missing', message: "No such meter: 'mtr_1'", param: 'id', status: 404 },
    };
    try {
      resultOf(JSON.stringify(reply));
      expect.fail('should throw');
    } catch (e) {
      expect(e).toBeInstanceOf(DomainError);
      expect((e as DomainError).toShape()).toEqual(reply.error);
    }
  });
});
