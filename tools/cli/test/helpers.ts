import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliConfig, type CliConfig } from '../src/ops/config.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** The CLI's config pointed at a test's own database and namespace. */
export const testConfig = (databaseUrl: string, namespace: string, env: Record<string, string> = {}): CliConfig =>
  cliConfig({ ...process.env, DATABASE_URL: databaseUrl, MF_NAMESPACE: namespace, MF_ROOT: ROOT, ...env });
