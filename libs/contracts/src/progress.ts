/**
 * How a long-running operator job (a read-model rebuild, run as its service's `dist/rebuild.js`)
 * tells the CLI how far it is: one JSON line per update on stdout, `{"mf_progress":{...}}`,
 * when started with `MF_PROGRESS=json`. Anything else on stdout is the job's own output.
 */
export interface ProgressUpdate {
  /** What is being done now (`replay`, `project invoices`, `indexes`); a new phase starts a new bar. */
  phase: string;
  done: number;
  /** 0 = unknown (a spinner instead of a bar). */
  total: number;
  /** What `done` counts (`events`, `rows`). */
  unit: string;
}

export type ProgressListener = (p: ProgressUpdate) => void;

const KEY = 'mf_progress';

export const formatProgressLine = (p: ProgressUpdate): string => JSON.stringify({ [KEY]: p });

/** The update a line carries, or undefined for any other line. */
export function parseProgressLine(line: string): ProgressUpdate | undefined {
  if (!line.startsWith(`{"${KEY}"`)) return undefined;
  try {
    const p = (JSON.parse(line) as Record<string, unknown>)[KEY] as Partial<ProgressUpdate> | undefined;
    if (!p || typeof p.phase !== 'string' || typeof p.done !== 'number' || typeof p.total !== 'number') return undefined;
    return { phase: p.phase, done: p.done, total: p.total, unit: typeof p.unit === 'string' ? p.unit : '' };
  } catch {
    return undefined;
  }
}

/**
 * The listener a job's entry point passes to its work: JSON lines on stdout when the CLI asked
 * for them (`MF_PROGRESS=json`), nothing otherwise. Updates of one phase are sent at most every
 * `everyMs` (the first and the last always).
 */
export function progressFromEnv(env: Record<string, string | undefined> = process.env, everyMs = 200): ProgressListener | undefined {
  if (env.MF_PROGRESS !== 'json') return undefined;
  let last = 0;
  let lastPhase = '';
  return (p) => {
    const now = Date.now();
    if (p.phase === lastPhase && now - last < everyMs && p.done < p.total) return;
    last = now;
    lastPhase = p.phase;
    process.stdout.write(`${formatProgressLine(p)}\n`);
  };
}
