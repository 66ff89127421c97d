import type { z } from 'zod';
import type { EntitySchema } from '@mikro-orm/core';
import type { EventCatalog, ServiceName } from '@meterflow/contracts';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { AnnouncementRendererOptions, PgEventStore } from '@meterflow/event-store';
import type { StripeEventRenderer } from '@meterflow/messaging';

export interface Migration {
  /** Sortable and unique within the service, e.g. `0001_init`. */
  id: string;
  sql: string;
}

/** Everything service-kit needs to know to boot, migrate and test a service. */
export interface ServiceDefinition {
  name: ServiceName;
  /** The service's own Postgres schema; no other service reads it. */
  dbSchema: string;
  /** Applied in order after the event-store tables, by `runMigrations` (never at boot). */
  migrations: Migration[];
  /** The service's event contracts (libs/contracts/src/events): its event store refuses anything else. */
  events?: EventCatalog;
  /** MikroORM read-model entities (EntitySchema / defineEntity). */
  entities?: EntitySchema[];
  /** Extra environment variables, merged with kernel's `baseEnvSchema`. */
  envSchema?: z.ZodObject;
  /** Default HTTP port (health, readiness, metrics; the gateway's API). `HTTP_PORT` overrides. */
  httpPort: number;
  /** Publish the event store to JetStream (default true). */
  relay?: boolean;
  /** How the relay renders the service's `StripeEventAnnounced` facts (needed once it records any). */
  stripeEvents?: (store: PgEventStore, opts: AnnouncementRendererOptions) => StripeEventRenderer;
  /** Register extra Fastify routes, parsers or hooks before the app listens. */
  configure?: (app: NestFastifyApplication) => void | Promise<void>;
}
