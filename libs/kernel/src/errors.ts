/**
 * A broken business rule, with a stable code. The HTTP edge renders it as a Stripe error
 * object; the NATS edge as ack/nak/term. Fields mirror Stripe's error object so that nothing
 * is lost crossing a service boundary.
 */
export type StripeErrorType = 'api_error' | 'card_error' | 'idempotency_error' | 'invalid_request_error';

export interface ErrorShape {
  type: StripeErrorType;
  code?: string;
  message: string;
  param?: string;
  status: number;
}

export class DomainError extends Error {
  readonly code: string;
  readonly param: string | undefined;
  readonly status: number;
  readonly type: StripeErrorType;

  constructor(code: string, message: string, opts: { param?: string; status?: number; type?: StripeErrorType } = {}) {
    super(message);
    this.name = 'DomainError';
    this.code = code;
    this.param = opts.param;
    this.status = opts.status ?? 400;
    this.type = opts.type ?? 'invalid_request_error';
  }

  toShape(): ErrorShape {
    return {
      type: this.type,
      code: this.code,
      message: this.message,
      ...(this.param !== undefined ? { param: this.param } : {}),
      status: this.status,
    };
  }

  static fromShape(s: ErrorShape): DomainError {
    return new DomainError(s.code ?? 'error', s.message, { param: s.param, status: s.status, type: s.type });
  }
}

export const notFound = (objectName: string, id: string, param = 'id'): DomainError =>
  new DomainError('resource_missing', `No such ${objectName}: '${id}'`, { param, status: 404 });

export const invalid = (param: string, message: string, code = 'parameter_invalid'): DomainError =>
  new DomainError(code, message, { param });

export const missing = (param: string): DomainError => new DomainError('parameter_missing', `Missing required param: ${param}.`, { param });

/** Compile-time exhaustiveness for `switch` over unions. */
export function assertNever(x: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(x)}`);
}
