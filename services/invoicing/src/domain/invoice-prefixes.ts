/**
 * Invoice-number prefixes for the customers numbering in one unit of work.
 *
 * A customer that holds a prefix keeps it. Any other gets the first of its `candidates` that is
 * neither `taken` (held by some customer) nor given to a customer before it in `customers`.
 * Customers whose candidates are all taken are left `unassigned`, for the caller to look further
 * (longer candidates, after reading which of those are held). Pure: the same inputs give the same
 * prefixes.
 */
export function assignPrefixes(
  customers: readonly string[],
  held: ReadonlyMap<string, string>,
  taken: ReadonlySet<string>,
  candidates: (customer: string) => readonly string[],
): { assigned: Map<string, string>; unassigned: string[] } {
  const used = new Set(taken);
  const assigned = new Map<string, string>();
  const unassigned: string[] = [];
  for (const c of customers) {
    const own = held.get(c);
    const prefix = own ?? candidates(c).find((p) => !used.has(p));
    if (prefix === undefined) {
      unassigned.push(c);
      continue;
    }
    assigned.set(c, prefix);
    used.add(prefix);
  }
  return { assigned, unassigned };
}
