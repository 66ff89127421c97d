import type { PriceObject } from './price.js';
import type { SubscriptionItemState, SubscriptionState } from './subscription.types.js';

/** The legacy `plan` every subscription item still carries, derived from its price. */
export function planOf(p: PriceObject) {
  return {
    id: p.id,
    object: 'plan' as const,
    active: p.active,
    amount: p.unit_amount,
    amount_decimal: p.unit_amount_decimal,
    billing_scheme: p.billing_scheme,
    created: p.created,
    currency: p.currency,
    interval: p.recurring?.interval ?? 'month',
    interval_count: p.recurring?.interval_count ?? 1,
    livemode: false,
    metadata: p.metadata,
    meter: p.recurring?.meter ?? null,
    nickname: p.nickname,
    product: p.product,
    ...(p.tiers ? { tiers: p.tiers } : {}),
    tiers_mode: p.tiers_mode,
    transform_usage: p.transform_quantity,
    trial_period_days: p.recurring?.trial_period_days ?? null,
    usage_type: p.recurring?.usage_type ?? 'licensed',
  };
}

export function toStripeSubscriptionItem(it: SubscriptionItemState, subscription: string) {
  return {
    id: it.id,
    object: 'subscription_item' as const,
    billing_thresholds: null,
    created: it.created,
    current_period_end: it.current_period_end,
    current_period_start: it.current_period_start,
    current_trial: null,
    discounts: [],
    metadata: it.metadata,
    plan: planOf(it.price),
    price: it.price,
    ...(it.quantity !== null ? { quantity: it.quantity } : {}),
    subscription,
    tax_rates: [],
  };
}

export function toStripeSubscription(s: SubscriptionState) {
  return {
    id: s.id,
    object: 'subscription' as const,
    application: null,
    application_fee_percent: null,
    automatic_tax: { disabled_reason: null, enabled: false, liability: null },
    billing_cycle_anchor: s.billing_cycle_anchor,
    billing_cycle_anchor_config: s.billing_cycle_anchor_config
      ? {
          day_of_month: s.billing_cycle_anchor_config.day_of_month,
          hour: s.billing_cycle_anchor_config.hour ?? null,
          minute: s.billing_cycle_anchor_config.minute ?? null,
          month: s.billing_cycle_anchor_config.month ?? null,
          second: s.billing_cycle_anchor_config.second ?? null,
        }
      : null,
    billing_mode: {
      type: s.billing_mode.type,
      ...(s.billing_mode.type === 'flexible' ? { flexible: { proration_discounts: 'included' } } : { flexible: null }),
      ...(s.billing_mode.updated_at !== null ? { updated_at: s.billing_mode.updated_at } : {}),
    },
    billing_schedules: [],
    billing_thresholds: s.billing_thresholds ?? null,
    cancel_at: s.cancel_at,
    cancel_at_period_end: s.cancel_at_period_end,
    canceled_at: s.canceled_at,
    cancellation_details: { ...s.cancellation_details, feedback_option: s.cancellation_details.feedback_option ?? null },
    collection_method: 'charge_automatically' as const,
    created: s.created,
    currency: s.currency,
    customer: s.customer,
    customer_account: null,
    days_until_due: null,
    default_payment_method: null,
    default_source: null,
    default_tax_rates: [],
    description: s.description,
    discounts: [],
    ended_at: s.ended_at,
    invoice_settings: { account_tax_ids: null, custom_fields: null, description: null, footer: null, issuer: { type: 'self' as const } },
    items: {
      object: 'list' as const,
      data: s.items.map((it) => toStripeSubscriptionItem(it, s.id)),
      has_more: false,
      total_count: s.items.length,
      url: `/v1/subscription_items?subscription=${s.id}`,
    },
    latest_invoice: s.latest_invoice,
    livemode: false,
    managed_payments: null,
    metadata: s.metadata,
    next_pending_invoice_item_invoice: null,
    on_behalf_of: null,
    pause_collection: null,
    payment_settings: null,
    pending_invoice_item_interval: null,
    pending_setup_intent: null,
    pending_update: null,
    schedule: null,
    start_date: s.start_date,
    status: s.status,
    test_clock: s.test_clock,
    transfer_data: null,
    trial_end: null,
    trial_settings: null,
    trial_start: null,
  };
}
