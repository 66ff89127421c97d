import { Inject, Injectable } from '@nestjs/common';
import {
  INVOICING_OPS,
  type CreateSubscriptionInvoiceRequest,
  type CreateSubscriptionInvoicesReply,
  type CreateSubscriptionInvoicesRequest,
  type RatedLine,
} from '@meterflow/contracts';
import type { CommandPipeline, Loaded } from '@meterflow/event-store';
import { DomainError, isDependencyUnavailable } from '@meterflow/kernel';
import type { RpcClient } from '@meterflow/messaging';
import type { Logger } from '@meterflow/observability';
import { CONFIG, LOGGER, RPC_CLIENT } from '@meterflow/service-kit';
import { isMetered } from '../domain/price.js';
import { subscriptionDecider } from '../domain/subscription.aggregate.js';
import { dueClosing, meteredWindows, type SubscriptionCommand } from '../domain/subscription.decider.js';
import type { SubscriptionState } from '../domain/subscription.types.js';
import type { RatingEnv } from '../rating.definition.js';
import { RatingAggregates } from './aggregates.js';
import {
  PIPELINE,
  READ_MODELS,
  SUBSCRIPTION_SCHEDULE,
  type DuePosition,
  type RatingReadModels,
  type SubscriptionSchedule,
} from './ports.js';
import { UsageRatingService, type UsageWindow } from './usage-rating.service.js';

/** A close decided for one subscription: its commands, and the state they were decided on. */
interface PreparedClose {
  id: string;
  loaded: Loaded<SubscriptionState | null>;
  commands: SubscriptionCommand[];
}

// The aggregate's decide (usage net of threshold invoices), exactly as the commit will run it.
const { decide, evolve } = subscriptionDecider;

/**
 * Period close, shared by the real-time scheduler (customers without a test clock) and
 * `clock.advance_to` (customers on one clock): every subscription whose period ends (or whose
 * scheduled cancellation falls) at or before `at` is rated with one usage query per batch,
 * closed in one transaction per batch, and handed to invoicing until it acknowledges.
 */
@Injectable()
export class PeriodCloseService {
  constructor(
    @Inject(PIPELINE) private readonly pipeline: CommandPipeline,
    @Inject(READ_MODELS) private readonly models: RatingReadModels,
    @Inject(SUBSCRIPTION_SCHEDULE) private readonly schedule: SubscriptionSchedule,
    private readonly types: RatingAggregates,
    @Inject(RPC_CLIENT) private readonly rpc: RpcClient,
    @Inject(CONFIG) private readonly config: RatingEnv,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly rating: UsageRatingService,
  ) {}

  /** Earliest period-close work in (after, upTo] for subscriptions on `clock`. */
  async nextDue(clock: string, after: number, upTo: number): Promise<number | null> {
    const work = await this.schedule.clockWork(clock, after, upTo);
    // Work left over from an earlier, failed advance (an invoice not handed over, a close not
    // done) is due right away.
    if (work.leftOver && after < upTo) return after + 1;
    return work.earliest;
  }

  /**
   * Do all close work due at or before `at`, then hand every pending invoice to invoicing.
   * Batches walk the due range in `(next_due, id)` order; batch N is committed while batch N+1
   * is rated and handed over (at most one commit in flight, and the walk is past it). A pass
   * that reaches the end starts again from the beginning, for subscriptions with another period
   * due by `at` and closes lost to a conflict, until a pass closes nothing.
   */
  async runDue(clock: string | null, at: number): Promise<{ closed: number }> {
    let closed = 0;
    let closedThisPass = 0;
    let committing: Promise<number> = Promise.resolve(0);
    let after: DuePosition | null = null;
    const settle = async () => {
      const done = await committing;
      committing = Promise.resolve(0);
      closed += done;
      closedThisPass += done;
    };
    for (;;) {
      const due = await this.schedule.due(clock, at, after, this.config.RATING_CLOSE_BATCH_SIZE);
      if (due.length === 0) {
        await settle();
        if (after === null || closedThisPass === 0) break;
        after = null;
        closedThisPass = 0;
        continue;
      }
      const prepared = await this.prepareBatch(
        due.map((d) => d.id),
        at,
      );
      await settle();
      committing = this.commitBatch(prepared);
      after = due.at(-1)!;
    }
    await this.flushPendingFor(clock);
    return { closed };
  }

  /** Close one period of each subscription (if due at `at`). Returns how many closed. */
  async closeBatch(ids: readonly string[], at: number): Promise<number> {
    return this.commitBatch(await this.prepareBatch(ids, at));
  }

  /**
   * Rate the due period of each subscription, decide its close, and hand the invoices to
   * invoicing before recording anything: the close and its acknowledgement are then written
   * together. (A crash in between repeats the hand-over, which is idempotent by key.)
   */
  private async prepareBatch(ids: readonly string[], at: number): Promise<PreparedClose[]> {
    const loaded = await this.models.subscriptions.getMany(ids);
    const work: { id: string; state: SubscriptionState; closing: NonNullable<ReturnType<typeof dueClosing>>; windows: UsageWindow[] }[] =
      [];
    for (const id of ids) {
      const s = loaded.get(id)?.state;
      if (!s) continue;
      const closing = dueClosing(s, at);
      if (!closing) continue;
      const windows = meteredWindows(s, closing.period_end).map((w) => ({
        key: `${id}|${w.item.id}`,
        customer: s.customer,
        subscription_item: w.item.id,
        price: w.item.price,
        start: w.start,
        end: w.end,
      }));
      work.push({ id, state: s, closing, windows });
    }
    if (work.length === 0) return [];
    const [lines, names] = await Promise.all([
      this.rating.rate(work.flatMap((w) => w.windows)),
      this.rating.productNames(work.flatMap((w) => w.state.items.filter((i) => !isMetered(i.price)).map((i) => i.price.product))),
    ]);
    const product_names = Object.fromEntries(names);
    const command = (w: (typeof work)[number], accepted_invoice?: string) =>
      ({
        type: 'ClosePeriod',
        closing: w.closing,
        lines: w.windows.map((x) => lines.get(x.key)).filter((l): l is RatedLine => !!l),
        product_names,
        ...(accepted_invoice ? { accepted_invoice } : {}),
      }) as const;
    // Decide once to learn the invoice requests, hand them over, then decide again recording
    // what invoicing accepted (decide is pure: same state, same request).
    const dry = work.map((w) => ({ w, after: decide(command(w), w.state).reduce(evolve, w.state) }));
    const { accepted } = await this.handOver(dry.flatMap((d) => d.after?.pending_invoices ?? []));
    return dry.map(({ w, after }) => {
      const key = after?.pending_invoices.at(-1)?.idempotency_key;
      const close = command(w, key ? accepted.get(key) : undefined);
      const commands: SubscriptionCommand[] = [close];
      // Older invoices still pending (an earlier hand-over failed) are acknowledged with the close
      // (one change, one Stripe event).
      const state = decide(close, w.state).reduce(evolve, w.state);
      for (const p of state?.pending_invoices ?? []) {
        const invoice = accepted.get(p.idempotency_key);
        if (invoice) commands.push({ type: 'AcknowledgeInvoice', idempotency_key: p.idempotency_key, invoice });
      }
      return { id: w.id, loaded: loaded.get(w.id)!, commands };
    });
  }

  /**
   * One unit for the whole batch (one append, one bulk projection), on the states the close was
   * decided on (adopted: no second read). A subscription changed meanwhile fails the append with
   * a version conflict: the unit runs again without it (it stays due for the next pass).
   */
  private async commitBatch(prepared: readonly PreparedClose[]): Promise<number> {
    if (prepared.length === 0) return 0;
    const type = this.types.subscription;
    return this.pipeline.run(
      async (uow, _attempt, conflicted) => {
        const kept = prepared.filter((p) => !conflicted.has(type.streamId(p.id)));
        uow.adopt(type, new Map(kept.map((p) => [p.id, p.loaded])));
        let closed = 0;
        for (const p of kept) {
          const { events } = uow.executeLoaded(type, p.id, { type: 'Sequence', commands: p.commands });
          if (events.length > 0) closed++;
        }
        return closed;
      },
      {},
      { attempts: prepared.length + 1 },
    );
  }

  /**
   * `subscription_invoices.create_many` in chunks of RATING_INVOICE_BATCH_SIZE requests,
   * RATING_INVOICE_CONCURRENCY calls in flight. Accepted: key -> invoice id. An item answered with
   * an error, or every item of a call that failed, is not accepted: it stays pending and is
   * handed over again later (invoicing is idempotent by key).
   */
  private async handOver(
    requests: readonly CreateSubscriptionInvoiceRequest[],
  ): Promise<{ accepted: Map<string, string>; failure: unknown }> {
    const accepted = new Map<string, string>();
    const chunks: CreateSubscriptionInvoiceRequest[][] = [];
    for (let i = 0; i < requests.length; i += this.config.RATING_INVOICE_BATCH_SIZE)
      chunks.push(requests.slice(i, i + this.config.RATING_INVOICE_BATCH_SIZE));
    let firstFailure: unknown;
    let failed = 0;
    let next = 0;
    const worker = async () => {
      while (next < chunks.length) {
        const chunk = chunks[next++]!;
        try {
          const body: CreateSubscriptionInvoicesRequest = { requests: chunk };
          const { results } = await this.rpc.request<CreateSubscriptionInvoicesReply>(
            'invoicing',
            INVOICING_OPS.createSubscriptionInvoices,
            body,
            // An invoicing replica killed mid-request is noticed in seconds; the subscriptions stay pending.
            { timeoutMs: this.config.RATING_RPC_TIMEOUT_MS, heartbeatMs: 1_000 },
          );
          chunk.forEach((r, i) => {
            const res = results[i];
            if (res?.ok) accepted.set(r.idempotency_key, res.result.id);
            else {
              failed++;
              firstFailure ??= res?.error ?? new Error('invoicing answered fewer results than requests');
            }
          });
        } catch (e) {
          failed += chunk.length;
          firstFailure ??= e;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.config.RATING_INVOICE_CONCURRENCY, chunks.length) }, worker));
    if (failed) this.logger.warn({ err: firstFailure, failed }, 'invoicing did not accept some subscription invoices; will retry');
    return { accepted, failure: firstFailure };
  }

  /** Hand pending invoices of these subscriptions to invoicing; acknowledge what it accepted. */
  async flushPending(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const loaded = await this.models.subscriptions.getMany(ids);
    const requests: CreateSubscriptionInvoiceRequest[] = [];
    for (const l of loaded.values()) if (l.state) requests.push(...l.state.pending_invoices);
    if (requests.length === 0) return;
    const { accepted, failure } = await this.handOver(requests);
    await this.acknowledge(
      requests.flatMap((r) => {
        const invoice = accepted.get(r.idempotency_key);
        return invoice ? [{ subscription: r.subscription, key: r.idempotency_key, invoice }] : [];
      }),
    );
    if (accepted.size < requests.length) {
      // Unreachable or unavailable (a crash, an outage): a 503, waited out by a clock advance. Anything else is a failure.
      const status = (failure as { status?: unknown } | undefined)?.status;
      const away = isDependencyUnavailable(failure) || status === 503 || status === 504;
      throw new DomainError(
        away ? 'invoicing_unavailable' : 'invoicing_failed',
        `invoicing accepted ${accepted.size} of ${requests.length} invoices: ${(failure as { message?: string } | undefined)?.message ?? 'unknown error'}`,
        { status: away ? 503 : 500, type: 'api_error' },
      );
    }
  }

  /** Every subscription (on `clock`, or without one) with an unacknowledged invoice. */
  async flushPendingFor(clock: string | null): Promise<void> {
    for (;;) {
      const ids = await this.schedule.withPendingInvoices(clock, this.config.RATING_CLOSE_BATCH_SIZE);
      if (ids.length === 0) return;
      await this.flushPending(ids);
      if (ids.length < this.config.RATING_CLOSE_BATCH_SIZE) return;
    }
  }

  /** One unit: one load of the subscriptions, one append of their acknowledgements (retried afresh on a conflict). */
  private async acknowledge(acks: readonly { subscription: string; key: string; invoice: string }[]): Promise<void> {
    if (acks.length === 0) return;
    const bySub = new Map<string, SubscriptionCommand[]>();
    for (const a of acks)
      bySub.set(a.subscription, [
        ...(bySub.get(a.subscription) ?? []),
        { type: 'AcknowledgeInvoice', idempotency_key: a.key, invoice: a.invoice },
      ]);
    const type = this.types.subscription;
    await this.pipeline.run(async (uow) => {
      await uow.preload(type, [...bySub.keys()]);
      for (const [id, commands] of bySub) uow.executeLoaded(type, id, { type: 'Sequence', commands });
    });
  }
}
