// Starts the five services as processes (migrations first), waits until each is ready.
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { ROOT, ensureNats, ensurePostgres } from './infra.mjs';

export const SERVICES = [
  { name: 'meter-ingestion', port: 3101 },
  { name: 'rating', port: 3102 },
  { name: 'invoicing', port: 3103 },
  { name: 'credit-ledger', port: 3104 },
  { name: 'gateway', port: 3000 },
];

const nodeBin = process.execPath;

export function build() {
  const r = spawnSync('pnpm', ['-s', 'build'], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('build failed');
}

export function migrateAll(env) {
  for (const s of SERVICES) {
    const r = spawnSync(nodeBin, [path.join(ROOT, 'services', s.name, 'dist', 'migrate.js')], {
      cwd: path.join(ROOT, 'services', s.name),
      env: { ...process.env, ...env },
      stdio: 'inherit',
    });
    if (r.status !== 0) throw new Error(`migrations of ${s.name} failed`);
  }
}

async function ready(url, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const r = await fetch(`${url}/readyz`);
      if (r.ok) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not become ready`);
}

const portFree = (port) =>
  new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: '0.0.0.0', exclusive: true }, () => srv.close(() => resolve(true)));
  });

/**
 * A port offset under which every service's port is free now: random in [10000, 29000) so that
 * the ports stay below Linux's ephemeral range (32768+, where outgoing connections take theirs),
 * checked by binding each, retried on a clash (another stack, a benchmark, a dev server).
 */
export async function freePortOffset(ports = SERVICES.map((s) => s.port)) {
  for (let i = 0; i < 50; i++) {
    const offset = 10000 + Math.floor(Math.random() * 19000);
    const free = await Promise.all(ports.map((p) => portFree(p + offset)));
    if (free.every(Boolean)) return offset;
  }
  throw new Error('no free port offset found for the stack');
}

/**
 * `BENCH_REPLICAS`-style text (`invoicing:2,credit-ledger:2`) as `{ invoicing: 2, 'credit-ledger': 2 }`;
 * a service not named runs once.
 */
export function parseReplicas(text) {
  const out = {};
  for (const part of (text ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)) {
    const [name, n] = part.split(':');
    if (!SERVICES.some((s) => s.name === name) || !(Number(n) >= 1)) throw new Error(`replicas: '${part}' is not <service>:<count>`);
    out[name] = Number(n);
  }
  return out;
}

/** The processes to run: every service once, or `replicas[name]` times; replica k > 1 is named `<service>#k`, on port + 100 (k - 1). */
function instancesOf(replicas = {}) {
  return SERVICES.flatMap((s) =>
    Array.from({ length: replicas[s.name] ?? 1 }, (_, k) => ({
      name: k === 0 ? s.name : `${s.name}#${k + 1}`,
      service: s.name,
      port: s.port + 100 * k,
    })),
  );
}

/**
 * Start the whole system. `opts.env` is applied to every service; `opts.portOffset` shifts
 * every port (tests use it to run beside a developer's stack; `'free'` picks one whose ports are free); `opts.nodeArgs(service)` adds Node
 * flags (benchmarks: `--cpu-prof`), `opts.envFor(service)` its own environment (a NATS user each);
 * `opts.replicas` runs several processes of a service (`{ invoicing: 2 }`, see `parseReplicas`).
 * Returns a handle to stop it, and to restart a service that was killed.
 */
export async function startStack(opts = {}) {
  const databaseUrl = await ensurePostgres(opts.databaseUrl ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/meterflow');
  const natsUrl = await ensureNats(opts.natsUrl ?? process.env.NATS_URL ?? 'nats://127.0.0.1:4222');
  const env = { DATABASE_URL: databaseUrl, NATS_URL: natsUrl, ...opts.env };
  if (opts.build !== false) build();
  migrateAll(env);
  const children = [];
  const instances = instancesOf(opts.replicas);
  const offset = opts.portOffset === 'free' ? await freePortOffset(instances.map((s) => s.port)) : (opts.portOffset ?? 0);
  const spawnService = (s, port) =>
    spawn(
      nodeBin,
      ['--enable-source-maps', ...(opts.nodeArgs?.(s.name) ?? []), path.join(ROOT, 'services', s.service, 'dist', 'main.js')],
      {
        cwd: path.join(ROOT, 'services', s.service),
        // PGAPPNAME: each process's Postgres connections say whose they are (pg_stat_activity).
        env: { ...process.env, PGAPPNAME: s.name, ...env, ...opts.envFor?.(s.service), HTTP_PORT: String(port) },
        stdio: opts.quiet ? ['ignore', 'ignore', 'inherit'] : ['ignore', 'inherit', 'inherit'],
      },
    );
  for (const s of instances) {
    const port = s.port + offset;
    children.push({ ...s, port, child: spawnService(s, port) });
  }
  /** Start a service again whose process has ended (a fault test's kill -9), and wait until it is ready. */
  const restart = async (name) => {
    const c = children.find((x) => x.name === name);
    if (c.child.exitCode === null && c.child.signalCode === null) throw new Error(`${name} is still running`);
    c.child = spawnService(c, c.port);
    await ready(`http://127.0.0.1:${c.port}`, 120_000);
  };
  const stop = async () => {
    for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGTERM');
    await Promise.all(
      children.map(
        (c) =>
          new Promise((r) => {
            if (c.child.exitCode !== null || c.child.signalCode !== null) return r();
            const t = setTimeout(() => {
              c.child.kill('SIGKILL');
              r();
            }, 5000);
            c.child.once('exit', () => {
              clearTimeout(t);
              r();
            });
          }),
      ),
    );
  };
  try {
    for (const c of children) {
      const exited = new Promise((_, rej) => c.child.once('exit', (code) => rej(new Error(`${c.name} exited with ${code}`))));
      await Promise.race([ready(`http://127.0.0.1:${c.port}`, 120_000), exited]);
    }
  } catch (e) {
    await stop();
    throw e;
  }
  const gateway = children.find((c) => c.name === 'gateway');
  return { apiUrl: `http://127.0.0.1:${gateway.port}`, gatewayPort: gateway.port, databaseUrl, natsUrl, children, stop, restart };
}
