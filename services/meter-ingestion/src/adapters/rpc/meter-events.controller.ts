import { randomBytes } from 'node:crypto';
import { Controller, Inject } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { ApiRequest } from '@meterflow/contracts';
import { CLOCK, DomainError, newId, toUnix, type Clock } from '@meterflow/kernel';
import { arr, enumOf, obj, parseListParams, rejectUnknown, renderV2Time, str, timestamp, LIST_PARAM_KEYS } from '@meterflow/stripe-api';
import { AdjustmentsService } from '../../application/adjustments.service.js';
import { IngestService } from '../../application/ingest.service.js';
import { UsageService } from '../../application/usage.service.js';
import { IngestPublisher } from '../nats/ingest.publisher.js';
import { SessionRepository } from '../persistence/session.repository.js';

const EVENT_KEYS = ['event_name', 'payload', 'identifier', 'timestamp'];
const SESSION_SECONDS = 15 * 60;
/** Generated identifiers for the synchronous paths (the async paths derive theirs from the message). */
const generatedIdentifier = (): string => `mfe_${randomBytes(12).toString('hex')}`;

const sessionExpired = (): DomainError =>
  new DomainError('billing_meter_event_session_expired', 'The meter event session has expired or is not valid. Create a new session.', {
    status: 401,
  });

/** Meter events (v1, v2, sessions and streams), adjustments and event summaries. */
@Controller()
export class MeterEventsController {
  constructor(
    private readonly ingest: IngestService,
    private readonly usage: UsageService,
    private readonly adjustments: AdjustmentsService,
    private readonly sessions: SessionRepository,
    private readonly publisher: IngestPublisher,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @MessagePattern('meter_events.create')
  createV1(@Payload() req: ApiRequest) {
    return this.create(req, 'v1');
  }

  @MessagePattern('v2.meter_events.create')
  createV2(@Payload() req: ApiRequest) {
    return this.create(req, 'v2');
  }

  /** One meter event, answered as its v1 or v2 object (v2 prints times as RFC 3339). */
  private create(req: ApiRequest, format: 'v1' | 'v2') {
    rejectUnknown(req.params, EVENT_KEYS);
    const now = this.clock.now();
    const v2 = format === 'v2';
    return this.ingest.recordOne(
      req.params,
      format,
      generatedIdentifier,
      (e) => ({
        object: v2 ? 'v2.billing.meter_event' : 'billing.meter_event',
        created: v2 ? renderV2Time(now) : toUnix(now),
        event_name: e.eventName,
        identifier: e.identifier,
        livemode: false,
        payload: e.payload,
        timestamp: v2 ? renderV2Time(e.timestamp) : e.timestamp,
      }),
      req.idempotency,
    );
  }

  @MessagePattern('v2.meter_event_session.create')
  async createSession(@Payload() req: ApiRequest) {
    rejectUnknown(req.params, []);
    const id = newId('meterEventSession');
    const token = `mes_tok_${randomBytes(24).toString('base64url')}`;
    const created = toUnix(this.clock.now());
    const expiresAt = created + SESSION_SECONDS;
    await this.sessions.create(id, token, created, expiresAt);
    return {
      id,
      object: 'v2.billing.meter_event_session',
      authentication_token: token,
      created: renderV2Time(created),
      expires_at: renderV2Time(expiresAt),
      livemode: false,
    };
  }

  @MessagePattern('v2.meter_event_stream.create')
  async stream(@Payload() req: ApiRequest) {
    const token = req.sessionToken;
    if (!token) throw sessionExpired();
    const expiresAt = await this.sessions.expiresAt(token);
    if (expiresAt === undefined || expiresAt <= toUnix(this.clock.now())) throw sessionExpired();
    rejectUnknown(req.params, ['events']);
    const events = arr(req.params, 'events', { required: true });
    if (events.length < 1 || events.length > 100)
      throw new DomainError('parameter_invalid', `events must contain between 1 and 100 events (got ${events.length}).`, {
        param: 'events',
      });
    events.forEach((e, i) => {
      if (!e || typeof e !== 'object' || Array.isArray(e))
        throw new DomainError('parameter_invalid', 'Invalid object', { param: `events[${i}]` });
    });
    // Validated asynchronously, like Stripe: the durable receipt is the JetStream ack.
    await this.publisher.publish(events.map((e) => ({ ...(e as object) })));
    return {};
  }

  @MessagePattern('meter_event_adjustments.create')
  async adjustV1(@Payload() req: ApiRequest) {
    const { eventName, identifier } = this.readAdjustment(req);
    await this.adjustments.cancel(eventName, identifier);
    return {
      object: 'billing.meter_event_adjustment',
      cancel: { identifier },
      event_name: eventName,
      livemode: false,
      status: 'complete',
      type: 'cancel',
    };
  }

  @MessagePattern('v2.meter_event_adjustments.create')
  async adjustV2(@Payload() req: ApiRequest) {
    const { eventName, identifier } = this.readAdjustment(req);
    const r = await this.adjustments.cancel(eventName, identifier);
    return {
      id: r.id,
      object: 'v2.billing.meter_event_adjustment',
      cancel: { identifier },
      created: renderV2Time(r.created),
      event_name: eventName,
      livemode: false,
      status: 'complete',
      type: 'cancel',
    };
  }

  private readAdjustment(req: ApiRequest): { eventName: string; identifier: string } {
    rejectUnknown(req.params, ['event_name', 'type', 'cancel']);
    const eventName = str(req.params, 'event_name', { required: true, maxLength: 100 });
    enumOf(req.params, 'type', ['cancel'] as const, { required: true });
    const cancel = obj(req.params, 'cancel', { required: true });
    rejectUnknown(cancel, ['identifier']);
    const identifier = str(cancel, 'identifier', { required: true, maxLength: 100 });
    return { eventName, identifier };
  }

  @MessagePattern('meters.event_summaries')
  summaries(@Payload() req: ApiRequest) {
    const p = req.params;
    rejectUnknown(p, ['customer', 'start_time', 'end_time', 'value_grouping_window', ...LIST_PARAM_KEYS]);
    const customer = str(p, 'customer', { required: true, maxLength: 5000 });
    const start = timestamp(p, 'start_time', { required: true });
    const end = timestamp(p, 'end_time', { required: true });
    const grouping = enumOf(p, 'value_grouping_window', ['hour', 'day'] as const) ?? undefined;
    return this.usage.summaries(req.path.id!, customer, start, end, grouping, parseListParams(p));
  }
}
