import pg from 'pg';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { SERVICES } from '@meterflow/contracts';
import { streamConfigs } from '@meterflow/messaging';
import { redactUrl, SERVICE_SCHEMAS, type CliConfig } from './config.js';
import {
  consumerLagCheck,
  deadLettersCheck,
  jetStreamOff,
  migrationsCheck,
  parseMigrateCheck,
  natsFailure,
  outboxCheck,
  postgresFailure,
  streamsCheck,
  type Check,
  type ConsumerLag,
  type MigrationStatus,
  type StreamFound,
} from './doctor-rules.js';
import { connectOperator } from './nats.js';
import { runServiceScript } from './service-script.js';

export interface DoctorOptions {
  /** Messages waiting for one consumer before it is reported (default 1,000). */
  lagThreshold?: number;
  /** Called as each check finishes (the CLI shows them one by one). */
  onCheck?: (c: Check) => void;
}

/**
 * Everything an operator checks first, in order: Postgres, migrations, NATS, JetStream, the
 * streams, consumer lag, the outbox relays and dead letters. Checks that depend on a failed one
 * are skipped, not failed again.
 */
export async function runDoctor(cfg: CliConfig, opts: DoctorOptions = {}): Promise<Check[]> {
  const out: Check[] = [];
  const add = (c: Check) => {
    out.push(c);
    opts.onCheck?.(c);
  };
  const threshold = opts.lagThreshold ?? 1_000;

  const pool = new pg.Pool({ connectionString: cfg.databaseUrl, max: 2, connectionTimeoutMillis: 3_000 });
  pool.on('error', () => undefined);
  let pgOk = false;
  try {
    const { rows } = await pool.query<{ v: string }>(`SELECT current_setting('server_version') AS v`);
    pgOk = true;
    add({ name: 'postgres', status: 'ok', detail: `PostgreSQL ${rows[0]!.v} at ${redactUrl(cfg.databaseUrl)}` });
  } catch (e) {
    add(postgresFailure(e as { code?: string; message?: string }, cfg.databaseUrl));
  }

  if (pgOk) add(migrationsCheck(await migrationStatuses(cfg)));
  else add({ name: 'migrations', status: 'skip', detail: 'needs Postgres' });

  let nc: NatsConnection | undefined;
  try {
    nc = await connectOperator(cfg);
    add({ name: 'nats', status: 'ok', detail: `nats-server ${nc.info?.version ?? '?'} at ${cfg.natsUrl}` });
  } catch (e) {
    add(natsFailure(e as { code?: string; message?: string }, cfg.natsUrl));
  }

  try {
    let jsm: JetStreamManager | undefined;
    if (nc) {
      try {
        jsm = await jetstreamManager(nc, { timeout: 3_000 });
        const info = await jsm.getAccountInfo();
        add({ name: 'jetstream', status: 'ok', detail: `${info.streams} streams, ${info.consumers} consumers on the account` });
      } catch (e) {
        jsm = undefined;
        add(jetStreamOff((e as Error).message));
      }
    } else add({ name: 'jetstream', status: 'skip', detail: 'needs NATS' });

    if (jsm) {
      const expected = streamConfigs(cfg.names, SERVICES);
      const found = new Map<string, StreamFound>();
      const lags: ConsumerLag[] = [];
      for (const e of expected) {
        try {
          const si = await jsm.streams.info(e.name);
          found.set(e.name, { name: e.name, subjects: si.config.subjects ?? [], messages: si.state.messages });
          for await (const ci of jsm.consumers.list(e.name))
            lags.push({
              stream: e.name,
              durable: ci.config.durable_name ?? ci.name,
              pending: ci.num_pending,
              ackPending: ci.num_ack_pending,
              redelivered: ci.num_redelivered,
            });
        } catch {
          /* missing: reported by streamsCheck */
        }
      }
      add(streamsCheck(expected, found));
      if (found.has(cfg.names.ingestStream))
        add(consumerLagCheck(lags, { namespace: cfg.namespace, threshold, ingestStream: cfg.names.ingestStream }));
      else add({ name: 'consumer lag', status: 'skip', detail: `needs ${cfg.names.ingestStream}` });
    } else {
      add({ name: 'streams', status: 'skip', detail: 'needs JetStream' });
      add({ name: 'consumer lag', status: 'skip', detail: 'needs JetStream' });
    }

    if (pgOk) {
      add(outboxCheck(await outboxLags(pool), threshold));
      const counts = await deadLetterCounts(pool);
      if (jsm) {
        try {
          const si = await jsm.streams.info(cfg.names.deadLetterStream);
          counts.push({ where: cfg.names.deadLetterStream, count: si.state.messages });
        } catch {
          /* no fallback stream yet: nothing in it */
        }
      }
      add(deadLettersCheck(counts));
    } else {
      add({ name: 'outbox relay', status: 'skip', detail: 'needs Postgres' });
      add({ name: 'dead letters', status: 'skip', detail: 'needs Postgres' });
    }
  } finally {
    await nc?.close().catch(() => undefined);
    await pool.end().catch(() => undefined);
  }
  return out;
}

/** Each service's `migrate.js --check`, in parallel (the ids a service expects live in its code). */
async function migrationStatuses(cfg: CliConfig): Promise<MigrationStatus[]> {
  return Promise.all(
    SERVICES.map(async (service): Promise<MigrationStatus> => {
      const r = await runServiceScript(cfg.root, service, 'migrate', {
        args: ['--check'],
        env: { DATABASE_URL: cfg.databaseUrl, LOG_LEVEL: 'warn' },
      });
      if (r.code === 127) return { service, error: r.stderr };
      const lines = [...r.output, ...r.stderr.trim().split('\n').filter(Boolean)];
      return parseMigrateCheck(service, lines.length ? lines : [`exit ${r.code}`]);
    }),
  );
}

const schemaExists = async (pool: pg.Pool, table: string): Promise<boolean> =>
  (await pool.query<{ ok: boolean }>('SELECT to_regclass($1) IS NOT NULL AS ok', [table])).rows[0]!.ok;

/** Events each service stored that its outbox relay has not published yet. */
async function outboxLags(pool: pg.Pool): Promise<{ service: string; behind: number }[]> {
  const out: { service: string; behind: number }[] = [];
  for (const [service, schema] of Object.entries(SERVICE_SCHEMAS)) {
    if (!(await schemaExists(pool, `"${schema}".relay_cursor`))) continue;
    const { rows } = await pool.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM "${schema}".events
        WHERE global_position > coalesce((SELECT max(global_position) FROM "${schema}".relay_cursor), 0)`,
    );
    out.push({ service, behind: Number(rows[0]!.n) });
  }
  return out;
}

async function deadLetterCounts(pool: pg.Pool): Promise<{ where: string; count: number }[]> {
  const out: { where: string; count: number }[] = [];
  for (const schema of Object.values(SERVICE_SCHEMAS)) {
    if (!(await schemaExists(pool, `"${schema}".dead_letters`))) continue;
    const { rows } = await pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM "${schema}".dead_letters`);
    out.push({ where: `${schema}.dead_letters`, count: Number(rows[0]!.n) });
  }
  return out;
}
