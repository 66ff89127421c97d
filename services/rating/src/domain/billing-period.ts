import type { BillingAnchorConfig, BillingInterval, BillingRecurrence } from '@meterflow/contracts';

/**
 * Billing periods, computed from the anchor, never by adding to the previous end: boundary k
 * is `anchor + k * interval_count * interval`, with month/year boundaries clamped to the last
 * day of a shorter month (an anchor on the 31st gives Feb 28/29, then Mar 31). All UTC, unix s.
 */
export type Interval = BillingInterval;
export type Recurrence = BillingRecurrence;

const DAY = 86_400;

const daysInMonth = (year: number, month0: number): number => new Date(Date.UTC(year, month0 + 1, 0)).getUTCDate();

/** `anchor` plus `months` calendar months, keeping the anchor's day where the month has it. */
export function addMonthsClamped(anchor: number, months: number): number {
  const a = new Date(anchor * 1000);
  const total = a.getUTCFullYear() * 12 + a.getUTCMonth() + months;
  const year = Math.floor(total / 12);
  const month0 = total - year * 12;
  const day = Math.min(a.getUTCDate(), daysInMonth(year, month0));
  return Date.UTC(year, month0, day, a.getUTCHours(), a.getUTCMinutes(), a.getUTCSeconds()) / 1000;
}

/** The k-th boundary from the anchor (k may be negative). */
export function boundary(anchor: number, r: Recurrence, k: number): number {
  switch (r.interval) {
    case 'day':
      return anchor + k * r.interval_count * DAY;
    case 'week':
      return anchor + k * r.interval_count * 7 * DAY;
    case 'month':
      return addMonthsClamped(anchor, k * r.interval_count);
    case 'year':
      return addMonthsClamped(anchor, k * r.interval_count * 12);
  }
}

/** Rough length of one period in seconds, to guess k before the exact walk. */
export function approxPeriodSeconds(r: Recurrence): number {
  const unit = { day: DAY, week: 7 * DAY, month: 30.436875 * DAY, year: 365.2425 * DAY }[r.interval];
  return unit * r.interval_count;
}

/** The first boundary strictly after `t`. */
export function nextBoundaryAfter(anchor: number, r: Recurrence, t: number): number {
  let k = Math.floor((t - anchor) / approxPeriodSeconds(r));
  while (boundary(anchor, r, k) > t) k--;
  while (boundary(anchor, r, k) <= t) k++;
  return boundary(anchor, r, k);
}

/** The billing period containing `t`: [start, end) with start <= t < end. */
export function periodContaining(anchor: number, r: Recurrence, t: number): { start: number; end: number } {
  const end = nextBoundaryAfter(anchor, r, t);
  let k = Math.floor((end - anchor) / approxPeriodSeconds(r)) + 1;
  while (boundary(anchor, r, k) > end) k--;
  while (boundary(anchor, r, k) < end) k++;
  return { start: boundary(anchor, r, k - 1), end };
}

/** Upper limit for `interval_count`: three years. */
export function maxIntervalCount(interval: Interval): number {
  return { day: 1095, week: 156, month: 36, year: 3 }[interval];
}

export type AnchorConfig = BillingAnchorConfig;

/**
 * `billing_cycle_anchor_config`: the next occurrence after `now` (UTC) of the given day (clamped
 * to short months), time and, for yearly prices, month.
 */
export function resolveAnchorConfig(cfg: AnchorConfig, now: number, interval: Interval): number {
  const n = new Date(now * 1000);
  const at = (year: number, month0: number): number =>
    Date.UTC(year, month0, Math.min(cfg.day_of_month, daysInMonth(year, month0)), cfg.hour ?? 0, cfg.minute ?? 0, cfg.second ?? 0) / 1000;
  if (interval === 'year' && cfg.month !== undefined) {
    for (let y = n.getUTCFullYear(); ; y++) {
      const c = at(y, cfg.month - 1);
      if (c > now) return c;
    }
  }
  for (let i = 0; ; i++) {
    const total = n.getUTCFullYear() * 12 + n.getUTCMonth() + i;
    const c = at(Math.floor(total / 12), total % 12);
    if (c > now) return c;
  }
}
