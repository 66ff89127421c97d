import { stripeEvent } from '@meterflow/contracts';
import type { CommandPipeline } from '@meterflow/event-store';
import { newId } from '@meterflow/kernel';
import { countDeadLetters } from '@meterflow/observability';
import type { DeadLetter, Rejections } from '../../application/ports.js';
import type { ErrorReport } from '../../domain/error-report.js';

export const INGEST_CONSUMER = 'meter-ingestion.ingest';
export const ERROR_REPORT_STREAM = 'meter-error-reports';

/**
 * Rejected events are never dropped silently: each becomes a dead letter with its reason, and
 * the window's Stripe error reports are recorded in the same transaction (the relay publishes
 * them on `mf.events.v1.billing.meter.*`).
 */
export class RejectionRecorder implements Rejections {
  constructor(private readonly pipeline: CommandPipeline) {}

  async record(deadLetters: readonly DeadLetter[], reports: readonly ErrorReport[], created: number): Promise<void> {
    if (deadLetters.length === 0 && reports.length === 0) return;
    await this.pipeline.run(async (uow) => {
      if (deadLetters.length)
        await uow.tx.query(
          `INSERT INTO dead_letters (consumer, subject, message_id, data, reason)
           SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[])`,
          [
            INGEST_CONSUMER,
            deadLetters.map((d) => d.subject),
            deadLetters.map((d) => d.messageId),
            deadLetters.map((d) => d.data),
            deadLetters.map((d) => d.reason),
          ],
        );
      if (reports.length)
        uow.record(
          ERROR_REPORT_STREAM,
          'any',
          reports.map((r) =>
            stripeEvent(
              newId('event'),
              r.type,
              {
                ...r.data,
                related_object: r.meterId ? { id: r.meterId, type: 'billing.meter', url: `/v1/billing/meters/${r.meterId}` } : null,
              },
              created,
            ),
          ),
        );
    });
    countDeadLetters(
      'meter-ingestion',
      deadLetters.map((d) => d.reason),
    );
  }
}
