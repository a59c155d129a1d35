/**
 * The listing machine's view of Flipkart: maps our drafts/changes to Listings v3 calls and the
 * per-SKU answers back to SubmitResult / ListingReadback.
 *
 * Batching: one listing actor asks for one SKU at a time, but Flipkart takes 10 SKUs per call and
 * publishes no rate limits, so calls are precious. Requests of all actors are collected per
 * operation (price, inventory, listing status, create, read) for up to `batchWindowMs` or 10 SKUs
 * and sent as one call; each caller gets its own SKU's result. A per-SKU FAILURE is that caller's
 * `invalid` only (§4 F15); a failed call (429, 5xx, network, 4xx) rejects every caller of the
 * batch with the classified error.
 *
 * Flipkart applies listing updates synchronously: SUCCESS/WARNING is returned as `applied`.
 *
 * Stock is per Flipkart location. A total without a breakdown goes to `defaultLocation` and the
 * other configured Flipkart locations are set to 0, so the Flipkart total equals the OMS total. A
 * breakdown is mapped through `locations`; configured Flipkart locations it does not mention get 0;
 * OMS locations with no mapping are not sellable on Flipkart and are skipped (reported as a
 * WARNING issue).
 */
import type { Clock } from '../../core/clock.js';
import { systemClock } from '../../core/clock.js';
import { classify, RetryableError } from '../../core/errors.js';
import type {
  CallPriority,
  ListingChange,
  ListingDraft,
  ListingIssue,
  ListingReadback,
  SubmitResult,
} from '../../domain/types.js';
import { MicroBatcher } from '../batcher.js';
import { CALL_PRIORITY } from '../limits.js';
import type { CallOptions, ListingAdapter } from '../types.js';
import type { FlipkartListingsApi } from './client.js';
import {
  type InventoryItem,
  type ListingDetail,
  type ListingItem,
  type LocationInventory,
  MAX_SKUS_PER_CALL,
  type PriceItem,
  type SkuResult,
} from './types.js';

export interface FlipkartListingAdapterOptions {
  client: FlipkartListingsApi;
  /** OMS location id (store/DC) → Flipkart location id. */
  locations?: Readonly<Record<string, string>>;
  /** Flipkart location id that receives a total quantity given without a breakdown. */
  defaultLocation: string;
  /** How long a batch waits for more SKUs after its first one. Default 25 ms. */
  batchWindowMs?: number;
  /** SKUs per call, 1–10. Default 10 (Flipkart's cap). */
  maxBatchSize?: number;
  /** Time source of the batch window. Default the system clock. */
  clock?: Clock;
  /**
   * Further listing fields for `upsert` (Flipkart's model wants `tax{hsn, tax_code}`,
   * `fulfillment_profile`, `fulfillment{dispatch_sla, shipping_provider, procurement_type}`,
   * `packages`, …: retailer- and category-specific, reference §2.4). Default none.
   */
  listingFields?: (draft: ListingDraft) => Record<string, unknown>;
}

export const FLIPKART_ISSUE_CODES = {
  locationNotMapped: 'FLIPKART_LOCATION_NOT_MAPPED',
  invalidValue: 'FLIPKART_INVALID_VALUE',
  failedWithoutErrors: 'FLIPKART_FAILURE',
} as const;

/** Marks a SKU the answer has no result for (its outcome is unknown). */
const NO_RESULT = Symbol('no result');

/** A batcher whose call answers per SKU (a map); see `skuBatcher`. */
type SkuBatcher<I, R> = MicroBatcher<I, R | typeof NO_RESULT>;

type Batchers = {
  updatePrice: SkuBatcher<PriceItem, SkuResult>;
  updateInventory: SkuBatcher<InventoryItem, SkuResult>;
  updateListing: SkuBatcher<ListingItem, SkuResult>;
  createListing: SkuBatcher<ListingItem, SkuResult>;
  getListings: SkuBatcher<string, ListingDetail | null>;
};

export class FlipkartListingAdapter implements ListingAdapter {
  readonly marketplace = 'flipkart' as const;
  private readonly client: FlipkartListingsApi;
  private readonly locationMap: ReadonlyMap<string, string>;
  private readonly defaultLocation: string;
  /** Every configured Flipkart location, the default first. */
  private readonly flipkartLocations: readonly string[];
  private readonly listingFields: (draft: ListingDraft) => Record<string, unknown>;
  private readonly batchers: Batchers;

  constructor(opts: FlipkartListingAdapterOptions) {
    this.client = opts.client;
    this.locationMap = new Map(Object.entries(opts.locations ?? {}));
    this.defaultLocation = opts.defaultLocation;
    this.flipkartLocations = [...new Set([opts.defaultLocation, ...this.locationMap.values()])];
    this.listingFields = opts.listingFields ?? (() => ({}));
    const maxItems = Math.max(
      1,
      Math.min(MAX_SKUS_PER_CALL, Math.floor(opts.maxBatchSize ?? MAX_SKUS_PER_CALL)),
    );
    const b = { clock: opts.clock ?? systemClock, windowMs: opts.batchWindowMs ?? 25, maxItems };
    const c = this.client;
    const bySku = (item: { sku: string }) => item.sku;
    this.batchers = {
      updatePrice: skuBatcher(
        'flipkart:updatePrice',
        bySku,
        (items, priority) => c.updatePrice(items, { priority }),
        b,
      ),
      updateInventory: skuBatcher(
        'flipkart:updateInventory',
        bySku,
        (items, priority) => c.updateInventory(items, { priority }),
        b,
      ),
      updateListing: skuBatcher(
        'flipkart:updateListing',
        bySku,
        (items, priority) => c.updateListing(items, { priority }),
        b,
      ),
      createListing: skuBatcher(
        'flipkart:createListing',
        bySku,
        (items, priority) => c.createListing(items, { priority }),
        b,
      ),
      getListings: skuBatcher(
        'flipkart:getListings',
        (sku) => sku,
        (skus, priority) => this.lookup(skus, priority),
        b,
      ),
    };
  }

  /** Batch calls made per operation so far (metrics, tests). */
  batchCalls(): Record<keyof Batchers, number> {
    const b = this.batchers;
    return {
      updatePrice: b.updatePrice.callCount,
      updateInventory: b.updateInventory.callCount,
      updateListing: b.updateListing.callCount,
      createListing: b.createListing.callCount,
      getListings: b.getListings.callCount,
    };
  }

  /** Sends every waiting batch now and waits for the answers (shutdown). */
  async flush(): Promise<void> {
    await Promise.all(Object.values(this.batchers).map((b) => b.flush()));
  }

  /** Create or overwrite (Flipkart's create overwrites an existing SKU, so it is idempotent). */
  async upsert(draft: ListingDraft, opts: CallOptions = {}): Promise<SubmitResult> {
    const bad = [
      ...checkMoney('price', draft.price, true),
      ...checkMoney('mrp', draft.mrp, false),
      ...checkCount('quantity', draft.quantity),
    ];
    if (bad.length > 0) return { status: 'invalid', issues: bad };
    const item: ListingItem = {
      sku: draft.sku,
      sellingPrice: draft.price,
      mrp: draft.mrp,
      listingStatus: 'ACTIVE',
      locations: this.totalAt(draft.quantity),
      fields: this.listingFields(draft),
    };
    const priority = opts.priority ?? (draft.quantity === 0 ? 'urgent' : 'stock');
    const result = await submitSku(this.batchers.createListing, draft.sku, item, num(priority), opts.signal);
    return toSubmitResult(result);
  }

  /**
   * Price and stock are separate Flipkart calls. Both present: price first, so restocked units are
   * never sold at the old price (§4 F8); a price FAILURE then skips the stock call. Exception:
   * stock to zero goes first, so stopping sales never waits on (or fails with) a price.
   */
  async update(change: ListingChange, opts: CallOptions = {}): Promise<SubmitResult> {
    const hasPrice = change.price !== undefined || change.mrp !== undefined;
    const hasStock = change.quantity !== undefined || change.locations !== undefined;
    if (!hasPrice && !hasStock) return { status: 'applied' };
    const bad = [
      ...(change.price !== undefined ? checkMoney('price', change.price, true) : []),
      ...(change.mrp !== undefined ? checkMoney('mrp', change.mrp, false) : []),
      ...(change.quantity !== undefined ? checkCount('quantity', change.quantity) : []),
      ...(change.locations ?? []).flatMap((l) => checkCount(`quantity at ${l.locationId}`, l.quantity)),
    ];
    if (bad.length > 0) return { status: 'invalid', issues: bad };

    const priority = num(opts.priority ?? lane(change));
    const price = async () => {
      const item: PriceItem = { sku: change.sku };
      if (change.price !== undefined) item.sellingPrice = change.price;
      if (change.mrp !== undefined) item.mrp = change.mrp;
      return toSubmitResult(
        await submitSku(this.batchers.updatePrice, change.sku, item, priority, opts.signal),
      );
    };
    const stock = async () => {
      const { locations, issues } = this.layout(change);
      const item: InventoryItem = { sku: change.sku, locations };
      const r = toSubmitResult(
        await submitSku(this.batchers.updateInventory, change.sku, item, priority, opts.signal),
      );
      return withIssues(r, issues);
    };
    const steps = !hasPrice
      ? [stock]
      : !hasStock
        ? [price]
        : isZero(change)
          ? [stock, price]
          : [price, stock];
    const issues: ListingIssue[] = [];
    for (const step of steps) {
      const r = await step();
      if (r.status === 'invalid') return { status: 'invalid', issues: [...issues, ...r.issues] };
      issues.push(...(r.issues ?? []));
    }
    return issues.length > 0 ? { status: 'applied', issues } : { status: 'applied' };
  }

  /** Inventory 0 at every configured location and listing_status INACTIVE (both sent). */
  async delist(sku: string, opts: CallOptions = {}): Promise<SubmitResult> {
    const priority = num(opts.priority ?? 'urgent');
    const locations = this.flipkartLocations.map((id) => ({ id, inventory: 0, status: 'ENABLED' as const }));
    const [stock, status] = await Promise.allSettled([
      submitSku(this.batchers.updateInventory, sku, { sku, locations }, priority, opts.signal),
      submitSku(this.batchers.updateListing, sku, { sku, listingStatus: 'INACTIVE' }, priority, opts.signal),
    ]);
    if (stock.status === 'rejected') throw stock.reason;
    if (status.status === 'rejected') throw status.reason;
    const results = [toSubmitResult(stock.value), toSubmitResult(status.value)];
    const issues = results.flatMap((r) => r.issues ?? []);
    if (results.some((r) => r.status === 'invalid')) return { status: 'invalid', issues };
    return issues.length > 0 ? { status: 'applied', issues } : { status: 'applied' };
  }

  async read(sku: string, opts: CallOptions = {}): Promise<ListingReadback> {
    const detail = await submitSku(
      this.batchers.getListings,
      sku,
      sku,
      num(opts.priority ?? 'read'),
      opts.signal,
    );
    return detail === null ? { found: false } : readback(detail);
  }

  isDelisted(rb: ListingReadback): boolean {
    return !rb.found || rb.buyable !== true;
  }

  /** The Flipkart locations and quantities a change sets (exposed for tests). */
  layout(change: ListingChange): { locations: LocationInventory[]; issues: ListingIssue[] } {
    if (change.locations === undefined) return { locations: this.totalAt(change.quantity ?? 0), issues: [] };
    const quantities = new Map(this.flipkartLocations.map((id) => [id, 0]));
    const unmapped = new Set<string>();
    for (const l of change.locations) {
      const id = this.locationMap.get(l.locationId);
      if (id === undefined) unmapped.add(l.locationId);
      else quantities.set(id, (quantities.get(id) ?? 0) + l.quantity);
    }
    const issues: ListingIssue[] = [...unmapped].map((id) => ({
      code: FLIPKART_ISSUE_CODES.locationNotMapped,
      message: `OMS location ${JSON.stringify(id)} has no Flipkart location (FLIPKART_LOCATIONS); its stock is not offered on Flipkart`,
      severity: 'WARNING',
    }));
    return {
      locations: [...quantities].map(([id, inventory]) => ({ id, inventory, status: 'ENABLED' })),
      issues,
    };
  }

  private totalAt(quantity: number): LocationInventory[] {
    return this.flipkartLocations.map((id) => ({
      id,
      inventory: id === this.defaultLocation ? quantity : 0,
      status: 'ENABLED',
    }));
  }

  /** One GET for the batch: unknown SKUs → null, SKUs missing from the answer → absent. */
  private async lookup(skus: string[], priority: number): Promise<Map<string, ListingDetail | null>> {
    const found = await this.client.getListings(skus, { priority });
    const out = new Map<string, ListingDetail | null>(found.available);
    for (const sku of [...found.unavailable, ...found.invalid]) if (!out.has(sku)) out.set(sku, null);
    return out;
  }
}

/**
 * A batcher for a Flipkart call that answers per SKU: a failed call rejects every caller with the
 * classified error; a SKU missing from the answer is NO_RESULT (see `submitSku`).
 */
function skuBatcher<I, R>(
  name: string,
  keyOf: (item: NoInfer<I>) => string,
  call: (items: I[], priority: number) => Promise<ReadonlyMap<string, R>>,
  b: { clock: Clock; windowMs: number; maxItems: number },
): SkuBatcher<I, R> {
  return new MicroBatcher({
    name,
    ...b,
    send: async (items, priority) => {
      let results: ReadonlyMap<string, R>;
      try {
        results = await call(items, priority);
      } catch (err) {
        throw classify(err);
      }
      return items.map((item) => {
        const key = keyOf(item);
        return results.has(key) ? (results.get(key) as R) : NO_RESULT;
      });
    },
  });
}

/** One SKU's result; a SKU the answer does not mention is a RetryableError (outcome unknown, the write is idempotent). */
async function submitSku<I, R>(
  batcher: SkuBatcher<I, R>,
  sku: string,
  item: I,
  priority: number,
  signal: AbortSignal | undefined,
): Promise<R> {
  const result = await batcher.submitOne(sku, item, priority, signal);
  if (result === NO_RESULT) {
    throw new RetryableError(
      `${batcher.name}: the answer has no result for SKU ${JSON.stringify(sku)} (outcome unknown)`,
    );
  }
  return result;
}

/** What a listing detail shows: selling price, sellable stock (ENABLED locations), buyable. */
export function readback(detail: ListingDetail): ListingReadback {
  const rb: ListingReadback = { found: true };
  const price = detail.price?.selling_price;
  if (price !== undefined) rb.price = price;
  const quantity = detail.locations
    .filter((l) => l.status === undefined || l.status.toUpperCase() === 'ENABLED')
    .reduce((sum, l) => sum + (l.inventory ?? 0), 0);
  rb.quantity = quantity;
  rb.buyable = detail.listing_status?.toUpperCase() === 'ACTIVE' && quantity > 0;
  return rb;
}

export function toSubmitResult(r: SkuResult): SubmitResult {
  const issues: ListingIssue[] = [
    ...r.errors.map((e) => ({
      code: e.code,
      message: e.path ? `${e.description} (${e.path})` : e.description,
      severity: e.severity,
    })),
    ...r.attribute_errors.map((e) => {
      const issue: ListingIssue = {
        code: e.code,
        message: e.path ? `${e.description} (${e.path})` : e.description,
        severity: e.severity,
      };
      if (e.attribute) issue.attributeNames = [e.attribute];
      return issue;
    }),
  ];
  switch (r.status) {
    case 'SUCCESS':
    case 'WARNING':
      return issues.length > 0 ? { status: 'applied', issues } : { status: 'applied' };
    case 'FAILURE':
      return {
        status: 'invalid',
        issues:
          issues.length > 0
            ? issues
            : [
                {
                  code: FLIPKART_ISSUE_CODES.failedWithoutErrors,
                  message: 'Flipkart answered FAILURE without errors',
                  severity: 'ERROR',
                },
              ],
      };
    default: {
      const never: never = r.status;
      throw new Error(`unknown Flipkart SKU status ${String(never)}`);
    }
  }
}

function withIssues(r: SubmitResult, extra: ListingIssue[]): SubmitResult {
  if (extra.length === 0) return r;
  return { ...r, issues: [...(r.issues ?? []), ...extra] } as SubmitResult;
}

function lane(change: ListingChange): CallPriority {
  if (isZero(change)) return 'urgent';
  if (change.quantity !== undefined || change.locations !== undefined) return 'stock';
  return 'price';
}

function isZero(change: ListingChange): boolean {
  if (change.locations !== undefined) return change.locations.every((l) => l.quantity === 0);
  return change.quantity === 0;
}

function num(p: CallPriority): number {
  return CALL_PRIORITY[p];
}

function checkMoney(name: string, v: number, positive: boolean): ListingIssue[] {
  if (Number.isFinite(v) && (positive ? v > 0 : v >= 0)) return [];
  return [
    {
      code: FLIPKART_ISSUE_CODES.invalidValue,
      message: `${name} must be a number ${positive ? '> 0' : '>= 0'}, got ${String(v)}`,
      severity: 'ERROR',
      attributeNames: [name === 'price' ? 'selling_price' : name],
    },
  ];
}

function checkCount(name: string, v: number): ListingIssue[] {
  if (Number.isInteger(v) && v >= 0) return [];
  return [
    {
      code: FLIPKART_ISSUE_CODES.invalidValue,
      message: `${name} must be a whole number >= 0, got ${String(v)}`,
      severity: 'ERROR',
      attributeNames: ['inventory'],
    },
  ];
}
