// `pnpm test`: every check and every test, on the machine's real Postgres and NATS.
import { spawnSync } from 'node:child_process';
import { readFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { ROOT, ensureNats, ensurePostgres } from './infra.mjs';
import { sweepTestStreams } from './sweep-test-streams.mjs';

const run = (cmd, args) => {
  console.log(`\n[meterflow] $ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit', env: process.env });
  return r.status ?? 1;
};

process.env.DATABASE_URL = await ensurePostgres(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/meterflow');
const admin = new URL(process.env.DATABASE_URL);
admin.pathname = '/postgres';
process.env.TEST_DATABASE_URL ??= admin.toString();
await ensureNats(process.env.NATS_URL ?? 'nats://127.0.0.1:4222');

for (const [cmd, args] of [
  ['pnpm', ['-s', 'typecheck']],
  ['pnpm', ['-s', 'lint']],
  ['pnpm', ['-s', 'build']],
]) {
  if (run(cmd, args) !== 0) {
    console.log(`\n0 passed, 1 failed`);
    process.exit(1);
  }
}

mkdirSync(path.join(ROOT, '.tmp'), { recursive: true });
const report = path.join(ROOT, '.tmp', 'vitest-report.json');
const extra = process.argv.slice(2);
// Streams left by earlier runs that were killed before their teardown.
await sweepTestStreams().catch(() => undefined);
const status = run('pnpm', ['exec', 'vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...extra]);
try {
  const r = JSON.parse(readFileSync(report, 'utf8'));
  const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  console.log(`\n${r.numPassedTests} passed, ${r.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ''}`);
  if (r.numTotalTests === 0) process.exit(1);
} catch {
  console.log('\n0 passed, 1 failed');
}
process.exit(status);
