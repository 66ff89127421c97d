import { api, listAll } from '../api.js';
import { decimalMinor, money, period, qty, when } from '../format.js';
import { useResource } from '../hooks.js';
import type { Customer, Invoice as InvoiceObject, InvoiceLine, Price } from '../types.js';
import { Badge, Card, ConfirmButton, Loaded } from '../components/ui.js';

/** What a price charges per unit, as the customer reads it (`10.00 USD per 60 units, rounded up`). */
export function unitPrice(line: InvoiceLine, price: Price | undefined): string {
  if (price?.transform_quantity)
    return `${decimalMinor(price.unit_amount_decimal, price.currency)} per ${price.transform_quantity.divide_by} units, rounded ${price.transform_quantity.round}`;
  if (price?.billing_scheme === 'tiered') return 'tiered';
  return decimalMinor(line.pricing?.unit_amount_decimal ?? price?.unit_amount_decimal, line.currency);
}

/** The invoice as its customer sees it, with the lifecycle actions an operator may take (each confirmed first). */
export function Invoice(props: { id: string }) {
  const id = props.id;
  const r = useResource(async () => {
    const invoice = await api.get<InvoiceObject>(`/v1/invoices/${id}`);
    const lines = invoice.lines.has_more ? await listAll<InvoiceLine>(`/v1/invoices/${id}/lines`, {}) : invoice.lines.data;
    const priceIds = [...new Set(lines.map((l) => l.pricing?.price_details?.price).filter((p): p is string => !!p))];
    const [customer, priceList] = await Promise.all([
      api.get<Customer>(`/v1/customers/${invoice.customer}`),
      Promise.all(priceIds.map((p) => api.get<Price>(`/v1/prices/${p}`))),
    ]);
    return { invoice, lines, prices: new Map(priceList.map((p) => [p.id, p])), customer };
  }, [id]);

  return (
    <Loaded r={r}>
      {({ invoice: inv, lines, prices, customer }) => {
        // Who it is billed to: the invoice's copy where it has one, else the customer as it is now.
        const billedName = inv.customer_name ?? customer.name ?? customer.id;
        const billedEmail = inv.customer_email ?? customer.email;
        const credits = (inv.total_pretax_credit_amounts ?? []).filter((c) => c.type === 'credit_balance_transaction');
        const act =
          (path: string, params: Record<string, unknown> = {}) =>
          async () => {
            await api.post(`/v1/invoices/${inv.id}/${path}`, params);
            r.reload();
          };
        return (
          <>
            <div class="title">
              <h1>
                Invoice {inv.number ?? inv.id} <Badge value={inv.status} />
              </h1>
              <p class="muted">
                <code>{inv.id}</code> · <a href={`/console/customers/${inv.customer}`}>{billedName}</a>
              </p>
              <div class="actions" data-testid="invoice-actions">
                {inv.status === 'draft' && (
                  <ConfirmButton
                    label="Finalize"
                    title="Finalize this invoice?"
                    message="It becomes open and can no longer be edited; credits are applied now."
                    confirmLabel="Finalize invoice"
                    run={act('finalize')}
                  />
                )}
                {(inv.status === 'open' || inv.status === 'uncollectible') && (
                  <>
                    <ConfirmButton
                      label="Mark paid"
                      title="Record a payment?"
                      message={`Marks ${money(inv.amount_remaining, inv.currency)} as paid outside Meterflow (paid_out_of_band).`}
                      confirmLabel="Mark as paid"
                      run={act('pay', { paid_out_of_band: true })}
                    />
                    {inv.status === 'open' && (
                      <ConfirmButton
                        label="Mark uncollectible"
                        title="Mark this invoice uncollectible?"
                        message="It stays payable, but is reported as bad debt."
                        confirmLabel="Mark uncollectible"
                        run={act('mark_uncollectible')}
                      />
                    )}
                    <ConfirmButton
                      label="Void"
                      danger
                      title="Void this invoice?"
                      message="A void invoice is never paid and cannot be reopened. Credits applied to it return to the customer's balance."
                      confirmLabel="Void invoice"
                      run={act('void')}
                    />
                  </>
                )}
              </div>
            </div>

            <div class="invoice-sheet" data-testid="invoice">
              <div class="invoice-head">
                <div>
                  <h2>Invoice</h2>
                  <p>Billed to {billedName}</p>
                  {billedEmail && <p class="muted">{billedEmail}</p>}
                </div>
                <dl>
                  <dt>Invoice number</dt>
                  <dd>{inv.number ?? '—'}</dd>
                  <dt>Date of issue</dt>
                  <dd>{when(inv.status_transitions.finalized_at ?? inv.created)}</dd>
                  <dt>Date due</dt>
                  <dd>{when(inv.due_date)}</dd>
                </dl>
              </div>
              <table class="lines">
                <thead>
                  <tr>
                    <th>Description</th>
                    <th class="num">Qty</th>
                    <th class="num">Unit price</th>
                    <th class="num">Amount</th>
                  </tr>
                </thead>
                <tbody>
                  {lines.map((l) => (
                    <tr key={l.id}>
                      <td>
                        {l.description ?? l.id}
                        <div class="muted">{period(l.period)}</div>
                      </td>
                      <td class="num">{qty(l.quantity)}</td>
                      <td class="num">{unitPrice(l, prices.get(l.pricing?.price_details?.price ?? ''))}</td>
                      <td class="num">{money(l.amount, l.currency)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <table class="totals" data-testid="totals">
                <tbody>
                  <tr>
                    <th>Subtotal</th>
                    <td data-testid="subtotal">{money(inv.subtotal, inv.currency)}</td>
                  </tr>
                  {credits.map((c, i) => (
                    <tr key={i} class="credit">
                      <th>Credit grant applied</th>
                      <td data-testid="credit-applied">{money(-c.amount, inv.currency)}</td>
                    </tr>
                  ))}
                  <tr>
                    <th>Total</th>
                    <td>{money(inv.total, inv.currency)}</td>
                  </tr>
                  {inv.amount_paid > 0 && (
                    <tr>
                      <th>Amount paid</th>
                      <td>{money(-inv.amount_paid, inv.currency)}</td>
                    </tr>
                  )}
                  <tr class="due">
                    <th>Amount due</th>
                    <td data-testid="amount-due">{money(inv.amount_due, inv.currency)}</td>
                  </tr>
                </tbody>
              </table>
            </div>

            <Card title="Status history" testId="status-history">
              <ol class="history">
                {history(inv).map(([t, label]) => (
                  <li key={label}>
                    <Badge value={label} /> {when(t)}
                  </li>
                ))}
              </ol>
            </Card>
          </>
        );
      }}
    </Loaded>
  );
}

/** The invoice's transitions, oldest first, from `created` and `status_transitions`. */
export function history(inv: Pick<InvoiceObject, 'created' | 'status_transitions'>): [number, string][] {
  const s = inv.status_transitions;
  const steps: [number | null, string][] = [
    [inv.created, 'draft'],
    [s.finalized_at, 'open'],
    [s.marked_uncollectible_at, 'uncollectible'],
    [s.paid_at, 'paid'],
    [s.voided_at, 'void'],
  ];
  return steps.filter((x): x is [number, string] => x[0] !== null).sort((a, b) => a[0] - b[0]);
}
