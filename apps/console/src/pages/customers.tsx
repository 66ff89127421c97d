import { useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { api, type SearchResult, type StripeList } from '../api.js';
import { when } from '../format.js';
import { useResource } from '../hooks.js';
import type { Customer } from '../types.js';
import { Card, Loaded, Pager, Table } from '../components/ui.js';

const PAGE = 20;

/**
 * A search box over `GET /v1/customers/search` (Stripe's query language; plain words search name
 * and email) and otherwise `GET /v1/customers`, 20 at a time with cursors: never the whole table.
 */
export function toQuery(input: string): string {
  const s = input.trim();
  if (/[:~<>]/.test(s)) return s; // already a Stripe search query
  const v = s.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
  return s.includes('@') ? `email~'${v}'` : `name~'${v}' OR email~'${v}'`;
}

type Cursor = { after?: string; before?: string; page?: string };

export function Customers() {
  const { query, route } = useLocation();
  const q = query.q ?? '';
  const testClock = query.test_clock ?? '';
  const [input, setInput] = useState(q);
  const [cursor, setCursor] = useState<Cursor>({});
  const [pages, setPages] = useState<string[]>([]); // search: tokens of the pages before this one

  const r = useResource(async () => {
    if (q) {
      const res = await api.get<SearchResult<Customer>>('/v1/customers/search', { query: toQuery(q), limit: PAGE, page: cursor.page });
      return { data: res.data, hasNext: res.has_more, next: res.next_page };
    }
    const res = await api.get<StripeList<Customer>>('/v1/customers', {
      limit: PAGE,
      ...(testClock ? { test_clock: testClock } : {}),
      ...(cursor.after ? { starting_after: cursor.after } : {}),
      ...(cursor.before ? { ending_before: cursor.before } : {}),
    });
    // ending_before answers the page before; has_more then says whether more lie before it.
    const hasNext = cursor.before ? true : res.has_more;
    return { data: res.data, hasNext, next: null, hasPrevFromList: cursor.before ? res.has_more : !!cursor.after };
  }, [q, testClock, cursor.after, cursor.before, cursor.page]);

  const search = (e: Event) => {
    e.preventDefault();
    setCursor({});
    setPages([]);
    const params = new URLSearchParams();
    if (input.trim()) params.set('q', input.trim());
    if (testClock && !input.trim()) params.set('test_clock', testClock);
    route(`/console/customers${params.size ? `?${params}` : ''}`);
  };

  return (
    <>
      <h1>Customers</h1>
      <form class="search" onSubmit={search} role="search">
        <input
          name="q"
          type="search"
          placeholder="Search by name or email, or a query such as email:'a@b.com' or metadata['plan']:'pro'"
          value={input}
          onInput={(e) => setInput(e.currentTarget.value)}
        />
        <button type="submit">Search</button>
      </form>
      {testClock && !q && (
        <p class="muted">
          Customers on test clock <code>{testClock}</code>. <a href="/console/customers">All customers</a>
        </p>
      )}
      <Card title={q ? `Results for “${q}”` : 'All customers'}>
        <Loaded r={r}>
          {(page) => (
            <>
              <Table
                testId="customers"
                rows={page.data}
                empty={q ? 'No customer matches.' : 'No customers yet.'}
                cols={[
                  ['Customer', (c) => <a href={`/console/customers/${c.id}`}>{c.name ?? c.email ?? c.id}</a>],
                  ['Email', (c) => c.email ?? '—'],
                  ['Id', (c) => <code>{c.id}</code>],
                  ['Test clock', (c) => (c.test_clock ? <code>{c.test_clock}</code> : '—')],
                  ['Created', (c) => when(c.created)],
                ]}
              />
              <Pager
                hasPrev={q ? pages.length > 0 : !!page.hasPrevFromList}
                hasNext={page.hasNext}
                onPrev={() => {
                  if (q) {
                    const prev = pages.slice(0, -1);
                    setCursor({ page: pages[pages.length - 1] || undefined });
                    setPages(prev);
                  } else setCursor({ before: page.data[0]?.id });
                }}
                onNext={() => {
                  if (q) {
                    setPages([...pages, cursor.page ?? '']);
                    setCursor({ page: page.next ?? undefined });
                  } else setCursor({ after: page.data[page.data.length - 1]?.id });
                }}
              />
            </>
          )}
        </Loaded>
      </Card>
    </>
  );
}
