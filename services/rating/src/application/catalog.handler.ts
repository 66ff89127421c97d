import { Inject, Injectable } from '@nestjs/common';
import type { ApiRequest } from '@meterflow/contracts';
import { DomainError, newId, notFound } from '@meterflow/kernel';
import {
  LIST_PARAM_KEYS,
  applyMetadata,
  bool,
  decimalString,
  enumOf,
  exclusive,
  int,
  listSql,
  metadata,
  obj,
  objArr,
  parseListParams,
  rejectUnknown,
  str,
  strArr,
  type Params,
} from '@meterflow/stripe-api';
import { PRICES, PRODUCTS, type PriceRepository, type ProductRepository } from '../adapters/persistence/repositories.js';
import { previousAttributes, type ProductObject } from '../domain/catalog.events.js';
import { createPrice, type PriceInput, type PriceObject } from '../domain/price.js';
import { rangeFilter } from './list-filters.js';
import { fact } from './stripe-facts.js';
import { TimeService } from './time.service.js';
import { UsageRatingService } from './usage-rating.service.js';

const PRODUCT_FIELDS = [
  'active',
  'description',
  'images',
  'metadata',
  'name',
  'shippable',
  'statement_descriptor',
  'tax_code',
  'unit_label',
  'url',
] as const;

function readProductFields(p: Params, creating: boolean): Partial<ProductObject> & { metadataPatch: ReturnType<typeof metadata> } {
  const out: Partial<ProductObject> & { metadataPatch: ReturnType<typeof metadata> } = { metadataPatch: metadata(p) };
  const name = creating ? str(p, 'name', { required: true, maxLength: 5000 }) : str(p, 'name', { maxLength: 5000 });
  if (name) out.name = name;
  for (const k of ['description', 'statement_descriptor', 'tax_code', 'unit_label', 'url'] as const) {
    const v = str(p, k, { maxLength: 5000 });
    if (v !== undefined) out[k] = v;
  }
  const active = bool(p, 'active');
  if (active !== undefined && active !== null) out.active = active;
  const shippable = bool(p, 'shippable');
  if (shippable !== undefined) out.shippable = shippable;
  const images = strArr(p, 'images');
  if (images !== undefined) out.images = images ?? [];
  return out;
}

const INTERVALS = ['day', 'week', 'month', 'year'] as const;

/** Form params -> PriceInput (types only; business rules live in the domain). */
function readPriceInput(p: Params, product: string): PriceInput {
  const input: PriceInput = { currency: str(p, 'currency', { required: true }), product };
  const active = bool(p, 'active');
  if (active != null) input.active = active;
  const scheme = enumOf(p, 'billing_scheme', ['per_unit', 'tiered'] as const);
  if (scheme) input.billing_scheme = scheme;
  const ua = int(p, 'unit_amount', { min: 0 });
  if (ua != null) input.unit_amount = ua;
  const uad = decimalString(p, 'unit_amount_decimal');
  if (uad != null) input.unit_amount_decimal = uad;
  const r = obj(p, 'recurring');
  if (r) {
    rejectUnknown(r, ['interval', 'interval_count', 'usage_type', 'meter', 'trial_period_days', 'aggregate_usage']);
    if (r.aggregate_usage !== undefined)
      throw new DomainError(
        'parameter_unknown',
        'Received unknown parameter: recurring[aggregate_usage]. Metered prices are backed by a meter.',
        {
          param: 'recurring[aggregate_usage]',
        },
      );
    const count = int(r, 'interval_count', { min: 1 });
    const usage = enumOf(r, 'usage_type', ['licensed', 'metered'] as const);
    const meter = str(r, 'meter');
    const trial = int(r, 'trial_period_days', { min: 0 });
    input.recurring = {
      interval: enumOf(r, 'interval', INTERVALS, { required: true }),
      ...(count != null ? { interval_count: count } : {}),
      ...(usage ? { usage_type: usage } : {}),
      ...(meter ? { meter } : {}),
      ...(trial != null ? { trial_period_days: trial } : {}),
    };
  }
  const mode = enumOf(p, 'tiers_mode', ['graduated', 'volume'] as const);
  if (mode) input.tiers_mode = mode;
  const tiers = objArr(p, 'tiers');
  if (tiers) {
    input.tiers = tiers.map((t) => {
      rejectUnknown(t, ['up_to', 'unit_amount', 'unit_amount_decimal', 'flat_amount', 'flat_amount_decimal']);
      const upTo = t.up_to === 'inf' ? 'inf' : int(t, 'up_to', { required: true, min: 1 });
      const tier: NonNullable<PriceInput['tiers']>[number] = { up_to: upTo };
      const tu = int(t, 'unit_amount', { min: 0 });
      if (tu != null) tier.unit_amount = tu;
      const tud = decimalString(t, 'unit_amount_decimal');
      if (tud != null) tier.unit_amount_decimal = tud;
      const fa = int(t, 'flat_amount', { min: 0 });
      if (fa != null) tier.flat_amount = fa;
      const fad = decimalString(t, 'flat_amount_decimal');
      if (fad != null) tier.flat_amount_decimal = fad;
      return tier;
    });
  }
  const tq = obj(p, 'transform_quantity');
  if (tq) {
    rejectUnknown(tq, ['divide_by', 'round']);
    input.transform_quantity = {
      divide_by: int(tq, 'divide_by', { required: true, min: 1 }),
      round: enumOf(tq, 'round', ['up', 'down'] as const, { required: true }),
    };
  }
  const lookup = str(p, 'lookup_key', { maxLength: 200 });
  if (lookup) input.lookup_key = lookup;
  const nickname = str(p, 'nickname', { maxLength: 5000 });
  if (nickname) input.nickname = nickname;
  const md = metadata(p);
  if (md) input.metadata = applyMetadata({}, md);
  const tax = enumOf(p, 'tax_behavior', ['exclusive', 'inclusive', 'unspecified'] as const);
  if (tax) input.tax_behavior = tax;
  return input;
}

@Injectable()
export class CatalogHandler {
  constructor(
    @Inject(PRODUCTS) private readonly products: ProductRepository,
    @Inject(PRICES) private readonly prices: PriceRepository,
    private readonly time: TimeService,
    private readonly usage: UsageRatingService,
  ) {}

  // ---- products --------------------------------------------------------------------------

  async createProduct(req: ApiRequest): Promise<ProductObject> {
    rejectUnknown(req.params, [...PRODUCT_FIELDS, 'id', 'marketing_features', 'default_price_data', 'tax_details', 'package_dimensions']);
    return this.newProduct(req, req.params);
  }

  private async newProduct(req: ApiRequest, p: Params): Promise<ProductObject> {
    const { metadataPatch, ...fields } = readProductFields(p, true);
    const custom = str(p, 'id', { maxLength: 5000 });
    const id = custom ?? newId('product');
    const now = this.time.systemNow();
    const product: ProductObject = {
      id,
      object: 'product',
      active: true,
      created: now,
      default_price: null,
      description: null,
      images: [],
      livemode: false,
      marketing_features: [],
      metadata: applyMetadata({}, metadataPatch),
      name: '',
      package_dimensions: null,
      shippable: null,
      statement_descriptor: null,
      tax_code: null,
      tax_details: null,
      type: 'service',
      unit_label: null,
      updated: now,
      url: null,
      ...fields,
    };
    await this.products.execute(id, (s) => {
      if (s) throw new DomainError('resource_already_exists', `Product already exists.`, { param: 'id' });
      return {
        events: [{ type: 'ProductCreated', data: { product } }],
        facts: () => [fact('product.created', product, now, req)],
      };
    });
    return product;
  }

  async retrieveProduct(req: ApiRequest): Promise<ProductObject> {
    const id = req.path.id ?? '';
    const { state } = await this.products.load(id);
    if (!state) throw notFound('product', id);
    return state;
  }

  async updateProduct(req: ApiRequest): Promise<ProductObject> {
    const id = req.path.id ?? '';
    rejectUnknown(req.params, [...PRODUCT_FIELDS, 'default_price', 'marketing_features', 'tax_details', 'package_dimensions']);
    const { metadataPatch, ...fields } = readProductFields(req.params, false);
    const defaultPrice = str(req.params, 'default_price');
    if (defaultPrice) {
      const price = await this.prices.load(defaultPrice);
      if (!price.state || price.state.product !== id) throw notFound('price', defaultPrice, 'default_price');
    }
    const now = this.time.systemNow();
    const res = await this.products.execute(id, (s) => {
      if (!s) throw notFound('product', id);
      const next: ProductObject = {
        ...s,
        ...fields,
        ...(defaultPrice !== undefined ? { default_price: defaultPrice } : {}),
        metadata: applyMetadata(s.metadata, metadataPatch),
        updated: now,
      };
      const previous = previousAttributes(s, next);
      return {
        events: [{ type: 'ProductUpdated', data: { product: next, previous_attributes: previous } }],
        facts: () => [fact('product.updated', next, now, req, previous)],
      };
    });
    return res.after!;
  }

  async listProducts(req: ApiRequest) {
    const p = req.params;
    rejectUnknown(p, [...LIST_PARAM_KEYS, 'active', 'ids', 'created']);
    const args: unknown[] = [];
    const where = ['NOT deleted'];
    const active = bool(p, 'active');
    if (active != null) {
      args.push(active);
      where.push(`active = $${args.length}`);
    }
    const ids = strArr(p, 'ids');
    if (ids) {
      args.push(ids);
      where.push(`id = ANY($${args.length}::text[])`);
    }
    const created = rangeFilter(p, 'created', 'created', args.length + 1);
    where.push(...created.sql);
    args.push(...created.args);
    const page = listSql(parseListParams(p), { firstArg: args.length + 1 });
    if (page.where) where.push(page.where);
    const { rows } = await this.products.pool.query<{ state: ProductObject }>(
      `SELECT state FROM products WHERE ${where.join(' AND ')} ORDER BY ${page.orderBy} LIMIT ${page.limit}`,
      [...args, ...page.args],
    );
    return page.finish(
      rows.map((r) => r.state),
      '/v1/products',
    );
  }

  // ---- prices ----------------------------------------------------------------------------

  async createPrice(req: ApiRequest): Promise<PriceObject> {
    const p = req.params;
    rejectUnknown(p, [
      'currency',
      'active',
      'billing_scheme',
      'lookup_key',
      'metadata',
      'nickname',
      'product',
      'product_data',
      'recurring',
      'tax_behavior',
      'tiers',
      'tiers_mode',
      'transfer_lookup_key',
      'transform_quantity',
      'unit_amount',
      'unit_amount_decimal',
    ]);
    exclusive(p, ['product', 'product_data']);
    exclusive(p, ['unit_amount', 'unit_amount_decimal']);
    let productId = str(p, 'product');
    const productData = obj(p, 'product_data');
    if (!productId && !productData) throw new DomainError('parameter_missing', 'Missing required param: product.', { param: 'product' });
    // Validate everything before creating a product from product_data.
    const id = newId('price');
    const now = this.time.systemNow();
    const price = createPrice(readPriceInput(p, productId ?? 'prod_pending'), id, now);
    // A metered price names a meter ingestion knows (checked when ingestion answers; not fatal when it is away).
    const meter = price.recurring?.meter;
    if (meter && (await this.usage.meterExists(meter)) === false) throw notFound('billing.meter', meter, 'recurring[meter]');
    if (productId) {
      const product = await this.products.load(productId);
      if (!product.state) throw notFound('product', productId, 'product');
    } else {
      rejectUnknown(productData!, ['name', 'active', 'id', 'metadata', 'statement_descriptor', 'tax_code', 'unit_label', 'tax_details']);
      productId = (await this.newProduct(req, productData!)).id;
    }
    const final: PriceObject = { ...price, product: productId };
    await this.claimLookupKey(req, final.lookup_key, bool(p, 'transfer_lookup_key') ?? false, now);
    await this.prices.execute(id, () => ({
      events: [{ type: 'PriceCreated', data: { price: final } }],
      facts: () => [fact('price.created', final, now, req)],
    }));
    return final;
  }

  private async claimLookupKey(req: ApiRequest, key: string | null, transfer: boolean, now: number): Promise<void> {
    if (!key) return;
    const { rows } = await this.prices.pool.query<{ id: string }>('SELECT id FROM prices WHERE lookup_key = $1 AND active', [key]);
    const holder = rows[0]?.id;
    if (!holder) return;
    if (!transfer)
      throw new DomainError(
        'lookup_key_already_exists',
        `A price (\`${holder}\`) already uses that lookup key. Set \`transfer_lookup_key=true\` to move it to this price.`,
        { param: 'lookup_key' },
      );
    await this.prices.execute(holder, (s) => {
      const next = { ...s!, lookup_key: null };
      const previous = previousAttributes(s!, next);
      return {
        events: [{ type: 'PriceUpdated', data: { price: next, previous_attributes: previous } }],
        facts: () => [fact('price.updated', next, now, req, previous)],
      };
    });
  }

  async getPrice(id: string, param = 'price'): Promise<PriceObject> {
    const { state } = await this.prices.load(id);
    if (!state) throw notFound('price', id, param);
    return state;
  }

  async retrievePrice(req: ApiRequest): Promise<PriceObject> {
    return this.getPrice(req.path.id ?? '', 'id');
  }

  async updatePrice(req: ApiRequest): Promise<PriceObject> {
    const id = req.path.id ?? '';
    const p = req.params;
    rejectUnknown(p, ['active', 'lookup_key', 'metadata', 'nickname', 'tax_behavior', 'transfer_lookup_key', 'currency_options']);
    const active = bool(p, 'active');
    const lookup = str(p, 'lookup_key', { maxLength: 200 });
    const nickname = str(p, 'nickname', { maxLength: 5000 });
    const md = metadata(p);
    const tax = enumOf(p, 'tax_behavior', ['exclusive', 'inclusive', 'unspecified'] as const);
    const now = this.time.systemNow();
    await this.getPrice(id, 'id');
    if (lookup) await this.claimLookupKeyFor(req, id, lookup, bool(p, 'transfer_lookup_key') ?? false, now);
    const res = await this.prices.execute(id, (s) => {
      if (!s) throw notFound('price', id);
      const next: PriceObject = {
        ...s,
        ...(active != null ? { active } : {}),
        ...(lookup !== undefined ? { lookup_key: lookup } : {}),
        ...(nickname !== undefined ? { nickname } : {}),
        ...(tax ? { tax_behavior: tax } : {}),
        metadata: applyMetadata(s.metadata, md),
      };
      const previous = previousAttributes(s, next);
      return {
        events: [{ type: 'PriceUpdated', data: { price: next, previous_attributes: previous } }],
        facts: () => [fact('price.updated', next, now, req, previous)],
      };
    });
    return res.after!;
  }

  private async claimLookupKeyFor(req: ApiRequest, id: string, key: string, transfer: boolean, now: number): Promise<void> {
    const { rows } = await this.prices.pool.query<{ id: string }>('SELECT id FROM prices WHERE lookup_key = $1 AND active AND id <> $2', [
      key,
      id,
    ]);
    if (rows.length) await this.claimLookupKey(req, key, transfer, now);
  }

  async listPrices(req: ApiRequest) {
    const p = req.params;
    rejectUnknown(p, [...LIST_PARAM_KEYS, 'active', 'currency', 'product', 'type', 'lookup_keys', 'recurring', 'created']);
    const args: unknown[] = [];
    const where: string[] = ['true'];
    const add = (sql: string, v: unknown) => {
      args.push(v);
      where.push(sql.replace('?', `$${args.length}`));
    };
    const active = bool(p, 'active');
    if (active != null) add('active = ?', active);
    const currency = str(p, 'currency');
    if (currency) add('currency = ?', currency.toLowerCase());
    const product = str(p, 'product');
    if (product) add('product = ?', product);
    const type = enumOf(p, 'type', ['one_time', 'recurring'] as const);
    if (type) add('type = ?', type);
    const keys = strArr(p, 'lookup_keys');
    if (keys) add('lookup_key = ANY(?::text[])', keys);
    const r = obj(p, 'recurring');
    if (r) {
      rejectUnknown(r, ['interval', 'meter', 'usage_type']);
      const interval = enumOf(r, 'interval', INTERVALS);
      if (interval) add('recurring_interval = ?', interval);
      const meter = str(r, 'meter');
      if (meter) add('meter = ?', meter);
      const usage = enumOf(r, 'usage_type', ['licensed', 'metered'] as const);
      if (usage) add('usage_type = ?', usage);
    }
    const created = rangeFilter(p, 'created', 'created', args.length + 1);
    where.push(...created.sql);
    args.push(...created.args);
    const page = listSql(parseListParams(p), { firstArg: args.length + 1 });
    if (page.where) where.push(page.where);
    const { rows } = await this.prices.pool.query<{ state: PriceObject }>(
      `SELECT state FROM prices WHERE ${where.join(' AND ')} ORDER BY ${page.orderBy} LIMIT ${page.limit}`,
      [...args, ...page.args],
    );
    return page.finish(
      rows.map((r2) => r2.state),
      '/v1/prices',
    );
  }
}
