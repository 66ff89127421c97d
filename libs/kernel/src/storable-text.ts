/**
 * Text Postgres cannot store: `text` refuses the NUL character and `jsonb` refuses `\u0000` and
 * unpaired UTF-16 surrogates. Such values are refused where they enter (HTTP params, NATS
 * messages), never discovered by a failing INSERT further down a pipeline.
 */
export function isStorableText(s: string): boolean {
  return !s.includes('\u0000') && !LONE_SURROGATE.test(s);
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g');

/** A printable, storable rendering of any string (for error messages and dead letters). */
export function storableText(s: string): string {
  return s.replace(/\u0000/g, '\\u0000').replace(LONE_SURROGATES, '\uFFFD');
}

export interface UnstorableText {
  /** Keys and indices from the root to the offending key or value. */
  path: (string | number)[];
  /** A nesting deeper than `maxDepth` (not a text problem, but refused in the same walk). */
  tooDeep?: true;
}

/**
 * The first key or string value under `value` that Postgres cannot store, or undefined.
 * Iterative (a hostile body nested 100,000 deep must not overflow the stack); stops at
 * `maxDepth` levels and reports that instead.
 */
export function findUnstorableText(value: unknown, maxDepth = 64): UnstorableText | undefined {
  const stack: { v: unknown; path: (string | number)[] }[] = [{ v: value, path: [] }];
  while (stack.length) {
    const { v, path } = stack.pop()!;
    if (typeof v === 'string') {
      if (!isStorableText(v)) return { path };
      continue;
    }
    if (typeof v !== 'object' || v === null) continue;
    if (path.length >= maxDepth) return { path, tooDeep: true };
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], path: [...path, i] });
      continue;
    }
    const keys = Object.keys(v);
    for (let i = keys.length - 1; i >= 0; i--) {
      const k = keys[i]!;
      if (!isStorableText(k)) return { path: [...path, k] };
      stack.push({ v: (v as Record<string, unknown>)[k], path: [...path, k] });
    }
  }
  return undefined;
}
