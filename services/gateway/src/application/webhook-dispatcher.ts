import type { Clock } from '@meterflow/kernel';
import { contextFromTraceparent, SpanKind, withSpan } from '@meterflow/observability';
import { nextAttemptAt, signatureHeader, type RetrySchedule } from '../domain/webhook-delivery.js';
import type { ClaimedDelivery, DeliveryQueue, WebhookSender } from './ports.js';

export interface DispatcherOptions {
  queue: DeliveryQueue;
  sender: WebhookSender;
  clock: Clock;
  schedule: RetrySchedule;
  /** An attempt that has not answered by then has failed (default 10 s, as Stripe). */
  timeoutMs: number;
  /** Attempts in flight per endpoint at most: a slow or dead endpoint holds only its own slots. */
  perEndpoint: number;
  onError?: (e: unknown) => void;
  /** Each recorded attempt's outcome (the gateway counts them in `meterflow_webhook_deliveries_total`). */
  onAttempt?: (outcome: DeliveryOutcome) => void;
}

/** `succeeded`: a 2xx; `failed`: anything else, tried again later; `gave_up`: failed, and the retry window has closed. */
export type DeliveryOutcome = 'succeeded' | 'failed' | 'gave_up';

/**
 * Delivers queued webhooks: each pass leases the due deliveries of every enabled endpoint (up
 * to its free slots) and sends them without waiting; each attempt is recorded and, when it
 * failed, scheduled again with exponential backoff until the retry window closes. Nothing waits
 * on a delivery: not the consumer of MF_EVENTS, not the other endpoints.
 */
export class WebhookDispatcher {
  private readonly inFlight = new Map<string, number>();
  private readonly sends = new Set<Promise<void>>();
  /** Called when a slot frees up (the loop may claim more at once). */
  onSlotFreed: (() => void) | undefined;

  constructor(private readonly o: DispatcherOptions) {}

  /** One pass: claim what is due and start sending it. */
  async tick(): Promise<number> {
    const now = this.o.clock.now();
    const due = await this.o.queue.endpointsWithDueWork(now);
    const slots = due
      .map((endpointId) => ({ endpointId, free: this.o.perEndpoint - (this.inFlight.get(endpointId) ?? 0) }))
      .filter((s) => s.free > 0);
    if (slots.length === 0) return 0;
    // Leased past the attempt's timeout: if this process dies mid-attempt, another retries it after.
    const claimed = await this.o.queue.claim(slots, now, new Date(now.getTime() + this.o.timeoutMs + 30_000));
    for (const d of claimed) this.launch(d);
    return claimed.length;
  }

  /** Resolves when every attempt under way has been recorded (shutdown). */
  async drain(): Promise<void> {
    while (this.sends.size > 0) await Promise.all([...this.sends]);
  }

  private launch(d: ClaimedDelivery): void {
    this.inFlight.set(d.endpointId, (this.inFlight.get(d.endpointId) ?? 0) + 1);
    const p: Promise<void> = this.attempt(d)
      .catch((e: unknown) => this.o.onError?.(e))
      .finally(() => {
        const n = (this.inFlight.get(d.endpointId) ?? 1) - 1;
        if (n <= 0) this.inFlight.delete(d.endpointId);
        else this.inFlight.set(d.endpointId, n);
        this.sends.delete(p);
        this.onSlotFreed?.();
      });
    this.sends.add(p);
  }

  /** Each attempt is a span of the trace of the change the event reports. */
  private attempt(d: ClaimedDelivery): Promise<void> {
    if (!d.traceparent) return this.send(d);
    return withSpan(
      'webhook deliver',
      {
        kind: SpanKind.CLIENT,
        parent: contextFromTraceparent(d.traceparent),
        attributes: { 'meterflow.event_id': d.eventId, 'url.full': d.url },
      },
      () => this.send(d),
    );
  }

  private async send(d: ClaimedDelivery): Promise<void> {
    // The body is the event as published, with `pending_webhooks` as of this attempt.
    const payload = JSON.stringify({ ...(JSON.parse(d.body) as Record<string, unknown>), pending_webhooks: d.pendingWebhooks });
    const started = this.o.clock.now();
    const headers = {
      'content-type': 'application/json; charset=utf-8',
      'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
      'stripe-signature': signatureHeader(payload, d.secrets, Math.floor(started.getTime() / 1000)),
    };
    const r = await this.o.sender.post(d.url, payload, headers, this.o.timeoutMs);
    const at = this.o.clock.now();
    const attempt = { at: started, durationMs: at.getTime() - started.getTime(), status: r.status, error: r.error };
    if (r.status !== null && r.status >= 200 && r.status < 300) {
      await this.o.queue.settle(d, attempt, { succeeded: true });
      this.o.onAttempt?.('succeeded');
      return;
    }
    const next = nextAttemptAt(this.o.schedule, d.attempts + 1, d.firstAttemptAt ?? started, at);
    await this.o.queue.settle(d, attempt, { succeeded: false, next });
    this.o.onAttempt?.(next ? 'failed' : 'gave_up');
  }
}
