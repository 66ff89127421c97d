import { z } from 'zod';

/** An on/off setting: `true` or `false` (anything else is refused), `fallback` when unset. */
export const envFlag = (fallback: boolean) =>
  z
    .enum(['true', 'false'])
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true');

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
  /**
   * Whether the outbox relay publishes the service's domain events on `mf.svc.<service>.>`
   * (`MF_SVC_<SERVICE>`) as well as its Stripe events. `false` for a system where nothing reads
   * them: nothing in Meterflow does (docs/architecture.md).
   */
  MF_RELAY_DOMAIN_EVENTS: envFlag(true),
  /** Render every Stripe event a unit announced from its stream too, and fail on a difference (tests). */
  MF_RENDER_CHECK: envFlag(false),
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

/** Secrets shipped as examples or defaults (compose, secret.example.yaml, the gateway's key). */
export const DEFAULT_SECRETS: readonly string[] = ['meterflow', 'change-me', 'sk_test_meterflow', 'sk_test_change_me', 'postgres'];

/**
 * With `NODE_ENV=production`, what in `env` is a default or example secret: the API keys
 * (`MF_API_KEYS`, defaulted to `sk_test_meterflow`), the NATS password, the password in
 * `DATABASE_URL`. Empty when it is not production or nothing is a default.
 */
export function productionSecretProblems(env: Record<string, unknown>): string[] {
  if (env.NODE_ENV !== 'production') return [];
  const problems: string[] = [];
  const isDefault = (v: string) => DEFAULT_SECRETS.includes(v);
  if (typeof env.MF_API_KEYS === 'string') {
    const keys = env.MF_API_KEYS.split(',').map((k) => k.trim());
    if (keys.some(isDefault)) problems.push('MF_API_KEYS contains a default API key (sk_test_meterflow or an example key)');
  }
  if (typeof env.NATS_PASSWORD === 'string' && isDefault(env.NATS_PASSWORD)) problems.push('NATS_PASSWORD is a default password');
  if (typeof env.DATABASE_URL === 'string') {
    let pw = '';
    try {
      pw = decodeURIComponent(new URL(env.DATABASE_URL).password);
    } catch {
      /* not a URL: the schema reports it */
    }
    if (pw && isDefault(pw)) problems.push('DATABASE_URL carries a default password');
  }
  return problems;
}

/** Throws a ConfigError naming every default secret when `env` is production's. */
export function refuseDefaultSecretsInProduction(env: Record<string, unknown>): void {
  const problems = productionSecretProblems(env);
  if (problems.length)
    throw new ConfigError(
      `Refusing to start with NODE_ENV=production and default secrets:\n${problems.map((p) => `  ${p}`).join('\n')}\n` +
        'Set your own (see docs/operations.md), or unset NODE_ENV=production on a laptop.',
    );
}
