import { z } from 'zod';
import type { EntitySchema } from '@mikro-orm/core';
import { INVOICING_EVENTS } from '@meterflow/contracts';
import { announcementRenderer } from '@meterflow/event-store';
import type { ServiceDefinition } from '@meterflow/service-kit';
import { migrations } from './adapters/persistence/migrations.js';
import { invoicingEntities } from './adapters/persistence/invoicing.entities.js';
import { invoiceEventRendering } from './application/invoicing.aggregates.js';

export const invoicingEnvSchema = z.object({
  /** Grace between a subscription draft's creation and its automatic finalization (Stripe: 1 h, at most 72 h). */
  INVOICE_FINALIZATION_GRACE_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .max(72 * 3600)
    .default(3600),
  /** How often the real-time scheduler looks for drafts due (customers without a test clock); 0 = off. */
  INVOICE_SCHEDULER_INTERVAL_MS: z.coerce.number().int().min(0).default(5000),
  /** Drafts due together finalized per batch: one `billing.rate_periods` and one `credits.apply_many` request each. */
  INVOICE_FINALIZE_BATCH_SIZE: z.coerce.number().int().min(1).max(500).default(500),
  /**
   * Parts a test clock's close is split into, by customer, each asked for through the queue group
   * (`clock.advance_partition`) so that replicas finalize side by side; 1 = the replica rating asks
   * does it all, one batch at a time. The default, 2, keeps even one replica finalizing two parts
   * at once: a batch's three hops (re-rate, credits, commit) run one after the other, so one
   * part's commit overlaps the other's re-rating (docs/benchmarks.md, issue 12). Set it to at
   * least the number of replicas (docs/architecture.md, "Scaling out").
   */
  INVOICE_CLOSE_PARTITIONS: z.coerce.number().int().min(1).max(64).default(2),
});
export type InvoicingEnv = z.infer<typeof invoicingEnvSchema>;

export const invoicingDefinition: ServiceDefinition = {
  name: 'invoicing',
  dbSchema: 'invoicing',
  migrations,
  events: INVOICING_EVENTS,
  entities: invoicingEntities as unknown as EntitySchema[],
  envSchema: invoicingEnvSchema,
  httpPort: 3103,
  stripeEvents: (store, opts) => announcementRenderer(store, [invoiceEventRendering], opts),
};
