import { AlertTriggered, stripeEvent } from '@meterflow/contracts';
import { handleCommand, type PgEventStore } from '@meterflow/event-store';
import { newId, notFound, toUnix, type Clock } from '@meterflow/kernel';
import type { ListParams, StripeList } from '@meterflow/stripe-api';
import {
  decideAlert,
  evolveAlert,
  shouldTrigger,
  toStripeAlert,
  type Alert,
  type AlertCommand,
  type AlertState,
  type AlertStatus,
} from '../domain/alert.decider.js';
import type { AlertRepository } from '../adapters/persistence/alert.repository.js';
import type { EventToStore } from '../adapters/persistence/meter-event.store.js';
import type { MeterCatalog } from './meter-catalog.js';
import type { UsageService } from './usage.service.js';

type StripeAlert = ReturnType<typeof toStripeAlert>;

/** Usage alerts: the aggregate, and evaluation after each committed write. */
export class AlertsService {
  private byMeter = new Map<string, Alert[]>();

  constructor(
    private readonly store: PgEventStore,
    private readonly repo: AlertRepository,
    private readonly catalog: MeterCatalog,
    private readonly usage: UsageService,
    private readonly clock: Clock,
  ) {}

  async refresh(): Promise<void> {
    const next = new Map<string, Alert[]>();
    for (const a of await this.repo.active()) next.set(a.meterId, [...(next.get(a.meterId) ?? []), a]);
    this.byMeter = next;
  }

  async create(input: { title: string; meterId: string; gte: number; customer: string | null }): Promise<StripeAlert> {
    if (!this.catalog.byMeterId(input.meterId)) throw notFound('billing.meter', input.meterId, 'usage_threshold[meter]');
    const id = newId('alert');
    return this.run(id, { type: 'CreateAlert', id, ...input, at: toUnix(this.clock.now()) });
  }

  async setStatus(id: string, status: AlertStatus): Promise<StripeAlert> {
    if (!(await this.repo.get(id))) throw notFound('billing.alert', id);
    return this.run(id, { type: 'SetAlertStatus', status, at: toUnix(this.clock.now()) });
  }

  async retrieve(id: string): Promise<StripeAlert> {
    const a = await this.repo.get(id);
    if (!a) throw notFound('billing.alert', id);
    return toStripeAlert(a);
  }

  async list(meterId: string | undefined, lp: ListParams): Promise<StripeList<StripeAlert>> {
    const page = await this.repo.list(meterId, lp, '/v1/billing/alerts');
    return { ...page, data: page.data.map(toStripeAlert) };
  }

  private async run(id: string, cmd: AlertCommand): Promise<StripeAlert> {
    const alert = await this.store.withTransaction(async (tx) => {
      const r = await handleCommand(
        this.store,
        `alert-${id}`,
        { initialState: (): AlertState => null, evolve: evolveAlert, decide: decideAlert },
        cmd,
        { tx },
      );
      if (r.stored.length) await this.repo.save(tx, r.state!, r.nextVersion);
      return r.state!;
    });
    await this.refresh();
    return toStripeAlert(alert);
  }

  /** After a write: (meter, customer) pairs with active alerts are checked; each fires once per customer. */
  async evaluate(stored: readonly EventToStore[]): Promise<void> {
    if (this.byMeter.size === 0) return;
    const pairs = new Map<string, { meterId: string; customer: string }>();
    for (const e of stored)
      if (this.byMeter.has(e.meterId)) pairs.set(`${e.meterId}|${e.customer}`, { meterId: e.meterId, customer: e.customer });
    if (pairs.size === 0) return;
    const candidates: { alert: Alert; customer: string }[] = [];
    for (const { meterId, customer } of pairs.values())
      for (const alert of this.byMeter.get(meterId) ?? [])
        if (alert.customer === null || alert.customer === customer) candidates.push({ alert, customer });
    const done = await this.repo.triggered(
      [...new Set(candidates.map((c) => c.alert.id))],
      [...new Set(candidates.map((c) => c.customer))],
    );
    const open = candidates.filter((c) => !done.has(`${c.alert.id}|${c.customer}`));
    if (!open.length) return;
    const now = toUnix(this.clock.now());
    const values = await this.usage.aggregate(
      open.map((c, i) => ({
        key: String(i),
        meterId: c.alert.meterId,
        customer: c.customer,
        start: c.alert.created,
        end: now + 3600,
        meter: this.catalog.byMeterId(c.alert.meterId)!,
      })),
    );
    for (const [i, c] of open.entries()) {
      const value = values.get(String(i)) ?? 0n;
      if (!shouldTrigger(c.alert, c.customer, value, false)) continue;
      await this.store.withTransaction(async (tx) => {
        if (!(await this.repo.recordTrigger(tx, c.alert.id, c.customer, value, now))) return;
        await this.store.append(
          `alert-${c.alert.id}`,
          'any',
          [
            AlertTriggered({ customer: c.customer, value: value.toString(), at: now }),
            stripeEvent(
              newId('event'),
              'billing.alert.triggered',
              {
                object: 'billing.alert_triggered',
                alert: toStripeAlert(c.alert),
                created: now,
                customer: c.customer,
                livemode: false,
                value: Number(value),
              },
              now,
            ),
          ],
          { tx },
        );
      });
    }
  }
}
