/**
 * Flipkart orders behind OrderSource / OrderActions (src/marketplaces/orders.ts), reference §2.5–2.7.
 *
 * Flipkart acts on shipments, marketbridge on orders: an order is every shipment holding one of
 * its items (orderId = Flipkart orderId; shipment ids, location and shipment type in `refs`).
 *
 * Polling (FlipkartOrderSource): one sweep = a fixed modified-date window [checkpoint − overlap,
 * now] searched per stream — preDispatch states, postDispatch states, then `type: cancelled` per
 * cancellation type (buyer, marketplace, seller) — sorted by modifiedDate ascending, following
 * `nextPageUrl` while `hasMore`. The overlap catches late-indexed shipments (§4 F11); the orders it
 * repeats, and pages repeating a shipment, are duplicates the poller dedupes. The checkpoint moves
 * to the window's end only when every stream is read. Each page's orders are completed with every
 * shipment of those orders (GET /v3/shipments?orderIds=…), so an order split over shipments or
 * pages is never reported half.
 *
 * Cursor (JSON, opaque to the poller):
 *   { "v": 1, "since": ISO,                          // checkpoint: end of the last whole sweep
 *     "sweep"?: { "from": ISO, "to": ISO,             // the window being read
 *                 "stream": number,                    // index in the stream list
 *                 "next"?: string } }                  // nextPageUrl of that stream, while paging
 */
import type { Clock } from '../../core/clock.js';
import { systemClock } from '../../core/clock.js';
import { RetryableError, TerminalError } from '../../core/errors.js';
import type {
  CancelRequest,
  MarketplaceOrder,
  OrderActionResult,
  OrderActions,
  OrderLine,
  OrderPage,
  OrderSource,
  OrderStatus,
  PollOptions,
  ShipRequest,
} from '../orders.js';
import type { CallOptions } from '../types.js';
import type { FlipkartCallOptions } from './client.js';
import type { FlipkartOrdersApi } from './orders-client.js';
import {
  type CancellationType,
  type CancelShipmentRequest,
  type FlipkartShipment,
  type LabelRequest,
  POST_DISPATCH_STATES,
  PRE_DISPATCH_STATES,
  type SellerCancelReason,
  type ShipmentFilter,
  type ShipmentPage,
  type ShipmentResults,
} from './orders-types.js';

// Mapping -----------------------------------------------------------------------------------------

const STATUS_RANK: Record<OrderStatus, number> = {
  pending: 0,
  unshipped: 1,
  packed: 2,
  shipped: 3,
  delivered: 4,
  cancelled: 5,
};

/** Flipkart's shipment / item state, normalised (a held shipment is `pending`). */
export function normaliseFlipkartStatus(state: string, hold = false): OrderStatus {
  switch (state) {
    case 'CANCELLED':
      return 'cancelled';
    case 'ON_HOLD':
      return 'pending';
    case 'APPROVED':
    case 'PACKING_IN_PROGRESS':
    case 'FORM_FAILED':
      return hold ? 'pending' : 'unshipped';
    case 'PACKED':
    case 'READY_TO_DISPATCH':
      return 'packed';
    case 'PICKUP_COMPLETE':
    case 'SHIPPED':
      return 'shipped';
    case 'DELIVERED':
    case 'RETURN_REQUESTED':
    case 'RETURNED':
    case 'COMPLETED':
      return 'delivered';
    default:
      return 'pending';
  }
}

/** Buyer cancellations read `cancellation_requested` (§2.6) unless the search said otherwise. */
function isBuyerCancel(reason: string | undefined): boolean {
  return reason !== undefined && /cancellation_requested|buyer|customer/i.test(reason);
}

function toIso(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  const t = Date.parse(value);
  return Number.isNaN(t) ? value : new Date(t).toISOString();
}

export interface MapHints {
  /** Order item ids known to be buyer cancellations (from a `buyerCancellation` search). */
  buyerCancelled?: ReadonlySet<string>;
  /** Order item ids known not to be buyer cancellations (marketplace / seller searches). */
  notBuyerCancelled?: ReadonlySet<string>;
}

/**
 * One order from its shipments (those holding none of its items are ignored); null when none do.
 * Status: `cancelled` when every line is, else the least advanced line's. Unit price = the item's
 * `priceComponents.sellingPrice` / quantity [ASSUMED: sellingPrice is for the item's quantity].
 */
export function toMarketplaceOrder(
  orderId: string,
  shipments: readonly FlipkartShipment[],
  hints: MapHints = {},
): MarketplaceOrder | null {
  const own = shipments
    .map((s) => ({ s, items: s.orderItems.filter((i) => i.orderId === orderId) }))
    .filter((x) => x.items.length > 0);
  if (own.length === 0) return null;
  const lines: OrderLine[] = [];
  let status: OrderStatus | null = null;
  let marketplaceStatus = 'CANCELLED';
  let purchasedAt: string | undefined;
  let updatedAt: string | undefined;
  let shipBy: string | undefined;
  let total = 0;
  let totalKnown = false;
  for (const { s, items } of own) {
    const updated = toIso(s.updatedAt);
    if (updated !== undefined && (updatedAt === undefined || updated > updatedAt)) updatedAt = updated;
    let live = false;
    for (const item of items) {
      const lineStatus = normaliseFlipkartStatus(item.status, s.hold === true);
      const line: OrderLine = {
        lineId: item.orderItemId,
        sku: item.sku,
        quantity: item.quantity,
        status: lineStatus,
      };
      const price = item.priceComponents;
      if (price?.sellingPrice !== undefined && item.quantity > 0) {
        line.unitPrice = Math.round((price.sellingPrice / item.quantity) * 100) / 100;
      }
      const lineTotal = price?.totalPrice ?? price?.sellingPrice;
      if (lineTotal !== undefined) {
        total += lineTotal;
        totalKnown = true;
      }
      if (item.title !== undefined) line.title = item.title;
      if (lineStatus === 'cancelled') {
        const reason = [item.cancellationReason, item.cancellationSubReason].filter(Boolean).join(': ');
        if (reason !== '') line.cancelReason = reason;
        const buyer = hints.buyerCancelled?.has(item.orderItemId)
          ? true
          : hints.notBuyerCancelled?.has(item.orderItemId)
            ? false
            : isBuyerCancel(item.cancellationReason);
        if (buyer) line.buyerCancelRequested = true;
      } else {
        live = true;
        if (status === null || STATUS_RANK[lineStatus] < STATUS_RANK[status]) {
          status = lineStatus;
          marketplaceStatus = s.hold === true && lineStatus === 'pending' ? 'ON_HOLD' : item.status;
        }
      }
      const ordered = toIso(item.orderDate);
      if (ordered !== undefined && (purchasedAt === undefined || ordered < purchasedAt))
        purchasedAt = ordered;
      lines.push(line);
    }
    const by = toIso(s.dispatchByDate);
    if (live && by !== undefined && (shipBy === undefined || by < shipBy)) shipBy = by;
  }
  purchasedAt ??= updatedAt ?? new Date(0).toISOString();
  const first = own[0]!.s;
  const refs: Record<string, string> = {
    shipmentIds: own.map((x) => x.s.shipmentId).join(','),
    shipmentId: first.shipmentId,
  };
  if (first.locationId !== undefined) refs.locationId = first.locationId;
  if (first.shipmentType !== undefined) refs.shipmentType = first.shipmentType;
  const trackingIds = own.map((x) => x.s.trackingId).filter((t): t is string => t !== undefined);
  if (trackingIds.length > 0) refs.trackingIds = trackingIds.join(',');
  const order: MarketplaceOrder = {
    marketplace: 'flipkart',
    orderId,
    status: status ?? 'cancelled',
    marketplaceStatus,
    purchasedAt,
    updatedAt: updatedAt ?? purchasedAt,
    currency: 'INR',
    lines,
    refs,
  };
  if (shipBy !== undefined) order.shipBy = shipBy;
  if (totalKnown) order.total = Math.round(total * 100) / 100;
  return order;
}

/** Orders of `orderIds` (in that order) from a set of shipments. */
export function groupOrders(
  orderIds: readonly string[],
  shipments: readonly FlipkartShipment[],
  hints: MapHints = {},
): MarketplaceOrder[] {
  const out: MarketplaceOrder[] = [];
  for (const id of new Set(orderIds)) {
    const order = toMarketplaceOrder(id, shipments, hints);
    if (order) out.push(order);
  }
  return out;
}

// Source ------------------------------------------------------------------------------------------

type Stream =
  | { type: 'preDispatch' | 'postDispatch'; states: string[] }
  | { type: 'cancelled'; cancellationType: CancellationType };

export interface FlipkartOrderSourceOptions {
  api: FlipkartOrdersApi;
  clock?: Clock;
  /** Each sweep starts this long before the previous sweep's end (late indexing, §4 F11). Default 10 min. */
  overlapMs?: number;
  /** Default 20 (the largest integrators use; the maximum is not documented). */
  pageSize?: number;
  /** Only this Flipkart location's shipments. Default: all. */
  locationId?: string;
  /** Cancelled searches to run. Default buyer, marketplace and seller cancellations. */
  cancellationTypes?: CancellationType[];
  /** Complete each page's orders with all their shipments (one GET per page). Default true. */
  completeOrders?: boolean;
}

interface SourceCursor {
  v: 1;
  since: string;
  sweep?: { from: string; to: string; stream: number; next?: string };
}

export class FlipkartOrderSource implements OrderSource {
  readonly marketplace = 'flipkart' as const;
  private readonly api: FlipkartOrdersApi;
  private readonly clock: Clock;
  private readonly overlapMs: number;
  private readonly pageSize: number;
  private readonly completeOrders: boolean;
  private readonly streams: Stream[];

  constructor(private readonly opts: FlipkartOrderSourceOptions) {
    this.api = opts.api;
    this.clock = opts.clock ?? systemClock;
    this.overlapMs = opts.overlapMs ?? 10 * 60_000;
    this.pageSize = opts.pageSize ?? 20;
    this.completeOrders = opts.completeOrders ?? true;
    const cancellationTypes = opts.cancellationTypes ?? [
      'buyerCancellation',
      'marketplaceCancellation',
      'sellerCancellation',
    ];
    this.streams = [
      { type: 'preDispatch', states: [...PRE_DISPATCH_STATES] },
      { type: 'postDispatch', states: [...POST_DISPATCH_STATES] },
      ...cancellationTypes.map((cancellationType) => ({ type: 'cancelled' as const, cancellationType })),
    ];
  }

  async poll(cursor: string | null, opts: PollOptions): Promise<OrderPage> {
    const callOpts: FlipkartCallOptions = { priority: 'read' };
    if (opts.signal) callOpts.signal = opts.signal;
    const state = cursor === null ? null : parseCursor(cursor);
    const c: SourceCursor = state ?? { v: 1, since: opts.since.toISOString() };
    if (!c.sweep) {
      const sinceMs = Date.parse(c.since);
      const from = state === null ? sinceMs : sinceMs - this.overlapMs;
      const to = Math.max(this.clock.now(), sinceMs);
      c.sweep = { from: new Date(from).toISOString(), to: new Date(to).toISOString(), stream: 0 };
    }
    const sweep = c.sweep;
    for (;;) {
      const stream = this.streams[sweep.stream];
      if (!stream) {
        // Every stream of the window is read: the checkpoint moves to its end.
        return { orders: [], cursor: JSON.stringify({ v: 1, since: sweep.to }), more: false };
      }
      const page = await this.page(stream, sweep, callOpts);
      const orders = await this.ordersOf(stream, page.shipments, callOpts);
      if (page.hasMore && page.nextPageUrl) {
        sweep.next = page.nextPageUrl;
      } else {
        sweep.stream++;
        delete sweep.next;
      }
      const done = sweep.stream >= this.streams.length;
      const next: SourceCursor = done
        ? { v: 1, since: sweep.to }
        : { v: 1, since: c.since, sweep: { ...sweep } };
      if (orders.length > 0 || done) return { orders, cursor: JSON.stringify(next), more: !done };
      // An empty page with more to read: go on (nothing to commit).
      c.since = next.since;
    }
  }

  private async page(
    stream: Stream,
    sweep: NonNullable<SourceCursor['sweep']>,
    opts: FlipkartCallOptions,
  ): Promise<ShipmentPage> {
    if (sweep.next !== undefined) {
      try {
        return await this.api.nextShipmentsPage(sweep.next, opts);
      } catch (err) {
        // An expired or rejected next_token (§4 F14): read this stream of the window again.
        if (!(err instanceof TerminalError) || (err.status !== 400 && err.status !== 404)) throw err;
        delete sweep.next;
      }
    }
    const range = { from: sweep.from, to: sweep.to };
    const filter: ShipmentFilter =
      stream.type === 'cancelled'
        ? {
            type: 'cancelled',
            states: ['CANCELLED'],
            cancellationType: stream.cancellationType,
            cancellationDate: range,
          }
        : { type: stream.type, states: stream.states, modifiedDate: range };
    if (this.opts.locationId !== undefined) filter.locationId = this.opts.locationId;
    return this.api.searchShipments(
      { filter, pageSize: this.pageSize, sort: { field: 'modifiedDate', order: 'asc' } },
      opts,
    );
  }

  private async ordersOf(
    stream: Stream,
    shipments: FlipkartShipment[],
    opts: FlipkartCallOptions,
  ): Promise<MarketplaceOrder[]> {
    if (shipments.length === 0) return [];
    const orderIds = shipments.flatMap((s) => s.orderItems.map((i) => i.orderId));
    const hints: MapHints = {};
    if (stream.type === 'cancelled') {
      const ids = new Set(
        shipments.flatMap((s) =>
          s.orderItems.filter((i) => i.status === 'CANCELLED').map((i) => i.orderItemId),
        ),
      );
      if (stream.cancellationType === 'buyerCancellation') hints.buyerCancelled = ids;
      else hints.notBuyerCancelled = ids;
    }
    let all: FlipkartShipment[] = shipments;
    if (this.completeOrders) {
      const fetched = await this.api.getShipments({ orderIds: [...new Set(orderIds)] }, opts);
      const byId = new Map<string, FlipkartShipment>();
      for (const s of shipments) byId.set(s.shipmentId, s);
      for (const s of fetched) byId.set(s.shipmentId, s); // fresher: read after the page
      all = [...byId.values()];
    }
    return groupOrders(orderIds, all, hints);
  }
}

function parseCursor(text: string): SourceCursor {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new TerminalError('flipkart order cursor: not JSON', { code: 'FLIPKART_BAD_CURSOR' });
  }
  const c = raw as Partial<SourceCursor> | null;
  if (c?.v !== 1 || typeof c.since !== 'string' || Number.isNaN(Date.parse(c.since))) {
    throw new TerminalError('flipkart order cursor: unknown format', { code: 'FLIPKART_BAD_CURSOR' });
  }
  const out: SourceCursor = { v: 1, since: c.since };
  const s = c.sweep;
  if (s && typeof s.from === 'string' && typeof s.to === 'string' && Number.isInteger(s.stream)) {
    out.sweep = { from: s.from, to: s.to, stream: s.stream };
    if (typeof s.next === 'string') out.sweep.next = s.next;
  }
  return out;
}

// Actions -----------------------------------------------------------------------------------------

export const FLIPKART_REFUSAL_CODES = {
  notFound: 'FLIPKART_ORDER_NOT_FOUND',
  cancelled: 'FLIPKART_ORDER_CANCELLED',
  formFailed: 'FORM_FAILED',
  noResult: 'NO_RESULT',
} as const;

export interface FlipkartOrderActionsOptions {
  api: FlipkartOrdersApi;
  clock?: Clock;
  /** Between label-status checks while PACKING_IN_PROGRESS. Default 5 s. */
  labelPollIntervalMs?: number;
  /**
   * Longest wait for labels in one ship() (docs: usually 5–10 s, up to 30 min under load, §4 F16).
   * Then ship() throws RetryableError; called again it goes on where it stopped. Default 60 s.
   */
  labelTimeoutMs?: number;
  /** Extra fields of a label request (invoice numbers, tax items, serial numbers, dimensions). */
  labelDetails?: (shipment: FlipkartShipment, req: ShipRequest) => Partial<LabelRequest>;
  /** The OMS's reason text → Flipkart's reason. Default: procure → cannot_procure_item, b2b → b2b_order, else not_enough_inventory. */
  cancelReason?: (text: string) => SellerCancelReason;
}

const SHIPPED_STATES = new Set([
  'PICKUP_COMPLETE',
  'SHIPPED',
  'DELIVERED',
  'RETURN_REQUESTED',
  'RETURNED',
  'COMPLETED',
]);

/** The state of a shipment: that of its first item not cancelled, else CANCELLED. */
export function shipmentState(s: FlipkartShipment): string {
  return s.orderItems.find((i) => i.status !== 'CANCELLED')?.status ?? 'CANCELLED';
}

export class FlipkartOrderActions implements OrderActions {
  readonly marketplace = 'flipkart' as const;
  private readonly api: FlipkartOrdersApi;
  private readonly clock: Clock;
  private readonly pollMs: number;
  private readonly timeoutMs: number;

  constructor(private readonly opts: FlipkartOrderActionsOptions) {
    this.api = opts.api;
    this.clock = opts.clock ?? systemClock;
    this.pollMs = opts.labelPollIntervalMs ?? 5_000;
    this.timeoutMs = opts.labelTimeoutMs ?? 60_000;
  }

  async get(orderId: string, opts: CallOptions = {}): Promise<MarketplaceOrder | null> {
    const shipments = await this.api.getShipments({ orderIds: [orderId] }, readOpts(opts));
    return toMarketplaceOrder(orderId, shipments);
  }

  /**
   * Labels, then dispatch, per shipment of the order holding the requested lines. Each step is
   * skipped when the state shows it done (so a repeated ship() after a crash does no harm):
   * APPROVED → labels; PACKING_IN_PROGRESS → wait for PACKED; PACKED → dispatch (self-ship:
   * `selfShip/dispatch` with the OMS's tracking → SHIPPED; Flipkart logistics: `dispatch` →
   * READY_TO_DISPATCH, Flipkart's courier picks it up); READY_TO_DISPATCH (not self-ship) or later →
   * done. A held shipment or one before its dispatchAfterDate is retryable (§4 F18).
   */
  async ship(req: ShipRequest, opts: CallOptions = {}): Promise<OrderActionResult> {
    const callOpts = actOpts(opts);
    let shipments = await this.targets(req.orderId, req.lines, callOpts);
    if (shipments === null) return notFound(req.orderId);
    const live = shipments.filter((s) => shipmentState(s) !== 'CANCELLED');
    if (live.length === 0) {
      return {
        status: 'refused',
        code: FLIPKART_REFUSAL_CODES.cancelled,
        reason: `order ${req.orderId} is cancelled`,
      };
    }
    const now = this.clock.now();
    for (const s of live) {
      if (SHIPPED_STATES.has(shipmentState(s))) continue;
      if (s.hold === true) {
        throw new RetryableError(`flipkart ship ${req.orderId}: shipment ${s.shipmentId} is on hold`);
      }
      const after = s.dispatchAfterDate === undefined ? Number.NaN : Date.parse(s.dispatchAfterDate);
      if (after > now) {
        throw new RetryableError(
          `flipkart ship ${req.orderId}: shipment ${s.shipmentId} not before ${s.dispatchAfterDate}`,
          {
            retryAfterMs: after - now,
          },
        );
      }
    }

    // 1. Labels for the shipments still APPROVED.
    const approved = live.filter((s) => shipmentState(s) === 'APPROVED');
    if (approved.length > 0) {
      const requests = approved.map((s) => this.labelRequest(s, req));
      const refused = refusal(await this.api.generateLabels(requests, callOpts));
      if (refused) return refused;
    }

    // 2. Wait until no shipment is packing.
    let ids = live.map((s) => s.shipmentId);
    const deadline = this.clock.now() + this.timeoutMs;
    if (approved.length > 0 || live.some((s) => shipmentState(s) === 'PACKING_IN_PROGRESS')) {
      for (;;) {
        shipments = await this.api.getShipments({ shipmentIds: ids }, callOpts);
        const states = shipments.map(shipmentState);
        const failed = shipments.find((s) => shipmentState(s) === 'FORM_FAILED');
        if (failed) {
          return {
            status: 'refused',
            code: FLIPKART_REFUSAL_CODES.formFailed,
            reason: `shipment ${failed.shipmentId}: label/form generation failed (FORM_FAILED)`,
          };
        }
        if (!states.some((st) => st === 'APPROVED' || st === 'PACKING_IN_PROGRESS')) break;
        if (this.clock.now() >= deadline) {
          throw new RetryableError(
            `flipkart ship ${req.orderId}: labels not ready after ${this.timeoutMs} ms (PACKING_IN_PROGRESS)`,
            { retryAfterMs: this.pollMs },
          );
        }
        await this.clock.sleep(this.pollMs, opts.signal);
      }
    } else {
      shipments = live;
    }
    const current = shipments.filter((s) => shipmentState(s) !== 'CANCELLED');
    ids = current.map((s) => s.shipmentId);
    if (current.length === 0) {
      return {
        status: 'refused',
        code: FLIPKART_REFUSAL_CODES.cancelled,
        reason: `order ${req.orderId} is cancelled`,
      };
    }

    const formFailed = current.find((s) => shipmentState(s) === 'FORM_FAILED');
    if (formFailed) {
      return {
        status: 'refused',
        code: FLIPKART_REFUSAL_CODES.formFailed,
        reason: `shipment ${formFailed.shipmentId}: label/form generation failed (FORM_FAILED)`,
      };
    }
    const stuck = current.find((s) => {
      const st = shipmentState(s);
      return st !== 'PACKED' && st !== 'READY_TO_DISPATCH' && !SHIPPED_STATES.has(st);
    });
    if (stuck) {
      throw new RetryableError(
        `flipkart ship ${req.orderId}: shipment ${stuck.shipmentId} is ${shipmentState(stuck)}, not packed`,
        { retryAfterMs: this.pollMs },
      );
    }

    // 3. Dispatch what is packed (self-ship also from READY_TO_DISPATCH).
    const selfShip = current.filter(
      (s) => isSelfShip(s) && (shipmentState(s) === 'PACKED' || shipmentState(s) === 'READY_TO_DISPATCH'),
    );
    const viaFlipkart = current.filter((s) => !isSelfShip(s) && shipmentState(s) === 'PACKED');
    if (selfShip.length > 0) {
      const dispatches = selfShip.map((s) => ({
        shipmentId: s.shipmentId,
        locationId: s.locationId ?? '',
        dispatchDate: req.shippedAt,
        deliveryPartner: req.carrier,
        trackingId: req.trackingNumber,
        items: s.orderItems
          .filter((i) => i.status !== 'CANCELLED')
          .map((i) => ({ orderItemId: i.orderItemId, quantity: i.quantity })),
      }));
      const refused = refusal(await this.api.selfShipDispatch(dispatches, callOpts));
      if (refused) return refused;
    }
    const byLocation = new Map<string, string[]>();
    for (const s of viaFlipkart) {
      const loc = s.locationId ?? '';
      byLocation.set(loc, [...(byLocation.get(loc) ?? []), s.shipmentId]);
    }
    for (const [loc, shipmentIds] of byLocation) {
      const refused = refusal(await this.api.dispatch(shipmentIds, loc, callOpts));
      if (refused) return refused;
    }
    return { status: 'done' };
  }

  /**
   * POST /v3/shipments/cancel for the order's lines not cancelled yet (per cancellation group; a
   * line's quantity cannot be cut, the group is cancelled whole). Nothing left to cancel → done.
   * Flipkart refuses after PACKED, per shipment: `refused` with its errorCode and errorMessage.
   */
  async cancel(req: CancelRequest, opts: CallOptions = {}): Promise<OrderActionResult> {
    const callOpts = actOpts(opts);
    const shipments = await this.targets(req.orderId, req.lines, callOpts);
    if (shipments === null) return notFound(req.orderId);
    const wanted = req.lines && req.lines.length > 0 ? new Set(req.lines.map((l) => l.lineId)) : null;
    const reason = (this.opts.cancelReason ?? defaultCancelReason)(req.reason);
    const requests: CancelShipmentRequest[] = [];
    for (const s of shipments) {
      const items = s.orderItems.filter(
        (i) =>
          i.orderId === req.orderId &&
          i.status !== 'CANCELLED' &&
          (wanted === null || wanted.has(i.orderItemId)),
      );
      if (items.length === 0) continue;
      requests.push({
        shipmentId: s.shipmentId,
        locationId: s.locationId ?? '',
        cancellationGroupIds: [...new Set(items.map((i) => i.cancellationGroupId ?? i.orderItemId))],
        reason,
      });
    }
    if (requests.length === 0) return { status: 'done' };
    return refusal(await this.api.cancelShipments(requests, callOpts)) ?? { status: 'done' };
  }

  /** The order's shipments holding the given lines (all when none given); null: no such order. */
  private async targets(
    orderId: string,
    lines: { lineId: string }[] | undefined,
    opts: FlipkartCallOptions,
  ): Promise<FlipkartShipment[] | null> {
    const all = await this.api.getShipments({ orderIds: [orderId] }, opts);
    const own = all.filter((s) => s.orderItems.some((i) => i.orderId === orderId));
    if (own.length === 0) return null;
    if (!lines || lines.length === 0) return own;
    const wanted = new Set(lines.map((l) => l.lineId));
    const picked = own.filter((s) => s.orderItems.some((i) => wanted.has(i.orderItemId)));
    return picked.length > 0 ? picked : own;
  }

  private labelRequest(s: FlipkartShipment, req: ShipRequest): LabelRequest {
    const orderIds = [...new Set(s.orderItems.map((i) => i.orderId))];
    const invoiceDate = istDate(this.clock.now());
    const base: LabelRequest = {
      shipmentId: s.shipmentId,
      locationId: s.locationId ?? '',
      invoices: orderIds.map((orderId) => ({ orderId, invoiceDate })),
    };
    return { ...base, ...this.opts.labelDetails?.(s, req) };
  }
}

function isSelfShip(s: FlipkartShipment): boolean {
  return (s.shipmentType ?? '').toUpperCase() === 'SELF';
}

/** The first FAILURE of a batch answer as a refusal; null when every shipment succeeded. */
function refusal(results: ShipmentResults): OrderActionResult | null {
  const failed = [...results.values()].filter((r) => r.status !== 'SUCCESS');
  if (failed.length === 0) return null;
  const first = failed[0]!;
  const partial = failed.length < results.size ? ' (other shipments of the order succeeded)' : '';
  return {
    status: 'refused',
    code: first.errorCode ?? FLIPKART_REFUSAL_CODES.noResult,
    reason: `shipment ${first.shipmentId}: ${first.errorMessage ?? 'refused by Flipkart'}${partial}`,
  };
}

function notFound(orderId: string): OrderActionResult {
  return {
    status: 'refused',
    code: FLIPKART_REFUSAL_CODES.notFound,
    reason: `Flipkart has no order ${orderId}`,
  };
}

function defaultCancelReason(text: string): SellerCancelReason {
  if (/procure/i.test(text)) return 'cannot_procure_item';
  if (/b2b/i.test(text)) return 'b2b_order';
  return 'not_enough_inventory';
}

/** YYYY-MM-DD in India (UTC+05:30). */
function istDate(ms: number): string {
  return new Date(ms + 330 * 60_000).toISOString().slice(0, 10);
}

function readOpts(opts: CallOptions): FlipkartCallOptions {
  const out: FlipkartCallOptions = { priority: opts.priority ?? 'read' };
  if (opts.signal) out.signal = opts.signal;
  return out;
}

function actOpts(opts: CallOptions): FlipkartCallOptions {
  const out: FlipkartCallOptions = { priority: opts.priority ?? 'urgent' };
  if (opts.signal) out.signal = opts.signal;
  return out;
}
