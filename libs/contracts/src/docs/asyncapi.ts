import { z } from 'zod';
import { API_VERSION, IngestMeterEvent, StripeEventEmitted } from '../events/core.js';
import { STRIPE_EVENT_TYPES } from '../stripe-event-types.js';
import { METER_ERROR_REPORT, MeterErrorReport, stripeComponentSchemas } from './stripe-schemas.js';

type Json = Record<string, unknown>;

/** The producers' body on `mf.ingest.meter_events[.<token>]`, as documented (the consumer checks each event on its own). */
const IngestBatchDoc = z.object({ events: z.array(IngestMeterEvent).min(1).max(100) });

const toSchema = (s: z.ZodType): Json => {
  const { $schema: _drop, ...rest } = z.toJSONSchema(s, { io: 'input' }) as Json;
  void _drop;
  return rest;
};

const id = (type: string): string => type.replace(/\./g, '_');

/**
 * The AsyncAPI 3 document of Meterflow's NATS contracts, generated from the zod contracts in
 * this package: the producers' `mf.ingest.*` (Meterflow receives) and one channel per Stripe event
 * type on `mf.events.*` (Meterflow sends), each message's payload the `StripeEventEmitted` envelope
 * with `type` fixed and `data.object` the Stripe object's schema.
 */
export function buildAsyncApi(): Json {
  const objects = stripeComponentSchemas();
  const envelope = toSchema(StripeEventEmitted.schema);
  const channels: Json = {
    ingest_meter_events: {
      address: 'mf.ingest.meter_events',
      title: 'Meter events from producers',
      description:
        'Stream MF_INGEST (work queue). Publish with a JetStream publish: the ack means durably received. Validation is asynchronous; ' +
        'rejected events are reported as v1.billing.meter.error_report_triggered / no_meter_found events and kept as dead letters.',
      messages: { meter_event_batch: { $ref: '#/components/messages/meter_event_batch' } },
    },
    ingest_meter_events_partition: {
      address: 'mf.ingest.meter_events.{partition}',
      title: 'Meter events from producers, on a partition of their own',
      parameters: { partition: { description: "A producer's own token, for its own partitioning." } },
      messages: { meter_event_batch: { $ref: '#/components/messages/meter_event_batch' } },
    },
  };
  const operations: Json = {
    receive_meter_events: {
      action: 'receive',
      channel: { $ref: '#/channels/ingest_meter_events' },
      messages: [{ $ref: '#/channels/ingest_meter_events/messages/meter_event_batch' }],
    },
    receive_meter_events_partition: {
      action: 'receive',
      channel: { $ref: '#/channels/ingest_meter_events_partition' },
      messages: [{ $ref: '#/channels/ingest_meter_events_partition/messages/meter_event_batch' }],
    },
  };
  const messages: Json = {
    meter_event_batch: {
      name: 'meter_event_batch',
      title: 'A batch of meter events (a v2 meter_event_stream body)',
      contentType: 'application/json',
      headers: {
        type: 'object',
        properties: { 'Nats-Msg-Id': { type: 'string', description: 'Optional: JetStream dedupe within 2 minutes.' } },
      },
      payload: toSchema(IngestBatchDoc),
    },
  };
  const schemas: Json = { ...objects, [METER_ERROR_REPORT]: toSchema(MeterErrorReport) };

  for (const [type, object] of Object.entries(STRIPE_EVENT_TYPES)) {
    const props = (envelope.properties ?? {}) as Json;
    const data = props.data as Json;
    schemas[`event.${type}`] = {
      ...envelope,
      description: `The Stripe event \`${type}\`: \`data.object\` is a \`${object}\`.`,
      properties: {
        ...props,
        type: { type: 'string', const: type },
        data: { ...data, properties: { ...((data.properties ?? {}) as Json), object: { $ref: `#/components/schemas/${object}` } } },
      },
    };
    messages[id(type)] = {
      name: type,
      title: type,
      contentType: 'application/json',
      headers: {
        type: 'object',
        required: ['Nats-Msg-Id'],
        properties: {
          'Nats-Msg-Id': { type: 'string', description: 'The event id (evt_...): deduplicate on it (delivery is at least once).' },
          traceparent: { type: 'string', description: 'W3C trace context of the change.' },
          'mf-stripe-created': { type: 'string', description: 'The event’s `created` (unix seconds), as a decimal string.' },
        },
      },
      payload: { $ref: `#/components/schemas/event.${type}` },
    };
    channels[`events_${id(type)}`] = {
      address: `mf.events.${type}`,
      title: type,
      description: 'Stream MF_EVENTS (30 days). The same object is POSTed to webhook endpoints and served by GET /v1/events.',
      messages: { [id(type)]: { $ref: `#/components/messages/${id(type)}` } },
    };
    operations[`send_${id(type)}`] = {
      action: 'send',
      channel: { $ref: `#/channels/events_${id(type)}` },
      messages: [{ $ref: `#/channels/events_${id(type)}/messages/${id(type)}` }],
    };
  }

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Meterflow NATS contracts',
      version: API_VERSION,
      description:
        'Producers publish meter events to mf.ingest.*; downstream consumers read Stripe event objects from mf.events.* (stream MF_EVENTS). ' +
        'Every subject and stream is prefixed by MF_NAMESPACE when set (<ns>.mf.events..., <NS>_MF_EVENTS). ' +
        'Generated from libs/contracts (pnpm docs:contracts); do not edit by hand.',
    },
    defaultContentType: 'application/json',
    servers: { local: { host: '127.0.0.1:4222', protocol: 'nats', description: 'NATS with JetStream (NATS_URL).' } },
    channels,
    operations,
    components: { schemas, messages },
  };
}
