/**
 * The listing machine's view of Amazon: maps our domain drafts/changes to Listings Items API
 * requests and Amazon's answers back to SubmitResult / ListingReadback.
 *
 * ACCEPTED is returned as `accepted`, never `applied`: Amazon applies changes minutes later and may
 * still raise issues (§4 F7); the machine confirms by `read()`.
 */
import type {
  CallPriority,
  ListingChange,
  ListingDraft,
  ListingIssue,
  ListingReadback,
  SubmitResult,
} from '../../domain/types.js';
import type { CallOptions, ListingAdapter } from '../types.js';
import type { ListingsFeedQueue } from './bulk.js';
import type { ListingsItemsApi } from './client.js';
import type {
  AmazonIssue,
  GetIncludedData,
  Item,
  ListingAttributes,
  ListingsItemPutRequest,
  ListingsItemSubmissionResponse,
  PatchOperation,
} from './types.js';

export type AmazonDelistMode = 'zero-stock' | 'delete';

export interface AmazonListingAdapterOptions {
  client: ListingsItemsApi;
  /**
   * How `delist()` stops selling. 'zero-stock' (default, reference §1.5): PATCH quantity 0, the
   * listing stays and is reversible by a stock update. 'delete': DELETE the SKU (a re-list needs
   * the full `upsert`).
   */
  delistMode?: AmazonDelistMode;
  /** Text attributes are tagged with this language. Default 'en_IN'. */
  languageTag?: string;
  /** Merchant-fulfilled channel. Default 'DEFAULT'. */
  fulfillmentChannelCode?: string;
  currency?: string;
  /**
   * Maps one `product.attributes` entry to an Amazon attribute, or null to drop it. Default:
   * camelCase → snake_case, strings get `language_tag`, numbers/booleans are sent as `value`.
   */
  mapProductAttribute?: (key: string, value: unknown) => [string, Record<string, unknown>[]] | null;
  /**
   * The bulk path: once `threshold` price/stock changes wait for a PATCH, further ones (except
   * stock to zero, which keeps its priority lane) go into JSON_LISTINGS_FEED documents instead.
   */
  bulk?: { queue: ListingsFeedQueue; threshold: number };
}

const READ_INCLUDED_DATA: GetIncludedData[] = [
  'summaries',
  'attributes',
  'issues',
  'offers',
  'fulfillmentAvailability',
];

/** Attributes the adapter owns; product.attributes cannot override them. */
const OWN_ATTRIBUTES = new Set([
  'item_name',
  'brand',
  'externally_assigned_product_identifier',
  'condition_type',
  'list_price',
  'purchasable_offer',
  'fulfillment_availability',
]);

export class AmazonListingAdapter implements ListingAdapter {
  readonly marketplace = 'amazon' as const;
  readonly delistMode: AmazonDelistMode;
  private readonly client: ListingsItemsApi;
  private readonly marketplaceId: string;
  private readonly languageTag: string;
  private readonly channel: string;
  private readonly currency: string;
  private readonly mapProductAttribute: NonNullable<AmazonListingAdapterOptions['mapProductAttribute']>;
  private readonly bulk: AmazonListingAdapterOptions['bulk'];
  /** Price/stock PATCHes asked for and not yet answered (the backlog that turns on the bulk path). */
  private patchesWaiting = 0;

  constructor(opts: AmazonListingAdapterOptions) {
    this.client = opts.client;
    this.marketplaceId = opts.client.marketplaceId;
    this.delistMode = opts.delistMode ?? 'zero-stock';
    this.languageTag = opts.languageTag ?? 'en_IN';
    this.channel = opts.fulfillmentChannelCode ?? 'DEFAULT';
    this.currency = opts.currency ?? 'INR';
    this.mapProductAttribute = opts.mapProductAttribute ?? ((k, v) => this.defaultAttribute(k, v));
    this.bulk = opts.bulk;
  }

  /** Price/stock PATCHes waiting for an answer now (metrics, tests). */
  get patchBacklog(): number {
    return this.patchesWaiting;
  }

  /** The PUT body for a draft (exposed for contract tests). */
  putBody(draft: ListingDraft): ListingsItemPutRequest {
    const attributes: ListingAttributes = {};
    for (const [key, value] of Object.entries(draft.product.attributes)) {
      const mapped = this.mapProductAttribute(key, value);
      if (mapped && !OWN_ATTRIBUTES.has(mapped[0])) attributes[mapped[0]] = mapped[1];
    }
    Object.assign(attributes, {
      item_name: [this.text(draft.product.title)],
      brand: [this.text(draft.product.brand)],
      externally_assigned_product_identifier: [
        { type: 'ean', value: draft.product.ean, marketplace_id: this.marketplaceId },
      ],
      condition_type: [{ value: 'new_new', marketplace_id: this.marketplaceId }],
      list_price: this.listPrice(draft.mrp),
      purchasable_offer: this.purchasableOffer(draft.price),
      fulfillment_availability: this.fulfillment(draft.quantity),
    });
    return { productType: draft.product.productType, requirements: 'LISTING', attributes };
  }

  /**
   * The PATCH operations for a change, only for the fields present: price first, then stock
   * (§4 F8: Amazon may apply quantity before price; sending price first is the best we can do in
   * one request — when raising stock from zero with a new price, the machine can confirm the
   * price before it sends the stock).
   */
  patches(change: ListingChange): PatchOperation[] {
    const patches: PatchOperation[] = [];
    if (change.price !== undefined) {
      patches.push({
        op: 'replace',
        path: '/attributes/purchasable_offer',
        value: this.purchasableOffer(change.price),
      });
    }
    if (change.mrp !== undefined) {
      patches.push({ op: 'replace', path: '/attributes/list_price', value: this.listPrice(change.mrp) });
    }
    if (change.quantity !== undefined) {
      patches.push({
        op: 'replace',
        path: '/attributes/fulfillment_availability',
        value: this.fulfillment(change.quantity),
      });
    }
    return patches;
  }

  async upsert(draft: ListingDraft, opts: CallOptions = {}): Promise<SubmitResult> {
    const res = await this.client.putListingsItem(draft.sku, this.putBody(draft), {
      priority: opts.priority ?? 'price',
      signal: opts.signal,
    });
    return toSubmitResult(res);
  }

  async update(change: ListingChange, opts: CallOptions = {}): Promise<SubmitResult> {
    const patches = this.patches(change);
    if (patches.length === 0) return { status: 'applied' };
    const priority = opts.priority ?? lane(change);
    if (this.bulk && this.bulk.threshold > 0 && priority !== 'urgent') {
      if (this.patchesWaiting >= this.bulk.threshold) {
        return this.bulk.queue.submit({ sku: change.sku, patches }, opts.signal);
      }
    }
    this.patchesWaiting++;
    try {
      const res = await this.client.patchListingsItem(
        change.sku,
        { productType: 'PRODUCT', patches },
        { priority, signal: opts.signal },
      );
      return toSubmitResult(res);
    } finally {
      this.patchesWaiting--;
    }
  }

  async delist(sku: string, opts: CallOptions = {}): Promise<SubmitResult> {
    const callOpts = { priority: opts.priority ?? ('urgent' as const), signal: opts.signal };
    if (this.delistMode === 'delete') {
      return toSubmitResult(await this.client.deleteListingsItem(sku, callOpts));
    }
    const patches = this.patches({ sku, quantity: 0 });
    return toSubmitResult(
      await this.client.patchListingsItem(sku, { productType: 'PRODUCT', patches }, callOpts),
    );
  }

  async read(sku: string, opts: CallOptions = {}): Promise<ListingReadback> {
    const item = await this.client.getListingsItem(sku, READ_INCLUDED_DATA, {
      priority: opts.priority ?? 'read',
      signal: opts.signal,
    });
    if (item === null) return { found: false };
    return this.readback(item);
  }

  isDelisted(rb: ListingReadback): boolean {
    if (!rb.found) return true;
    if (this.delistMode === 'delete') return false;
    // Zero-stock delist: confirmed by the quantity we sent, not by `buyable`, which can also be
    // false for unrelated reasons (suppression) before our PATCH is applied.
    if (rb.quantity !== undefined) return rb.quantity === 0;
    return rb.buyable === false;
  }

  /** What an Item shows for our marketplace (exposed for contract tests). */
  readback(item: Item): ListingReadback {
    const rb: ListingReadback = { found: true };
    const price = this.priceOf(item);
    if (price !== undefined) rb.price = price;
    const quantity = this.quantityOf(item);
    if (quantity !== undefined) rb.quantity = quantity;
    const summary = item.summaries.find((s) => s.marketplaceId === this.marketplaceId);
    rb.buyable = (summary?.status.includes('BUYABLE') ?? false) && (quantity ?? 1) > 0;
    const issues = item.issues
      .filter((i) => !i.marketplaceIds || i.marketplaceIds.includes(this.marketplaceId))
      .map(toListingIssue);
    if (issues.length > 0) rb.issues = issues;
    return rb;
  }

  private priceOf(item: Item): number | undefined {
    const offers = instances(item.attributes.purchasable_offer);
    const offer =
      offers.find((o) => o.marketplace_id === this.marketplaceId && (o.audience ?? 'ALL') === 'ALL') ??
      offers.find((o) => o.marketplace_id === undefined || o.marketplace_id === this.marketplaceId);
    const ourPrice = instances(offer?.our_price)[0];
    const schedule = instances(ourPrice?.schedule)[0];
    const fromAttributes = toNumber(schedule?.value_with_tax);
    if (fromAttributes !== undefined) return fromAttributes;
    const b2c = item.offers.find(
      (o) => o.marketplaceId === this.marketplaceId && (o.offerType ?? 'B2C') === 'B2C',
    );
    return toNumber(b2c?.price?.amount);
  }

  private quantityOf(item: Item): number | undefined {
    const fa = item.fulfillmentAvailability.find((f) => f.fulfillmentChannelCode === this.channel);
    if (fa?.quantity !== undefined) return fa.quantity;
    const attr = instances(item.attributes.fulfillment_availability).find(
      (f) => f.fulfillment_channel_code === this.channel,
    );
    return toNumber(attr?.quantity);
  }

  private text(value: string): Record<string, unknown> {
    return { value, language_tag: this.languageTag, marketplace_id: this.marketplaceId };
  }

  private purchasableOffer(price: number): Record<string, unknown>[] {
    return [
      {
        marketplace_id: this.marketplaceId,
        currency: this.currency,
        audience: 'ALL',
        our_price: [{ schedule: [{ value_with_tax: money(price) }] }],
      },
    ];
  }

  /** MRP. The attribute for amazon.in product types is unconfirmed (reference §5 Q1). */
  private listPrice(mrp: number): Record<string, unknown>[] {
    return [{ marketplace_id: this.marketplaceId, currency: this.currency, value_with_tax: money(mrp) }];
  }

  /** No marketplace_id: the official examples send fulfillment_availability per channel only. */
  private fulfillment(quantity: number): Record<string, unknown>[] {
    return [{ fulfillment_channel_code: this.channel, quantity }];
  }

  private defaultAttribute(key: string, value: unknown): [string, Record<string, unknown>[]] | null {
    const name = key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
    if (typeof value === 'string') return [name, [this.text(value)]];
    if (typeof value === 'number' || typeof value === 'boolean') {
      return [name, [{ value, marketplace_id: this.marketplaceId }]];
    }
    return null;
  }
}

function lane(change: ListingChange): CallPriority {
  if (change.quantity === 0) return 'urgent';
  if (change.quantity !== undefined) return 'stock';
  return 'price';
}

export function toSubmitResult(res: ListingsItemSubmissionResponse): SubmitResult {
  const issues = res.issues.map(toListingIssue);
  switch (res.status) {
    case 'ACCEPTED':
      return issues.length > 0
        ? { status: 'accepted', submissionId: res.submissionId, issues }
        : { status: 'accepted', submissionId: res.submissionId };
    case 'INVALID':
      return { status: 'invalid', issues };
    case 'VALID':
      // Only in VALIDATION_PREVIEW mode, which the adapter never uses: nothing was submitted.
      return {
        status: 'invalid',
        issues: [
          ...issues,
          { code: 'VALIDATION_PREVIEW', message: 'validated only, nothing submitted', severity: 'ERROR' },
        ],
      };
    default: {
      const never: never = res.status;
      throw new Error(`unknown submission status ${String(never)}`);
    }
  }
}

function toListingIssue(i: AmazonIssue): ListingIssue {
  const issue: ListingIssue = { code: i.code, message: i.message, severity: i.severity };
  if (i.attributeNames && i.attributeNames.length > 0) issue.attributeNames = i.attributeNames;
  return issue;
}

/** Amazon may send a decimal as number or string (§4 F7). */
function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

function instances(v: unknown): Record<string, unknown>[] {
  return Array.isArray(v)
    ? v.filter((x): x is Record<string, unknown> => typeof x === 'object' && x !== null)
    : [];
}

function money(n: number): number {
  return Math.round(n * 100) / 100;
}
