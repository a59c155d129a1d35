/**
 * The orders part of the Amazon sandbox (reference §1.7–1.10, §4 F10–F14, F20, F21): Orders API
 * 2026-01-01 searchOrders / getOrder, Orders v0 confirmShipment, and the XML order acknowledgement
 * feed (POST_ORDER_ACKNOWLEDGEMENT_DATA, handled by the sandbox's Feeds API through a feed-type
 * handler). State lives in memory; time is the injected clock, also sent as the `Date` header.
 *
 * Emulated:
 *  - seeded, repeatable orders for given SKUs; Pending → Unshipped (after `pendingMs`, or
 *    authorizeOrders) → Shipped / Canceled; buyer cancellation requests on the items;
 *  - searchOrders: exactly one of createdAfter/lastUpdatedAfter, ISO date-times only (F13),
 *    `*Before` at least two minutes before the server's now (400 InvalidInput, F12); pages are a
 *    snapshot taken at the first page; pagination tokens contain '+', '/' and '=', must be sent
 *    percent-encoded, with the same filters, and expire (24 h, or expirePaginationTokens) (F14);
 *    repeatPages makes every next page repeat the last order of the previous one (F11);
 *  - late orders: visible now with a lastUpdatedTime in the past (F11);
 *  - confirmShipment: 204; 400 "Invalid Input" without carrierCode (amazon.in), 'Other' without
 *    carrierName, bad items, pending or cancelled order (F20); 404 unknown order;
 *  - token buckets per (operation, app) with the published rates × rateScale; 429 without
 *    x-amzn-RateLimit-Limit.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../../core/clock.js';
import type { OrderStatus } from '../../domain/orders.js';
import { isObject } from '../sandbox.js';
import type { OrdersOperation } from './orders.js';
import type { SandboxFeedTypeHandler } from './sandbox-feeds.js';

const ORDERS_2026 = '/orders/2026-01-01/orders';
const ORDERS_V0 = '/orders/v0/orders';
const TWO_MINUTES = 2 * 60_000;
const TOKEN_TTL_MS = 24 * 3600_000;
const DENIED = 'Access to requested resource is denied.';

export const ORDER_ACKNOWLEDGEMENT_FEED_TYPE = 'POST_ORDER_ACKNOWLEDGEMENT_DATA';

type AmazonStatus = 'PENDING' | 'UNSHIPPED' | 'PARTIALLY_SHIPPED' | 'SHIPPED' | 'CANCELLED';
const FULFILLMENT_STATUSES = new Set([
  'PENDING_AVAILABILITY',
  'PENDING',
  'UNSHIPPED',
  'PARTIALLY_SHIPPED',
  'SHIPPED',
  'CANCELLED',
  'UNFULFILLABLE',
]);
const INCLUDED_DATA = new Set([
  'BUYER',
  'RECIPIENT',
  'PROCEEDS',
  'EXPENSE',
  'PROMOTION',
  'CANCELLATION',
  'FULFILLMENT',
  'PACKAGES',
  'TAX',
  'PAYMENT',
  'FULFILLMENT_ORDERS',
]);
const CANCEL_REASONS = new Set([
  'NoInventory',
  'ShippingAddressUndeliverable',
  'CustomerExchange',
  'BuyerCanceled',
  'GeneralAdjustment',
  'CarrierCreditDecision',
  'RiskAssessmentInformationNotValid',
  'CarrierCoverageFailure',
  'CustomerReturn',
  'MerchandiseNotReceived',
]);

/** What the orders part needs from the sandbox around it. */
export interface OrdersSandboxContext {
  clock: Clock;
  authorize(
    header: string | string[] | undefined,
  ): { ok: true; app: string } | { ok: false; details: string };
  /** Takes a token of the operation's bucket (false: 429). */
  takeToken(op: OrdersOperation, app: string): boolean;
  rateHeader(op: OrdersOperation): string;
  quotaBody(): unknown;
  /** Default A21TJRUUN4KGV. */
  marketplaceId?: string;
}

export interface OrdersSandboxOptions {
  /** Pending → Unshipped after this long (payment authorised). Default 60 s. */
  pendingMs?: number;
  /** Ship-by window end after the purchase. Default 2 days. */
  shipByMs?: number;
  /** Pagination token lifetime. Default 24 h. */
  paginationTokenTtlMs?: number;
}

export interface CreateOrdersOptions {
  count: number;
  skus: readonly string[];
  /** Same seed, same orders (ids stay unique). Default: a new seed per call. */
  seed?: number;
  /** Start Pending (no prices, no address) instead of Unshipped. */
  pendingFirst?: boolean;
  /** The orders are visible now but their lastUpdatedTime (and purchase time) is this far in the past. */
  lateByMs?: number;
}

export interface SandboxOrderSnapshot {
  status: OrderStatus;
  /** Amazon's own word (UNSHIPPED, PARTIALLY_SHIPPED, …). */
  amazonStatus: string;
  shipped?: { carrierCode: string; carrierName?: string; trackingNumber: string };
  cancelledBy?: 'seller' | 'buyer' | 'marketplace';
  buyerCancelRequested: boolean;
  lastUpdatedTime: string;
}

export interface OrdersSandboxControl {
  /** New orders (ids returned in creation order). */
  createOrders(opts: CreateOrdersOptions): string[];
  /** The buyer asks to cancel: a cancellation request on every open item; lastUpdatedTime bumped. */
  buyerCancel(orderId: string): void;
  /** Amazon cancels the order (Canceled, cancelledBy 'marketplace'). */
  marketplaceCancel(orderId: string): void;
  /** While on, every next page repeats the last order of the previous page. */
  repeatPages(on: boolean): void;
  /** Pending orders (these, or all) become Unshipped now. */
  authorizeOrders(orderIds?: readonly string[]): void;
  /** Every pagination token issued so far is expired. */
  expirePaginationTokens(): void;
  orderSnapshot(): Record<string, SandboxOrderSnapshot>;
}

interface StoredItem {
  orderItemId: string;
  sku: string;
  asin: string;
  title: string;
  quantity: number;
  unitPrice: number;
  shipped: number;
  cancelled: boolean;
  buyerCancelReason?: string;
}

interface StoredOrder {
  orderId: string;
  seq: number;
  createdAt: number;
  updatedAt: number;
  status: AmazonStatus;
  pendingUntil?: number;
  shipByEarliest: number;
  shipByLatest: number;
  address: Record<string, string>;
  items: StoredItem[];
  shipped?: { carrierCode: string; carrierName?: string; trackingNumber: string };
  cancelledBy?: 'seller' | 'buyer' | 'marketplace';
}

interface StoredToken {
  filterKey: string;
  /** The window's effective upper bound (echoed as lastUpdatedBefore / createdBefore). */
  upper: number;
  ids: string[];
  offset: number;
  expiresAt: number;
}

interface Reply {
  status: number;
  body?: unknown;
}

const CITIES = [
  { city: 'Mumbai', state: 'Maharashtra', pin: '400001' },
  { city: 'Bengaluru', state: 'Karnataka', pin: '560001' },
  { city: 'New Delhi', state: 'Delhi', pin: '110001' },
  { city: 'Chennai', state: 'Tamil Nadu', pin: '600001' },
  { city: 'Kolkata', state: 'West Bengal', pin: '700001' },
  { city: 'Pune', state: 'Maharashtra', pin: '411001' },
  { city: 'Hyderabad', state: 'Telangana', pin: '500001' },
];
const NAMES = ['Aarav Sharma', 'Diya Patel', 'Vivaan Rao', 'Ananya Iyer', 'Kabir Singh', 'Isha Nair'];

export function installOrdersApi(
  app: FastifyInstance,
  ctx: OrdersSandboxContext,
  opts: OrdersSandboxOptions = {},
): { control: OrdersSandboxControl; acknowledgementFeed: SandboxFeedTypeHandler } {
  const { clock } = ctx;
  const marketplaceId = ctx.marketplaceId ?? 'A21TJRUUN4KGV';
  const pendingMs = opts.pendingMs ?? 60_000;
  const shipByMs = opts.shipByMs ?? 2 * 24 * 3600_000;
  const tokenTtlMs = opts.paginationTokenTtlMs ?? TOKEN_TTL_MS;
  const orders = new Map<string, StoredOrder>();
  const tokens = new Map<string, StoredToken>();
  let repeat = false;
  let seq = 0;
  let nextSeed = 1;

  /** Pending orders whose payment time has come are Unshipped since then. */
  function settle(): void {
    const now = clock.now();
    for (const o of orders.values()) {
      if (o.status === 'PENDING' && o.pendingUntil !== undefined && o.pendingUntil <= now) {
        o.status = 'UNSHIPPED';
        o.updatedAt = Math.max(o.updatedAt, o.pendingUntil);
        o.pendingUntil = undefined;
      }
    }
  }

  // Generation ----------------------------------------------------------------------------------
  function createOrders(o: CreateOrdersOptions): string[] {
    if (o.skus.length === 0) throw new Error('createOrders: no SKUs');
    const random = mulberry32(o.seed ?? nextSeed++);
    const digits = (n: number) => Array.from({ length: n }, () => Math.floor(random() * 10)).join('');
    const now = clock.now();
    const at = now - Math.max(0, o.lateByMs ?? 0);
    const ids: string[] = [];
    for (let i = 0; i < o.count; i++) {
      let orderId = `40${digits(1)}-${digits(7)}-${digits(7)}`;
      while (orders.has(orderId)) orderId = `40${digits(1)}-${digits(7)}-${digits(7)}`;
      const lines = 1 + Math.floor(random() * 2);
      const items: StoredItem[] = [];
      const used = new Set<string>();
      for (let l = 0; l < lines; l++) {
        const sku = o.skus[Math.floor(random() * o.skus.length)]!;
        if (used.has(sku)) continue;
        used.add(sku);
        items.push({
          orderItemId: digits(14),
          sku,
          asin: `B0${digits(8)}`,
          title: `Sandbox product ${sku}`,
          quantity: 1 + Math.floor(random() * 3),
          unitPrice: 199 + Math.floor(random() * 9800),
          shipped: 0,
          cancelled: false,
        });
      }
      const c = CITIES[Math.floor(random() * CITIES.length)]!;
      const order: StoredOrder = {
        orderId,
        seq: ++seq,
        createdAt: at,
        updatedAt: at,
        status: o.pendingFirst ? 'PENDING' : 'UNSHIPPED',
        shipByEarliest: at,
        shipByLatest: at + shipByMs,
        address: {
          name: NAMES[Math.floor(random() * NAMES.length)]!,
          addressLine1: `${1 + Math.floor(random() * 200)} MG Road`,
          city: c.city,
          stateOrRegion: c.state,
          postalCode: c.pin,
          countryCode: 'IN',
          phone: `+91 9${digits(9)}`,
        },
        items,
      };
      if (o.pendingFirst) order.pendingUntil = now + pendingMs;
      orders.set(orderId, order);
      ids.push(orderId);
    }
    return ids;
  }

  // Views ---------------------------------------------------------------------------------------
  function orderBody(o: StoredOrder, included: Set<string>) {
    const pending = o.status === 'PENDING';
    const body: Record<string, unknown> = {
      orderId: o.orderId,
      createdTime: iso(o.createdAt),
      lastUpdatedTime: iso(o.updatedAt),
      salesChannel: { channelName: 'AMAZON', marketplaceId, marketplaceName: 'Amazon.in' },
    };
    if (included.has('FULFILLMENT')) {
      body.fulfillment = {
        fulfillmentStatus: o.status,
        fulfilledBy: 'MERCHANT',
        fulfillmentServiceLevel: 'STANDARD',
        shipByWindow: { earliestDateTime: iso(o.shipByEarliest), latestDateTime: iso(o.shipByLatest) },
      };
    }
    if (included.has('RECIPIENT') && ['UNSHIPPED', 'PARTIALLY_SHIPPED', 'SHIPPED'].includes(o.status)) {
      body.recipient = { deliveryAddress: { ...o.address, addressType: 'RESIDENTIAL' } };
    }
    body.orderItems = o.items.map((it) => {
      const product: Record<string, unknown> = { asin: it.asin, title: it.title, sellerSku: it.sku };
      if (!pending) {
        product.price = { unitPrice: { amount: it.unitPrice.toFixed(2), currencyCode: 'INR' } };
      }
      const item: Record<string, unknown> = {
        orderItemId: it.orderItemId,
        quantityOrdered: it.quantity,
        product,
      };
      if (included.has('CANCELLATION') && it.buyerCancelReason !== undefined) {
        item.cancellation = {
          cancellationRequest: { requester: 'BUYER', cancelReason: it.buyerCancelReason },
        };
      }
      if (included.has('FULFILLMENT')) {
        item.fulfillment = { quantityFulfilled: it.shipped, quantityUnfulfilled: it.quantity - it.shipped };
      }
      return item;
    });
    return body;
  }

  // HTTP ----------------------------------------------------------------------------------------
  type Req = FastifyRequest<{
    Params: Record<string, string>;
    Querystring: Record<string, string | string[] | undefined>;
  }>;

  function api(op: OrdersOperation, handler: (req: Req) => Reply) {
    return async (req: Req, reply: FastifyReply) => {
      settle();
      const send = (r: Reply, withRate: boolean) => {
        void reply
          .code(r.status)
          .header('x-amzn-RequestId', randomUUID())
          .header('date', new Date(clock.now()).toUTCString());
        if (withRate) void reply.header('x-amzn-RateLimit-Limit', ctx.rateHeader(op));
        return r.body === undefined ? reply.send() : reply.send(r.body);
      };
      const auth = ctx.authorize(req.headers['x-amz-access-token']);
      if (!auth.ok)
        return send({ status: 403, body: errorList('Unauthorized', DENIED, auth.details) }, false);
      if (!ctx.takeToken(op, auth.app)) return send({ status: 429, body: ctx.quotaBody() }, false);
      return send(handler(req), true);
    };
  }

  app.get(
    ORDERS_2026,
    api('searchOrders', (req) => {
      const q = req.query;
      const single = (name: string): string | undefined => {
        const v = q[name];
        return Array.isArray(v) ? v.join(',') : v;
      };
      const dates: Record<string, number | undefined> = {};
      const badDates: string[] = [];
      for (const name of ['createdAfter', 'createdBefore', 'lastUpdatedAfter', 'lastUpdatedBefore']) {
        const v = single(name);
        if (v === undefined) continue;
        const ms = isoDateTime(v);
        if (ms === undefined) badDates.push(name);
        else dates[name] = ms;
      }
      if (badDates.length > 0) return badRequest(`Invalid date-time field(s) [${badDates.join(', ')}]`);
      const byCreated = dates.createdAfter !== undefined;
      const byUpdated = dates.lastUpdatedAfter !== undefined;
      if (byCreated === byUpdated) {
        return badRequest('Exactly one of createdAfter and lastUpdatedAfter must be provided.');
      }
      if (byUpdated && dates.createdBefore !== undefined) {
        return badRequest('createdBefore cannot be combined with lastUpdatedAfter.');
      }
      if (byCreated && dates.lastUpdatedBefore !== undefined) {
        return badRequest('lastUpdatedBefore cannot be combined with createdAfter.');
      }
      const now = clock.now();
      const afterName = byCreated ? 'createdAfter' : 'lastUpdatedAfter';
      const beforeName = byCreated ? 'createdBefore' : 'lastUpdatedBefore';
      const after = dates[afterName]!;
      const before = dates[beforeName];
      if (before !== undefined && before > now - TWO_MINUTES) {
        return badRequest(`${beforeName} must be at least two minutes before the time of the request.`);
      }
      if (after > now - TWO_MINUTES) {
        return badRequest(`${afterName} must be at least two minutes before the time of the request.`);
      }
      if (before !== undefined && before < after) {
        return badRequest(`${beforeName} must be equal to or after ${afterName}.`);
      }
      const statuses = csv(q.fulfillmentStatuses);
      const badStatus = statuses.filter((s) => !FULFILLMENT_STATUSES.has(s));
      if (badStatus.length > 0) return badRequest(`Invalid fulfillmentStatuses: ${badStatus.join(', ')}.`);
      const fulfilledBy = csv(q.fulfilledBy);
      if (fulfilledBy.some((f) => f !== 'MERCHANT' && f !== 'AMAZON')) {
        return badRequest('Invalid fulfilledBy value.');
      }
      const marketplaceIds = csv(q.marketplaceIds);
      if (marketplaceIds.length > 50) return badRequest('marketplaceIds accepts at most 50 values.');
      const included = new Set(csv(q.includedData));
      const badIncluded = [...included].filter((d) => !INCLUDED_DATA.has(d));
      if (badIncluded.length > 0) return badRequest(`Invalid includedData: ${badIncluded.join(', ')}.`);
      const maxRaw = single('maxResultsPerPage');
      const max = maxRaw === undefined ? 100 : Number(maxRaw);
      if (!Number.isInteger(max) || max < 1 || max > 100) {
        return badRequest('maxResultsPerPage must be an integer between 1 and 100.');
      }
      // The filters a token belongs to (all but maxResultsPerPage and includedData).
      const filterKey = JSON.stringify([
        single('createdAfter'),
        single('createdBefore'),
        single('lastUpdatedAfter'),
        single('lastUpdatedBefore'),
        statuses,
        fulfilledBy,
        marketplaceIds,
      ]);
      const tokenText = single('paginationToken');
      let state: StoredToken;
      if (tokenText !== undefined) {
        const t = tokens.get(tokenText);
        if (!t) {
          return badRequest('We could not decode your NextToken. Please check your input and try again.');
        }
        if (t.expiresAt <= now) return badRequest('Next token is invalid or expired.');
        if (t.filterKey !== filterKey) {
          return badRequest('The paginationToken does not belong to these request parameters.');
        }
        state = t;
      } else {
        const upper = before ?? now - TWO_MINUTES;
        const matches = [...orders.values()].filter((o) => {
          const t = byCreated ? o.createdAt : o.updatedAt;
          if (t < after || t > upper) return false;
          if (statuses.length > 0 && !statuses.includes(o.status)) return false;
          if (fulfilledBy.length > 0 && !fulfilledBy.includes('MERCHANT')) return false;
          if (marketplaceIds.length > 0 && !marketplaceIds.includes(marketplaceId)) return false;
          return true;
        });
        matches.sort(
          (a, b) => (byCreated ? a.createdAt - b.createdAt : a.updatedAt - b.updatedAt) || a.seq - b.seq,
        );
        state = {
          filterKey,
          upper,
          ids: matches.map((o) => o.orderId),
          offset: 0,
          expiresAt: now + tokenTtlMs,
        };
      }
      const repeated = repeat && state.offset > 0 && max > 1 ? [state.ids[state.offset - 1]!] : [];
      const fresh = state.ids.slice(state.offset, state.offset + max - repeated.length);
      const nextOffset = state.offset + fresh.length;
      const body: Record<string, unknown> = {
        orders: [...repeated, ...fresh]
          .map((id) => orders.get(id))
          .filter((o): o is StoredOrder => o !== undefined)
          .map((o) => orderBody(o, included)),
      };
      if (nextOffset < state.ids.length) {
        const next = newToken();
        tokens.set(next, { ...state, offset: nextOffset, expiresAt: now + tokenTtlMs });
        body.pagination = { nextToken: next };
      }
      body[beforeName] = iso(state.upper);
      return { status: 200, body };
    }),
  );

  app.get(
    `${ORDERS_2026}/:orderId`,
    api('getOrder2026', (req) => {
      const included = new Set(csv(req.query.includedData));
      const bad = [...included].filter((d) => !INCLUDED_DATA.has(d));
      if (bad.length > 0) return badRequest(`Invalid includedData: ${bad.join(', ')}.`);
      const o = orders.get(req.params.orderId ?? '');
      if (!o) return { status: 404, body: errorList('NotFound', `Order ${req.params.orderId} not found.`) };
      return { status: 200, body: { order: orderBody(o, included) } };
    }),
  );

  app.post(
    `${ORDERS_V0}/:orderId/shipmentConfirmation`,
    api('confirmShipment', (req) => {
      const o = orders.get(req.params.orderId ?? '');
      if (!o) return { status: 404, body: errorList('NotFound', `Order ${req.params.orderId} not found.`) };
      const body = req.body as unknown;
      if (!isObject(body) || typeof body.marketplaceId !== 'string' || !isObject(body.packageDetail)) {
        return invalidInput('marketplaceId and packageDetail are required.');
      }
      if (body.marketplaceId !== marketplaceId) {
        return invalidInput(`marketplaceId ${body.marketplaceId} is not this order's marketplace.`);
      }
      const p = body.packageDetail;
      if (typeof p.packageReferenceId !== 'string' || !/^[1-9]\d*$/.test(p.packageReferenceId)) {
        return invalidInput('packageReferenceId must be a positive numeric string.');
      }
      if (typeof p.carrierCode !== 'string' || p.carrierCode.trim() === '') {
        return invalidInput(
          `carrierCode is required for shipment confirmations in marketplace ${marketplaceId}.`,
        );
      }
      if (p.carrierCode === 'Other' && (typeof p.carrierName !== 'string' || p.carrierName.trim() === '')) {
        return invalidInput('carrierName is required when carrierCode is Other.');
      }
      if (typeof p.trackingNumber !== 'string' || p.trackingNumber.trim() === '') {
        return invalidInput('trackingNumber is required.');
      }
      if (typeof p.shipDate !== 'string' || isoDateTime(p.shipDate) === undefined) {
        return invalidInput('shipDate must be an ISO 8601 date-time.');
      }
      const lines = Array.isArray(p.orderItems) ? p.orderItems : [];
      if (
        lines.length === 0 ||
        !lines.every(
          (l) =>
            isObject(l) &&
            typeof l.orderItemId === 'string' &&
            typeof l.quantity === 'number' &&
            Number.isInteger(l.quantity) &&
            l.quantity >= 1,
        )
      ) {
        return invalidInput('orderItems must list orderItemId and a positive integer quantity.');
      }
      if (o.status === 'CANCELLED')
        return invalidInput(`Order ${o.orderId} is canceled and cannot be shipped.`);
      if (o.status === 'PENDING')
        return invalidInput(`Order ${o.orderId} is pending and cannot be shipped yet.`);
      const wanted = lines as { orderItemId: string; quantity: number }[];
      for (const l of wanted) {
        const item = o.items.find((i) => i.orderItemId === l.orderItemId);
        if (!item) return invalidInput(`orderItemId ${l.orderItemId} is not part of order ${o.orderId}.`);
        if (item.cancelled) return invalidInput(`orderItemId ${l.orderItemId} is canceled.`);
        if (o.status !== 'SHIPPED' && l.quantity > item.quantity - item.shipped) {
          return invalidInput(
            `quantity ${l.quantity} of orderItemId ${l.orderItemId} exceeds the unshipped quantity.`,
          );
        }
      }
      if (o.status !== 'SHIPPED') {
        for (const l of wanted) {
          const item = o.items.find((i) => i.orderItemId === l.orderItemId)!;
          item.shipped += l.quantity;
        }
        const open = o.items.filter((i) => !i.cancelled);
        o.status = open.every((i) => i.shipped >= i.quantity) ? 'SHIPPED' : 'PARTIALLY_SHIPPED';
      }
      o.shipped = {
        carrierCode: p.carrierCode,
        ...(typeof p.carrierName === 'string' && p.carrierName !== '' ? { carrierName: p.carrierName } : {}),
        trackingNumber: p.trackingNumber,
      };
      o.updatedAt = clock.now();
      return { status: 204 };
    }),
  );

  // Acknowledgement feed ------------------------------------------------------------------------
  const acknowledgementFeed: SandboxFeedTypeHandler = {
    count(bytes) {
      const xml = bytes.toString('utf8');
      if (!/<MessageType>\s*OrderAcknowledgement\s*<\/MessageType>/.test(xml)) return null;
      return [...xml.matchAll(/<Message>/g)].length;
    },
    process(bytes, feedId) {
      settle();
      const xml = bytes.toString('utf8');
      const merchant = xmlTag(xml, 'MerchantIdentifier') ?? '';
      const errors: { messageId: string; code: string; description: string; orderId?: string }[] = [];
      const messages = [...xml.matchAll(/<Message>([\s\S]*?)<\/Message>/g)].map((m) => m[1]!);
      for (const m of messages) {
        const messageId = xmlTag(m, 'MessageID') ?? '';
        const orderId = xmlTag(m, 'AmazonOrderID');
        const statusCode = xmlTag(m, 'StatusCode');
        const err = (code: string, description: string) =>
          errors.push({ messageId, code, description, ...(orderId === undefined ? {} : { orderId }) });
        if (orderId === undefined) {
          err('5000', 'The AmazonOrderID element is required.');
          continue;
        }
        const o = orders.get(orderId);
        if (!o) {
          err('18028', `The order ID ${orderId} was not found for this merchant.`);
          continue;
        }
        if (statusCode === 'Success') continue;
        if (statusCode !== 'Failure') {
          err('5000', `StatusCode must be Success or Failure, not '${statusCode ?? ''}'.`);
          continue;
        }
        const items = [...m.matchAll(/<Item>([\s\S]*?)<\/Item>/g)].map((i) => ({
          code: xmlTag(i[1]!, 'AmazonOrderItemCode'),
          reason: xmlTag(i[1]!, 'CancelReason'),
        }));
        if (o.status === 'CANCELLED') continue;
        if (o.status === 'SHIPPED' || o.status === 'PARTIALLY_SHIPPED') {
          err(
            '18181',
            `Order ${orderId} cannot be canceled because it has already been shipped (status ${o.status}).`,
          );
          continue;
        }
        const badReason = items.find((i) => i.reason === undefined || !CANCEL_REASONS.has(i.reason));
        if (badReason) {
          err('5000', `CancelReason '${badReason.reason ?? ''}' is not a valid value.`);
          continue;
        }
        const unknown = items.find((i) => !o.items.some((x) => x.orderItemId === i.code));
        if (unknown) {
          err('18029', `AmazonOrderItemCode ${unknown.code ?? ''} is not part of order ${orderId}.`);
          continue;
        }
        const targets =
          items.length > 0 ? o.items.filter((x) => items.some((i) => i.code === x.orderItemId)) : o.items;
        for (const t of targets) t.cancelled = true;
        if (o.items.every((x) => x.cancelled)) {
          o.status = 'CANCELLED';
          const buyerAsked = o.items.some((x) => x.buyerCancelReason !== undefined);
          o.cancelledBy = buyerAsked && items.some((i) => i.reason === 'BuyerCanceled') ? 'buyer' : 'seller';
        }
        o.updatedAt = clock.now();
      }
      const results = errors
        .map(
          (e) =>
            `<Result><MessageID>${xmlEscape(e.messageId)}</MessageID><ResultCode>Error</ResultCode>` +
            `<ResultMessageCode>${e.code}</ResultMessageCode><ResultDescription>${xmlEscape(e.description)}</ResultDescription>` +
            (e.orderId === undefined
              ? ''
              : `<AdditionalInfo><AmazonOrderID>${xmlEscape(e.orderId)}</AmazonOrderID></AdditionalInfo>`) +
            '</Result>',
        )
        .join('');
      const failed = new Set(errors.map((e) => e.messageId)).size;
      const report =
        '<?xml version="1.0" encoding="UTF-8"?>\n' +
        '<AmazonEnvelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="amzn-envelope.xsd">' +
        `<Header><DocumentVersion>1.02</DocumentVersion><MerchantIdentifier>${xmlEscape(merchant)}</MerchantIdentifier></Header>` +
        '<MessageType>ProcessingReport</MessageType><Message><MessageID>1</MessageID><ProcessingReport>' +
        `<DocumentTransactionID>${xmlEscape(feedId)}</DocumentTransactionID><StatusCode>Complete</StatusCode>` +
        `<ProcessingSummary><MessagesProcessed>${messages.length}</MessagesProcessed>` +
        `<MessagesSuccessful>${messages.length - failed}</MessagesSuccessful>` +
        `<MessagesWithError>${failed}</MessagesWithError><MessagesWithWarning>0</MessagesWithWarning></ProcessingSummary>` +
        `${results}</ProcessingReport></Message></AmazonEnvelope>\n`;
      return { contentType: 'text/xml; charset=UTF-8', bytes: Buffer.from(report, 'utf8') };
    },
  };

  // Control -------------------------------------------------------------------------------------
  function mustGet(orderId: string): StoredOrder {
    settle();
    const o = orders.get(orderId);
    if (!o) throw new Error(`amazon sandbox: no order ${orderId}`);
    return o;
  }

  const control: OrdersSandboxControl = {
    createOrders,
    buyerCancel: (orderId) => {
      const o = mustGet(orderId);
      for (const it of o.items) if (!it.cancelled) it.buyerCancelReason = 'Buyer requested cancellation';
      o.updatedAt = clock.now();
    },
    marketplaceCancel: (orderId) => {
      const o = mustGet(orderId);
      o.status = 'CANCELLED';
      o.cancelledBy = 'marketplace';
      for (const it of o.items) it.cancelled = true;
      o.updatedAt = clock.now();
    },
    repeatPages: (on) => {
      repeat = on;
    },
    authorizeOrders: (ids) => {
      settle();
      const now = clock.now();
      for (const o of orders.values()) {
        if (o.status !== 'PENDING' || (ids !== undefined && !ids.includes(o.orderId))) continue;
        o.status = 'UNSHIPPED';
        o.pendingUntil = undefined;
        o.updatedAt = now;
      }
    },
    expirePaginationTokens: () => {
      for (const t of tokens.values()) t.expiresAt = Number.NEGATIVE_INFINITY;
    },
    orderSnapshot: () => {
      settle();
      const out: Record<string, SandboxOrderSnapshot> = {};
      for (const o of orders.values()) {
        const s: SandboxOrderSnapshot = {
          status: normalised(o.status),
          amazonStatus: o.status,
          buyerCancelRequested: o.items.some((i) => i.buyerCancelReason !== undefined),
          lastUpdatedTime: iso(o.updatedAt),
        };
        if (o.shipped) s.shipped = { ...o.shipped };
        if (o.cancelledBy) s.cancelledBy = o.cancelledBy;
        out[o.orderId] = s;
      }
      return out;
    },
  };

  return { control, acknowledgementFeed };
}

function normalised(s: AmazonStatus): OrderStatus {
  switch (s) {
    case 'PENDING':
      return 'pending';
    case 'UNSHIPPED':
    case 'PARTIALLY_SHIPPED':
      return 'unshipped';
    case 'SHIPPED':
      return 'shipped';
    case 'CANCELLED':
      return 'cancelled';
  }
}

/** A token with '+', '/' and '=' (standard base64), so unencoded tokens break (F14). */
function newToken(): string {
  for (;;) {
    const t = randomBytes(31).toString('base64');
    if (t.includes('+') && t.includes('/') && t.endsWith('=')) return t;
  }
}

/** ISO 8601 date-time with a time zone (no date-only values, F13); ms since epoch. */
function isoDateTime(v: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/.test(v)) return undefined;
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? undefined : ms;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function csv(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v])
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function errorList(code: string, message: string, details = '') {
  return { errors: [{ code, message, details }] };
}

function badRequest(message: string): Reply {
  return { status: 400, body: errorList('InvalidInput', message) };
}

/** confirmShipment's 400 as in the model's sandbox example (code with a space), plus details. */
function invalidInput(details: string): Reply {
  return { status: 400, body: errorList('Invalid Input', 'Invalid Input', details) };
}

function xmlTag(xml: string, name: string): string | undefined {
  const m = new RegExp(`<${name}(?:\\s[^>]*)?>([\\s\\S]*?)</${name}>`).exec(xml);
  return m ? xmlUnescape(m[1]!.trim()) : undefined;
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function xmlUnescape(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

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
