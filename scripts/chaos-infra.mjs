// The chaos suite's own infrastructure: a Postgres cluster (initdb in a temporary directory,
// pg_ctl from /usr/lib/postgresql/*/bin) and a nats-server with JetStream and Meterflow's NATS
// users (rendered from contracts' permission tables), both on free loopback ports, each with
// the faults the suite injects (kill -9 + start, immediate stop + start). Nothing here touches
// the machine's own Postgres (5432) or NATS (4222).
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { meterflowNatsUsers, natsNames, renderNatsAuthorization } from '@meterflow/contracts';

export const freePort = () =>
  new Promise((res) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });

const tcpOpen = (port) =>
  new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => (s.destroy(), resolve(false)));
  });

async function waitPort(port, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await tcpOpen(port)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not listen on ${port}`);
}

export function tempDir() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mf-chaos-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A Postgres cluster of its own. initdb refuses root: as root, the cluster runs as `postgres`. */
export async function startOwnPostgres(dir) {
  const versions = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a)) : [];
  const bin = versions.map((v) => `/usr/lib/postgresql/${v}/bin`).find((b) => existsSync(`${b}/pg_ctl`));
  if (!bin) throw new Error('no Postgres server binaries under /usr/lib/postgresql/*/bin (Debian: apt-get install postgresql)');
  const data = path.join(dir, 'pg');
  const sock = path.join(dir, 'pgsock');
  mkdirSync(sock, { recursive: true });
  const asRoot = process.getuid?.() === 0;
  const run = (cmd, args, opts = {}) => {
    const full = asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
    const r = spawnSync(full[0], full[1], { encoding: 'utf8', ...opts });
    if (r.status !== 0 && !opts.allowFail) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr || r.stdout}`);
    return r;
  };
  if (asRoot) {
    const { uid, gid } = userIds('postgres');
    chownSync(dir, uid, gid);
    chownSync(sock, uid, gid);
  }
  run(`${bin}/initdb`, ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8']);
  const port = await freePort();
  // fsync off: the faults here kill processes, not the machine; the OS keeps what was written.
  const options = `-p ${port} -k ${sock} -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off -c shared_buffers=128MB`;
  const start = async () => {
    run(`${bin}/pg_ctl`, ['-D', data, '-o', options, '-l', path.join(dir, 'pg.log'), '-w', '-t', '60', 'start']);
    await waitPort(port, 30_000, 'Postgres');
  };
  await start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/meterflow`,
    adminUrl: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    /** `pg_ctl stop -m immediate`: every backend ends at once, no checkpoint (recovery at start). */
    stopImmediate: () => run(`${bin}/pg_ctl`, ['-D', data, '-m', 'immediate', '-w', 'stop']),
    start,
    stop: () => run(`${bin}/pg_ctl`, ['-D', data, '-m', 'fast', '-w', 'stop'], { allowFail: true }),
  };
}

function userIds(name) {
  const line = spawnSync('getent', ['passwd', name], { encoding: 'utf8' }).stdout.trim();
  if (!line) throw new Error(`running as root needs a '${name}' user for initdb`);
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/** A nats-server with JetStream and Meterflow's users (password `chaos-<user>`). */
export async function startOwnNats(dir) {
  const bin = ['nats-server', '/usr/sbin/nats-server', '/usr/bin/nats-server'].find((b) => spawnSync(b, ['--version']).status === 0);
  if (!bin) throw new Error('nats-server is not installed (Debian: apt-get install nats-server)');
  const port = await freePort();
  const password = (user) => `chaos-${user}`;
  const conf = path.join(dir, 'nats.conf');
  writeFileSync(
    conf,
    `listen: 127.0.0.1:${port}\njetstream { store_dir: "${path.join(dir, 'js')}" }\n` +
      renderNatsAuthorization(meterflowNatsUsers(natsNames(''), password)),
  );
  let child;
  const start = async () => {
    child = spawn(bin, ['-c', conf], { stdio: ['ignore', 'ignore', 'ignore'] });
    await waitPort(port, 20_000, 'nats-server');
  };
  const kill = async () => {
    const c = child;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
  };
  await start();
  return { url: `nats://127.0.0.1:${port}`, port, password, start, kill, stop: kill };
}
