import { DomainError } from '@meterflow/kernel';
import type { EventTimeWindow, MeterFormula } from './meter.types.js';

/**
 * Rollups: accepted events folded per (meter, customer, bucket). Raw meters use one-minute
 * buckets holding sum, count and the last event (by timestamp, then receipt order).
 * Pre-aggregated meters (`event_time_window`) keep one event per UTC hour/day bucket: the most
 * recently received one.
 */
export interface StoredEvent {
  meterId: string;
  customer: string;
  value: bigint;
  timestamp: number;
  /** Receipt order: larger = received later. */
  seq: bigint;
  identifier: string;
}

export interface MinuteRollup {
  meterId: string;
  customer: string;
  bucket: number;
  sum: bigint;
  count: number;
  lastValue: bigint;
  lastTs: number;
  lastSeq: bigint;
}

export interface WindowBucket {
  meterId: string;
  customer: string;
  bucket: number;
  value: bigint;
  ts: number;
  seq: bigint;
  identifier: string;
}

export const windowSeconds = (w: EventTimeWindow): number => (w === 'hour' ? 3600 : 86_400);
export const floorTo = (t: number, size: number): number => t - (((t % size) + size) % size);

const later = (aTs: number, aSeq: bigint, bTs: number, bSeq: bigint): boolean => aTs > bTs || (aTs === bTs && aSeq > bSeq);

/** Fold a batch of raw-meter events into per-minute deltas (keys sorted for deterministic upserts). */
export function foldMinuteRollups(events: readonly StoredEvent[]): MinuteRollup[] {
  const byKey = new Map<string, MinuteRollup>();
  for (const e of events) {
    const bucket = floorTo(e.timestamp, 60);
    const key = `${e.meterId}\u0000${e.customer}\u0000${bucket}`;
    const r = byKey.get(key);
    if (!r) {
      byKey.set(key, {
        meterId: e.meterId,
        customer: e.customer,
        bucket,
        sum: e.value,
        count: 1,
        lastValue: e.value,
        lastTs: e.timestamp,
        lastSeq: e.seq,
      });
    } else {
      r.sum += e.value;
      r.count += 1;
      if (later(e.timestamp, e.seq, r.lastTs, r.lastSeq)) {
        r.lastValue = e.value;
        r.lastTs = e.timestamp;
        r.lastSeq = e.seq;
      }
    }
  }
  return [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
}

/** Merge a delta into a stored minute rollup (what the upsert does in SQL). */
export function mergeMinuteRollup(stored: MinuteRollup | undefined, delta: MinuteRollup): MinuteRollup {
  if (!stored) return delta;
  const takeDelta = later(delta.lastTs, delta.lastSeq, stored.lastTs, stored.lastSeq);
  return {
    ...stored,
    sum: stored.sum + delta.sum,
    count: stored.count + delta.count,
    lastValue: takeDelta ? delta.lastValue : stored.lastValue,
    lastTs: takeDelta ? delta.lastTs : stored.lastTs,
    lastSeq: takeDelta ? delta.lastSeq : stored.lastSeq,
  };
}

/** Fold a batch of pre-aggregated-meter events: the most recently received event per bucket. */
export function foldWindowBuckets(events: readonly StoredEvent[], windowOf: (meterId: string) => EventTimeWindow): WindowBucket[] {
  const byKey = new Map<string, WindowBucket>();
  for (const e of events) {
    const bucket = floorTo(e.timestamp, windowSeconds(windowOf(e.meterId)));
    const key = `${e.meterId}\u0000${e.customer}\u0000${bucket}`;
    const b = byKey.get(key);
    if (!b || e.seq > b.seq)
      byKey.set(key, {
        meterId: e.meterId,
        customer: e.customer,
        bucket,
        value: e.value,
        ts: e.timestamp,
        seq: e.seq,
        identifier: e.identifier,
      });
  }
  return [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
}

/** The aggregated value of a window from its rollups, per the meter's formula. */
export function aggregateMinutes(rows: readonly MinuteRollup[], formula: MeterFormula): bigint {
  if (formula === 'sum') return rows.reduce((s, r) => s + r.sum, 0n);
  if (formula === 'count') return BigInt(rows.reduce((s, r) => s + r.count, 0));
  let last: MinuteRollup | undefined;
  for (const r of rows) if (!last || later(r.lastTs, r.lastSeq, last.lastTs, last.lastSeq)) last = r;
  return last ? last.lastValue : 0n;
}

export function aggregateBuckets(rows: readonly WindowBucket[], formula: MeterFormula): bigint {
  if (formula === 'sum') return rows.reduce((s, r) => s + r.value, 0n);
  if (formula === 'count') return BigInt(rows.length);
  let last: WindowBucket | undefined;
  for (const r of rows) if (!last || r.bucket > last.bucket) last = r;
  return last ? last.value : 0n;
}

// ---- event summaries: window rules ---------------------------------------------------------

export type GroupingWindow = 'hour' | 'day';

/**
 * `start_time`/`end_time` must be minute-aligned (end exclusive, after start); with
 * `value_grouping_window` they must be hour- or UTC-day-aligned. Returns the summary windows,
 * oldest first.
 */
export function summaryWindows(start: number, end: number, grouping: GroupingWindow | undefined): { start: number; end: number }[] {
  if (start % 60 !== 0)
    throw new DomainError('parameter_invalid', 'start_time must be aligned to a minute boundary.', { param: 'start_time' });
  if (end % 60 !== 0) throw new DomainError('parameter_invalid', 'end_time must be aligned to a minute boundary.', { param: 'end_time' });
  if (end <= start) throw new DomainError('parameter_invalid', 'end_time must be after start_time.', { param: 'end_time' });
  if (!grouping) return [{ start, end }];
  const size = grouping === 'hour' ? 3600 : 86_400;
  const what = grouping === 'hour' ? 'an hour boundary' : 'a day boundary (00:00 UTC)';
  if (start % size !== 0)
    throw new DomainError('parameter_invalid', `start_time must be aligned to ${what} when value_grouping_window is ${grouping}.`, {
      param: 'start_time',
    });
  if (end % size !== 0)
    throw new DomainError('parameter_invalid', `end_time must be aligned to ${what} when value_grouping_window is ${grouping}.`, {
      param: 'end_time',
    });
  const out: { start: number; end: number }[] = [];
  for (let t = start; t < end; t += size) out.push({ start: t, end: t + size });
  return out;
}

/** Stripe prints `aggregated_value` as a number. */
export const toApiNumber = (v: bigint): number => Number(v);
