import { describe, expect, it } from 'vitest';
import { ApplyCreditsRequest, ClockAdvanceToRequest } from '@meterflow/contracts';
import { DomainError } from '@meterflow/kernel';
import { contract } from './contract-pipe.js';

const meta = { type: 'custom' } as const;

describe('contract(schema) pipe', () => {
  it('hands the handler the parsed request, unknown keys dropped', () => {
    expect(contract(ClockAdvanceToRequest).transform({ clock: 'clock_1', to: 1_767_225_600, stray: true }, meta)).toEqual({
      clock: 'clock_1',
      to: 1_767_225_600,
    });
  });

  it('refuses a malformed request with a 400 naming the first bad field, Stripe style', () => {
    const attempt = () =>
      contract(ApplyCreditsRequest).transform(
        {
          invoice: 'in_1',
          customer: 'cus_1',
          currency: 'usd',
          at: 1_767_225_600,
          test_clock: null,
          lines: [{ id: 'il_1', amount: '5.00', price: null, metered: true }],
        },
        meta,
      );
    expect(attempt).toThrow(DomainError);
    try {
      attempt();
    } catch (e) {
      expect((e as DomainError).toShape()).toEqual({
        type: 'invalid_request_error',
        code: 'parameter_invalid',
        param: 'lines[0][amount]',
        message: 'Malformed request: lines[0][amount]: Invalid input: expected number, received string',
        status: 400,
      });
    }
  });

  it('lists at most three problems, and says how many more', () => {
    let err: DomainError | undefined;
    try {
      contract(ApplyCreditsRequest).transform({ lines: 'none' }, meta);
    } catch (e) {
      err = e as DomainError;
    }
    expect(err?.param).toBe('invoice');
    expect(err?.message).toMatch(/^Malformed request: invoice: .+; customer: .+; currency: .+ \(and 3 more\)$/);
  });

  it('an empty or non-object body has no param', () => {
    let err: DomainError | undefined;
    try {
      contract(ClockAdvanceToRequest).transform('clock_1', meta);
    } catch (e) {
      err = e as DomainError;
    }
    expect(err?.param).toBeUndefined();
    expect(err?.message).toMatch(/^Malformed request: \(request\): /);
  });
});
