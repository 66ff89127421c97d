import type { RpcClient } from '@meterflow/messaging';
import {
  CREDIT_LEDGER_OPS,
  RATING_OPS,
  type ApiRequest,
  type ApplyCreditsManyReply,
  type ApplyCreditsReply,
  type ApplyCreditsRequest,
  PREVIEW_OPS,
  type PreviewCreditsReply,
  type PreviewCreditsRequest,
  type PreviewSubscriptionInvoiceReply,
  type PreviewSubscriptionInvoiceRequest,
  type RatePeriodReply,
  type RatePeriodRequest,
  type RatePeriodsReply,
  type RpcReply,
  type Stripe,
} from '@meterflow/contracts';
import { DomainError, newId, notFound } from '@meterflow/kernel';
import type { Peers, PreviewPeers, PriceInfo } from '../../application/ports.js';

const api = (id: string): ApiRequest => ({ params: {}, path: { id }, requestId: newId('request'), livemode: false });

/** The other services, over NATS request/reply (customers and clocks: `CustomerDirectory`). */
export class RpcPeers implements Peers, PreviewPeers {
  constructor(private readonly rpc: RpcClient) {}

  async price(id: string): Promise<PriceInfo> {
    let p: Stripe.Price;
    try {
      p = await this.rpc.request<Stripe.Price>('rating', 'prices.retrieve', api(id));
    } catch (e) {
      if (e instanceof DomainError && e.code === 'resource_missing') throw notFound('price', id, 'pricing[price]');
      throw e;
    }
    return {
      id: p.id,
      currency: p.currency,
      product: typeof p.product === 'string' ? p.product : p.product.id,
      unit_amount_decimal:
        p.unit_amount_decimal != null ? String(p.unit_amount_decimal) : p.unit_amount !== null ? String(p.unit_amount) : null,
      meter: p.recurring?.meter ?? null,
    };
  }

  ratePeriod(req: RatePeriodRequest): Promise<RatePeriodReply> {
    return this.rpc.request<RatePeriodReply>('rating', RATING_OPS.ratePeriod, req);
  }

  applyCredits(req: ApplyCreditsRequest): Promise<ApplyCreditsReply> {
    return this.rpc.request<ApplyCreditsReply>('credit-ledger', CREDIT_LEDGER_OPS.applyCredits, req);
  }

  previewSubscriptionInvoice(req: PreviewSubscriptionInvoiceRequest): Promise<PreviewSubscriptionInvoiceReply> {
    return this.rpc.request<PreviewSubscriptionInvoiceReply>('rating', PREVIEW_OPS.previewInvoice, req);
  }

  previewCredits(req: PreviewCreditsRequest): Promise<PreviewCreditsReply> {
    return this.rpc.request<PreviewCreditsReply>('credit-ledger', PREVIEW_OPS.previewCredits, req);
  }

  async ratePeriods(reqs: readonly RatePeriodRequest[]): Promise<RpcReply<RatePeriodReply>[]> {
    const out: RpcReply<RatePeriodReply>[] = [];
    for (const chunk of chunks(reqs))
      out.push(...(await this.rpc.request<RatePeriodsReply>('rating', RATING_OPS.ratePeriods, { requests: chunk })).results);
    return out;
  }

  async applyCreditsMany(reqs: readonly ApplyCreditsRequest[]): Promise<RpcReply<ApplyCreditsReply>[]> {
    // In order, one chunk after the other: invoices of one customer draw on its balance in turn.
    const out: RpcReply<ApplyCreditsReply>[] = [];
    for (const chunk of chunks(reqs))
      out.push(
        ...(await this.rpc.request<ApplyCreditsManyReply>('credit-ledger', CREDIT_LEDGER_OPS.applyCreditsMany, { requests: chunk }))
          .results,
      );
    return out;
  }
}

/** Batch ops take at most 500 requests. */
function chunks<T>(items: readonly T[], size = 500): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
