import { createHash } from 'node:crypto';
import type { UsageQueryReply, UsageQueryRequest } from '@meterflow/contracts';
import { DomainError, notFound } from '@meterflow/kernel';
import { toList, type ListParams, type StripeList } from '@meterflow/stripe-api';
import type { Meter, MeterFormula } from '../domain/meter.types.js';
import { summaryWindows, type GroupingWindow } from '../domain/usage.rollup.js';
import type { MeterCatalog } from './meter-catalog.js';
import type { MeterReadModel, UsageAggregate, UsageReader, UsageWindowQuery } from './ports.js';

export interface MeterEventSummary {
  id: string;
  object: 'billing.meter_event_summary';
  aggregated_value: number;
  end_time: number;
  livemode: false;
  meter: string;
  start_time: number;
}

const pick = (a: UsageAggregate | undefined, f: MeterFormula): bigint => (!a ? 0n : f === 'sum' ? a.sum : f === 'count' ? a.count : a.last);

/** Summary ids are derived from (meter, customer, window), so cursors need no stored state. */
function summaryId(meter: string, customer: string, start: number, end: number): string {
  const h = createHash('sha1').update(`${meter}|${customer}`).digest('hex').slice(0, 10);
  return `mtrusg_${h}${start.toString(36).padStart(7, '0')}${end.toString(36).padStart(7, '0')}`;
}
const startOfSummaryId = (id: string): number | undefined => {
  const m = /^mtrusg_[0-9a-f]{10}([0-9a-z]{7})[0-9a-z]{7}$/.exec(id);
  return m ? parseInt(m[1]!, 36) : undefined;
};

/** Usage reads: event summaries for the API and `usage.query` for rating, from the rollups. */
export class UsageService {
  constructor(
    private readonly catalog: MeterCatalog,
    private readonly meters: Pick<MeterReadModel, 'get'>,
    private readonly store: UsageReader,
  ) {}

  private async meter(id: string): Promise<Meter> {
    const m = this.catalog.byMeterId(id) ?? (await this.meters.get(id));
    if (!m) throw notFound('billing.meter', id);
    return m;
  }

  async aggregate(queries: readonly (UsageWindowQuery & { meter: Meter })[]): Promise<Map<string, bigint>> {
    const all = await this.aggregates(queries);
    const out = new Map<string, bigint>();
    for (const q of queries) out.set(q.key, pick(all.get(q.key), q.meter.formula));
    return out;
  }

  /** Every aggregate of each window (sum, count of events, last), by key. */
  private async aggregates(queries: readonly (UsageWindowQuery & { meter: Meter })[]): Promise<Map<string, UsageAggregate>> {
    const raw = queries.filter((q) => q.meter.eventTimeWindow === null);
    const windowed = queries.filter((q) => q.meter.eventTimeWindow !== null);
    const [a, b] = await Promise.all([this.store.usageRaw(raw), this.store.usageWindowed(windowed)]);
    return new Map([...a, ...b]);
  }

  async query(req: UsageQueryRequest): Promise<UsageQueryReply> {
    const qs = await Promise.all(
      req.queries.map(async (q) => {
        if (!(q.end > q.start))
          throw new DomainError('parameter_invalid', `usage.query ${q.key}: end must be after start.`, { param: 'queries' });
        return { key: q.key, meterId: q.meter, customer: q.customer, start: q.start, end: q.end, meter: await this.meter(q.meter) };
      }),
    );
    const all = await this.aggregates(qs);
    const results: UsageQueryReply['results'] = {};
    for (const q of qs) {
      const a = all.get(q.key);
      results[q.key] = { value: pick(a, q.meter.formula).toString(), formula: q.meter.formula, events: Number(a?.count ?? 0n) };
    }
    return { results };
  }

  async summaries(
    meterId: string,
    customer: string,
    start: number,
    end: number,
    grouping: GroupingWindow | undefined,
    lp: ListParams,
  ): Promise<StripeList<MeterEventSummary>> {
    const meter = await this.meter(meterId);
    const url = `/v1/billing/meters/${meterId}/event_summaries`;
    // Newest first, like Stripe's example responses.
    let windows = summaryWindows(start, end, grouping).reverse();
    if (lp.startingAfter !== undefined) {
      const s = startOfSummaryId(lp.startingAfter);
      windows = windows.filter((w) => s !== undefined && w.start < s);
    }
    if (lp.endingBefore !== undefined) {
      const s = startOfSummaryId(lp.endingBefore);
      windows = windows.filter((w) => s !== undefined && w.start > s).reverse();
    }
    const page = windows.slice(0, lp.limit + 1);
    const values = await this.aggregate(page.map((w) => ({ key: String(w.start), meterId, customer, start: w.start, end: w.end, meter })));
    const rows = page.map<MeterEventSummary>((w) => ({
      id: summaryId(meterId, customer, w.start, w.end),
      object: 'billing.meter_event_summary',
      aggregated_value: Number(values.get(String(w.start)) ?? 0n),
      end_time: w.end,
      livemode: false,
      meter: meterId,
      start_time: w.start,
    }));
    return toList(rows, { limit: lp.limit, url, ...(lp.endingBefore !== undefined ? { endingBefore: lp.endingBefore } : {}) });
  }
}
