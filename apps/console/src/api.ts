/**
 * The console's only way to the data: the public Stripe-compatible API of the gateway it is
 * served by, with the signed-in secret key as a Bearer token (the same calls the SDK makes).
 * The key lives in sessionStorage: closing the tab signs out.
 */
const KEY = 'meterflow.console.key';

export type Params = Record<string, unknown>;

export interface StripeList<T> {
  object: 'list';
  data: T[];
  has_more: boolean;
  url: string;
}

export interface SearchResult<T> {
  object: 'search_result';
  data: T[];
  has_more: boolean;
  next_page: string | null;
  url: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

export const session = {
  key: (): string | null => sessionStorage.getItem(KEY),
  signIn: (key: string): void => sessionStorage.setItem(KEY, key),
  signOut: (): void => {
    sessionStorage.removeItem(KEY);
    signedOut.forEach((f) => f());
  },
};
const signedOut = new Set<() => void>();
export const onSignOut = (f: () => void): (() => void) => {
  signedOut.add(f);
  return () => signedOut.delete(f);
};

/** Stripe's form encoding: nested objects and arrays in bracket notation (`filter[type]`, `items[0][price]`). */
export function formEncode(params: Params): string {
  const out = new URLSearchParams();
  const put = (name: string, v: unknown): void => {
    if (v === undefined) return;
    if (v === null) out.append(name, '');
    else if (Array.isArray(v)) v.forEach((x, i) => put(`${name}[${i}]`, x));
    else if (typeof v === 'object') for (const [k, x] of Object.entries(v)) put(`${name}[${k}]`, x);
    else out.append(name, String(v));
  };
  for (const [k, v] of Object.entries(params)) put(k, v);
  return out.toString();
}

async function call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, params: Params = {}, key = session.key()): Promise<T> {
  if (!key) throw new ApiError(401, 'Not signed in.');
  const body = formEncode(params);
  const url = method === 'POST' || !body ? path : `${path}?${body}`;
  const res = await fetch(url, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(method === 'POST' ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
    },
    body: method === 'POST' ? body : undefined,
  });
  const json = (await res.json().catch(() => ({}))) as { error?: { message?: string; code?: string } };
  if (!res.ok) {
    if (res.status === 401 && key === session.key()) session.signOut();
    throw new ApiError(res.status, json.error?.message ?? `HTTP ${res.status}`, json.error?.code);
  }
  return json as T;
}

export const api = {
  get: <T>(path: string, params?: Params) => call<T>('GET', path, params),
  post: <T>(path: string, params?: Params) => call<T>('POST', path, params),
  del: <T>(path: string) => call<T>('DELETE', path),
  /** Checks a key before keeping it: any authenticated read will do. */
  check: (key: string) => call<StripeList<unknown>>('GET', '/v1/customers', { limit: 1 }, key),
};

/** Every page of a list (for short, bounded lists such as one meter's daily summaries). */
export async function listAll<T extends { id: string }>(path: string, params: Params, maxPages = 20): Promise<T[]> {
  const all: T[] = [];
  let after: string | undefined;
  for (let i = 0; i < maxPages; i++) {
    const page = await api.get<StripeList<T>>(path, { ...params, limit: 100, ...(after ? { starting_after: after } : {}) });
    all.push(...page.data);
    if (!page.has_more || page.data.length === 0) break;
    after = page.data[page.data.length - 1]!.id;
  }
  return all;
}
