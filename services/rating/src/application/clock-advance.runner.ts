import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { z } from 'zod';
import {
  CLOCK_OPS,
  CLOCK_PARTICIPANTS,
  type ClockAdvanceToReply,
  type ClockAdvanceToRequest,
  type ClockNextDueReply,
  type ClockNextDueRequest,
  type ServiceName,
} from '@meterflow/contracts';
import { DomainError, isDependencyUnavailable } from '@meterflow/kernel';
import type { RpcClient } from '@meterflow/messaging';
import type { Logger } from '@meterflow/observability';
import { CONFIG, LOGGER, RPC_CLIENT } from '@meterflow/service-kit';
import type { CommandPipeline } from '@meterflow/event-store';
import { nextLoopStep, type TestClockCommand } from '../domain/test-clock.decider.js';
import type { RatingEnv } from '../rating.definition.js';
import { RatingAggregates } from './aggregates.js';
import { PeriodCloseService } from './period-close.service.js';
import { ThresholdInvoicing } from './threshold-invoicing.service.js';
import { PIPELINE, READ_MODELS, TEST_CLOCK_INDEX, type RatingReadModels, type TestClockIndex } from './ports.js';

const MAX_STEPS = 10_000;
/** Retry delay while a participant or a dependency is away (a crash, a restart, an outage). */
const AWAY_RETRY_MS = 1_000;
/** How often advancing clocks without a loop in this process are picked up (boot, a loop that ended). */
const SWEEP_MS = 5_000;
/** Participants send a sign of life this often while they work on a clock request. */
export const HEARTBEAT_MS = 1_000;

/**
 * A participant that is not there (503 no responders, 504 no answer: crashed or restarting) or
 * a dependency that is down: the advance waits for it, without limit and without using up
 * attempts, and carries on from the step it was at when it is back (every participant's
 * `advance_to` is idempotent up to `to`). Only a real failure ends an advance in
 * `internal_failure`.
 */
export function isAway(e: unknown): boolean {
  return isDependencyUnavailable(e) || (e instanceof DomainError && (e.status === 503 || e.status === 504));
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const participantsSchema = z.array(z.enum(['meter-ingestion', 'rating', 'invoicing', 'credit-ledger']));

/**
 * Runs the advance loop of clock-protocol.ts in the background. Its progress is in the clock's
 * event stream (`TestClockStepCompleted`), so a restarted service resumes advancing clocks: at
 * boot and every SWEEP_MS, each clock still `advancing` gets a loop (one per clock across
 * replicas, by advisory lock).
 */
@Injectable()
export class ClockAdvanceRunner implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly running = new Map<string, Promise<void>>();
  private stopped = false;
  private readonly participants: ServiceName[];
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    @Inject(PIPELINE) private readonly pipeline: CommandPipeline,
    @Inject(READ_MODELS) private readonly models: RatingReadModels,
    @Inject(TEST_CLOCK_INDEX) private readonly clocks: TestClockIndex,
    private readonly types: RatingAggregates,
    @Inject(RPC_CLIENT) private readonly rpc: RpcClient,
    @Inject(CONFIG) private readonly config: RatingEnv & { RATING_CLOCK_PARTICIPANTS?: string },
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly periods: PeriodCloseService,
    private readonly thresholds: ThresholdInvoicing,
  ) {
    this.participants = config.RATING_CLOCK_PARTICIPANTS
      ? participantsSchema.parse(
          config.RATING_CLOCK_PARTICIPANTS.split(',')
            .map((s) => s.trim())
            .filter(Boolean),
        )
      : [...CLOCK_PARTICIPANTS];
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.sweep();
    this.sweeper = setInterval(() => void this.sweep(), SWEEP_MS);
    this.sweeper.unref();
  }

  /** Start a loop for every clock left advancing (Postgres down: the next sweep). */
  private async sweep(): Promise<void> {
    if (this.stopped) return;
    try {
      for (const id of await this.clocks.advancingIds()) if (!this.running.has(id)) void this.start(id);
    } catch (e) {
      this.logger.warn({ err: e }, 'test clocks: could not look for advancing clocks; trying again');
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.sweeper);
    await Promise.allSettled(this.running.values());
  }

  /** Start (or keep) the loop for one clock; returns when it has finished. */
  start(id: string): Promise<void> {
    const existing = this.running.get(id);
    if (existing) return existing;
    // One loop per clock across replicas: the clock's lock is held while it runs.
    const run = this.clocks
      .exclusively(id, () => this.loop(id))
      .catch((e: unknown) => this.logger.error({ err: e, clock: id }, 'test clock loop crashed'))
      .finally(() => this.running.delete(id));
    this.running.set(id, run);
    return run;
  }

  /** One command on the clock (its Stripe event, if any, is announced by the aggregate type). */
  private async command(id: string, cmd: TestClockCommand): Promise<void> {
    await this.pipeline.handle(this.types.testClock, id, cmd);
  }

  private async loop(id: string): Promise<void> {
    // A participant that keeps reporting work it does not do would step the clock second by
    // second: bound the steps of one advance.
    let steps = 0;
    while (!this.stopped) {
      let step: ReturnType<typeof nextLoopStep>;
      try {
        const state = await this.models.testClocks.get(id);
        if (!state || state.deleted || state.status !== 'advancing' || state.target === null) return;
        step = await this.attempt(async () => {
          const q: ClockNextDueRequest = { clock: id, after: state.reached, upTo: state.target! };
          const dues = await Promise.all(this.participants.map((p) => this.nextDue(p, q)));
          // Billing thresholds are evaluated at each step; the first one second after the frozen time.
          if (this.participants.includes('rating')) dues.push(await this.thresholds.nextDue(id, state.frozen_time, q.after, q.upTo));
          return nextLoopStep(state, dues);
        });
        if (step.kind === 'finish') {
          await this.command(id, { type: 'FinishAdvance' });
          return;
        }
        if (++steps > MAX_STEPS)
          throw new Error(`advance took more than ${MAX_STEPS} steps; a participant keeps reporting work it does not do`);
        const to = step.to;
        await this.attempt(async () => {
          // In order: work flows from ingestion to rating to invoicing to the ledger.
          for (const p of this.participants) await this.advanceTo(p, { clock: id, to });
        });
        await this.command(id, { type: 'CompleteStep', to });
      } catch (e) {
        if (this.stopped) return;
        if (isAway(e)) {
          // Read the clock again and redo the step it is at: nothing is lost, nothing done twice.
          const err = e as { message?: string; code?: string };
          this.logger.warn(
            { err: { message: err.message, code: err.code }, clock: id },
            'test clock advance waits for a participant or dependency',
          );
          await sleep(AWAY_RETRY_MS);
          continue;
        }
        this.logger.error({ err: e, clock: id }, 'test clock advance failed');
        await this.command(id, { type: 'FailAdvance', reason: (e as Error).message ?? String(e) });
        return;
      }
    }
  }

  private async attempt<T>(fn: () => Promise<T>, tries = 3): Promise<T> {
    for (let i = 1; ; i++) {
      try {
        return await fn();
      } catch (e) {
        // Away: not an attempt; the loop waits for it (see isAway).
        if (i >= tries || this.stopped || isAway(e)) throw e;
        await sleep(200 * 2 ** i);
      }
    }
  }

  private async nextDue(p: ServiceName, q: ClockNextDueRequest): Promise<number | null> {
    if (p === 'rating') return this.periods.nextDue(q.clock, q.after, q.upTo);
    const r = await this.rpc.request<ClockNextDueReply>(p, CLOCK_OPS.nextDue, q, {
      timeoutMs: this.config.RATING_RPC_TIMEOUT_MS,
      heartbeatMs: HEARTBEAT_MS,
    });
    return r.at;
  }

  private async advanceTo(p: ServiceName, q: ClockAdvanceToRequest): Promise<void> {
    if (p === 'rating') {
      // Thresholds first: the period-end invoice bills what a threshold invoice did not.
      await this.thresholds.runDue(q.clock, q.to);
      await this.periods.runDue(q.clock, q.to);
      return;
    }
    // A participant with much work due answers `done: false` after a while: ask again.
    for (;;) {
      const r = await this.rpc.request<ClockAdvanceToReply>(p, CLOCK_OPS.advanceTo, q, {
        timeoutMs: Math.max(this.config.RATING_RPC_TIMEOUT_MS, 120_000),
        // A participant killed mid-request is noticed in seconds (then the step is asked again).
        heartbeatMs: HEARTBEAT_MS,
      });
      if (r.done !== false || this.stopped) return;
    }
  }
}
