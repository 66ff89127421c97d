import { describe, expect, it } from 'vitest';
import type { Clock } from '@meterflow/kernel';
import { WebhookDispatcher, type DeliveryOutcome } from '../src/application/webhook-dispatcher.js';
import type { ClaimedDelivery, DeliveryQueue, WebhookSender } from '../src/application/ports.js';

/** The dispatcher over in-memory ports: which outcome each attempt reports (the gateway counts them on /metrics). */
function dispatcher(statuses: (number | null)[], delivery: Partial<ClaimedDelivery>) {
  let now = new Date('2026-01-01T00:00:00Z');
  const clock: Clock = { now: () => now };
  const settled: unknown[] = [];
  const queue: DeliveryQueue = {
    endpointsWithDueWork: async () => ['we_1'],
    claim: async () => [
      {
        eventId: 'evt_1',
        endpointId: 'we_1',
        url: 'http://x/h',
        secrets: ['whsec_1'],
        body: '{"id":"evt_1"}',
        attempts: 0,
        firstAttemptAt: null,
        pendingWebhooks: 1,
        traceparent: null,
        ...delivery,
      },
    ],
    settle: async (_d, _a, outcome) => void settled.push(outcome),
  };
  const sender: WebhookSender = {
    post: async () => {
      now = new Date(now.getTime() + 100);
      const status = statuses.shift() ?? null;
      return { status, error: status === null ? 'timeout' : null };
    },
  };
  const outcomes: DeliveryOutcome[] = [];
  const d = new WebhookDispatcher({
    queue,
    sender,
    clock,
    timeoutMs: 1000,
    perEndpoint: 1,
    schedule: { firstDelayMs: 1000, factor: 2, maxDelayMs: 60_000, windowMs: 10 * 60_000 },
    onAttempt: (o) => outcomes.push(o),
  });
  return { d, outcomes, settled };
}

describe('webhook dispatcher outcomes', () => {
  it('reports succeeded for a 2xx, failed for anything else while the retry window is open', async () => {
    for (const [status, outcome] of [
      [204, 'succeeded'],
      [500, 'failed'],
      [null, 'failed'],
    ] as const) {
      const { d, outcomes } = dispatcher([status], {});
      await d.tick();
      await d.drain();
      expect(outcomes).toEqual([outcome]);
    }
  });

  it('reports gave_up once the retry window has closed', async () => {
    const { d, outcomes, settled } = dispatcher([503], { attempts: 7, firstAttemptAt: new Date('2025-12-31T23:50:00Z') });
    await d.tick();
    await d.drain();
    expect(outcomes).toEqual(['gave_up']);
    expect(settled).toEqual([{ succeeded: false, next: null }]);
  });
});
