import type { ProgressListener } from '@meterflow/contracts';
import type { CliConfig } from './config.js';
import { runServiceScript, type ScriptResult } from './service-script.js';

/** The services with read models to rebuild (the gateway keeps none it could replay). */
export const REBUILDABLE = ['credit-ledger', 'invoicing', 'meter-ingestion', 'rating'] as const;
export type Rebuildable = (typeof REBUILDABLE)[number];

export const isRebuildable = (s: string): s is Rebuildable => (REBUILDABLE as readonly string[]).includes(s);

/**
 * Drop a service's read models and replay its event store (the service's own `rebuild.js`,
 * the projection code of the live path), reporting events replayed / total as it goes.
 */
export function rebuildService(cfg: CliConfig, service: Rebuildable, onProgress?: ProgressListener): Promise<ScriptResult> {
  return runServiceScript(cfg.root, service, 'rebuild', {
    env: { DATABASE_URL: cfg.databaseUrl, LOG_LEVEL: 'warn' },
    ...(onProgress ? { onProgress } : {}),
  });
}
