import { type Clock, newId, notFound } from '@meterflow/kernel';
import type { CommandContext, CommandPipeline } from '@meterflow/event-store';
import type { ListParams } from '@meterflow/stripe-api';
import { renderWebhookEndpoint, type WebhookEndpointUpdate } from '../domain/webhook-endpoint.decider.js';
import { newWebhookSecret } from '../domain/webhook-delivery.js';
import { checkWebhookUrl, type UrlPolicy } from '../domain/url-policy.js';
import type { WebhookEndpointReads, WebhookEndpointType } from './ports.js';

export interface CreateWebhookEndpoint {
  url: string;
  enabledEvents: string[];
  description: string | null;
  metadata: Record<string, string>;
  apiVersion: string | null;
}

/** `/v1/webhook_endpoints`: every change goes through the command pipeline; reads come from the read model. */
export class WebhookEndpointsService {
  constructor(
    private readonly deps: {
      pipeline: CommandPipeline;
      type: WebhookEndpointType;
      reads: WebhookEndpointReads;
      clock: Clock;
      urlPolicy: UrlPolicy;
    },
  ) {}

  async create(p: CreateWebhookEndpoint, ctx: CommandContext) {
    checkWebhookUrl(p.url, this.deps.urlPolicy);
    const now = this.deps.clock.now();
    const id = newId('webhookEndpoint', now.getTime());
    const { state } = await this.deps.pipeline.handle(
      this.deps.type,
      id,
      {
        type: 'Create',
        endpoint: {
          id,
          url: p.url,
          enabled_events: p.enabledEvents,
          description: p.description,
          metadata: p.metadata,
          api_version: p.apiVersion,
          secret: newWebhookSecret(),
          created: Math.floor(now.getTime() / 1000),
        },
      },
      ctx,
    );
    // The secret is shown once, in the answer to the create.
    return renderWebhookEndpoint(state!, { withSecret: true });
  }

  async update(id: string, patch: WebhookEndpointUpdate, ctx: CommandContext) {
    if (patch.url !== undefined) checkWebhookUrl(patch.url, this.deps.urlPolicy);
    const { state } = await this.deps.pipeline.handle(this.deps.type, id, { type: 'Update', id, patch }, ctx);
    return renderWebhookEndpoint(state!);
  }

  /** A new secret, shown in this answer only; the old one keeps signing for `overlapSeconds`. */
  async rollSecret(id: string, overlapSeconds: number, ctx: CommandContext) {
    const at = Math.floor(this.deps.clock.now().getTime() / 1000);
    const cmd = { type: 'RollSecret' as const, id, secret: newWebhookSecret(), at, overlapSeconds };
    const { state } = await this.deps.pipeline.handle(this.deps.type, id, cmd, ctx);
    return renderWebhookEndpoint(state!, { withSecret: true });
  }

  async del(id: string, ctx: CommandContext) {
    const at = Math.floor(this.deps.clock.now().getTime() / 1000);
    await this.deps.pipeline.handle(this.deps.type, id, { type: 'Delete', id, at }, ctx);
    return { id, object: 'webhook_endpoint' as const, deleted: true as const };
  }

  async retrieve(id: string) {
    const s = await this.deps.reads.get(id);
    if (!s) throw notFound('webhook endpoint', id);
    return renderWebhookEndpoint(s);
  }

  async list(lp: ListParams) {
    const page = await this.deps.reads.list(lp);
    return { ...page, data: page.data.map((s) => renderWebhookEndpoint(s)) };
  }
}
