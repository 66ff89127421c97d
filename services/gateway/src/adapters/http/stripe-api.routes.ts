import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiRoute } from '@meterflow/contracts';
import { newRequestId, renderError, unrecognizedUrl } from '@meterflow/stripe-api';
import type { ApiCallHandler, IncomingCall } from '../../application/api-call.handler.js';
import { observeApiRequest } from './http-metrics.js';

const header = (req: FastifyRequest, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/**
 * Serves every route of the table under its `/v1` or `/v2` prefix (and Meterflow's own,
 * outside Stripe's namespace, under `/meterflow/v1`, in v1's conventions). Each prefix is its own
 * Fastify context: bodies arrive as raw text (decoded once by the handler, hashed for
 * idempotency as sent) and unknown URLs get Stripe's 404 instead of Nest's.
 */
export async function registerStripeApi(fastify: FastifyInstance, routes: readonly ApiRoute[], handler: ApiCallHandler): Promise<void> {
  for (const prefix of ['/v1', '/v2', '/meterflow/v1'] as const) {
    await fastify.register(
      async (api) => {
        api.removeAllContentTypeParsers();
        api.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));

        for (const route of routes.filter((r) => r.path.startsWith(`${prefix}/`))) {
          api.route({
            method: route.method,
            url: route.path.slice(prefix.length),
            handler: async (req: FastifyRequest, reply: FastifyReply) => {
              const startedAt = process.hrtime.bigint();
              const url = req.url;
              const q = url.indexOf('?');
              const call: IncomingCall = {
                method: route.method,
                path: q >= 0 ? url.slice(0, q) : url,
                query: q >= 0 ? url.slice(q + 1) : '',
                body: typeof req.body === 'string' ? req.body : '',
                pathParams: (req.params ?? {}) as Record<string, string>,
                authorization: header(req, 'authorization'),
                idempotencyKey: header(req, 'idempotency-key'),
                stripeVersion: header(req, 'stripe-version'),
              };
              const res = await handler.handle(route, call);
              observeApiRequest(route.op, res.status, startedAt);
              return reply.code(res.status).headers(res.headers).header('content-type', 'application/json; charset=utf-8').send(res.body);
            },
          });
        }

        api.setNotFoundHandler((req, reply) => {
          sendError(reply, unrecognizedUrl(req.method, req.url), prefix === '/v2' ? 'v2' : 'v1');
        });
        api.setErrorHandler((err, _req, reply) => {
          // Fastify's own failures (body too large, bad content length): Stripe-shaped too.
          const status = (err as { statusCode?: number } | undefined)?.statusCode ?? 500;
          const rendered =
            status < 500
              ? { status, body: { error: { type: 'invalid_request_error', message: (err as Error).message } } }
              : renderError(err);
          reply
            .code(rendered.status)
            .header('request-id', newRequestId())
            .header('content-type', 'application/json; charset=utf-8')
            .send(JSON.stringify(rendered.body));
        });
      },
      { prefix },
    );
  }
}

function sendError(reply: FastifyReply, e: unknown, mode: 'v1' | 'v2'): void {
  const rendered = renderError(e, mode);
  reply
    .code(rendered.status)
    .header('request-id', newRequestId())
    .header('stripe-should-retry', 'false')
    .header('content-type', 'application/json; charset=utf-8')
    .send(JSON.stringify(rendered.body));
}
