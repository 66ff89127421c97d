import { stripeEvent } from '@meterflow/contracts';
import type { AggregateType } from '@meterflow/event-store';
import { newId } from '@meterflow/kernel';
import { alertDecider, toStripeAlert, type AlertCommand, type AlertDecided, type AlertState } from '../domain/alert.decider.js';
import type { AlertReadModel } from './ports.js';

export type AlertAggregate = AggregateType<AlertState, AlertCommand, AlertDecided>;

/**
 * A usage alert (`alert-<id>`) in the command pipeline: a trigger is announced as
 * `billing.alert.triggered` (creation and status changes have no Stripe event); every change is
 * projected into the `alerts` read model in the same transaction.
 */
export function alertAggregate(readModel: Pick<AlertReadModel, 'save'>): AlertAggregate {
  return {
    name: 'alert',
    streamId: (id) => `alert-${id}`,
    decider: alertDecider,
    announce: ({ event, after }) =>
      event.type === 'AlertTriggered'
        ? [
            stripeEvent(
              newId('event'),
              'billing.alert.triggered',
              {
                object: 'billing.alert_triggered',
                alert: toStripeAlert(after!),
                created: event.data.at,
                customer: event.data.customer,
                livemode: false,
                value: Number(event.data.value),
              },
              event.data.at,
            ),
          ]
        : [],
    project: async (tx, changes) => {
      for (const c of changes) if (c.after) await readModel.save(tx, c.after, c.version);
    },
  };
}
