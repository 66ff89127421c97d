/** Pure parsing for `clock advance <id> <time>`. */

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 7 * 86_400 };

/**
 * The target frozen time, unix seconds: `1767225600`, an ISO date (`2026-02-01`,
 * `2026-02-01T12:00:00Z`; UTC unless it says otherwise), or relative to the clock's frozen time:
 * `+90m`, `+36h`, `+35d`, `+2w`, `+1mo` (calendar months, day clamped: Jan 31 + 1mo = Feb 28/29).
 */
export function parseAdvanceTime(input: string, frozenTime: number): number {
  const t = input.trim();
  if (/^\d+$/.test(t)) return Number(t);
  const rel = /^\+(\d+)\s*(mo|months?|[smhdw])$/i.exec(t);
  if (rel) {
    const k = Number(rel[1]);
    const unit = rel[2]!.toLowerCase();
    if (unit.startsWith('mo')) return addMonths(frozenTime, k);
    return frozenTime + k * UNITS[unit]!;
  }
  const iso = /^\d{4}-\d{2}-\d{2}$/.test(t) ? `${t}T00:00:00Z` : /[zZ]|[+-]\d{2}:?\d{2}$/.test(t) ? t : `${t}Z`;
  const ms = Date.parse(iso);
  if (Number.isNaN(ms))
    throw new Error(`cannot read "${input}" as a time: give unix seconds, an ISO date (2026-02-01T00:00:00Z) or +35d / +1mo / +36h`);
  return Math.floor(ms / 1000);
}

function addMonths(unix: number, months: number): number {
  const d = new Date(unix * 1000);
  const day = d.getUTCDate();
  const target = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + months, 1, d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()));
  const last = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  target.setUTCDate(Math.min(day, last));
  return Math.floor(target.getTime() / 1000);
}

export const isoOf = (unix: number): string => new Date(unix * 1000).toISOString().replace('.000Z', 'Z');
