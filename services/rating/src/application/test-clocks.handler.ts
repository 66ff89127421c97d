import { Inject, Injectable } from '@nestjs/common';
import type { ApiRequest } from '@meterflow/contracts';
import { newId, notFound } from '@meterflow/kernel';
import { LIST_PARAM_KEYS, listSql, parseListParams, rejectUnknown, str, timestamp } from '@meterflow/stripe-api';
import type pg from 'pg';
import type { CommandPipeline } from '@meterflow/event-store';
import { PG_POOL } from '@meterflow/service-kit';
import type { Recurrence } from '../domain/billing-period.js';
import { toStripeTestClock, type TestClockState } from '../domain/test-clock.decider.js';
import { RatingAggregates } from './aggregates.js';
import { ClockAdvanceRunner } from './clock-advance.runner.js';
import { PIPELINE, READ_MODELS, type RatingReadModels } from './ports.js';
import { requestContext } from './stripe-facts.js';
import { TimeService } from './time.service.js';

@Injectable()
export class TestClocksHandler {
  constructor(
    @Inject(PIPELINE) private readonly pipeline: CommandPipeline,
    @Inject(READ_MODELS) private readonly models: RatingReadModels,
    @Inject(PG_POOL) private readonly pool: pg.Pool,
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

  async list(req: ApiRequest) {
    rejectUnknown(req.params, LIST_PARAM_KEYS);
    const page = listSql(parseListParams(req.params));
    const { rows } = await this.pool.query<{ state: TestClockState }>(
      `SELECT state FROM test_clocks WHERE NOT deleted${page.where ? ` AND ${page.where}` : ''} ORDER BY ${page.orderBy} LIMIT ${page.limit}`,
      page.args,
    );
    return page.finish(
      rows.map((r) => toStripeTestClock(r.state)),
      '/v1/test_helpers/test_clocks',
    );
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
    const { rows } = await this.pool.query<{ interval: string; interval_count: number }>(
      `SELECT DISTINCT state->'recurrence'->>'interval' AS interval, (state->'recurrence'->>'interval_count')::int AS interval_count
         FROM subscriptions WHERE test_clock = $1 AND status = 'active'`,
      [id],
    );
    const subscriptions = rows.map((r) => ({ interval: r.interval, interval_count: r.interval_count }) as Recurrence);
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
