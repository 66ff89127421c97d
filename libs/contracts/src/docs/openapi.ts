import { z } from 'zod';
import { API_ROUTES, type ApiRoute } from '../api-routes.js';
import { InvoiceExplanation } from '../explanation.js';
import { API_VERSION } from '../events/core.js';
import { STRIPE_EVENT_TYPES } from '../stripe-event-types.js';
import { stripeComponentSchemas, stripeSubsetOperations } from './stripe-schemas.js';

type Json = Record<string, unknown>;

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
const str = { type: 'string' };
const metadata = { type: 'object', additionalProperties: { type: 'string' } };
const enabledEvents = { type: 'array', items: { type: 'string', enum: ['*', ...Object.keys(STRIPE_EVENT_TYPES)] } };
const list = (item: Json): Json => ({
  type: 'object',
  required: ['object', 'data', 'has_more', 'url'],
  properties: { object: { type: 'string', const: 'list' }, data: { type: 'array', items: item }, has_more: { type: 'boolean' }, url: str },
});
const searchResult = (item: Json): Json => ({
  type: 'object',
  required: ['object', 'data', 'has_more', 'next_page', 'url'],
  properties: {
    object: { type: 'string', const: 'search_result' },
    data: { type: 'array', items: item },
    has_more: { type: 'boolean' },
    next_page: { type: ['string', 'null'] },
    url: str,
  },
});
const pagination = { limit: { type: 'integer', minimum: 1, maximum: 100 }, starting_after: str, ending_before: str };

/** Schemas the subset does not have: webhook endpoints (gateway-owned) and the error body. */
const OWN_SCHEMAS: Record<string, Json> = {
  webhook_endpoint: {
    type: 'object',
    required: [
      'id',
      'object',
      'api_version',
      'application',
      'created',
      'description',
      'enabled_events',
      'livemode',
      'metadata',
      'status',
      'url',
    ],
    properties: {
      id: str,
      object: { type: 'string', const: 'webhook_endpoint' },
      api_version: { type: ['string', 'null'] },
      application: { type: ['string', 'null'] },
      created: { type: 'integer' },
      description: { type: ['string', 'null'] },
      enabled_events: { type: 'array', items: str },
      livemode: { type: 'boolean' },
      metadata,
      secret: { type: 'string', description: 'The signing secret (whsec_...), in the answer to the create only.' },
      status: { type: 'string', enum: ['enabled', 'disabled'] },
      url: str,
    },
  },
  deleted_webhook_endpoint: {
    type: 'object',
    required: ['id', 'object', 'deleted'],
    properties: { id: str, object: { type: 'string', const: 'webhook_endpoint' }, deleted: { type: 'boolean', const: true } },
  },
  'params.webhook_endpoints_create': {
    type: 'object',
    required: ['url', 'enabled_events'],
    properties: { url: str, enabled_events: enabledEvents, description: str, metadata, api_version: str },
  },
  'params.webhook_endpoints_update': {
    type: 'object',
    properties: { url: str, enabled_events: enabledEvents, description: str, metadata, disabled: { type: 'boolean' } },
  },
  'params.webhook_endpoints_list': { type: 'object', properties: pagination },
  'params.customers_search': {
    type: 'object',
    required: ['query'],
    properties: {
      query: { type: 'string', description: "Stripe's search query language: email, name, phone, metadata['key'], created." },
      limit: { type: 'integer', minimum: 1, maximum: 100 },
      page: { type: 'string', description: 'The next_page token of the previous result.' },
    },
  },
  'params.webhook_endpoints_roll_secret': {
    type: 'object',
    properties: {
      expires_in: {
        type: 'integer',
        minimum: 0,
        maximum: 86400,
        description: 'Seconds the previous secret keeps signing (default 86400; 0 stops it at once).',
      },
    },
  },
  invoice_explanation: (() => {
    const { $schema: _drop, ...schema } = z.toJSONSchema(InvoiceExplanation, { io: 'output' }) as Json;
    return { ...schema, description: 'Every cent of an invoice explained (Meterflow only; docs/invoicing.md).' };
  })(),
  // The subset has no create_preview path (issue 8 item 8): the params Meterflow reads.
  'params.invoices_create_preview': {
    type: 'object',
    properties: {
      customer: str,
      subscription: str,
      currency: str,
      preview_mode: { type: 'string', enum: ['next', 'recurring'] },
      subscription_details: {
        type: 'object',
        properties: {
          items: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                id: str,
                price: str,
                quantity: { type: 'integer', minimum: 0 },
                deleted: { type: 'boolean' },
                clear_usage: { type: 'boolean' },
                metadata,
              },
            },
          },
          proration_behavior: { type: 'string', enum: ['always_invoice', 'create_prorations', 'none'] },
          proration_date: { type: 'integer' },
          billing_cycle_anchor: {
            oneOf: [
              { type: 'string', enum: ['now', 'unchanged'] },
              { type: 'object', required: ['type'], properties: { type: { type: 'string', enum: ['now', 'unchanged'] } } },
            ],
          },
          cancel_at_period_end: { type: 'boolean' },
          cancel_now: { type: 'boolean' },
        },
      },
    },
  },
  error: {
    type: 'object',
    required: ['error'],
    properties: {
      error: {
        type: 'object',
        required: ['type', 'message'],
        properties: {
          type: { type: 'string', enum: ['api_error', 'card_error', 'idempotency_error', 'invalid_request_error'] },
          code: str,
          message: str,
          param: str,
          doc_url: str,
        },
      },
    },
  },
};

/** Operations the subset does not describe (gateway-owned ones, invoice preview, customer search): their params and answers. */
const OWN_OPS: Record<string, { summary: string; params?: string; response: Json }> = {
  'customers.search': { summary: 'Search customers', params: 'params.customers_search', response: searchResult(ref('customer')) },
  'webhook_endpoints.create': {
    summary: 'Create a webhook endpoint',
    params: 'params.webhook_endpoints_create',
    response: ref('webhook_endpoint'),
  },
  'webhook_endpoints.list': {
    summary: 'List webhook endpoints',
    params: 'params.webhook_endpoints_list',
    response: list(ref('webhook_endpoint')),
  },
  'webhook_endpoints.retrieve': { summary: 'Retrieve a webhook endpoint', response: ref('webhook_endpoint') },
  'webhook_endpoints.update': {
    summary: 'Update a webhook endpoint',
    params: 'params.webhook_endpoints_update',
    response: ref('webhook_endpoint'),
  },
  'webhook_endpoints.del': { summary: 'Delete a webhook endpoint', response: ref('deleted_webhook_endpoint') },
  'webhook_endpoints.roll_secret': {
    summary:
      "Roll a webhook endpoint's signing secret (Meterflow; Stripe does this in its Dashboard): the new secret is in this answer only, the old one keeps signing beside it for expires_in seconds",
    params: 'params.webhook_endpoints_roll_secret',
    response: ref('webhook_endpoint'),
  },
  'invoices.explanation': {
    summary:
      'Explain an invoice: per line its meter, usage window, events, aggregate and rating steps; per credit its grant, order and ledger entry',
    response: ref('invoice_explanation'),
  },
  'invoices.create_preview': {
    summary: 'Preview the invoice a customer or subscription would be issued (nothing is written; id `upcoming_in_...`)',
    params: 'params.invoices_create_preview',
    response: ref('invoice'),
  },
};

const subsetRef = (op: Json | undefined): string | undefined => {
  const r = (op?.['x-params-schema'] as { $ref?: string } | undefined)?.$ref;
  return r?.replace('#/components/schemas/', '');
};

function operation(route: ApiRoute, subsetOp: Json | undefined, schemas: Record<string, Json>): Json {
  const own = OWN_OPS[route.op];
  const paramsName = own?.params ?? subsetRef(subsetOp);
  const response = own?.response ??
    ((subsetOp?.responses as Json | undefined)?.['200'] as { content?: { 'application/json'?: { schema?: Json } } } | undefined)?.content?.[
      'application/json'
    ]?.schema ?? { type: 'object' };
  const pathParams = [...route.path.matchAll(/:(\w+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: str }));
  const op: Json = {
    operationId: route.op,
    summary: own?.summary ?? (subsetOp?.summary as string | undefined) ?? route.op,
    tags: [route.service],
    'x-meterflow-service': route.service,
    responses: {
      '200': { description: 'OK', content: { 'application/json': { schema: response } } },
      default: { description: 'A Stripe error object', content: { 'application/json': { schema: ref('error') } } },
    },
  };
  if (route.auth === 'meter_event_session') op.security = [{ meterEventSession: [] }];
  const params: Json[] = [...pathParams];
  if (route.method === 'POST') {
    const type = route.api === 'v2' ? 'application/json' : 'application/x-www-form-urlencoded';
    op.requestBody = { required: false, content: { [type]: { schema: paramsName ? ref(paramsName) : { type: 'object' } } } };
    params.push({ name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string', maxLength: 255 } });
  } else if (paramsName && schemas[paramsName]) {
    const p = schemas[paramsName] as { properties?: Record<string, Json>; required?: string[] };
    for (const [name, schema] of Object.entries(p.properties ?? {}))
      params.push({
        name,
        in: 'query',
        required: (p.required ?? []).includes(name),
        schema,
        ...(schema.type === 'object' ? { style: 'deepObject', explode: true } : {}),
      });
  }
  if (params.length) op.parameters = params;
  return op;
}

/**
 * The OpenAPI 3.1 document of the HTTP API Meterflow implements: exactly the routes of
 * `API_ROUTES`, with Stripe's object and parameter schemas (from the subset) and the gateway's
 * own. Served by the gateway at `/openapi.json`; published as docs/openapi.json.
 */
export function buildOpenApi(): Json {
  const schemas: Record<string, Json> = { ...stripeComponentSchemas(), ...OWN_SCHEMAS };
  const subset = stripeSubsetOperations();
  const paths: Record<string, Json> = {};
  for (const route of API_ROUTES) {
    const path = route.path.replace(/:(\w+)/g, '{$1}');
    const subsetOp = subset.get(`${route.method} ${route.path.replace(/:\w+/g, '{}')}`);
    (paths[path] ??= {})[route.method.toLowerCase()] = operation(route, subsetOp, schemas);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Meterflow API',
      version: API_VERSION,
      description:
        "Stripe's usage-based billing API as Meterflow implements it: point the official stripe SDK at the gateway. " +
        'v1 bodies are form-encoded with bracket notation; v2 bodies are JSON. Generated from libs/contracts (pnpm docs:contracts).',
      license: { name: 'Proprietary', identifier: 'LicenseRef-Meterflow' },
    },
    servers: [{ url: 'http://127.0.0.1:3000', description: 'a local gateway (./mf start)' }],
    security: [{ bearer: [] }, { basic: [] }],
    tags: [...new Set(API_ROUTES.map((r) => r.service))].map((name) => ({ name, description: `Served by ${name}.` })),
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'A secret key (sk_...) from MF_API_KEYS.' },
        basic: { type: 'http', scheme: 'basic', description: 'The secret key as user name.' },
        meterEventSession: { type: 'http', scheme: 'bearer', description: 'A meter event session token (v2).' },
      },
      schemas,
    },
  };
}
