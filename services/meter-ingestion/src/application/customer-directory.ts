import type { ApiRequest } from '@meterflow/contracts';
import { DomainError, newId, toUnix, type Clock } from '@meterflow/kernel';
import type { RpcClient } from '@meterflow/messaging';

interface CustomerFacts {
  exists: boolean;
  testClock: string | null;
  /** Negative answers expire (the customer may be created in a moment). */
  until: number;
}

export interface CustomerView {
  exists(customer: string): boolean;
  /** Unix seconds: the customer's test clock time, else the system time. */
  nowFor(customer: string): number;
}

const NEGATIVE_TTL_MS = 5_000;

/**
 * What ingestion needs to know about customers, learned from rating (`customers.retrieve`,
 * `test_clocks.retrieve`). A customer's test clock never changes, so positive answers are
 * cached; clock times are read fresh for each batch.
 */
export class CustomerDirectory {
  private readonly cache = new Map<string, CustomerFacts>();

  constructor(
    private readonly rpc: RpcClient | null,
    private readonly clock: Clock,
  ) {}

  async resolve(customers: Iterable<string>): Promise<CustomerView> {
    const systemNow = toUnix(this.clock.now());
    if (!this.rpc) return { exists: () => true, nowFor: () => systemNow };
    const rpc = this.rpc;
    const nowMs = Date.now();
    const todo = [...new Set(customers)].filter((c) => {
      const f = this.cache.get(c);
      return !f || f.until < nowMs;
    });
    await Promise.all(
      todo.map(async (id) => {
        try {
          const c = await rpc.request<{ deleted?: boolean; test_clock?: string | { id: string } | null }>(
            'rating',
            'customers.retrieve',
            this.apiRequest({ id }),
            { timeoutMs: 10_000 },
          );
          const exists = !c.deleted;
          const testClock = typeof c.test_clock === 'string' ? c.test_clock : (c.test_clock?.id ?? null);
          this.cache.set(id, { exists, testClock, until: exists ? Number.MAX_SAFE_INTEGER : nowMs + NEGATIVE_TTL_MS });
        } catch (e) {
          if (e instanceof DomainError && e.status === 404)
            this.cache.set(id, { exists: false, testClock: null, until: nowMs + NEGATIVE_TTL_MS });
          else throw e;
        }
      }),
    );
    const clocks = new Set<string>();
    for (const c of customers) {
      const t = this.cache.get(c)?.testClock;
      if (t) clocks.add(t);
    }
    const clockTimes = new Map<string, number>();
    await Promise.all(
      [...clocks].map(async (id) => {
        const c = await rpc.request<{ frozen_time: number }>('rating', 'test_clocks.retrieve', this.apiRequest({ id }), {
          timeoutMs: 10_000,
        });
        clockTimes.set(id, c.frozen_time);
      }),
    );
    return {
      exists: (c) => this.cache.get(c)?.exists ?? false,
      nowFor: (c) => {
        const t = this.cache.get(c)?.testClock;
        return (t ? clockTimes.get(t) : undefined) ?? systemNow;
      },
    };
  }

  private apiRequest(path: Record<string, string>): ApiRequest {
    return { params: {}, path, requestId: newId('request'), livemode: false };
  }
}
