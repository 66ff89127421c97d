import { Inject, Injectable } from '@nestjs/common';
import type { ApiRequest } from '@meterflow/contracts';
import type { CommandPipeline } from '@meterflow/event-store';
import { newId, notFound } from '@meterflow/kernel';
import {
  LIST_PARAM_KEYS,
  applyMetadata,
  bool,
  metadata,
  parseListParams,
  rejectUnknown,
  str,
  strArr,
  type Params,
} from '@meterflow/stripe-api';
import type { ProductObject } from '../domain/catalog.events.js';
import { RatingAggregates } from './aggregates.js';
import { parseRange } from './list-filters.js';
import { PIPELINE, PRODUCT_INDEX, READ_MODELS, type ProductIndex, type RatingReadModels } from './ports.js';
import { requestContext } from './stripe-facts.js';
import { TimeService } from './time.service.js';

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

/** Products: create (also from a price's `product_data`), retrieve, update, list. */
@Injectable()
export class ProductsHandler {
  constructor(
    @Inject(PIPELINE) private readonly pipeline: CommandPipeline,
    @Inject(READ_MODELS) private readonly models: RatingReadModels,
    @Inject(PRODUCT_INDEX) private readonly index: ProductIndex,
    private readonly types: RatingAggregates,
    private readonly time: TimeService,
  ) {}

  async create(req: ApiRequest): Promise<ProductObject> {
    rejectUnknown(req.params, [...PRODUCT_FIELDS, 'id', 'marketing_features', 'default_price_data', 'tax_details', 'package_dimensions']);
    return this.createFrom(req, req.params);
  }

  /** A new product from `p` (the request's params, or a price's `product_data`). */
  async createFrom(req: ApiRequest, p: Params): Promise<ProductObject> {
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
    await this.pipeline.handle(this.types.product, id, { type: 'CreateProduct', product }, requestContext(req));
    return product;
  }

  async retrieve(req: ApiRequest): Promise<ProductObject> {
    const id = req.path.id ?? '';
    const state = await this.models.products.get(id);
    if (!state) throw notFound('product', id);
    return state;
  }

  async update(req: ApiRequest): Promise<ProductObject> {
    const id = req.path.id ?? '';
    rejectUnknown(req.params, [...PRODUCT_FIELDS, 'default_price', 'marketing_features', 'tax_details', 'package_dimensions']);
    const { metadataPatch, ...fields } = readProductFields(req.params, false);
    const defaultPrice = str(req.params, 'default_price');
    if (defaultPrice) {
      const price = await this.models.prices.get(defaultPrice);
      if (!price || price.product !== id) throw notFound('price', defaultPrice, 'default_price');
    }
    const now = this.time.systemNow();
    const { state } = await this.pipeline.run(async (uow) => {
      if (!(await uow.load(this.types.product, id))) throw notFound('product', id);
      return uow.executeLoaded(this.types.product, id, {
        type: 'UpdateProduct',
        now,
        fields,
        metadata: metadataPatch,
        ...(defaultPrice !== undefined ? { default_price: defaultPrice } : {}),
      });
    }, requestContext(req));
    return state!;
  }

  async list(req: ApiRequest) {
    const p = req.params;
    rejectUnknown(p, [...LIST_PARAM_KEYS, 'active', 'ids', 'created']);
    const active = bool(p, 'active');
    const ids = strArr(p, 'ids');
    const created = parseRange(p, 'created');
    return this.index.list(
      { ...(active != null ? { active } : {}), ...(ids ? { ids } : {}), ...(created ? { created } : {}) },
      parseListParams(p),
    );
  }
}
