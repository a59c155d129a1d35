/**
 * Tata CliQ PartnerConnect client for the order operations: the active-orders list and the read of
 * one order (both observed), line shipment and seller cancel (both ASSUMED, reference §3.2). Every
 * path is a template (DEFAULT_ORDER_PATH_TEMPLATES), so the real ones can be dropped in.
 *
 * Same contract as the listing client (client.ts), whose requests it makes (`TataCliqClient.request`,
 * sharing that account's token, rejected-token hold, fetch and recorder): each request goes through
 * its operation's limiter (own table, TATACLIQ_ORDER_RATE_LIMITS) and is reported to the
 * CallRecorder; 429/5xx are RetryableError (never retried here), a 401 drops the token and replays
 * once, a second 401 with the same static token is a TerminalError (TATACLIQ_TOKEN_EXPIRED), other
 * 4xx are TerminalError.
 *
 * Ship and cancel answer HTTP 200 with a result per line (§4 F15); a line without a result is
 * `UNCONFIRMED` (read the order back to know).
 */
import { TerminalError } from '../../core/errors.js';
import { storableText } from '../../core/text.js';
import type { CallPriority } from '../../domain/types.js';
import { parseJson } from '../http.js';
import type { BackoffOptions, CircuitView, RateLimit, TokenBucketLimiter } from '../limits.js';
import { TATACLIQ_ERROR_CODES, type TataCliqClient } from './client.js';
import { createTataCliqOrderLimiters, type TataCliqOrderOperation } from './limits.js';
import {
  DEFAULT_ORDER_PATH_TEMPLATES,
  formatCliqDate,
  type LineResult,
  LineResultSchema,
  type OrderStatusUpdateItem,
  type OrderStatusUpdateRequest,
  type OrderWire,
  ordersOf,
  type ShipmentUpdateItem,
  type ShipmentUpdateRequest,
  type TataCliqOrderPathTemplates,
} from './orders-types.js';
import { batchResultsOf } from './types.js';

export interface TataCliqOrdersClientOptions {
  /**
   * The listing client of the same account: its base URL, seller, token (and the hold after a
   * rejected token), fetch, clock and recorder are shared.
   */
  client: TataCliqClient;
  /** Overrides of DEFAULT_ORDER_PATH_TEMPLATES; the ASSUMED ones will change. */
  paths?: Partial<TataCliqOrderPathTemplates>;
  /** Multiplies the (ASSUMED) rates: tests and demos against a sandbox. Default 1. */
  rateScale?: number;
  rateLimits?: Partial<Record<TataCliqOrderOperation, RateLimit>>;
  /** Per read of one order and per ship/cancel. Default 15 s. */
  requestTimeoutMs?: number;
  /** Per active-orders list (every active order in one answer). Default 60 s. */
  listTimeoutMs?: number;
  throttleBackoff?: BackoffOptions;
  serverErrorThreshold?: number;
  serverErrorBackoff?: BackoffOptions;
  random?: () => number;
}

export interface TataCliqOrderCallOptions {
  priority?: CallPriority | number;
  signal?: AbortSignal;
}

export interface ActiveOrders {
  orders: OrderWire[];
  /** orderNos of list entries that did not have the expected shape (skipped). */
  invalid: string[];
}

export type LineOutcomeStatus = 'SUCCESS' | 'FAILURE' | 'UNCONFIRMED';

export interface LineOutcome {
  transactionId: string;
  status: LineOutcomeStatus;
  errorCode?: string;
  errorMessage?: string;
}

export interface LineBatchOutcome {
  /** The overall status, when the answer had one (upper case). */
  status?: string;
  /** One per line sent, in the same order. */
  lines: LineOutcome[];
}

export interface ShipLine {
  orderNo: string;
  transactionId: string;
  awbNo: string;
  logisticsId: string;
  logisticsName: string;
  /** Epoch ms. */
  shippedAt: number;
  invoiceNo?: string;
  invoiceDate?: string;
}

export interface CancelLine {
  orderNo: string;
  transactionId: string;
  reasonCode: string;
  reason: string;
}

/** The order operations, as the order source and actions use them (the client, or a fake). */
export interface TataCliqOrdersApi {
  listActiveOrders(opts?: TataCliqOrderCallOptions): Promise<ActiveOrders>;
  /** `null` when CliQ does not know the order. */
  getOrder(orderNo: string, opts?: TataCliqOrderCallOptions): Promise<OrderWire | null>;
  shipLines(lines: ShipLine[], opts?: TataCliqOrderCallOptions): Promise<LineBatchOutcome>;
  cancelLines(lines: CancelLine[], opts?: TataCliqOrderCallOptions): Promise<LineBatchOutcome>;
}

const ENTITY_KEY_MAX = 500;

export class TataCliqOrdersClient implements TataCliqOrdersApi {
  readonly sellerId: string;
  readonly paths: Readonly<TataCliqOrderPathTemplates>;
  private readonly client: TataCliqClient;
  private readonly timeoutMs: number;
  private readonly listTimeoutMs: number;
  private readonly limiters: Record<TataCliqOrderOperation, TokenBucketLimiter>;

  constructor(opts: TataCliqOrdersClientOptions) {
    this.client = opts.client;
    this.sellerId = opts.client.sellerId;
    this.paths = checkOrderTemplates({ ...DEFAULT_ORDER_PATH_TEMPLATES, ...opts.paths });
    this.timeoutMs = opts.requestTimeoutMs ?? 15_000;
    this.listTimeoutMs = opts.listTimeoutMs ?? 60_000;
    this.limiters = createTataCliqOrderLimiters(opts.rateScale ?? 1, opts.rateLimits, {
      clock: opts.client.clock,
      throttleBackoff: opts.throttleBackoff,
      serverErrorThreshold: opts.serverErrorThreshold,
      serverErrorBackoff: opts.serverErrorBackoff,
      random: opts.random,
    });
  }

  limiter(op: TataCliqOrderOperation): TokenBucketLimiter {
    return this.limiters[op];
  }

  circuit(op: TataCliqOrderOperation): CircuitView {
    return this.limiters[op].circuit;
  }

  /** `GET …/AP_SALES_ORDER/AVT_JSON_SALES_ORDER/AV_2.0/OG_1/`: every active order, one answer. */
  async listActiveOrders(opts: TataCliqOrderCallOptions = {}): Promise<ActiveOrders> {
    const op = 'listActiveOrders';
    const path = this.client.render(op, this.paths.activeOrders, { sellerId: this.sellerId });
    const res = await this.call(op, 'GET', path, null, undefined, this.listTimeoutMs, opts, 'read');
    // A FAILURE 404 on the list: read as "no active orders" (ASSUMED; some gateways answer so).
    if (res === null) return { orders: [], invalid: [] };
    const parsed = ordersOf(parseJson(res.text));
    if (parsed === null) throw unexpected(op, res.status, 'no "order" list');
    return parsed;
  }

  /** `GET …/OG_1/ORDID_{orderNo}/`: the order with all its lines; null for a FAILURE 404. */
  async getOrder(orderNo: string, opts: TataCliqOrderCallOptions = {}): Promise<OrderWire | null> {
    const op = 'getOrder';
    const path = this.client.render(op, this.paths.order, { sellerId: this.sellerId, orderNo });
    const res = await this.call(op, 'GET', path, orderNo, undefined, this.timeoutMs, opts, 'read');
    if (res === null) return null;
    const parsed = ordersOf(parseJson(res.text));
    if (parsed === null) throw unexpected(op, res.status, 'no order');
    if (parsed.invalid.length > 0)
      throw unexpected(op, res.status, `order ${orderNo} has an unexpected shape`);
    return parsed.orders.find((o) => o.orderNo === orderNo) ?? null;
  }

  /** `{"ShipmentUpdate":{"Item":[{orderNo, transactionId, awbNo, logisticsId, …}]}}` (ASSUMED). */
  async shipLines(lines: ShipLine[], opts: TataCliqOrderCallOptions = {}): Promise<LineBatchOutcome> {
    if (lines.length === 0) return { lines: [] };
    const items = lines.map((l): ShipmentUpdateItem => {
      for (const [field, v] of [
        ['awbNo', l.awbNo],
        ['logisticsId', l.logisticsId],
      ] as const) {
        if (v.trim() === '') {
          throw new TerminalError(
            `shipLines: ${field} of transaction ${l.transactionId} is empty; not sent`,
            {
              code: TATACLIQ_ERROR_CODES.badRequest,
            },
          );
        }
      }
      const item: ShipmentUpdateItem = {
        orderNo: l.orderNo,
        transactionId: l.transactionId,
        awbNo: l.awbNo,
        logisticsId: l.logisticsId,
        logisticsName: l.logisticsName,
        shippedDate: formatCliqDate(l.shippedAt),
      };
      if (l.invoiceNo !== undefined) item.invoiceNo = l.invoiceNo;
      if (l.invoiceDate !== undefined) item.invoiceDate = l.invoiceDate;
      return item;
    });
    const body: ShipmentUpdateRequest = { ShipmentUpdate: { Item: items } };
    return this.lineBatch('shipLines', this.paths.ship, lines, body, opts);
  }

  /** `{"OrderStatusUpdate":{"Item":[{orderNo, transactionId, status:"CANCELLED", reasonCode, reason}]}}` (ASSUMED). */
  async cancelLines(lines: CancelLine[], opts: TataCliqOrderCallOptions = {}): Promise<LineBatchOutcome> {
    if (lines.length === 0) return { lines: [] };
    const items = lines.map(
      (l): OrderStatusUpdateItem => ({
        orderNo: l.orderNo,
        transactionId: l.transactionId,
        status: 'CANCELLED',
        reasonCode: l.reasonCode,
        reason: storableText(l.reason, 250),
      }),
    );
    const body: OrderStatusUpdateRequest = { OrderStatusUpdate: { Item: items } };
    return this.lineBatch('cancelLines', this.paths.cancel, lines, body, opts);
  }

  async stop(): Promise<void> {
    await Promise.all(Object.values(this.limiters).map((l) => l.stop()));
  }

  // ---------------------------------------------------------------------------------------------

  private async lineBatch(
    op: 'shipLines' | 'cancelLines',
    template: string,
    lines: { orderNo: string; transactionId: string }[],
    body: unknown,
    opts: TataCliqOrderCallOptions,
  ): Promise<LineBatchOutcome> {
    const path = this.client.render(op, template, { sellerId: this.sellerId });
    const orders = [...new Set(lines.map((l) => l.orderNo))];
    const entity = orders.length === 1 ? orders[0]! : storableText(JSON.stringify(orders), ENTITY_KEY_MAX);
    const res = await this.call(op, 'POST', path, entity, body, this.timeoutMs, opts, 'urgent');
    return alignLines(
      lines.map((l) => l.transactionId),
      res?.text ?? '',
    );
  }

  private call(
    op: TataCliqOrderOperation,
    method: 'GET' | 'POST',
    path: string,
    entity: string | null,
    body: unknown,
    timeoutMs: number,
    opts: TataCliqOrderCallOptions,
    defaultPriority: CallPriority,
  ) {
    const limiter = this.limiters[op];
    return this.client.request(op, limiter, method, path, entity, body, timeoutMs, opts, defaultPriority);
  }
}

function checkOrderTemplates(t: TataCliqOrderPathTemplates): TataCliqOrderPathTemplates {
  for (const [name, template] of Object.entries(t) as [keyof TataCliqOrderPathTemplates, string][]) {
    const used = [...template.matchAll(/\{([^}]*)\}/g)].map((m) => m[1] ?? '');
    const allowed = name === 'order' ? ['sellerId', 'orderNo'] : ['sellerId'];
    const extra = used.filter((u) => !allowed.includes(u));
    const missing = name === 'order' && !used.includes('orderNo');
    if (extra.length > 0 || missing) {
      throw new RangeError(
        `tatacliq: order path template ${name} ${JSON.stringify(template)} may use only ${allowed.map((a) => `{${a}}`).join(', ')}${name === 'order' ? ' ({orderNo} required)' : ''}`,
      );
    }
  }
  return t;
}

/**
 * Aligns per-line results with the lines sent by transactionId. Without a per-line list, the
 * overall SUCCESS/FAILURE answers every line; otherwise a line without a result is UNCONFIRMED.
 */
export function alignLines(sent: string[], text: string): LineBatchOutcome {
  const { status, message, items } = batchResultsOf(parseJson(text));
  const results = new Map<string, LineResult>();
  for (const raw of items ?? []) {
    const r = LineResultSchema.safeParse(raw);
    if (r.success && !results.has(r.data.transactionId)) results.set(r.data.transactionId, r.data);
  }
  const out: LineBatchOutcome = { lines: [] };
  if (status !== undefined) out.status = status;
  for (const transactionId of sent) {
    const r = results.get(transactionId);
    const line: LineOutcome = { transactionId, status: 'UNCONFIRMED' };
    if (r) {
      line.status = r.status;
      if (r.errorCode !== undefined) line.errorCode = r.errorCode;
      if (r.errorMessage !== undefined) line.errorMessage = r.errorMessage;
    } else if (items === null && (status === 'SUCCESS' || status === 'FAILURE')) {
      line.status = status;
      if (status === 'FAILURE' && message !== undefined) line.errorMessage = message;
    }
    out.lines.push(line);
  }
  return out;
}

function unexpected(op: TataCliqOrderOperation, status: number, what: string): TerminalError {
  return new TerminalError(`${op}: response does not have the expected shape (${what})`, {
    code: TATACLIQ_ERROR_CODES.unexpectedResponse,
    status,
  });
}
