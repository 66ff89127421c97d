import type {
  CreateSubscriptionInvoiceRequest,
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
import { DomainError, assertNever, invalid } from '@meterflow/kernel';
import { Dec } from '@meterflow/kernel';
import { nextBoundaryAfter, periodContaining, resolveAnchorConfig, type AnchorConfig, type Recurrence } from './billing-period.js';
import { creationMeteredLines, firstPeriodStart } from './creation-invoice.js';
import { licensedLine } from './rated-line.js';
import { isMetered, type PriceObject } from './price.js';
import type {
  BillingModeType,
  CancellationDetails,
  ProrationBehavior,
  SubscriptionItemState,
  SubscriptionState,
} from './subscription.types.js';

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
  | {
      type: 'UpdateItem';
      now: number;
      item: string;
      price?: PriceObject;
      quantity?: number;
      metadata?: Record<string, string>;
      proration_behavior: ProrationBehavior;
      /** The old price's usage so far, rated by the caller (billed in flexible mode). */
      usage_lines: RatedLine[];
    }
  | { type: 'DeleteItem'; now: number; item: string; proration_behavior: ProrationBehavior; usage_lines: RatedLine[] }
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
    }
  | { type: 'AcknowledgeInvoice'; idempotency_key: string; invoice: string };

// ---- rules ---------------------------------------------------------------------------------

const canceledError = (_id: string): DomainError =>
  new DomainError('subscription_canceled', 'A canceled subscription can only update its metadata and cancellation_details.', {
    param: 'subscription',
  });

function recurrenceOf(price: PriceObject, param: string): Recurrence {
  if (!price.recurring)
    throw invalid(param, `The price specified is set to \`type=one_time\` but this field only accepts prices with \`type=recurring\`.`);
  return { interval: price.recurring.interval, interval_count: price.recurring.interval_count };
}

function checkItem(item: NewItem, i: number | null, sub: { currency: string; recurrence: Recurrence } | null): void {
  const p = i === null ? 'price' : `items[${i}][price]`;
  if (!item.price.active) throw invalid(p, `The price specified is inactive. This field only accepts active prices.`);
  const r = recurrenceOf(item.price, p);
  if (isMetered(item.price) && item.quantity !== undefined)
    throw invalid(
      i === null ? 'quantity' : `items[${i}][quantity]`,
      'Quantity should not be specified where usage_type is `metered`. Remove quantity from `items`.',
    );
  if (sub) {
    if (item.price.currency !== sub.currency)
      throw invalid(p, `The price specified uses currency \`${item.price.currency}\`, but the subscription uses \`${sub.currency}\`.`);
    if (r.interval !== sub.recurrence.interval || r.interval_count !== sub.recurrence.interval_count)
      throw invalid(p, 'The price specified has a different billing interval than the other items on the subscription.');
  }
}

const makeItem = (item: NewItem, now: number, start: number, end: number): SubscriptionItemState => ({
  id: item.id,
  created: now,
  price: item.price,
  quantity: isMetered(item.price) ? null : (item.quantity ?? 1),
  metadata: item.metadata ?? {},
  current_period_start: start,
  current_period_end: end,
});

export function createSubscription(input: CreateSubscriptionInput): SubscriptionState {
  if (input.items.length === 0) throw new DomainError('parameter_missing', 'Missing required param: items.', { param: 'items' });
  const first = input.items[0]!;
  checkItem(first, 0, null);
  const currency = first.price.currency;
  const recurrence = recurrenceOf(first.price, 'items[0][price]');
  input.items.forEach((it, i) => checkItem(it, i, { currency, recurrence }));
  const seen = new Set<string>();
  for (const [i, it] of input.items.entries()) {
    if (seen.has(it.price.id))
      throw invalid(`items[${i}][price]`, 'Cannot add multiple subscription items with the same price to a subscription.');
    seen.add(it.price.id);
  }

  const now = input.now;
  if (input.billing_cycle_anchor !== undefined && input.billing_cycle_anchor_config !== undefined)
    throw new DomainError(
      'parameters_exclusive',
      'You may only specify one of these parameters: billing_cycle_anchor, billing_cycle_anchor_config.',
      { param: 'billing_cycle_anchor' },
    );
  if (input.billing_cycle_anchor !== undefined && input.billing_cycle_anchor < now)
    throw invalid('billing_cycle_anchor', 'billing_cycle_anchor cannot be in the past.');
  if (input.billing_cycle_anchor_config && (recurrence.interval === 'day' || recurrence.interval === 'week'))
    throw invalid('billing_cycle_anchor_config', '`billing_cycle_anchor_config` is only supported for monthly and yearly prices.');
  if (input.backdate_start_date !== undefined && input.backdate_start_date > now)
    throw invalid('backdate_start_date', 'backdate_start_date must be in the past.');
  if (input.cancel_at !== undefined && input.cancel_at <= now) throw invalid('cancel_at', 'cancel_at must be in the future.');
  if (input.cancel_at !== undefined && input.cancel_at_period_end)
    throw invalid('cancel_at', 'You may only specify one of these parameters: cancel_at, cancel_at_period_end.');

  const anchor =
    input.billing_cycle_anchor ??
    (input.billing_cycle_anchor_config ? resolveAnchorConfig(input.billing_cycle_anchor_config, now, recurrence.interval) : now);
  const mode = input.billing_mode ?? 'flexible';
  const start = input.backdate_start_date ?? now;
  // The first period runs to the first boundary after now; classic bills a backdated start's
  // usage with it, flexible on the creation invoice (so its first period starts now).
  const periodStart = firstPeriodStart(mode, input.backdate_start_date, now);
  const end = nextBoundaryAfter(anchor, recurrence, now);
  const cancelAtPeriodEnd = input.cancel_at_period_end ?? false;
  const state: SubscriptionState = {
    id: input.id,
    customer: input.customer.id,
    currency,
    test_clock: input.customer.test_clock,
    status: 'active',
    created: now,
    start_date: start,
    billing_cycle_anchor: anchor,
    billing_cycle_anchor_config: input.billing_cycle_anchor_config ?? null,
    billing_mode: { type: mode, updated_at: input.billing_mode ? now : null },
    recurrence,
    period: { start: periodStart, end },
    cancel_at: input.cancel_at ?? (cancelAtPeriodEnd ? end : null),
    cancel_at_period_end: cancelAtPeriodEnd,
    canceled_at: cancelAtPeriodEnd || input.cancel_at !== undefined ? now : null,
    ended_at: null,
    cancellation_details: { comment: null, feedback: null, reason: cancelAtPeriodEnd || input.cancel_at ? 'cancellation_requested' : null },
    description: input.description ?? null,
    metadata: input.metadata ?? {},
    items: input.items.map((it) => makeItem(it, now, periodStart, end)),
    latest_invoice: null,
    pending_invoices: [],
    pending_lines: [],
  };
  // The `subscription_create` invoice: metered items as creation-invoice.ts says (classic: a
  // 0-amount line each; flexible: backdated usage), licensed items billed in advance for the
  // first period (prorated when it is partial; free when partial and proration_behavior=none).
  const names = input.product_names ?? {};
  const lines = creationMeteredLines({
    mode,
    items: state.items,
    start,
    end,
    proration: input.proration_behavior,
    backdated: input.backdated_lines,
    productName: (p) => names[p] ?? p,
  });
  const licensed = state.items.filter((it) => !isMetered(it.price));
  if (licensed.length > 0) {
    let fraction = prorationFraction(state, start, end);
    const none = input.proration_behavior === 'none';
    if (none && fraction.gt(1)) fraction = new Dec(1);
    if (!(none && fraction.lt(1)))
      lines.push(...licensed.map((it) => licensedLine(it, start, end, names[it.price.product] ?? it.price.product, fraction)));
  }
  if (lines.length > 0) state.pending_invoices = [invoiceRequest(state, 'subscription_create', start, end, now, lines)];
  return state;
}

/** Share of a full period that [start, end) is (end is a period boundary). */
function prorationFraction(s: SubscriptionState, start: number, end: number): Dec {
  const full = periodContaining(s.billing_cycle_anchor, s.recurrence, end - 1);
  if (start === full.start) return new Dec(1);
  return new Dec(end - start).div(end - full.start);
}

/** Licensed items billed in advance for the period [start, end). */
function licensedLines(s: SubscriptionState, start: number, end: number, names: Record<string, string> = {}): RatedLine[] {
  return s.items
    .filter((it) => !isMetered(it.price))
    .map((it) => licensedLine(it, start, end, names[it.price.product] ?? it.price.product));
}

/** When the subscription next has work: its period end, or an earlier scheduled cancellation. */
export function nextDue(s: SubscriptionState): number | null {
  if (s.status !== 'active') return null;
  return s.cancel_at !== null && s.cancel_at < s.period.end ? s.cancel_at : s.period.end;
}

/** What closing the current period means: the usage window and whether the subscription ends. */
export interface Closing {
  period_start: number;
  /** End of the usage window (the period end, or an earlier `cancel_at`). */
  period_end: number;
  ending: boolean;
}

export function dueClosing(s: SubscriptionState, at: number): Closing | null {
  const due = nextDue(s);
  if (due === null || due > at) return null;
  const ending = s.cancel_at_period_end || (s.cancel_at !== null && s.cancel_at <= s.period.end);
  return { period_start: s.period.start, period_end: due, ending };
}

/** The usage each metered item bills for a window ending at `end`. */
export function meteredWindows(s: SubscriptionState, end: number): { item: SubscriptionItemState; start: number; end: number }[] {
  return s.items.filter((it) => isMetered(it.price)).map((item) => ({ item, start: Math.min(item.current_period_start, end), end }));
}

function invoiceRequest(
  s: SubscriptionState,
  reason: CreateSubscriptionInvoiceRequest['billing_reason'],
  periodStart: number,
  periodEnd: number,
  created: number,
  lines: RatedLine[],
): CreateSubscriptionInvoiceRequest {
  return {
    idempotency_key: `${s.id}:${periodStart}:${reason}`,
    customer: s.customer,
    subscription: s.id,
    currency: s.currency,
    billing_reason: reason,
    period_start: periodStart,
    period_end: periodEnd,
    created,
    test_clock: s.test_clock,
    lines,
  };
}

export function decide(command: SubscriptionCommand, state: SubscriptionState | null): SubscriptionEvent[] {
  if (command.type === 'CreateSubscription') {
    if (state) throw new DomainError('resource_already_exists', `Subscription ${command.input.id} already exists.`);
    return [{ type: 'SubscriptionCreated', data: { subscription: createSubscription(command.input) } }];
  }
  if (!state) throw new DomainError('resource_missing', 'No such subscription', { status: 404 });
  const s = state;
  const active = s.status === 'active';
  switch (command.type) {
    case 'UpdateSubscription': {
      const c = command;
      if (!active && (c.cancel_at !== undefined || c.cancel_at_period_end !== undefined || c.description !== undefined))
        throw canceledError(s.id);
      const changes: Extract<SubscriptionEvent, { type: 'SubscriptionUpdated' }>['data']['changes'] = {};
      if (c.metadata !== undefined) changes.metadata = c.metadata;
      if (c.description !== undefined) changes.description = c.description;
      if (c.cancellation_details) changes.cancellation_details = { ...s.cancellation_details, ...c.cancellation_details };
      if (c.cancel_at_period_end !== undefined && c.cancel_at !== undefined && c.cancel_at !== null && c.cancel_at_period_end)
        throw invalid('cancel_at', 'You may only specify one of these parameters: cancel_at, cancel_at_period_end.');
      if (c.cancel_at_period_end !== undefined) {
        changes.cancel_at_period_end = c.cancel_at_period_end;
        changes.cancel_at = c.cancel_at_period_end ? s.period.end : null;
      }
      if (c.cancel_at !== undefined) {
        if (c.cancel_at !== null && c.cancel_at <= c.now) throw invalid('cancel_at', 'cancel_at must be in the future.');
        changes.cancel_at = c.cancel_at;
        if (c.cancel_at === null) changes.cancel_at_period_end = false;
      }
      if (changes.cancel_at !== undefined) {
        const scheduled = changes.cancel_at !== null;
        // Stripe: canceled_at records when the cancellation was requested; reactivation clears it.
        changes.canceled_at = scheduled ? c.now : null;
        changes.cancellation_details = {
          ...(changes.cancellation_details ?? s.cancellation_details),
          reason: scheduled ? 'cancellation_requested' : null,
        };
      }
      return [{ type: 'SubscriptionUpdated', data: { changes } }];
    }
    case 'AddItem': {
      if (!active) throw canceledError(s.id);
      checkItem(command.item, null, s);
      if (s.items.some((it) => it.price.id === command.item.price.id))
        throw invalid('price', 'Cannot add multiple subscription items with the same price to a subscription.');
      // A metered item added mid-cycle bills usage from the time it was added (both modes); a
      // licensed one is charged for the rest of the period on the next invoice (proration).
      const item = makeItem(command.item, command.now, command.now, s.period.end);
      const pending =
        !isMetered(item.price) && command.proration_behavior !== 'none' && command.now < s.period.end
          ? [
              licensedLine(
                item,
                command.now,
                s.period.end,
                command.product_names?.[item.price.product] ?? item.price.product,
                prorationFraction(s, command.now, s.period.end),
              ),
            ]
          : [];
      return [{ type: 'SubscriptionItemAdded', data: { item, pending_lines: pending } }];
    }
    case 'UpdateItem': {
      if (!active) throw canceledError(s.id);
      const item = s.items.find((it) => it.id === command.item);
      if (!item) throw new DomainError('resource_missing', `No such subscription item: '${command.item}'`, { status: 404, param: 'id' });
      let next: SubscriptionItemState = { ...item, metadata: command.metadata ?? item.metadata };
      let pending: RatedLine[] = [];
      if (command.price && command.price.id !== item.price.id) {
        checkItem(
          { id: item.id, price: command.price, ...(command.quantity !== undefined ? { quantity: command.quantity } : {}) },
          null,
          s,
        );
        if (s.items.some((it) => it.id !== item.id && it.price.id === command.price!.id))
          throw invalid('price', 'Cannot add multiple subscription items with the same price to a subscription.');
        // Usage before the change: flexible bills it at the old price (unless proration_behavior=none);
        // classic does not bill it at all. Either way the item now bills from the change.
        if (isMetered(item.price) && s.billing_mode.type === 'flexible' && command.proration_behavior !== 'none')
          pending = command.usage_lines;
        next = {
          ...next,
          price: command.price,
          quantity: isMetered(command.price) ? null : (command.quantity ?? 1),
          current_period_start: isMetered(item.price) || isMetered(command.price) ? command.now : item.current_period_start,
        };
      } else if (command.quantity !== undefined) {
        if (isMetered(item.price)) throw invalid('quantity', 'Quantity should not be specified where usage_type is `metered`.');
        next = { ...next, quantity: command.quantity };
      }
      return [{ type: 'SubscriptionItemUpdated', data: { item: next, pending_lines: pending } }];
    }
    case 'DeleteItem': {
      if (!active) throw canceledError(s.id);
      const item = s.items.find((it) => it.id === command.item);
      if (!item) throw new DomainError('resource_missing', `No such subscription item: '${command.item}'`, { status: 404, param: 'id' });
      if (s.items.length === 1)
        throw invalid(
          'item',
          'A subscription must have at least one active plan. To cancel a subscription, please use the cancel API endpoint.',
        );
      const pending =
        isMetered(item.price) && s.billing_mode.type === 'flexible' && command.proration_behavior !== 'none' ? command.usage_lines : [];
      return [{ type: 'SubscriptionItemDeleted', data: { item: item.id, pending_lines: pending } }];
    }
    case 'MigrateBillingMode': {
      if (!active) throw canceledError(s.id);
      if (s.billing_mode.type === 'flexible') return [];
      return [{ type: 'SubscriptionBillingModeMigrated', data: { updated_at: command.now } }];
    }
    case 'ClosePeriod': {
      const closing = dueClosing(s, command.closing.period_end);
      // Idempotent: a closing already applied (or no longer due) records nothing.
      if (!closing || closing.period_start !== command.closing.period_start || closing.period_end !== command.closing.period_end) return [];
      const nextEnd = nextBoundaryAfter(s.billing_cycle_anchor, s.recurrence, closing.period_end);
      // In arrears: metered usage of the period just ended; in advance: licensed items for the next one.
      const advance = closing.ending ? [] : licensedLines(s, closing.period_end, nextEnd, command.product_names);
      const lines = [...s.pending_lines, ...command.lines, ...advance];
      const invoice = invoiceRequest(s, 'subscription_cycle', closing.period_start, closing.period_end, closing.period_end, lines);
      const accepted = command.accepted_invoice ? { invoice_id: command.accepted_invoice } : {};
      if (closing.ending) {
        return [
          {
            type: 'SubscriptionCanceled',
            data: {
              canceled_at: s.canceled_at ?? closing.period_end,
              ended_at: closing.period_end,
              cancellation_details: { ...s.cancellation_details, reason: s.cancellation_details.reason ?? 'cancellation_requested' },
              invoice,
              ...accepted,
            },
          },
        ];
      }
      return [
        {
          type: 'SubscriptionPeriodClosed',
          data: { period_start: closing.period_start, period_end: closing.period_end, next_period_end: nextEnd, invoice, ...accepted },
        },
      ];
    }
    case 'ResetBillingCycleAnchor': {
      if (!active) throw canceledError(s.id);
      const now = command.now;
      const end = nextBoundaryAfter(now, s.recurrence, now);
      const lines = [
        ...s.pending_lines,
        ...command.lines,
        ...licensedLines({ ...s, billing_cycle_anchor: now }, now, end, command.product_names),
      ];
      const invoice = invoiceRequest(s, 'subscription_update', s.period.start, now, now, lines);
      return [{ type: 'SubscriptionBillingCycleAnchorReset', data: { anchor: now, period_end: end, invoice } }];
    }
    case 'Cancel': {
      if (!active) throw canceledError(s.id);
      const lines = [...s.pending_lines, ...command.lines];
      const invoice = command.invoice_now
        ? invoiceRequest(s, 'subscription_update', s.period.start, command.now, command.now, lines)
        : null;
      return [
        {
          type: 'SubscriptionCanceled',
          data: {
            canceled_at: command.now,
            ended_at: command.now,
            cancellation_details: {
              comment: command.cancellation_details?.comment ?? s.cancellation_details.comment,
              feedback: command.cancellation_details?.feedback ?? s.cancellation_details.feedback,
              reason: 'cancellation_requested',
            },
            invoice,
          },
        },
      ];
    }
    case 'AcknowledgeInvoice': {
      if (!s.pending_invoices.some((p) => p.idempotency_key === command.idempotency_key)) return [];
      return [{ type: 'SubscriptionInvoiceAcknowledged', data: { idempotency_key: command.idempotency_key, invoice: command.invoice } }];
    }
    default:
      return assertNever(command);
  }
}

/** An invoice request recorded with a close: pending, or already accepted by invoicing. */
function handedOver(
  s: SubscriptionState,
  invoice: CreateSubscriptionInvoiceRequest | null,
  invoiceId: string | undefined,
): Pick<SubscriptionState, 'pending_invoices' | 'latest_invoice'> {
  if (!invoice) return { pending_invoices: s.pending_invoices, latest_invoice: s.latest_invoice };
  if (invoiceId) return { pending_invoices: s.pending_invoices, latest_invoice: invoiceId };
  return { pending_invoices: [...s.pending_invoices, invoice], latest_invoice: s.latest_invoice };
}

export function evolve(state: SubscriptionState | null, event: SubscriptionEvent): SubscriptionState | null {
  if (event.type === 'SubscriptionCreated') return event.data.subscription;
  if (!state) return state;
  const s = state;
  switch (event.type) {
    case 'SubscriptionUpdated':
      return { ...s, ...event.data.changes };
    case 'SubscriptionItemAdded':
      return { ...s, items: [...s.items, event.data.item], pending_lines: [...s.pending_lines, ...(event.data.pending_lines ?? [])] };
    case 'SubscriptionItemUpdated':
      return {
        ...s,
        items: s.items.map((it) => (it.id === event.data.item.id ? event.data.item : it)),
        pending_lines: [...s.pending_lines, ...event.data.pending_lines],
      };
    case 'SubscriptionItemDeleted':
      return {
        ...s,
        items: s.items.filter((it) => it.id !== event.data.item),
        pending_lines: [...s.pending_lines, ...event.data.pending_lines],
      };
    case 'SubscriptionBillingModeMigrated':
      return { ...s, billing_mode: { type: 'flexible', updated_at: event.data.updated_at } };
    case 'SubscriptionPeriodClosed': {
      const { period_end: start, next_period_end: end } = event.data;
      return {
        ...s,
        period: { start, end },
        items: s.items.map((it) => ({ ...it, current_period_start: start, current_period_end: end })),
        ...handedOver(s, event.data.invoice, event.data.invoice_id),
        pending_lines: [],
      };
    }
    case 'SubscriptionBillingCycleAnchorReset': {
      const { anchor: start, period_end: end } = event.data;
      return {
        ...s,
        billing_cycle_anchor: start,
        billing_cycle_anchor_config: null,
        period: { start, end },
        // a scheduled cancellation at the old period end follows the new one
        cancel_at: s.cancel_at_period_end ? end : s.cancel_at,
        items: s.items.map((it) => ({ ...it, current_period_start: start, current_period_end: end })),
        pending_invoices: [...s.pending_invoices, event.data.invoice],
        pending_lines: [],
      };
    }
    case 'SubscriptionCanceled':
      return {
        ...s,
        status: 'canceled',
        canceled_at: event.data.canceled_at,
        ended_at: event.data.ended_at,
        cancellation_details: event.data.cancellation_details,
        ...handedOver(s, event.data.invoice, event.data.invoice_id),
        pending_lines: [],
      };
    case 'SubscriptionInvoiceAcknowledged':
      return {
        ...s,
        latest_invoice: event.data.invoice,
        pending_invoices: s.pending_invoices.filter((p) => p.idempotency_key !== event.data.idempotency_key),
      };
    default:
      return s;
  }
}
