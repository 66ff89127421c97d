import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Parser } from '@asyncapi/parser';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { API_ROUTES } from '../api-routes.js';
import { STRIPE_EVENT_TYPES } from '../stripe-event-types.js';
import { buildAsyncApi } from './asyncapi.js';
import { buildOpenApi } from './openapi.js';

/**
 * The published documents (docs/asyncapi.json, docs/openapi.json) are exactly what the contracts
 * generate, and valid: a route or event type added without regenerating them fails here.
 * Regenerate with `pnpm docs:contracts` (MF_WRITE_DOCS=1 on this spec).
 */
const docs = new URL('../../../../docs/', import.meta.url);
const published = (name: string, built: unknown): unknown => {
  const file = new URL(name, docs);
  if (process.env.MF_WRITE_DOCS === '1') writeFileSync(file, `${JSON.stringify(built, null, 2)}\n`);
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined;
};

describe('contract documents', () => {
  // The parser's validation with its core ruleset (the AsyncAPI 3 schema, references,
  // channels/operations); its "recommended" style rules and payload-schema parsing take minutes
  // on a document this size.
  it('docs/asyncapi.json: one channel per event type and for producers; a valid AsyncAPI 3 document', { timeout: 120_000 }, async () => {
    const doc = buildAsyncApi() as { channels: Record<string, { address: string }> };
    expect(published('asyncapi.json', doc), 'docs/asyncapi.json is stale: run pnpm docs:contracts').toEqual(doc);
    const addresses = Object.values(doc.channels).map((c) => c.address);
    for (const type of Object.keys(STRIPE_EVENT_TYPES)) expect(addresses).toContain(`mf.events.${type}`);
    expect(addresses).toContain('mf.ingest.meter_events');

    const diagnostics = await new Parser({ ruleset: { core: true, recommended: false } }).validate(JSON.stringify(doc));
    const errors = diagnostics.filter((d) => d.severity === 0);
    expect(errors.map((e) => `${e.path.join('.')}: ${e.message}`)).toEqual([]);
  });

  it('docs/openapi.json: every route of API_ROUTES; a valid OpenAPI 3.1 document', { timeout: 60_000 }, async () => {
    const doc = buildOpenApi() as { paths: Record<string, Record<string, unknown>> };
    expect(published('openapi.json', doc), 'docs/openapi.json is stale: run pnpm docs:contracts').toEqual(doc);
    for (const r of API_ROUTES)
      expect(doc.paths[r.path.replace(/:(\w+)/g, '{$1}')]?.[r.method.toLowerCase()], `${r.method} ${r.path}`).toBeDefined();

    const config = await createConfig({ extends: ['minimal'] });
    const problems = await lintFromString({ source: JSON.stringify(doc), absoluteRef: 'openapi.json', config });
    const errors = problems.filter((p) => p.severity === 'error');
    expect(errors.map((p) => `${p.ruleId}: ${p.message} at ${p.location[0]?.pointer}`)).toEqual([]);
  });
});
