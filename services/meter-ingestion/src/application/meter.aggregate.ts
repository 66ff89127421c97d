import { stripeEvent } from '@meterflow/contracts';
import type { AggregateType } from '@meterflow/event-store';
import { newId } from '@meterflow/kernel';
import { meterDecider, type MeterCommand, type MeterEvent, type MeterState } from '../domain/meter.decider.js';
import { toStripeMeter } from '../domain/meter.types.js';
import type { MeterReadModel } from './ports.js';

const STRIPE_TYPE: Record<MeterEvent['type'], string> = {
  MeterCreated: 'billing.meter.created',
  MeterUpdated: 'billing.meter.updated',
  MeterDeactivated: 'billing.meter.deactivated',
  MeterReactivated: 'billing.meter.reactivated',
};

export type MeterAggregate = AggregateType<MeterState, MeterCommand, MeterEvent>;

/**
 * A meter (`meter-<id>`) in the command pipeline: each change is announced as its Stripe event
 * (`billing.meter.*`, the meter after it; an update carries `previous_attributes`) and projected
 * into the `meters` read model in the same transaction.
 */
export function meterAggregate(readModel: Pick<MeterReadModel, 'save'>): MeterAggregate {
  return {
    name: 'meter',
    streamId: (id) => `meter-${id}`,
    decider: meterDecider,
    announce: ({ event, before, after }, ctx) => [
      stripeEvent(newId('event'), STRIPE_TYPE[event.type], toStripeMeter(after!), event.data.at, {
        requestId: ctx.requestId ?? null,
        ...(event.type === 'MeterUpdated' && before ? { previousAttributes: { display_name: before.displayName } } : {}),
      }),
    ],
    project: async (tx, changes) => {
      for (const c of changes) if (c.after) await readModel.save(tx, c.after, c.version);
    },
  };
}
