import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { deciderSpec } from '@meterflow/testing';
import type { WebhookEndpointEvent } from '@meterflow/contracts';
import {
  signingSecrets,
  webhookEndpointDecider,
  type WebhookEndpointCommand,
  type WebhookEndpointState,
} from '../src/domain/webhook-endpoint.decider.js';
import { checkWebhookUrl, refusedAddress } from '../src/domain/url-policy.js';
import { nextAttemptAt, signatureHeader, STRIPE_RETRY_SCHEDULE } from '../src/domain/webhook-delivery.js';

const spec = deciderSpec<WebhookEndpointState | null, WebhookEndpointCommand, WebhookEndpointEvent>(webhookEndpointDecider);
const endpoint = {
  id: 'we_1',
  url: 'https://example.com/h',
  enabled_events: ['invoice.paid'],
  description: null,
  metadata: { a: '1' },
  api_version: null,
  secret: 'whsec_x',
  created: 1,
};
const created: WebhookEndpointEvent = { type: 'WebhookEndpointCreated', data: endpoint };

describe('webhook endpoint decider', () => {
  it('creates once', () => {
    spec.given([]).when({ type: 'Create', endpoint }).then([created]);
    spec.given([created]).when({ type: 'Create', endpoint }).then({ code: 'resource_already_exists' });
  });
  it('records only what an update changes, merging metadata as Stripe', () => {
    spec
      .given([created])
      .when({ type: 'Update', id: 'we_1', patch: { url: endpoint.url, status: 'disabled', metadata: { a: '', b: '2' } } })
      .then([{ type: 'WebhookEndpointUpdated', data: { status: 'disabled', metadata: { b: '2' } } }]);
    spec
      .given([created])
      .when({ type: 'Update', id: 'we_1', patch: { enabled_events: ['invoice.paid'] } })
      .then([]);
  });
  it('refuses to touch a deleted or unknown endpoint (404)', () => {
    const deleted: WebhookEndpointEvent = { type: 'WebhookEndpointDeleted', data: { deleted_at: 2 } };
    spec
      .given([created, deleted])
      .when({ type: 'Update', id: 'we_1', patch: { url: 'https://x.y' } })
      .then({ code: 'resource_missing' });
    spec.given([]).when({ type: 'Delete', id: 'we_2', at: 3 }).then({ code: 'resource_missing' });
  });
});

describe('rolling a signing secret', () => {
  const roll = (overlapSeconds: number): WebhookEndpointCommand => ({
    type: 'RollSecret',
    id: 'we_1',
    secret: 'whsec_new',
    at: 100,
    overlapSeconds,
  });
  it('records the new secret and how long the old one keeps signing (0 to 24 h)', () => {
    spec
      .given([created])
      .when(roll(3600))
      .then([
        {
          type: 'WebhookEndpointSecretRolled',
          data: { secret: 'whsec_new', previous_secret: 'whsec_x', previous_secret_expires_at: 3700 },
        },
      ]);
    spec.given([created]).when(roll(86_401)).then({ code: 'parameter_invalid' });
    spec.given([created]).when(roll(-1)).then({ code: 'parameter_invalid' });
    spec.given([]).when(roll(0)).then({ code: 'resource_missing' });
  });
  it('signs with both secrets during the overlap, then with the new one alone', () => {
    const s = [created, ...webhookEndpointDecider.decide(roll(3600), webhookEndpointDecider.evolve(null, created))].reduce(
      webhookEndpointDecider.evolve,
      webhookEndpointDecider.initialState(),
    )!;
    expect(signingSecrets(s, 3699)).toEqual(['whsec_new', 'whsec_x']);
    expect(signingSecrets(s, 3700)).toEqual(['whsec_new']);
    expect(signingSecrets({ ...s, previous_secret: null, previous_secret_expires_at: null }, 0)).toEqual(['whsec_new']);
  });
  it("gives a signature header that Stripe's SDK verifies with either secret", () => {
    const payload = JSON.stringify({ id: 'evt_1', object: 'event', type: 'invoice.paid', data: { object: {} } });
    const now = Math.floor(Date.now() / 1000);
    const header = signatureHeader(payload, ['whsec_new', 'whsec_x'], now);
    const stripe = new Stripe('sk_test_x');
    expect(stripe.webhooks.constructEvent(payload, header, 'whsec_new').id).toBe('evt_1');
    expect(stripe.webhooks.constructEvent(payload, header, 'whsec_x').id).toBe('evt_1');
    expect(() => stripe.webhooks.constructEvent(payload, header, 'whsec_other')).toThrow();
  });
});

describe('URL policy (SSRF)', () => {
  const open = { allowPrivate: true };
  const strict = { allowPrivate: false };
  it('always refuses link-local and metadata addresses', () => {
    for (const a of ['169.254.169.254', '169.254.1.1', 'fe80::1', '::ffff:169.254.169.254', 'fd00:ec2::254', '0.0.0.0', '100.100.100.200'])
      expect(refusedAddress(a, open), a).not.toBeNull();
    expect(() => checkWebhookUrl('http://metadata.google.internal/x', open)).toThrow(/metadata/);
  });
  it('allows loopback and private ranges by default, refuses them when told', () => {
    for (const a of ['127.0.0.1', '10.1.2.3', '192.168.1.1', '172.20.0.1', '::1', 'fd12::1']) {
      expect(refusedAddress(a, open), a).toBeNull();
      expect(refusedAddress(a, strict), a).not.toBeNull();
    }
    expect(() => checkWebhookUrl('http://localhost:8080/x', strict)).toThrow(/localhost/);
    expect(checkWebhookUrl('https://hooks.example.com/x', strict)).toBe('https://hooks.example.com/x');
    expect(refusedAddress('93.184.216.34', strict)).toBeNull();
  });
  it('refuses what is not an http(s) URL', () => {
    for (const u of ['nope', 'ftp://example.com', 'http://user:pw@example.com/']) expect(() => checkWebhookUrl(u, open)).toThrow();
  });
});

describe('delivery conventions', () => {
  it('signs as Stripe: the official SDK verifies the header', () => {
    const payload = JSON.stringify({ id: 'evt_1', object: 'event', type: 'invoice.paid' });
    const t = Math.floor(Date.now() / 1000);
    const header = signatureHeader(payload, ['whsec_abc', 'whsec_old'], t);
    const sdk = new Stripe('sk_test_x');
    expect(sdk.webhooks.constructEvent(payload, header, 'whsec_abc').id).toBe('evt_1');
    expect(sdk.webhooks.constructEvent(payload, header, 'whsec_old').id).toBe('evt_1');
    expect(() => sdk.webhooks.constructEvent(payload, header, 'whsec_other')).toThrow();
    expect(header).toBe(
      sdk.webhooks.generateTestHeaderString({ payload, secret: 'whsec_abc', timestamp: t }) + header.slice(header.lastIndexOf(',')),
    );
  });
  it('backs off exponentially and gives up after the window (3 days)', () => {
    const first = new Date(0);
    const delays: number[] = [];
    let now = first;
    for (let n = 1; ; n++) {
      const next = nextAttemptAt(STRIPE_RETRY_SCHEDULE, n, first, now);
      if (!next) break;
      delays.push(next.getTime() - now.getTime());
      now = next;
    }
    expect(delays.slice(0, 4)).toEqual([60_000, 120_000, 240_000, 480_000]);
    expect(Math.max(...delays)).toBe(6 * 3600_000);
    expect(now.getTime()).toBeLessThanOrEqual(3 * 24 * 3600_000);
    expect(now.getTime()).toBeGreaterThan(2.5 * 24 * 3600_000);
  });
});
