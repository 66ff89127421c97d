import { useEffect, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { api, type StripeList } from '../api.js';
import { fromLocalInput, toLocalInput, when } from '../format.js';
import { useResource } from '../hooks.js';
import type { TestClock } from '../types.js';
import { Badge, Card, Loaded, Pager, Table } from '../components/ui.js';

export function TestClocks() {
  const { query } = useLocation();
  const [cursor, setCursor] = useState<{ after?: string; before?: string }>({});
  const clocks = useResource(
    () =>
      api.get<StripeList<TestClock>>('/v1/test_helpers/test_clocks', {
        limit: 20,
        ...(cursor.after ? { starting_after: cursor.after } : {}),
        ...(cursor.before ? { ending_before: cursor.before } : {}),
      }),
    [cursor.after, cursor.before],
  );
  return (
    <>
      <h1>Test clocks</h1>
      {query.clock && <Advance id={query.clock} onChange={clocks.reload} />}
      <Card title="Test clocks">
        <Loaded r={clocks}>
          {(list) => (
            <>
              <Table
                testId="test-clocks"
                rows={list.data}
                empty="No test clocks."
                cols={[
                  ['Clock', (c) => <a href={`/console/test-clocks?clock=${c.id}`}>{c.name ?? c.id}</a>],
                  ['Frozen time', (c) => when(c.frozen_time)],
                  ['Status', (c) => <Badge value={c.status} />],
                  ['Customers', (c) => <a href={`/console/customers?test_clock=${c.id}`}>customers</a>],
                ]}
              />
              <Pager
                hasPrev={cursor.before ? list.has_more : !!cursor.after}
                hasNext={cursor.before ? true : list.has_more}
                onPrev={() => setCursor({ before: list.data[0]?.id })}
                onNext={() => setCursor({ after: list.data[list.data.length - 1]?.id })}
              />
            </>
          )}
        </Loaded>
      </Card>
    </>
  );
}

/**
 * Advances one clock and follows it: the clock reports `advancing` until every service has done
 * the work due up to the new time, then `ready` (polled twice a second).
 */
function Advance(props: { id: string; onChange: () => void }) {
  const clock = useResource(() => api.get<TestClock>(`/v1/test_helpers/test_clocks/${props.id}`), [props.id]);
  const [target, setTarget] = useState('');
  const [error, setError] = useState<string>();
  const [startedAt, setStartedAt] = useState<number>();
  const [advancingTo, setAdvancingTo] = useState<number>();
  const [now, setNow] = useState(Date.now());
  const c = clock.data;

  useEffect(() => {
    if (c && !target) setTarget(toLocalInput(c.frozen_time + 86_400));
  }, [c?.id]);
  // Done when the clock says ready at the time asked for (an answer read before the advance says ready too).
  const done = c?.status === 'ready' && advancingTo !== undefined && c.frozen_time === advancingTo;
  const following = advancingTo !== undefined && !done && c?.status !== 'internal_failure';
  useEffect(() => {
    if (c?.status !== 'advancing' && !following) return;
    const t = setTimeout(() => {
      setNow(Date.now());
      clock.reload();
    }, 500);
    return () => clearTimeout(t);
  }, [c, now]);
  useEffect(() => {
    if (done) props.onChange();
  }, [done]);

  const advance = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    const to = fromLocalInput(target);
    if (to === undefined) return setError('Enter a date and time.');
    try {
      await api.post(`/v1/test_helpers/test_clocks/${props.id}/advance`, { frozen_time: to });
      setStartedAt(Date.now());
      setAdvancingTo(to);
      clock.reload();
    } catch (err) {
      setError((err as Error).message);
    }
  };

  return (
    <Card title={`Clock ${c?.name ?? props.id}`} testId="clock">
      <Loaded r={clock}>
        {(c) => (
          <>
            <p>
              <code>{c.id}</code> · frozen at <strong data-testid="frozen-time">{when(c.frozen_time)}</strong> ·{' '}
              <span data-testid="clock-status">
                <Badge value={c.status} />
              </span>
            </p>
            {c.status === 'advancing' || following ? (
              <div class="progress">
                <progress />
                <p>
                  Advancing{c.status_details?.advancing ? ` to ${when(c.status_details.advancing.target_frozen_time)}` : ''}: every service
                  is doing the work due (period ends, invoices, credits)…{startedAt ? ` ${Math.round((now - startedAt) / 1000)} s` : ''}
                </p>
              </div>
            ) : (
              <form class="search" onSubmit={advance}>
                <label>
                  Advance to (UTC){' '}
                  <input name="frozen_time" type="datetime-local" value={target} onInput={(e) => setTarget(e.currentTarget.value)} />
                </label>
                <button class="primary" type="submit">
                  Advance
                </button>
              </form>
            )}
            {done && <p class="ok">Ready: the clock's work is done.</p>}
            {error && <p class="error">{error}</p>}
          </>
        )}
      </Loaded>
    </Card>
  );
}
