import { DomainError } from '@meterflow/kernel';

/**
 * API keys: `Authorization: Bearer <key>`, or Basic with the key as user name (what `curl -u
 * sk_test_...:` sends). Errors are Stripe's 401s with the key masked like Stripe masks it.
 */
export function credentialFrom(authorization: string | undefined): string | undefined {
  if (!authorization) return undefined;
  const space = authorization.indexOf(' ');
  if (space < 0) return undefined;
  const scheme = authorization.slice(0, space).toLowerCase();
  const value = authorization.slice(space + 1).trim();
  if (scheme === 'bearer') return value || undefined;
  if (scheme === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const user = decoded.split(':')[0];
    return user || undefined;
  }
  return undefined;
}

/** `sk_test_abc...wxyz` -> `sk_test_********wxyz` (prefix and last 4 kept). */
export function maskKey(key: string): string {
  const m = /^([a-z]+_(?:test_|live_)?)(.*)$/.exec(key);
  const prefix = m?.[1] ?? '';
  const rest = m?.[2] ?? key;
  if (rest.length <= 4) return `${prefix}${'*'.repeat(rest.length)}`;
  return `${prefix}${'*'.repeat(rest.length - 4)}${rest.slice(-4)}`;
}

export const missingApiKey = (): DomainError =>
  new DomainError(
    'api_key_missing',
    "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.",
    { status: 401 },
  );

export const invalidApiKey = (key: string): DomainError =>
  new DomainError('api_key_invalid', `Invalid API Key provided: ${maskKey(key)}`, { status: 401 });

/** The configured keys (`MF_API_KEYS`, comma-separated). */
export function parseApiKeys(env: string | undefined, fallback = 'sk_test_meterflow'): ReadonlySet<string> {
  const keys = (env ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  return new Set(keys.length ? keys : [fallback]);
}

/** Resolve the secret key of a request or throw the 401 Stripe would send. */
export function authenticate(authorization: string | undefined, keys: ReadonlySet<string>): string {
  const key = credentialFrom(authorization);
  if (key === undefined) throw missingApiKey();
  if (!keys.has(key)) throw invalidApiKey(key);
  return key;
}
