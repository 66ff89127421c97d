import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseProgressLine, type ProgressListener } from '@meterflow/contracts';

export interface ScriptResult {
  code: number;
  /** stdout lines that were not progress updates (the script's own report). */
  output: string[];
  stderr: string;
}

/**
 * Run one of a service's entry points (`services/<name>/dist/<script>.js`) with the operator's
 * env, as its own process (the CLI does not import service code). Progress lines it prints
 * (`MF_PROGRESS=json`) go to `onProgress`; everything else is returned.
 */
export function runServiceScript(
  root: string,
  service: string,
  script: string,
  opts: { args?: string[]; env?: Record<string, string>; onProgress?: ProgressListener } = {},
): Promise<ScriptResult> {
  const dir = path.join(root, 'services', service);
  const entry = path.join(dir, 'dist', `${script}.js`);
  if (!existsSync(entry)) {
    return Promise.resolve({ code: 127, output: [], stderr: `${entry} is missing: build first (pnpm build)` });
  }
  const child = spawn(process.execPath, [entry, ...(opts.args ?? [])], {
    cwd: dir,
    env: { ...process.env, ...opts.env, ...(opts.onProgress ? { MF_PROGRESS: 'json' } : {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  let stderr = '';
  createInterface({ input: child.stdout }).on('line', (line) => {
    const p = parseProgressLine(line);
    if (p) opts.onProgress?.(p);
    else output.push(line);
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => {
    child.on('error', (e) => resolve({ code: 1, output, stderr: stderr + String(e) }));
    child.on('close', (code) => resolve({ code: code ?? 1, output, stderr }));
  });
}
