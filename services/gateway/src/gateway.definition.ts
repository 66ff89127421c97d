import { z } from 'zod';
import { envFlag } from '@meterflow/kernel';
import { API_ROUTES, GATEWAY_EVENTS, buildAsyncApi, buildOpenApi } from '@meterflow/contracts';
import { LOGGER, type ServiceDefinition } from '@meterflow/service-kit';
import type { Logger } from '@meterflow/observability';
import { consoleDir } from '@meterflow/console';
import { registerStripeApi } from './adapters/http/stripe-api.routes.js';
import { registerConsole } from './adapters/http/console.routes.js';
import { gatewayMigrations } from './adapters/persistence/migrations.js';
import { ApiCallHandler } from './application/api-call.handler.js';

export const gatewayEnvSchema = z.object({
  /** Secret keys accepted on the API, comma-separated. */
  MF_API_KEYS: z.string().default('sk_test_meterflow'),
  /** How long the gateway waits for a service to answer one op. */
  MF_RPC_TIMEOUT_MS: z.coerce.number().int().min(100).default(30_000),
  /** How often idempotency records older than 24 h are deleted. */
  MF_IDEMPOTENCY_PRUNE_MS: z.coerce.number().int().min(1000).default(60_000),
  /** Trade: +9% keyed req/s, but a Postgres crash forgets the last ~0.6 s of idempotency records. */
  MF_IDEMPOTENCY_ASYNC_COMMIT: envFlag(false),
  /** A webhook attempt that has not answered by then has failed (Stripe: 10 s). */
  MF_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  /** Retry schedule: first delay, growth factor, longest delay, and the window after the first attempt (Stripe: 3 days). */
  MF_WEBHOOK_RETRY_FIRST_MS: z.coerce.number().int().min(1).default(60_000),
  MF_WEBHOOK_RETRY_FACTOR: z.coerce.number().min(1).default(2),
  MF_WEBHOOK_RETRY_MAX_DELAY_MS: z.coerce
    .number()
    .int()
    .min(1)
    .default(6 * 3600_000),
  MF_WEBHOOK_RETRY_WINDOW_MS: z.coerce
    .number()
    .int()
    .min(0)
    .default(3 * 24 * 3600_000),
  /** How often the dispatcher looks for due deliveries (it also looks as soon as new ones are queued). */
  MF_WEBHOOK_POLL_MS: z.coerce.number().int().min(10).default(1000),
  /** Attempts in flight per endpoint at most. */
  MF_WEBHOOK_ENDPOINT_CONCURRENCY: z.coerce.number().int().min(1).default(8),
  /** Webhook URLs on loopback and private ranges (on-prem receivers); link-local / metadata addresses are always refused. */
  MF_WEBHOOK_ALLOW_PRIVATE: envFlag(true),
  /** How long `/v1/events` keeps an event (Stripe: 30 days). */
  MF_EVENTS_RETENTION_DAYS: z.coerce.number().min(0).default(30),
});

export type GatewayEnv = z.infer<typeof gatewayEnvSchema>;

export const gatewayDefinition: ServiceDefinition = {
  name: 'gateway',
  dbSchema: 'gateway',
  migrations: gatewayMigrations,
  envSchema: gatewayEnvSchema,
  httpPort: 3000,
  events: GATEWAY_EVENTS,
  // The gateway's own events (webhook endpoints) interest no other service: nothing to relay.
  relay: false,
  configure: async (app) => {
    const fastify = app.getHttpAdapter().getInstance();
    await registerStripeApi(fastify, API_ROUTES, app.get(ApiCallHandler));
    await registerConsole(fastify, consoleDir, (msg) => app.get<Logger>(LOGGER).warn(msg));
    // The contracts, as documents (built once, on first request).
    const docs = { openapi: () => JSON.stringify(buildOpenApi()), asyncapi: () => JSON.stringify(buildAsyncApi()) };
    const cache = new Map<string, string>();
    for (const name of ['openapi', 'asyncapi'] as const)
      fastify.get(`/${name}.json`, (_req, reply) => {
        let body = cache.get(name);
        if (body === undefined) cache.set(name, (body = docs[name]()));
        return reply.header('content-type', 'application/json; charset=utf-8').send(body);
      });
  },
};
