// `pnpm demo`: the seed scenario against a running Meterflow (`pnpm start` in another terminal).
// A car-rental meter counts minutes; 10 USD per hour (divide_by 60, round up); a 10 USD credit
// grant; 150 minutes of rentals; the test clock moves past the period end and the grace period.
import Stripe from 'stripe';

const api = new URL(process.env.MF_API_URL ?? 'http://127.0.0.1:3000');
const key = (process.env.MF_API_KEYS ?? 'sk_test_meterflow').split(',')[0];
const stripe = new Stripe(key, {
  host: api.hostname,
  port: Number(api.port || 80),
  protocol: api.protocol.replace(':', ''),
  maxNetworkRetries: 1,
});
const usd = (cents) => `${(cents / 100).toFixed(2)} USD`;
const step = (m) => console.log(`- ${m}`);

const T0 = Date.UTC(2026, 0, 1) / 1000;
const AFTER_GRACE = Date.UTC(2026, 1, 1) / 1000 + 2 * 3600;

const meter = await stripe.billing.meters.create({
  display_name: 'Car rental minutes',
  event_name: `car_rental_minutes_${Date.now()}`,
  default_aggregation: { formula: 'sum' },
});
step(`meter ${meter.id} (${meter.event_name}, sum)`);
const product = await stripe.products.create({ name: 'Car rental' });
const price = await stripe.prices.create({
  product: product.id,
  currency: 'usd',
  unit_amount: 1000,
  recurring: { interval: 'month', usage_type: 'metered', meter: meter.id },
  transform_quantity: { divide_by: 60, round: 'up' },
});
step(`price ${price.id}: 10.00 USD per hour, billed per started hour`);
const clock = await stripe.testHelpers.testClocks.create({ frozen_time: T0, name: 'demo' });
const customer = await stripe.customers.create({ name: 'Demo renter', test_clock: clock.id });
const sub = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }] });
step(`customer ${customer.id} on test clock ${clock.id} (2026-01-01), subscription ${sub.id}`);
const grant = await stripe.billing.creditGrants.create({
  customer: customer.id,
  name: 'Prepaid rental credit',
  category: 'paid',
  amount: { type: 'monetary', monetary: { currency: 'usd', value: 1000 } },
  applicability_config: { scope: { price_type: 'metered' } },
});
step(`credit grant ${grant.id}: 10.00 USD, metered prices`);
for (const [i, minutes] of [60, 60, 30].entries()) {
  await stripe.billing.meterEvents.create({
    event_name: meter.event_name,
    payload: { stripe_customer_id: customer.id, value: String(minutes) },
    identifier: `demo-${customer.id}-${i}`,
  });
}
step('150 minutes of rentals recorded');
await new Promise((r) => setTimeout(r, 1500));
await stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: AFTER_GRACE });
step('advancing the clock past the period end (2026-02-01) and the 1 h grace period …');
for (;;) {
  const c = await stripe.testHelpers.testClocks.retrieve(clock.id);
  if (c.status === 'ready' && c.frozen_time === AFTER_GRACE) break;
  if (c.status === 'internal_failure') throw new Error('clock advance failed');
  await new Promise((r) => setTimeout(r, 250));
}
const [invoice] = (await stripe.invoices.list({ customer: customer.id })).data;
console.log(`\nInvoice ${invoice.id} (${invoice.status}, ${invoice.billing_reason})`);
for (const line of invoice.lines.data) {
  console.log(`  ${line.description ?? 'usage'}: qty ${line.quantity}  ${usd(line.amount)}`);
  for (const c of line.pretax_credit_amounts ?? []) console.log(`    credit grant applied  -${usd(c.amount)}`);
}
console.log(`  subtotal ${usd(invoice.subtotal)}   total ${usd(invoice.total)}   amount due ${usd(invoice.amount_due)}`);
const summary = await stripe.billing.creditBalanceSummaries.retrieve({
  customer: customer.id,
  filter: { type: 'credit_grant', credit_grant: grant.id },
});
console.log(`\nCredit balance: ${usd(summary.balances[0]?.available_balance.monetary?.value ?? 0)} available`);
const txns = await stripe.billing.creditBalanceTransactions.list({ customer: customer.id });
for (const t of txns.data) {
  const part = t.credit ?? t.debit;
  console.log(`  ${t.id}  ${t.type}  ${part?.type}  ${usd(part?.amount.monetary?.value ?? 0)}`);
}
