import { z } from 'zod';
import { defineEvent, eventCatalog, type EventOf } from './core.js';

/**
 * meter-ingestion's events (times in unix seconds). Accepted meter events themselves are not
 * facts of the event store (they go to the partitioned `meter_events` log); what is: a meter's
 * lifecycle (`meter-<id>`), a usage alert's (`alert-<id>`), the cancellations of a meter's events
 * (`meter-adjustments-<meter>`), and the Stripe events (`StripeEventEmitted`, e.g. error reports).
 */
const unix = z.number().int();

// ---- meters ----------------------------------------------------------------------------------

export const MeterCreated = defineEvent(
  'MeterCreated',
  1,
  z.object({
    id: z.string(),
    displayName: z.string(),
    eventName: z.string(),
    formula: z.enum(['sum', 'count', 'last']),
    customerPayloadKey: z.string(),
    valuePayloadKey: z.string(),
    eventTimeWindow: z.enum(['hour', 'day']).nullable(),
    at: unix,
  }),
);
export const MeterUpdated = defineEvent('MeterUpdated', 1, z.object({ displayName: z.string(), at: unix }));
export const MeterDeactivated = defineEvent('MeterDeactivated', 1, z.object({ at: unix }));
export const MeterReactivated = defineEvent('MeterReactivated', 1, z.object({ at: unix }));

export type MeterCreated = EventOf<typeof MeterCreated>;
export type MeterUpdated = EventOf<typeof MeterUpdated>;
export type MeterDeactivated = EventOf<typeof MeterDeactivated>;
export type MeterReactivated = EventOf<typeof MeterReactivated>;
/** What a meter's stream holds (besides `StripeEventEmitted`). Not a usage "meter event". */
export type MeterLifecycleEvent = MeterCreated | MeterUpdated | MeterDeactivated | MeterReactivated;

// ---- meter event adjustments ------------------------------------------------------------------

/** A meter event taken out of usage by a `cancel` adjustment. */
export const MeterEventCancelled = defineEvent(
  'MeterEventCancelled',
  1,
  z.object({
    adjustmentId: z.string(),
    identifier: z.string(),
    meterId: z.string(),
    customer: z.string(),
    /** The cancelled event's value, a decimal string. */
    value: z.string(),
    timestamp: unix,
    at: unix,
  }),
);
export type MeterEventCancelled = EventOf<typeof MeterEventCancelled>;

// ---- usage alerts (`billing.alert`, `usage_threshold`, recurrence `one_time`) -----------------

export const AlertCreated = defineEvent(
  'AlertCreated',
  1,
  z.object({
    id: z.string(),
    title: z.string(),
    meterId: z.string(),
    gte: z.number().int().positive(),
    customer: z.string().nullable(),
    at: unix,
  }),
);
export const AlertStatusChanged = defineEvent(
  'AlertStatusChanged',
  1,
  z.object({ status: z.enum(['active', 'inactive', 'archived']), at: unix }),
);
/** The alert fired for `customer` (once per customer); `value` is the usage then, a decimal string. */
export const AlertTriggered = defineEvent('AlertTriggered', 1, z.object({ customer: z.string(), value: z.string(), at: unix }));

export type AlertCreated = EventOf<typeof AlertCreated>;
export type AlertStatusChanged = EventOf<typeof AlertStatusChanged>;
export type AlertTriggered = EventOf<typeof AlertTriggered>;
export type AlertEvent = AlertCreated | AlertStatusChanged | AlertTriggered;

/** Everything meter-ingestion's event store accepts. */
export const METER_INGESTION_EVENTS = eventCatalog([
  MeterCreated,
  MeterUpdated,
  MeterDeactivated,
  MeterReactivated,
  MeterEventCancelled,
  AlertCreated,
  AlertStatusChanged,
  AlertTriggered,
]);
