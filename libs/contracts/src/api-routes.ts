import type { ServiceName } from './subjects.js';

/**
 * The public HTTP API, as one table: each route names the service that owns it and the
 * operation it runs there (NATS subject `mf.rpc.<service>.<op>`). The gateway serves exactly
 * these routes; a service implements exactly the ops it is named for.
 */
export interface ApiRoute {
  method: 'GET' | 'POST' | 'DELETE';
  /** Fastify-style path with `:params`. */
  path: string;
  service: ServiceName;
  op: string;
  /** v2 endpoints take JSON bodies and print times as RFC 3339. */
  api?: 'v1' | 'v2';
  /** Authenticated with a meter event session token instead of a secret key. */
  auth?: 'secret' | 'meter_event_session';
  /**
   * The gateway sends the calls of one event-loop turn to this op as one batched request
   * (`rpcBatchSubject`). Only for ops with small, bounded replies: the whole batch's answer
   * travels in one NATS message (1 MB by default), and it leaves when the slowest call is done.
   */
  batched?: boolean;
  /**
   * Where an `Idempotency-Key` is claimed. `'gateway'` (the default): the gateway claims the key
   * in its own store before the call and stores the response after it. `'service'`: the gateway
   * hands the claim to the op (`ApiRequest.idempotency`), which stores the key and its response in
   * the same transaction as the change (one commit instead of two in series) and answers a repeat
   * itself (`IdempotentReplay`). For ops whose response is known before their one write.
   */
  idempotency?: 'gateway' | 'service';
}

const r = (method: ApiRoute['method'], path: string, service: ServiceName, op: string, extra: Partial<ApiRoute> = {}): ApiRoute => ({
  method,
  path,
  service,
  op,
  api: path.startsWith('/v2/') ? 'v2' : 'v1',
  auth: 'secret',
  ...extra,
});

export const API_ROUTES: readonly ApiRoute[] = [
  // meter-ingestion
  r('POST', '/v1/billing/meters', 'meter-ingestion', 'meters.create'),
  r('GET', '/v1/billing/meters', 'meter-ingestion', 'meters.list'),
  r('GET', '/v1/billing/meters/:id', 'meter-ingestion', 'meters.retrieve'),
  r('POST', '/v1/billing/meters/:id', 'meter-ingestion', 'meters.update'),
  r('POST', '/v1/billing/meters/:id/deactivate', 'meter-ingestion', 'meters.deactivate'),
  r('POST', '/v1/billing/meters/:id/reactivate', 'meter-ingestion', 'meters.reactivate'),
  r('GET', '/v1/billing/meters/:id/event_summaries', 'meter-ingestion', 'meters.event_summaries'),
  r('POST', '/v1/billing/meter_events', 'meter-ingestion', 'meter_events.create', { batched: true, idempotency: 'service' }),
  r('POST', '/v1/billing/meter_event_adjustments', 'meter-ingestion', 'meter_event_adjustments.create', { batched: true }),
  r('POST', '/v2/billing/meter_events', 'meter-ingestion', 'v2.meter_events.create', { batched: true, idempotency: 'service' }),
  r('POST', '/v2/billing/meter_event_session', 'meter-ingestion', 'v2.meter_event_session.create'),
  r('POST', '/v2/billing/meter_event_stream', 'meter-ingestion', 'v2.meter_event_stream.create', {
    batched: true,
    auth: 'meter_event_session',
  }),
  r('POST', '/v2/billing/meter_event_adjustments', 'meter-ingestion', 'v2.meter_event_adjustments.create', { batched: true }),
  r('POST', '/v1/billing/alerts', 'meter-ingestion', 'alerts.create'),
  r('GET', '/v1/billing/alerts', 'meter-ingestion', 'alerts.list'),
  r('GET', '/v1/billing/alerts/:id', 'meter-ingestion', 'alerts.retrieve'),
  r('POST', '/v1/billing/alerts/:id/activate', 'meter-ingestion', 'alerts.activate'),
  r('POST', '/v1/billing/alerts/:id/deactivate', 'meter-ingestion', 'alerts.deactivate'),
  r('POST', '/v1/billing/alerts/:id/archive', 'meter-ingestion', 'alerts.archive'),

  // rating
  r('POST', '/v1/customers', 'rating', 'customers.create'),
  r('GET', '/v1/customers', 'rating', 'customers.list'),
  r('GET', '/v1/customers/search', 'rating', 'customers.search'),
  r('GET', '/v1/customers/:id', 'rating', 'customers.retrieve'),
  r('POST', '/v1/customers/:id', 'rating', 'customers.update'),
  r('DELETE', '/v1/customers/:id', 'rating', 'customers.del'),
  r('POST', '/v1/products', 'rating', 'products.create'),
  r('GET', '/v1/products', 'rating', 'products.list'),
  r('GET', '/v1/products/:id', 'rating', 'products.retrieve'),
  r('POST', '/v1/products/:id', 'rating', 'products.update'),
  r('POST', '/v1/prices', 'rating', 'prices.create'),
  r('GET', '/v1/prices', 'rating', 'prices.list'),
  r('GET', '/v1/prices/:id', 'rating', 'prices.retrieve'),
  r('POST', '/v1/prices/:id', 'rating', 'prices.update'),
  r('POST', '/v1/subscriptions', 'rating', 'subscriptions.create'),
  r('GET', '/v1/subscriptions', 'rating', 'subscriptions.list'),
  r('GET', '/v1/subscriptions/:id', 'rating', 'subscriptions.retrieve'),
  r('POST', '/v1/subscriptions/:id', 'rating', 'subscriptions.update'),
  r('DELETE', '/v1/subscriptions/:id', 'rating', 'subscriptions.cancel'),
  r('POST', '/v1/subscriptions/:id/migrate', 'rating', 'subscriptions.migrate'),
  r('POST', '/v1/subscription_items', 'rating', 'subscription_items.create'),
  r('GET', '/v1/subscription_items', 'rating', 'subscription_items.list'),
  r('GET', '/v1/subscription_items/:id', 'rating', 'subscription_items.retrieve'),
  r('POST', '/v1/subscription_items/:id', 'rating', 'subscription_items.update'),
  r('DELETE', '/v1/subscription_items/:id', 'rating', 'subscription_items.del'),
  r('POST', '/v1/test_helpers/test_clocks', 'rating', 'test_clocks.create'),
  r('GET', '/v1/test_helpers/test_clocks', 'rating', 'test_clocks.list'),
  r('GET', '/v1/test_helpers/test_clocks/:id', 'rating', 'test_clocks.retrieve'),
  r('DELETE', '/v1/test_helpers/test_clocks/:id', 'rating', 'test_clocks.del'),
  r('POST', '/v1/test_helpers/test_clocks/:id/advance', 'rating', 'test_clocks.advance'),

  // invoicing
  r('POST', '/v1/invoices', 'invoicing', 'invoices.create'),
  r('GET', '/v1/invoices', 'invoicing', 'invoices.list'),
  r('POST', '/v1/invoices/create_preview', 'invoicing', 'invoices.create_preview'),
  r('GET', '/v1/invoices/:id', 'invoicing', 'invoices.retrieve'),
  r('POST', '/v1/invoices/:id', 'invoicing', 'invoices.update'),
  r('DELETE', '/v1/invoices/:id', 'invoicing', 'invoices.del'),
  r('GET', '/v1/invoices/:id/lines', 'invoicing', 'invoices.lines'),
  r('POST', '/v1/invoices/:id/finalize', 'invoicing', 'invoices.finalize'),
  r('POST', '/v1/invoices/:id/pay', 'invoicing', 'invoices.pay'),
  r('POST', '/v1/invoices/:id/void', 'invoicing', 'invoices.void'),
  r('POST', '/v1/invoices/:id/mark_uncollectible', 'invoicing', 'invoices.mark_uncollectible'),
  r('POST', '/v1/invoices/:id/send', 'invoicing', 'invoices.send'),
  r('POST', '/v1/invoiceitems', 'invoicing', 'invoiceitems.create'),
  r('GET', '/v1/invoiceitems', 'invoicing', 'invoiceitems.list'),
  r('GET', '/v1/invoiceitems/:id', 'invoicing', 'invoiceitems.retrieve'),
  r('POST', '/v1/invoiceitems/:id', 'invoicing', 'invoiceitems.update'),
  r('DELETE', '/v1/invoiceitems/:id', 'invoicing', 'invoiceitems.del'),
  // Meterflow's own, outside Stripe's namespace: every cent of an invoice explained (issue 8 item 10).
  r('GET', '/meterflow/v1/invoices/:id/explanation', 'invoicing', 'invoices.explanation'),

  // credit-ledger
  r('POST', '/v1/billing/credit_grants', 'credit-ledger', 'credit_grants.create'),
  r('GET', '/v1/billing/credit_grants', 'credit-ledger', 'credit_grants.list'),
  r('GET', '/v1/billing/credit_grants/:id', 'credit-ledger', 'credit_grants.retrieve'),
  r('POST', '/v1/billing/credit_grants/:id', 'credit-ledger', 'credit_grants.update'),
  r('POST', '/v1/billing/credit_grants/:id/expire', 'credit-ledger', 'credit_grants.expire'),
  r('POST', '/v1/billing/credit_grants/:id/void', 'credit-ledger', 'credit_grants.void'),
  r('GET', '/v1/billing/credit_balance_summary', 'credit-ledger', 'credit_balance_summary.retrieve'),
  r('GET', '/v1/billing/credit_balance_transactions', 'credit-ledger', 'credit_balance_transactions.list'),
  r('GET', '/v1/billing/credit_balance_transactions/:id', 'credit-ledger', 'credit_balance_transactions.retrieve'),

  // gateway: webhook endpoints and the events API
  r('POST', '/v1/webhook_endpoints', 'gateway', 'webhook_endpoints.create'),
  r('GET', '/v1/webhook_endpoints', 'gateway', 'webhook_endpoints.list'),
  r('GET', '/v1/webhook_endpoints/:id', 'gateway', 'webhook_endpoints.retrieve'),
  r('POST', '/v1/webhook_endpoints/:id', 'gateway', 'webhook_endpoints.update'),
  r('DELETE', '/v1/webhook_endpoints/:id', 'gateway', 'webhook_endpoints.del'),
  r('POST', '/meterflow/v1/webhook_endpoints/:id/roll_secret', 'gateway', 'webhook_endpoints.roll_secret'),
  r('GET', '/v1/events', 'gateway', 'events.list'),
  r('GET', '/v1/events/:id', 'gateway', 'events.retrieve'),
];

/**
 * Which `retrieve` op resolves an id, by its prefix, for `expand[]`.
 * Keys are `ID_PREFIX` kinds from `@meterflow/kernel`.
 */
export const RETRIEVE_BY_KIND: Readonly<Record<string, { service: ServiceName; op: string }>> = {
  customer: { service: 'rating', op: 'customers.retrieve' },
  product: { service: 'rating', op: 'products.retrieve' },
  price: { service: 'rating', op: 'prices.retrieve' },
  subscription: { service: 'rating', op: 'subscriptions.retrieve' },
  subscriptionItem: { service: 'rating', op: 'subscription_items.retrieve' },
  testClock: { service: 'rating', op: 'test_clocks.retrieve' },
  meter: { service: 'meter-ingestion', op: 'meters.retrieve' },
  invoice: { service: 'invoicing', op: 'invoices.retrieve' },
  invoiceItem: { service: 'invoicing', op: 'invoiceitems.retrieve' },
  creditGrant: { service: 'credit-ledger', op: 'credit_grants.retrieve' },
  creditBalanceTransaction: { service: 'credit-ledger', op: 'credit_balance_transactions.retrieve' },
  webhookEndpoint: { service: 'gateway', op: 'webhook_endpoints.retrieve' },
  event: { service: 'gateway', op: 'events.retrieve' },
};
