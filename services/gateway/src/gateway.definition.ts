import { z } from 'zod';
import { API_ROUTES } from '@meterflow/contracts';
import type { ServiceDefinition } from '@meterflow/service-kit';
import { registerStripeApi } from './adapters/http/stripe-api.routes.js';
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
  MF_IDEMPOTENCY_ASYNC_COMMIT: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
});

export type GatewayEnv = z.infer<typeof gatewayEnvSchema>;

export const gatewayDefinition: ServiceDefinition = {
  name: 'gateway',
  dbSchema: 'gateway',
  migrations: gatewayMigrations,
  envSchema: gatewayEnvSchema,
  httpPort: 3000,
  // The gateway records no events: nothing to relay.
  relay: false,
  configure: async (app) => {
    await registerStripeApi(app.getHttpAdapter().getInstance(), API_ROUTES, app.get(ApiCallHandler));
  },
};
