import type { CommandPipeline } from '@meterflow/event-store';
import { notFound, toUnix, newId, type Clock } from '@meterflow/kernel';
import type { ListParams, StripeList } from '@meterflow/stripe-api';
import { shouldTrigger, toStripeAlert, type Alert, type AlertCommand, type AlertStatus } from '../domain/alert.decider.js';
import { alertAggregate, type AlertAggregate } from './alert.aggregate.js';
import type { MeterCatalog } from './meter-catalog.js';
import type { AlertReadModel, EventToStore } from './ports.js';
import type { UsageService } from './usage.service.js';

type StripeAlert = ReturnType<typeof toStripeAlert>;

/** Usage alerts: the aggregate, and evaluation after each committed write. */
export class AlertsService {
  private byMeter = new Map<string, Alert[]>();
  private readonly alert: AlertAggregate;

  constructor(
    private readonly pipeline: CommandPipeline,
    private readonly repo: AlertReadModel,
    private readonly catalog: MeterCatalog,
    private readonly usage: UsageService,
    private readonly clock: Clock,
  ) {
    this.alert = alertAggregate(repo);
  }

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
    const { state } = await this.pipeline.handle(this.alert, id, cmd);
    await this.refresh();
    return toStripeAlert(state!);
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
      // The alert as it is now decides (it may have been deactivated since the cache was read);
      // the trigger record makes it fire once per customer, even across replicas.
      await this.pipeline.run(async (uow) => {
        await uow.preload(this.alert, [c.alert.id]);
        const undo = uow.checkpoint();
        const { events } = uow.executeLoaded(this.alert, c.alert.id, { type: 'TriggerAlert', customer: c.customer, value, at: now });
        if (events.length > 0 && !(await this.repo.recordTrigger(uow.tx, c.alert.id, c.customer, value, now))) undo();
      });
    }
  }
}
