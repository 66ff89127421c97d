import { z } from 'zod';
import { defineEvent, eventCatalog, type EventOf } from './core.js';

/**
 * gateway's events: webhook endpoints (`webhook_endpoint-<id>` streams). Stripe announces no
 * event for them, so nothing here reaches `MF_EVENTS`. Times are unix seconds.
 */
const metadata = z.record(z.string(), z.string());
export const WebhookEndpointStatus = z.enum(['enabled', 'disabled']);

export const WebhookEndpointCreated = defineEvent(
  'WebhookEndpointCreated',
  1,
  z.object({
    id: z.string().startsWith('we_'),
    url: z.string(),
    enabled_events: z.array(z.string()).min(1),
    description: z.string().nullable(),
    metadata,
    api_version: z.string().nullable(),
    /** The signing secret (`whsec_...`): the gateway signs every delivery with it. */
    secret: z.string().startsWith('whsec_'),
    created: z.number().int(),
  }),
);

/** Only the fields that changed. */
export const WebhookEndpointUpdated = defineEvent(
  'WebhookEndpointUpdated',
  1,
  z.object({
    url: z.string().optional(),
    enabled_events: z.array(z.string()).min(1).optional(),
    description: z.string().nullable().optional(),
    metadata: metadata.optional(),
    status: WebhookEndpointStatus.optional(),
  }),
);

export const WebhookEndpointDeleted = defineEvent('WebhookEndpointDeleted', 1, z.object({ deleted_at: z.number().int() }));

/**
 * A new signing secret. The previous one still signs deliveries (a second `v1=` in
 * `Stripe-Signature`) until `previous_secret_expires_at`, so receivers can switch without a gap.
 */
export const WebhookEndpointSecretRolled = defineEvent(
  'WebhookEndpointSecretRolled',
  1,
  z.object({
    secret: z.string().startsWith('whsec_'),
    previous_secret: z.string().startsWith('whsec_'),
    previous_secret_expires_at: z.number().int(),
  }),
);

export type WebhookEndpointCreated = EventOf<typeof WebhookEndpointCreated>;
export type WebhookEndpointSecretRolled = EventOf<typeof WebhookEndpointSecretRolled>;
export type WebhookEndpointUpdated = EventOf<typeof WebhookEndpointUpdated>;
export type WebhookEndpointDeleted = EventOf<typeof WebhookEndpointDeleted>;
export type WebhookEndpointEvent = WebhookEndpointCreated | WebhookEndpointUpdated | WebhookEndpointDeleted | WebhookEndpointSecretRolled;

/** Everything gateway's event store accepts. */
export const GATEWAY_EVENTS = eventCatalog([
  WebhookEndpointCreated,
  WebhookEndpointUpdated,
  WebhookEndpointDeleted,
  WebhookEndpointSecretRolled,
]);
