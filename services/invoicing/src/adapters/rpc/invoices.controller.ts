import { Controller, Inject } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { ApiRequest } from '@meterflow/contracts';
import { LIST_PARAM_KEYS, bool, enumOf, int, metadata, parseListParams, rejectUnknown, str, timestamp } from '@meterflow/stripe-api';
import type { CommandContext } from '@meterflow/event-store';
import { InvoiceCommands } from '../../application/invoice-commands.js';
import { Finalization } from '../../application/finalization.js';
import { InvoicePreview } from '../../application/invoice-preview.js';
import { InvoiceQueries } from '../persistence/invoice.queries.js';
import { rangeParam, undef } from './params.js';

const ctxOf = (req: ApiRequest): CommandContext => ({ requestId: req.requestId, idempotencyKey: req.idempotencyKey ?? null });
const COLLECTION = ['charge_automatically', 'send_invoice'] as const;
const STATUSES = ['draft', 'open', 'paid', 'uncollectible', 'void'] as const;

/** `invoices.*` ops (API_ROUTES). */
@Controller()
export class InvoicesController {
  constructor(
    @Inject(InvoiceCommands) private readonly commands: InvoiceCommands,
    @Inject(Finalization) private readonly finalization: Finalization,
    @Inject(InvoiceQueries) private readonly queries: InvoiceQueries,
    @Inject(InvoicePreview) private readonly previews: InvoicePreview,
  ) {}

  /** The invoice that would be issued (issue 8 item 8); nothing is written. */
  @MessagePattern('invoices.create_preview')
  createPreview(@Payload() req: ApiRequest) {
    return this.previews.preview(req);
  }

  @MessagePattern('invoices.create')
  create(@Payload() req: ApiRequest) {
    const p = req.params;
    rejectUnknown(p, [
      'customer',
      'auto_advance',
      'automatically_finalizes_at',
      'collection_method',
      'currency',
      'days_until_due',
      'due_date',
      'description',
      'footer',
      'metadata',
      'pending_invoice_items_behavior',
      'subscription',
    ]);
    const metadataPatch = metadata(p);
    return this.commands.create(
      {
        customer: str(p, 'customer', { required: true }),
        auto_advance: undef(bool(p, 'auto_advance')),
        automatically_finalizes_at: undef(timestamp(p, 'automatically_finalizes_at')),
        collection_method: undef(enumOf(p, 'collection_method', COLLECTION)),
        currency: undef(str(p, 'currency')),
        days_until_due: undef(int(p, 'days_until_due', { min: 0 })),
        due_date: undef(timestamp(p, 'due_date')),
        description: undef(str(p, 'description', { maxLength: 1500 })),
        footer: undef(str(p, 'footer', { maxLength: 5000 })),
        ...(metadataPatch !== undefined ? { metadata: metadataPatch } : {}),
        pending_invoice_items_behavior: undef(enumOf(p, 'pending_invoice_items_behavior', ['include', 'exclude'] as const)),
        subscription: undef(str(p, 'subscription')),
      },
      ctxOf(req),
    );
  }

  @MessagePattern('invoices.retrieve')
  retrieve(@Payload() req: ApiRequest) {
    rejectUnknown(req.params, []);
    return this.queries.invoice(req.path.id!);
  }

  @MessagePattern('invoices.list')
  list(@Payload() req: ApiRequest) {
    const p = req.params;
    rejectUnknown(p, ['customer', 'subscription', 'status', 'collection_method', 'created', ...LIST_PARAM_KEYS]);
    return this.queries.invoices(parseListParams(p), {
      customer: undef(str(p, 'customer')),
      subscription: undef(str(p, 'subscription')),
      status: undef(enumOf(p, 'status', STATUSES)),
      collection_method: undef(enumOf(p, 'collection_method', COLLECTION)),
      created: rangeParam(p, 'created'),
    });
  }

  @MessagePattern('invoices.update')
  update(@Payload() req: ApiRequest) {
    const p = req.params;
    rejectUnknown(p, [
      'auto_advance',
      'automatically_finalizes_at',
      'collection_method',
      'days_until_due',
      'due_date',
      'description',
      'footer',
      'metadata',
    ]);
    const metadataPatch = metadata(p);
    const description = str(p, 'description', { maxLength: 1500 });
    const footer = str(p, 'footer', { maxLength: 5000 });
    return this.commands.update(
      req.path.id!,
      {
        auto_advance: undef(bool(p, 'auto_advance')),
        automatically_finalizes_at: undef(timestamp(p, 'automatically_finalizes_at')),
        collection_method: undef(enumOf(p, 'collection_method', COLLECTION)),
        days_until_due: undef(int(p, 'days_until_due', { min: 0 })),
        due_date: undef(timestamp(p, 'due_date')),
        ...(description !== undefined ? { description } : {}),
        ...(footer !== undefined ? { footer } : {}),
        ...(metadataPatch !== undefined ? { metadata: metadataPatch } : {}),
      },
      ctxOf(req),
    );
  }

  @MessagePattern('invoices.del')
  del(@Payload() req: ApiRequest) {
    rejectUnknown(req.params, []);
    return this.commands.del(req.path.id!, ctxOf(req));
  }

  @MessagePattern('invoices.lines')
  lines(@Payload() req: ApiRequest) {
    rejectUnknown(req.params, [...LIST_PARAM_KEYS]);
    return this.queries.lines(req.path.id!, parseListParams(req.params));
  }

  @MessagePattern('invoices.finalize')
  finalize(@Payload() req: ApiRequest) {
    rejectUnknown(req.params, ['auto_advance']);
    const autoAdvance = undef(bool(req.params, 'auto_advance'));
    return this.finalization.finalizeNow(req.path.id!, autoAdvance !== undefined ? { auto_advance: autoAdvance } : {}, ctxOf(req));
  }

  /**
   * There are no real payments in Meterflow: `pay` records the invoice as paid, out of band or
   * not (see docs/invoicing.md). Payment-method params are accepted and ignored.
   */
  @MessagePattern('invoices.pay')
  pay(@Payload() req: ApiRequest) {
    const p = req.params;
    rejectUnknown(p, ['paid_out_of_band', 'forgive', 'off_session', 'payment_method', 'source', 'mandate']);
    bool(p, 'forgive');
    bool(p, 'off_session');
    return this.commands.pay(req.path.id!, bool(p, 'paid_out_of_band') ?? false, ctxOf(req));
  }

  @MessagePattern('invoices.void')
  void(@Payload() req: ApiRequest) {
    rejectUnknown(req.params, []);
    return this.commands.void(req.path.id!, ctxOf(req));
  }

  @MessagePattern('invoices.mark_uncollectible')
  markUncollectible(@Payload() req: ApiRequest) {
    rejectUnknown(req.params, []);
    return this.commands.markUncollectible(req.path.id!, ctxOf(req));
  }

  @MessagePattern('invoices.send')
  send(@Payload() req: ApiRequest) {
    rejectUnknown(req.params, []);
    return this.commands.send(req.path.id!, ctxOf(req));
  }
}
