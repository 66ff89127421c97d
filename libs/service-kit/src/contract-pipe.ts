import type { PipeTransform } from '@nestjs/common';
import type { z } from 'zod';
import { DomainError } from '@meterflow/kernel';

/**
 * Parses an internal op's request with its contract schema before the handler runs:
 *   @MessagePattern(CLOCK_OPS.nextDue)
 *   nextDue(@Payload(contract(ClockNextDueRequest)) req: ClockNextDueRequest) { ... }
 * The handler gets the parsed value (unknown keys dropped). A malformed request is answered
 * `{ok:false}` with a 400 `invalid_request_error` (`parameter_invalid`) naming the first bad
 * field, Stripe style (`lines[0][amount]`), and never reaches the application.
 * For internal ops only: public API ops (`ApiRequest`) are not parsed per request.
 */
export function contract<S extends z.ZodType>(schema: S): PipeTransform<unknown, z.output<S>> {
  return {
    transform(value: unknown): z.output<S> {
      const r = schema.safeParse(value);
      if (r.success) return r.data;
      throw contractViolation(r.error);
    },
  };
}

/** The DomainError for a request that breaks its contract. */
export function contractViolation(error: z.ZodError): DomainError {
  const issues = error.issues.slice(0, 3).map((i) => `${i.path.length ? stripePath(i.path) : '(request)'}: ${i.message}`);
  const more = error.issues.length > 3 ? ` (and ${error.issues.length - 3} more)` : '';
  const first = error.issues[0];
  return new DomainError('parameter_invalid', `Malformed request: ${issues.join('; ')}${more}`, {
    ...(first && first.path.length ? { param: stripePath(first.path) } : {}),
  });
}

/** `['lines', 0, 'amount']` -> `lines[0][amount]`. */
function stripePath(path: readonly PropertyKey[]): string {
  const [head, ...rest] = path.map(String);
  return `${head}${rest.map((p) => `[${p}]`).join('')}`;
}
