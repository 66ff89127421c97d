import { api, type StripeList } from '../api.js';
import { day, money, period, qty, when } from '../format.js';
import { useResource } from '../hooks.js';
import type {
  CreditBalanceSummary,
  CreditBalanceTransaction,
  CreditGrant,
  Customer as CustomerObject,
  Invoice,
  Meter,
  Subscription,
} from '../types.js';
import { meteredItems, periodsOf, usageByPeriod } from '../usage.js';
import { Badge, Card, Loaded, Table } from '../components/ui.js';
import { BarChart } from '../components/chart.js';

/** One customer: subscriptions, invoices, credits and usage, each from its own public endpoint. */
export function Customer(props: { id: string }) {
  const id = props.id;
  const customer = useResource(() => api.get<CustomerObject>(`/v1/customers/${id}`), [id]);
  const subs = useResource(() => api.get<StripeList<Subscription>>('/v1/subscriptions', { customer: id, status: 'all', limit: 20 }), [id]);
  const invoices = useResource(() => api.get<StripeList<Invoice>>('/v1/invoices', { customer: id, limit: 20 }), [id]);
  const summary = useResource(
    () =>
      api.get<CreditBalanceSummary>('/v1/billing/credit_balance_summary', {
        customer: id,
        filter: { type: 'applicability_scope', applicability_scope: { price_type: 'metered' } },
      }),
    [id],
  );
  const grants = useResource(() => api.get<StripeList<CreditGrant>>('/v1/billing/credit_grants', { customer: id, limit: 20 }), [id]);
  const txns = useResource(
    () => api.get<StripeList<CreditBalanceTransaction>>('/v1/billing/credit_balance_transactions', { customer: id, limit: 20 }),
    [id],
  );
  const reload = () => [customer, subs, invoices, summary, grants, txns].forEach((r) => r.reload());

  return (
    <>
      <Loaded r={customer}>
        {(c) => (
          <div class="title">
            <h1>{c.name ?? c.email ?? c.id}</h1>
            <p class="muted">
              <code>{c.id}</code> {c.email && <> · {c.email}</>} · created {when(c.created)}
              {c.test_clock && (
                <>
                  {' '}
                  · test clock <a href={`/console/test-clocks?clock=${c.test_clock}`}>{c.test_clock}</a>
                </>
              )}
            </p>
            <button onClick={reload}>Refresh</button>
          </div>
        )}
      </Loaded>

      <div class="grid">
        <Card title="Credit balance" testId="credit-balance">
          <Loaded r={summary}>
            {(s) =>
              s.balances.length === 0 ? (
                <p class="big">0.00</p>
              ) : (
                s.balances.map((b, i) => (
                  <div key={i}>
                    <p class="big" data-testid="available-balance">
                      {money(b.available_balance.monetary?.value, b.available_balance.monetary?.currency)}
                    </p>
                    <p class="muted">
                      available for metered prices · ledger {money(b.ledger_balance.monetary?.value, b.ledger_balance.monetary?.currency)}
                    </p>
                  </div>
                ))
              )
            }
          </Loaded>
        </Card>
        <Card title="Subscriptions">
          <Loaded r={subs}>
            {(list) => (
              <Table
                rows={list.data.flatMap((s) => s.items.data.map((item) => ({ s, item })))}
                empty="No subscriptions."
                cols={[
                  ['Subscription', ({ s }) => <code>{s.id}</code>],
                  ['Status', ({ s }) => <Badge value={s.status} />],
                  ['Price', ({ item }) => <code title={item.price.id}>{item.price.nickname ?? item.price.id}</code>],
                  [
                    'Meter',
                    ({ item }) =>
                      item.price.recurring?.meter ? (
                        <a href={`/console/meters/${item.price.recurring.meter}?customer=${id}`}>{item.price.recurring.meter}</a>
                      ) : (
                        'licensed'
                      ),
                  ],
                  ['Current period', ({ item }) => `${day(item.current_period_start)} → ${day(item.current_period_end)}`],
                ]}
              />
            )}
          </Loaded>
        </Card>
      </div>

      <Loaded r={subs}>{(list) => <Usage customer={id} subs={list.data} />}</Loaded>

      <Card title="Invoices">
        <Loaded r={invoices}>
          {(list) => (
            <Table
              testId="invoices"
              rows={list.data}
              empty="No invoices."
              cols={[
                ['Invoice', (inv) => <a href={`/console/invoices/${inv.id}`}>{inv.number ?? inv.id}</a>],
                ['Status', (inv) => <Badge value={inv.status} />],
                ['Period', (inv) => period(inv.lines.data[0]?.period ?? { start: inv.period_start, end: inv.period_end })],
                ['Total', (inv) => money(inv.total, inv.currency)],
                ['Amount due', (inv) => money(inv.amount_due, inv.currency)],
                ['Created', (inv) => when(inv.created)],
              ]}
            />
          )}
        </Loaded>
      </Card>

      <div class="grid even">
        <Card title="Credit grants">
          <Loaded r={grants}>
            {(list) => (
              <Table
                rows={list.data}
                empty="No credit grants."
                cols={[
                  ['Name', (g) => g.name ?? <code>{g.id}</code>],
                  ['Category', (g) => g.category],
                  ['Amount', (g) => money(g.amount.monetary?.value, g.amount.monetary?.currency)],
                  ['Effective', (g) => when(g.effective_at ?? g.created)],
                  ['Expires', (g) => when(g.expires_at)],
                  ['Voided', (g) => when(g.voided_at)],
                ]}
              />
            )}
          </Loaded>
        </Card>
        <Card title="Credit balance transactions">
          <Loaded r={txns}>
            {(list) => (
              <Table
                testId="credit-transactions"
                rows={list.data}
                empty="No credit balance transactions."
                cols={[
                  ['When', (t) => when(t.effective_at)],
                  ['Type', (t) => (t.type === 'credit' ? t.credit?.type : t.debit?.type) ?? t.type],
                  [
                    'Amount',
                    (t) => {
                      const m = (t.type === 'credit' ? t.credit : t.debit)?.amount.monetary;
                      return money(m ? (t.type === 'debit' ? -m.value : m.value) : undefined, m?.currency);
                    },
                  ],
                  [
                    'Invoice',
                    (t) =>
                      t.debit?.credits_applied ? (
                        <a href={`/console/invoices/${t.debit.credits_applied.invoice}`}>{t.debit.credits_applied.invoice}</a>
                      ) : (
                        '—'
                      ),
                  ],
                ]}
              />
            )}
          </Loaded>
        </Card>
      </div>
    </>
  );
}

/** Usage per meter: a bar per billing period (the current one last), from the meter's event summaries. */
function Usage(props: { customer: string; subs: Subscription[] }) {
  const items = meteredItems(props.subs);
  const r = useResource(
    () =>
      Promise.all(
        items.map(async ({ meter, sub, item }) => {
          const rec = item.price.recurring!;
          const [m, usage] = await Promise.all([
            api.get<Meter>(`/v1/billing/meters/${meter}`),
            usageByPeriod(meter, props.customer, periodsOf(item, rec.interval, rec.interval_count, sub.start_date)),
          ]);
          return { meter: m, usage };
        }),
      ),
    [props.customer, items.map((i) => i.meter).join()],
  );
  if (items.length === 0) return null;
  return (
    <Card title="Usage by billing period" testId="usage">
      <Loaded r={r}>
        {(meters) =>
          meters.map(({ meter, usage }) => (
            <div key={meter.id} class="usage">
              <h3>
                <a href={`/console/meters/${meter.id}?customer=${props.customer}`}>{meter.display_name}</a>{' '}
                <span class="muted">({meter.event_name})</span>
              </h3>
              <BarChart
                xs={usage.map((u) => u.start)}
                ys={usage.map((u) => u.value)}
                labels={usage.map((u) => period(u))}
                label={meter.display_name}
              />
              <Table
                rows={[...usage].reverse()}
                cols={[
                  ['Period', (u) => period(u)],
                  ['Usage', (u) => qty(u.value)],
                ]}
              />
            </div>
          ))
        }
      </Loaded>
    </Card>
  );
}
