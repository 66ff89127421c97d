import type { CreateSubscriptionInvoiceRequest, RatedLine } from '@meterflow/contracts';
import type { AnchorConfig, Recurrence } from './billing-period.js';
import type { PriceObject } from './price.js';

export type BillingModeType = 'classic' | 'flexible';
export type ProrationBehavior = 'create_prorations' | 'always_invoice' | 'none';

export interface SubscriptionItemState {
  id: string;
  created: number;
  /** The price as it was when attached (pricing terms of a price never change). */
  price: PriceObject;
  /** Null for metered prices. */
  quantity: number | null;
  metadata: Record<string, string>;
  /** Usage of this item is billed from here (an item added or repriced mid-cycle starts later). */
  current_period_start: number;
  current_period_end: number;
}

export const CANCELLATION_FEEDBACK = [
  'customer_service',
  'low_quality',
  'missing_features',
  'other',
  'switched_service',
  'too_complex',
  'too_expensive',
  'unused',
] as const;

export interface CancellationDetails {
  comment: string | null;
  feedback: (typeof CANCELLATION_FEEDBACK)[number] | null;
  feedback_option?: string | null;
  reason: 'cancellation_requested' | 'payment_disputed' | 'payment_failed' | null;
}

export interface SubscriptionState {
  id: string;
  customer: string;
  currency: string;
  test_clock: string | null;
  status: 'active' | 'canceled';
  created: number;
  start_date: number;
  billing_cycle_anchor: number;
  billing_cycle_anchor_config: AnchorConfig | null;
  billing_mode: { type: BillingModeType; updated_at: number | null };
  recurrence: Recurrence;
  /** The subscription's current period; every item ends it together. */
  period: { start: number; end: number };
  cancel_at: number | null;
  cancel_at_period_end: boolean;
  canceled_at: number | null;
  ended_at: number | null;
  cancellation_details: CancellationDetails;
  description: string | null;
  metadata: Record<string, string>;
  items: SubscriptionItemState[];
  latest_invoice: string | null;
  /** Invoices handed to invoicing and not yet acknowledged: retried until they are. */
  pending_invoices: CreateSubscriptionInvoiceRequest[];
  /** Lines billed on the next invoice (flexible billing mode: usage of a removed or repriced item). */
  pending_lines: RatedLine[];
}
