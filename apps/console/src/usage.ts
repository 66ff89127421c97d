import { api, type StripeList } from './api.js';
import type { MeterEventSummary, Subscription } from './types.js';

export interface PeriodUsage {
  start: number;
  end: number;
  value: number;
}

/** The billing periods of an item, newest last: the current one and up to `past` before it, none before the subscription began. */
export function periodsOf(
  item: { current_period_start: number; current_period_end: number },
  interval: string,
  count: number,
  since: number,
  past = 5,
) {
  const step = (unix: number, k: number): number => {
    const d = new Date(unix * 1000);
    if (interval === 'day') d.setUTCDate(d.getUTCDate() - k * count);
    else if (interval === 'week') d.setUTCDate(d.getUTCDate() - 7 * k * count);
    else if (interval === 'year') d.setUTCFullYear(d.getUTCFullYear() - k * count);
    else d.setUTCMonth(d.getUTCMonth() - k * count);
    return Math.floor(d.getTime() / 1000);
  };
  const out: { start: number; end: number }[] = [{ start: item.current_period_start, end: item.current_period_end }];
  for (let k = 1; k <= past; k++) {
    const start = step(item.current_period_start, k);
    if (start < since - 1) break;
    out.unshift({ start: Math.max(start, since), end: step(item.current_period_start, k - 1) });
  }
  return out;
}

/** One meter's usage by a customer in each period (one summary call per period, through the public API). */
export async function usageByPeriod(meter: string, customer: string, periods: { start: number; end: number }[]): Promise<PeriodUsage[]> {
  return Promise.all(
    periods.map(async (p) => {
      const res = await api.get<StripeList<MeterEventSummary>>(`/v1/billing/meters/${meter}/event_summaries`, {
        customer,
        start_time: p.start,
        end_time: p.end,
      });
      return { ...p, value: res.data.reduce((s, x) => s + x.aggregated_value, 0) };
    }),
  );
}

/** Metered items of a customer's subscriptions, one entry per meter (the first item that bills it). */
export function meteredItems(subs: Subscription[]) {
  const seen = new Map<string, { meter: string; sub: Subscription; item: Subscription['items']['data'][number] }>();
  for (const sub of subs)
    for (const item of sub.items.data) {
      const meter = item.price.recurring?.meter;
      if (meter && !seen.has(meter)) seen.set(meter, { meter, sub, item });
    }
  return [...seen.values()];
}
