import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';

/**
 * Same objects as Stripe, checked mechanically (issue 8). Every object the e2e suites receive
 * through the SDK is validated against Stripe's schema for it: the OpenAPI subset in
 * `libs/contracts/src/docs/stripe-openapi-subset.json` (the repository's verbatim copy of
 * `shared/reference/stripe-openapi-subset.json`, derived from stripe-node's types: enums closed, optional fields not required). No missing
 * required field, no wrong type, no value outside an enum. Extra fields are allowed (Stripe adds
 * fields over time and so may we).
 */

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const SUBSET = 'stripe-openapi-subset';
/** Meterflow's own OpenAPI document: the objects the subset lacks (webhook endpoints), written from stripe-node's types. */
const OWN = 'meterflow-openapi';

/**
 * OpenAPI 3.0's `nullable: true` as JSON Schema: `{anyOf: [schema, {type: 'null'}]}` (Ajv knows
 * `nullable` only beside `type`, and Stripe's schemas also put it beside `anyOf` and `$ref`).
 */
function jsonSchema(node: Json): Json {
  if (Array.isArray(node)) return node.map(jsonSchema);
  if (node === null || typeof node !== 'object') return node;
  const out: { [k: string]: Json } = {};
  for (const [k, v] of Object.entries(node)) if (k !== 'nullable') out[k] = k === 'properties' ? mapValues(v, jsonSchema) : jsonSchema(v);
  if (node.nullable !== true) return out;
  const { description, ...rest } = out;
  return { anyOf: [rest, { type: 'null' }], ...(description !== undefined ? { description } : {}) };
}

const mapValues = (v: Json, f: (x: Json) => Json): Json =>
  v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, f(x)])) : v;

let ajv: Ajv | undefined;
let subsetSchemas: Set<string> | undefined;
const subsetSchemaNames = (): Set<string> =>
  new Set(
    Object.keys(
      (
        JSON.parse(readFileSync(new URL('../../libs/contracts/src/docs/stripe-openapi-subset.json', import.meta.url), 'utf8')) as {
          components: { schemas: object };
        }
      ).components.schemas,
    ),
  );
const compiled = new Map<string, ValidateFunction | null>();

function validatorFor(schema: string): ValidateFunction | null {
  if (!ajv) {
    const doc = JSON.parse(
      readFileSync(new URL('../../libs/contracts/src/docs/stripe-openapi-subset.json', import.meta.url), 'utf8'),
    ) as Json;
    ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
    ajv.addSchema(jsonSchema(doc) as object, SUBSET);
    const own = JSON.parse(readFileSync(new URL('../../docs/openapi.json', import.meta.url), 'utf8')) as { components: Json };
    ajv.addSchema({ components: own.components }, OWN);
  }
  if (!compiled.has(schema)) {
    const inSubset = (subsetSchemas ??= subsetSchemaNames()).has(schema);
    compiled.set(schema, ajv.getSchema(`${inSubset ? SUBSET : OWN}#/components/schemas/${schema}`) ?? null);
  }
  return compiled.get(schema)!;
}

/** The SDK turns `*_decimal` strings into its `Decimal` class: back to the string the server sent. */
function wire(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  const d = v as { toFixed?: unknown; isZero?: unknown; toString(): string };
  if (typeof d.toFixed === 'function' && typeof d.isZero === 'function') return d.toString();
  if (Array.isArray(v)) return v.map(wire);
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, wire(x)]));
}

export interface SchemaViolation {
  schema: string;
  id: string | null;
  errors: string[];
}

/** Responses with no `object` of their own that Stripe's schemas do not describe. */
const UNTYPED_OK = new Set<string>([]);

/** Violations of Stripe's schema in one response body (a list is checked item by item). */
export function stripeSchemaViolations(body: unknown): SchemaViolation[] {
  const obj = wire(body) as { object?: unknown; data?: unknown; deleted?: unknown; id?: unknown } | null;
  if (!obj || typeof obj !== 'object') return [];
  if (obj.object === 'list' || obj.object === 'search_result') {
    return Array.isArray(obj.data) ? obj.data.flatMap((x) => stripeSchemaViolations(x)) : [];
  }
  if (typeof obj.object !== 'string') return [];
  const schema = obj.deleted === true ? `deleted_${obj.object}` : obj.object;
  const validate = validatorFor(schema);
  const id = typeof obj.id === 'string' ? obj.id : null;
  if (!validate) return UNTYPED_OK.has(schema) ? [] : [{ schema, id, errors: [`no schema for object type '${schema}'`] }];
  // An event carries a whole object (an invoice, a grant, ...): checked against its own schema too.
  const data = schema === 'event' ? (obj as { data?: { object?: unknown } }).data?.object : undefined;
  const inner =
    data && typeof data === 'object' ? stripeSchemaViolations(data).map((v) => ({ ...v, schema: `event ${id}: ${v.schema}` })) : [];
  if (validate(obj)) return inner;
  const errors = validate.errors ?? [];
  // A nullable field's failure also reports "must be null" and "must match a schema in anyOf":
  // noise beside the real reason, kept only when nothing else explains the failure.
  const noise = (e: ErrorObject): boolean => e.keyword === 'anyOf' || (e.keyword === 'type' && e.params.type === 'null');
  const shown = errors.some((e) => !noise(e)) ? errors.filter((e) => !noise(e)) : errors;
  return [{ schema, id, errors: [...new Set(shown.map(describe))] }, ...inner];
}

const describe = (e: ErrorObject): string =>
  `${e.instancePath || '/'} ${e.message ?? e.keyword}${e.keyword === 'enum' ? ` ${JSON.stringify(e.params.allowedValues)}` : ''}`;

export class StripeSchemaError extends Error {
  constructor(
    readonly call: string,
    readonly violations: SchemaViolation[],
  ) {
    super(
      `${call}: response differs from Stripe's schema:\n` +
        violations.map((v) => `  ${v.schema} ${v.id ?? ''}\n${v.errors.map((e) => `    ${e}`).join('\n')}`).join('\n'),
    );
  }
}

export function assertStripeShape(body: unknown, call = 'response'): void {
  const violations = stripeSchemaViolations(body);
  if (violations.length > 0) throw new StripeSchemaError(call, violations);
}

const PAGING = ['autoPagingEach', 'autoPagingToArray', Symbol.asyncIterator] as const;

/**
 * The SDK client with every promised response checked by `assertStripeShape` before the caller
 * sees it: the call that received a wrong object fails, naming the field. Resource namespaces
 * (`stripe.billing.meters`, `stripe.v2.billing...`) are wrapped as they are reached; classes and
 * non-promise results pass through untouched.
 */
export function validatingStripe<T extends object>(target: T, path: string[] = []): T {
  return new Proxy(target, {
    get(t, prop) {
      const v: unknown = Reflect.get(t, prop, t);
      if (typeof prop === 'symbol' || prop.startsWith('_')) return v;
      if (typeof v === 'function') {
        if (/^[A-Z]/.test(prop)) return v; // a class (errors, resources): keep instanceof working
        const call = [...path, prop].join('.');
        return (...args: unknown[]) => {
          const out: unknown = (v as (...a: unknown[]) => unknown).apply(t, args);
          if (!out || typeof (out as Promise<unknown>).then !== 'function') return out;
          const checked = (out as Promise<unknown>).then((r) => {
            assertStripeShape(r, call);
            return r;
          });
          for (const k of PAGING) {
            const f = (out as Record<string | symbol, unknown>)[k];
            if (typeof f === 'function') (checked as unknown as Record<string | symbol, unknown>)[k] = f.bind(out);
          }
          return checked;
        };
      }
      if (v && typeof v === 'object' && !Array.isArray(v)) return validatingStripe(v, [...path, prop]);
      return v;
    },
  });
}
