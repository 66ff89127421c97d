import type { ApplyCreditsReply, ApplyCreditsRequest, RatePeriodReply, RatePeriodRequest, RpcReply } from '@meterflow/contracts';

/** What invoicing needs from the other services (implemented over NATS request/reply). */
export interface CustomerInfo {
  id: string;
  test_clock: string | null;
  currency: string | null;
}
export interface PriceInfo {
  id: string;
  currency: string;
  product: string;
  unit_amount_decimal: string | null;
  meter: string | null;
}
export interface Peers {
  customer(id: string): Promise<CustomerInfo>;
  /** The frozen time of a test clock (unix seconds). */
  clockTime(clock: string): Promise<number>;
  price(id: string): Promise<PriceInfo>;
  ratePeriod(req: RatePeriodRequest): Promise<RatePeriodReply>;
  applyCredits(req: ApplyCreditsRequest): Promise<ApplyCreditsReply>;
  /** `billing.rate_periods`: one answer per request, in order (any number; sent in chunks). */
  ratePeriods(reqs: readonly RatePeriodRequest[]): Promise<RpcReply<RatePeriodReply>[]>;
  /** `credits.apply_many`: one answer per request, in order (any number; sent in chunks, in order). */
  applyCreditsMany(reqs: readonly ApplyCreditsRequest[]): Promise<RpcReply<ApplyCreditsReply>[]>;
}
export const PEERS = Symbol('PEERS');

export interface InvoicingSettings {
  /** Grace between a draft's creation and its automatic finalization (seconds). */
  graceSeconds: number;
}
export const INVOICING_SETTINGS = Symbol('INVOICING_SETTINGS');
