import { MeterEventCancelled } from '@meterflow/contracts';
import type { CommandPipeline } from '@meterflow/event-store';
import { DomainError, newId, toUnix, type Clock } from '@meterflow/kernel';
import { cancellationError } from '../domain/adjustment.js';
import type { MeterCatalog } from './meter-catalog.js';
import type { UsageAdjuster } from './ports.js';

export interface CancelResult {
  id: string;
  created: number;
  eventName: string;
  identifier: string;
}

/** `cancel` adjustments: the event leaves every summary and usage query (rollups corrected exactly). */
export class AdjustmentsService {
  constructor(
    private readonly pipeline: CommandPipeline,
    private readonly events: UsageAdjuster,
    private readonly catalog: MeterCatalog,
    private readonly clock: Clock,
  ) {}

  async cancel(eventName: string, identifier: string): Promise<CancelResult> {
    const meter = this.catalog.forEventName(eventName);
    if (!meter)
      throw new DomainError('invalid_cancel_configuration', `No meter was found for event_name '${eventName}'.`, { param: 'event_name' });
    const rec = await this.events.findIdentifier(identifier);
    const now = toUnix(this.clock.now());
    if (!rec)
      throw new DomainError(
        'invalid_cancel_configuration',
        `No meter event with identifier '${identifier}' was received in the last 24 hours.`,
        {
          param: 'cancel[identifier]',
        },
      );
    const problem = cancellationError({ receivedAt: rec.receivedAt, now, sameMeter: rec.meterId === meter.id });
    if (problem) throw new DomainError('invalid_cancel_configuration', problem, { param: 'cancel[identifier]' });
    const id = newId('meterEventAdjustment');
    // The usage correction and the fact, in one unit (a fact on the meter's adjustment stream: no aggregate decides it).
    await this.pipeline.run(async (uow) => {
      const changed = await this.events.cancel(uow.tx, rec, meter.eventTimeWindow, now);
      if (!changed) return; // already cancelled: the adjustment is complete, nothing more to record
      uow.record(`meter-adjustments-${meter.id}`, 'any', [
        MeterEventCancelled({
          adjustmentId: id,
          identifier,
          meterId: meter.id,
          customer: rec.customer,
          value: rec.value.toString(),
          timestamp: rec.ts,
          at: now,
        }),
      ]);
    });
    return { id, created: now, eventName, identifier };
  }
}
