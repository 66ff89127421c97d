import { createHmac, randomBytes } from 'node:crypto';

/**
 * Stripe's webhook conventions: the signing secret, the `Stripe-Signature` header and the retry
 * schedule. Pure (time comes in as arguments).
 */

/** `whsec_` + 24 random bytes (base64url); verifiers use the whole string as the HMAC key, as Stripe's. */
export const newWebhookSecret = (): string => `whsec_${randomBytes(24).toString('base64url')}`;

/** `t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<payload>")>` (one `v1` per secret, as during a roll). */
export function signatureHeader(payload: string, secrets: readonly string[], unixSeconds: number): string {
  const signed = `${unixSeconds}.${payload}`;
  return [`t=${unixSeconds}`, ...secrets.map((s) => `v1=${createHmac('sha256', s).update(signed, 'utf8').digest('hex')}`)].join(',');
}

export interface RetrySchedule {
  /** Delay after the first failed attempt. */
  firstDelayMs: number;
  /** Each later delay is the previous times this (exponential backoff). */
  factor: number;
  /** No single delay longer than this. */
  maxDelayMs: number;
  /** Give up once this long has passed since the first attempt (Stripe: 3 days). */
  windowMs: number;
}

export const STRIPE_RETRY_SCHEDULE: RetrySchedule = {
  firstDelayMs: 60_000,
  factor: 2,
  maxDelayMs: 6 * 3600_000,
  windowMs: 3 * 24 * 3600_000,
};

/**
 * When to try again after `attempts` failed attempts, the first made at `firstAttemptAt`; null
 * when the next try would fall outside the window (the delivery has failed for good).
 */
export function nextAttemptAt(schedule: RetrySchedule, attempts: number, firstAttemptAt: Date, now: Date): Date | null {
  const delay = Math.min(schedule.firstDelayMs * schedule.factor ** Math.max(0, attempts - 1), schedule.maxDelayMs);
  const at = now.getTime() + delay;
  return at - firstAttemptAt.getTime() > schedule.windowMs ? null : new Date(at);
}
