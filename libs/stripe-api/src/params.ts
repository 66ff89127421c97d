import { DomainError, missing, parseDecimal } from '@meterflow/kernel';

/**
 * Typed readers over a decoded Stripe params object.
 *
 * v1 (form) values arrive as strings (`'12'`, `'true'`, `''`), nested objects as objects and
 * arrays as arrays; v2 (JSON) values arrive as JSON. Every reader accepts both.
 *
 * Conventions shared by all readers:
 * - absent (or `undefined`) => `undefined`;
 * - empty string `''` => `null` ("unset", how Stripe clears an `Emptyable` field), except with
 *   `{ required: true }`, where it is Stripe's `parameter_invalid_empty` error;
 * - errors name the parameter the way Stripe does: `recurring[meter]`, `items[0][price]`.
 *
 * Nested objects read with `obj()` / `arr()` remember their path, so readers applied to them
 * report the full bracketed name.
 *
 * Over ~300 lines by choice: one small reader per Stripe value type, sharing these conventions.
 */
export type Params = Record<string, unknown>;

const PATH = Symbol.for('meterflow.stripe-api.paramPath');

type WithPath = { [PATH]?: string };

/** The bracketed prefix of a nested params object (`''` at the top level). */
export function pathOf(p: Params): string {
  return (p as WithPath)[PATH] ?? '';
}

/** Stripe's name for `key` inside `p`: `key` at the top level, `prefix[key]` when nested. */
export function paramName(p: Params, key: string): string {
  const prefix = pathOf(p);
  return prefix === '' ? key : `${prefix}[${key}]`;
}

function withPath<T extends object>(value: T, path: string): T {
  const copy = (Array.isArray(value) ? [...value] : { ...value }) as T;
  Object.defineProperty(copy, PATH, { value: path, enumerable: false });
  return copy;
}

/** Empty string means "unset" (null) in Stripe's form encoding; JSON null means the same in v2. */
export const isUnset = (v: unknown): boolean => v === '' || v === null;

const isPlainObject = (v: unknown): v is Params => typeof v === 'object' && v !== null && !Array.isArray(v);

// ---------------------------------------------------------------------------------------------
// Errors, with Stripe's codes and messages

export const emptyError = (name: string): DomainError =>
  new DomainError(
    'parameter_invalid_empty',
    `You passed an empty string for '${name}'. We assume empty values are an attempt to unset a parameter; ` +
      `however '${name}' cannot be unset. You should remove '${name}' from your request or supply a non-empty value.`,
    { param: name },
  );

export const unknownParamError = (name: string): DomainError =>
  new DomainError('parameter_unknown', `Received unknown parameter: ${name}`, { param: name });

const invalidParam = (name: string, message: string, code = 'parameter_invalid'): DomainError =>
  new DomainError(code, message, { param: name });

const show = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

// ---------------------------------------------------------------------------------------------
// Readers

export interface ReadOpts {
  required?: boolean;
}
type Req = { required: true };

/**
 * Shared prelude of every reader: returns `undefined`/`null` for absent/unset values, throws
 * for missing required ones, otherwise hands back the raw value.
 */
function raw(p: Params, key: string, opts: ReadOpts | undefined): { name: string; v: unknown; done: boolean } {
  const name = paramName(p, key);
  const v = p[key];
  if (v === undefined) {
    if (opts?.required) throw missing(name);
    return { name, v: undefined, done: true };
  }
  if (isUnset(v)) {
    if (opts?.required) throw emptyError(name);
    return { name, v: null, done: true };
  }
  return { name, v, done: false };
}

export interface StrOpts extends ReadOpts {
  maxLength?: number;
}

export function str(p: Params, key: string, opts: StrOpts & Req): string;
export function str(p: Params, key: string, opts?: StrOpts): string | null | undefined;
export function str(p: Params, key: string, opts?: StrOpts): string | null | undefined {
  const { name, v, done } = raw(p, key, opts);
  if (done) return v as null | undefined;
  if (typeof v !== 'string') {
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    throw invalidParam(name, `Invalid string: ${show(v)}`, 'parameter_invalid_string');
  }
  if (opts?.maxLength !== undefined && v.length > opts.maxLength) {
    throw invalidParam(
      name,
      `Invalid string: ${v.length > 40 ? `${v.slice(0, 40)}...` : v}; must be at most ${opts.maxLength} characters`,
      'parameter_invalid_string',
    );
  }
  return v;
}

export interface IntOpts extends ReadOpts {
  min?: number;
  max?: number;
}

const INT_RE = /^-?\d+$/;

export function int(p: Params, key: string, opts: IntOpts & Req): number;
export function int(p: Params, key: string, opts?: IntOpts): number | null | undefined;
export function int(p: Params, key: string, opts?: IntOpts): number | null | undefined {
  const { name, v, done } = raw(p, key, opts);
  if (done) return v as null | undefined;
  const n = typeof v === 'number' ? v : typeof v === 'string' && INT_RE.test(v.trim()) ? Number(v.trim()) : NaN;
  if (!Number.isSafeInteger(n)) throw invalidParam(name, `Invalid integer: ${show(v)}`, 'parameter_invalid_integer');
  checkRange(name, n, opts);
  return n;
}

function checkRange(name: string, n: number | bigint, opts: { min?: number; max?: number } | undefined): void {
  if (opts?.min !== undefined && n < opts.min) {
    throw invalidParam(name, `This value must be greater than or equal to ${opts.min}.`, 'parameter_invalid_integer');
  }
  if (opts?.max !== undefined && n > opts.max) {
    throw invalidParam(name, `This value must be less than or equal to ${opts.max}.`, 'parameter_invalid_integer');
  }
}

/** An integer of any size (minor-unit amounts), as `bigint`. */
export function bigInt(p: Params, key: string, opts: IntOpts & Req): bigint;
export function bigInt(p: Params, key: string, opts?: IntOpts): bigint | null | undefined;
export function bigInt(p: Params, key: string, opts?: IntOpts): bigint | null | undefined {
  const { name, v, done } = raw(p, key, opts);
  if (done) return v as null | undefined;
  let n: bigint;
  if (typeof v === 'number' && Number.isSafeInteger(v)) n = BigInt(v);
  else if (typeof v === 'string' && INT_RE.test(v.trim())) n = BigInt(v.trim());
  else throw invalidParam(name, `Invalid integer: ${show(v)}`, 'parameter_invalid_integer');
  checkRange(name, n, opts);
  return n;
}

export function bool(p: Params, key: string, opts: ReadOpts & Req): boolean;
export function bool(p: Params, key: string, opts?: ReadOpts): boolean | null | undefined;
export function bool(p: Params, key: string, opts?: ReadOpts): boolean | null | undefined {
  const { name, v, done } = raw(p, key, opts);
  if (done) return v as null | undefined;
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  throw invalidParam(name, `Invalid boolean: ${show(v)}`, 'parameter_invalid_boolean');
}

/** Stripe lists choices as "a, b, or c". */
const oneOf = (values: readonly string[]): string =>
  values.length <= 2 ? values.join(' or ') : `${values.slice(0, -1).join(', ')}, or ${values.at(-1)}`;

export function enumOf<T extends string>(p: Params, key: string, values: readonly T[], opts: ReadOpts & Req): T;
export function enumOf<T extends string>(p: Params, key: string, values: readonly T[], opts?: ReadOpts): T | null | undefined;
export function enumOf<T extends string>(p: Params, key: string, values: readonly T[], opts?: ReadOpts): T | null | undefined {
  const { name, v, done } = raw(p, key, opts);
  if (done) return v as null | undefined;
  if (typeof v === 'string' && (values as readonly string[]).includes(v)) return v as T;
  throw invalidParam(name, `Invalid ${name}: must be one of ${oneOf(values)}`);
}

/** A decimal string (at most 12 decimal places), returned as sent (trimmed). */
export function decimalString(p: Params, key: string, opts: ReadOpts & Req): string;
export function decimalString(p: Params, key: string, opts?: ReadOpts): string | null | undefined;
export function decimalString(p: Params, key: string, opts?: ReadOpts): string | null | undefined {
  const { name, v, done } = raw(p, key, opts);
  if (done) return v as null | undefined;
  const s = typeof v === 'number' && Number.isFinite(v) ? String(v) : typeof v === 'string' ? v.trim() : undefined;
  if (s === undefined || parseDecimal(s) === undefined) {
    throw invalidParam(name, `Invalid decimal: ${show(v)}`, 'parameter_invalid_decimal');
  }
  return s;
}

export interface TimestampOpts extends ReadOpts {
  /** Accept the literal `'now'` (e.g. `trial_end`, `billing_cycle_anchor`). */
  allowNow?: boolean;
  /** Accept RFC 3339 strings too (v2 bodies). */
  rfc3339?: boolean;
}

/** Unix seconds (an integer, or a digit string); `'now'` where allowed; RFC 3339 for v2. */
export function timestamp(p: Params, key: string, opts: TimestampOpts & Req & { allowNow: true }): number | 'now';
export function timestamp(p: Params, key: string, opts: TimestampOpts & { allowNow: true }): number | 'now' | null | undefined;
export function timestamp(p: Params, key: string, opts: TimestampOpts & Req): number;
export function timestamp(p: Params, key: string, opts?: TimestampOpts): number | null | undefined;
export function timestamp(p: Params, key: string, opts?: TimestampOpts): number | 'now' | null | undefined {
  const { name, v, done } = raw(p, key, opts);
  if (done) return v as null | undefined;
  if (opts?.allowNow && v === 'now') return 'now';
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  if (typeof v === 'string') {
    const t = v.trim();
    if (INT_RE.test(t) && Number.isSafeInteger(Number(t))) return Number(t);
    if (opts?.rfc3339) {
      const d = parseRfc3339(t);
      if (d) return Math.floor(d.getTime() / 1000);
      throw invalidParam(name, `Invalid timestamp: ${t}`, 'parameter_invalid_timestamp');
    }
  }
  if (opts?.allowNow) {
    throw invalidParam(name, `Invalid ${name}: must be an integer Unix timestamp or 'now'`, 'parameter_invalid_integer');
  }
  throw invalidParam(name, `Invalid integer: ${show(v)}`, 'parameter_invalid_integer');
}

/** A nested hash (`recurring[...]`). Readers applied to the result name params `recurring[x]`. */
export function obj(p: Params, key: string, opts: ReadOpts & Req): Params;
export function obj(p: Params, key: string, opts?: ReadOpts): Params | null | undefined;
export function obj(p: Params, key: string, opts?: ReadOpts): Params | null | undefined {
  const { name, v, done } = raw(p, key, opts);
  if (done) return v as null | undefined;
  if (!isPlainObject(v)) throw invalidParam(name, 'Invalid object', 'parameter_invalid_object');
  return withPath(v, name);
}

/**
 * An array (`items[0][price]`, `expand[]=a`, JSON arrays). Form decoding may give an object with
 * numeric keys (sparse or very long indexed arrays); those are read in index order. Object
 * elements carry their path (`items[0]`).
 */
export function arr(p: Params, key: string, opts: ReadOpts & Req): unknown[];
export function arr(p: Params, key: string, opts?: ReadOpts): unknown[] | null | undefined;
export function arr(p: Params, key: string, opts?: ReadOpts): unknown[] | null | undefined {
  const { name, v, done } = raw(p, key, opts);
  if (done) return v as null | undefined;
  let items: unknown[];
  if (Array.isArray(v)) items = v;
  else if (isPlainObject(v) && Object.keys(v).every((k) => /^\d+$/.test(k))) {
    items = Object.keys(v)
      .map(Number)
      .sort((a, b) => a - b)
      .map((i) => v[String(i)]);
  } else throw invalidParam(name, 'Invalid array', 'parameter_invalid_array');
  return items.map((item, i) => (isPlainObject(item) ? withPath(item, `${name}[${i}]`) : item));
}

/** An array of hashes (`items[0][price]`): each element must be an object. */
export function objArr(p: Params, key: string, opts: ReadOpts & Req): Params[];
export function objArr(p: Params, key: string, opts?: ReadOpts): Params[] | null | undefined;
export function objArr(p: Params, key: string, opts?: ReadOpts): Params[] | null | undefined {
  const items = arr(p, key, opts);
  if (items == null) return items;
  return items.map((item, i) => {
    if (!isPlainObject(item)) throw invalidParam(`${paramName(p, key)}[${i}]`, 'Invalid object', 'parameter_invalid_object');
    return item;
  });
}

/** An array of strings (`expand[]`, `types[]`). */
export function strArr(p: Params, key: string, opts?: ReadOpts & { maxLength?: number }): string[] | null | undefined {
  const items = arr(p, key, opts);
  if (items == null) return items;
  return items.map((item, i) => {
    if (typeof item !== 'string') throw invalidParam(`${paramName(p, key)}[${i}]`, `Invalid string: ${show(item)}`);
    if (opts?.maxLength !== undefined && item.length > opts.maxLength) {
      throw invalidParam(`${paramName(p, key)}[${i}]`, `Invalid string: ${item}; must be at most ${opts.maxLength} characters`);
    }
    return item;
  });
}

/** Throws Stripe's `parameter_unknown` for the first key of `p` not in `allowed`. */
export function rejectUnknown(p: Params, allowed: readonly string[]): void {
  for (const key of Object.keys(p)) {
    if (!allowed.includes(key)) throw unknownParamError(paramName(p, key));
  }
}

/** Exactly one of `keys` may be given (Stripe's `parameters_exclusive`). */
export function exclusive(p: Params, keys: readonly string[]): void {
  const given = keys.filter((k) => p[k] !== undefined);
  if (given.length > 1) {
    throw new DomainError(
      'parameters_exclusive',
      `You may only specify one of these parameters: ${given.map((k) => paramName(p, k)).join(', ')}.`,
      { param: paramName(p, given[0]!) },
    );
  }
}

/** A Stripe range filter (`created`, `period.start` on lists): equality or bounds. */
export interface RangeFilter {
  eq?: number;
  gt?: number;
  gte?: number;
  lt?: number;
  lte?: number;
}

/**
 * `created=1700000000` (equality) or `created[gte]=...&created[lt]=...` (bounds), in unix seconds
 * (RFC 3339 too with `{ rfc3339: true }`). Unknown bound keys are `parameter_unknown`.
 */
export function range(p: Params, key: string, opts: { rfc3339?: boolean } = {}): RangeFilter | undefined {
  const v = p[key];
  if (v === undefined || isUnset(v)) return undefined;
  if (!isPlainObject(v)) {
    const t = timestamp(p, key, opts);
    return t == null ? undefined : { eq: t };
  }
  const r = obj(p, key)!;
  rejectUnknown(r, ['gt', 'gte', 'lt', 'lte']);
  const out: RangeFilter = {};
  for (const k of ['gt', 'gte', 'lt', 'lte'] as const) {
    const t = timestamp(r, k, opts);
    if (t != null) out[k] = t;
  }
  return out;
}

/** SQL conditions for a range on `column`, placeholders numbered from `firstArg`. */
export function rangeSql(
  filter: RangeFilter | undefined,
  column: string,
  firstArg: number,
  toValue: (unixSeconds: number) => unknown = (s) => s,
): { conditions: string[]; args: unknown[] } {
  const conditions: string[] = [];
  const args: unknown[] = [];
  if (!filter) return { conditions, args };
  const ops = { eq: '=', gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;
  for (const k of ['eq', 'gt', 'gte', 'lt', 'lte'] as const) {
    const t = filter[k];
    if (t === undefined) continue;
    args.push(toValue(t));
    conditions.push(`${column} ${ops[k]} $${firstArg + args.length - 1}`);
  }
  return { conditions, args };
}

// ---------------------------------------------------------------------------------------------
// Metadata

export const METADATA_MAX_KEYS = 50;
export const METADATA_MAX_KEY_LENGTH = 40;
export const METADATA_MAX_VALUE_LENGTH = 500;

/**
 * A metadata patch: `undefined` = not sent; `null` = `metadata=` (clear all); otherwise key ->
 * value, where `''` deletes that key on update. Apply with `applyMetadata`.
 */
export type MetadataPatch = Record<string, string> | null | undefined;

export function metadata(p: Params, key = 'metadata'): MetadataPatch {
  const name = paramName(p, key);
  const v = p[key];
  if (v === undefined) return undefined;
  if (isUnset(v)) return null;
  if (!isPlainObject(v)) throw invalidParam(name, 'Invalid object', 'parameter_invalid_object');
  const out: Record<string, string> = {};
  const keys = Object.keys(v);
  if (keys.length > METADATA_MAX_KEYS) {
    throw invalidParam(name, `Metadata can have up to ${METADATA_MAX_KEYS} keys, but you passed in ${keys.length} keys.`);
  }
  for (const k of keys) {
    const value = v[k];
    if (k.length > METADATA_MAX_KEY_LENGTH) {
      throw invalidParam(`${name}[${k}]`, `Metadata keys must be at most ${METADATA_MAX_KEY_LENGTH} characters.`);
    }
    if (k.includes('[') || k.includes(']')) {
      throw invalidParam(`${name}[${k}]`, `Metadata keys may not contain square brackets ('[' or ']').`);
    }
    let s: string;
    if (value === null) s = '';
    else if (typeof value === 'string') s = value;
    else if (typeof value === 'number' || typeof value === 'boolean') s = String(value);
    else throw invalidParam(`${name}[${k}]`, `Invalid string: ${show(value)}`, 'parameter_invalid_string');
    if (s.length > METADATA_MAX_VALUE_LENGTH) {
      throw invalidParam(
        `${name}[${k}]`,
        `Metadata values can have up to ${METADATA_MAX_VALUE_LENGTH} characters, but you passed in a value that is ${s.length} characters.`,
      );
    }
    out[k] = s;
  }
  return out;
}

/** Stripe's merge: `null` clears everything, `''` deletes a key, other keys are set or replaced. */
export function applyMetadata(current: Readonly<Record<string, string>>, patch: MetadataPatch): Record<string, string> {
  if (patch === undefined) return { ...current };
  if (patch === null) return {};
  const next: Record<string, string> = { ...current };
  for (const [k, v] of Object.entries(patch)) {
    if (v === '') delete next[k];
    else next[k] = v;
  }
  if (Object.keys(next).length > METADATA_MAX_KEYS) {
    throw invalidParam('metadata', `Metadata can have up to ${METADATA_MAX_KEYS} keys.`);
  }
  return next;
}

// ---------------------------------------------------------------------------------------------
// v2 time

/** v2 objects print times as RFC 3339 (UTC, millisecond precision: `2026-01-02T03:04:05.000Z`). */
export function renderV2Time(t: number | Date): string {
  return (typeof t === 'number' ? new Date(t * 1000) : t).toISOString();
}

const RFC3339_RE = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** Strict RFC 3339 date-time; `undefined` when malformed or not a real calendar instant. */
export function parseRfc3339(s: string): Date | undefined {
  const m = RFC3339_RE.exec(s.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, sec] = m;
  if (Number(mo) < 1 || Number(mo) > 12 || Number(d) < 1 || Number(h) > 23 || Number(mi) > 59 || Number(sec) > 60) {
    return undefined;
  }
  const date = new Date(s.trim().replace(' ', 'T'));
  if (Number.isNaN(date.getTime())) return undefined;
  // Reject rolled-over dates like 2026-02-31 (Date normalises them silently).
  const dim = new Date(Date.UTC(Number(y), Number(mo), 0)).getUTCDate();
  if (Number(d) > dim) return undefined;
  return date;
}
