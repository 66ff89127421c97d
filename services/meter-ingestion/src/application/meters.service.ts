import { stripeEvent } from '@meterflow/contracts';
import { handleCommand, type PgEventStore } from '@meterflow/event-store';
import { DomainError, newId, notFound, toUnix, type Clock } from '@meterflow/kernel';
import type { ListParams, StripeList } from '@meterflow/stripe-api';
import { decideMeter, evolveMeter, type MeterCommand, type MeterState } from '../domain/meter.decider.js';
import { toStripeMeter, type Meter, type StripeMeter } from '../domain/meter.types.js';
import type { MeterRepository } from '../adapters/persistence/meter.repository.js';
import type { MeterCatalog } from './meter-catalog.js';

type CreateInput = Omit<Extract<MeterCommand, { type: 'CreateMeter' }>, 'type' | 'id' | 'at'>;

const STRIPE_TYPE: Record<MeterCommand['type'], string> = {
  CreateMeter: 'billing.meter.created',
  UpdateMeter: 'billing.meter.updated',
  DeactivateMeter: 'billing.meter.deactivated',
  ReactivateMeter: 'billing.meter.reactivated',
};

/** Meter commands: load -> decide -> append (with the Stripe event) -> project, in one transaction. */
export class MetersService {
  constructor(
    private readonly store: PgEventStore,
    private readonly repo: MeterRepository,
    private readonly catalog: MeterCatalog,
    private readonly clock: Clock,
  ) {}

  create(input: CreateInput, requestId: string | null): Promise<StripeMeter> {
    return this.run(newId('meter'), { type: 'CreateMeter', id: '', at: 0, ...input }, requestId);
  }

  async update(id: string, displayName: string | undefined, requestId: string | null): Promise<StripeMeter> {
    return this.run(id, { type: 'UpdateMeter', at: 0, ...(displayName !== undefined ? { displayName } : {}) }, requestId);
  }

  deactivate(id: string, requestId: string | null): Promise<StripeMeter> {
    return this.run(id, { type: 'DeactivateMeter', at: 0 }, requestId);
  }

  reactivate(id: string, requestId: string | null): Promise<StripeMeter> {
    return this.run(id, { type: 'ReactivateMeter', at: 0 }, requestId);
  }

  async retrieve(id: string): Promise<StripeMeter> {
    const m = await this.repo.get(id);
    if (!m) throw notFound('billing.meter', id);
    return toStripeMeter(m);
  }

  async list(status: 'active' | 'inactive' | undefined, lp: ListParams): Promise<StripeList<StripeMeter>> {
    const page = await this.repo.list(status, lp, '/v1/billing/meters');
    return { ...page, data: page.data.map(toStripeMeter) };
  }

  private async run(id: string, command: MeterCommand, requestId: string | null): Promise<StripeMeter> {
    const at = toUnix(this.clock.now());
    const cmd = { ...command, at, ...(command.type === 'CreateMeter' ? { id } : {}) } as MeterCommand;
    const streamId = `meter-${id}`;
    if (cmd.type !== 'CreateMeter' && !(await this.repo.get(id))) throw notFound('billing.meter', id);
    try {
      const result = await this.store.withTransaction(async (tx) => {
        const r = await handleCommand(
          this.store,
          streamId,
          {
            initialState: (): MeterState => null,
            evolve: evolveMeter,
            decide: (c: MeterCommand, state: MeterState) => {
              const events = decideMeter(c, state);
              if (events.length === 0) return [];
              const next = events.reduce(evolveMeter, state) as Meter;
              const previous = c.type === 'UpdateMeter' && state ? { display_name: state.displayName } : undefined;
              return [
                ...events,
                stripeEvent(newId('event'), STRIPE_TYPE[c.type], toStripeMeter(next), at, {
                  requestId,
                  ...(previous ? { previousAttributes: previous } : {}),
                }),
              ];
            },
          },
          cmd,
          { tx },
        );
        const meter = r.state as Meter;
        if (r.stored.length) await this.repo.save(tx, meter, r.nextVersion);
        return meter;
      });
      this.catalog.put(result);
      return toStripeMeter(result);
    } catch (e) {
      if ((e as { code?: string }).code === '23505' && cmd.type === 'CreateMeter')
        throw new DomainError('parameter_invalid', `A meter with event_name '${cmd.eventName}' already exists.`, { param: 'event_name' });
      throw e;
    }
  }
}
