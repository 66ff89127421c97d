import { z } from 'zod';

/** Settings every service shares; each service extends this schema with its own. */
export const baseEnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  DATABASE_URL: z.string().url().default('postgres://postgres@127.0.0.1:5432/meterflow'),
  NATS_URL: z.string().default('nats://127.0.0.1:4222'),
  NATS_USER: z.string().optional(),
  NATS_PASSWORD: z.string().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().url().optional(),
  /** Prefix for every stream, consumer and subject; lets test runs share one NATS server. */
  MF_NAMESPACE: z
    .string()
    .regex(/^[a-z0-9_]*$/)
    .default(''),
  /** JetStream replicas of every stream Meterflow creates: 1 on a single server, 3 on a 3-node cluster. */
  MF_STREAM_REPLICAS: z.coerce.number().int().min(1).max(5).default(1),
});

export type BaseEnv = z.infer<typeof baseEnvSchema>;

export class ConfigError extends Error {}

/** Parse and validate the environment once, at boot. Fails with every problem listed. */
export function loadConfig<S extends z.ZodTypeAny>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i: z.core.$ZodIssue) => `  ${i.path.join('.') || '(env)'}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return parsed.data;
}
