/**
 * `meterflow doctor`'s verdicts: pure functions from what was measured to a check with a fix
 * the operator can act on (unit-tested; the measuring is in doctor.ts).
 */
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface Check {
  name: string;
  status: CheckStatus;
  detail: string;
  /** What to do about it (only when not ok). */
  fix?: string;
}

const n = (x: number): string => x.toLocaleString('en-US');

/** A failed connection to Postgres, by its error code. */
export function postgresFailure(e: { code?: string; message?: string }, url: string): Check {
  const u = new URL(url);
  const db = decodeURIComponent(u.pathname.slice(1));
  const where = `${u.hostname}:${u.port || 5432}`;
  const base = { name: 'postgres', status: 'fail' as const };
  switch (e.code) {
    case '3D000':
      return {
        ...base,
        detail: `database "${db}" does not exist at ${where}`,
        fix: 'run `pnpm migrate` (creates the database and applies every migration)',
      };
    case '28P01':
    case '28000':
      return {
        ...base,
        detail: `Postgres at ${where} refused the credentials (${e.message ?? e.code})`,
        fix: 'fix the user and password in DATABASE_URL (postgres://USER:PASSWORD@HOST:PORT/DB)',
      };
    case 'ECONNREFUSED':
    case 'ETIMEDOUT':
    case 'ENOTFOUND':
    case 'EHOSTUNREACH':
    default:
      return {
        ...base,
        detail: `no answer at ${where} (${e.code ?? e.message ?? 'unknown error'})`,
        fix: "`./mf start` starts the machine's Postgres cluster or an embedded one; or set DATABASE_URL to a server that runs",
      };
  }
}

export interface MigrationStatus {
  service: string;
  /** Ids not applied; undefined when it could not be asked (with `error`). */
  pending?: string[];
  error?: string;
}

/**
 * What a service's `migrate.js --check` printed: `<svc>: schema <s> is up to date`, or
 * `<svc>: schema <s>: N pending (0001_a, 0002_b)`, or `...: database not reachable (...)`.
 */
export function parseMigrateCheck(service: string, lines: readonly string[]): MigrationStatus {
  for (const l of lines) {
    if (/ is up to date$/.test(l)) return { service, pending: [] };
    const m = /: \d+ pending \(([^)]*)\)/.exec(l);
    if (m)
      return {
        service,
        pending: m[1]!
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean),
      };
  }
  return { service, error: lines.at(-1) ?? 'no answer' };
}

export function migrationsCheck(statuses: readonly MigrationStatus[]): Check {
  const failed = statuses.filter((s) => s.pending === undefined);
  if (failed.length)
    return {
      name: 'migrations',
      status: 'fail',
      detail: failed.map((s) => `${s.service}: ${s.error ?? 'unknown'}`).join('; '),
      fix: /missing: build first/.test(failed[0]!.error ?? '')
        ? 'run `pnpm build`, then `./mf doctor` again'
        : 'see the error; `pnpm migrate` prints more',
    };
  const behind = statuses.filter((s) => s.pending!.length > 0);
  if (behind.length === 0) return { name: 'migrations', status: 'ok', detail: `${statuses.length} services up to date` };
  return {
    name: 'migrations',
    status: 'fail',
    detail: `not applied: ${behind.map((s) => `${s.service} (${s.pending!.join(', ')})`).join('; ')}`,
    fix: 'run `pnpm migrate` before starting the services (in Kubernetes: the migrate Job)',
  };
}

export function natsFailure(e: { code?: string; message?: string }, url: string): Check {
  return {
    name: 'nats',
    status: 'fail',
    detail: `no answer at ${url} (${e.code ?? e.message ?? 'unknown error'})`,
    fix: '`./mf start` starts nats-server -js when it is installed (Debian/Ubuntu: `apt-get install nats-server`); or set NATS_URL',
  };
}

export function jetStreamOff(message: string): Check {
  return {
    name: 'jetstream',
    status: 'fail',
    detail: `JetStream is not enabled on this server (${message})`,
    fix: 'restart nats-server with `-js` (or `jetstream {}` in its config file)',
  };
}

export interface StreamFound {
  name: string;
  subjects: string[];
  messages: number;
}

export function streamsCheck(expected: readonly { name: string; subjects: string[] }[], found: ReadonlyMap<string, StreamFound>): Check {
  const missing = expected.filter((e) => !found.has(e.name)).map((e) => e.name);
  const differ = expected.filter((e) => {
    const f = found.get(e.name);
    return f && JSON.stringify(f.subjects) !== JSON.stringify(e.subjects);
  });
  if (missing.length)
    return {
      name: 'streams',
      status: 'fail',
      detail: `missing: ${missing.join(', ')}`,
      fix: 'start the services (`./mf start`): each creates its streams at boot',
    };
  if (differ.length)
    return {
      name: 'streams',
      status: 'warn',
      detail: `subjects differ: ${differ.map((d) => `${d.name} (has ${found.get(d.name)!.subjects.join(',')})`).join('; ')}`,
      fix: 'restart the services: at boot each updates its streams to the configuration it needs',
    };
  const msgs = expected.reduce((s, e) => s + found.get(e.name)!.messages, 0);
  return { name: 'streams', status: 'ok', detail: `${expected.length} streams, ${n(msgs)} messages` };
}

export interface ConsumerLag {
  stream: string;
  durable: string;
  /** Messages not yet delivered to it. */
  pending: number;
  /** Delivered, not yet acknowledged. */
  ackPending: number;
  redelivered: number;
}

/** The service a durable belongs to (`<NS>_<service_token>_<purpose>`), for the fix. */
export function serviceOfDurable(durable: string, namespace: string): string {
  const rest = namespace && durable.startsWith(`${namespace.toUpperCase()}_`) ? durable.slice(namespace.length + 1) : durable;
  for (const s of ['meter_ingestion', 'credit_ledger', 'gateway', 'rating', 'invoicing'])
    if (rest.startsWith(`${s}_`)) return s.replace('_', '-');
  return rest;
}

export function consumerLagCheck(
  consumers: readonly ConsumerLag[],
  opts: { namespace: string; threshold: number; ingestStream: string },
): Check {
  const name = 'consumer lag';
  if (!consumers.some((c) => c.stream === opts.ingestStream))
    return {
      name,
      status: 'warn',
      detail: `nothing consumes ${opts.ingestStream} yet`,
      fix: 'start meter-ingestion (`./mf start`): it creates its durable consumer at boot; until then producers\u2019 events wait in the stream',
    };
  const behind = consumers.filter((c) => c.pending + c.ackPending > opts.threshold);
  const total = consumers.reduce((s, c) => s + c.pending + c.ackPending, 0);
  if (behind.length === 0) return { name, status: 'ok', detail: `${consumers.length} consumers, ${n(total)} messages waiting` };
  return {
    name,
    status: 'warn',
    detail: behind.map((c) => `${c.durable} on ${c.stream}: ${n(c.pending)} pending, ${n(c.ackPending)} unacknowledged`).join('; '),
    fix:
      `is ${[...new Set(behind.map((c) => serviceOfDurable(c.durable, opts.namespace)))].join(', ')} running? ` +
      'Run `./mf doctor` again in a minute: a lag that keeps growing needs more replicas (or its logs read)',
  };
}

export function outboxCheck(lags: readonly { service: string; behind: number }[], threshold: number): Check {
  const behind = lags.filter((l) => l.behind > threshold);
  if (behind.length === 0)
    return { name: 'outbox relay', status: 'ok', detail: `${n(lags.reduce((s, l) => s + l.behind, 0))} events not yet published` };
  return {
    name: 'outbox relay',
    status: 'warn',
    detail: behind.map((l) => `${l.service}: ${n(l.behind)} events not yet published to NATS`).join('; '),
    fix: `is ${behind.map((l) => l.service).join(', ')} running and connected to NATS? Its relay publishes the backlog when it is`,
  };
}

export function deadLettersCheck(counts: readonly { where: string; count: number }[]): Check {
  const some = counts.filter((c) => c.count > 0);
  if (some.length === 0) return { name: 'dead letters', status: 'ok', detail: 'none' };
  return {
    name: 'dead letters',
    status: 'warn',
    detail: some.map((c) => `${c.where}: ${n(c.count)}`).join(', '),
    fix: 'read them with `./mf dead-letters list`; once the cause is fixed (a meter created, a bug deployed), `./mf dead-letters replay`',
  };
}
