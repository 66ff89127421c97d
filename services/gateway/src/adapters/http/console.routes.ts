import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import fastifyStatic from '@fastify/static';

/**
 * The web console (`apps/console`, built by `pnpm build`) under `/console`. Only static files:
 * the console reads and writes through the public `/v1` API with the key its user signs in with,
 * so nothing here is readable without a key. Deep links (`/console/invoices/in_…`) get index.html.
 */
export async function registerConsole(fastify: FastifyInstance, dir: string, warn: (msg: string) => void): Promise<void> {
  const index = join(dir, 'index.html');
  if (!existsSync(index)) {
    warn(`the console is not built (${index} is missing): run pnpm build`);
    fastify.get('/console*', (_req, reply) => reply.code(503).type('text/plain').send('The console is not built: run `pnpm build`.\n'));
    return;
  }
  const secure = (reply: FastifyReply) =>
    reply
      .header(
        'content-security-policy',
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
      )
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer');
  await fastify.register(async (app) => {
    await app.register(fastifyStatic, {
      root: dir,
      prefix: '/console/',
      wildcard: false,
      index: false,
      setHeaders: (res, path) => {
        // Hashed asset names never change content; the page itself is always fetched again.
        res.header('cache-control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    });
    const page = (_req: unknown, reply: FastifyReply) => secure(reply).header('cache-control', 'no-cache').sendFile('index.html');
    app.get('/console', page);
    app.get('/console/', page);
    app.get('/console/*', page);
  });
}
