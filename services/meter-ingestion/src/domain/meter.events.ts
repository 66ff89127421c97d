import { z } from 'zod';
import { defineEvent, type EventOf } from '@meterflow/contracts';

// Meter domain events. They belong in libs/contracts per STYLE.md; kept here until contracts
// takes them (the shapes are this service's own stream, not a cross-service contract yet).
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
    at: z.number().int(),
  }),
);
export const MeterUpdated = defineEvent('MeterUpdated', 1, z.object({ displayName: z.string(), at: z.number().int() }));
export const MeterDeactivated = defineEvent('MeterDeactivated', 1, z.object({ at: z.number().int() }));
export const MeterReactivated = defineEvent('MeterReactivated', 1, z.object({ at: z.number().int() }));

export type MeterEvent =
  | EventOf<typeof MeterCreated>
  | EventOf<typeof MeterUpdated>
  | EventOf<typeof MeterDeactivated>
  | EventOf<typeof MeterReactivated>;
