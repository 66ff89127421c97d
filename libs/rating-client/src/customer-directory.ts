import type { ApiRequest } from '@meterflow/contracts';
import { DomainError, newId, notFound, toUnix, type Clock } from '@meterflow/kernel';
import type { RpcClient } from '@meterflow/messaging';

/** What every service needs to know about a customer (rating owns customers and test clocks). */
export interface CustomerFacts {
  id: string;
  /** Immutable in Stripe: a customer's test clock is set at creation and never changes. */
  test_clock: string | null;
  currency: string | null;
}

/** The answers to one batch of questions: which customers exist, and what "now" is for each. */
export interface CustomerView {
  get(customer: string): CustomerFacts | null;
  exists(customer: string): boolean;
  /** Unix seconds: the customer's test clock's frozen time, else the system time. */
  nowFor(customer: string): number;
}

export interface CustomerDirectoryOptions {
  /** How long "no such customer" is believed (it may be created in a moment). Default 5 s. */
  negativeTtlMs?: number;
  /** Positive answers kept at most (least recently used evicted). Default 100,000. */
  maxEntries?: number;
  timeoutMs?: number;
}

interface Entry {
  facts: CustomerFacts | null;
  /** Date.now() after which the entry is asked again (positive answers: never). */
  until: number;
}

const apiRequest = (id: string): ApiRequest => ({ params: {}, path: { id }, requestId: newId('request'), livemode: false });

/**
 * The one client for "who is this customer, and what is its clock's now", asked of rating over
 * NATS (`customers.retrieve`, `test_clocks.retrieve`). One cache policy for every service:
 * - a customer that exists is cached (its test clock never changes), LRU-bounded;
 * - a missing or deleted customer is cached for `negativeTtlMs` only;
 * - a test clock's time is never cached (advancing moves it): asked once per call, per clock.
 */
export class CustomerDirectory {
  private readonly cache = new Map<string, Entry>();
  private readonly negativeTtlMs: number;
  private readonly maxEntries: number;
  private readonly timeoutMs: number;

  constructor(
    private readonly rpc: RpcClient | null,
    private readonly clock: Clock,
    opts: CustomerDirectoryOptions = {},
  ) {
    this.negativeTtlMs = opts.negativeTtlMs ?? 5_000;
    this.maxEntries = opts.maxEntries ?? 100_000;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  /** The customer, or Stripe's 404 naming `param` (`resource_missing`, "No such customer"). */
  async customer(id: string, param = 'customer'): Promise<CustomerFacts> {
    const facts = (await this.lookup([id])).get(id) ?? null;
    if (!facts) throw notFound('customer', id, param);
    return facts;
  }

  /** Many customers at once: the ones not cached are asked concurrently. Missing ones map to null. */
  async lookup(ids: Iterable<string>): Promise<Map<string, CustomerFacts | null>> {
    const out = new Map<string, CustomerFacts | null>();
    const nowMs = Date.now();
    const todo: string[] = [];
    for (const id of new Set(ids)) {
      const hit = this.cache.get(id);
      if (hit && hit.until >= nowMs) {
        // LRU: a hit moves to the end
        this.cache.delete(id);
        this.cache.set(id, hit);
        out.set(id, hit.facts);
      } else todo.push(id);
    }
    if (todo.length > 0 && !this.rpc) for (const id of todo) out.set(id, { id, test_clock: null, currency: null });
    else
      await Promise.all(
        todo.map(async (id) => {
          const facts = await this.ask(id);
          this.remember(id, facts, nowMs);
          out.set(id, facts);
        }),
      );
    return out;
  }

  /** Learned elsewhere (an invoice carries its customer's clock): saves a question. */
  remember(id: string, facts: CustomerFacts | null, nowMs = Date.now()): void {
    this.cache.delete(id);
    this.cache.set(id, { facts, until: facts ? Number.POSITIVE_INFINITY : nowMs + this.negativeTtlMs });
    if (this.cache.size > this.maxEntries) this.cache.delete(this.cache.keys().next().value!);
  }

  /** A test clock's frozen time (unix seconds), asked fresh. */
  async clockTime(clockId: string): Promise<number> {
    if (!this.rpc) return this.systemNow();
    const c = await this.rpc.request<{ frozen_time: number }>('rating', 'test_clocks.retrieve', apiRequest(clockId), {
      timeoutMs: this.timeoutMs,
    });
    return c.frozen_time;
  }

  /** "Now" for one customer: its test clock's frozen time, or the system clock. */
  async nowFor(customer: Pick<CustomerFacts, 'test_clock'>): Promise<number> {
    return customer.test_clock ? this.clockTime(customer.test_clock) : this.systemNow();
  }

  systemNow(): number {
    return toUnix(this.clock.now());
  }

  /** Who exists and what "now" is for each of `customers`: one question per unknown customer and per clock. */
  async resolve(customers: Iterable<string>): Promise<CustomerView> {
    if (!this.rpc) {
      // No rating to ask (INGEST_CUSTOMER_LOOKUP=off): everyone exists on the system clock, in O(1) (the ingest hot path).
      const now = this.systemNow();
      return { get: (c) => ({ id: c, test_clock: null, currency: null }), exists: () => true, nowFor: () => now };
    }
    const ids = [...new Set(customers)];
    const facts = await this.lookup(ids);
    const clocks = new Set<string>();
    for (const f of facts.values()) if (f?.test_clock) clocks.add(f.test_clock);
    const times = new Map<string, number>();
    await Promise.all([...clocks].map(async (c) => times.set(c, await this.clockTime(c))));
    const systemNow = this.systemNow();
    return {
      get: (c) => facts.get(c) ?? null,
      exists: (c) => (facts.get(c) ?? null) !== null,
      nowFor: (c) => {
        const t = facts.get(c)?.test_clock;
        return (t ? times.get(t) : undefined) ?? systemNow;
      },
    };
  }

  private async ask(id: string): Promise<CustomerFacts | null> {
    let c: { id: string; deleted?: boolean; test_clock?: string | { id: string } | null; currency?: string | null };
    try {
      c = await this.rpc!.request('rating', 'customers.retrieve', apiRequest(id), { timeoutMs: this.timeoutMs });
    } catch (e) {
      if (e instanceof DomainError && (e.status === 404 || e.code === 'resource_missing')) return null;
      throw e;
    }
    if (c.deleted) return null;
    const testClock = typeof c.test_clock === 'string' ? c.test_clock : (c.test_clock?.id ?? null);
    return { id: c.id, test_clock: testClock, currency: c.currency ?? null };
  }
}
