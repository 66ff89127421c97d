import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { NatsNames } from '@meterflow/contracts';
import { headersWithTrace } from '@meterflow/messaging';

/** The v2 stream endpoint hands its batch to the same durable ingest path producers use. */
export class IngestPublisher {
  private readonly js: JetStreamClient;

  constructor(
    nc: NatsConnection,
    private readonly names: NatsNames,
  ) {
    this.js = jetstream(nc);
  }

  /** Resolves on the JetStream ack: the batch is durably received. */
  async publish(events: unknown[], partition?: string): Promise<void> {
    const headers = headersWithTrace();
    await this.js.publish(this.names.ingestSubject(partition), JSON.stringify({ events }), headers.keys().length > 0 ? { headers } : {});
  }
}
