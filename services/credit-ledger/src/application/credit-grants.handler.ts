import { Inject, Injectable } from '@nestjs/common';
import type { ApiRequest, Stripe } from '@meterflow/contracts';
import { newId, notFound } from '@meterflow/kernel';
import { LIST_PARAM_KEYS, parseListParams, rejectUnknown, str, type StripeList } from '@meterflow/stripe-api';
import type { GrantCommand } from '../domain/credit-grant.decider.js';
import { createGrantCommand, nextTxnId } from './credit-grant.aggregate.js';
import { parseCreateGrant, parseNoParams, parseUpdateGrant } from './credit-grant.params.js';
import { renderGrantState } from './credit-ledger.presenters.js';
import { CUSTOMERS, GRANT_READS, GRANTS, PIPELINE, type Customers, type GrantAggregate, type GrantReads, type Pipeline } from './ports.js';

const grantMissing = (id: string) => notFound('billing.credit_grant', id);

/** `/v1/billing/credit_grants`: create, update, expire, void (through the pipeline), retrieve and list (the read model). */
@Injectable()
export class CreditGrantsHandler {
  constructor(
    @Inject(PIPELINE) private readonly pipeline: Pipeline,
    @Inject(GRANTS) private readonly grants: GrantAggregate,
    @Inject(GRANT_READS) private readonly reads: GrantReads,
    @Inject(CUSTOMERS) private readonly customers: Customers,
  ) {}

  async create(req: ApiRequest): Promise<Stripe.Billing.CreditGrant> {
    const p = parseCreateGrant(req.params);
    const customer = await this.customers.customer(p.customer);
    const now = await this.customers.nowFor(customer);
    const id = newId('creditGrant');
    const command = createGrantCommand(id, customer, { ...p, effectiveAt: p.effectiveAt ?? now }, now);
    const { state } = await this.pipeline.handle(this.grants, id, command, this.context(req));
    return renderGrantState(state);
  }

  async retrieve(req: ApiRequest): Promise<Stripe.Billing.CreditGrant> {
    rejectUnknown(req.params, []);
    const id = req.path.id ?? '';
    const grant = await this.reads.retrieve(id);
    if (!grant) throw grantMissing(id);
    return grant;
  }

  list(req: ApiRequest): Promise<StripeList<Stripe.Billing.CreditGrant>> {
    rejectUnknown(req.params, ['customer', 'customer_account', ...LIST_PARAM_KEYS]);
    const customer = str(req.params, 'customer') ?? undefined;
    return this.reads.list(customer ? { customer } : {}, parseListParams(req.params));
  }

  update(req: ApiRequest) {
    const p = parseUpdateGrant(req.params);
    return this.change(req, (now) => ({
      type: 'UpdateGrant',
      now,
      ...(p.expiresAt !== undefined ? { expiresAt: p.expiresAt } : {}),
      ...(p.metadata !== undefined ? { metadata: p.metadata } : {}),
    }));
  }

  expire(req: ApiRequest) {
    parseNoParams(req.params);
    return this.change(req, (at) => ({ type: 'ExpireGrant', at, nextTxnId }));
  }

  void(req: ApiRequest) {
    parseNoParams(req.params);
    return this.change(req, (at) => ({ type: 'VoidGrant', at, nextTxnId }));
  }

  /** Update, expire and void share a shape: catch up on what is due by now, then the command. */
  private async change(req: ApiRequest, command: (now: number) => GrantCommand): Promise<Stripe.Billing.CreditGrant> {
    const id = req.path.id ?? '';
    const owner = await this.reads.owner(id);
    if (!owner) throw grantMissing(id);
    const now = await this.customers.nowFor({ test_clock: owner.test_clock });
    return this.pipeline.run(async (uow) => {
      await uow.execute(this.grants, id, { type: 'Tick', at: now, nextTxnId });
      const { state } = await uow.execute(this.grants, id, command(now));
      return renderGrantState(state);
    }, this.context(req));
  }

  private context(req: ApiRequest) {
    return {
      requestId: req.requestId,
      idempotencyKey: req.idempotencyKey ?? null,
      ...(req.requestId ? { correlationId: req.requestId } : {}),
    };
  }
}
