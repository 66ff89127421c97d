import { z } from 'zod';
import { baseEnvSchema, loadConfig, refuseDefaultSecretsInProduction, type BaseEnv } from '@meterflow/kernel';
import type { ServiceDefinition } from './definition.js';

/** The env schema of one service: the shared settings, its own, and its HTTP port. */
export function envSchemaFor(def: ServiceDefinition) {
  return baseEnvSchema.extend(def.envSchema?.shape ?? {}).extend({
    HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(def.httpPort),
    HTTP_HOST: z.string().default('0.0.0.0'),
    PG_POOL_MAX: z.coerce.number().int().min(1).default(10),
  });
}

/** Shared settings typed; a service reads its own extra keys through its own schema's type. */
export type ServiceConfig = BaseEnv & { HTTP_PORT: number; HTTP_HOST: string; PG_POOL_MAX: number } & Record<string, unknown>;

export function loadServiceConfig(def: ServiceDefinition, overrides: Record<string, string> = {}): ServiceConfig {
  const config = loadConfig(envSchemaFor(def), { ...process.env, ...overrides }) as ServiceConfig;
  refuseDefaultSecretsInProduction(config);
  return config;
}
