/**
 * Every Stripe event type Meterflow publishes on `mf.events.<type>` (stream `MF_EVENTS`), with
 * the `object` of its `data.object`. The one list: webhook endpoints accept exactly these (and
 * `*`) in `enabled_events`, and the AsyncAPI document has a channel for each.
 */
export const STRIPE_EVENT_TYPES = {
  'billing.alert.triggered': 'billing.alert_triggered',
  'billing.credit_balance_transaction.created': 'billing.credit_balance_transaction',
  'billing.credit_grant.created': 'billing.credit_grant',
  'billing.credit_grant.updated': 'billing.credit_grant',
  'billing.meter.created': 'billing.meter',
  'billing.meter.deactivated': 'billing.meter',
  'billing.meter.reactivated': 'billing.meter',
  'billing.meter.updated': 'billing.meter',
  'customer.created': 'customer',
  'customer.deleted': 'customer',
  'customer.subscription.created': 'subscription',
  'customer.subscription.deleted': 'subscription',
  'customer.subscription.updated': 'subscription',
  'customer.updated': 'customer',
  'invoice.created': 'invoice',
  'invoice.deleted': 'invoice',
  'invoice.finalized': 'invoice',
  'invoice.marked_uncollectible': 'invoice',
  'invoice.paid': 'invoice',
  'invoice.payment_succeeded': 'invoice',
  'invoice.sent': 'invoice',
  'invoice.updated': 'invoice',
  'invoice.voided': 'invoice',
  'invoiceitem.created': 'invoiceitem',
  'invoiceitem.deleted': 'invoiceitem',
  'price.created': 'price',
  'price.updated': 'price',
  'product.created': 'product',
  'product.updated': 'product',
  'test_helpers.test_clock.advancing': 'test_helpers.test_clock',
  'test_helpers.test_clock.created': 'test_helpers.test_clock',
  'test_helpers.test_clock.deleted': 'test_helpers.test_clock',
  'test_helpers.test_clock.internal_failure': 'test_helpers.test_clock',
  'test_helpers.test_clock.ready': 'test_helpers.test_clock',
  'v1.billing.meter.error_report_triggered': 'billing.meter_error_report',
  'v1.billing.meter.no_meter_found': 'billing.meter_error_report',
} as const;

export type StripeEventType = keyof typeof STRIPE_EVENT_TYPES;

export const isStripeEventType = (t: string): t is StripeEventType => Object.hasOwn(STRIPE_EVENT_TYPES, t);
