import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { ApiRequest } from '@meterflow/contracts';
import { BalanceQueries } from '../../application/balances.queries.js';
import { CreditGrantsHandler } from '../../application/credit-grants.handler.js';

/** Public API: `/v1/billing/credit_grants`, `/credit_balance_summary`, `/credit_balance_transactions`. */
@Controller()
export class CreditGrantsController {
  constructor(
    private readonly grants: CreditGrantsHandler,
    private readonly balances: BalanceQueries,
  ) {}

  @MessagePattern('credit_grants.create')
  create(@Payload() req: ApiRequest) {
    return this.grants.create(req);
  }

  @MessagePattern('credit_grants.retrieve')
  retrieve(@Payload() req: ApiRequest) {
    return this.grants.retrieve(req);
  }

  @MessagePattern('credit_grants.list')
  list(@Payload() req: ApiRequest) {
    return this.grants.list(req);
  }

  @MessagePattern('credit_grants.update')
  update(@Payload() req: ApiRequest) {
    return this.grants.update(req);
  }

  @MessagePattern('credit_grants.expire')
  expire(@Payload() req: ApiRequest) {
    return this.grants.expire(req);
  }

  @MessagePattern('credit_grants.void')
  void(@Payload() req: ApiRequest) {
    return this.grants.void(req);
  }

  @MessagePattern('credit_balance_summary.retrieve')
  summary(@Payload() req: ApiRequest) {
    return this.balances.summary(req);
  }

  @MessagePattern('credit_balance_transactions.list')
  transactions(@Payload() req: ApiRequest) {
    return this.balances.listTransactions(req);
  }

  @MessagePattern('credit_balance_transactions.retrieve')
  transaction(@Payload() req: ApiRequest) {
    return this.balances.retrieveTransaction(req);
  }
}
