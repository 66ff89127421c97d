import type { MeterCreated } from '@meterflow/contracts';

/** A billing meter as the domain sees it (times in unix seconds). */
export type MeterFormula = MeterCreated['data']['formula'];
export type EventTimeWindow = NonNullable<MeterCreated['data']['eventTimeWindow']>;
export type MeterStatus = 'active' | 'inactive';

export interface Meter {
  id: string;
  displayName: string;
  eventName: string;
  formula: MeterFormula;
  customerPayloadKey: string;
  valuePayloadKey: string;
  eventTimeWindow: EventTimeWindow | null;
  status: MeterStatus;
  created: number;
  updated: number;
  deactivatedAt: number | null;
}

export const DEFAULT_CUSTOMER_KEY = 'stripe_customer_id';
export const DEFAULT_VALUE_KEY = 'value';

/** The Stripe `billing.meter` object. */
export function toStripeMeter(m: Meter) {
  return {
    id: m.id,
    object: 'billing.meter' as const,
    created: m.created,
    customer_mapping: { event_payload_key: m.customerPayloadKey, type: 'by_id' as const },
    default_aggregation: { formula: m.formula },
    display_name: m.displayName,
    event_name: m.eventName,
    event_time_window: m.eventTimeWindow,
    livemode: false,
    status: m.status,
    status_transitions: { deactivated_at: m.deactivatedAt },
    updated: m.updated,
    value_settings: { event_payload_key: m.valuePayloadKey },
  };
}
export type StripeMeter = ReturnType<typeof toStripeMeter>;
