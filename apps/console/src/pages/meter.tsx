import { useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { api, listAll } from '../api.js';
import { day, qty, when } from '../format.js';
import { useResource } from '../hooks.js';
import type { Customer, Meter as MeterObject, MeterEventSummary, TestClock } from '../types.js';
import { Badge, Card, Loaded, Table } from '../components/ui.js';
import { BarChart } from '../components/chart.js';
import { ErrorReports, errorReports, type ErrorReport } from './meters.js';

const DAY = 86_400;

/** Daily windows must be UTC-day aligned: [start of the day `days` before `end`, end of `end`'s day). */
export function dailyRange(endUnix: number, days: number): { start: number; end: number } {
  const end = Math.ceil(endUnix / DAY) * DAY || DAY;
  return { start: end - days * DAY, end };
}

/**
 * One meter: its settings, a customer's usage per day (Stripe's event summaries are per customer),
 * and its error reports. For a customer on a test clock the window ends at the clock's time.
 */
export function Meter(props: { id: string }) {
  const { query, route } = useLocation();
  const customer = query.customer ?? '';
  const days = Number(query.days ?? 35);
  const [input, setInput] = useState(customer);
  const meter = useResource(() => api.get<MeterObject>(`/v1/billing/meters/${props.id}`), [props.id]);
  const usage = useResource(async () => {
    if (!customer) return undefined;
    const c = await api.get<Customer>(`/v1/customers/${customer}`);
    const now = c.test_clock ? (await api.get<TestClock>(`/v1/test_helpers/test_clocks/${c.test_clock}`)).frozen_time : Date.now() / 1000;
    const range = dailyRange(now, days);
    const summaries = await listAll<MeterEventSummary>(`/v1/billing/meters/${props.id}/event_summaries`, {
      customer,
      start_time: range.start,
      end_time: range.end,
      value_grouping_window: 'day',
    });
    const byStart = new Map(summaries.map((s) => [s.start_time, s.aggregated_value]));
    const xs: number[] = [];
    for (let t = range.start; t < range.end; t += DAY) xs.push(t);
    return { customer: c, xs, ys: xs.map((x) => byStart.get(x) ?? 0), total: summaries.reduce((s, x) => s + x.aggregated_value, 0) };
  }, [props.id, customer, days]);
  const reports = useResource(
    () => errorReports(100).then((es) => es.filter((e) => (e.data.object as unknown as ErrorReport).related_object?.id === props.id)),
    [props.id],
  );

  return (
    <>
      <Loaded r={meter}>
        {(m) => (
          <div class="title">
            <h1>
              {m.display_name} <Badge value={m.status} />
            </h1>
            <p class="muted">
              <code>{m.id}</code> · event <code>{m.event_name}</code> · {m.default_aggregation.formula} of{' '}
              <code>{m.value_settings.event_payload_key}</code> per <code>{m.customer_mapping.event_payload_key}</code> · created{' '}
              {when(m.created)}
            </p>
          </div>
        )}
      </Loaded>
      <Card title="Usage over time">
        <form
          class="search"
          onSubmit={(e) => {
            e.preventDefault();
            route(`/console/meters/${props.id}?customer=${encodeURIComponent(input.trim())}&days=${days}`);
          }}
        >
          <input name="customer" placeholder="Customer id (cus_…)" value={input} onInput={(e) => setInput(e.currentTarget.value)} />
          <button type="submit">Show usage</button>
        </form>
        {!customer ? (
          <p class="muted">Usage is summarised per customer: enter a customer id, or open a customer and follow its meter.</p>
        ) : (
          <Loaded r={usage}>
            {(u) =>
              u && (
                <>
                  <p>
                    <a href={`/console/customers/${u.customer.id}`}>{u.customer.name ?? u.customer.id}</a>: {qty(u.total)} in the {days}{' '}
                    days to {day(u.xs[u.xs.length - 1]! + DAY)}
                  </p>
                  <BarChart xs={u.xs} ys={u.ys} label="per day" testId="meter-usage-chart" />
                </>
              )
            }
          </Loaded>
        )}
      </Card>
      <Card title="Error reports">
        <Loaded r={reports}>{(events) => <ErrorReports events={events} />}</Loaded>
        <p class="muted">
          Rejected events are also kept as dead letters, with their reason, in the meter-ingestion service (operators' CLI).
        </p>
      </Card>
    </>
  );
}
