import { z } from 'zod';
import { RATING_EVENTS } from '@meterflow/contracts';
import { announcementRenderer } from '@meterflow/event-store';
import type { ServiceDefinition } from '@meterflow/service-kit';
import { migrations } from './adapters/persistence/migrations.js';
import { subscriptionEventRendering } from './application/stripe-facts.js';

export const ratingEnvSchema = z.object({
  /** How often the real-time scheduler closes due periods of customers without a test clock. */
  RATING_SCHEDULER_INTERVAL_MS: z.coerce.number().int().min(0).default(5_000),
  /** How often billing thresholds are evaluated for customers without a test clock (0 disables; docs/lifecycle.md). */
  RATING_THRESHOLD_INTERVAL_MS: z.coerce.number().int().min(0).default(60_000),
  /** Subscriptions closed per batch (one usage query and one transaction per batch). */
  RATING_CLOSE_BATCH_SIZE: z.coerce.number().int().min(1).max(5_000).default(500),
  /** `subscription_invoices.create_many` calls in flight while handing closed periods to invoicing. */
  RATING_INVOICE_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  /** Closed periods per `subscription_invoices.create_many` call (invoicing takes at most 500). */
  RATING_INVOICE_BATCH_SIZE: z.coerce.number().int().min(1).max(500).default(250),
  /** Timeout of one call to another service. */
  RATING_RPC_TIMEOUT_MS: z.coerce.number().int().min(100).default(30_000),
  /** Services the test-clock loop asks, in order (default: CLOCK_PARTICIPANTS). For partial stacks and tests. */
  RATING_CLOCK_PARTICIPANTS: z.string().optional(),
});

export type RatingEnv = z.infer<typeof ratingEnvSchema>;

export const ratingDefinition: ServiceDefinition = {
  name: 'rating',
  dbSchema: 'rating',
  migrations,
  /** Every append is checked against rating's event contracts. */
  events: RATING_EVENTS,
  envSchema: ratingEnvSchema,
  httpPort: 3102,
  /** `customer.subscription.*` are stored as announcements and rendered when the relay publishes them. */
  stripeEvents: (store, opts) => announcementRenderer(store, [subscriptionEventRendering], opts),
};
