import { z } from 'zod';
import { CREDIT_LEDGER_EVENTS } from '@meterflow/contracts';
import { announcementRenderer } from '@meterflow/event-store';
import type { ServiceDefinition } from '@meterflow/service-kit';
import { creditLedgerEntities } from './adapters/persistence/credit-ledger.entities.js';
import { creditLedgerMigrations } from './adapters/persistence/migrations.js';
import { grantEventRendering } from './application/credit-grant.aggregate.js';

export const creditLedgerEnvSchema = z.object({
  /** How often grants of customers without a test clock are made effective / expired (0 = off). */
  CREDIT_LEDGER_SCHEDULER_INTERVAL_MS: z.coerce.number().int().min(0).default(5000),
});

export const creditLedgerDefinition: ServiceDefinition = {
  name: 'credit-ledger',
  dbSchema: 'credit_ledger',
  migrations: creditLedgerMigrations,
  events: CREDIT_LEDGER_EVENTS,
  entities: creditLedgerEntities as unknown as ServiceDefinition['entities'],
  envSchema: creditLedgerEnvSchema,
  httpPort: 3104,
  /** Grant and balance-transaction events are stored as announcements and rendered when the relay publishes them. */
  stripeEvents: (store, opts) => announcementRenderer(store, [grantEventRendering], opts),
};
