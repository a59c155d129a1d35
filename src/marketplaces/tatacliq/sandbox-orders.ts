/**
 * The order side of the Tata CliQ sandbox (installed by sandbox.ts), after reference §3:
 *
 *  - GET  `AP_SALES_ORDER/AVT_JSON_SALES_ORDER/AV_2.0/OG_1/` → `{"order":[…]}`: the active orders
 *    only (a line is active while pending, confirmed or packed), each with its active lines only,
 *    in the observed shape: `orderDate` as `yyyy-MM-dd HH:mm:ss.S` (IST, no offset), `shipByDate`
 *    ISO Z, every number a string, Y/N flags. Not paged: the whole list in one answer.
 *  - GET  `…/OG_1/ORDID_{orderNo}/` → `{"order":[{…all lines…}]}`, 404 FAILURE when unknown.
 *  - POST `AP_SHIPMENT/AV_1.0/OG_1` `{"ShipmentUpdate":{"Item":[{orderNo, transactionId, awbNo,
 *    logisticsId, …}]}}` [ASSUMED]: ships confirmed/packed lines; again with the same AWB: SUCCESS.
 *  - POST `AP_ORDER_STATUS/AV_1.0/OG_1` `{"OrderStatusUpdate":{"Item":[{orderNo, transactionId,
 *    status:"CANCELLED", reasonCode, reason}]}}` [ASSUMED]: seller cancel, refused once shipped.
 *
 * Both POSTs answer HTTP 200 `{status: SUCCESS|PARTIAL_SUCCESS|FAILURE, Item:[{transactionId,
 * status, errorCode?, errorMessage?}]}`. Status codes follow ORDER_STATUS_CODES (ASSUMED table).
 * Orders are generated from a seed (mulberry32), so the same calls give the same orders.
 */
import type { Clock } from '../../core/clock.js';
import type { OrderStatus } from '../../domain/orders.js';
import type { RateLimit } from '../limits.js';
import { isObject, type SandboxBucket, takeToken } from '../sandbox.js';
import {
  TATACLIQ_ORDER_OPERATIONS,
  TATACLIQ_ORDER_RATE_LIMITS,
  type TataCliqOrderOperation,
} from './limits.js';
import {
  aggregateStatus,
  type CancelledBy,
  formatCliqDate,
  isActiveStatus,
  ORDER_STATUS_CODES,
} from './orders-types.js';
import type { TataCliqOperationCounters } from './sandbox.js';

export interface TataCliqOrderSnapshot {
  status: OrderStatus;
  shipped?: { trackingNumber: string };
  cancelledBy?: CancelledBy;
}

export interface CreateOrdersOptions {
  count: number;
  /** SKUs the lines are drawn from. */
  skus: string[];
  /** Same seed (and sandbox history), same orders. Default: the number of this call. */
  seed?: number;
  /** The orders were placed this long ago (they become visible late, §4 F11). Default 0. */
  lateByMs?: number;
}

export interface TataCliqSandboxOrderControl {
  /** New confirmed (`001`) orders of 1–3 one-unit lines; returns their orderNos, oldest first. */
  createOrders(opts: CreateOrdersOptions): string[];
  /** The buyer cancels every line not yet shipped (`006`); the order leaves the active list. */
  buyerCancel(orderId: string): void;
  /** CliQ cancels every line not yet shipped (`007`). */
  marketplaceCancel(orderId: string): void;
  /** No-op: the active-orders call is not paged (the whole list in one answer). */
  repeatPages(on: boolean): void;
  /** Every order by orderNo, normalised. */
  orderSnapshot(): Record<string, TataCliqOrderSnapshot>;
  orderCounters(): Record<TataCliqOrderOperation, TataCliqOperationCounters>;
}

export interface TataCliqOrderBookOptions {
  clock: Clock;
  sellerId: string;
  /** SlaveID that fulfils generated orders. */
  slaveId: string;
  /** Token buckets for the order operations: true = TATACLIQ_ORDER_RATE_LIMITS. Off by default. */
  rateLimits?: boolean | Partial<Record<TataCliqOrderOperation, RateLimit>>;
  rateScale?: number;
}

export interface OrderReply {
  status: number;
  body: unknown;
}

/** What sandbox.ts needs to serve orders. */
export interface TataCliqOrderBook {
  operationOf(method: string, api: string, version: string, filters: string[]): TataCliqOrderOperation | null;
  /** Milliseconds to wait when throttled now, or 0. */
  throttle(op: TataCliqOrderOperation): number;
  handle(op: TataCliqOrderOperation, filters: string[], body: unknown): { reply: OrderReply; ids: string[] };
  count(op: TataCliqOrderOperation, status: number): void;
  resetCounters(): void;
  readonly control: TataCliqSandboxOrderControl;
}

interface SandboxLine {
  transactionId: string;
  sku: string;
  price: number;
  mrp: number;
  code: string;
  shipBy: number;
  awbNo?: string;
  logisticsId?: string;
  cancelledBy?: CancelledBy;
  cancellationReason?: string;
}

interface SandboxOrder {
  orderNo: string;
  orderDate: number;
  cod: boolean;
  address: Record<string, string>;
  lines: SandboxLine[];
}

interface LineAnswer {
  transactionId: string;
  status: 'SUCCESS' | 'FAILURE';
  errorCode?: string;
  errorMessage?: string;
}

const CODE = {
  confirmed: '001',
  shipped: '003',
  seller: '005',
  buyer: '006',
  marketplace: '007',
} as const;

const FIRST_NAMES = ['Aarav', 'Diya', 'Ishaan', 'Meera', 'Kabir', 'Ananya', 'Rohan', 'Saanvi'];
const LAST_NAMES = ['Sharma', 'Iyer', 'Patel', 'Reddy', 'Nair', 'Gupta', 'Das', 'Khan'];
const CITIES: [city: string, stateCode: string, pin: string][] = [
  ['Mumbai', '27', '400050'],
  ['Bengaluru', '29', '560034'],
  ['New Delhi', '07', '110017'],
  ['Chennai', '33', '600040'],
  ['Kolkata', '19', '700019'],
  ['Pune', '27', '411014'],
];
const SHIP_BY_MS = 2 * 24 * 3600_000;

export function createTataCliqOrderBook(opts: TataCliqOrderBookOptions): TataCliqOrderBook {
  const { clock, sellerId, slaveId } = opts;
  const rateScale = opts.rateScale ?? 1;
  const limits: Partial<Record<TataCliqOrderOperation, RateLimit>> =
    opts.rateLimits === true
      ? { ...TATACLIQ_ORDER_RATE_LIMITS }
      : opts.rateLimits
        ? { ...opts.rateLimits }
        : {};
  const buckets = new Map<TataCliqOrderOperation, SandboxBucket>();
  const orders = new Map<string, SandboxOrder>();
  const lineIndex = new Map<string, { order: SandboxOrder; line: SandboxLine }>();
  let orderSeq = 4245366;
  let txSeq = 0;
  let calls = 0;
  let counters = freshCounters();

  // Orders ----------------------------------------------------------------------------------------
  function createOrders(o: CreateOrdersOptions): string[] {
    if (!Number.isInteger(o.count) || o.count < 0) throw new RangeError(`count must be >= 0, got ${o.count}`);
    if (o.skus.length === 0) throw new RangeError('createOrders: skus must not be empty');
    calls++;
    const rng = mulberry32(o.seed ?? calls);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
    const digits = (n: number) =>
      Array.from({ length: n }, () => Math.floor(rng() * 10))
        .join('')
        .replace(/^0/, '1');
    const now = clock.now() - (o.lateByMs ?? 0);
    const ids: string[] = [];
    for (let i = 0; i < o.count; i++) {
      const orderNo = `${digits(4)}-${digits(4)}-${orderSeq++}`;
      const orderDate = now - (o.count - 1 - i) * 1000;
      const [city, state, pin] = pick(CITIES);
      const order: SandboxOrder = {
        orderNo,
        orderDate,
        cod: rng() < 0.25,
        address: {
          firstName: pick(FIRST_NAMES),
          lastName: pick(LAST_NAMES),
          phoneNo: `9${digits(9)}`,
          emailID: `buyer${orderSeq}@example.in`,
          address1: `${1 + Math.floor(rng() * 200)}, ${pick(['MG Road', 'Link Road', 'Park Street', 'Anna Salai'])}`,
          address2: `Flat ${1 + Math.floor(rng() * 40)}${pick(['A', 'B', 'C'])}`,
          address3: '',
          landmark: pick(['Near City Mall', 'Opp. Metro Station', '']),
          city,
          state,
          country: 'IN',
          pincode: pin,
        },
        lines: [],
      };
      const lineCount = 1 + Math.floor(rng() * 3);
      for (let j = 0; j < lineCount; j++) {
        const mrp = 500 + Math.floor(rng() * 400) * 100;
        const price = Math.round(mrp * (0.7 + rng() * 0.3));
        const line: SandboxLine = {
          transactionId: String(2_600_000_000_000 + ++txSeq),
          sku: pick(o.skus),
          price,
          mrp,
          code: CODE.confirmed,
          shipBy: orderDate + SHIP_BY_MS,
        };
        order.lines.push(line);
        lineIndex.set(line.transactionId, { order, line });
      }
      orders.set(orderNo, order);
      ids.push(orderNo);
    }
    return ids;
  }

  function lineState(l: SandboxLine): OrderStatus {
    return ORDER_STATUS_CODES[l.code]?.status ?? 'pending';
  }

  function orderBody(o: SandboxOrder, onlyActive: boolean) {
    const lines = onlyActive ? o.lines.filter((l) => isActiveStatus(lineState(l))) : o.lines;
    const total = lines.reduce((a, l) => a + l.price, 0);
    const address = (addressType: 'DA' | 'BA') => ({ addressType, ...o.address });
    return {
      orderType: '01',
      orderNo: o.orderNo,
      orderDate: formatCliqDate(o.orderDate),
      addressInfo: [address('DA'), address('BA')],
      paymentInfo: [
        {
          paymentCost: money(total),
          paymentMode: o.cod ? 'COD' : 'Prepaid',
          paymentStatus: o.cod ? 'PENDING' : 'SUCCESS',
          paymentInfo: o.cod ? 'Cash on delivery' : 'Card',
          paymentDate: formatCliqDate(o.orderDate),
        },
      ],
      orderLine: lines.map((l) => {
        const line: Record<string, unknown> = {
          transactionId: l.transactionId,
          shipByDate: new Date(l.shipBy).toISOString(),
          omsStatusCode: l.code,
          sellerID: sellerId,
          articleNumber: l.sku,
          price: money(l.price),
          mrp: money(l.mrp),
          isCOD: o.cod ? 'Y' : 'N',
          apportionedPrice: money(l.price),
          apportionedCODPrice: '0',
          apportionedShippingCharge: '0',
          isaGift: 'N',
          isAFreebie: 'N',
          parentTransactionID: '',
          deliveryMode: 'HD',
          transportMode: 'SURFACE',
          fulfillmentType: 'SSHIP',
          p1SlaveId: slaveId,
          p1LogisticsID: l.logisticsId ?? '',
        };
        if (l.awbNo !== undefined) line.awbNo = l.awbNo;
        if (l.cancellationReason !== undefined) line.cancellationReason = l.cancellationReason;
        return line;
      }),
    };
  }

  function cancelOrder(orderId: string, by: 'buyer' | 'marketplace'): void {
    const o = orders.get(orderId);
    if (!o) throw new Error(`tatacliq sandbox: no order ${orderId}`);
    const open = o.lines.filter((l) => isActiveStatus(lineState(l)));
    if (open.length === 0) throw new Error(`tatacliq sandbox: order ${orderId} has no line left to cancel`);
    for (const l of open) {
      l.code = CODE[by];
      l.cancelledBy = by;
      l.cancellationReason = by === 'buyer' ? 'Cancelled by customer' : 'Cancelled by Tata CliQ';
    }
  }

  // Requests --------------------------------------------------------------------------------------
  function items(body: unknown, wrapper: string): unknown[] | null {
    const inner = isObject(body) ? body[wrapper] : undefined;
    const list = isObject(inner) ? inner.Item : undefined;
    return Array.isArray(list) && list.length > 0 ? list : null;
  }

  function fail(transactionId: string, errorCode: string, errorMessage: string): LineAnswer {
    return { transactionId, status: 'FAILURE', errorCode, errorMessage };
  }

  /** The line an item addresses, or the FAILURE answer. */
  function target(
    raw: unknown,
  ): { order: SandboxOrder; line: SandboxLine; raw: Record<string, unknown> } | LineAnswer {
    if (!isObject(raw)) return fail('', 'INVALID_ITEM', 'Item must be an object');
    const id = raw.transactionId;
    if (typeof id !== 'string' || id === '')
      return fail(String(id ?? ''), 'INVALID_TRANSACTION', 'transactionId is required');
    const found = lineIndex.get(id);
    if (!found)
      return fail(id, 'TRANSACTION_NOT_FOUND', `Transaction ${id} not found for seller ${sellerId}`);
    if (raw.orderNo !== undefined && raw.orderNo !== found.order.orderNo) {
      return fail(id, 'INVALID_ORDER', `Transaction ${id} does not belong to order ${String(raw.orderNo)}`);
    }
    return { ...found, raw };
  }

  function shipItem(raw: unknown): LineAnswer {
    const t = target(raw);
    if ('status' in t) return t;
    const { line, raw: item } = t;
    const id = line.transactionId;
    const awb = typeof item.awbNo === 'string' ? item.awbNo.trim() : '';
    const logistics = typeof item.logisticsId === 'string' ? item.logisticsId.trim() : '';
    if (awb === '') return fail(id, 'INVALID_AWB', 'awbNo is required');
    if (logistics === '') return fail(id, 'INVALID_LOGISTICS', 'logisticsId is required');
    const state = lineState(line);
    if (state === 'cancelled') {
      return fail(id, 'TRANSACTION_CANCELLED', `Transaction ${id} is cancelled and cannot be shipped`);
    }
    if (state === 'shipped' || state === 'delivered') {
      if (line.awbNo === awb) return { transactionId: id, status: 'SUCCESS' };
      return fail(id, 'ALREADY_SHIPPED', `Transaction ${id} is already shipped with AWB ${line.awbNo ?? ''}`);
    }
    if (state === 'pending') {
      return fail(id, 'NOT_CONFIRMED', `Transaction ${id} is pending acceptance and cannot be shipped`);
    }
    line.code = CODE.shipped;
    line.awbNo = awb;
    line.logisticsId = logistics;
    return { transactionId: id, status: 'SUCCESS' };
  }

  function cancelItem(raw: unknown): LineAnswer {
    const t = target(raw);
    if ('status' in t) return t;
    const { line, raw: item } = t;
    const id = line.transactionId;
    if (item.status !== 'CANCELLED') {
      return fail(id, 'INVALID_STATUS', `status must be CANCELLED, got ${JSON.stringify(item.status)}`);
    }
    const state = lineState(line);
    if (state === 'cancelled') return { transactionId: id, status: 'SUCCESS' };
    if (state === 'shipped' || state === 'delivered') {
      return fail(
        id,
        'CANCELLATION_NOT_ALLOWED',
        `Cancellation not allowed: transaction ${id} has already been shipped`,
      );
    }
    line.code = CODE.seller;
    line.cancelledBy = 'seller';
    line.cancellationReason =
      typeof item.reason === 'string' && item.reason !== '' ? item.reason : 'Cancelled by seller';
    return { transactionId: id, status: 'SUCCESS' };
  }

  function handle(
    op: TataCliqOrderOperation,
    filters: string[],
    body: unknown,
  ): { reply: OrderReply; ids: string[] } {
    if (op === 'listActiveOrders') {
      const active = [...orders.values()].filter((o) => o.lines.some((l) => isActiveStatus(lineState(l))));
      return { reply: { status: 200, body: { order: active.map((o) => orderBody(o, true)) } }, ids: [] };
    }
    if (op === 'getOrder') {
      const orderNo = filters[0]?.slice('ORDID_'.length) ?? '';
      const o = orders.get(orderNo);
      if (!o) {
        return {
          reply: error(404, 'ORDER_NOT_FOUND', `Order ${orderNo} not found for seller ${sellerId}`),
          ids: [orderNo],
        };
      }
      return { reply: { status: 200, body: { order: [orderBody(o, false)] } }, ids: [orderNo] };
    }
    const wrapper = op === 'shipLines' ? 'ShipmentUpdate' : 'OrderStatusUpdate';
    const list = items(body, wrapper);
    if (list === null) {
      return {
        reply: error(
          400,
          'INVALID_REQUEST',
          `body must be {"${wrapper}":{"Item":[…]}} with at least one item`,
        ),
        ids: [],
      };
    }
    const ids = list.map((i) => (isObject(i) && typeof i.transactionId === 'string' ? i.transactionId : ''));
    const answers = list.map(op === 'shipLines' ? shipItem : cancelItem);
    const failed = answers.filter((a) => a.status === 'FAILURE').length;
    counters[op].items += list.length;
    counters[op].itemFailures += failed;
    const status = failed === 0 ? 'SUCCESS' : failed === answers.length ? 'FAILURE' : 'PARTIAL_SUCCESS';
    return { reply: { status: 200, body: { status, Item: answers } }, ids };
  }

  function operationOf(
    method: string,
    api: string,
    version: string,
    filters: string[],
  ): TataCliqOrderOperation | null {
    if (method === 'GET' && api === 'SALES_ORDER' && version === '2.0') {
      if (filters.length === 0) return 'listActiveOrders';
      if (filters.length === 1 && filters[0]?.startsWith('ORDID_')) return 'getOrder';
      return null;
    }
    if (filters.length > 0) return null;
    if (method === 'POST' && api === 'SHIPMENT' && version === '1.0') return 'shipLines';
    if (method === 'POST' && api === 'ORDER_STATUS' && version === '1.0') return 'cancelLines';
    return null;
  }

  function throttle(op: TataCliqOrderOperation): number {
    const limit = limits[op];
    if (!limit) return 0;
    return takeToken(buckets, op, limit.rate * rateScale, limit.burst, clock.now());
  }

  function count(op: TataCliqOrderOperation, status: number): void {
    const c = counters[op];
    c.calls++;
    if (status === 429) c.throttled++;
    else if (status === 401 || status === 403) c.unauthorized++;
    else if (status >= 500) c.serverErrors++;
    else if (status >= 400 && !(status === 404 && op === 'getOrder')) c.clientErrors++;
    else c.ok++;
  }

  const control: TataCliqSandboxOrderControl = {
    createOrders,
    buyerCancel: (id) => cancelOrder(id, 'buyer'),
    marketplaceCancel: (id) => cancelOrder(id, 'marketplace'),
    // The active-orders call is not paged (one answer holds every active order): nothing to repeat.
    repeatPages: (_on) => {},
    orderSnapshot: () => {
      const out: Record<string, TataCliqOrderSnapshot> = {};
      for (const o of orders.values()) {
        const status = aggregateStatus(o.lines.map(lineState));
        const snap: TataCliqOrderSnapshot = { status };
        const awb = o.lines.find((l) => l.awbNo !== undefined)?.awbNo;
        if (awb !== undefined) snap.shipped = { trackingNumber: awb };
        const by = o.lines.find((l) => l.cancelledBy !== undefined)?.cancelledBy;
        if (status === 'cancelled' && by !== undefined) snap.cancelledBy = by;
        out[o.orderNo] = snap;
      }
      return out;
    },
    orderCounters: () => structuredClone(counters),
  };

  return {
    operationOf,
    throttle,
    handle,
    count,
    resetCounters: () => {
      counters = freshCounters();
    },
    control,
  };
}

function error(status: number, errorCode: string, errorMessage: string): OrderReply {
  return { status, body: { status: 'FAILURE', errorCode, errorMessage } };
}

function money(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}

/** A small seeded PRNG (mulberry32): repeatable order generation. */
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

function freshCounters(): Record<TataCliqOrderOperation, TataCliqOperationCounters> {
  const out = {} as Record<TataCliqOrderOperation, TataCliqOperationCounters>;
  for (const op of TATACLIQ_ORDER_OPERATIONS) {
    out[op] = {
      calls: 0,
      ok: 0,
      throttled: 0,
      unauthorized: 0,
      clientErrors: 0,
      serverErrors: 0,
      items: 0,
      itemFailures: 0,
    };
  }
  return out;
}
