// `pnpm migrate`: apply every service's migrations (the separate step operators run).
import { build, migrateAll } from './stack.mjs';
import { ensurePostgres } from './infra.mjs';

const DATABASE_URL = await ensurePostgres(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/meterflow');
if (!process.argv.includes('--no-build')) build();
migrateAll({ DATABASE_URL });
console.log('[meterflow] migrations applied');
