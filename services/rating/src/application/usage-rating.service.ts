import { Inject, Injectable } from '@nestjs/common';
import { INGESTION_OPS, type RatedLine, type UsageQueryReply, type UsageQueryRequest } from '@meterflow/contracts';
import type { RpcClient } from '@meterflow/messaging';
import { DomainError } from '@meterflow/kernel';
import { CONFIG, RPC_CLIENT } from '@meterflow/service-kit';
import { isMetered, type PriceObject } from '../domain/price.js';
import { meteredLine } from '../domain/rated-line.js';
import type { RatingEnv } from '../rating.definition.js';
import { PRODUCT_INDEX, type ProductIndex } from './ports.js';

/** One metered item's usage window to price. */
export interface UsageWindow {
  key: string;
  customer: string;
  subscription_item: string;
  price: PriceObject;
  start: number;
  end: number;
}

/** Queries per `usage.query` request: many subscriptions per round trip, bounded message size. */
const QUERY_CHUNK = 1_000;

/** Usage from meter-ingestion (batched) -> priced lines (pure rating math). */
@Injectable()
export class UsageRatingService {
  constructor(
    @Inject(RPC_CLIENT) private readonly rpc: RpcClient,
    @Inject(PRODUCT_INDEX) private readonly products: ProductIndex,
    @Inject(CONFIG) private readonly config: RatingEnv,
  ) {}

  /** Aggregated usage by window key, in as few requests as possible. */
  async usage(windows: readonly UsageWindow[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const queries: UsageQueryRequest['queries'] = [];
    for (const w of windows) {
      if (w.end <= w.start || !w.price.recurring?.meter) out.set(w.key, '0');
      else queries.push({ key: w.key, meter: w.price.recurring.meter, customer: w.customer, start: w.start, end: w.end });
    }
    const chunks: UsageQueryRequest['queries'][] = [];
    for (let i = 0; i < queries.length; i += QUERY_CHUNK) chunks.push(queries.slice(i, i + QUERY_CHUNK));
    const replies = await Promise.all(chunks.map((queries) => this.query(queries)));
    for (const reply of replies) for (const [key, r] of Object.entries(reply.results)) out.set(key, r.value);
    return out;
  }

  private async query(queries: UsageQueryRequest['queries']): Promise<UsageQueryReply> {
    try {
      return await this.rpc.request<UsageQueryReply>('meter-ingestion', INGESTION_OPS.usageQuery, { queries } satisfies UsageQueryRequest, {
        timeoutMs: this.config.RATING_RPC_TIMEOUT_MS,
      });
    } catch (e) {
      // One bad query (a meter that does not exist) must not block a whole batch: ask per meter,
      // and a meter ingestion does not know has no usage.
      if (!(e instanceof DomainError) || e.status >= 500) throw e;
      const meters = [...new Set(queries.map((q) => q.meter))];
      if (meters.length === 1) {
        if (e.status !== 404) throw e;
        return { results: Object.fromEntries(queries.map((q) => [q.key, { value: '0', formula: 'sum' as const }])) };
      }
      const parts = await Promise.all(meters.map((m) => this.query(queries.filter((q) => q.meter === m))));
      return { results: Object.assign({}, ...parts.map((p) => p.results)) };
    }
  }

  /** Whether meter-ingestion knows the meter; `undefined` when it cannot be asked right now. */
  async meterExists(meter: string): Promise<boolean | undefined> {
    try {
      await this.rpc.request(
        'meter-ingestion',
        'meters.retrieve',
        { params: {}, path: { id: meter }, requestId: 'rating', livemode: false },
        { timeoutMs: 2_000 },
      );
      return true;
    } catch (e) {
      if (e instanceof DomainError && e.status === 404) return false;
      return undefined;
    }
  }

  /** Price each window: one line per metered item, rounded once. */
  async rate(windows: readonly UsageWindow[]): Promise<Map<string, RatedLine>> {
    const metered = windows.filter((w) => isMetered(w.price));
    const [usage, names] = await Promise.all([this.usage(metered), this.productNames(metered.map((w) => w.price.product))]);
    const out = new Map<string, RatedLine>();
    for (const w of metered) out.set(w.key, meteredLine(w, usage.get(w.key) ?? '0', names.get(w.price.product) ?? w.price.product));
    return out;
  }

  /** The names rated lines carry. */
  productNames(ids: readonly string[]): Promise<Map<string, string>> {
    return this.products.names(ids);
  }
}
