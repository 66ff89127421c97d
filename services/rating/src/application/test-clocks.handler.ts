import { Inject, Injectable } from '@nestjs/common';
import type { ApiRequest, ClockProgressReply } from '@meterflow/contracts';
import { newId, notFound } from '@meterflow/kernel';
import { LIST_PARAM_KEYS, parseListParams, rejectUnknown, str, timestamp } from '@meterflow/stripe-api';
import type { CommandPipeline } from '@meterflow/event-store';
import { toStripeTestClock, type TestClockState } from '../domain/test-clock.decider.js';
import { RatingAggregates } from './aggregates.js';
import { ClockAdvanceRunner } from './clock-advance.runner.js';
import {
  PIPELINE,
  READ_MODELS,
  SUBSCRIPTION_INDEX,
  SUBSCRIPTION_SCHEDULE,
  TEST_CLOCK_INDEX,
  type RatingReadModels,
  type SubscriptionIndex,
  type SubscriptionSchedule,
  type TestClockIndex,
} from './ports.js';
import { requestContext } from './stripe-facts.js';
import { TimeService } from './time.service.js';

@Injectable()
export class TestClocksHandler {
  constructor(
    @Inject(PIPELINE) private readonly pipeline: CommandPipeline,
    @Inject(READ_MODELS) private readonly models: RatingReadModels,
    @Inject(TEST_CLOCK_INDEX) private readonly clocks: TestClockIndex,
    @Inject(SUBSCRIPTION_INDEX) private readonly subscriptions: SubscriptionIndex,
    @Inject(SUBSCRIPTION_SCHEDULE) private readonly schedule: SubscriptionSchedule,
    private readonly types: RatingAggregates,
    private readonly time: TimeService,
    private readonly runner: ClockAdvanceRunner,
  ) {}

  async create(req: ApiRequest) {
    rejectUnknown(req.params, ['frozen_time', 'name']);
    const frozen = timestamp(req.params, 'frozen_time', { required: true });
    const name = str(req.params, 'name', { maxLength: 300 }) ?? null;
    const id = newId('testClock');
    const now = this.time.systemNow();
    const { state } = await this.pipeline.handle(
      this.types.testClock,
      id,
      { type: 'CreateTestClock', id, now, frozen_time: frozen, name },
      requestContext(req),
    );
    return toStripeTestClock(state!);
  }

  private async get(id: string): Promise<TestClockState> {
    const state = await this.models.testClocks.get(id);
    if (!state || state.deleted) throw notFound('test_clock', id);
    return state;
  }

  async retrieve(req: ApiRequest) {
    return toStripeTestClock(await this.get(req.path.id ?? ''));
  }

  /** How far an advance is: the clock's own state and its subscriptions with close work still due. */
  async progress(id: string): Promise<ClockProgressReply> {
    const s = await this.get(id);
    const subscriptions = await this.schedule.clockProgress(id, s.target ?? -1);
    return {
      status: s.status,
      frozen_time: s.frozen_time,
      reached: s.reached,
      target: s.target,
      failure: s.failure ?? null,
      subscriptions,
    };
  }

  async list(req: ApiRequest) {
    rejectUnknown(req.params, LIST_PARAM_KEYS);
    const list = await this.clocks.list(parseListParams(req.params));
    return { ...list, data: list.data.map(toStripeTestClock) };
  }

  async del(req: ApiRequest) {
    const id = req.path.id ?? '';
    await this.pipeline.run(async (uow) => {
      const s = await uow.load(this.types.testClock, id);
      if (!s || s.deleted) throw notFound('test_clock', id);
      uow.executeLoaded(this.types.testClock, id, { type: 'DeleteTestClock' });
    }, requestContext(req));
    return { id, object: 'test_helpers.test_clock' as const, deleted: true as const };
  }

  async advance(req: ApiRequest) {
    const id = req.path.id ?? '';
    rejectUnknown(req.params, ['frozen_time']);
    const frozen = timestamp(req.params, 'frozen_time', { required: true });
    await this.get(id);
    const subscriptions = await this.subscriptions.recurrencesOnClock(id);
    const res = await this.pipeline.handle(
      this.types.testClock,
      id,
      { type: 'StartAdvance', frozen_time: frozen, subscriptions },
      requestContext(req),
    );
    // Answer now (`advancing`); the work runs in the background and ends in `ready`.
    this.runner.start(id);
    return toStripeTestClock(res.state!);
  }
}
