/**
 * Tata CliQ PartnerConnect order wire shapes and their meaning (reference §3.1, §3.2).
 *
 * Observed [SRC]: `GET …/AP_SALES_ORDER/AVT_JSON_SALES_ORDER/AV_2.0/OG_1/` answers
 * `{"order":[{orderNo, orderDate: "2022-05-26 15:10:22.0", addressInfo[], paymentInfo[],
 * orderLine[{transactionId, shipByDate, omsStatusCode, articleNumber, price, …}]}]}` with the
 * active orders only, numbers as strings, Y/N flags; `…/OG_1/ORDID_{orderNo}/` answers one order.
 *
 * [ASSUMED] everything else: the meaning of `omsStatusCode` (not public; ORDER_STATUS_CODES is our
 * table, replaceable), a line `quantity` (absent in the sample: one unit per transaction), the ship
 * (`ShipmentUpdate`) and cancel (`OrderStatusUpdate`) bodies and their per-line answers, and which
 * lines the active list shows (we assume: active orders, with their active lines only).
 * Parsing is tolerant (numbers or strings, unknown fields ignored) so the real shapes can differ in
 * detail without breaking the poll.
 */
import { z } from 'zod';
import type { OrderStatus } from '../../domain/orders.js';

// Paths -----------------------------------------------------------------------------------------

/**
 * Order path templates under `baseUrl` (…/PartnerConnect). Placeholders: `{sellerId}` and, for
 * `order`, `{orderNo}` (percent-encoded as one path segment).
 */
export interface TataCliqOrderPathTemplates {
  /** GET every active order. Observed. Not paged (the meaning of `OG_1` is unknown). */
  activeOrders: string;
  /** GET one order with all its lines. Observed (`ORDID_`). */
  order: string;
  /** POST line shipments (AWB + carrier), body ShipmentUpdateRequest. ASSUMED. */
  ship: string;
  /** POST line status changes (seller cancel), body OrderStatusUpdateRequest. ASSUMED. */
  cancel: string;
}

export const DEFAULT_ORDER_PATH_TEMPLATES: Readonly<TataCliqOrderPathTemplates> = {
  activeOrders: 'PC_{sellerId}/AP_SALES_ORDER/AVT_JSON_SALES_ORDER/AV_2.0/OG_1/',
  order: 'PC_{sellerId}/AP_SALES_ORDER/AVT_JSON_SALES_ORDER/AV_2.0/OG_1/ORDID_{orderNo}/',
  ship: 'PC_{sellerId}/AP_SHIPMENT/AV_1.0/OG_1',
  cancel: 'PC_{sellerId}/AP_ORDER_STATUS/AV_1.0/OG_1',
};

// Status ----------------------------------------------------------------------------------------

export type CancelledBy = 'seller' | 'buyer' | 'marketplace';

export interface StatusMeaning {
  status: OrderStatus;
  /** For cancelled codes: who cancelled. */
  cancelledBy?: CancelledBy;
  /** Our name for the code (kept as the line's marketplaceStatus detail). */
  name: string;
}

/**
 * ASSUMED meaning of `omsStatusCode` (the table is not public; "001" is what a new active order
 * showed in the public sample). Replace with the account manager's table via the `statusCodes`
 * option; a code not in the table is treated as `pending` (nothing is done on it).
 */
export const ORDER_STATUS_CODES: Readonly<Record<string, StatusMeaning>> = {
  '000': { status: 'pending', name: 'PENDING_ACCEPTANCE' },
  '001': { status: 'unshipped', name: 'CONFIRMED' },
  '002': { status: 'packed', name: 'PACKED' },
  '003': { status: 'shipped', name: 'SHIPPED' },
  '004': { status: 'delivered', name: 'DELIVERED' },
  '005': { status: 'cancelled', cancelledBy: 'seller', name: 'CANCELLED_BY_SELLER' },
  '006': { status: 'cancelled', cancelledBy: 'buyer', name: 'CANCELLED_BY_BUYER' },
  '007': { status: 'cancelled', cancelledBy: 'marketplace', name: 'CANCELLED_BY_MARKETPLACE' },
};

/** The status words accepted when a line carries a word instead of a code. */
const STATUS_WORDS: Record<string, OrderStatus> = {
  PENDING: 'pending',
  PENDING_ACCEPTANCE: 'pending',
  NEW: 'unshipped',
  CONFIRMED: 'unshipped',
  ACCEPTED: 'unshipped',
  APPROVED: 'unshipped',
  PACKED: 'packed',
  READY_TO_SHIP: 'packed',
  SHIPPED: 'shipped',
  DISPATCHED: 'shipped',
  DELIVERED: 'delivered',
  CANCELLED: 'cancelled',
  CANCELED: 'cancelled',
};

/** The meaning of a line's status code (or word), via `table`. Unknown: pending. */
export function statusOf(
  code: string,
  table: Readonly<Record<string, StatusMeaning>> = ORDER_STATUS_CODES,
): StatusMeaning {
  const known = table[code.trim()];
  if (known) return known;
  const word = STATUS_WORDS[code.trim().toUpperCase()];
  return word ? { status: word, name: code.trim().toUpperCase() } : { status: 'pending', name: code };
}

const PROGRESS: readonly OrderStatus[] = ['pending', 'unshipped', 'packed', 'shipped', 'delivered'];

/** An order's status from its lines: cancelled when all are; otherwise the least advanced live line. */
export function aggregateStatus(lines: readonly OrderStatus[]): OrderStatus {
  const live = lines.filter((s) => s !== 'cancelled');
  if (live.length === 0) return lines.length === 0 ? 'pending' : 'cancelled';
  let min = PROGRESS.length - 1;
  for (const s of live) min = Math.min(min, PROGRESS.indexOf(s));
  return PROGRESS[min] ?? 'pending';
}

/** ASSUMED: lines in these statuses are what the active-orders call lists. */
export function isActiveStatus(s: OrderStatus): boolean {
  return s === 'pending' || s === 'unshipped' || s === 'packed';
}

// Dates -----------------------------------------------------------------------------------------

const IST_OFFSET_MS = 5.5 * 3600_000;
const CLIQ_DATE = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?$/;

/**
 * Epoch ms of a CliQ date: `yyyy-MM-dd HH:mm:ss.S` (IST, no offset, as observed in `orderDate`)
 * or ISO 8601 with an offset/Z (as in `shipByDate`). Undefined when neither.
 */
export function parseCliqDate(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  const m = CLIQ_DATE.exec(v);
  if (m) {
    const [, y, mo, d, h, mi, s, frac] = m;
    const ms = frac === undefined ? 0 : Number(frac.padEnd(3, '0'));
    const utc = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s ?? 0), ms);
    return Number.isFinite(utc) ? utc - IST_OFFSET_MS : undefined;
  }
  if (!/^\d{4}-\d{2}-\d{2}T.*(Z|[+-]\d{2}:?\d{2})$/i.test(v)) return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t;
}

/** `yyyy-MM-dd HH:mm:ss.S` in IST, the format CliQ uses for `orderDate`. */
export function formatCliqDate(epochMs: number): string {
  const d = new Date(epochMs + IST_OFFSET_MS);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}.${Math.floor(d.getUTCMilliseconds() / 100)}`;
}

// Wire shapes -----------------------------------------------------------------------------------

const Text = z.union([z.string(), z.number()]).transform(String);
/** A decimal sent as string or number; anything else becomes undefined (tolerant). */
const Amount = z
  .union([z.string(), z.number()])
  .transform((v) => (typeof v === 'number' ? v : v.trim() === '' ? Number.NaN : Number(v)))
  .transform((n) => (Number.isFinite(n) ? n : undefined))
  .optional()
  .catch(undefined);

export const OrderAddressSchema = z
  .object({
    addressType: Text.optional(),
    firstName: Text.optional(),
    lastName: Text.optional(),
    phoneNo: Text.optional(),
    address1: Text.optional(),
    address2: Text.optional(),
    address3: Text.optional(),
    landmark: Text.optional(),
    city: Text.optional(),
    state: Text.optional(),
    country: Text.optional(),
    pincode: Text.optional(),
  })
  .loose();
export type OrderAddress = z.infer<typeof OrderAddressSchema>;

export const PaymentInfoSchema = z
  .object({ paymentCost: Amount, paymentMode: Text.optional(), paymentStatus: Text.optional() })
  .loose();

export const OrderLineSchema = z
  .object({
    transactionId: Text,
    omsStatusCode: Text.optional(),
    /** ASSUMED alternative to the code (some integrators show words). */
    status: Text.optional(),
    shipByDate: Text.optional(),
    sellerID: Text.optional(),
    /** ASSUMED: the seller's SKU when CliQ sends it; otherwise articleNumber is the SKU/EAN. */
    sellerArticleSKU: Text.optional(),
    articleNumber: Text.optional(),
    productName: Text.optional(),
    /** ASSUMED: absent in the sample, where every transaction is one unit. */
    quantity: Amount,
    price: Amount,
    mrp: Amount,
    apportionedPrice: Amount,
    isCOD: Text.optional(),
    fulfillmentType: Text.optional(),
    p1SlaveId: Text.optional(),
    p1LogisticsID: Text.optional(),
    /** ASSUMED (sandbox): the AWB once shipped, and the cancellation reason once cancelled. */
    awbNo: Text.optional(),
    cancellationReason: Text.optional(),
  })
  .loose();
export type OrderLineWire = z.infer<typeof OrderLineSchema>;

export const OrderSchema = z
  .object({
    orderNo: Text,
    orderType: Text.optional(),
    orderDate: Text.optional(),
    addressInfo: z.array(OrderAddressSchema).optional().catch(undefined),
    paymentInfo: z.array(PaymentInfoSchema).optional().catch(undefined),
    orderLine: z.array(OrderLineSchema).default([]),
  })
  .loose();
export type OrderWire = z.infer<typeof OrderSchema>;

/**
 * The orders of an active-orders or by-id answer: `{"order":[…]}` (observed), `{"order":{…}}`, a
 * bare order or a bare array (tolerated). Orders that do not parse are returned in `invalid`.
 */
export function ordersOf(json: unknown): { orders: OrderWire[]; invalid: string[] } | null {
  let list: unknown[];
  if (Array.isArray(json)) list = json;
  else if (isRecord(json)) {
    const inner = json.order ?? json.orders ?? json.Order;
    if (Array.isArray(inner)) list = inner;
    else if (isRecord(inner)) list = [inner];
    else if ('orderNo' in json) list = [json];
    else if (inner === undefined || inner === null) list = [];
    else return null;
  } else return null;
  const orders: OrderWire[] = [];
  const invalid: string[] = [];
  for (const raw of list) {
    const r = OrderSchema.safeParse(raw);
    if (r.success) orders.push(r.data);
    else invalid.push(isRecord(raw) && raw.orderNo !== undefined ? String(raw.orderNo) : '?');
  }
  return { orders, invalid };
}

// Ship / cancel (ASSUMED) -----------------------------------------------------------------------

/** One line shipment (ASSUMED, reference §3.2: transactionId, awbNo, logisticsId, invoice…). */
export interface ShipmentUpdateItem {
  orderNo: string;
  transactionId: string;
  awbNo: string;
  /** Carrier code as CliQ knows it. */
  logisticsId: string;
  /** Carrier name as the OMS gave it. */
  logisticsName: string;
  /** `yyyy-MM-dd HH:mm:ss.S` IST. */
  shippedDate: string;
  invoiceNo?: string;
  invoiceDate?: string;
}

export interface ShipmentUpdateRequest {
  ShipmentUpdate: { Item: ShipmentUpdateItem[] };
}

/** One line status change (ASSUMED, reference §3.2); we only send CANCELLED. */
export interface OrderStatusUpdateItem {
  orderNo: string;
  transactionId: string;
  status: 'CANCELLED';
  reasonCode: string;
  reason: string;
}

export interface OrderStatusUpdateRequest {
  OrderStatusUpdate: { Item: OrderStatusUpdateItem[] };
}

/** A per-line answer (ASSUMED): `{transactionId, status: SUCCESS|FAILURE, errorCode?, errorMessage?}`. */
export const LineResultSchema = z
  .object({
    transactionId: Text,
    status: z
      .string()
      .transform((s) => (s.trim().toUpperCase() === 'SUCCESS' ? ('SUCCESS' as const) : ('FAILURE' as const)))
      .catch('FAILURE' as const),
    errorCode: Text.optional(),
    errorMessage: z.string().optional(),
    message: z.string().optional(),
  })
  .transform((r) => ({
    transactionId: r.transactionId,
    status: r.status,
    errorCode: r.errorCode,
    errorMessage: r.errorMessage ?? r.message,
  }));
export type LineResult = z.infer<typeof LineResultSchema>;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
