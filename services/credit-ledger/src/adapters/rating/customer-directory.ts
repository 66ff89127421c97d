import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, DomainError, notFound, toUnix, type Clock } from '@meterflow/kernel';
import type { ApiRequest } from '@meterflow/contracts';
import type { RpcClient } from '@meterflow/messaging';
import { RPC_CLIENT } from '@meterflow/service-kit';

export interface CustomerRef {
  id: string;
  test_clock: string | null;
}

const request = (id: string): ApiRequest => ({ params: {}, path: { id }, requestId: `req_credit_ledger_${id}`, livemode: false });

/**
 * Rating owns customers and test clocks. A customer's clock never changes, so it is cached;
 * the clock's time is asked each time (it moves when advanced).
 */
@Injectable()
export class CustomerDirectory {
  private readonly clocks = new Map<string, string | null>();

  constructor(
    @Inject(RPC_CLIENT) private readonly rpc: RpcClient,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /** The customer, or Stripe's 404 naming `param`. */
  async customer(id: string, param = 'customer'): Promise<CustomerRef> {
    if (this.clocks.has(id)) return { id, test_clock: this.clocks.get(id) ?? null };
    let c: { id: string; test_clock?: string | { id: string } | null; deleted?: boolean };
    try {
      c = await this.rpc.request('rating', 'customers.retrieve', request(id));
    } catch (e) {
      if (e instanceof DomainError && e.code === 'resource_missing') throw notFound('customer', id, param);
      throw e;
    }
    if (c.deleted) throw notFound('customer', id, param);
    const clock = typeof c.test_clock === 'string' ? c.test_clock : (c.test_clock?.id ?? null);
    this.clocks.set(id, clock);
    return { id, test_clock: clock };
  }

  /** Remember a customer's clock learned elsewhere (an invoice carries it). */
  remember(id: string, testClock: string | null): void {
    this.clocks.set(id, testClock);
  }

  /** "Now" for this customer: the test clock's frozen time, or the system clock. */
  async nowFor(c: CustomerRef): Promise<number> {
    if (!c.test_clock) return toUnix(this.clock.now());
    return this.clockTime(c.test_clock);
  }

  async clockTime(clockId: string): Promise<number> {
    const tc = await this.rpc.request<{ frozen_time: number }>('rating', 'test_clocks.retrieve', request(clockId));
    return tc.frozen_time;
  }

  systemNow(): number {
    return toUnix(this.clock.now());
  }
}
