import {
  SUBSCRIPTION_CANCELLATION_FEEDBACK,
  type CancellationDetailsDocument,
  type SubscriptionItemDocument,
  type SubscriptionStateDocument,
} from '@meterflow/contracts';

/*
 * A subscription's state is carried whole by SubscriptionCreated, so its shape is the event
 * contract's (libs/contracts/src/events/rating.ts), written once there.
 */
export type SubscriptionState = SubscriptionStateDocument;
export type SubscriptionItemState = SubscriptionItemDocument;
export type CancellationDetails = CancellationDetailsDocument;
export type BillingModeType = SubscriptionState['billing_mode']['type'];
export type ProrationBehavior = 'create_prorations' | 'always_invoice' | 'none';

export const CANCELLATION_FEEDBACK = SUBSCRIPTION_CANCELLATION_FEEDBACK;
