import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { consumerAckPending, consumerPending } from '@meterflow/observability';

export interface ConsumerLagSampler {
  /** Read the consumer's info now and update the gauges (errors are swallowed: NATS may be down). */
  sampleNow(): Promise<void>;
  /** Stop sampling and drop this consumer's series (a stopped consumer reports no stale lag). */
  stop(): void;
}

/** Default sampling period; Prometheus scrapes every 15-30 s, so the gauge is at most this stale. */
export const DEFAULT_LAG_SAMPLE_MS = 10_000;

/**
 * Keep `meterflow_consumer_pending_messages` (and `..._ack_pending_messages`) of one durable
 * consumer up to date from JetStream's consumer info (`num_pending`, `num_ack_pending`), every
 * `intervalMs` and once at start. Sampled in the background so a scrape never waits on NATS.
 */
export function sampleConsumerLag(
  nc: NatsConnection,
  labels: { service: string; stream: string; consumer: string },
  intervalMs = DEFAULT_LAG_SAMPLE_MS,
): ConsumerLagSampler {
  let jsm: JetStreamManager | undefined;
  let stopped = false;
  const sampleNow = async (): Promise<void> => {
    try {
      jsm ??= await jetstreamManager(nc);
      const info = await jsm.consumers.info(labels.stream, labels.consumer);
      if (stopped) return;
      consumerPending.set(labels, info.num_pending);
      consumerAckPending.set(labels, info.num_ack_pending);
    } catch {
      // NATS down or the consumer being recreated: keep the last value, try again next period.
    }
  };
  void sampleNow();
  const timer = setInterval(() => void sampleNow(), intervalMs);
  timer.unref();
  return {
    sampleNow,
    stop() {
      stopped = true;
      clearInterval(timer);
      consumerPending.remove(labels);
      consumerAckPending.remove(labels);
    },
  };
}
