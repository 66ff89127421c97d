import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allocateCredits, isApplyCandidate, type PayableLine } from './credit-application.js';
import {
  decideGrant,
  evolveGrant,
  initialGrantState,
  type GrantCommand,
  type GrantEvent,
  type GrantState,
} from './credit-grant.decider.js';

/*
 * Property-based (issue 8, "tests that find the next gap"): random timelines of grants created,
 * updated, expired and voided, invoices finalized (credits allocated in Stripe's order and applied
 * as the ledger's handler does: Tick, then allocateCredits, then ApplyCredits) and voided
 * (ReinstateApplication), in any order. Rules (stripe-api.md §5): the balance only moves by
 * postings; an application debits exactly what the invoice was credited; voiding an invoice gives
 * back exactly what was applied (and a grant past expiry or voided loses it again at once); no grant
 * ever goes negative.
 */

type Step =
  | { kind: 'grant'; amount: number; priority: number; effectiveIn: number; expiresIn: number | null; category: 'paid' | 'promotional' }
  | { kind: 'invoice'; lines: number[] }
  | { kind: 'void_invoice'; pick: number }
  | { kind: 'expire'; pick: number }
  | { kind: 'void_grant'; pick: number }
  | { kind: 'update_expiry'; pick: number; expiresIn: number | null }
  | { kind: 'wait'; seconds: number };

const wt = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });
const step: fc.Arbitrary<Step> = fc.oneof(
  wt(
    4,
    fc.record({
      kind: fc.constant('grant' as const),
      amount: fc.integer({ min: 1, max: 5_000 }),
      priority: fc.integer({ min: 0, max: 2 }),
      effectiveIn: fc.oneof(wt(3, fc.constant(0)), wt(1, fc.integer({ min: 1, max: 300 }))),
      expiresIn: fc.option(fc.integer({ min: 1, max: 600 }), { nil: null }),
      category: fc.constantFrom('paid' as const, 'promotional' as const),
    }),
  ),
  wt(
    5,
    fc.record({
      kind: fc.constant('invoice' as const),
      lines: fc.array(fc.integer({ min: -500, max: 4_000 }), { minLength: 1, maxLength: 4 }),
    }),
  ),
  wt(2, fc.record({ kind: fc.constant('void_invoice' as const), pick: fc.nat() })),
  wt(1, fc.record({ kind: fc.constant('expire' as const), pick: fc.nat() })),
  wt(1, fc.record({ kind: fc.constant('void_grant' as const), pick: fc.nat() })),
  wt(
    1,
    fc.record({
      kind: fc.constant('update_expiry' as const),
      pick: fc.nat(),
      expiresIn: fc.option(fc.integer({ min: 1, max: 600 }), { nil: null }),
    }),
  ),
  wt(2, fc.record({ kind: fc.constant('wait' as const), seconds: fc.integer({ min: 1, max: 400 }) })),
);

interface World {
  now: number;
  grants: Map<string, GrantState>;
  postings: Map<string, Extract<GrantEvent, { type: 'CreditBalanceTransactionRecorded' }>['data'][]>;
  /** Per invoice: what it was credited (line, grant, amount), and whether it was voided. */
  invoices: { id: string; applications: { line: string; grant: string; amount: bigint }[]; voided: boolean }[];
}

let txn = 0;
const nextTxnId = () => `cbtxn_${++txn}`;

function exec(w: World, id: string, command: GrantCommand): GrantEvent[] {
  const s = w.grants.get(id) ?? initialGrantState();
  const events = decideGrant(command, s);
  let next = s;
  for (const e of events) {
    next = evolveGrant(next, e);
    if (e.type === 'CreditBalanceTransactionRecorded') (w.postings.get(id) ?? w.postings.set(id, []).get(id)!).push(e.data);
    // No grant ever goes negative, after any single event.
    expect(next.balance, `${id} after ${e.type}`).toBeGreaterThanOrEqual(0n);
  }
  w.grants.set(id, next);
  return events;
}

/** Commands the API refuses (expire a voided grant, an expiry in the past) are refused by the decider: skip them. */
function tryExec(w: World, id: string, command: GrantCommand): void {
  try {
    exec(w, id, command);
  } catch (e) {
    if (!(e instanceof Error && 'code' in e)) throw e;
  }
}

function play(steps: Step[]): World {
  const w: World = { now: 1_000, grants: new Map(), postings: new Map(), invoices: [] };
  const ids = () => [...w.grants.keys()];
  const pick = (n: number) => ids()[n % Math.max(ids().length, 1)];
  for (const [i, st] of steps.entries()) {
    w.now += 1;
    // Work due by now happens first (the scheduler or a clock advance).
    for (const id of ids()) exec(w, id, { type: 'Tick', at: w.now, nextTxnId });
    switch (st.kind) {
      case 'grant': {
        const id = `credgr_${i}`;
        tryExec(w, id, {
          type: 'CreateGrant',
          now: w.now,
          nextTxnId,
          grant: {
            id,
            customer: 'cus_1',
            testClock: null,
            currency: 'usd',
            amount: BigInt(st.amount),
            category: st.category,
            scope: { price_type: 'metered', prices: null },
            priority: st.priority,
            effectiveAt: w.now + st.effectiveIn,
            expiresAt: st.expiresIn === null ? null : w.now + st.effectiveIn + st.expiresIn,
            name: null,
            metadata: {},
          },
        });
        break;
      }
      case 'invoice': {
        const invoice = `in_${i}`;
        const lines: PayableLine[] = st.lines.map((a, k) => ({ id: `il_${i}_${k}`, amount: BigInt(a), price: 'price_m', metered: true }));
        // As ApplyCreditsHandler.applyOne: candidates ticked to `at`, allocated in Stripe's order, applied.
        const states = ids()
          .filter((id) => isApplyCandidate(w.grants.get(id)!, w.now))
          .map((id) => {
            exec(w, id, { type: 'Tick', at: w.now, nextTxnId });
            return w.grants.get(id)!;
          });
        const allocations = allocateCredits(states, lines, 'usd', w.now);
        for (const line of lines) {
          const credited = allocations.filter((a) => a.line === line.id).reduce((s, a) => s + a.amount, 0n);
          expect(credited).toBeLessThanOrEqual(line.amount > 0n ? line.amount : 0n);
        }
        // Every allocation is accepted: credits applied = ledger debits.
        for (const a of allocations)
          exec(w, a.grant, { type: 'ApplyCredits', invoice, line: a.line, amount: a.amount, at: w.now, txnId: nextTxnId() });
        w.invoices.push({ id: invoice, applications: allocations, voided: false });
        break;
      }
      case 'void_invoice': {
        const inv = w.invoices.filter((x) => !x.voided)[st.pick % Math.max(w.invoices.length, 1)];
        if (!inv) break;
        inv.voided = true;
        for (const a of inv.applications) {
          const before = w.grants.get(a.grant)!;
          exec(w, a.grant, { type: 'ReinstateApplication', invoice: inv.id, line: a.line, at: w.now, nextTxnId });
          const after = w.grants.get(a.grant)!;
          // Voids reinstate exactly: a live grant gets back what was applied; an expired or voided one loses it again at once.
          const live = before.expiredAt === null && before.voidedAt === null;
          expect(after.balance - before.balance).toBe(live ? a.amount : 0n);
          const back = w.postings.get(a.grant)!.filter((p) => p.reason === 'credits_application_invoice_voided' && p.invoice === inv.id);
          expect(back.filter((p) => p.invoice_line_item === a.line).map((p) => p.amount)).toEqual([a.amount]);
        }
        break;
      }
      case 'expire': {
        const id = pick(st.pick);
        if (id) tryExec(w, id, { type: 'ExpireGrant', at: w.now, nextTxnId });
        break;
      }
      case 'void_grant': {
        const id = pick(st.pick);
        if (id) tryExec(w, id, { type: 'VoidGrant', at: w.now, nextTxnId });
        break;
      }
      case 'update_expiry': {
        const id = pick(st.pick);
        if (id) tryExec(w, id, { type: 'UpdateGrant', now: w.now, expiresAt: st.expiresIn === null ? null : w.now + st.expiresIn });
        break;
      }
      case 'wait':
        w.now += st.seconds;
        break;
    }
  }
  return w;
}

const signed = (p: { type: 'credit' | 'debit'; amount: bigint }) => (p.type === 'credit' ? p.amount : -p.amount);
const sum = (xs: bigint[]) => xs.reduce((a, b) => a + b, 0n);

describe('the credit ledger over random timelines', () => {
  it('conserves money: balance = its postings; granted = balance + applied − reinstated + expired + voided; never negative', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 30 }), (steps) => {
        const w = play(steps);
        for (const [id, g] of w.grants) {
          const ps = w.postings.get(id) ?? [];
          expect(g.balance).toBe(sum(ps.map(signed)));
          expect(g.balance).toBeGreaterThanOrEqual(0n);
          const by = (reason: string) => sum(ps.filter((p) => p.reason === reason).map((p) => p.amount));
          if (g.granted) {
            expect(by('credits_granted')).toBe(g.amount);
            expect(g.amount + by('credits_application_invoice_voided')).toBe(
              g.balance + by('credits_applied') + by('credits_expired') + by('credits_voided'),
            );
          } else expect(ps).toEqual([]);
          // An expired or voided grant keeps nothing.
          if (g.expiredAt !== null || g.voidedAt !== null) expect(g.balance).toBe(0n);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('credits applied = ledger debits, invoice by invoice; a voided invoice is reinstated in full', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 30 }), (steps) => {
        const w = play(steps);
        const all = [...w.postings.values()].flat();
        for (const inv of w.invoices) {
          const debits = all.filter((p) => p.reason === 'credits_applied' && p.invoice === inv.id);
          expect(sum(debits.map((p) => p.amount))).toBe(sum(inv.applications.map((a) => a.amount)));
          const back = all.filter((p) => p.reason === 'credits_application_invoice_voided' && p.invoice === inv.id);
          expect(sum(back.map((p) => p.amount))).toBe(inv.voided ? sum(inv.applications.map((a) => a.amount)) : 0n);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('the timelines themselves', () => {
  it('exercise what the properties are about: grants funded, credits applied, invoices voided, grants expired', () => {
    const worlds = fc.sample(fc.array(step, { minLength: 1, maxLength: 30 }), { numRuns: 200, seed: 8 }).map(play);
    const reasons = new Set(worlds.flatMap((w) => [...w.postings.values()].flat().map((p) => p.reason)));
    expect([...reasons].sort()).toEqual([
      'credits_application_invoice_voided',
      'credits_applied',
      'credits_expired',
      'credits_granted',
      'credits_voided',
    ]);
  });
});
