/**
 * Whether two values serialise to the same JSON text: `JSON.stringify(a) === JSON.stringify(b)`,
 * without building either text. A walk of plain data (what `JSON.parse` gives, and objects and
 * arrays built of it) that stops at the first difference and keeps JSON's rules: keys in their
 * order, a property holding `undefined`, a function or a symbol left out (`null` in an array),
 * `NaN` and infinities written as `null`. Anything else (a `toJSON`, a class instance, a bigint)
 * is compared by its JSON text, so the answer is always `JSON.stringify`'s.
 *
 * For Stripe's `previous_attributes`: the fields of an object that an update changed.
 */
export function sameJson(a: unknown, b: unknown): boolean {
  return same(a, b, false);
}

type Kind = 'null' | 'absent' | 'string' | 'number' | 'boolean' | 'array' | 'object' | 'other';

function kind(v: unknown, inArray: boolean): Kind {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'string':
      return 'string';
    case 'boolean':
      return 'boolean';
    case 'number':
      return Number.isFinite(v) ? 'number' : 'null';
    case 'undefined':
    case 'function':
    case 'symbol':
      return inArray ? 'null' : 'absent';
    case 'object': {
      if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return 'other';
      if (Array.isArray(v)) return 'array';
      const proto: unknown = Object.getPrototypeOf(v);
      return proto === Object.prototype || proto === null ? 'object' : 'other';
    }
    default:
      return 'other';
  }
}

const dropped = (v: unknown): boolean => v === undefined || typeof v === 'function' || typeof v === 'symbol';

function same(a: unknown, b: unknown, inArray: boolean): boolean {
  if (a === b) return true;
  const ka = kind(a, inArray);
  const kb = kind(b, inArray);
  if (ka === 'other' || kb === 'other') return JSON.stringify(a) === JSON.stringify(b);
  if (ka !== kb) return false;
  switch (ka) {
    case 'null':
    case 'absent':
      return true;
    case 'array': {
      const x = a as readonly unknown[];
      const y = b as readonly unknown[];
      if (x.length !== y.length) return false;
      for (let i = 0; i < x.length; i++) if (!same(x[i], y[i], true)) return false;
      return true;
    }
    case 'object':
      return sameObject(a as Record<string, unknown>, b as Record<string, unknown>);
    default:
      // Two different strings, numbers (finite, not equal) or booleans.
      return false;
  }
}

/** The same keys in the same order, once the properties JSON leaves out are skipped, with the same values. */
function sameObject(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  let i = 0;
  let j = 0;
  for (;;) {
    while (i < ka.length && dropped(a[ka[i]!])) i++;
    while (j < kb.length && dropped(b[kb[j]!])) j++;
    if (i === ka.length || j === kb.length) return i === ka.length && j === kb.length;
    const k = ka[i]!;
    if (k !== kb[j] || !same(a[k], b[k], false)) return false;
    i++;
    j++;
  }
}
