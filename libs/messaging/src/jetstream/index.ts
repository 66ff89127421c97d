export { ensureStreams, streamConfigs, streamReplicasFromEnv, type StreamOptions } from './streams.js';
export { ACK, toInboundMessage, type HandlerOutcome, type InboundMessage } from './inbound-message.js';
export {
  DEFAULT_ACK_WAIT_MS,
  ensureConsumer,
  startBatchConsumer,
  startDurableConsumer,
  withBatchSpan,
  type BatchConsumerOptions,
  type ConsumerOptionsBase,
  type DurableConsumerOptions,
  type RunningConsumer,
} from './durable-consumer.js';
export {
  DeadLetterStore,
  deadLetterMsgId,
  type DeadLetter,
  type DeadLetterFallback,
  type DeadLetterInput,
  type DeadLetterSource,
} from './dead-letter.store.js';
export { withInbox, type InboxResult } from './inbox.js';
export { OutboxRelay, type OutboxRelayOptions, type RelayLogger } from './outbox-relay.js';
/** The relay's renderer of announced Stripe events (defined with `announcementRenderer` in event-store). */
export type { StripeEventAnnouncement, StripeEventRenderer } from '@meterflow/event-store';
export {
  JetStreamPublishError,
  JetStreamPublisher,
  type JetStreamAck,
  type JetStreamPublishOptions,
  type JetStreamPublisherOptions,
} from './jetstream-publisher.js';
export { DEFAULT_LAG_SAMPLE_MS, sampleConsumerLag, type ConsumerLagSampler } from './consumer-lag.js';
