import { findUnstorableText, isStorableText, storableText } from '@meterflow/kernel';
import type { Meter } from './meter.types.js';

/**
 * The one validation core for meter events, shared by v1, v2, the v2 stream and the NATS ingest
 * path. Pure: the meter lookup, each customer's "now" and identifier generation come in.
 */

/** Stripe's error-report codes (`v1.billing.meter.error_report_triggered` / `no_meter_found`). */
export type MeterErrorCode =
  | 'archived_meter'
  | 'meter_event_customer_not_found'
  | 'meter_event_dimension_count_too_high'
  | 'meter_event_invalid_value'
  | 'meter_event_no_customer_defined'
  | 'meter_event_value_too_many_digits'
  | 'missing_dimension_payload_keys'
  | 'no_meter'
  | 'timestamp_in_future'
  | 'timestamp_too_far_in_past';

export const MAX_PAST_SECONDS = 35 * 86_400;
export const MAX_FUTURE_SECONDS = 5 * 60;
export const MAX_IDENTIFIER_LENGTH = 100;
export const MAX_PAYLOAD_VALUE_LENGTH = 100;
/** Whole numbers only; 15 digits keep every value exact as a JSON number too. */
export const MAX_VALUE_DIGITS = 15;

/** A meter event after its wire format is decoded (v1 unix seconds or v2 RFC 3339 -> seconds). */
export interface MeterEventInput {
  eventName: string;
  payload: Record<string, string>;
  identifier?: string;
  timestamp?: number;
}

export interface AcceptedMeterEvent {
  meterId: string;
  eventName: string;
  customer: string;
  /** Whole number; for `count` meters the value is not read and is 1. */
  value: bigint;
  timestamp: number;
  identifier: string;
  payload: Record<string, string>;
}

export interface MeterEventRejection {
  code: MeterErrorCode | 'parameter_invalid' | 'parameter_missing';
  /** The error-report code used when the failure is reported asynchronously. */
  reportCode: MeterErrorCode;
  message: string;
  param?: string;
  meterId: string | null;
  eventName: string | null;
  identifier: string;
}

export type ValidationResult = { ok: true; event: AcceptedMeterEvent } | { ok: false; rejection: MeterEventRejection };

export interface ValidationContext {
  meterFor(eventName: string): Meter | undefined;
  /** "Now" for the customer, unix seconds: its test clock's frozen time, else the system time. */
  nowFor(customer: string): number;
  /** False when the customer is known not to exist. */
  customerExists(customer: string): boolean;
  newIdentifier(): string;
}

const WHOLE = /^-?\d+$/;

export function validateMeterEvent(input: MeterEventInput, ctx: ValidationContext): ValidationResult {
  const identifier = input.identifier ?? ctx.newIdentifier();
  const reject = (
    code: MeterEventRejection['code'],
    reportCode: MeterErrorCode,
    message: string,
    meter: Meter | undefined,
    param?: string,
  ): ValidationResult => ({
    ok: false,
    rejection: {
      code,
      reportCode,
      message,
      ...(param ? { param } : {}),
      meterId: meter?.id ?? null,
      eventName: input.eventName || null,
      identifier,
    },
  });

  if (identifier.length === 0 || identifier.length > MAX_IDENTIFIER_LENGTH)
    return reject(
      'parameter_invalid',
      'meter_event_invalid_value',
      `Invalid identifier: must be 1 to ${MAX_IDENTIFIER_LENGTH} characters.`,
      undefined,
      'identifier',
    );

  const meter = ctx.meterFor(input.eventName);
  if (!meter)
    return reject('no_meter', 'no_meter', `No active meter was found for event_name '${input.eventName}'.`, undefined, 'event_name');
  if (meter.status !== 'active')
    return reject(
      'archived_meter',
      'archived_meter',
      `The meter '${meter.id}' for event_name '${input.eventName}' is inactive and accepts no events.`,
      meter,
      'event_name',
    );

  for (const [k, v] of Object.entries(input.payload)) {
    if (v.length > MAX_PAYLOAD_VALUE_LENGTH)
      return reject(
        'parameter_invalid',
        'meter_event_invalid_value',
        `Invalid payload[${k}]: must be at most ${MAX_PAYLOAD_VALUE_LENGTH} characters.`,
        meter,
        `payload[${k}]`,
      );
  }

  const customer = input.payload[meter.customerPayloadKey];
  if (customer === undefined || customer === '')
    return reject(
      'meter_event_no_customer_defined',
      'meter_event_no_customer_defined',
      `The payload is missing the customer mapping key '${meter.customerPayloadKey}'.`,
      meter,
      `payload[${meter.customerPayloadKey}]`,
    );

  let value = 1n;
  if (meter.formula !== 'count') {
    const raw = input.payload[meter.valuePayloadKey];
    if (raw === undefined || raw === '')
      return reject(
        'meter_event_invalid_value',
        'meter_event_invalid_value',
        `The payload is missing the value key '${meter.valuePayloadKey}'.`,
        meter,
        `payload[${meter.valuePayloadKey}]`,
      );
    const t = raw.trim();
    if (!WHOLE.test(t))
      return reject(
        'meter_event_invalid_value',
        'meter_event_invalid_value',
        `The value '${raw}' for payload key '${meter.valuePayloadKey}' must be a whole number.`,
        meter,
        `payload[${meter.valuePayloadKey}]`,
      );
    if (t.replace(/^-/, '').replace(/^0+(?=\d)/, '').length > MAX_VALUE_DIGITS)
      return reject(
        'meter_event_value_too_many_digits',
        'meter_event_value_too_many_digits',
        `The value '${raw}' has more than ${MAX_VALUE_DIGITS} digits.`,
        meter,
        `payload[${meter.valuePayloadKey}]`,
      );
    value = BigInt(t);
  }

  if (!ctx.customerExists(customer))
    return reject(
      'meter_event_customer_not_found',
      'meter_event_customer_not_found',
      `No such customer: '${customer}'`,
      meter,
      `payload[${meter.customerPayloadKey}]`,
    );

  const now = ctx.nowFor(customer);
  const timestamp = input.timestamp ?? now;
  if (timestamp < now - MAX_PAST_SECONDS)
    return reject(
      'timestamp_too_far_in_past',
      'timestamp_too_far_in_past',
      `Timestamp ${timestamp} is more than 35 days in the past.`,
      meter,
      'timestamp',
    );
  if (timestamp > now + MAX_FUTURE_SECONDS)
    return reject(
      'timestamp_in_future',
      'timestamp_in_future',
      `Timestamp ${timestamp} is more than 5 minutes in the future.`,
      meter,
      'timestamp',
    );

  return {
    ok: true,
    event: { meterId: meter.id, eventName: meter.eventName, customer, value, timestamp, identifier, payload: input.payload },
  };
}

export type DecodeResult =
  | { ok: true; input: MeterEventInput }
  | { ok: false; message: string; param: string; identifier: string | null; reportCode?: MeterErrorCode };

/**
 * Wire format -> `MeterEventInput`. v1 sends form strings (timestamp as unix seconds), v2 sends
 * JSON (timestamp as RFC 3339); the asynchronous paths (`ingest`: NATS, the v2 stream) take
 * what producers send: RFC 3339 or integer unix seconds (a JSON number or a string of digits).
 * Text Postgres cannot store (NUL, unpaired surrogates) is refused here, naming the field.
 */
export function decodeMeterEvent(raw: unknown, format: 'v1' | 'v2' | 'ingest'): DecodeResult {
  const o = (raw && typeof raw === 'object' && !Array.isArray(raw) ? raw : {}) as Record<string, unknown>;
  const rawId = typeof o.identifier === 'string' && o.identifier !== '' ? o.identifier : undefined;
  const identifier = rawId !== undefined && isStorableText(rawId) ? rawId : undefined;
  const fail = (param: string, message: string, reportCode?: MeterErrorCode): DecodeResult => ({
    ok: false,
    param,
    message,
    identifier: identifier ?? null,
    ...(reportCode ? { reportCode } : {}),
  });
  const bad = findUnstorableText(o, 4);
  if (bad) {
    const [first, ...rest] = bad.path.map((p) => storableText(String(p)));
    const name = (first ?? '') + rest.map((p) => `[${p}]`).join('');
    return fail(
      name,
      bad.tooDeep
        ? `Invalid ${name}: nested too deeply.`
        : `Invalid ${name}: text may not contain NUL (\\u0000) characters or unpaired UTF-16 surrogates.`,
      'meter_event_invalid_value',
    );
  }
  if (typeof o.event_name !== 'string' || o.event_name === '') return fail('event_name', 'Missing required param: event_name.');
  if (o.event_name.length > 100) return fail('event_name', 'Invalid event_name: must be at most 100 characters.');
  if (!o.payload || typeof o.payload !== 'object' || Array.isArray(o.payload)) return fail('payload', 'Missing required param: payload.');
  const payload: Record<string, string> = {};
  for (const [k, v] of Object.entries(o.payload as Record<string, unknown>)) {
    if (typeof v === 'string') payload[k] = v;
    else if (typeof v === 'number' && format === 'v2') payload[k] = String(v);
    else return fail(`payload[${k}]`, `Invalid payload[${k}]: must be a string.`);
  }
  if (o.identifier !== undefined && o.identifier !== null && typeof o.identifier !== 'string')
    return fail('identifier', 'Invalid identifier: must be a string.');
  let timestamp: number | undefined;
  if (o.timestamp !== undefined && o.timestamp !== null && o.timestamp !== '') {
    const unixSeconds = format === 'v1' || (format === 'ingest' && (typeof o.timestamp === 'number' || /^\d+$/.test(String(o.timestamp))));
    if (unixSeconds) {
      const s = String(o.timestamp);
      if (!/^\d+$/.test(s) || !Number.isSafeInteger(Number(s))) return fail('timestamp', `Invalid integer: ${s}`);
      timestamp = Number(s);
    } else {
      if (typeof o.timestamp !== 'string') return fail('timestamp', 'Invalid timestamp: must be an RFC 3339 string.');
      const ms = Date.parse(o.timestamp);
      if (!/^\d{4}-\d{2}-\d{2}T/.test(o.timestamp) || Number.isNaN(ms))
        return fail('timestamp', `Invalid timestamp: '${o.timestamp}' is not an RFC 3339 date-time.`);
      timestamp = Math.floor(ms / 1000);
    }
  }
  return {
    ok: true,
    input: {
      eventName: o.event_name,
      payload,
      ...(identifier !== undefined ? { identifier } : {}),
      ...(timestamp !== undefined ? { timestamp } : {}),
    },
  };
}
