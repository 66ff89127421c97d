import { DomainError, storableText, toUnix, type Clock } from '@meterflow/kernel';
import { IDEMPOTENT_REPLAY_OBJECT, type IdempotencyClaimRequest, type IdempotentReplay } from '@meterflow/contracts';
import type { CustomerDirectory } from '@meterflow/rating-client';
import { decideIdempotency, idempotencyKeyInUse } from '@meterflow/stripe-api';
import { buildErrorReports } from '../domain/error-report.js';
import {
  decodeMeterEvent,
  validateMeterEvent,
  type AcceptedMeterEvent,
  type MeterErrorCode,
  type MeterEventInput,
  type MeterEventRejection,
  type ValidationResult,
} from '../domain/meter-event.validation.js';
import type { MeterCatalog } from './meter-catalog.js';
import type { DeadLetter, Rejections } from './ports.js';
import type { WriteQueue } from './write-queue.js';
import { ingestEvents } from './ingest.metrics.js';

/** One event from the asynchronous paths (NATS ingest, v2 stream), with where it came from. */
export interface IngestItem {
  raw: unknown;
  /** Used when the event has no identifier: deterministic, so a redelivery dedupes. */
  fallbackIdentifier: string;
  subject: string;
  messageId: string | null;
}

export interface SubmitOrder {
  /** Resolves when the previous batch has been handed to the writer. */
  after?: Promise<void>;
  /** Called once this batch has been handed to the writer (or failed). */
  submitted?: () => void;
}

export interface IngestSummary {
  accepted: number;
  duplicates: number;
  rejected: number;
}

const DECODE_REPORT_CODE = (param: string): MeterErrorCode =>
  param === 'event_name' ? 'no_meter' : param === 'payload' ? 'meter_event_no_customer_defined' : 'meter_event_invalid_value';

/** Accepting meter events: one validation core and one writer for the three paths. */
export class IngestService {
  constructor(
    private readonly catalog: MeterCatalog,
    private readonly directory: CustomerDirectory,
    private readonly queue: WriteQueue,
    private readonly rejections: Rejections,
    private readonly clock: Clock,
  ) {}

  /** Validate decoded events against meters, customers and each customer's "now". */
  async validate(inputs: readonly { input: MeterEventInput; fallbackIdentifier: () => string }[]): Promise<ValidationResult[]> {
    const customers = new Set<string>();
    for (const { input } of inputs) {
      const m = this.catalog.forEventName(input.eventName);
      const c = m && input.payload[m.customerPayloadKey];
      if (c) customers.add(c);
    }
    const view = await this.directory.resolve(customers);
    return inputs.map(({ input, fallbackIdentifier }) =>
      validateMeterEvent(input, {
        meterFor: (n) => this.catalog.forEventName(n),
        nowFor: view.nowFor,
        customerExists: view.exists,
        newIdentifier: fallbackIdentifier,
      }),
    );
  }

  /**
   * The synchronous paths (v1 and v2 `meter_events`): stored and counted and answered with
   * `respond(event)`, or a Stripe error. With the request's Idempotency-Key `claim`, the key and
   * that answer are stored in the event's transaction; a repeat of the request is not stored
   * again and gets the stored answer back (an `IdempotentReplay` for the gateway), a reuse of
   * the key with other parameters an `idempotency_error`, a key in use a 409.
   */
  async recordOne<R>(
    raw: unknown,
    format: 'v1' | 'v2',
    newIdentifier: () => string,
    respond: (e: AcceptedMeterEvent) => R,
    claim?: IdempotencyClaimRequest,
  ): Promise<R | IdempotentReplay> {
    const decoded = decodeMeterEvent(raw, format);
    if (!decoded.ok)
      throw new DomainError(decoded.message.startsWith('Missing') ? 'parameter_missing' : 'parameter_invalid', decoded.message, {
        param: decoded.param,
      });
    const [result] = await this.validate([{ input: decoded.input, fallbackIdentifier: newIdentifier }]);
    if (!result!.ok) {
      const r = result!.rejection;
      throw new DomainError(r.code, r.message, r.param ? { param: r.param } : {});
    }
    const event = result!.event;
    const answer = respond(event);
    const keyed = claim && { ...claim, status: 200, body: JSON.stringify(answer) };
    const [outcome] = await this.queue.submitWithOutcomes([keyed ? { ...event, keyed } : event]);
    switch (outcome!.kind) {
      case 'stored':
        return answer;
      case 'duplicate':
        throw new DomainError('duplicate_meter_event', `An event already exists with identifier ${event.identifier}.`, {
          param: 'identifier',
        });
      case 'key_in_flight':
        throw idempotencyKeyInUse();
      case 'key_taken': {
        const d = decideIdempotency(claim!, outcome!.record, this.clock.now());
        if (d.kind === 'replay') return { object: IDEMPOTENT_REPLAY_OBJECT, status: d.status, body: d.body };
        if (d.kind === 'error') throw d.error;
        // Past 24 h by this clock but not yet by Postgres's: a moment's overlap, retried as in use.
        throw idempotencyKeyInUse();
      }
    }
  }

  /**
   * The asynchronous paths: valid events are stored (duplicates silently dropped), invalid ones
   * become dead letters plus Stripe error reports. Resolves once everything is committed.
   */
  async ingest(items: readonly IngestItem[], order: SubmitOrder = {}): Promise<IngestSummary> {
    try {
      return await this.ingestInOrder(items, order);
    } finally {
      order.submitted?.();
    }
  }

  private async ingestInOrder(items: readonly IngestItem[], order: SubmitOrder): Promise<IngestSummary> {
    const started = this.clock.now();
    const rejected: { item: IngestItem; rejection: MeterEventRejection }[] = [];
    const toValidate: { item: IngestItem; input: MeterEventInput }[] = [];
    for (const item of items) {
      const d = decodeMeterEvent(item.raw, 'ingest');
      if (d.ok) toValidate.push({ item, input: d.input });
      else {
        const eventName =
          typeof (item.raw as { event_name?: unknown })?.event_name === 'string'
            ? storableText((item.raw as { event_name: string }).event_name)
            : null;
        rejected.push({
          item,
          rejection: {
            code: 'parameter_invalid',
            reportCode: d.reportCode ?? DECODE_REPORT_CODE(d.param),
            message: d.message,
            param: d.param,
            meterId: (eventName && this.catalog.forEventName(eventName)?.id) ?? null,
            eventName,
            identifier: d.identifier ?? item.fallbackIdentifier,
          },
        });
      }
    }
    const results = await this.validate(
      toValidate.map(({ item, input }) => ({ input, fallbackIdentifier: () => item.fallbackIdentifier })),
    );
    const accepted: AcceptedMeterEvent[] = [];
    results.forEach((r, i) => {
      if (r.ok) accepted.push(r.event);
      else rejected.push({ item: toValidate[i]!.item, rejection: r.rejection });
    });
    // Batches validated concurrently still reach the writer in arrival order (receipt order
    // decides `last` and pre-aggregated buckets).
    await order.after;
    const written = this.queue.submit(accepted);
    order.submitted?.();
    const flags = await written;
    const fresh = flags.filter(Boolean).length;
    if (rejected.length) {
      ingestEvents.inc({ outcome: 'rejected' }, rejected.length);
      const deadLetters: DeadLetter[] = rejected.map(({ item, rejection }) => ({
        subject: item.subject,
        messageId: item.messageId,
        data: JSON.stringify(item.raw),
        reason: `${rejection.reportCode}: ${rejection.message}`,
      }));
      const end = this.clock.now();
      const reports = buildErrorReports(
        rejected.map((r) => r.rejection),
        started.toISOString(),
        end.toISOString(),
      );
      await this.rejections.record(deadLetters, reports, toUnix(end));
    }
    return { accepted: fresh, duplicates: accepted.length - fresh, rejected: rejected.length };
  }
}
