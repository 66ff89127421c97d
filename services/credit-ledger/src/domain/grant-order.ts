import type { GrantOrderKey } from '@meterflow/contracts';
import { compareGrants } from './credit-application.js';
import type { GrantState } from './credit-grant.decider.js';

/*
 * Why grants were drawn in the order they were (issue 8 item 10): Stripe's order
 * (`compareGrants`: priority, soonest expiry, promotional before paid, earlier effective_at,
 * earlier created, then id) read back as the first key on which each grant comes before the next.
 */

export interface GrantOrderReason {
  rank: number;
  before_next_by: GrantOrderKey | null;
  reason: string;
}

type G = Pick<GrantState, 'id' | 'priority' | 'expiresAt' | 'category' | 'effectiveAt' | 'created'>;

const when = (t: number | null): string => (t === null ? 'never' : new Date(t * 1000).toISOString());

/** The first order key on which `a` and `b` differ, and why `a` comes first. */
export function firstDifference(a: G, b: G): { key: GrantOrderKey; why: string } {
  if (a.priority !== b.priority) return { key: 'priority', why: `priority ${a.priority} before ${b.priority} (lower first)` };
  if (a.expiresAt !== b.expiresAt)
    return { key: 'expires_at', why: `expires ${when(a.expiresAt)}, before ${when(b.expiresAt)} (soonest expiry first, none last)` };
  if (a.category !== b.category) return { key: 'category', why: `${a.category} before ${b.category} (promotional first)` };
  if (a.effectiveAt !== b.effectiveAt)
    return { key: 'effective_at', why: `effective ${when(a.effectiveAt)}, before ${when(b.effectiveAt)} (earlier first)` };
  if (a.created !== b.created) return { key: 'created', why: `created ${when(a.created)}, before ${when(b.created)} (earlier first)` };
  return { key: 'id', why: `same terms: by id, ${a.id} before ${b.id}` };
}

/** Each grant's rank (1 = drawn first) among `grants`, and why it precedes the next. */
export function explainGrantOrder(grants: readonly GrantState[]): Map<string, GrantOrderReason> {
  const ordered = [...grants].sort(compareGrants);
  const out = new Map<string, GrantOrderReason>();
  ordered.forEach((g, i) => {
    const next = ordered[i + 1];
    if (!next) {
      out.set(g.id, { rank: i + 1, before_next_by: null, reason: ordered.length === 1 ? 'the only grant drawn' : 'drawn last' });
      return;
    }
    const d = firstDifference(g, next);
    out.set(g.id, { rank: i + 1, before_next_by: d.key, reason: `before ${next.id}: ${d.why}` });
  });
  return out;
}
