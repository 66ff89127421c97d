import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import { CLOCK_OPS, CREDIT_LEDGER_OPS, type ApplyCreditsRequest } from '@meterflow/contracts';
import { DomainError } from '@meterflow/kernel';
import { startServiceForTest, type ServiceUnderTest } from '@meterflow/service-kit';
import { connectTestNats, createTestDatabase, deleteNamespaceStreams, testNamespace, type TestDatabase } from '@meterflow/testing';
import { creditLedgerDefinition } from '../src/credit-ledger.definition.js';
import { CreditLedgerModule } from '../src/credit-ledger.module.js';

/**
 * Internal ops parse their request with the contract schema at the edge: a malformed request
 * sent over real NATS comes back as a 400 naming the bad field. (Without the contract the ledger
 * answered the string amount with `{applications: []}` and the half request with a 500.)
 */
let db: TestDatabase;
let ns: string;
let nc: NatsConnection;
let svc: ServiceUnderTest;

beforeAll(async () => {
  db = await createTestDatabase();
  ns = testNamespace();
  nc = await connectTestNats();
  svc = await startServiceForTest(creditLedgerDefinition, CreditLedgerModule, { databaseUrl: db.url, namespace: ns });
});

afterAll(async () => {
  await svc?.close();
  if (nc) {
    await deleteNamespaceStreams(nc, ns).catch(() => {});
    await nc.drain();
  }
  await db?.drop();
});

const call = (op: string, payload: unknown) => svc.rpc.request<unknown>('credit-ledger', op, payload, { timeoutMs: 5_000 });
const errorOf = (p: Promise<unknown>) =>
  p.then(
    (r) => {
      throw new Error(`expected an error, got ${JSON.stringify(r)}`);
    },
    (e: unknown) => e as DomainError,
  );

const T0 = 1_767_225_600;
const applyRequest: ApplyCreditsRequest = {
  invoice: 'in_contract',
  customer: 'cus_contract',
  currency: 'usd',
  at: T0,
  test_clock: null,
  lines: [{ id: 'il_1', amount: 3000, price: 'price_m', metered: true }],
};

describe('internal op contracts at the receiving edge (int)', () => {
  it('credits.apply with a malformed line is refused with a 400 naming it, before the application', async () => {
    const e = await errorOf(
      call(CREDIT_LEDGER_OPS.applyCredits, { ...applyRequest, lines: [{ id: 'il_1', amount: '30.00', price: 'price_m', metered: true }] }),
    );
    expect(e).toBeInstanceOf(DomainError);
    expect(e.toShape()).toEqual({
      type: 'invalid_request_error',
      code: 'parameter_invalid',
      param: 'lines[0][amount]',
      message: 'Malformed request: lines[0][amount]: Invalid input: expected number, received string',
      status: 400,
    });
  });

  it('a request missing fields lists them', async () => {
    const e = await errorOf(call(CREDIT_LEDGER_OPS.applyCredits, { invoice: 'in_contract' }));
    expect(e).toMatchObject({ status: 400, code: 'parameter_invalid', param: 'customer' });
    expect(e.message).toMatch(/^Malformed request: customer: .+; currency: .+; at: .+ \(and 2 more\)$/);
  });

  it('the clock protocol: milliseconds as a string, or a misspelt bound, are refused', async () => {
    expect(await errorOf(call(CLOCK_OPS.advanceTo, { clock: 'clock_1', to: String(T0 * 1000) }))).toMatchObject({
      status: 400,
      param: 'to',
    });
    expect(await errorOf(call(CLOCK_OPS.nextDue, { clock: 'clock_1', after: T0, up_to: T0 + 60 }))).toMatchObject({
      status: 400,
      param: 'upTo',
    });
    expect(await errorOf(call(CLOCK_OPS.nextDue, undefined))).toMatchObject({ status: 400, param: 'clock' });
  });

  it('a well-formed request still reaches the handler (extra keys dropped)', async () => {
    expect(await call(CLOCK_OPS.nextDue, { clock: 'clock_none', after: T0, upTo: T0 + 86_400, extra: 1 })).toEqual({ at: null });
    expect(await call(CLOCK_OPS.advanceTo, { clock: 'clock_none', to: T0 })).toEqual({ done: true });
  });
});
