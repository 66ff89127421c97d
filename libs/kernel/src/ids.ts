import { createHash, randomFillSync, randomUUID } from 'node:crypto';

/** Stripe's id prefixes, in one place. */
export const ID_PREFIX = {
  customer: 'cus',
  product: 'prod',
  price: 'price',
  subscription: 'sub',
  subscriptionItem: 'si',
  invoice: 'in',
  invoiceLineItem: 'il',
  invoiceItem: 'ii',
  meter: 'mtr',
  meterEventSummary: 'mtrusg',
  meterEventAdjustment: 'mtr_event_adj',
  meterEventSession: 'mtr_session',
  creditGrant: 'credgr',
  creditBalanceTransaction: 'cbtxn',
  testClock: 'clock',
  event: 'evt',
  alert: 'alrt',
  webhookEndpoint: 'we',
  request: 'req',
} as const;

export type IdKind = keyof typeof ID_PREFIX;

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** `n` (a safe integer) in `width` base62 digits, most significant first. */
function base62(n: number, width: number): string {
  let out = '';
  for (let i = 0; i < width; i++) {
    out = ALPHABET[n % 62]! + out;
    n = Math.floor(n / 62);
  }
  return out;
}

// Random bytes drawn from the CSPRNG 4 kB at a time: an id costs no call into OpenSSL of its own.
const pool = Buffer.allocUnsafe(4096);
let poolAt = pool.length;

/** `width` uniformly random base62 digits (bytes >= 248 are skipped so that `% 62` is unbiased). */
function randomBase62(width: number): string {
  let out = '';
  while (out.length < width) {
    if (poolAt >= pool.length) {
      randomFillSync(pool);
      poolAt = 0;
    }
    const b = pool[poolAt++]!;
    if (b < 248) out += ALPHABET[b % 62]!;
  }
  return out;
}

let lastMs = 0;
let seq = 0;

/**
 * `<prefix>_<8 chars time><3 chars sequence><13 chars random>`. Ids sort by creation time
 * (ASCII order of base62 digits), so "newest first" lists can page by id.
 */
export function newId(kind: IdKind, now: number = Date.now()): string {
  if (now === lastMs) seq = (seq + 1) % 238_328;
  else {
    lastMs = now;
    seq = 0;
  }
  return `${ID_PREFIX[kind]}_${base62(now, 8)}${base62(seq, 3)}${randomBase62(13)}`;
}

/**
 * A UUID version 7 (RFC 9562): 48 bits of Unix time in milliseconds, the version, then 74 random
 * bits. They sort by creation time, so a b-tree over them (the event store's unique `event_id`)
 * grows at its right edge like one over a sequence, instead of touching a random leaf per insert
 * (and, after each checkpoint, writing that leaf's full page to the WAL again).
 * Made from Node's `randomUUID()` (a v4 from its batched CSPRNG, ~0.2 µs; `uuid`'s `v7()` draws
 * its bytes with one `crypto.getRandomValues` per id, ~2 µs): the first 48 bits become the time
 * and the version nibble 7; the variant bits are the same in both versions.
 */
export function uuidV7(now: number = Date.now()): string {
  const t = now.toString(16).padStart(12, '0');
  return `${t.slice(0, 8)}-${t.slice(8, 12)}-7${randomUUID().slice(15)}`;
}

/** Which kind of object an id names, by its prefix (longest prefix wins). */
export function kindOfId(id: string): IdKind | undefined {
  let best: IdKind | undefined;
  let bestLen = 0;
  for (const [kind, prefix] of Object.entries(ID_PREFIX) as [IdKind, string][]) {
    if (id.startsWith(`${prefix}_`) && prefix.length > bestLen) {
      best = kind;
      bestLen = prefix.length;
    }
  }
  return best;
}

/**
 * The invoice-number prefixes a customer may get, best first: uppercase hex of the SHA-256 of its
 * id, 8 characters (a customer's default `invoice_prefix`, e.g. `3F9A12BC`), then 9 to 12 (Stripe
 * allows up to 12), then 12-character windows further along the hash. Eight hex characters are
 * 2^32 values: at 100,000 customers two of them share one about once (the birthday bound), so the
 * invoicing service keeps prefixes unique and gives a customer the first one no other customer
 * holds (`invoice_number_counters`). Pure and deterministic.
 */
export function invoicePrefixCandidates(customer: string): string[] {
  const hex = prefixHash(customer);
  const out = [8, 9, 10, 11, 12].map((n) => hex.slice(0, n));
  for (let at = 1; at + 12 <= hex.length; at++) out.push(hex.slice(at, at + 12));
  return out;
}

/** The first of `invoicePrefixCandidates` (the customer's default `invoice_prefix`), without the others. */
export function firstInvoicePrefix(customer: string): string {
  return prefixHash(customer).slice(0, 8);
}

const prefixHash = (customer: string): string => createHash('sha256').update(customer).digest('hex').toUpperCase();
