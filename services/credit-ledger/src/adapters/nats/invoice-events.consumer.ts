import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type pg from 'pg';
import type { NatsConnection } from '@nats-io/transport-node';
import type { NatsNames } from '@meterflow/contracts';
import { VersionConflictError, type CommandContext } from '@meterflow/event-store';
import { DomainError } from '@meterflow/kernel';
import { ACK, DeadLetterStore, startDurableConsumer, withInbox, type InboundMessage, type RunningConsumer } from '@meterflow/messaging';
import type { Logger } from '@meterflow/observability';
import { LOGGER, NATS_CONNECTION, NATS_NAMES, PG_POOL, SERVICE_DEFINITION, type ServiceDefinition } from '@meterflow/service-kit';
import { InvoiceCreditsHandler, type InboxTx } from '../../application/invoice-credits.handler.js';

interface InvoiceEvent {
  id: string;
  type: string;
  created: number;
  data: {
    object: {
      id: string;
      number?: string | null;
      customer: string | { id: string };
      currency: string;
      amount_paid?: number;
      metadata?: Record<string, string> | null;
      test_clock?: string | { id: string } | null;
      status_transitions?: { paid_at?: number | null; voided_at?: number | null };
    };
  };
}

const idOf = (v: string | { id: string }): string => (typeof v === 'string' ? v : v.id);

/**
 * Durable consumers on MF_EVENTS: `invoice.voided` reinstates applied credits, `invoice.paid`
 * funds a grant when the invoice's metadata asks for one. Each message is handled once
 * (inbox row in the same transaction as the appends); a message that can never succeed is
 * dead-lettered with the reason.
 */
@Injectable()
export class InvoiceEventsConsumer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly running: RunningConsumer[] = [];

  constructor(
    private readonly invoiceCredits: InvoiceCreditsHandler,
    @Inject(PG_POOL) private readonly pool: pg.Pool,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(NATS_NAMES) private readonly names: NatsNames,
    @Inject(SERVICE_DEFINITION) private readonly def: ServiceDefinition,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const deadLetters = new DeadLetterStore(
      this.pool,
      this.def.dbSchema,
      { nc: this.nc, subject: this.names.deadLetterSubject('credit-ledger') },
      { service: 'credit-ledger' },
    );
    const onError = (err: unknown, msg?: InboundMessage) =>
      this.logger.warn({ err, subject: msg?.subject }, 'invoice event handling failed');
    const start = (purpose: string, type: string, handle: (e: InvoiceEvent, tx: InboxTx, ctx: CommandContext) => Promise<unknown>) => {
      const durable = this.names.durable('credit-ledger', purpose);
      return startDurableConsumer({
        nc: this.nc,
        stream: this.names.eventsStream,
        durable,
        service: 'credit-ledger',
        filterSubject: this.names.eventSubject(type),
        concurrency: 4,
        deadLetters,
        onError,
        handle: async (msg) => {
          const event = msg.json<InvoiceEvent>();
          try {
            // The unit of work runs in the inbox's transaction: the message is marked handled with the appends.
            await withInbox(this.pool, this.def.dbSchema, durable, msg.messageId ?? event.id, (tx) =>
              handle(event, tx, { requestId: null, causationId: event.id }),
            );
          } catch (e) {
            // Another message about the same grant or invoice won the race: retry shortly, quietly.
            if (e instanceof VersionConflictError) return { kind: 'nak', delayMs: 100 };
            throw e;
          }
          return ACK;
        },
      });
    };
    this.running.push(await start('invoice_voided', 'invoice.voided', (e, tx, ctx) => this.onVoided(e, tx, ctx)));
    this.running.push(await start('invoice_paid', 'invoice.paid', (e, tx, ctx) => this.onPaid(e, tx, ctx)));
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(this.running.splice(0).map((c) => c.stop()));
  }

  private onVoided(e: InvoiceEvent, tx: InboxTx, ctx: CommandContext) {
    const inv = e.data.object;
    return this.invoiceCredits.voided(tx, inv.id, inv.status_transitions?.voided_at ?? e.created, ctx);
  }

  private onPaid(e: InvoiceEvent, tx: InboxTx, ctx: CommandContext) {
    const inv = e.data.object;
    if (!inv?.id || !inv.customer) throw new DomainError('invalid_event', `invoice.paid ${e.id} carries no invoice`);
    return this.invoiceCredits.paid(
      tx,
      {
        id: inv.id,
        number: inv.number ?? null,
        customer: idOf(inv.customer),
        currency: inv.currency,
        amount_paid: inv.amount_paid ?? 0,
        metadata: inv.metadata ?? null,
        paid_at: inv.status_transitions?.paid_at ?? e.created,
      },
      inv.test_clock === undefined ? undefined : inv.test_clock === null ? null : idOf(inv.test_clock),
      ctx,
    );
  }
}
