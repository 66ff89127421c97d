import { z } from 'zod';
import { defineEvent } from '@meterflow/contracts';

/** A meter event taken out of usage by a `cancel` adjustment. */
export const MeterEventCancelled = defineEvent(
  'MeterEventCancelled',
  1,
  z.object({
    adjustmentId: z.string(),
    identifier: z.string(),
    meterId: z.string(),
    customer: z.string(),
    value: z.string(),
    timestamp: z.number().int(),
    at: z.number().int(),
  }),
);

/** Only events received in the last 24 hours can be cancelled. */
export const CANCEL_WINDOW_SECONDS = 86_400;

export function cancellationError(input: { receivedAt: number; now: number; sameMeter: boolean }): string | null {
  if (!input.sameMeter) return 'The meter event with this identifier belongs to a different event_name.';
  if (input.now - input.receivedAt > CANCEL_WINDOW_SECONDS) return 'Only meter events received in the last 24 hours can be cancelled.';
  return null;
}
