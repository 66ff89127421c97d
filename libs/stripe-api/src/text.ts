import { DomainError, findUnstorableText, isStorableText, storableText } from '@meterflow/kernel';
import type { Params } from './params.js';

/** Most levels of nesting a request may have (qs stops form bodies at 10; JSON bodies here). */
export const MAX_PARAM_DEPTH = 32;

/** Stripe's bracketed name of a nested parameter: `items[0][price]`. */
function bracketName(path: readonly (string | number)[]): string {
  const [first, ...rest] = path.map((p) => storableText(String(p)));
  return (first ?? '') + rest.map((p) => `[${p}]`).join('');
}

/**
 * Refuse, with a 400 naming the parameter, any key or value Postgres could not store (NUL,
 * unpaired surrogates) and any body nested deeper than `MAX_PARAM_DEPTH`. Run once on the
 * decoded params of every API call, before anything reads or stores them.
 */
export function refuseUnstorableText(params: Params, pathParams: Readonly<Record<string, string>> = {}): void {
  for (const [k, v] of Object.entries(pathParams)) if (!isStorableText(v)) throw badText(k);
  const bad = findUnstorableText(params, MAX_PARAM_DEPTH);
  if (!bad) return;
  const name = bracketName(bad.path);
  if (bad.tooDeep)
    throw new DomainError('parameter_invalid', `Parameters are nested too deeply at '${name}' (at most ${MAX_PARAM_DEPTH} levels).`, {
      param: name,
    });
  throw badText(name);
}

const badText = (name: string): DomainError =>
  new DomainError(
    'parameter_invalid',
    `Invalid value for '${name}': text may not contain NUL (\\u0000) characters or unpaired UTF-16 surrogates.`,
    { param: name },
  );
