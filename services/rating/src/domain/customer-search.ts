import { DomainError } from '@meterflow/kernel';

/**
 * Stripe's search query language, the part `customers/search` needs: clauses `field:value`
 * (exact), `field~value` (substring, 3 characters at least), `created>n` (`<`, `>=`, `<=`, `:`),
 * `metadata['key']:value`, a leading `-` negates; joined all by `AND` or all by `OR` (Stripe
 * refuses a mix), at most 10 clauses. Values are quoted strings ('..' or "..", `\` escapes) or,
 * for `created`, integers.
 */
export type SearchField = 'email' | 'name' | 'phone' | 'created' | { metadata: string };
export type SearchOp = ':' | '~' | '>' | '<' | '>=' | '<=';
export interface SearchClause {
  field: SearchField;
  op: SearchOp;
  value: string | number;
  negate: boolean;
}
export interface SearchQuery {
  join: 'AND' | 'OR';
  clauses: SearchClause[];
}

const STRING_FIELDS = new Set(['email', 'name', 'phone']);
const invalid = (message: string) => new DomainError('parameter_invalid', message, { param: 'query' });

export function parseCustomerSearch(input: string): SearchQuery {
  let i = 0;
  const s = input;
  const ws = () => {
    while (i < s.length && /\s/.test(s[i]!)) i++;
  };
  const quoted = (): string => {
    const q = s[i];
    if (q !== "'" && q !== '"') throw invalid(`Expected a quoted value at position ${i} of the query.`);
    i++;
    let out = '';
    while (i < s.length && s[i] !== q) {
      if (s[i] === '\\' && i + 1 < s.length) i++;
      out += s[i++];
    }
    if (s[i] !== q) throw invalid('The query has an unterminated string.');
    i++;
    return out;
  };
  const clause = (): SearchClause => {
    ws();
    const negate = s[i] === '-';
    if (negate) i++;
    const name = /^[a-z_]+/.exec(s.slice(i))?.[0] ?? '';
    i += name.length;
    let field: SearchField;
    if (name === 'metadata') {
      if (s[i] !== '[') throw invalid("Use metadata['key'] to search metadata.");
      i++;
      const key = quoted();
      if (s[i] !== ']') throw invalid("Use metadata['key'] to search metadata.");
      i++;
      field = { metadata: key };
    } else if (STRING_FIELDS.has(name) || name === 'created') field = name as SearchField;
    else throw invalid(`Field '${name}' is not supported for search on customers. Use one of: created, email, metadata, name, phone.`);
    const op = (/^(>=|<=|:|~|>|<)/.exec(s.slice(i))?.[0] ?? '') as SearchOp | '';
    if (!op) throw invalid(`Expected one of : ~ > < >= <= after '${name}'.`);
    i += op.length;
    if (field === 'created') {
      if (op === '~') throw invalid('created cannot be searched with ~.');
      const n = /^-?\d+/.exec(s.slice(i))?.[0];
      if (!n) throw invalid('created takes a unix timestamp.');
      i += n.length;
      return { field, op, value: Number(n), negate };
    }
    if (op !== ':' && op !== '~') throw invalid(`${name} can only be searched with : or ~.`);
    const value = quoted();
    if (op === '~' && value.length < 3) throw invalid('A substring search (~) needs at least 3 characters.');
    return { field, op, value, negate };
  };

  const clauses = [clause()];
  let join: 'AND' | 'OR' | undefined;
  for (;;) {
    ws();
    if (i >= s.length) break;
    const word = /^(AND|OR)\s/.exec(s.slice(i))?.[1] as 'AND' | 'OR' | undefined;
    if (!word) throw invalid(`Expected AND or OR at position ${i} of the query.`);
    if (join && join !== word) throw invalid('A query cannot mix AND and OR.');
    join = word;
    i += word.length;
    clauses.push(clause());
    if (clauses.length > 10) throw invalid('A query has at most 10 clauses.');
  }
  return { join: join ?? 'AND', clauses };
}

/** The opaque `page` token of a search result: where the next page starts. */
export const encodePage = (lastId: string): string => Buffer.from(JSON.stringify({ after: lastId })).toString('base64url');
export function decodePage(page: string): string {
  try {
    const v = JSON.parse(Buffer.from(page, 'base64url').toString('utf8')) as { after?: unknown };
    if (typeof v.after === 'string') return v.after;
  } catch {
    // fall through
  }
  throw new DomainError('parameter_invalid', 'Invalid page token.', { param: 'page' });
}
