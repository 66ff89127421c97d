import { DomainError, assertNever, notFound, sameJson } from '@meterflow/kernel';
import type { WebhookEndpointCreated, WebhookEndpointEvent, WebhookEndpointUpdated } from '@meterflow/contracts';

/** A webhook endpoint as its stream folds (null: never created). */
export interface WebhookEndpointState {
  id: string;
  url: string;
  enabled_events: string[];
  description: string | null;
  metadata: Record<string, string>;
  api_version: string | null;
  secret: string;
  /** The secret before the last roll, still signing until `previous_secret_expires_at` (unix s). */
  previous_secret: string | null;
  previous_secret_expires_at: number | null;
  status: 'enabled' | 'disabled';
  created: number;
  deleted: boolean;
}

export type WebhookEndpointPatch = WebhookEndpointUpdated['data'];

/** An update as asked: `metadata` is Stripe's patch (null clears all, `''` deletes a key). */
export type WebhookEndpointUpdate = Omit<WebhookEndpointPatch, 'metadata'> & { metadata?: Record<string, string> | null };

/** Stripe's metadata merge. */
export function mergeMetadata(current: Readonly<Record<string, string>>, patch: Record<string, string> | null): Record<string, string> {
  if (patch === null) return {};
  const next = { ...current };
  for (const [k, v] of Object.entries(patch)) {
    if (v === '') delete next[k];
    else next[k] = v;
  }
  return next;
}

export type WebhookEndpointCommand =
  | { type: 'Create'; endpoint: WebhookEndpointCreated['data'] }
  | { type: 'Update'; id: string; patch: WebhookEndpointUpdate }
  | { type: 'Delete'; id: string; at: number }
  /** A new secret; the current one keeps signing for `overlapSeconds` after `at` (0: stops now). */
  | { type: 'RollSecret'; id: string; secret: string; at: number; overlapSeconds: number };

/** The longest overlap of an old and a new secret (24 h, the longest Stripe's Dashboard offers). */
export const MAX_SECRET_OVERLAP_SECONDS = 86_400;

type S = WebhookEndpointState | null;

const live = (s: S, id: string): WebhookEndpointState => {
  if (!s || s.deleted) throw notFound('webhook endpoint', id);
  return s;
};

/** Pure: create once; update and delete a live endpoint; an update that changes nothing records nothing. */
export const webhookEndpointDecider = {
  initialState: (): S => null,

  decide(c: WebhookEndpointCommand, s: S): WebhookEndpointEvent[] {
    switch (c.type) {
      case 'Create':
        if (s) throw new DomainError('resource_already_exists', `Webhook endpoint '${c.endpoint.id}' already exists.`, { status: 400 });
        return [{ type: 'WebhookEndpointCreated', data: c.endpoint }];
      case 'Update': {
        const cur = live(s, c.id);
        const asked: WebhookEndpointPatch = {
          ...c.patch,
          metadata: c.patch.metadata === undefined ? undefined : mergeMetadata(cur.metadata, c.patch.metadata),
        };
        const changed: WebhookEndpointPatch = {};
        for (const [k, v] of Object.entries(asked) as [keyof WebhookEndpointPatch, unknown][])
          if (v !== undefined && !sameJson(cur[k], v)) (changed as Record<string, unknown>)[k] = v;
        return Object.keys(changed).length ? [{ type: 'WebhookEndpointUpdated', data: changed }] : [];
      }
      case 'Delete':
        live(s, c.id);
        return [{ type: 'WebhookEndpointDeleted', data: { deleted_at: c.at } }];
      case 'RollSecret': {
        const cur = live(s, c.id);
        if (!Number.isInteger(c.overlapSeconds) || c.overlapSeconds < 0 || c.overlapSeconds > MAX_SECRET_OVERLAP_SECONDS)
          throw new DomainError('parameter_invalid', `expires_in must be an integer from 0 to ${MAX_SECRET_OVERLAP_SECONDS} seconds.`, {
            param: 'expires_in',
          });
        return [
          {
            type: 'WebhookEndpointSecretRolled',
            data: { secret: c.secret, previous_secret: cur.secret, previous_secret_expires_at: c.at + c.overlapSeconds },
          },
        ];
      }
      default:
        return assertNever(c);
    }
  },

  evolve(s: S, e: WebhookEndpointEvent): S {
    switch (e.type) {
      case 'WebhookEndpointCreated':
        return { ...e.data, previous_secret: null, previous_secret_expires_at: null, status: 'enabled', deleted: false };
      case 'WebhookEndpointUpdated': {
        if (!s) return s;
        const d = Object.fromEntries(Object.entries(e.data).filter(([, v]) => v !== undefined));
        return { ...s, ...d };
      }
      case 'WebhookEndpointDeleted':
        return s ? { ...s, deleted: true } : s;
      case 'WebhookEndpointSecretRolled':
        return s ? { ...s, ...e.data } : s;
      default:
        return s;
    }
  },
};

/** The secrets that sign a delivery at `now` (unix s): the current one, and the previous one during its overlap. */
export function signingSecrets(
  s: Pick<WebhookEndpointState, 'secret' | 'previous_secret' | 'previous_secret_expires_at'>,
  now: number,
): string[] {
  return s.previous_secret && s.previous_secret_expires_at !== null && now < s.previous_secret_expires_at
    ? [s.secret, s.previous_secret]
    : [s.secret];
}

/** The Stripe `webhook_endpoint` object (the secret only when just created or rolled). */
export function renderWebhookEndpoint(s: WebhookEndpointState, opts: { withSecret?: boolean } = {}) {
  return {
    id: s.id,
    object: 'webhook_endpoint' as const,
    api_version: s.api_version,
    application: null,
    created: s.created,
    description: s.description,
    enabled_events: s.enabled_events,
    livemode: false,
    metadata: s.metadata,
    ...(opts.withSecret ? { secret: s.secret } : {}),
    status: s.status,
    url: s.url,
  };
}
