import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { ApiRequest } from '@meterflow/contracts';
import { CreditLedgerService } from '../../application/credit-ledger.service.js';

/** Public API: `/v1/billing/credit_grants`, `/credit_balance_summary`, `/credit_balance_transactions`. */
@Controller()
export class CreditGrantsController {
  constructor(private readonly ledger: CreditLedgerService) {}

  @MessagePattern('credit_grants.create')
  create(@Payload() req: ApiRequest) {
    return this.ledger.createGrant(req);
  }

  @MessagePattern('credit_grants.retrieve')
  retrieve(@Payload() req: ApiRequest) {
    return this.ledger.retrieveGrant(req);
  }

  @MessagePattern('credit_grants.list')
  list(@Payload() req: ApiRequest) {
    return this.ledger.listGrants(req);
  }

  @MessagePattern('credit_grants.update')
  update(@Payload() req: ApiRequest) {
    return this.ledger.updateGrant(req);
  }

  @MessagePattern('credit_grants.expire')
  expire(@Payload() req: ApiRequest) {
    return this.ledger.expireGrant(req);
  }

  @MessagePattern('credit_grants.void')
  void(@Payload() req: ApiRequest) {
    return this.ledger.voidGrant(req);
  }

  @MessagePattern('credit_balance_summary.retrieve')
  summary(@Payload() req: ApiRequest) {
    return this.ledger.balanceSummary(req);
  }

  @MessagePattern('credit_balance_transactions.list')
  transactions(@Payload() req: ApiRequest) {
    return this.ledger.listTransactions(req);
  }

  @MessagePattern('credit_balance_transactions.retrieve')
  transaction(@Payload() req: ApiRequest) {
    return this.ledger.retrieveTransaction(req);
  }
}
