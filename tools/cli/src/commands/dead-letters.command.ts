import type { Command } from 'commander';
import pg from 'pg';
import pc from 'picocolors';
import type { NatsConnection } from '@nats-io/transport-node';
import { cliConfig, SERVICE_SCHEMAS, type ServiceWithSchema } from '../ops/config.js';
import { findDeadLetters, listDeadLetters, replayDeadLetters } from '../ops/dead-letters.js';
import type { DeadLetterEntry } from '../ops/dead-letter-plan.js';
import { connectOperator } from '../ops/nats.js';
import { startProgress } from '../ui/progress.js';

const SERVICES = Object.keys(SERVICE_SCHEMAS) as ServiceWithSchema[];

async function withConnections<T>(fn: (pool: pg.Pool, nc: NatsConnection | undefined) => Promise<T>, needNats: boolean): Promise<T> {
  const cfg = cliConfig();
  const pool = new pg.Pool({ connectionString: cfg.databaseUrl, max: 2, connectionTimeoutMillis: 5_000 });
  pool.on('error', () => undefined);
  const nc = await connectOperator(cfg).catch((e: Error) => {
    if (needNats) throw new Error(`NATS does not answer at ${cfg.natsUrl} (${e.message}): a replay publishes to it`);
    console.error(pc.yellow(`NATS does not answer at ${cfg.natsUrl}: showing the Postgres tables only`));
    return undefined;
  });
  try {
    return await fn(pool, nc);
  } finally {
    await nc?.close().catch(() => undefined);
    await pool.end();
  }
}

const service = (s: string | undefined): ServiceWithSchema | undefined => {
  if (s === undefined) return undefined;
  if (!SERVICES.includes(s as ServiceWithSchema)) throw new Error(`unknown service "${s}" (one of ${SERVICES.join(', ')})`);
  return s as ServiceWithSchema;
};

export function formatEntry(e: DeadLetterEntry, full: boolean): string {
  const data = full ? e.data : e.data.length > 160 ? `${e.data.slice(0, 157)}...` : e.data;
  return [
    `${pc.bold(e.ref)}  ${e.recordedAt.toISOString()}  ${e.consumer}  ${pc.dim(e.subject)}`,
    `  ${pc.yellow(e.reason)}`,
    `  ${data}`,
  ].join('\n');
}

export function deadLettersCommand(program: Command): void {
  const dl = program
    .command('dead-letters')
    .description('messages consumers gave up on (Postgres dead_letters tables and MF_DEAD_LETTERS), and replaying them');
  dl.command('list')
    .description('newest first, with the reason and the message')
    .option('-s, --service <name>', `only one service (${SERVICES.join(', ')})`)
    .option('-n, --limit <n>', 'at most this many', '50')
    .option('--full', 'print whole messages')
    .option('--json', 'print JSON')
    .action(async (o: { service?: string; limit: string; full?: boolean; json?: boolean }) => {
      const cfg = cliConfig();
      const svc = service(o.service);
      const entries = await withConnections(
        (pool, nc) => listDeadLetters(cfg, pool, nc, { ...(svc ? { service: svc } : {}), limit: Number(o.limit) }),
        false,
      );
      if (o.json) return console.log(JSON.stringify(entries, null, 2));
      if (entries.length === 0) return console.log('no dead letters');
      for (const e of entries) console.log(formatEntry(e, !!o.full));
      console.log(pc.dim(`\n${entries.length} shown; replay with: ./mf dead-letters replay <ref...> (or --all)`));
    });
  dl.command('replay')
    .description(
      'publish them again to the subject they were consumed from; each is removed once stored (one that fails again comes back with its new reason)',
    )
    .argument('[refs...]', 'references from `list` (<schema>:<id> or MF_DEAD_LETTERS:<seq>)')
    .option('--all', 'every dead letter (of --service, if given)')
    .option('-s, --service <name>', `with --all: only one service (${SERVICES.join(', ')})`)
    .option('-n, --limit <n>', 'with --all: at most this many', '10000')
    .action(async (refs: string[], o: { all?: boolean; service?: string; limit: string }) => {
      if (!refs.length && !o.all) program.error('dead-letters replay: name references, or --all');
      const cfg = cliConfig();
      const svc = service(o.service);
      const results = await withConnections(async (pool, nc) => {
        const entries = refs.length
          ? await findDeadLetters(cfg, pool, nc, refs)
          : (await listDeadLetters(cfg, pool, nc, { ...(svc ? { service: svc } : {}), limit: Number(o.limit) })).reverse();
        const bar = startProgress('replay', { total: entries.length, unit: 'dead letters' });
        const out = await replayDeadLetters(cfg, pool, nc!, entries, (_r, i) => bar.update(i + 1));
        bar.succeed();
        return out;
      }, true);
      for (const r of results)
        if (r.outcome !== 'replayed') console.log(`${r.outcome === 'held' ? pc.yellow('held') : pc.red('failed')} ${r.ref}: ${r.detail}`);
      const n = (k: string) => results.filter((r) => r.outcome === k).length;
      console.log(`${n('replayed')} replayed, ${n('held')} held, ${n('failed')} failed`);
      if (n('failed')) process.exitCode = 1;
    });
}
