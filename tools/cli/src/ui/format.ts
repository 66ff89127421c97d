/** Pure formatting for progress output (unit-tested): durations, ETAs and the plain-text line. */

/** `75` -> `1m 15s`, `3725` -> `1h 2m`; `NaN`/negative -> `?`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

/** Seconds left at the average rate so far; undefined until there is a rate (or with no total). */
export function etaSeconds(done: number, total: number, elapsedMs: number): number | undefined {
  if (total <= 0 || done <= 0 || elapsedMs <= 0) return undefined;
  if (done >= total) return 0;
  return ((total - done) * elapsedMs) / done / 1000;
}

const n = (x: number): string => x.toLocaleString('en-US');

export interface ProgressState {
  label: string;
  done: number;
  /** 0 = unknown. */
  total: number;
  unit: string;
  elapsedMs: number;
  detail?: string;
}

/** `rebuild credit-ledger: 400,000/1,000,000 events (40%), 210,000/s, ETA 3s` (logs, CI, pipes). */
export function progressText(p: ProgressState): string {
  const parts: string[] = [];
  const unit = p.unit ? ` ${p.unit}` : '';
  if (p.total > 0) {
    const pct = Math.min(100, Math.floor((p.done / p.total) * 100));
    parts.push(`${n(p.done)}/${n(p.total)}${unit} (${pct}%)`);
  } else if (p.done > 0 || p.unit) parts.push(`${n(p.done)}${unit}`);
  if (p.done > 0 && p.elapsedMs >= 1000) parts.push(`${n(Math.round((p.done * 1000) / p.elapsedMs))}/s`);
  const eta = etaSeconds(p.done, p.total, p.elapsedMs);
  if (eta !== undefined && p.done < p.total) parts.push(`ETA ${formatDuration(eta)}`);
  if (p.detail) parts.push(p.detail);
  return `${p.label}: ${parts.join(', ') || '...'}`;
}
