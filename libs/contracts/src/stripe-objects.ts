/**
 * Stripe object shapes come from the official SDK's own types: what we return is checked
 * against what `stripe` users will read.
 */
import type Stripe from 'stripe';

export type StripeEvent = Stripe.Event;
export type StripeList<T> = { object: 'list'; data: T[]; has_more: boolean; url: string };
export type { Stripe };
