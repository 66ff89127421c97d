/** Only events received in the last 24 hours can be cancelled. */
export const CANCEL_WINDOW_SECONDS = 86_400;

export function cancellationError(input: { receivedAt: number; now: number; sameMeter: boolean }): string | null {
  if (!input.sameMeter) return 'The meter event with this identifier belongs to a different event_name.';
  if (input.now - input.receivedAt > CANCEL_WINDOW_SECONDS) return 'Only meter events received in the last 24 hours can be cancelled.';
  return null;
}
