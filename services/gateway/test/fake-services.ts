import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { IDEMPOTENT_REPLAY_OBJECT, type ApiRequest, type RpcReply } from '@meterflow/contracts';
import { DomainError, newId, notFound } from '@meterflow/kernel';
import { pageInMemory, parseListParams } from '@meterflow/stripe-api';

type Obj = Record<string, unknown>;

/**
 * Stand-ins for the rating and meter-ingestion services, answering on the real broker exactly
 * like a Nest service would (`mf.rpc.<service>.<op>`, `RpcReply` envelope). They record what
 * reached them, so tests can check what the gateway forwarded.
 */
export class FakeServices {
  readonly received: { op: string; req: ApiRequest }[] = [];
  readonly objects = new Map<string, Obj>();
  private readonly subs: Subscription[] = [];

  constructor(
    private readonly nc: NatsConnection,
    private readonly namespace: string,
  ) {}

  start(): void {
    const prefix = `${this.namespace}.mf.rpc.`;
    // Only the services these tests stand in for; others have no responder (503).
    for (const svc of ['rating', 'meter_ingestion']) {
      const sub = this.nc.subscribe(`${prefix}${svc}.>`);
      this.subs.push(sub);
      void (async () => {
        for await (const msg of sub) {
          const op = msg.subject.slice(`${prefix}${svc}.`.length);
          const req = msg.json<ApiRequest>();
          this.received.push({ op, req });
          let reply: RpcReply;
          try {
            reply = { ok: true, result: await this.handle(op, req) };
          } catch (e) {
            reply =
              e instanceof DomainError
                ? { ok: false, error: e.toShape() }
                : { ok: false, error: { type: 'api_error', message: 'An unknown error occurred', status: 500 } };
          }
          msg.respond(JSON.stringify(reply));
        }
      })();
    }
  }

  lastOf(op: string): ApiRequest | undefined {
    return this.received.filter((r) => r.op === op).at(-1)?.req;
  }

  countOf(op: string): number {
    return this.received.filter((r) => r.op === op).length;
  }

  private put(o: Obj): Obj {
    this.objects.set(o.id as string, o);
    return o;
  }

  private async handle(op: string, req: ApiRequest): Promise<unknown> {
    const p = req.params;
    switch (op) {
      case 'customers.create':
        return this.put({
          id: newId('customer'),
          object: 'customer',
          name: p.name ?? null,
          metadata: p.metadata ?? {},
          test_clock: p.test_clock ?? null,
        });
      case 'customers.retrieve':
      case 'test_clocks.retrieve':
      case 'prices.retrieve':
      case 'subscriptions.retrieve': {
        const o = this.objects.get(req.path.id!);
        if (!o) throw notFound(op.split('.')[0]!.replace(/s$/, ''), req.path.id!);
        return o;
      }
      case 'customers.list': {
        const all = [...this.objects.values()].filter((o) => o.object === 'customer').sort((a, b) => (a.id! < b.id! ? 1 : -1));
        return pageInMemory(all, parseListParams(p), '/v1/customers', (o) => o.id as string);
      }
      case 'test_clocks.create':
        return this.put({ id: newId('testClock'), object: 'test_helpers.test_clock', frozen_time: Number(p.frozen_time) });
      case 'subscriptions.create':
        return this.put({ id: newId('subscription'), object: 'subscription', customer: p.customer, test_clock: null });
      case 'products.create':
        // Slow on purpose: lets a test send the same key while the first request runs.
        await new Promise((r) => setTimeout(r, 400));
        return this.put({ id: newId('product'), object: 'product', name: p.name });
      case 'prices.create':
        throw new Error('boom');
      case 'meter_events.create':
        if (p.event_name === 'dup') throw new DomainError('duplicate_meter_event', 'An event already exists with identifier x.');
        // What ingestion answers to a repeat of a keyed request (ApiRoute.idempotency 'service').
        if (p.event_name === 'replayed')
          return { object: IDEMPOTENT_REPLAY_OBJECT, status: 200, body: '{"object":"billing.meter_event","identifier":"first"}' };
        return { object: 'billing.meter_event', event_name: p.event_name, payload: p.payload, identifier: p.identifier ?? 'gen' };
      case 'v2.meter_event_session.create':
        return {
          id: 'mtr_session_1',
          object: 'v2.billing.meter_event_session',
          authentication_token: 'sess_good',
          created: '2026-01-01T00:00:00.000Z',
          expires_at: '2026-01-01T00:15:00.000Z',
          livemode: false,
        };
      case 'v2.meter_event_stream.create':
        if (req.sessionToken !== 'sess_good') {
          throw new DomainError('billing_meter_event_session_expired', 'The meter event session has expired.', { status: 401 });
        }
        return {};
      default:
        throw new DomainError('not_implemented', `fake has no ${op}`, { status: 501, type: 'api_error' });
    }
  }

  stop(): void {
    for (const s of this.subs) s.unsubscribe();
  }
}
