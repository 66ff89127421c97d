import { readFileSync } from 'node:fs';
import { z } from 'zod';

/**
 * Stripe's object and parameter schemas for what Meterflow implements, from
 * `stripe-openapi-subset.json` (derived from stripe-node's types for API version
 * 2026-07-29.dahlia; copied into the repo from the project's reference material). Written in
 * OpenAPI 3.0 style (`nullable`); `jsonSchemaOf` turns them into JSON Schema 2020-12 as OpenAPI
 * 3.1 and AsyncAPI 3 documents take them.
 */
type Json = Record<string, unknown>;

interface Subset {
  paths: Record<string, Record<string, Json>>;
  components: { schemas: Record<string, Json> };
}

let cached: Subset | undefined;
function subset(): Subset {
  cached ??= JSON.parse(readFileSync(new URL('./stripe-openapi-subset.json', import.meta.url), 'utf8')) as Subset;
  return cached;
}

/** `nullable: true` (OpenAPI 3.0) -> a `null` alternative (JSON Schema). */
function denull(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(denull);
  if (!s || typeof s !== 'object') return s;
  const { nullable, ...rest } = s as Json;
  const out: Json = {};
  for (const [k, v] of Object.entries(rest)) out[k] = k === 'properties' || k === '$defs' ? mapValues(v as Json, denull) : denull(v);
  if (nullable !== true) return out;
  if (typeof out.type === 'string' && !out.enum) return { ...out, type: [out.type, 'null'] };
  if (Array.isArray(out.enum))
    return { ...out, ...(typeof out.type === 'string' ? { type: [out.type, 'null'] } : {}), enum: [...out.enum, null] };
  return { anyOf: [out, { type: 'null' }] };
}

const mapValues = (o: Json, f: (v: unknown) => unknown): Json => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]));

/** Every Stripe schema of the subset as JSON Schema, `$ref`s pointing at `#/components/schemas/<name>`. */
export function stripeComponentSchemas(): Record<string, Json> {
  return mapValues(subset().components.schemas, denull) as Record<string, Json>;
}

/** The subset's operations by `METHOD /path/{}` (path parameters blanked). */
export function stripeSubsetOperations(): Map<string, Json> {
  const ops = new Map<string, Json>();
  for (const [path, methods] of Object.entries(subset().paths))
    for (const [method, op] of Object.entries(methods)) ops.set(`${method.toUpperCase()} ${path.replace(/\{[^}]+\}/g, '{}')}`, op);
  return ops;
}

export const METER_ERROR_REPORT = 'billing.meter_error_report';

/**
 * `data.object` of `v1.billing.meter.error_report_triggered` / `v1.billing.meter.no_meter_found`
 * (a v2 "thin" event's payload in Stripe, not in the subset): Meterflow's own contract.
 */
export const MeterErrorReport = z.object({
  developer_message_summary: z.string(),
  reason: z.object({
    error_count: z.number().int(),
    error_types: z.array(
      z.object({
        code: z.string(),
        error_count: z.number().int(),
        sample_errors: z.array(z.object({ error_message: z.string(), request: z.object({ identifier: z.string() }) })),
      }),
    ),
  }),
  validation_start: z.string(),
  validation_end: z.string(),
  related_object: z.object({ id: z.string(), type: z.literal('billing.meter'), url: z.string() }).nullable(),
});
