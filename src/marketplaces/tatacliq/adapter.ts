/**
 * The listing machine's view of Tata CliQ.
 *
 * CliQ has no public "create listing" call: listings are created in the CliQ seller portal /
 * catalogue. So [ASSUMED] `upsert` is a price update plus an inventory update of a SKU that must
 * already exist in the CliQ catalogue; CliQ's FAILURE for an unknown SKU becomes `invalid` with
 * the issue SKU_NOT_IN_CATALOGUE. `delist` sets inventory 0 at every configured SlaveID.
 *
 * Stock is per seller location (SlaveID): `ListingChange.locations` are mapped OMS location →
 * SlaveID; a total without breakdown goes to `defaultSlaveId`.
 *
 * Concurrent `update()` calls (many listing actors at once) are batched per operation for
 * `batchWindowMs`, up to the client's batch cap; each caller gets its own SKU's result: SUCCESS →
 * `applied`, FAILURE → `invalid` with CliQ's message, no result for it → `accepted` (confirm by
 * read-back). A transport error (429, 5xx, network, 401) rejects every caller of the batch.
 *
 * When price and stock change together, price goes first (a restock must not sell at the old
 * price, §4 F8), except when the stock goes to zero, which goes first. If the first part is
 * rejected the second is not sent.
 */
import type { Clock } from '../../core/clock.js';
import { systemClock } from '../../core/clock.js';
import { TerminalError } from '../../core/errors.js';
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
import type { InventoryItem, ItemOutcome, PriceItem, TataCliqListingApi } from './client.js';
import type { TataCliqListing } from './types.js';

export interface TataCliqListingAdapterOptions {
  client: TataCliqListingApi;
  /** OMS location id → CliQ SlaveID (a Map, or a record as parsed from TATACLIQ_SLAVE_IDS). */
  slaveIds: ReadonlyMap<string, string> | Readonly<Record<string, string>>;
  /**
   * SlaveID that receives a total quantity without per-location breakdown. Default: the only
   * SlaveID when `slaveIds` has exactly one; otherwise such changes are `invalid`.
   */
  defaultSlaveId?: string;
  /** How long an update waits for others to share its call. Default 25 ms. */
  batchWindowMs?: number;
  /** Items per call. Default (and at most) the client's `maxBatchItems`. */
  maxBatchItems?: number;
  /**
   * A location in `ListingChange.locations` that has no SlaveID: 'ignore' (default: the store does
   * not sell on CliQ; a WARNING issue says so) or 'reject' (`invalid`, nothing sent).
   */
  unmappedLocation?: 'ignore' | 'reject';
  clock?: Clock;
}

export const TATACLIQ_ISSUE_CODES = {
  /** The SKU is not in the CliQ catalogue: create it in the seller portal (no API for that). */
  notInCatalogue: 'SKU_NOT_IN_CATALOGUE',
  /** CliQ rejected the item; the message is CliQ's. */
  itemFailure: 'TATACLIQ_ITEM_FAILURE',
  unmappedLocation: 'UNMAPPED_LOCATION',
  noDefaultSlave: 'NO_DEFAULT_SLAVE_ID',
  invalidValue: 'INVALID_VALUE',
  /** The earlier part of a price+stock change was applied, the later part rejected. */
  partiallyApplied: 'PARTIALLY_APPLIED',
} as const;

/** Statuses that make a listing sellable when it has stock (ASSUMED values). */
const SELLABLE_STATUS = /^(active|live|approved|enabled)$/i;
const UNKNOWN_SKU = /not (found|exist)|unknown sku|invalid sku|no such sku|does ?n[o']t exist/i;

type Part = { kind: 'price'; item: PriceItem } | { kind: 'inventory'; items: InventoryItem[] };

export class TataCliqListingAdapter implements ListingAdapter {
  readonly marketplace = 'tatacliq' as const;
  readonly slaveIds: ReadonlyMap<string, string>;
  readonly defaultSlaveId: string | undefined;
  private readonly client: TataCliqListingApi;
  private readonly unmapped: 'ignore' | 'reject';
  private readonly inventory: MicroBatcher<InventoryItem, ItemOutcome>;
  private readonly prices: MicroBatcher<PriceItem, ItemOutcome>;

  constructor(opts: TataCliqListingAdapterOptions) {
    this.client = opts.client;
    this.slaveIds =
      opts.slaveIds instanceof Map ? new Map(opts.slaveIds) : new Map(Object.entries(opts.slaveIds));
    const distinct = [...new Set(this.slaveIds.values())];
    this.defaultSlaveId = opts.defaultSlaveId ?? (distinct.length === 1 ? distinct[0] : undefined);
    if (this.allSlaveIds().length === 0) {
      throw new RangeError('tatacliq: configure at least one SlaveID (slaveIds or defaultSlaveId)');
    }
    this.unmapped = opts.unmappedLocation ?? 'ignore';
    const clock = opts.clock ?? systemClock;
    const windowMs = opts.batchWindowMs ?? 25;
    const maxItems = Math.min(opts.maxBatchItems ?? opts.client.maxBatchItems, opts.client.maxBatchItems);
    this.inventory = new MicroBatcher({
      name: 'tatacliq:updateInventory',
      maxItems,
      windowMs,
      clock,
      send: async (items, priority) => (await this.client.updateInventory(items, { priority })).items,
    });
    this.prices = new MicroBatcher({
      name: 'tatacliq:updatePrice',
      maxItems,
      windowMs,
      clock,
      send: async (items, priority) => (await this.client.updatePrice(items, { priority })).items,
    });
  }

  /** Every SlaveID the adapter writes to (delist zeroes all of them). */
  allSlaveIds(): string[] {
    const all = new Set(this.slaveIds.values());
    if (this.defaultSlaveId !== undefined) all.add(this.defaultSlaveId);
    return [...all];
  }

  /** ASSUMED: the SKU must already exist in the CliQ catalogue; only price and stock are sent. */
  upsert(draft: ListingDraft, opts: CallOptions = {}): Promise<SubmitResult> {
    return this.update(
      { sku: draft.sku, price: draft.price, mrp: draft.mrp, quantity: draft.quantity },
      opts,
    );
  }

  async update(change: ListingChange, opts: CallOptions = {}): Promise<SubmitResult> {
    const issues: ListingIssue[] = [];
    const invalid = validate(change);
    if (invalid.length > 0) return { status: 'invalid', issues: invalid };

    const parts: Part[] = [];
    if (change.price !== undefined || change.mrp !== undefined) {
      const item: PriceItem = { sku: change.sku };
      if (change.mrp !== undefined) item.mrp = change.mrp;
      if (change.price !== undefined) item.sellingPrice = change.price;
      parts.push({ kind: 'price', item });
    }
    const stock = this.inventoryItems(change);
    if ('invalid' in stock) return { status: 'invalid', issues: stock.invalid };
    issues.push(...stock.warnings);
    if (stock.items.length > 0) {
      const inv: Part = { kind: 'inventory', items: stock.items };
      if (stock.items.every((i) => i.inventory === 0)) parts.unshift(inv);
      else parts.push(inv);
    }

    let accepted = false;
    const done: string[] = [];
    for (const part of parts) {
      const outcomes = await this.send(part, opts);
      const result = toResult(change.sku, part.kind, outcomes);
      issues.push(...result.issues);
      if (result.status === 'invalid') {
        if (done.length > 0) {
          issues.push({
            code: TATACLIQ_ISSUE_CODES.partiallyApplied,
            message: `${done.join(' and ')} update was sent before the ${part.kind} update was rejected`,
            severity: 'INFO',
          });
        }
        return { status: 'invalid', issues };
      }
      if (result.status === 'accepted') accepted = true;
      done.push(part.kind);
    }
    const status = accepted ? 'accepted' : 'applied';
    return issues.length > 0 ? { status, issues } : { status };
  }

  /** Inventory 0 at every configured SlaveID. */
  async delist(sku: string, opts: CallOptions = {}): Promise<SubmitResult> {
    const items = this.allSlaveIds().map((slaveId) => ({ sku, slaveId, inventory: 0 }));
    const outcomes = await this.send(
      { kind: 'inventory', items },
      { ...opts, priority: opts.priority ?? 'urgent' },
    );
    const result = toResult(sku, 'inventory', outcomes);
    if (result.status === 'invalid') return { status: 'invalid', issues: result.issues };
    return result.issues.length > 0
      ? { status: result.status, issues: result.issues }
      : { status: result.status };
  }

  async read(sku: string, opts: CallOptions = {}): Promise<ListingReadback> {
    const listing = await this.client.getListing(sku, {
      priority: opts.priority ?? 'read',
      signal: opts.signal,
    });
    if (listing === null) return { found: false };
    return readback(listing);
  }

  /** Delisted = no stock left at any SlaveID (or CliQ does not know the SKU). */
  isDelisted(rb: ListingReadback): boolean {
    if (!rb.found) return true;
    if (rb.quantity !== undefined) return rb.quantity === 0;
    return rb.buyable === false;
  }

  /** Sends the open batches now and waits for their answers (shutdown, tests). */
  async flush(): Promise<void> {
    await Promise.all([this.inventory.flush(), this.prices.flush()]);
  }

  // ---------------------------------------------------------------------------------------------

  private send(part: Part, opts: CallOptions): Promise<ItemOutcome[]> {
    const lane: CallPriority =
      opts.priority ??
      (part.kind === 'price' ? 'price' : part.items.every((i) => i.inventory === 0) ? 'urgent' : 'stock');
    const priority = CALL_PRIORITY[lane];
    return part.kind === 'price'
      ? this.prices.submit([part.item.sku], [part.item], priority, opts.signal)
      : this.inventory.submit(
          part.items.map((i) => i.sku),
          part.items,
          priority,
          opts.signal,
        );
  }

  private inventoryItems(
    change: ListingChange,
  ): { items: InventoryItem[]; warnings: ListingIssue[] } | { invalid: ListingIssue[] } {
    const { sku } = change;
    if (change.locations !== undefined && change.locations.length > 0) {
      const bySlave = new Map<string, number>();
      const warnings: ListingIssue[] = [];
      for (const l of change.locations) {
        const slaveId = this.slaveIds.get(l.locationId);
        if (slaveId === undefined) {
          const issue: ListingIssue = {
            code: TATACLIQ_ISSUE_CODES.unmappedLocation,
            message: `OMS location ${JSON.stringify(l.locationId)} has no Tata CliQ SlaveID (TATACLIQ_SLAVE_IDS); its stock was not sent`,
            severity: this.unmapped === 'reject' ? 'ERROR' : 'WARNING',
            attributeNames: ['inventory'],
          };
          if (this.unmapped === 'reject') return { invalid: [issue] };
          warnings.push(issue);
          continue;
        }
        // Several OMS locations may share one SlaveID: their stock adds up.
        bySlave.set(slaveId, (bySlave.get(slaveId) ?? 0) + l.quantity);
      }
      // The breakdown is the whole picture: a configured SlaveID it does not mention holds nothing.
      for (const slaveId of this.slaveIds.values()) if (!bySlave.has(slaveId)) bySlave.set(slaveId, 0);
      const items = [...bySlave].map(([slaveId, inventory]) => ({ sku, slaveId, inventory }));
      return { items, warnings };
    }
    if (change.quantity === undefined) return { items: [], warnings: [] };
    if (this.defaultSlaveId === undefined) {
      return {
        invalid: [
          {
            code: TATACLIQ_ISSUE_CODES.noDefaultSlave,
            message:
              'a total quantity without locations needs a default SlaveID (TATACLIQ_DEFAULT_SLAVE_ID); nothing sent',
            severity: 'ERROR',
            attributeNames: ['inventory'],
          },
        ],
      };
    }
    return { items: [{ sku, slaveId: this.defaultSlaveId, inventory: change.quantity }], warnings: [] };
  }
}

function validate(change: ListingChange): ListingIssue[] {
  const issues: ListingIssue[] = [];
  const bad = (attribute: string, message: string) =>
    issues.push({
      code: TATACLIQ_ISSUE_CODES.invalidValue,
      message,
      severity: 'ERROR',
      attributeNames: [attribute],
    });
  if (change.sku === '') bad('sku', 'SKU must not be empty');
  if (change.price !== undefined && !(Number.isFinite(change.price) && change.price > 0)) {
    bad('price', `selling price must be > 0, got ${change.price}`);
  }
  if (change.mrp !== undefined && !(Number.isFinite(change.mrp) && change.mrp > 0)) {
    bad('mrp', `MRP must be > 0, got ${change.mrp}`);
  }
  if (change.price !== undefined && change.mrp !== undefined && change.price > change.mrp) {
    bad('price', `selling price ${change.price} is above MRP ${change.mrp}`);
  }
  const quantities = [
    ...(change.quantity !== undefined ? [change.quantity] : []),
    ...(change.locations ?? []).map((l) => l.quantity),
  ];
  for (const q of quantities) {
    if (!Number.isSafeInteger(q) || q < 0) bad('inventory', `quantity must be a whole number >= 0, got ${q}`);
  }
  return issues;
}

/** One SKU's outcomes of one part → a result (exposed shape for tests via the adapter). */
function toResult(
  sku: string,
  kind: Part['kind'],
  outcomes: ItemOutcome[],
): { status: 'applied' | 'accepted' | 'invalid'; issues: ListingIssue[] } {
  const issues: ListingIssue[] = [];
  let failed = false;
  let unconfirmed = false;
  for (const o of outcomes) {
    switch (o.status) {
      case 'SUCCESS':
        break;
      case 'WARNING':
        issues.push(itemIssue(sku, kind, o, 'WARNING'));
        break;
      case 'FAILURE':
        failed = true;
        issues.push(itemIssue(sku, kind, o, 'ERROR'));
        break;
      case 'UNCONFIRMED':
        unconfirmed = true;
        break;
      default: {
        const never: never = o.status;
        throw new TerminalError(`unknown item status ${String(never)}`);
      }
    }
  }
  return { status: failed ? 'invalid' : unconfirmed ? 'accepted' : 'applied', issues };
}

function itemIssue(
  sku: string,
  kind: Part['kind'],
  o: ItemOutcome,
  severity: ListingIssue['severity'],
): ListingIssue {
  const where = o.slaveId !== undefined ? ` (SlaveID ${o.slaveId})` : '';
  const said = o.errorMessage ?? o.errorCode ?? 'no reason given';
  const attributeNames = [kind === 'price' ? 'price' : 'inventory'];
  if (severity === 'ERROR' && (o.errorCode === 'SKU_NOT_FOUND' || UNKNOWN_SKU.test(o.errorMessage ?? ''))) {
    return {
      code: TATACLIQ_ISSUE_CODES.notInCatalogue,
      message: `SKU ${JSON.stringify(sku)} is not in the Tata CliQ catalogue${where}: ${said}. CliQ listings are created in the seller portal/catalogue (no API); add the SKU there, then price and stock can be sent.`,
      severity,
      attributeNames,
    };
  }
  return {
    code: o.errorCode ?? TATACLIQ_ISSUE_CODES.itemFailure,
    message: `Tata CliQ rejected the ${kind} update${where}: ${said}`,
    severity,
    attributeNames,
  };
}

/** What a listing read shows. */
export function readback(listing: TataCliqListing): ListingReadback {
  const rb: ListingReadback = { found: true };
  if (listing.SellingPrice !== undefined) rb.price = listing.SellingPrice;
  const quantity = listing.Inventory.reduce((sum, i) => sum + Math.max(0, i.Inventory), 0);
  rb.quantity = quantity;
  const sellable = listing.Status === undefined || SELLABLE_STATUS.test(listing.Status.trim());
  rb.buyable = sellable && quantity > 0;
  if (!sellable) {
    rb.issues = [
      {
        code: `STATUS_${listing.Status!.trim().toUpperCase().replace(/\W+/g, '_')}`,
        message: `Tata CliQ shows the listing as ${listing.Status}`,
        severity: 'INFO',
      },
    ];
  }
  return rb;
}
