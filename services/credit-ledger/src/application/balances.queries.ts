import { Inject, Injectable } from '@nestjs/common';
import type { ApiRequest, Stripe } from '@meterflow/contracts';
import { DomainError, notFound } from '@meterflow/kernel';
import { LIST_PARAM_KEYS, parseListParams, rejectUnknown, str, type StripeList } from '@meterflow/stripe-api';
import { summarizeBalances } from '../domain/credit-balance.js';
import { parseSummary } from './credit-grant.params.js';
import { CUSTOMERS, GRANT_READS, TRANSACTION_READS, type Customers, type GrantReads, type TransactionReads } from './ports.js';

/** `/v1/billing/credit_balance_summary` and `/v1/billing/credit_balance_transactions`: reads only. */
@Injectable()
export class BalanceQueries {
  constructor(
    @Inject(GRANT_READS) private readonly grants: GrantReads,
    @Inject(TRANSACTION_READS) private readonly transactions: TransactionReads,
    @Inject(CUSTOMERS) private readonly customers: Customers,
  ) {}

  /** Available and ledger balance per currency at the customer's "now" (its test clock's, if it has one). */
  async summary(req: ApiRequest): Promise<Stripe.Billing.CreditBalanceSummary> {
    const { customer: customerId, filter } = parseSummary(req.params);
    const customer = await this.customers.customer(customerId);
    const now = await this.customers.nowFor(customer);
    const balances = summarizeBalances(await this.grants.balancesOf(customer.id), filter, now);
    const money = (currency: string, value: bigint) => ({ type: 'monetary' as const, monetary: { currency, value: Number(value) } });
    return {
      object: 'billing.credit_balance_summary',
      balances: balances.map((b) => ({ available_balance: money(b.currency, b.available), ledger_balance: money(b.currency, b.ledger) })),
      customer: customer.id,
      customer_account: null,
      livemode: false,
    };
  }

  listTransactions(req: ApiRequest): Promise<StripeList<Stripe.Billing.CreditBalanceTransaction>> {
    rejectUnknown(req.params, ['customer', 'customer_account', 'credit_grant', ...LIST_PARAM_KEYS]);
    if (req.params.customer_account !== undefined) {
      throw new DomainError('parameter_unsupported', "'customer_account' is not supported by Meterflow; pass 'customer'.", {
        param: 'customer_account',
      });
    }
    const customer = str(req.params, 'customer', { required: true });
    const grant = str(req.params, 'credit_grant') ?? undefined;
    return this.transactions.list({ customer, ...(grant ? { creditGrant: grant } : {}) }, parseListParams(req.params));
  }

  async retrieveTransaction(req: ApiRequest): Promise<Stripe.Billing.CreditBalanceTransaction> {
    rejectUnknown(req.params, []);
    const id = req.path.id ?? '';
    const txn = await this.transactions.retrieve(id);
    if (!txn) throw notFound('billing.credit_balance_transaction', id);
    return txn;
  }
}
