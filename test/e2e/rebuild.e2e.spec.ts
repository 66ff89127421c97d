import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { stripeClient } from './helpers.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** The credit ledger's read models are a projection: dropped and replayed, they come back equal. */
describe('pnpm rebuild credit-ledger', () => {
  it('replays the event store into the same balances and transactions', async () => {
    const stripe = stripeClient();
    const customer = await stripe.customers.create({ name: 'Ledger rebuild' });
    const grant = (value: number, extra: Record<string, unknown> = {}) =>
      stripe.billing.creditGrants.create({
        customer: customer.id,
        category: 'promotional',
        amount: { type: 'monetary', monetary: { currency: 'usd', value } },
        applicability_config: { scope: { price_type: 'metered' } },
        ...extra,
      });
    await grant(1500, { priority: 10, metadata: { campaign: 'launch' } });
    const voided = await grant(700);
    await stripe.billing.creditGrants.voidGrant(voided.id);
    const expired = await grant(300);
    await stripe.billing.creditGrants.expire(expired.id);

    const snapshot = async () => ({
      summary: await stripe.billing.creditBalanceSummaries.retrieve({
        customer: customer.id,
        filter: { type: 'applicability_scope', applicability_scope: { price_type: 'metered' } },
      }),
      transactions: await stripe.billing.creditBalanceTransactions.list({ customer: customer.id, limit: 100 }),
      grants: await stripe.billing.creditGrants.list({ customer: customer.id, limit: 100 }),
    });
    const before = await snapshot();
    expect(before.transactions.data).toHaveLength(5); // 3 granted, 1 voided, 1 expired
    expect(before.summary.balances[0]?.available_balance.monetary?.value).toBe(1500);

    const out = execFileSync(process.execPath, ['scripts/rebuild.mjs', 'credit-ledger'], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: inject('databaseUrl'), MF_NAMESPACE: inject('namespace') },
      encoding: 'utf8',
    });
    // It did replay: at least this customer's 3 grants and 5 transactions came back from events.
    const m = /rebuilt (\d+) grants and (\d+) transactions/.exec(out);
    expect(Number(m?.[1])).toBeGreaterThanOrEqual(3);
    expect(Number(m?.[2])).toBeGreaterThanOrEqual(5);

    expect(await snapshot()).toEqual(before);
  });
});
