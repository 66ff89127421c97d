import type { Msg, Subscription } from '@nats-io/transport-node';
import type { ApiRequest, CreateSubscriptionInvoiceRequest, UsageQueryRequest } from '@meterflow/contracts';
import { encodeJson } from '@meterflow/messaging';
import type { ServiceUnderTest } from '@meterflow/service-kit';

export interface UsageEvent {
  meter: string;
  customer: string;
  ts: number;
  value: number;
}

/**
 * Rating's peers stood in for by NATS responders on their real subjects: meter-ingestion
 * (`meters.retrieve`, `usage.query` summing `usage`), invoicing (`subscription_invoices.create`
 * and `create_many`, idempotent by key, collecting `invoices`) and both as clock participants.
 */
export class PeerStubs {
  readonly usage: UsageEvent[] = [];
  readonly invoices: CreateSubscriptionInvoiceRequest[] = [];
  /** `<service>@<to>` for every `clock.advance_to` received. */
  readonly clockCalls: string[] = [];
  usageQueries = 0;
  /** While true, invoicing answers every hand-over with a 503 (unavailable, e.g. its Postgres is down). */
  invoicingDown = false;
  /** While true, invoicing answers every hand-over with a 500 (a bug: not something to wait out). */
  invoicingBroken = false;
  /** How many more `clock.advance_to` calls invoicing answers `done: false` (work left, ask again). */
  invoicingStepsLeft = 0;
  private readonly subs: Subscription[] = [];

  start(svc: ServiceUnderTest): void {
    const respond = (subject: string, fn: (data: any) => unknown) =>
      this.subs.push(
        svc.nc.subscribe(subject, {
          callback: (_e: Error | null, m: Msg) => {
            try {
              m.respond(encodeJson({ ok: true, result: fn(m.json()) }));
            } catch (e) {
              const shape = (e as { shape?: unknown }).shape ?? { type: 'api_error', message: (e as Error).message, status: 503 };
              m.respond(encodeJson({ ok: false, error: shape }));
            }
          },
        }),
      );
    const ingestion = (op: string) => svc.names.rpcSubject('meter-ingestion', op);
    const invoicing = (op: string) => svc.names.rpcSubject('invoicing', op);
    respond(ingestion('meters.retrieve'), (r: ApiRequest) => {
      const id = r.path.id!;
      if (id === 'mtr_missing')
        throw Object.assign(new Error('missing'), {
          shape: { type: 'invalid_request_error', code: 'resource_missing', message: `No such billing.meter: '${id}'`, status: 404 },
        });
      return { id, object: 'billing.meter' };
    });
    respond(ingestion('usage.query'), (r: UsageQueryRequest) => {
      this.usageQueries++;
      const results: Record<string, { value: string; formula: 'sum' }> = {};
      for (const q of r.queries) {
        const sum = this.usage
          .filter((e) => e.meter === q.meter && e.customer === q.customer && e.ts >= q.start && e.ts < q.end)
          .reduce((a, e) => a + e.value, 0);
        results[q.key] = { value: String(sum), formula: 'sum' };
      }
      return { results };
    });
    const createInvoice = (r: CreateSubscriptionInvoiceRequest) => {
      if (this.invoicingDown) throw new Error('invoicing down');
      if (this.invoicingBroken)
        throw Object.assign(new Error('broken'), { shape: { type: 'api_error', code: 'internal', message: 'broken', status: 500 } });
      if (!this.invoices.some((x) => x.idempotency_key === r.idempotency_key)) this.invoices.push(r);
      return { id: `in_${r.idempotency_key.replace(/[^A-Za-z0-9]/g, '')}`, object: 'invoice' };
    };
    respond(invoicing('subscription_invoices.create'), createInvoice);
    respond(invoicing('subscription_invoices.create_many'), (b: { requests: CreateSubscriptionInvoiceRequest[] }) => ({
      results: b.requests.map((r) => ({ ok: true, result: { id: createInvoice(r).id } })),
    }));
    for (const service of ['meter-ingestion', 'invoicing'] as const) {
      respond(svc.names.rpcSubject(service, 'clock.next_due'), () => ({ at: null }));
      respond(svc.names.rpcSubject(service, 'clock.advance_to'), (r: { to: number }) => {
        this.clockCalls.push(`${service}@${r.to}`);
        if (service === 'invoicing' && this.invoicingStepsLeft > 0) {
          this.invoicingStepsLeft--;
          return { done: false };
        }
        return { done: true };
      });
    }
  }

  close(): void {
    for (const s of this.subs) s.unsubscribe();
    this.subs.length = 0;
  }
}
