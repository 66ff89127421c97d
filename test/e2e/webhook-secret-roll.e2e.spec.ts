import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, stripeClient } from './helpers.js';

/**
 * Rolling a webhook secret (issue 10): `POST /meterflow/v1/webhook_endpoints/:id/roll_secret`
 * answers the new secret once; deliveries carry a signature for the new and for the old secret
 * until the overlap (`expires_in`) ends, so a receiver verifies with either while it switches.
 */
const stripe = stripeClient();

interface Delivery {
  body: Buffer;
  signature: string;
  customer: string;
}

describe('rolling a webhook signing secret', () => {
  let server: http.Server;
  const got: Delivery[] = [];
  let endpoint: Stripe.WebhookEndpoint;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const e = JSON.parse(body.toString()) as { data: { object: { id: string } } };
        got.push({ body, signature: req.headers['stripe-signature'] as string, customer: e.data.object.id });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    endpoint = await stripe.webhookEndpoints.create({ url, enabled_events: ['customer.created'] });
  });

  afterAll(async () => {
    await stripe.webhookEndpoints.del(endpoint.id).catch(() => undefined);
    server.closeAllConnections();
    await new Promise<void>((ok) => server.close(() => ok()));
  });

  const deliveryFor = async (name: string): Promise<Delivery> => {
    const customer = await stripe.customers.create({ name });
    return eventually(async () => got.find((d) => d.customer === customer.id), 20_000, 100);
  };
  const verifies = (d: Delivery, secret: string): boolean => {
    try {
      stripe.webhooks.constructEvent(d.body, d.signature, secret);
      return true;
    } catch {
      return false;
    }
  };
  const roll = (expiresIn?: number): Promise<Stripe.WebhookEndpoint> =>
    stripe.rawRequest(
      'POST',
      `/meterflow/v1/webhook_endpoints/${endpoint.id}/roll_secret`,
      expiresIn === undefined ? {} : { expires_in: expiresIn },
    ) as Promise<Stripe.WebhookEndpoint>;

  it('signs with the new and the old secret during the overlap, then with the new one alone', async () => {
    const first = endpoint.secret!;
    const before = await deliveryFor('Before the roll');
    expect(verifies(before, first)).toBe(true);

    const rolled = await roll(3600);
    expect(rolled.id).toBe(endpoint.id);
    expect(rolled.secret).toMatch(/^whsec_/);
    expect(rolled.secret).not.toBe(first);
    // Shown once: a retrieve does not repeat it.
    expect((await stripe.webhookEndpoints.retrieve(endpoint.id)).secret).toBeUndefined();

    const during = await deliveryFor('During the overlap');
    expect(during.signature.match(/v1=/g)).toHaveLength(2);
    expect(verifies(during, rolled.secret!)).toBe(true);
    expect(verifies(during, first)).toBe(true);

    const again = await roll(0);
    const after = await deliveryFor('After an immediate roll');
    expect(verifies(after, again.secret!)).toBe(true);
    expect(verifies(after, rolled.secret!)).toBe(false);
    expect(verifies(after, first)).toBe(false);
  });

  it("refuses an overlap beyond 24 h with Stripe's error shape, and an unknown endpoint with a 404", async () => {
    await expect(roll(86_401)).rejects.toMatchObject({ statusCode: 400, raw: { param: 'expires_in' } });
    await expect(stripe.rawRequest('POST', '/meterflow/v1/webhook_endpoints/we_nope/roll_secret', {})).rejects.toMatchObject({
      statusCode: 404,
    });
  });
});
