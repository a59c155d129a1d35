/**
 * Amazon SP-API orders (reference §1.7–1.9, §4 F1/F2/F10–F14/F20/F21): the Orders API 2026-01-01
 * (searchOrders, getOrder) and Orders v0 confirmShipment, the mapping of Amazon orders to
 * MarketplaceOrder, and the XML order acknowledgement feed (POST_ORDER_ACKNOWLEDGEMENT_DATA) that
 * cancels orders from the seller side.
 *
 * The client follows the contract of the Listings and Feeds clients (one instance per seller
 * account, sharing the account's LWA token through an AmazonTokenSource): at most one HTTP request
 * per call (two when the access token expired mid-way), through the operation's own limiter
 * (published table, AMAZON_RATE_LIMITS), recorded, never retrying 429/5xx itself.
 *
 * It also remembers the server's clock (the `Date` header of every answer, errors included), so the
 * order source can keep `lastUpdatedBefore` at least two minutes behind the SERVER's time (F12).
 */
import { z } from 'zod';
import { TerminalError } from '../../core/errors.js';
import { encodePathSegment, type FetchedResponse, parseJson } from '../http.js';
import { createLimiters, type RateLimit, type TokenBucketLimiter } from '../limits.js';
import type { MarketplaceOrder, OrderLine, OrderStatus, ShippingAddress } from '../orders.js';
import { AMAZON_ERROR_CODES, type AmazonCallOptions, parseSpApiAnswer } from './client.js';
import { AMAZON_RATE_LIMITS } from './limits.js';
import { AmazonOperationsClient, type AmazonOperationsClientOptions } from './operations-client.js';
import { ErrorListSchema } from './types.js';

export const ORDERS_2026_PATH = '/orders/2026-01-01/orders';
export const ORDERS_V0_PATH = '/orders/v0/orders';

/** The operations of the orders client, each with its own limiter (published table). */
export const ORDERS_OPERATIONS = ['searchOrders', 'getOrder2026', 'confirmShipment'] as const;
export type OrdersOperation = (typeof ORDERS_OPERATIONS)[number];

/** The Orders limiters of one seller account, with optional per-operation overrides. */
export function createOrdersLimiters(
  scale = 1,
  overrides: Partial<Record<OrdersOperation, RateLimit>> = {},
  opts: Parameters<typeof createLimiters>[5] = {},
): Record<OrdersOperation, TokenBucketLimiter> {
  return createLimiters('amazon', ORDERS_OPERATIONS, AMAZON_RATE_LIMITS, scale, overrides, opts);
}

// Models (Orders API 2026-01-01, the parts we read) -------------------------------------------

export const FULFILLMENT_STATUSES = [
  'PENDING_AVAILABILITY',
  'PENDING',
  'UNSHIPPED',
  'PARTIALLY_SHIPPED',
  'SHIPPED',
  'CANCELLED',
  'UNFULFILLABLE',
] as const;
export type FulfillmentStatus = (typeof FULFILLMENT_STATUSES)[number];

export const ORDERS_INCLUDED_DATA = [
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
] as const;
export type OrdersIncludedData = (typeof ORDERS_INCLUDED_DATA)[number];

/** What the mapping needs: fulfilment status and ship-by window, buyer cancellation requests, address. */
export const DEFAULT_ORDERS_INCLUDED_DATA: readonly OrdersIncludedData[] = [
  'FULFILLMENT',
  'CANCELLATION',
  'RECIPIENT',
];

const MoneySchema = z.object({ amount: z.string(), currencyCode: z.string() }).passthrough();
const DateTimeRangeSchema = z
  .object({ earliestDateTime: z.string().optional(), latestDateTime: z.string().optional() })
  .passthrough();

export const AmazonOrderItemSchema = z
  .object({
    orderItemId: z.string(),
    quantityOrdered: z.number().int(),
    product: z
      .object({
        asin: z.string().optional(),
        title: z.string().optional(),
        sellerSku: z.string().optional(),
        price: z.object({ unitPrice: MoneySchema.optional() }).passthrough().optional(),
      })
      .passthrough(),
    cancellation: z
      .object({
        cancellationRequest: z
          .object({ requester: z.string().optional(), cancelReason: z.string().optional() })
          .passthrough()
          .optional(),
      })
      .passthrough()
      .optional(),
    fulfillment: z
      .object({
        quantityFulfilled: z.number().int().optional(),
        quantityUnfulfilled: z.number().int().optional(),
      })
      .passthrough()
      .optional(),
  })
  .passthrough();
export type AmazonOrderItem = z.infer<typeof AmazonOrderItemSchema>;

const AddressSchema = z
  .object({
    name: z.string().optional(),
    addressLine1: z.string().optional(),
    addressLine2: z.string().optional(),
    addressLine3: z.string().optional(),
    city: z.string().optional(),
    stateOrRegion: z.string().optional(),
    postalCode: z.string().optional(),
    countryCode: z.string().optional(),
    phone: z.string().optional(),
  })
  .passthrough();

export const AmazonOrderSchema = z
  .object({
    orderId: z.string(),
    createdTime: z.string(),
    lastUpdatedTime: z.string(),
    salesChannel: z.object({ channelName: z.string(), marketplaceId: z.string().optional() }).passthrough(),
    fulfillment: z
      .object({
        // A string, not the enum: an unknown new status must not make a whole page unreadable.
        fulfillmentStatus: z.string(),
        fulfilledBy: z.string().optional(),
        shipByWindow: DateTimeRangeSchema.optional(),
        deliverByWindow: DateTimeRangeSchema.optional(),
      })
      .passthrough()
      .optional(),
    recipient: z.object({ deliveryAddress: AddressSchema.optional() }).passthrough().optional(),
    orderItems: z.array(AmazonOrderItemSchema),
  })
  .passthrough();
export type AmazonOrder = z.infer<typeof AmazonOrderSchema>;

export const SearchOrdersResponseSchema = z
  .object({
    orders: z.array(AmazonOrderSchema),
    pagination: z.object({ nextToken: z.string().optional() }).passthrough().optional(),
    lastUpdatedBefore: z.string().optional(),
    createdBefore: z.string().optional(),
  })
  .passthrough();
export type SearchOrdersResponse = z.infer<typeof SearchOrdersResponseSchema>;

export const GetOrderResponseSchema = z.object({ order: AmazonOrderSchema }).passthrough();

export interface SearchOrdersParams {
  lastUpdatedAfter: string;
  lastUpdatedBefore?: string;
  maxResultsPerPage?: number;
  paginationToken?: string;
  includedData?: readonly OrdersIncludedData[];
  fulfillmentStatuses?: readonly FulfillmentStatus[];
  /** Default MERCHANT (we only ship our own orders); [] sends none. */
  fulfilledBy?: readonly ('MERCHANT' | 'AMAZON')[];
}

export interface ConfirmShipmentRequest {
  marketplaceId: string;
  packageDetail: {
    packageReferenceId: string;
    /** Required by the model and by amazon.in; optional here so a missing carrier reaches Amazon's refusal. */
    carrierCode?: string;
    carrierName?: string;
    shippingMethod?: string;
    trackingNumber: string;
    shipDate: string;
    orderItems: { orderItemId: string; quantity: number }[];
  };
}

export type ConfirmShipmentResult = { status: 'done' } | { status: 'refused'; code: string; reason: string };

/** A 400 on searchOrders: the pagination token (or a bound) was rejected. */
export class AmazonSearchOrdersRejected extends TerminalError {
  constructor(
    message: string,
    readonly withPaginationToken: boolean,
  ) {
    super(message, { code: AMAZON_ERROR_CODES.badRequest, status: 400 });
    this.name = 'AmazonSearchOrdersRejected';
  }
}

// Client ---------------------------------------------------------------------------------------

export type AmazonOrdersClientOptions = AmazonOperationsClientOptions<OrdersOperation>;

/** The server's clock as last seen: `serverMs` (Date header) observed at local `localMs`. */
export interface ServerClockSample {
  serverMs: number;
  localMs: number;
}

export class AmazonOrdersClient extends AmazonOperationsClient<OrdersOperation> {
  private serverClock: ServerClockSample | null = null;

  constructor(opts: AmazonOrdersClientOptions) {
    super(opts, createOrdersLimiters);
  }

  /** The last `Date` header seen (any operation, any status), or null before the first answer. */
  lastServerClock(): ServerClockSample | null {
    return this.serverClock;
  }

  /** The server's time now, estimated from the last `Date` header (null before the first answer). */
  serverNow(): number | null {
    const s = this.serverClock;
    return s === null ? null : s.serverMs + (this.clock.now() - s.localMs);
  }

  /**
   * One page of orders updated in the window. A 400 throws AmazonSearchOrdersRejected (with
   * `withPaginationToken` set when a token was sent: expired, invalid or not decodable, F14).
   */
  async searchOrders(
    params: SearchOrdersParams,
    opts: AmazonCallOptions = {},
  ): Promise<SearchOrdersResponse> {
    const q: [string, string][] = [
      ['marketplaceIds', this.marketplaceId],
      ['lastUpdatedAfter', params.lastUpdatedAfter],
    ];
    if (params.lastUpdatedBefore !== undefined) q.push(['lastUpdatedBefore', params.lastUpdatedBefore]);
    const fulfilledBy = params.fulfilledBy ?? ['MERCHANT'];
    if (fulfilledBy.length > 0) q.push(['fulfilledBy', fulfilledBy.join(',')]);
    if (params.fulfillmentStatuses && params.fulfillmentStatuses.length > 0) {
      q.push(['fulfillmentStatuses', params.fulfillmentStatuses.join(',')]);
    }
    if (params.maxResultsPerPage !== undefined)
      q.push(['maxResultsPerPage', String(params.maxResultsPerPage)]);
    const included = params.includedData ?? DEFAULT_ORDERS_INCLUDED_DATA;
    if (included.length > 0) q.push(['includedData', included.join(',')]);
    if (params.paginationToken !== undefined) q.push(['paginationToken', params.paginationToken]);
    // Every value percent-encoded: pagination tokens carry '+', '/' and '=' (F14).
    const qs = q.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
    const res = await this.call('searchOrders', 'GET', `${ORDERS_2026_PATH}?${qs}`, undefined, null, opts, {
      badRequestIsAnswer: true,
    });
    if (res?.status === 400) {
      throw new AmazonSearchOrdersRejected(
        `searchOrders: ${describeErrors(res)}`,
        params.paginationToken !== undefined,
      );
    }
    return parseSpApiAnswer(res, SearchOrdersResponseSchema, 'searchOrders');
  }

  /** The order (items embedded), or null when Amazon does not know it (404). */
  async getOrder(
    orderId: string,
    includedData: readonly OrdersIncludedData[] = DEFAULT_ORDERS_INCLUDED_DATA,
    opts: AmazonCallOptions = {},
  ): Promise<AmazonOrder | null> {
    const qs = includedData.length > 0 ? `?includedData=${encodeURIComponent(includedData.join(','))}` : '';
    const path = `${ORDERS_2026_PATH}/${encodePathSegment(orderId)}${qs}`;
    const res = await this.call('getOrder2026', 'GET', path, undefined, orderId, opts, {
      notFoundIsNull: true,
    });
    if (res === null) return null;
    return parseSpApiAnswer(res, GetOrderResponseSchema, 'getOrder').order;
  }

  /** 204 → done; 400 → refused with Amazon's code and message (F20); 429/5xx → RetryableError. */
  async confirmShipment(
    orderId: string,
    body: ConfirmShipmentRequest,
    opts: AmazonCallOptions = {},
  ): Promise<ConfirmShipmentResult> {
    const path = `${ORDERS_V0_PATH}/${encodePathSegment(orderId)}/shipmentConfirmation`;
    const res = await this.call(
      'confirmShipment',
      'POST',
      path,
      body,
      orderId,
      { priority: 'urgent', ...opts },
      { badRequestIsAnswer: true },
    );
    if (res?.status !== 400) return { status: 'done' };
    const errors = apiErrors(res.text);
    return {
      status: 'refused',
      code: errors[0]?.code ?? 'HTTP_400',
      reason: errors.length > 0 ? errorsText(errors) : `HTTP 400 ${res.text.slice(0, 200)}`,
    };
  }

  // ---------------------------------------------------------------------------------------------

  /** Every answer's Date header is observed; `special` may take a 404 as null or a 400 as an answer. */
  private call(
    op: OrdersOperation,
    method: string,
    pathAndQuery: string,
    body: unknown,
    entityKey: string | null,
    opts: AmazonCallOptions,
    special: { notFoundIsNull?: boolean; badRequestIsAnswer?: boolean },
  ): Promise<FetchedResponse | null> {
    return this.request(op, method, pathAndQuery, body, entityKey, opts, 'read', {
      observe: (res) => this.observeDate(res),
      special: (res, call): FetchedResponse | null | undefined => {
        if (res.status === 404 && special.notFoundIsNull) return null;
        if (res.status === 400 && special.badRequestIsAnswer) {
          call.error = describeErrors(res);
          return res;
        }
        return undefined;
      },
    });
  }

  private observeDate(res: FetchedResponse): void {
    const date = res.headers.get('date');
    if (date === null) return;
    const ms = Date.parse(date);
    if (!Number.isNaN(ms)) this.serverClock = { serverMs: ms, localMs: this.clock.now() };
  }
}

function apiErrors(text: string) {
  const parsed = ErrorListSchema.safeParse(parseJson(text));
  return parsed.success ? parsed.data.errors : [];
}

function errorsText(errors: { code: string; message: string; details?: string | undefined }[]): string {
  return errors.map((e) => `${e.code}: ${e.message}${e.details ? ` (${e.details})` : ''}`).join('; ');
}

function describeErrors(res: FetchedResponse): string {
  const errors = apiErrors(res.text);
  return errors.length > 0 ? `${errorsText(errors)} [HTTP ${res.status}]` : `HTTP ${res.status}`;
}

// Mapping --------------------------------------------------------------------------------------

/** Amazon's fulfilment status, normalised (PARTIALLY_SHIPPED still has units to ship). */
export function normaliseAmazonStatus(status: string | undefined): OrderStatus {
  switch (status) {
    case 'UNSHIPPED':
    case 'PARTIALLY_SHIPPED':
      return 'unshipped';
    case 'SHIPPED':
      return 'shipped';
    case 'CANCELLED':
    case 'UNFULFILLABLE':
      return 'cancelled';
    default:
      // PENDING, PENDING_AVAILABILITY, and anything new: not ready to ship.
      return 'pending';
  }
}

function decimal(amount: string | undefined): number | undefined {
  if (amount === undefined || amount.trim() === '') return undefined;
  const n = Number(amount);
  return Number.isFinite(n) ? n : undefined;
}

function toLine(item: AmazonOrderItem): OrderLine {
  const line: OrderLine = {
    lineId: item.orderItemId,
    sku: item.product.sellerSku ?? '',
    quantity: item.quantityOrdered,
  };
  const price = decimal(item.product.price?.unitPrice?.amount);
  if (price !== undefined) line.unitPrice = price;
  if (item.product.title !== undefined) line.title = item.product.title;
  const fulfilled = item.fulfillment?.quantityFulfilled;
  if (fulfilled !== undefined && item.quantityOrdered > 0 && fulfilled >= item.quantityOrdered) {
    line.status = 'shipped';
  }
  const request = item.cancellation?.cancellationRequest;
  if (request !== undefined && (request.requester === undefined || request.requester === 'BUYER')) {
    line.buyerCancelRequested = true;
    if (request.cancelReason !== undefined) line.cancelReason = request.cancelReason;
  }
  return line;
}

function toAddress(a: z.infer<typeof AddressSchema> | undefined): ShippingAddress | undefined {
  if (a === undefined) return undefined;
  const out: ShippingAddress = {};
  if (a.name !== undefined) out.name = a.name;
  if (a.addressLine1 !== undefined) out.addressLine1 = a.addressLine1;
  const line2 = [a.addressLine2, a.addressLine3].filter((s): s is string => s !== undefined && s !== '');
  if (line2.length > 0) out.addressLine2 = line2.join(', ');
  if (a.city !== undefined) out.city = a.city;
  if (a.stateOrRegion !== undefined) out.state = a.stateOrRegion;
  if (a.postalCode !== undefined) out.postalCode = a.postalCode;
  if (a.countryCode !== undefined) out.countryCode = a.countryCode;
  if (a.phone !== undefined) out.phone = a.phone;
  return Object.keys(out).length > 0 ? out : undefined;
}

/** An Orders API 2026-01-01 order as marketbridge sees it. */
export function toMarketplaceOrder(order: AmazonOrder): MarketplaceOrder {
  const lines = order.orderItems.map(toLine);
  const currency =
    order.orderItems.map((i) => i.product.price?.unitPrice?.currencyCode).find((c) => c !== undefined) ??
    'INR';
  const out: MarketplaceOrder = {
    marketplace: 'amazon',
    orderId: order.orderId,
    status: normaliseAmazonStatus(order.fulfillment?.fulfillmentStatus),
    marketplaceStatus: order.fulfillment?.fulfillmentStatus ?? 'UNKNOWN',
    purchasedAt: order.createdTime,
    updatedAt: order.lastUpdatedTime,
    currency,
    lines,
  };
  const shipBy = order.fulfillment?.shipByWindow?.latestDateTime;
  if (shipBy !== undefined) out.shipBy = shipBy;
  if (lines.length > 0 && lines.every((l) => l.unitPrice !== undefined)) {
    out.total = Math.round(lines.reduce((s, l) => s + (l.unitPrice ?? 0) * l.quantity, 0) * 100) / 100;
  }
  const address = toAddress(order.recipient?.deliveryAddress);
  if (address !== undefined) out.shippingAddress = address;
  const marketplaceId = order.salesChannel.marketplaceId;
  if (marketplaceId !== undefined) out.refs = { marketplaceId };
  return out;
}
