/**
 * Tata CliQ orders behind OrderSource and OrderActions (src/marketplaces/orders.ts).
 *
 * Polling: CliQ's only list call answers "all active orders", without filters or a change date
 * (reference §3.1). So the source remembers, in its cursor, which orders it saw active and a
 * fingerprint of their lines (transactionId + status code). Each poll reads the active list and:
 *  - emits orders it has not seen (their list entry is complete enough);
 *  - re-reads by id (`ORDID_`) every order whose fingerprint changed (a line changed status or
 *    left the list: partial cancel) or that left the list (shipped, delivered, cancelled by the
 *    seller, the buyer or CliQ) and emits what the re-read shows, with every line;
 *  - forgets orders that left the list once they were re-read.
 * Re-reads are N+1 calls (§4 F1): at most `maxRereadsPerPoll` per poll; the rest wait in the
 * cursor's `pending` list and the page says `more`. New orders beyond `pageSize` are left for the
 * next page (not remembered yet, so the next read of the list emits them).
 *
 * Cursor (JSON, version 1):
 *   {"v":1,"seen":[[orderNo, fingerprint, status], …],"pending":[orderNo, …]}
 * `seen` is in first-seen order and bounded by `maxTracked`: beyond it the oldest entries are
 * dropped (a dropped order that later leaves the list is not noticed; one still listed is emitted
 * again as new, which the poller's dedupe absorbs). The status is the normalised order status
 * when last seen.
 *
 * First run (no cursor): active orders placed before `since` are remembered but not emitted; their
 * later changes are.
 *
 * `updatedAt`: CliQ sends no change time. New orders use the order date; orders whose change was
 * noticed (and `get`) use the time we noticed it.
 */
import { createHash } from 'node:crypto';
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
  ShippingAddress,
  ShipRequest,
} from '../orders.js';
import type { CallOptions } from '../types.js';
import type { LineBatchOutcome, LineOutcome, TataCliqOrdersApi } from './orders-client.js';
import {
  aggregateStatus,
  isActiveStatus,
  ORDER_STATUS_CODES,
  type OrderLineWire,
  type OrderWire,
  parseCliqDate,
  type StatusMeaning,
  statusOf,
} from './orders-types.js';

/** Codes of refused results that did not come from CliQ's answer. */
export const TATACLIQ_ORDER_REFUSALS = {
  /** CliQ answered FAILURE without an error code. */
  failure: 'TATACLIQ_LINE_FAILURE',
  /** The order or a requested line is not on CliQ (any more). */
  unknownLine: 'TATACLIQ_UNKNOWN_LINE',
  /** Nothing left to ship or cancel in the request. */
  noLines: 'TATACLIQ_NO_LINES',
} as const;

export interface TataCliqOrderMappingOptions {
  /** Replaces ORDER_STATUS_CODES (the real omsStatusCode table, once known). */
  statusCodes?: Readonly<Record<string, StatusMeaning>>;
}

// Mapping ---------------------------------------------------------------------------------------

/** A line's normalised status and who cancelled it. */
export function lineStatus(
  line: OrderLineWire,
  table: Readonly<Record<string, StatusMeaning>> = ORDER_STATUS_CODES,
): StatusMeaning & { code: string } {
  const code = line.omsStatusCode ?? line.status ?? '';
  return { ...statusOf(code, table), code };
}

/** A CliQ order as a MarketplaceOrder. `observedAt` (epoch ms) is used as updatedAt when given. */
export function toMarketplaceOrder(
  o: OrderWire,
  opts: TataCliqOrderMappingOptions & { observedAt?: number; now: number },
): MarketplaceOrder {
  const table = opts.statusCodes ?? ORDER_STATUS_CODES;
  const purchased = parseCliqDate(o.orderDate) ?? opts.now;
  const lines: OrderLine[] = o.orderLine.map((l) => {
    const s = lineStatus(l, table);
    const line: OrderLine = {
      lineId: l.transactionId,
      sku: l.sellerArticleSKU ?? l.articleNumber ?? '',
      quantity: l.quantity !== undefined && l.quantity > 0 ? l.quantity : 1,
      status: s.status,
    };
    const price = l.price ?? l.apportionedPrice;
    if (price !== undefined) line.unitPrice = price;
    if (l.productName !== undefined) line.title = l.productName;
    if (s.status === 'cancelled') {
      line.cancelReason = l.cancellationReason ?? `cancelled by ${s.cancelledBy ?? 'marketplace'}`;
      // The buyer cancelled (006): the OMS hears it as the buyer's cancellation.
      if (s.cancelledBy === 'buyer') line.buyerCancelRequested = true;
    }
    return line;
  });
  const statuses = lines.map((l) => l.status ?? 'pending');
  const codes = [...new Set(o.orderLine.map((l) => lineStatus(l, table).code))];
  const order: MarketplaceOrder = {
    marketplace: 'tatacliq',
    orderId: o.orderNo,
    status: aggregateStatus(statuses),
    marketplaceStatus: codes.join(','),
    purchasedAt: new Date(purchased).toISOString(),
    updatedAt: new Date(opts.observedAt ?? purchased).toISOString(),
    currency: 'INR',
    lines,
  };
  const shipBy = o.orderLine
    .filter((l) => isActiveStatus(lineStatus(l, table).status))
    .map((l) => parseCliqDate(l.shipByDate))
    .filter((t): t is number => t !== undefined);
  if (shipBy.length > 0) order.shipBy = new Date(Math.min(...shipBy)).toISOString();
  const paid = o.paymentInfo?.map((p) => p.paymentCost).filter((c): c is number => c !== undefined) ?? [];
  if (paid.length > 0) order.total = round2(paid.reduce((a, b) => a + b, 0));
  else {
    const prices = o.orderLine.map((l) => l.apportionedPrice ?? l.price);
    if (prices.length > 0 && prices.every((p) => p !== undefined)) {
      order.total = round2(prices.reduce((a: number, b) => a + (b ?? 0), 0));
    }
  }
  const address = shippingAddress(o);
  if (address) order.shippingAddress = address;
  const refs: Record<string, string> = {};
  const first = o.orderLine[0];
  if (o.orderType !== undefined) refs.orderType = o.orderType;
  if (first?.fulfillmentType !== undefined) refs.fulfillmentType = first.fulfillmentType;
  if (first?.p1SlaveId !== undefined) refs.slaveId = first.p1SlaveId;
  if (first?.isCOD !== undefined) refs.cod = first.isCOD;
  if (Object.keys(refs).length > 0) order.refs = refs;
  return order;
}

/** The delivery address (`addressType: "DA"`; else the first one). Email is not kept. */
function shippingAddress(o: OrderWire): ShippingAddress | undefined {
  const list = o.addressInfo ?? [];
  const a = list.find((x) => x.addressType?.toUpperCase() === 'DA') ?? list[0];
  if (!a) return undefined;
  const out: ShippingAddress = {};
  const name = [a.firstName, a.lastName].filter((p) => p !== undefined && p.trim() !== '').join(' ');
  if (name !== '') out.name = name;
  if (a.address1) out.addressLine1 = a.address1;
  const line2 = [a.address2, a.address3, a.landmark]
    .filter((p) => p !== undefined && p.trim() !== '')
    .join(', ');
  if (line2 !== '') out.addressLine2 = line2;
  if (a.city) out.city = a.city;
  if (a.state) out.state = a.state;
  if (a.pincode) out.postalCode = a.pincode;
  if (a.country) out.countryCode = a.country;
  if (a.phoneNo) out.phone = a.phoneNo;
  return Object.keys(out).length > 0 ? out : undefined;
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

/** The fingerprint of an order's lines as listed: which transactions, in which status code. */
export function fingerprint(o: OrderWire): string {
  const parts = o.orderLine.map((l) => `${l.transactionId}=${l.omsStatusCode ?? l.status ?? ''}`).sort();
  return createHash('sha256').update(parts.join('\n')).digest('base64url').slice(0, 12);
}

/** The fingerprint of an order that left the active list (re-read pending). */
const GONE = '-';

// Cursor ----------------------------------------------------------------------------------------

/** [orderNo, fingerprint, normalised status when last seen]. */
export type SeenEntry = [string, string, OrderStatus];

export interface TataCliqOrderCursor {
  v: 1;
  seen: SeenEntry[];
  pending: string[];
}

export function parseOrderCursor(cursor: string | null): TataCliqOrderCursor | null {
  if (cursor === null || cursor === '') return null;
  let json: unknown;
  try {
    json = JSON.parse(cursor);
  } catch {
    throw new TerminalError(`tatacliq orders: cursor is not JSON: ${cursor.slice(0, 80)}`, {
      code: 'TATACLIQ_BAD_CURSOR',
    });
  }
  const c = json as Partial<TataCliqOrderCursor>;
  if (c?.v !== 1 || !Array.isArray(c.seen) || !Array.isArray(c.pending)) {
    throw new TerminalError('tatacliq orders: cursor is not a version 1 order cursor', {
      code: 'TATACLIQ_BAD_CURSOR',
    });
  }
  return { v: 1, seen: c.seen, pending: c.pending };
}

// Source ----------------------------------------------------------------------------------------

export interface TataCliqOrderSourceOptions extends TataCliqOrderMappingOptions {
  api: TataCliqOrdersApi;
  clock?: Clock;
  /** New orders per page. Default 100. */
  pageSize?: number;
  /** Re-reads by id per poll. Default 25. */
  maxRereadsPerPoll?: number;
  /** Orders remembered in the cursor. Default 5000. */
  maxTracked?: number;
}

export class TataCliqOrderSource implements OrderSource {
  readonly marketplace = 'tatacliq' as const;
  private readonly api: TataCliqOrdersApi;
  private readonly clock: Clock;
  private readonly pageSize: number;
  private readonly maxRereads: number;
  private readonly maxTracked: number;
  private readonly mapping: TataCliqOrderMappingOptions;

  constructor(opts: TataCliqOrderSourceOptions) {
    this.api = opts.api;
    this.clock = opts.clock ?? systemClock;
    this.pageSize = positive(opts.pageSize ?? 100, 'pageSize');
    this.maxRereads = positive(opts.maxRereadsPerPoll ?? 25, 'maxRereadsPerPoll');
    this.maxTracked = positive(opts.maxTracked ?? 5000, 'maxTracked');
    this.mapping = opts.statusCodes ? { statusCodes: opts.statusCodes } : {};
  }

  async poll(cursor: string | null, opts: PollOptions): Promise<OrderPage> {
    const previous = parseOrderCursor(cursor);
    const seen = new Map<string, [string, OrderStatus]>(
      (previous?.seen ?? []).map(([id, fp, st]) => [id, [fp, st]] as const),
    );
    const pending = [...new Set(previous?.pending ?? [])];
    const queued = new Set(pending);
    const enqueue = (id: string) => {
      if (!queued.has(id)) {
        queued.add(id);
        pending.push(id);
      }
    };
    const orders: MarketplaceOrder[] = [];
    const callOpts = opts.signal ? { signal: opts.signal } : {};
    let more = false;

    if (pending.length === 0) {
      // Read the list only when the previous poll's re-reads are done.
      const now = this.clock.now();
      const list = await this.api.listActiveOrders(callOpts);
      const listed = new Set<string>();
      const fresh: { order: MarketplaceOrder; fp: string }[] = [];
      for (const o of list.orders) {
        if (listed.has(o.orderNo)) continue;
        listed.add(o.orderNo);
        const fp = fingerprint(o);
        const known = seen.get(o.orderNo);
        if (known === undefined) {
          fresh.push({ order: toMarketplaceOrder(o, { ...this.mapping, now }), fp });
        } else if (known[0] !== fp) {
          enqueue(o.orderNo);
          known[0] = fp;
        }
      }
      for (const [id, entry] of seen) {
        if (listed.has(id)) continue;
        entry[0] = GONE;
        enqueue(id);
      }
      // Oldest first, so a page boundary never skips one.
      fresh.sort(
        (a, b) =>
          a.order.purchasedAt.localeCompare(b.order.purchasedAt) ||
          a.order.orderId.localeCompare(b.order.orderId),
      );
      const sinceIso = previous === null ? opts.since.toISOString() : null;
      let emitted = 0;
      for (const f of fresh) {
        if (emitted >= this.pageSize) {
          more = true;
          break;
        }
        seen.set(f.order.orderId, [f.fp, f.order.status]);
        if (sinceIso !== null && f.order.purchasedAt < sinceIso) continue;
        orders.push(f.order);
        emitted++;
      }
    }

    // Re-read what changed or left the list.
    let reread = 0;
    while (pending.length > 0 && reread < this.maxRereads) {
      const id = pending[0]!;
      let order: OrderWire | null;
      try {
        order = await this.api.getOrder(id, callOpts);
      } catch (err) {
        // Keep what this page has; the next poll (right away: more) tries again.
        if (orders.length === 0 || err instanceof TerminalError) throw err;
        more = true;
        break;
      }
      reread++;
      pending.shift();
      if (order === null) {
        seen.delete(id);
        continue;
      }
      const mapped = toMarketplaceOrder(order, {
        ...this.mapping,
        now: this.clock.now(),
        observedAt: this.clock.now(),
      });
      orders.push(mapped);
      const entry = seen.get(id);
      if (entry === undefined) continue;
      // Left the list: forget it (listed again later, it is new again). Still listed: keep the
      // fingerprint taken from the list.
      if (entry[0] === GONE) seen.delete(id);
      else entry[1] = mapped.status;
    }
    if (pending.length > 0) more = true;

    const entries: SeenEntry[] = [...seen].map(([id, [fp, st]]) => [id, fp, st]);
    const bounded =
      entries.length > this.maxTracked ? entries.slice(entries.length - this.maxTracked) : entries;
    const kept = new Set(bounded.map((e) => e[0]));
    const next: TataCliqOrderCursor = { v: 1, seen: bounded, pending: pending.filter((id) => kept.has(id)) };
    return { orders, cursor: JSON.stringify(next), more };
  }
}

// Actions ---------------------------------------------------------------------------------------

export interface TataCliqOrderActionsOptions extends TataCliqOrderMappingOptions {
  api: TataCliqOrdersApi;
  clock?: Clock;
  /** OMS carrier name (case-insensitive) → CliQ logisticsId. Default: the name as given (ASSUMED). */
  carrierCodes?: Readonly<Record<string, string>>;
  /** reasonCode sent with seller cancels (ASSUMED). Default "SELLER_CANCELLED". */
  cancelReasonCode?: string;
}

export class TataCliqOrderActions implements OrderActions {
  readonly marketplace = 'tatacliq' as const;
  private readonly api: TataCliqOrdersApi;
  private readonly clock: Clock;
  private readonly mapping: TataCliqOrderMappingOptions;
  private readonly carriers: Map<string, string>;
  private readonly reasonCode: string;

  constructor(opts: TataCliqOrderActionsOptions) {
    this.api = opts.api;
    this.clock = opts.clock ?? systemClock;
    this.mapping = opts.statusCodes ? { statusCodes: opts.statusCodes } : {};
    this.carriers = new Map(
      Object.entries(opts.carrierCodes ?? {}).map(([k, v]) => [k.trim().toLowerCase(), v]),
    );
    this.reasonCode = opts.cancelReasonCode ?? 'SELLER_CANCELLED';
  }

  async get(orderId: string, opts: CallOptions = {}): Promise<MarketplaceOrder | null> {
    const o = await this.api.getOrder(orderId, opts);
    const now = this.clock.now();
    return o === null ? null : toMarketplaceOrder(o, { ...this.mapping, now, observedAt: now });
  }

  /**
   * Ships the requested lines (all not-cancelled lines of `req.order` when none are given) with
   * one AWB. A FAILURE is checked against a fresh read: lines already shipped count as done (a
   * repeated call), otherwise the result is `refused` with CliQ's message.
   */
  async ship(req: ShipRequest, opts: CallOptions = {}): Promise<OrderActionResult> {
    const ids = this.lineIds(req.lines, req.order, (s) => s !== 'cancelled');
    if (ids.length === 0) return noLines(req.orderId, 'ship');
    const shippedAt = Date.parse(req.shippedAt);
    const logisticsId = this.carriers.get(req.carrier.trim().toLowerCase()) ?? req.carrier.trim();
    const outcome = await this.api.shipLines(
      ids.map((transactionId) => ({
        orderNo: req.orderId,
        transactionId,
        awbNo: req.trackingNumber.trim(),
        logisticsId,
        logisticsName: req.carrier,
        shippedAt: Number.isNaN(shippedAt) ? this.clock.now() : shippedAt,
      })),
      opts,
    );
    return this.settle(req.orderId, ids, outcome, (s) => s === 'shipped' || s === 'delivered', opts);
  }

  /**
   * Cancels the requested lines (all live lines when none are given). Lines already cancelled
   * count as done; CliQ's refusal (e.g. a line already shipped) is returned as `refused`.
   */
  async cancel(req: CancelRequest, opts: CallOptions = {}): Promise<OrderActionResult> {
    const ids = this.lineIds(req.lines, req.order, (s) => s !== 'cancelled');
    if (ids.length === 0) return { status: 'done' };
    const outcome = await this.api.cancelLines(
      ids.map((transactionId) => ({
        orderNo: req.orderId,
        transactionId,
        reasonCode: this.reasonCode,
        reason: req.reason,
      })),
      opts,
    );
    return this.settle(req.orderId, ids, outcome, (s) => s === 'cancelled', opts);
  }

  private lineIds(
    lines: { lineId: string }[] | undefined,
    order: MarketplaceOrder | undefined,
    eligible: (s: OrderStatus) => boolean,
  ): string[] {
    if (lines !== undefined && lines.length > 0) return [...new Set(lines.map((l) => l.lineId))];
    return (order?.lines ?? []).filter((l) => eligible(l.status ?? 'pending')).map((l) => l.lineId);
  }

  /** done when every line succeeded; otherwise the fresh order decides (already in `goal`: done). */
  private async settle(
    orderId: string,
    ids: string[],
    outcome: LineBatchOutcome,
    goal: (s: OrderStatus) => boolean,
    opts: CallOptions,
  ): Promise<OrderActionResult> {
    const open = outcome.lines.filter((l) => l.status !== 'SUCCESS');
    if (open.length === 0) return { status: 'done' };
    const fresh = await this.api.getOrder(orderId, opts);
    const statusById = new Map<string, OrderStatus>();
    for (const l of fresh?.orderLine ?? []) {
      statusById.set(l.transactionId, lineStatus(l, this.mapping.statusCodes).status);
    }
    const refused: LineOutcome[] = [];
    for (const l of open) {
      const s = statusById.get(l.transactionId);
      if (s !== undefined && goal(s)) continue;
      if (l.status === 'UNCONFIRMED' && s !== undefined) {
        // No answer for the line and not applied (yet): ask again (ship/cancel are repeatable).
        throw new RetryableError(
          `tatacliq: no result for transaction ${l.transactionId} of order ${orderId}, which is still ${s}`,
        );
      }
      refused.push(l);
    }
    if (refused.length === 0) return { status: 'done' };
    const first = refused.find((l) => l.status === 'FAILURE') ?? refused[0]!;
    const others = refused.length > 1 ? ` (${refused.length} of ${ids.length} lines refused)` : '';
    if (first.status !== 'FAILURE') {
      return {
        status: 'refused',
        code: TATACLIQ_ORDER_REFUSALS.unknownLine,
        reason: `transaction ${first.transactionId} is not part of order ${orderId} on Tata CliQ${others}`,
      };
    }
    return {
      status: 'refused',
      code: first.errorCode ?? TATACLIQ_ORDER_REFUSALS.failure,
      reason: `${first.errorMessage ?? `Tata CliQ answered FAILURE for transaction ${first.transactionId}`}${others}`,
    };
  }
}

function noLines(orderId: string, what: string): OrderActionResult {
  return {
    status: 'refused',
    code: TATACLIQ_ORDER_REFUSALS.noLines,
    reason: `order ${orderId} has no line to ${what}`,
  };
}

function positive(n: number, name: string): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`tatacliq orders: ${name} must be >= 1, got ${n}`);
  return n;
}
