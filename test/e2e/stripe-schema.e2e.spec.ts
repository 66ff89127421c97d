import { describe, expect, it } from 'vitest';
import { StripeSchemaError, stripeSchemaViolations, validatingStripe } from './stripe-schema.js';

// The schema check itself (issue 8, "same objects, checked mechanically"): it must catch a missing
// field, a wrong type and a value outside an enum, or the e2e suites prove nothing by passing.
const meter = {
  id: 'mtr_1',
  object: 'billing.meter',
  created: 1,
  customer_mapping: { event_payload_key: 'stripe_customer_id', type: 'by_id' },
  default_aggregation: { formula: 'sum' },
  display_name: 'Calls',
  event_name: 'calls',
  event_time_window: null,
  livemode: false,
  status: 'active',
  status_transitions: { deactivated_at: null },
  updated: 1,
  value_settings: { event_payload_key: 'value' },
};

describe("Stripe's schema check", () => {
  it('passes an object as Stripe sends it, and checks lists item by item', () => {
    expect(stripeSchemaViolations(meter)).toEqual([]);
    expect(
      stripeSchemaViolations({ object: 'list', data: [meter, { ...meter, status: 'paused' }], has_more: false, url: '/v1/x' }),
    ).toHaveLength(1);
  });
  it('names a missing field, a wrong type and a value outside an enum', () => {
    const { display_name: _, ...missing } = meter;
    const [v] = stripeSchemaViolations({ ...missing, created: '1', default_aggregation: { formula: 'median' } });
    expect(v?.schema).toBe('billing.meter');
    expect(v?.errors.join('\n')).toMatch(/must have required property 'display_name'/);
    expect(v?.errors.join('\n')).toMatch(/\/created must be integer/);
    expect(v?.errors.join('\n')).toMatch(/\/default_aggregation\/formula must be equal to one of the allowed values/);
  });
  it('accepts null only where Stripe does', () => {
    expect(stripeSchemaViolations({ ...meter, event_time_window: null })).toEqual([]);
    expect(stripeSchemaViolations({ ...meter, display_name: null })[0]?.errors).toEqual(['/display_name must be string']);
  });
  it("checks the objects the subset lacks against Meterflow's own document (webhook endpoints)", () => {
    const endpoint = {
      id: 'we_1',
      object: 'webhook_endpoint',
      api_version: null,
      application: null,
      created: 1,
      description: null,
      enabled_events: ['*'],
      livemode: false,
      metadata: {},
      status: 'enabled',
      url: 'https://example.com/hook',
    };
    expect(stripeSchemaViolations(endpoint)).toEqual([]);
    expect(stripeSchemaViolations({ ...endpoint, status: 'paused' })[0]?.errors.join('\n')).toMatch(/\/status must be equal to one/);
  });
  it("checks the object an event carries against that object's schema", () => {
    const event = {
      id: 'evt_1',
      object: 'event',
      api_version: '2026-07-29',
      created: 1,
      data: { object: meter },
      livemode: false,
      pending_webhooks: 0,
      request: { id: null, idempotency_key: null },
      type: 'billing.meter.created',
    };
    expect(stripeSchemaViolations(event)).toEqual([]);
    const [v] = stripeSchemaViolations({ ...event, data: { object: { ...meter, status: 'paused' } } });
    expect(v?.schema).toBe('event evt_1: billing.meter');
    expect(v?.errors.join('\n')).toMatch(/\/status must be equal to one/);
  });
  it('refuses an object type it has no schema for', () => {
    expect(stripeSchemaViolations({ object: 'banana', id: 'b_1' })[0]?.errors).toEqual(["no schema for object type 'banana'"]);
  });
});

describe('validatingStripe', () => {
  it('fails the call that received a wrong object, and passes the right ones through', async () => {
    const fake = {
      billing: { meters: { retrieve: async (id: string) => ({ ...meter, id, status: id === 'mtr_bad' ? 'paused' : 'active' }) } },
    };
    const client = validatingStripe(fake);
    await expect(client.billing.meters.retrieve('mtr_ok')).resolves.toMatchObject({ id: 'mtr_ok' });
    await expect(client.billing.meters.retrieve('mtr_bad')).rejects.toBeInstanceOf(StripeSchemaError);
    await expect(client.billing.meters.retrieve('mtr_bad')).rejects.toThrow(
      /billing\.meters\.retrieve: .*\n.*billing\.meter mtr_bad\n.*\/status/,
    );
  });
});
