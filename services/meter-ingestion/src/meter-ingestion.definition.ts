import { z } from 'zod';
import { METER_INGESTION_EVENTS } from '@meterflow/contracts';
import type { ServiceDefinition } from '@meterflow/service-kit';
import { migrations } from './adapters/persistence/migrations.js';

export const ingestionEnvSchema = z.object({
  /** Identifiers are unique over this many days (at least 1; Stripe: at least 24 h). */
  METER_EVENT_IDENTIFIER_WINDOW_DAYS: z.coerce.number().int().min(1).default(35),
  /** `rating`: check customers exist and use their test clock's time; `off`: trust payloads (benchmarks, no rating running). */
  INGEST_CUSTOMER_LOOKUP: z.enum(['rating', 'off']).default('rating'),
  /** Most events written in one transaction. */
  INGEST_FLUSH_MAX_EVENTS: z.coerce.number().int().min(1).default(20_000),
  /** NATS messages (each up to 100 events) validated and written together. */
  INGEST_BATCH_MESSAGES: z.coerce.number().int().min(1).default(200),
  /** Ingest batches in flight (validation of the next overlaps the write of the previous). */
  INGEST_CONCURRENCY: z.coerce.number().int().min(1).max(8).default(2),
  /** Usage-store transactions in flight at once. */
  INGEST_WRITERS: z.coerce.number().int().min(1).max(8).default(2),
  /** Housekeeping (identifier window pruning, partitions ahead, expired sessions). */
  INGEST_SCHEDULER_INTERVAL_MS: z.coerce.number().int().min(100).default(5_000),
  /** How often the in-memory meter catalog re-reads meters changed by other replicas. */
  INGEST_CATALOG_REFRESH_MS: z.coerce.number().int().min(100).default(1_000),
});
export type IngestionEnv = z.infer<typeof ingestionEnvSchema>;

export const meterIngestionDefinition: ServiceDefinition = {
  name: 'meter-ingestion',
  dbSchema: 'ingestion',
  migrations,
  events: METER_INGESTION_EVENTS,
  envSchema: ingestionEnvSchema,
  httpPort: 3101,
};
