import type { CommandPipeline } from '@meterflow/event-store';
import { DomainError, newId, notFound, toUnix, type Clock } from '@meterflow/kernel';
import type { ListParams, StripeList } from '@meterflow/stripe-api';
import type { MeterCommand } from '../domain/meter.decider.js';
import { toStripeMeter, type Meter, type StripeMeter } from '../domain/meter.types.js';
import { meterAggregate, type MeterAggregate } from './meter.aggregate.js';
import type { MeterCatalog } from './meter-catalog.js';
import type { MeterReadModel } from './ports.js';

type CreateInput = Omit<Extract<MeterCommand, { type: 'CreateMeter' }>, 'type' | 'id' | 'at'>;

/** Meter commands through the command pipeline (load -> decide -> append with the Stripe event -> project); reads from the read model. */
export class MetersService {
  private readonly meter: MeterAggregate;

  constructor(
    private readonly pipeline: CommandPipeline,
    private readonly repo: MeterReadModel,
    private readonly catalog: MeterCatalog,
    private readonly clock: Clock,
  ) {
    this.meter = meterAggregate(repo);
  }

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
    try {
      const meter = await this.pipeline.run(
        async (uow) => {
          if (cmd.type !== 'CreateMeter' && !(await uow.load(this.meter, id))) throw notFound('billing.meter', id);
          return (await uow.execute(this.meter, id, cmd)).state as Meter;
        },
        { requestId },
      );
      this.catalog.put(meter);
      return toStripeMeter(meter);
    } catch (e) {
      if ((e as { code?: string }).code === '23505' && cmd.type === 'CreateMeter')
        throw new DomainError('parameter_invalid', `A meter with event_name '${cmd.eventName}' already exists.`, { param: 'event_name' });
      throw e;
    }
  }
}
