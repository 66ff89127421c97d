import type pg from 'pg';
import type { Loaded } from '@meterflow/event-store';
import { listSql, type ListParams, type StripeList } from '@meterflow/stripe-api';
import { webhookEndpointDecider, type WebhookEndpointState } from '../../domain/webhook-endpoint.decider.js';
import type { WebhookEndpointReads, WebhookEndpointType } from '../../application/ports.js';

interface Row {
  id: string;
  url: string;
  enabled_events: string[];
  description: string | null;
  metadata: Record<string, string>;
  api_version: string | null;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: string | null;
  status: 'enabled' | 'disabled';
  created: string;
  deleted: boolean;
  version: number;
}

const COLUMNS =
  'id, url, enabled_events, description, metadata, api_version, secret, status, created, deleted, version, previous_secret, previous_secret_expires_at';

const toState = (r: Row): WebhookEndpointState => ({
  id: r.id,
  url: r.url,
  enabled_events: r.enabled_events,
  description: r.description,
  metadata: r.metadata,
  api_version: r.api_version,
  secret: r.secret,
  previous_secret: r.previous_secret,
  previous_secret_expires_at: r.previous_secret_expires_at === null ? null : Number(r.previous_secret_expires_at),
  status: r.status,
  created: Number(r.created),
  deleted: r.deleted,
});

/**
 * Webhook endpoints for the command pipeline: streams `webhook_endpoint-<id>`, the read model
 * `webhook_endpoints` kept at the stream's version (and used as the snapshot). Deleting an
 * endpoint cancels its pending deliveries in the same transaction.
 */
export const webhookEndpointType: WebhookEndpointType = {
  name: 'webhook_endpoint',
  streamId: (id) => `webhook_endpoint-${id}`,
  decider: webhookEndpointDecider,
  project: async (tx, changes) => {
    for (const c of changes) {
      const s = c.after;
      if (!s) continue;
      await tx.query(
        `INSERT INTO webhook_endpoints (${COLUMNS})
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT (id) DO UPDATE SET url = EXCLUDED.url, enabled_events = EXCLUDED.enabled_events,
           description = EXCLUDED.description, metadata = EXCLUDED.metadata, api_version = EXCLUDED.api_version,
           secret = EXCLUDED.secret, status = EXCLUDED.status, deleted = EXCLUDED.deleted, version = EXCLUDED.version,
           previous_secret = EXCLUDED.previous_secret, previous_secret_expires_at = EXCLUDED.previous_secret_expires_at`,
        [
          s.id,
          s.url,
          s.enabled_events,
          s.description,
          s.metadata,
          s.api_version,
          s.secret,
          s.status,
          s.created,
          s.deleted,
          c.version,
          s.previous_secret,
          s.previous_secret_expires_at,
        ],
      );
      if (s.deleted)
        await tx.query(`UPDATE webhook_deliveries SET status = 'canceled' WHERE endpoint_id = $1 AND status = 'pending'`, [s.id]);
    }
  },
  snapshot: async (db, ids) => {
    const { rows } = await db.query<Row>(`SELECT ${COLUMNS} FROM webhook_endpoints WHERE id = ANY($1::text[])`, [ids]);
    return new Map<string, Loaded<WebhookEndpointState | null>>(rows.map((r) => [r.id, { state: toState(r), version: r.version }]));
  },
};

export class PgWebhookEndpointReads implements WebhookEndpointReads {
  constructor(private readonly pool: pg.Pool) {}

  async get(id: string): Promise<WebhookEndpointState | undefined> {
    const { rows } = await this.pool.query<Row>(`SELECT ${COLUMNS} FROM webhook_endpoints WHERE id = $1 AND NOT deleted`, [id]);
    return rows[0] && toState(rows[0]);
  }

  async list(lp: ListParams): Promise<StripeList<WebhookEndpointState>> {
    const page = listSql(lp, { firstArg: 1 });
    const { rows } = await this.pool.query<Row>(
      `SELECT ${COLUMNS} FROM webhook_endpoints WHERE NOT deleted${page.where ? ` AND ${page.where}` : ''}
       ORDER BY ${page.orderBy} LIMIT ${page.limit}`,
      page.args,
    );
    return page.finish(rows.map(toState), '/v1/webhook_endpoints');
  }
}
