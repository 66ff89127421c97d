import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { jetstream } from '@nats-io/jetstream';
import { eventually, natsClient, stripeClient, subject } from './helpers.js';
import { launchChromium } from './browser.js';

/**
 * The web console in headless Chromium against the running system: the seed car-rental scenario
 * is created with the SDK, then read and acted on through the console only (sign in, search,
 * the clock advance with its progress, the invoice, void, the balance given back).
 * `MF_CONSOLE_SCREENSHOTS=docs/console` also writes the screenshots of docs/console.md.
 */
const T0 = Date.UTC(2026, 0, 1) / 1000;
const AFTER_GRACE = Date.UTC(2026, 1, 1, 2) / 1000; // the period end + 2 h (grace is 1 h)
const shots = process.env.MF_CONSOLE_SCREENSHOTS;

describe('the web console', () => {
  const stripe = stripeClient();
  const base = `${inject('apiUrl')}/console`;
  const suffix = Date.now().toString(36);
  const name = `Seed rental ${suffix}`;
  let browser: Browser;
  let page: Page;
  const seed = {} as { meter: string; customer: string; clock: string };

  const shot = async (file: string) => {
    if (!shots) return;
    mkdirSync(shots, { recursive: true });
    await page.screenshot({ path: join(shots, `${file}.png`), fullPage: true });
  };
  const text = (testId: string) => page.getByTestId(testId).first().innerText();

  beforeAll(async () => {
    // The seed scenario (README: ./mf demo): 10 USD per hour of rental, minutes rounded up to hours.
    const meter = await stripe.billing.meters.create({
      display_name: 'Car rental minutes',
      event_name: `car_rental_minutes_${suffix}`,
      default_aggregation: { formula: 'sum' },
    });
    const product = await stripe.products.create({ name: 'Car rental' });
    const price = await stripe.prices.create({
      product: product.id,
      currency: 'usd',
      unit_amount: 1000,
      recurring: { interval: 'month', usage_type: 'metered', meter: meter.id },
      transform_quantity: { divide_by: 60, round: 'up' },
    });
    const clock = await stripe.testHelpers.testClocks.create({ frozen_time: T0, name: `seed ${suffix}` });
    const customer = await stripe.customers.create({ name, email: `rental-${suffix}@example.com`, test_clock: clock.id });
    await stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }] });
    await stripe.billing.creditGrants.create({
      customer: customer.id,
      name: 'Prepaid rental credit',
      category: 'paid',
      amount: { type: 'monetary', monetary: { currency: 'usd', value: 1000 } },
      applicability_config: { scope: { price_type: 'metered' } },
    });
    for (const [i, minutes] of [60, 60, 30].entries())
      await stripe.billing.meterEvents.create({
        event_name: meter.event_name,
        payload: { stripe_customer_id: customer.id, value: String(minutes) },
        identifier: `${customer.id}-rental-${i}`,
      });
    // An event that fails validation over NATS: an error report (with its code) for the meter pages.
    const nc = await natsClient();
    await jetstream(nc).publish(
      subject('mf.ingest.meter_events'),
      JSON.stringify({
        events: [{ event_name: meter.event_name, payload: { stripe_customer_id: customer.id, value: '1.5' }, identifier: `bad-${suffix}` }],
      }),
    );
    await nc.drain();
    await eventually(async () => {
      const s = await stripe.billing.meters.listEventSummaries(meter.id, {
        customer: customer.id,
        start_time: T0,
        end_time: T0 + 5 * 86_400,
      });
      return s.data[0]?.aggregated_value === 150 ? true : undefined;
    });
    Object.assign(seed, { meter: meter.id, customer: customer.id, clock: clock.id });

    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('finds customers on test clocks with the Stripe search API the console uses', async () => {
    const byEmail = await stripe.customers.search({ query: `email:'RENTAL-${suffix}@example.com'` });
    expect(byEmail).toMatchObject({ object: 'search_result', has_more: false, next_page: null });
    expect(byEmail.data.map((c) => c.id)).toEqual([seed.customer]);
    const bySubstring = await stripe.customers.search({ query: `name~'rental ${suffix}' AND -email:'nobody@example.com'`, limit: 1 });
    expect(bySubstring.data.map((c) => c.id)).toEqual([seed.customer]);
    await expect(stripe.customers.search({ query: `name~'ab'` })).rejects.toMatchObject({ statusCode: 400, param: 'query' });
    // Lists, as in Stripe, leave out customers on test clocks unless asked for that clock.
    expect((await stripe.customers.list({ test_clock: seed.clock })).data.map((c) => c.id)).toEqual([seed.customer]);
  });

  it('shows nothing without a key: the API refuses, the console asks for one', async () => {
    const anonymous = await fetch(`${inject('apiUrl')}/v1/customers`);
    expect(anonymous.status).toBe(401);
    const html = await fetch(`${base}/customers`);
    expect(html.status).toBe(200);
    expect(html.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await html.text()).not.toContain(seed.customer);

    await page.goto(`${base}/customers/${seed.customer}`);
    await page.getByLabel('Secret key').fill('sk_test_wrong');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Invalid API Key provided').waitFor();
    await page.getByLabel('Secret key').fill('');
    await shot('sign-in');
  });

  it('signs in, finds the seed customer by search, and advances its clock until ready', async () => {
    await page.getByLabel('Secret key').fill(inject('apiKey'));
    await page.getByRole('button', { name: 'Sign in' }).click();
    // Signed in on the deep link asked for; then to the list through the navigation.
    await page.getByRole('heading', { name }).waitFor();
    await page.getByRole('navigation').getByRole('link', { name: 'Customers' }).click();
    await page.getByRole('search').getByRole('searchbox').fill(`rental ${suffix}`);
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByTestId('customers').getByRole('link', { name }).waitFor();
    await shot('customers');
    await page.getByTestId('customers').getByRole('link', { name }).click();
    await page.getByRole('heading', { name }).waitFor();
    expect(await text('available-balance')).toBe('10.00 USD');

    await page.getByRole('link', { name: seed.clock }).click();
    await page.getByLabel('Advance to (UTC)').fill(new Date(AFTER_GRACE * 1000).toISOString().slice(0, 16));
    await page.getByRole('button', { name: 'Advance' }).click();
    await page.getByText("Ready: the clock's work is done.").waitFor({ timeout: 60_000 });
    expect(await text('frozen-time')).toBe('2026-02-01 02:00 UTC');
    await shot('test-clocks');
  });

  it('opens the invoice as the customer sees it: 30.00, credit grant applied -10.00, 20.00 due', async () => {
    await page.goto(`${base}/customers/${seed.customer}`);
    const invoiceLink = page.getByTestId('invoices').getByRole('link').first();
    await invoiceLink.waitFor();
    await page.getByTestId('usage').locator('canvas').first().waitFor();
    await shot('customer');
    await invoiceLink.click();

    await page.getByTestId('amount-due').waitFor();
    expect(await text('subtotal')).toBe('30.00 USD');
    expect(await page.getByTestId('totals').innerText()).toContain('Credit grant applied');
    expect(await text('credit-applied')).toBe('-10.00 USD');
    expect(await text('amount-due')).toBe('20.00 USD');
    const line = await page.locator('table.lines tbody tr').first().innerText();
    expect(line).toContain('150'); // the usage before transform_quantity
    expect(line).toContain('10.00 USD per 60 units, rounded up');
    expect(line).toContain('30.00 USD');
    expect(await page.getByTestId('status-history').innerText()).toMatch(/draft[\s\S]*open/);
    await shot('invoice');
  });

  it('voids the invoice after a confirmation, and the credit returns to the balance', async () => {
    await page.getByRole('button', { name: 'Void', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Void this invoice?' });
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Void invoice' }).click();
    await page.getByTestId('status-history').getByText('void').waitFor();
    expect(await page.getByTestId('invoice-actions').getByRole('button').count()).toBe(0);

    await page.getByRole('link', { name }).click();
    await eventually(
      async () => {
        await page.getByRole('button', { name: 'Refresh' }).click();
        await page.getByTestId('available-balance').waitFor();
        return (await text('available-balance')) === '10.00 USD' ? true : undefined;
      },
      30_000,
      500,
    );
    expect(await page.getByTestId('credit-transactions').innerText()).toContain('credits_application_invoice_voided');
  });

  it('shows the meter usage over time and its error reports, and webhook events', async () => {
    await page.goto(`${base}/meters/${seed.meter}?customer=${seed.customer}`);
    await page.getByTestId('meter-usage-chart').locator('canvas').waitFor();
    await eventually(async () => {
      await page.reload();
      const table = page.getByTestId('error-reports');
      await page.getByText('Loading…').first().waitFor({ state: 'detached' });
      return (await table.count()) > 0 && (await table.innerText()).includes('meter_event_invalid_value') ? true : undefined;
    });
    await page.getByText(/150 in the 35 days/).waitFor();
    await shot('meter');
    await page.goto(`${base}/meters`);
    await page.getByTestId('meters').getByRole('link', { name: 'Car rental minutes' }).first().waitFor();
    await eventually(async () => {
      await page.reload();
      return (await page.getByTestId('error-reports').count()) > 0 ? true : undefined;
    });
    expect(await page.getByTestId('error-reports').innerText()).toContain('meter_event_invalid_value');
    await shot('meters');
    await page.goto(`${base}/webhooks`);
    await page.getByTestId('events').getByText('invoice.voided').first().waitFor();
    await shot('webhooks');
  });
});
