import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { isStripeEventType, type ApiRequest } from '@meterflow/contracts';
import { DomainError } from '@meterflow/kernel';
import {
  bool,
  emptyError,
  int,
  metadata,
  parseListParams,
  rejectUnknown,
  str,
  strArr,
  LIST_PARAM_KEYS,
  type Params,
} from '@meterflow/stripe-api';
import { MAX_SECRET_OVERLAP_SECONDS, mergeMetadata, type WebhookEndpointUpdate } from '../../domain/webhook-endpoint.decider.js';
import { WebhookEndpointsService } from '../../application/webhook-endpoints.service.js';

const API_VERSION_RE = /^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$/;

/** `enabled_events`: Meterflow's event types or `*`; anything else is Stripe's 400 naming the item. */
function enabledEvents(p: Params, required: boolean): string[] | undefined {
  const list = strArr(p, 'enabled_events', { required });
  if (list == null) {
    if (list === null) throw emptyError('enabled_events');
    return undefined;
  }
  if (list.length === 0) throw new DomainError('parameter_missing', 'Missing required param: enabled_events.', { param: 'enabled_events' });
  list.forEach((t, i) => {
    if (t !== '*' && !isStripeEventType(t))
      throw new DomainError('parameter_invalid', `Invalid enabled_events[${i}]: '${t}' is not a supported event type.`, {
        param: `enabled_events[${i}]`,
      });
  });
  return [...new Set(list)];
}

const ctxOf = (req: ApiRequest) => ({ requestId: req.requestId, idempotencyKey: req.idempotencyKey ?? null });

/** `webhook_endpoints.*` ops (API_ROUTES): the gateway serves them itself, over the same RPC as every op. */
@Controller()
export class WebhookEndpointsController {
  constructor(private readonly endpoints: WebhookEndpointsService) {}

  @MessagePattern('webhook_endpoints.create')
  create(@Payload() req: ApiRequest) {
    const p = req.params;
    rejectUnknown(p, ['url', 'enabled_events', 'description', 'metadata', 'api_version', 'connect']);
    const url = str(p, 'url', { required: true, maxLength: 5000 });
    const events = enabledEvents(p, true)!;
    if (bool(p, 'connect'))
      throw new DomainError('parameter_invalid', 'Connect webhook endpoints are not supported.', { param: 'connect' });
    const apiVersion = str(p, 'api_version', { maxLength: 100 }) ?? null;
    if (apiVersion !== null && !API_VERSION_RE.test(apiVersion))
      throw new DomainError('parameter_invalid', `Invalid api_version: ${apiVersion}`, { param: 'api_version' });
    return this.endpoints.create(
      {
        url,
        enabledEvents: events,
        description: str(p, 'description', { maxLength: 5000 }) ?? null,
        metadata: mergeMetadata({}, metadata(p) ?? {}),
        apiVersion,
      },
      ctxOf(req),
    );
  }

  @MessagePattern('webhook_endpoints.update')
  update(@Payload() req: ApiRequest) {
    const p = req.params;
    rejectUnknown(p, ['url', 'enabled_events', 'description', 'metadata', 'disabled']);
    const patch: WebhookEndpointUpdate = {};
    const url = str(p, 'url', { maxLength: 5000 });
    if (url === null) throw emptyError('url');
    if (url !== undefined) patch.url = url;
    const events = enabledEvents(p, false);
    if (events) patch.enabled_events = events;
    const description = str(p, 'description', { maxLength: 5000 });
    if (description !== undefined) patch.description = description;
    const md = metadata(p);
    if (md !== undefined) patch.metadata = md;
    const disabled = bool(p, 'disabled');
    if (disabled != null) patch.status = disabled ? 'disabled' : 'enabled';
    return this.endpoints.update(req.path.id!, patch, ctxOf(req));
  }

  /** Meterflow's `POST /meterflow/v1/webhook_endpoints/:id/roll_secret` (Stripe rolls secrets in its Dashboard only). */
  @MessagePattern('webhook_endpoints.roll_secret')
  rollSecret(@Payload() req: ApiRequest) {
    rejectUnknown(req.params, ['expires_in']);
    const expiresIn = int(req.params, 'expires_in') ?? MAX_SECRET_OVERLAP_SECONDS;
    return this.endpoints.rollSecret(req.path.id!, expiresIn, ctxOf(req));
  }

  @MessagePattern('webhook_endpoints.del')
  del(@Payload() req: ApiRequest) {
    rejectUnknown(req.params, []);
    return this.endpoints.del(req.path.id!, ctxOf(req));
  }

  @MessagePattern('webhook_endpoints.retrieve')
  retrieve(@Payload() req: ApiRequest) {
    rejectUnknown(req.params, []);
    return this.endpoints.retrieve(req.path.id!);
  }

  @MessagePattern('webhook_endpoints.list')
  list(@Payload() req: ApiRequest) {
    rejectUnknown(req.params, [...LIST_PARAM_KEYS]);
    return this.endpoints.list(parseListParams(req.params));
  }
}
