import { Controller, Inject } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { ApiRequest } from '@meterflow/contracts';
import { LIST_PARAM_KEYS, bigInt, bool, decimalString, int, metadata, parseListParams, rejectUnknown, str } from '@meterflow/stripe-api';
import type { CommandContext } from '@meterflow/event-store';
import { InvoiceItemCommands } from '../../application/invoice-item-commands.js';
import { InvoiceQueries } from '../persistence/invoice.queries.js';
import { periodParam, pricingPrice, rangeParam, undef } from './params.js';

const ctxOf = (req: ApiRequest): CommandContext => ({ requestId: req.requestId, idempotencyKey: req.idempotencyKey ?? null });

/** `invoiceitems.*` ops (API_ROUTES). */
@Controller()
export class InvoiceItemsController {
  constructor(
    @Inject(InvoiceItemCommands) private readonly commands: InvoiceItemCommands,
    @Inject(InvoiceQueries) private readonly queries: InvoiceQueries,
  ) {}

  @MessagePattern('invoiceitems.create')
  create(@Payload() req: ApiRequest) {
    const p = req.params;
    rejectUnknown(p, [
      'customer',
      'amount',
      'currency',
      'description',
      'discountable',
      'invoice',
      'metadata',
      'period',
      'pricing',
      'quantity',
      'subscription',
      'unit_amount_decimal',
    ]);
    bool(p, 'discountable');
    const metadataPatch = metadata(p);
    const period = periodParam(p);
    const price = pricingPrice(p);
    return this.commands.createItem(
      {
        customer: str(p, 'customer', { required: true }),
        amount: undef(bigInt(p, 'amount')),
        unit_amount_decimal: undef(decimalString(p, 'unit_amount_decimal')),
        quantity: undef(int(p, 'quantity', { min: 0 })),
        ...(price !== undefined ? { price } : {}),
        currency: undef(str(p, 'currency')),
        description: undef(str(p, 'description', { maxLength: 1500 })),
        invoice: undef(str(p, 'invoice')),
        subscription: undef(str(p, 'subscription')),
        ...(period ? { period } : {}),
        ...(metadataPatch !== undefined ? { metadata: metadataPatch } : {}),
      },
      ctxOf(req),
    );
  }

  @MessagePattern('invoiceitems.retrieve')
  retrieve(@Payload() req: ApiRequest) {
    rejectUnknown(req.params, []);
    return this.queries.item(req.path.id!);
  }

  @MessagePattern('invoiceitems.list')
  list(@Payload() req: ApiRequest) {
    const p = req.params;
    rejectUnknown(p, ['customer', 'invoice', 'pending', 'created', ...LIST_PARAM_KEYS]);
    return this.queries.items(parseListParams(p), {
      customer: undef(str(p, 'customer')),
      invoice: undef(str(p, 'invoice')),
      pending: undef(bool(p, 'pending')),
      created: rangeParam(p, 'created'),
    });
  }

  @MessagePattern('invoiceitems.update')
  update(@Payload() req: ApiRequest) {
    const p = req.params;
    rejectUnknown(p, ['amount', 'description', 'discountable', 'metadata', 'period', 'pricing', 'quantity', 'unit_amount_decimal']);
    bool(p, 'discountable');
    const metadataPatch = metadata(p);
    const period = periodParam(p);
    const price = pricingPrice(p);
    const description = str(p, 'description', { maxLength: 1500 });
    return this.commands.updateItem(
      req.path.id!,
      {
        amount: undef(bigInt(p, 'amount')),
        unit_amount_decimal: undef(decimalString(p, 'unit_amount_decimal')),
        quantity: undef(int(p, 'quantity', { min: 0 })),
        ...(price !== undefined ? { price } : {}),
        ...(description !== undefined ? { description } : {}),
        ...(period ? { period } : {}),
        ...(metadataPatch !== undefined ? { metadata: metadataPatch } : {}),
      },
      ctxOf(req),
    );
  }

  @MessagePattern('invoiceitems.del')
  del(@Payload() req: ApiRequest) {
    rejectUnknown(req.params, []);
    return this.commands.deleteItem(req.path.id!, ctxOf(req));
  }
}
