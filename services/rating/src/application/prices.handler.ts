import { Inject, Injectable } from '@nestjs/common';
import type { ApiRequest } from '@meterflow/contracts';
import type { CommandPipeline, UnitOfWork } from '@meterflow/event-store';
import { DomainError, newId, notFound } from '@meterflow/kernel';
import {
  LIST_PARAM_KEYS,
  applyMetadata,
  bool,
  decimalString,
  enumOf,
  exclusive,
  int,
  metadata,
  obj,
  objArr,
  parseListParams,
  rejectUnknown,
  str,
  strArr,
  type Params,
} from '@meterflow/stripe-api';
import { createPrice, type PriceInput, type PriceObject } from '../domain/price.js';
import { RatingAggregates } from './aggregates.js';
import { parseRange } from './list-filters.js';
import { PIPELINE, PRICE_INDEX, READ_MODELS, type PriceIndex, type PriceListFilter, type RatingReadModels } from './ports.js';
import { ProductsHandler } from './products.handler.js';
import { requestContext } from './stripe-facts.js';
import { TimeService } from './time.service.js';
import { UsageRatingService } from './usage-rating.service.js';

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

/** Prices: create (with a new product from `product_data`), retrieve, update, list; lookup keys move between prices. */
@Injectable()
export class PricesHandler {
  constructor(
    @Inject(PIPELINE) private readonly pipeline: CommandPipeline,
    @Inject(READ_MODELS) private readonly models: RatingReadModels,
    @Inject(PRICE_INDEX) private readonly index: PriceIndex,
    private readonly types: RatingAggregates,
    private readonly products: ProductsHandler,
    private readonly time: TimeService,
    private readonly usage: UsageRatingService,
  ) {}

  async create(req: ApiRequest): Promise<PriceObject> {
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
      if (!(await this.models.products.get(productId))) throw notFound('product', productId, 'product');
    } else {
      rejectUnknown(productData!, ['name', 'active', 'id', 'metadata', 'statement_descriptor', 'tax_code', 'unit_label', 'tax_details']);
      productId = (await this.products.createFrom(req, productData!)).id;
    }
    const final: PriceObject = { ...price, product: productId };
    const holder = await this.lookupKeyHolder(final.lookup_key, id, bool(p, 'transfer_lookup_key') ?? false);
    await this.pipeline.run(async (uow) => {
      if (holder) await this.releaseLookupKey(uow, holder);
      uow.fresh(this.types.price, [id]);
      uow.executeLoaded(this.types.price, id, { type: 'CreatePrice', price: final });
    }, requestContext(req));
    return final;
  }

  /** The active price holding `key` (other than `id`); refused unless it may be transferred. */
  private async lookupKeyHolder(key: string | null | undefined, id: string, transfer: boolean): Promise<string | null> {
    if (!key) return null;
    const holder = await this.index.lookupKeyHolder(key, id);
    if (!holder) return null;
    if (!transfer)
      throw new DomainError(
        'lookup_key_already_exists',
        `A price (\`${holder}\`) already uses that lookup key. Set \`transfer_lookup_key=true\` to move it to this price.`,
        { param: 'lookup_key' },
      );
    return holder;
  }

  private async releaseLookupKey(uow: UnitOfWork, holder: string): Promise<void> {
    await uow.execute(this.types.price, holder, { type: 'ReleaseLookupKey' });
  }

  async get(id: string, param = 'price'): Promise<PriceObject> {
    const state = await this.models.prices.get(id);
    if (!state) throw notFound('price', id, param);
    return state;
  }

  async retrieve(req: ApiRequest): Promise<PriceObject> {
    return this.get(req.path.id ?? '', 'id');
  }

  async update(req: ApiRequest): Promise<PriceObject> {
    const id = req.path.id ?? '';
    const p = req.params;
    rejectUnknown(p, ['active', 'lookup_key', 'metadata', 'nickname', 'tax_behavior', 'transfer_lookup_key', 'currency_options']);
    const active = bool(p, 'active');
    const lookup = str(p, 'lookup_key', { maxLength: 200 });
    const nickname = str(p, 'nickname', { maxLength: 5000 });
    const md = metadata(p);
    const tax = enumOf(p, 'tax_behavior', ['exclusive', 'inclusive', 'unspecified'] as const);
    await this.get(id, 'id');
    const holder = await this.lookupKeyHolder(lookup, id, bool(p, 'transfer_lookup_key') ?? false);
    const { state } = await this.pipeline.run(async (uow) => {
      if (holder) await this.releaseLookupKey(uow, holder);
      if (!(await uow.load(this.types.price, id))) throw notFound('price', id);
      return uow.executeLoaded(this.types.price, id, {
        type: 'UpdatePrice',
        ...(active != null ? { active } : {}),
        ...(lookup !== undefined ? { lookup_key: lookup } : {}),
        ...(nickname !== undefined ? { nickname } : {}),
        ...(tax ? { tax_behavior: tax } : {}),
        metadata: md,
      });
    }, requestContext(req));
    return state!;
  }

  async list(req: ApiRequest) {
    const p = req.params;
    rejectUnknown(p, [...LIST_PARAM_KEYS, 'active', 'currency', 'product', 'type', 'lookup_keys', 'recurring', 'created']);
    const f: PriceListFilter = {};
    const active = bool(p, 'active');
    if (active != null) f.active = active;
    const currency = str(p, 'currency');
    if (currency) f.currency = currency.toLowerCase();
    const product = str(p, 'product');
    if (product) f.product = product;
    const type = enumOf(p, 'type', ['one_time', 'recurring'] as const);
    if (type) f.type = type;
    const keys = strArr(p, 'lookup_keys');
    if (keys) f.lookup_keys = keys;
    const r = obj(p, 'recurring');
    if (r) {
      rejectUnknown(r, ['interval', 'meter', 'usage_type']);
      const interval = enumOf(r, 'interval', INTERVALS);
      const meter = str(r, 'meter');
      const usage = enumOf(r, 'usage_type', ['licensed', 'metered'] as const);
      f.recurring = { ...(interval ? { interval } : {}), ...(meter ? { meter } : {}), ...(usage ? { usage_type: usage } : {}) };
    }
    const created = parseRange(p, 'created');
    if (created) f.created = created;
    return this.index.list(f, parseListParams(p));
  }
}
