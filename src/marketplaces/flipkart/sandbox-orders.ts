/**
 * The shipments (= orders) side of the Flipkart sandbox, reference §2.5–2.7 and §2.9. Installed on
 * the sandbox's fastify app by createFlipkartSandbox (same tokens, throttling, forced failures and
 * counters). Everything here is [ASSUMED] design on top of the documented facts.
 *
 * Emulated:
 *  - seeded, repeatable order generation (one shipment per order, 1–2 items of the listed SKUs);
 *  - the state machine APPROVED → (labels) PACKING_IN_PROGRESS → PACKED after `labelDelayMs` →
 *    (dispatch) READY_TO_DISPATCH → (control markShipped) SHIPPED → DELIVERED; self-ship shipments
 *    go PACKED → SHIPPED by `selfShip/dispatch` with the seller's tracking id;
 *  - hold and dispatchAfterDate gating of labels (§4 F18); dispatch before PACKED → FAILURE (§4 F16);
 *  - seller cancel only before PACKED, per cancellation group; FAILURE per shipment afterwards;
 *  - buyer / marketplace cancellations (control) until READY_TO_DISPATCH, found by `type: cancelled`;
 *  - search: required fields checked, ISO dates only (§4 F13), pageSize 1–20, sort by the field
 *    asked for (ties by shipmentId), `hasMore` + `nextPageUrl` with an opaque `next_token` holding
 *    `+ / =` (percent-encoded in the URL, §4 F14); a page lists the result of the first request
 *    (later changes show in their next search); `repeatPages` makes each next page start with the
 *    previous page's last shipment (duplicates across pages, §4 F11).
 * Timestamps are written with +05:30 offsets as in real payloads.
 *
 * Error codes in per-shipment answers are invented (Flipkart's are not public), except
 * EMPTY_OR_INVALID_REASON_FOR_CANCELLATION (§2.6).
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../../core/clock.js';
import type { OrderStatus } from '../../domain/orders.js';
import { isObject } from '../sandbox.js';
import type { FlipkartOperation } from './limits.js';
import { normaliseFlipkartStatus } from './orders.js';
import {
  MAX_IDS_PER_LOOKUP,
  MAX_SELF_SHIP_PER_CALL,
  MAX_SHIPMENTS_PER_ACTION,
  POST_DISPATCH_STATES,
  PRE_DISPATCH_STATES,
  SHIPMENTS_V3_PATH,
} from './orders-types.js';

export interface FlipkartSandboxOrderOptions {
  /** Time from a label request to PACKED. Default 2,000 ms (docs: usually 5–10 s, up to 30 min). */
  labelDelayMs?: number;
  /** Largest pageSize accepted. Default 20 (ASSUMED). */
  maxPageSize?: number;
}

export interface FlipkartSandboxCreateOrders {
  count: number;
  /** SKUs to order; default the sandbox's listings. */
  skus?: string[];
  /** Same seed (and same state) → same orders. Default: a sequence per sandbox. */
  seed?: number;
  /** The orders' dates are this far in the past (late indexing, §4 F11). */
  lateByMs?: number;
  /** 'SELF' (seller ships with its own tracking, default) or 'NORMAL' (Flipkart logistics). */
  shipmentType?: 'SELF' | 'NORMAL';
  /** Flipkart location; default the sandbox seller's. */
  locationId?: string;
}

export interface FlipkartSandboxOrderSnapshot {
  status: OrderStatus;
  shipped?: { trackingNumber: string };
  cancelledBy?: 'seller' | 'buyer' | 'marketplace';
}

export interface FlipkartSandboxOrderControl {
  /** New APPROVED orders (one shipment each); returns their order ids in creation order. */
  createOrders(opts: FlipkartSandboxCreateOrders): string[];
  /** The buyer cancels the order's items not yet READY_TO_DISPATCH (throws when none can be). */
  buyerCancel(orderId: string): void;
  /** Flipkart cancels the order's items not yet READY_TO_DISPATCH (throws when none can be). */
  marketplaceCancel(orderId: string): void;
  /** Each next page starts with the last shipment of the previous page. */
  repeatPages(on: boolean): void;
  /** Orders by id, normalised. */
  orderSnapshot(): Record<string, FlipkartSandboxOrderSnapshot>;
  /** Holds / releases the order's shipments (labels refused while held). */
  holdOrder(orderId: string, on: boolean): void;
  /** Flipkart's courier picked the order up: READY_TO_DISPATCH → SHIPPED (with Flipkart's tracking id). */
  markShipped(orderId: string): void;
  /** SHIPPED → DELIVERED. */
  markDelivered(orderId: string): void;
  /** Label generation time from now on. */
  setLabelDelay(ms: number): void;
  /** The shipments as the API returns them (for debugging tests). */
  shipments(): unknown[];
}

interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** What the order routes use of the sandbox. */
export interface FlipkartSandboxOrderDeps {
  app: FastifyInstance;
  clock: Clock;
  /** Auth, throttling and forced failures; null: go on. */
  gate(op: FlipkartOperation, authorization: string | undefined): Reply | null;
  record(op: FlipkartOperation, keys: string[], status: number): void;
  respond(reply: FastifyReply, r: Reply): Promise<FastifyReply>;
  /** Listed SKUs with their selling price and FSN. */
  listings(): { sku: string; productId: string; sellingPrice: number | undefined }[];
  locationId: string;
}

type CancelledBy = 'seller' | 'buyer' | 'marketplace';

interface SbItem {
  orderItemId: string;
  orderId: string;
  cancellationGroupId: string;
  orderDate: number;
  status: string;
  quantity: number;
  sku: string;
  fsn: string;
  title: string;
  unitPrice: number;
  cancellationReason?: string;
  cancellationSubReason?: string;
  cancellationDate?: number;
  cancelledBy?: CancelledBy;
}

interface SbShipment {
  shipmentId: string;
  orderId: string;
  locationId: string;
  shipmentType: 'SELF' | 'NORMAL';
  hold: boolean;
  orderDate: number;
  dispatchByDate: number;
  dispatchAfterDate: number;
  updatedAt: number;
  /** While PACKING_IN_PROGRESS: when it becomes PACKED. */
  packAt?: number;
  trackingId?: string;
  deliveryPartner?: string;
  items: SbItem[];
}

interface PageToken {
  ids: string[];
  offset: number;
  pageSize: number;
}

const DAY = 86_400_000;
const IST_OFFSET_MS = 330 * 60_000;
const CANCEL_REASONS = new Set(['cannot_procure_item', 'not_enough_inventory', 'b2b_order']);
const CANCELLATION_TYPES: Record<string, CancelledBy> = {
  sellerCancellation: 'seller',
  buyerCancellation: 'buyer',
  marketplaceCancellation: 'marketplace',
};
const SORT_FIELDS = new Set(['orderDate', 'dispatchByDate', 'modifiedDate', 'dispatchAfterDate']);

export function installFlipkartOrderRoutes(
  deps: FlipkartSandboxOrderDeps,
  opts: FlipkartSandboxOrderOptions = {},
): FlipkartSandboxOrderControl {
  const { app, clock } = deps;
  let labelDelayMs = Math.max(0, opts.labelDelayMs ?? 2_000);
  const maxPageSize = opts.maxPageSize ?? 20;
  const shipments = new Map<string, SbShipment>();
  const byOrder = new Map<string, SbShipment[]>();
  const pageTokens = new Map<string, PageToken>();
  let repeat = false;
  let seedSeq = 1;
  let trackingSeq = 1;

  // State machine ---------------------------------------------------------------------------------
  function state(s: SbShipment): string {
    return s.items.find((i) => i.status !== 'CANCELLED')?.status ?? 'CANCELLED';
  }

  function setState(s: SbShipment, next: string, at: number): void {
    for (const i of s.items) if (i.status !== 'CANCELLED') i.status = next;
    s.updatedAt = Math.max(s.updatedAt, at);
  }

  /** Label generation finishing in the background (evaluated on every access, clock-driven). */
  function settle(): void {
    const now = clock.now();
    for (const s of shipments.values()) {
      if (s.packAt !== undefined && s.packAt <= now && state(s) === 'PACKING_IN_PROGRESS') {
        setState(s, 'PACKED', s.packAt);
        delete s.packAt;
      }
    }
  }

  function orderShipments(orderId: string): SbShipment[] {
    settle();
    const list = byOrder.get(orderId);
    if (!list) throw new Error(`flipkart sandbox: no order ${orderId}`);
    return list;
  }

  function cancelItems(s: SbShipment, items: SbItem[], by: CancelledBy, reason: string, sub?: string): void {
    const now = clock.now();
    for (const i of items) {
      i.status = 'CANCELLED';
      i.cancelledBy = by;
      i.cancellationReason = reason;
      if (sub !== undefined) i.cancellationSubReason = sub;
      i.cancellationDate = now;
    }
    s.updatedAt = Math.max(s.updatedAt, now);
    if (state(s) === 'CANCELLED') delete s.packAt;
  }

  function externalCancel(orderId: string, by: CancelledBy): void {
    let n = 0;
    for (const s of orderShipments(orderId)) {
      const st = state(s);
      if (!['APPROVED', 'PACKING_IN_PROGRESS', 'PACKED', 'FORM_FAILED'].includes(st)) continue;
      const items = s.items.filter((i) => i.status !== 'CANCELLED');
      if (by === 'buyer') cancelItems(s, items, by, 'cancellation_requested', 'order_no_longer_required');
      else cancelItems(s, items, by, 'marketplace_cancellation', 'fraud_or_unserviceable');
      n += items.length;
    }
    if (n === 0) throw new Error(`flipkart sandbox: order ${orderId} can no longer be cancelled`);
  }

  // Generation -----------------------------------------------------------------------------------
  function createOrders(o: FlipkartSandboxCreateOrders): string[] {
    settle();
    const listed = deps.listings();
    const skus = o.skus && o.skus.length > 0 ? o.skus : listed.map((l) => l.sku);
    if (skus.length === 0) throw new Error('flipkart sandbox: createOrders needs SKUs (none listed)');
    const rand = mulberry32(o.seed ?? seedSeq++ * 7919);
    const digits = (n: number) => Array.from({ length: n }, () => Math.floor(rand() * 10)).join('');
    const now = clock.now();
    const late = Math.max(0, o.lateByMs ?? 0);
    const ids: string[] = [];
    for (let k = 0; k < o.count; k++) {
      // Distinct modified dates, all ≤ now, in creation order.
      const at = now - late - (o.count - 1 - k);
      let orderId = `OD${digits(18)}`;
      while (byOrder.has(orderId)) orderId = `OD${digits(18)}`;
      const shipmentId = `${hex(rand, 8)}-${hex(rand, 4)}-${hex(rand, 4)}-${hex(rand, 4)}-${hex(rand, 12)}`;
      const lineCount = rand() < 0.2 ? 2 : 1;
      const items: SbItem[] = [];
      for (let j = 0; j < lineCount; j++) {
        const sku = skus[Math.floor(rand() * skus.length)]!;
        const listing = listed.find((l) => l.sku === sku);
        const orderItemId = digits(16);
        items.push({
          orderItemId,
          orderId,
          cancellationGroupId: `grp${orderItemId}`,
          orderDate: at,
          status: 'APPROVED',
          quantity: 1 + Math.floor(rand() * 3),
          sku,
          fsn: listing?.productId ?? sku,
          title: `Sandbox product ${sku}`,
          unitPrice: listing?.sellingPrice ?? 100 + Math.floor(rand() * 9900),
        });
      }
      const s: SbShipment = {
        shipmentId,
        orderId,
        locationId: o.locationId ?? deps.locationId,
        shipmentType: o.shipmentType ?? 'SELF',
        hold: false,
        orderDate: at,
        dispatchByDate: at + 2 * DAY,
        dispatchAfterDate: at,
        updatedAt: at,
        items,
      };
      shipments.set(shipmentId, s);
      byOrder.set(orderId, [s]);
      ids.push(orderId);
    }
    return ids;
  }

  // Wire format ----------------------------------------------------------------------------------
  function wire(s: SbShipment) {
    const out: Record<string, unknown> = {
      shipmentId: s.shipmentId,
      dispatchByDate: ist(s.dispatchByDate),
      dispatchAfterDate: ist(s.dispatchAfterDate),
      updatedAt: ist(s.updatedAt),
      locationId: s.locationId,
      hold: s.hold,
      mps: false,
      packagingPolicy: 'DEFAULT',
      shipmentType: s.shipmentType,
      subShipments: [{ subShipmentId: 'SS-1', packages: [] }],
      forms: [],
      orderItems: s.items.map((i) => ({
        orderItemId: i.orderItemId,
        orderId: i.orderId,
        cancellationGroupId: i.cancellationGroupId,
        orderDate: ist(i.orderDate),
        cancellationDate: i.cancellationDate === undefined ? null : ist(i.cancellationDate),
        paymentType: 'PREPAID',
        status: i.status,
        cancellationReason: i.cancellationReason ?? null,
        cancellationSubReason: i.cancellationSubReason ?? null,
        courierReturn: false,
        quantity: i.quantity,
        fsn: i.fsn,
        sku: i.sku,
        listingId: `LST${i.fsn}`,
        hsn: '85287217',
        title: i.title,
        packageIds: [],
        priceComponents: {
          sellingPrice: i.unitPrice * i.quantity,
          totalPrice: i.unitPrice * i.quantity,
          shippingCharge: 0,
          customerPrice: i.unitPrice * i.quantity,
          flipkartDiscount: 0,
        },
        serviceProfile: 'NON_FBF',
        is_replacement: false,
      })),
    };
    if (s.trackingId !== undefined) out.trackingId = s.trackingId;
    if (s.deliveryPartner !== undefined) out.deliveryPartner = s.deliveryPartner;
    return out;
  }

  // Search ---------------------------------------------------------------------------------------
  function searchReply(body: unknown): Reply {
    if (!isObject(body) || !isObject(body.filter)) return badRequest('filter is required');
    const f = body.filter;
    const type = f.type;
    if (type !== 'preDispatch' && type !== 'postDispatch' && type !== 'cancelled') {
      return badRequest('filter.type must be preDispatch, postDispatch or cancelled');
    }
    let states: Set<string> | null = null;
    let cancelledBy: CancelledBy | null = null;
    if (type === 'cancelled') {
      const by = typeof f.cancellationType === 'string' ? CANCELLATION_TYPES[f.cancellationType] : undefined;
      if (!by) return badRequest('filter.cancellationType is required for type cancelled');
      cancelledBy = by;
    } else {
      const allowed: readonly string[] = type === 'preDispatch' ? PRE_DISPATCH_STATES : POST_DISPATCH_STATES;
      if (!Array.isArray(f.states) || f.states.length === 0)
        return badRequest(`filter.states is required for ${type}`);
      for (const st of f.states) {
        if (typeof st !== 'string' || !allowed.includes(st))
          return badRequest(`state ${String(st)} is not valid for ${type}`);
      }
      states = new Set(f.states as string[]);
    }
    const ranges: [string, (s: SbShipment) => number | undefined][] = [
      ['orderDate', (s) => s.orderDate],
      ['dispatchByDate', (s) => s.dispatchByDate],
      ['dispatchAfterDate', (s) => s.dispatchAfterDate],
      ['modifiedDate', (s) => s.updatedAt],
      ['cancellationDate', (s) => maxOf(s.items.map((i) => i.cancellationDate))],
    ];
    const checks: ((s: SbShipment) => boolean)[] = [];
    for (const [name, value] of ranges) {
      const r = f[name];
      if (r === undefined || r === null) continue;
      if (!isObject(r)) return badRequest(`filter.${name} must be an object {from, to}`);
      const from = r.from === undefined ? undefined : isoMs(r.from);
      const to = r.to === undefined ? undefined : isoMs(r.to);
      if (from === null || to === null)
        return badRequest(`filter.${name}: from/to must be ISO 8601 date-times`);
      checks.push((s) => {
        const v = value(s);
        return v !== undefined && (from === undefined || v >= from) && (to === undefined || v <= to);
      });
    }
    if (typeof f.locationId === 'string') checks.push((s) => s.locationId === f.locationId);
    if (typeof f.hold === 'boolean') checks.push((s) => s.hold === f.hold);
    if (Array.isArray(f.sku) && f.sku.length > 0) {
      const wanted = new Set(f.sku);
      checks.push((s) => s.items.some((i) => wanted.has(i.sku)));
    }
    if (Array.isArray(f.shipmentTypes) && f.shipmentTypes.length > 0) {
      const wanted = new Set(f.shipmentTypes);
      checks.push((s) => wanted.has(s.shipmentType));
    }
    const pagination = isObject(body.pagination) ? body.pagination : {};
    const pageSize = pagination.pageSize ?? 20;
    if (
      typeof pageSize !== 'number' ||
      !Number.isInteger(pageSize) ||
      pageSize < 1 ||
      pageSize > maxPageSize
    ) {
      return badRequest(`pagination.pageSize must be a whole number from 1 to ${maxPageSize}`);
    }
    const sort = isObject(body.sort) ? body.sort : {};
    const field = sort.field ?? 'modifiedDate';
    if (typeof field !== 'string' || !SORT_FIELDS.has(field))
      return badRequest(`sort.field ${String(field)} is not valid`);
    const order = sort.order ?? 'asc';
    if (order !== 'asc' && order !== 'desc') return badRequest('sort.order must be asc or desc');

    settle();
    const matched = [...shipments.values()].filter((s) => {
      if (states && !states.has(state(s))) return false;
      if (cancelledBy && !s.items.some((i) => i.status === 'CANCELLED' && i.cancelledBy === cancelledBy))
        return false;
      return checks.every((c) => c(s));
    });
    const key = (s: SbShipment): number =>
      field === 'orderDate'
        ? s.orderDate
        : field === 'dispatchByDate'
          ? s.dispatchByDate
          : field === 'dispatchAfterDate'
            ? s.dispatchAfterDate
            : s.updatedAt;
    const sign = order === 'asc' ? 1 : -1;
    matched.sort((a, b) => sign * (key(a) - key(b)) || (a.shipmentId < b.shipmentId ? -1 : 1));
    return pageReply({ ids: matched.map((s) => s.shipmentId), offset: 0, pageSize });
  }

  function pageReply(t: PageToken): Reply {
    const ids = t.ids.slice(t.offset, t.offset + t.pageSize);
    const end = t.offset + ids.length;
    const hasMore = end < t.ids.length;
    let nextPageUrl: string | null = null;
    if (hasMore) {
      const token = randomBytes(24).toString('base64'); // holds '+', '/', '='
      const nextOffset = repeat && ids.length > 1 ? end - 1 : end;
      pageTokens.set(token, { ...t, offset: nextOffset });
      nextPageUrl = `${SHIPMENTS_V3_PATH}/filter?next_token=${encodeURIComponent(token)}`;
    }
    const list = ids.map((id) => shipments.get(id)).filter((s): s is SbShipment => s !== undefined);
    return { status: 200, body: { hasMore, nextPageUrl, shipments: list.map(wire) } };
  }

  app.post(`/sellers${SHIPMENTS_V3_PATH}/filter`, async (req, reply) => {
    const r = deps.gate('searchShipments', req.headers.authorization) ?? searchReply(req.body);
    deps.record('searchShipments', [], r.status);
    return deps.respond(reply, r);
  });

  app.get(`/sellers${SHIPMENTS_V3_PATH}/filter`, async (req, reply) => {
    const q = isObject(req.query) ? req.query : {};
    const token = typeof q.next_token === 'string' ? q.next_token : undefined;
    let r = deps.gate('searchShipments', req.headers.authorization);
    if (!r) {
      const t = token === undefined ? undefined : pageTokens.get(token);
      if (!t) r = badRequest('next_token is missing, invalid or expired');
      else {
        settle();
        r = pageReply(t);
      }
    }
    deps.record('searchShipments', [], r.status);
    return deps.respond(reply, r);
  });

  // Details --------------------------------------------------------------------------------------
  function lookup(kind: 'shipmentIds' | 'orderIds' | 'orderItemIds', ids: string[]): Reply {
    if (ids.length === 0) return badRequest(`${kind} is empty`);
    if (ids.length > MAX_IDS_PER_LOOKUP) return badRequest(`At most ${MAX_IDS_PER_LOOKUP} ids per request`);
    settle();
    const wanted = new Set(ids);
    const found = [...shipments.values()].filter((s) =>
      kind === 'shipmentIds'
        ? wanted.has(s.shipmentId)
        : kind === 'orderIds'
          ? s.items.some((i) => wanted.has(i.orderId))
          : s.items.some((i) => wanted.has(i.orderItemId)),
    );
    return { status: 200, body: { shipments: found.map(wire) } };
  }

  app.get(`/sellers${SHIPMENTS_V3_PATH}`, async (req, reply) => {
    const q = isObject(req.query) ? req.query : {};
    const kinds = (['shipmentIds', 'orderIds', 'orderItemIds'] as const).filter(
      (k) => typeof q[k] === 'string',
    );
    let r = deps.gate('getShipments', req.headers.authorization);
    if (!r) {
      r =
        kinds.length !== 1
          ? badRequest('Exactly one of shipmentIds, orderIds, orderItemIds is required')
          : lookup(kinds[0]!, splitIds(q[kinds[0]!] as string));
    }
    deps.record('getShipments', [], r.status);
    return deps.respond(reply, r);
  });

  app.get(`/sellers${SHIPMENTS_V3_PATH}/:shipmentIds`, async (req, reply) => {
    const params = req.params as { shipmentIds: string };
    const r =
      deps.gate('getShipments', req.headers.authorization) ??
      lookup('shipmentIds', splitIds(params.shipmentIds));
    deps.record('getShipments', [], r.status);
    return deps.respond(reply, r);
  });

  // Actions --------------------------------------------------------------------------------------
  type Result =
    | { shipmentId: string; ok: true }
    | { shipmentId: string; ok: false; code: string; message: string };

  function action(
    op: FlipkartOperation,
    max: number,
    statusField: 'status' | 'processingStatus',
    entries: (body: unknown) => unknown[] | string,
    one: (entry: Record<string, unknown>, body: Record<string, unknown>) => Result,
  ) {
    return async (req: FastifyRequest, reply: FastifyReply) => {
      let r = deps.gate(op, req.headers.authorization);
      let ids: string[] = [];
      if (!r) {
        const list = entries(req.body);
        if (typeof list === 'string') r = badRequest(list);
        else if (list.length === 0 || list.length > max)
          r = badRequest(`1 to ${max} shipments per request, got ${list.length}`);
        else {
          settle();
          const body = req.body as Record<string, unknown>;
          const results = list.map((e) =>
            isObject(e) && typeof e.shipmentId === 'string'
              ? one(e, body)
              : ({
                  shipmentId: String(isObject(e) ? e.shipmentId : e),
                  ok: false,
                  code: 'INVALID_REQUEST',
                  message: 'shipmentId is required',
                } as Result),
          );
          ids = results.map((x) => x.shipmentId);
          r = {
            status: 200,
            body: {
              shipments: results.map((x) =>
                x.ok
                  ? { shipmentId: x.shipmentId, [statusField]: 'SUCCESS' }
                  : {
                      shipmentId: x.shipmentId,
                      [statusField]: 'FAILURE',
                      errorCode: x.code,
                      errorMessage: x.message,
                    },
              ),
            },
          };
        }
      }
      deps.record(op, ids, r.status);
      return deps.respond(reply, r);
    };
  }

  const fail = (shipmentId: string, code: string, message: string): Result => ({
    shipmentId,
    ok: false,
    code,
    message,
  });

  function find(e: Record<string, unknown>): SbShipment | Result {
    const id = e.shipmentId as string;
    const s = shipments.get(id);
    if (!s) return fail(id, 'SHIPMENT_NOT_FOUND', `No shipment ${id}`);
    if (typeof e.locationId === 'string' && e.locationId !== s.locationId) {
      return fail(id, 'INVALID_LOCATION_ID', `Shipment ${id} is not at location ${e.locationId}`);
    }
    return s;
  }

  const shipmentsOf = (body: unknown): unknown[] | string =>
    isObject(body) && Array.isArray(body.shipments) ? body.shipments : 'shipments must be a list';

  app.post(
    `/sellers${SHIPMENTS_V3_PATH}/labels`,
    action('generateLabels', MAX_SHIPMENTS_PER_ACTION, 'status', shipmentsOf, (e) => {
      const s = find(e);
      if ('ok' in s) return s;
      const st = state(s);
      const now = clock.now();
      if (st === 'CANCELLED') return fail(s.shipmentId, 'SHIPMENT_CANCELLED', 'The shipment is cancelled');
      if (s.hold) return fail(s.shipmentId, 'SHIPMENT_ON_HOLD', 'The shipment is on hold');
      if (now < s.dispatchAfterDate) {
        return fail(
          s.shipmentId,
          'DISPATCH_AFTER_DATE_NOT_REACHED',
          `Not actionable before ${ist(s.dispatchAfterDate)}`,
        );
      }
      if (!Array.isArray(e.invoices) || e.invoices.length === 0) {
        return fail(s.shipmentId, 'INVALID_INVOICE', 'invoices are required');
      }
      if (st !== 'APPROVED') {
        return fail(s.shipmentId, 'INVALID_SHIPMENT_STATE', `Labels cannot be requested in state ${st}`);
      }
      setState(s, 'PACKING_IN_PROGRESS', now);
      s.packAt = now + labelDelayMs;
      if (labelDelayMs === 0) settle();
      return { shipmentId: s.shipmentId, ok: true };
    }),
  );

  app.post(
    `/sellers${SHIPMENTS_V3_PATH}/dispatch`,
    action(
      'dispatchShipments',
      MAX_SHIPMENTS_PER_ACTION,
      'status',
      (body) =>
        isObject(body) && Array.isArray(body.shipmentIds)
          ? typeof body.locationId === 'string'
            ? body.shipmentIds.map((shipmentId) => ({ shipmentId, locationId: body.locationId }))
            : 'locationId is required'
          : 'shipmentIds must be a list',
      (e) => {
        const s = find(e);
        if ('ok' in s) return s;
        const st = state(s);
        if (s.shipmentType === 'SELF') {
          return fail(
            s.shipmentId,
            'SELF_SHIP_SHIPMENT',
            'Self-ship shipments are dispatched with selfShip/dispatch',
          );
        }
        if (st !== 'PACKED')
          return fail(s.shipmentId, 'INVALID_SHIPMENT_STATE', `Cannot mark ready to dispatch in state ${st}`);
        setState(s, 'READY_TO_DISPATCH', clock.now());
        return { shipmentId: s.shipmentId, ok: true };
      },
    ),
  );

  app.post(
    `/sellers${SHIPMENTS_V3_PATH}/selfShip/dispatch`,
    action('dispatchShipments', MAX_SELF_SHIP_PER_CALL, 'processingStatus', shipmentsOf, (e) => {
      const s = find(e);
      if ('ok' in s) return s;
      const st = state(s);
      if (s.shipmentType !== 'SELF')
        return fail(s.shipmentId, 'NOT_SELF_SHIP', 'Flipkart ships this shipment');
      if (typeof e.trackingId !== 'string' || e.trackingId === '') {
        return fail(s.shipmentId, 'INVALID_TRACKING_ID', 'trackingId is required');
      }
      if (typeof e.deliveryPartner !== 'string' || e.deliveryPartner === '') {
        return fail(s.shipmentId, 'INVALID_DELIVERY_PARTNER', 'deliveryPartner is required');
      }
      if (st !== 'PACKED' && st !== 'READY_TO_DISPATCH') {
        return fail(s.shipmentId, 'INVALID_SHIPMENT_STATE', `Cannot dispatch in state ${st}`);
      }
      setState(s, 'SHIPPED', clock.now());
      s.trackingId = e.trackingId;
      s.deliveryPartner = e.deliveryPartner;
      return { shipmentId: s.shipmentId, ok: true };
    }),
  );

  app.post(
    `/sellers${SHIPMENTS_V3_PATH}/cancel`,
    action('cancelShipments', MAX_SHIPMENTS_PER_ACTION, 'status', shipmentsOf, (e) => {
      const s = find(e);
      if ('ok' in s) return s;
      if (typeof e.reason !== 'string' || !CANCEL_REASONS.has(e.reason)) {
        return fail(
          s.shipmentId,
          'EMPTY_OR_INVALID_REASON_FOR_CANCELLATION',
          'Reason for cancellation is empty or invalid',
        );
      }
      const groups = Array.isArray(e.cancellationGroupIds) ? new Set(e.cancellationGroupIds) : new Set();
      const items = s.items.filter((i) => i.status !== 'CANCELLED' && groups.has(i.cancellationGroupId));
      if (items.length === 0) {
        return fail(
          s.shipmentId,
          'INVALID_CANCELLATION_GROUP',
          'No cancellable item in the given cancellation groups',
        );
      }
      const st = state(s);
      if (st !== 'APPROVED' && st !== 'PACKING_IN_PROGRESS') {
        return fail(
          s.shipmentId,
          'SHIPMENT_ALREADY_PACKED',
          `Shipment cannot be cancelled by the seller after it is packed (state ${st})`,
        );
      }
      cancelItems(s, items, 'seller', e.reason);
      return { shipmentId: s.shipmentId, ok: true };
    }),
  );

  // Control --------------------------------------------------------------------------------------
  return {
    createOrders,
    buyerCancel: (orderId) => externalCancel(orderId, 'buyer'),
    marketplaceCancel: (orderId) => externalCancel(orderId, 'marketplace'),
    repeatPages: (on) => {
      repeat = on;
    },
    orderSnapshot: () => {
      settle();
      const out: Record<string, FlipkartSandboxOrderSnapshot> = {};
      for (const [orderId, list] of byOrder) {
        const live = list.filter((s) => state(s) !== 'CANCELLED');
        const ranked = live
          .map((s) => normaliseFlipkartStatus(state(s), s.hold))
          .sort((a, b) => RANK.indexOf(a) - RANK.indexOf(b));
        const snap: FlipkartSandboxOrderSnapshot = { status: ranked[0] ?? 'cancelled' };
        const tracked = list.find((s) => s.trackingId !== undefined);
        if (tracked?.trackingId !== undefined && ['shipped', 'delivered'].includes(snap.status)) {
          snap.shipped = { trackingNumber: tracked.trackingId };
        }
        const cancelled = list.flatMap((s) => s.items).find((i) => i.cancelledBy !== undefined);
        if (cancelled?.cancelledBy) snap.cancelledBy = cancelled.cancelledBy;
        out[orderId] = snap;
      }
      return out;
    },
    holdOrder: (orderId, on) => {
      for (const s of orderShipments(orderId)) {
        s.hold = on;
        s.updatedAt = Math.max(s.updatedAt, clock.now());
      }
    },
    markShipped: (orderId) => {
      for (const s of orderShipments(orderId)) {
        if (state(s) !== 'READY_TO_DISPATCH') continue;
        setState(s, 'SHIPPED', clock.now());
        s.trackingId ??= `FMPC${String(trackingSeq++).padStart(10, '0')}`;
        s.deliveryPartner ??= 'Ekart';
      }
    },
    markDelivered: (orderId) => {
      for (const s of orderShipments(orderId))
        if (state(s) === 'SHIPPED') setState(s, 'DELIVERED', clock.now());
    },
    setLabelDelay: (ms) => {
      labelDelayMs = Math.max(0, ms);
    },
    shipments: () => {
      settle();
      return [...shipments.values()].map(wire);
    },
  };
}

const RANK: OrderStatus[] = ['pending', 'unshipped', 'packed', 'shipped', 'delivered', 'cancelled'];

function badRequest(description: string): Reply {
  return { status: 400, body: { errors: [{ severity: 'ERROR', code: 400, description }] } };
}

/** ISO 8601 date-time (with time and zone or Z); null otherwise (§4 F13). */
function isoMs(v: unknown): number | null {
  if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(v))
    return null;
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : t;
}

/** `2026-11-20T09:30:00.000+05:30`. */
function ist(ms: number): string {
  return `${new Date(ms + IST_OFFSET_MS).toISOString().slice(0, 23)}+05:30`;
}

function maxOf(values: (number | undefined)[]): number | undefined {
  const v = values.filter((x): x is number => x !== undefined);
  return v.length === 0 ? undefined : Math.max(...v);
}

function splitIds(raw: string): string[] {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function hex(rand: () => number, n: number): string {
  return Array.from({ length: n }, () => Math.floor(rand() * 16).toString(16)).join('');
}

/** Small seeded PRNG (repeatable orders). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
