/** The fields of Stripe objects the console reads (the API returns more). */
export interface Customer {
  id: string;
  name: string | null;
  email: string | null;
  created: number;
  test_clock: string | null;
  metadata: Record<string, string>;
}

export interface Price {
  id: string;
  currency: string;
  unit_amount: number | null;
  unit_amount_decimal: string | null;
  nickname: string | null;
  product: string;
  recurring: { interval: string; interval_count: number; meter: string | null; usage_type: string } | null;
  transform_quantity: { divide_by: number; round: 'up' | 'down' } | null;
  billing_scheme: string;
}

export interface SubscriptionItem {
  id: string;
  price: Price;
  quantity?: number;
  current_period_start: number;
  current_period_end: number;
}

export interface Subscription {
  id: string;
  status: string;
  start_date: number;
  cancel_at_period_end: boolean;
  items: { data: SubscriptionItem[] };
}

export interface CreditAmount {
  amount: number;
  type: 'credit_balance_transaction' | 'discount';
  credit_balance_transaction?: string | null;
}

export interface InvoiceLine {
  id: string;
  description: string | null;
  amount: number;
  currency: string;
  quantity: number | null;
  period: { start: number; end: number };
  pricing: { price_details?: { price: string; product: string }; unit_amount_decimal: string | null } | null;
  pretax_credit_amounts: CreditAmount[] | null;
}

export interface Invoice {
  id: string;
  number: string | null;
  customer: string;
  customer_name: string | null;
  customer_email: string | null;
  status: 'draft' | 'open' | 'paid' | 'uncollectible' | 'void';
  currency: string;
  created: number;
  due_date: number | null;
  period_start: number;
  period_end: number;
  subtotal: number;
  total: number;
  amount_due: number;
  amount_paid: number;
  amount_remaining: number;
  billing_reason: string | null;
  total_pretax_credit_amounts: CreditAmount[] | null;
  status_transitions: {
    finalized_at: number | null;
    paid_at: number | null;
    voided_at: number | null;
    marked_uncollectible_at: number | null;
  };
  lines: { data: InvoiceLine[]; has_more: boolean };
}

export interface Monetary {
  currency: string;
  value: number;
}

export interface CreditGrant {
  id: string;
  name: string | null;
  category: string;
  amount: { monetary: Monetary | null };
  effective_at: number | null;
  expires_at: number | null;
  voided_at: number | null;
  created: number;
}

export interface CreditBalanceTransaction {
  id: string;
  type: 'credit' | 'debit';
  effective_at: number;
  credit_grant: string;
  credit: { type: string; amount: { monetary: Monetary | null } } | null;
  debit: {
    type: string;
    amount: { monetary: Monetary | null };
    credits_applied: { invoice: string; invoice_line_item: string } | null;
  } | null;
}

export interface CreditBalanceSummary {
  balances: { available_balance: { monetary: Monetary | null }; ledger_balance: { monetary: Monetary | null } }[];
}

export interface Meter {
  id: string;
  display_name: string;
  event_name: string;
  status: string;
  created: number;
  default_aggregation: { formula: string };
  customer_mapping: { event_payload_key: string };
  value_settings: { event_payload_key: string };
}

export interface MeterEventSummary {
  id: string;
  aggregated_value: number;
  start_time: number;
  end_time: number;
}

export interface TestClock {
  id: string;
  name: string | null;
  frozen_time: number;
  status: 'advancing' | 'internal_failure' | 'ready';
  status_details?: { advancing?: { target_frozen_time: number } };
  created: number;
}

export interface WebhookEndpoint {
  id: string;
  url: string;
  status: string;
  enabled_events: string[];
  description: string | null;
  created: number;
}

export interface StripeEvent {
  id: string;
  type: string;
  created: number;
  pending_webhooks: number;
  data: { object: Record<string, unknown> };
}
