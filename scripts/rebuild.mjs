// `pnpm rebuild <service>`: drop a service's read models and replay its event store.
// Operators run it with the service stopped (or while it keeps serving: it rebuilds in one
// transaction). Example: pnpm rebuild credit-ledger
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './infra.mjs';

const services = ['credit-ledger', 'invoicing', 'meter-ingestion', 'rating'];
const svc = process.argv[2];
if (!services.includes(svc)) {
  console.error(`usage: pnpm rebuild <${services.join('|')}>`);
  process.exit(2);
}
const entry = path.join(ROOT, 'services', svc, 'dist', 'rebuild.js');
if (!existsSync(entry)) spawnSync('pnpm', ['-s', '--filter', `@meterflow/${svc}`, 'build'], { cwd: ROOT, stdio: 'inherit' });
const r = spawnSync(process.execPath, [entry, ...process.argv.slice(3)], { cwd: path.dirname(path.dirname(entry)), stdio: 'inherit' });
process.exit(r.status ?? 1);
