import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { natsNames, type NatsNames } from '@meterflow/contracts';

/** What every operator command needs, from the same env the services read (same defaults). */
export interface CliConfig {
  databaseUrl: string;
  natsUrl: string;
  natsUser?: string;
  natsPassword?: string;
  namespace: string;
  names: NatsNames;
  /** The gateway, for commands that go through the public API. */
  apiUrl: string;
  apiKey: string;
  /** The checkout (services/<name>/dist/*.js are run from here). */
  root: string;
}

const here = path.dirname(fileURLToPath(import.meta.url));

export function cliConfig(env: Record<string, string | undefined> = process.env): CliConfig {
  const namespace = env.MF_NAMESPACE ?? '';
  return {
    databaseUrl: env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/meterflow',
    natsUrl: env.NATS_URL ?? 'nats://127.0.0.1:4222',
    ...(env.NATS_USER ? { natsUser: env.NATS_USER, natsPassword: env.NATS_PASSWORD ?? '' } : {}),
    namespace,
    names: natsNames(namespace),
    apiUrl: (env.MF_API_URL ?? `http://127.0.0.1:${env.GATEWAY_PORT ?? '3000'}`).replace(/\/$/, ''),
    apiKey: env.MF_API_KEY ?? (env.MF_API_KEYS ?? 'sk_test_meterflow').split(',')[0]!,
    // src/ops or dist/ops -> tools/cli -> the checkout
    root: env.MF_ROOT ?? path.resolve(here, '..', '..', '..', '..'),
  };
}

/** The Postgres schema of each service (one per service, see DEVELOPERS.md). */
export const SERVICE_SCHEMAS = {
  gateway: 'gateway',
  'meter-ingestion': 'ingestion',
  rating: 'rating',
  invoicing: 'invoicing',
  'credit-ledger': 'credit_ledger',
} as const;

export type ServiceWithSchema = keyof typeof SERVICE_SCHEMAS;

/** A URL with its password masked, for output. */
export const redactUrl = (url: string): string => url.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@');
