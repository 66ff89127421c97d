import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A nats-server of a test's own (own port, own store dir, own config), for fault and permission tests. */
export interface OwnNatsServer {
  url: string;
  port: number;
  /** SIGKILL: the broker vanishes mid-conversation. */
  kill(): Promise<void>;
  /** Starts it again on the same port and store (after `kill`). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export const NATS_SERVER_BIN = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'].find(existsSync);

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((r) => {
      const c = tcpConnect(port, '127.0.0.1');
      c.once('connect', () => (c.destroy(), r(true)));
      c.once('error', () => r(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`nats-server did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Starts `nats-server -js` on a free loopback port. `config` is the body of a nats-server
 * config file (e.g. `authorization { users = [...] }`); listen address and store are added.
 */
export async function startOwnNatsServer(opts: { config?: string } = {}): Promise<OwnNatsServer> {
  if (!NATS_SERVER_BIN) throw new Error('nats-server is not installed');
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'mf-nats-'));
  const conf = join(dir, 'nats.conf');
  writeFileSync(conf, `listen: 127.0.0.1:${port}\njetstream { store_dir: "${join(dir, 'js')}" }\n${opts.config ?? ''}\n`);
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(NATS_SERVER_BIN!, ['-c', conf], { stdio: 'ignore' });
    await waitForPort(port, 10_000);
  };
  const kill = async () => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
  };
  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    kill,
    start,
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
