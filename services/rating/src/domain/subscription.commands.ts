import type {
  EventOf,
  RatedLine,
  SubscriptionBillingCycleAnchorReset,
  SubscriptionBillingModeMigrated,
  SubscriptionCanceled,
  SubscriptionCreated,
  SubscriptionInvoiceAcknowledged,
  SubscriptionItemAdded,
  SubscriptionItemDeleted,
  SubscriptionItemUpdated,
  SubscriptionPeriodClosed,
  SubscriptionUpdated,
} from '@meterflow/contracts';
import type { AnchorConfig } from './billing-period.js';
import type { PriceObject } from './price.js';
import type { BillingModeType, CancellationDetails, ProrationBehavior } from './subscription.types.js';

/** The subscription decider's vocabulary: the events it records and the commands it decides. */

// ---- events (schemas: libs/contracts/src/events/rating.ts) ---------------------------------

export type SubscriptionEvent =
  | EventOf<typeof SubscriptionCreated>
  | EventOf<typeof SubscriptionUpdated>
  | EventOf<typeof SubscriptionItemAdded>
  | EventOf<typeof SubscriptionItemUpdated>
  | EventOf<typeof SubscriptionItemDeleted>
  | EventOf<typeof SubscriptionBillingModeMigrated>
  | EventOf<typeof SubscriptionBillingCycleAnchorReset>
  | EventOf<typeof SubscriptionPeriodClosed>
  | EventOf<typeof SubscriptionCanceled>
  | EventOf<typeof SubscriptionInvoiceAcknowledged>;

// ---- commands ------------------------------------------------------------------------------

export interface NewItem {
  id: string;
  price: PriceObject;
  quantity?: number;
  metadata?: Record<string, string>;
}

export interface CreateSubscriptionInput {
  id: string;
  now: number;
  customer: { id: string; test_clock: string | null };
  items: NewItem[];
  billing_cycle_anchor?: number;
  billing_cycle_anchor_config?: AnchorConfig;
  backdate_start_date?: number;
  billing_mode?: BillingModeType;
  cancel_at_period_end?: boolean;
  cancel_at?: number;
  description?: string;
  metadata?: Record<string, string>;
  proration_behavior?: ProrationBehavior;
  /** Product names by id, for line descriptions. */
  product_names?: Record<string, string>;
  /**
   * Flexible mode with a backdated start: each metered item's usage over [backdate, now), rated
   * by the caller on its own (see `billsBackdatedUsageAtCreation`).
   */
  backdated_lines?: RatedLine[];
}

/** What closing the current period means: the usage window and whether the subscription ends. */
export interface Closing {
  period_start: number;
  /** End of the usage window (the period end, or an earlier `cancel_at`). */
  period_end: number;
  ending: boolean;
}

/** What a change that may make invoice items (issue 8 items 5 and 7) carries. */
export interface ChangeItems {
  /** Fresh `ii_` ids, taken in order for the invoice items the change makes (pure decision, made once). */
  invoice_item_ids?: readonly string[];
  /** `proration_date`: the time prorations are computed at (default: now). */
  proration_date?: number;
  /** Product names by id, for proration descriptions. */
  product_names?: Record<string, string>;
}

export type SubscriptionCommand =
  | { type: 'CreateSubscription'; input: CreateSubscriptionInput }
  | {
      type: 'UpdateSubscription';
      now: number;
      metadata?: Record<string, string>;
      description?: string | null;
      cancel_at?: number | null;
      cancel_at_period_end?: boolean;
      cancellation_details?: Partial<Pick<CancellationDetails, 'comment' | 'feedback'>>;
    }
  | { type: 'AddItem'; now: number; item: NewItem; proration_behavior?: ProrationBehavior; product_names?: Record<string, string> }
  | ({
      type: 'UpdateItem';
      now: number;
      item: string;
      price?: PriceObject;
      quantity?: number;
      metadata?: Record<string, string>;
      proration_behavior: ProrationBehavior;
      /** The old price's usage so far, rated by the caller (billed in flexible mode). */
      usage_lines: RatedLine[];
    } & ChangeItems)
  | ({ type: 'DeleteItem'; now: number; item: string; proration_behavior: ProrationBehavior; usage_lines: RatedLine[] } & ChangeItems)
  | { type: 'MigrateBillingMode'; now: number }
  | {
      /** `billing_cycle_anchor=now`: the period ends now (invoiced like a period end) and a new cycle starts. */
      type: 'ResetBillingCycleAnchor';
      now: number;
      /** Usage of the metered items up to now, rated by the caller. */
      lines: RatedLine[];
      product_names?: Record<string, string>;
    }
  | {
      type: 'ClosePeriod';
      closing: Closing;
      lines: RatedLine[];
      product_names?: Record<string, string>;
      /** The invoice invoicing already made for this close's request (handed over before recording). */
      accepted_invoice?: string;
    }
  | {
      type: 'Cancel';
      now: number;
      invoice_now: boolean;
      prorate: boolean;
      cancellation_details?: Partial<Pick<CancellationDetails, 'comment' | 'feedback'>>;
      /** Usage up to now, rated by the caller; billed when `invoice_now`. */
      lines: RatedLine[];
      /** `prorate=true`: ids for the credits of unused licensed time. */
      invoice_item_ids?: readonly string[];
      product_names?: Record<string, string>;
    }
  | { type: 'AcknowledgeInvoice'; idempotency_key: string; invoice: string };

/** One command of the union, by its type. */
export type CommandOf<T extends SubscriptionCommand['type']> = Extract<SubscriptionCommand, { type: T }>;
