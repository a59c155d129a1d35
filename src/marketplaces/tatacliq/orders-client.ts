/**
 * Tata CliQ PartnerConnect client for the order operations: the active-orders list and the read of
 * one order (both observed), line shipment and seller cancel (both ASSUMED, reference §3.2). Every
 * path is a template (DEFAULT_ORDER_PATH_TEMPLATES), so the real ones can be dropped in.
 *
 * Same contract as the listing client (client.ts), whose conventions it shares: each request goes
 * through its operation's limiter (own table, TATACLIQ_ORDER_RATE_LIMITS) and is reported to the
 * CallRecorder; 429/5xx are RetryableError (never retried here), a 401 drops the token and replays
 * once, a second 401 with the same static token is a TerminalError (TATACLIQ_TOKEN_EXPIRED), other
 * 4xx are TerminalError. Pass the listing client's TokenProvider to share one token.
 *
 * Ship and cancel answer HTTP 200 with a result per line (§4 F15); a line without a result is
 * `UNCONFIRMED` (read the order back to know).
 */
import type { Clock } from '../../core/clock.js';
import { systemClock } from '../../core/clock.js';
import { classify, RetryableError, TerminalError } from '../../core/errors.js';
import { storableText } from '../../core/text.js';
import type { CallPriority } from '../../domain/types.js';
import {
  type FetchedResponse,
  type FetchLike,
  parseJson,
  parseRetryAfter,
  sendJson,
  throttledError,
} from '../http.js';
import {
  type BackoffOptions,
  CALL_PRIORITY,
  type CircuitView,
  type RateLimit,
  type TokenBucketLimiter,
} from '../limits.js';
import type { CallRecorder } from '../types.js';
import { noopRecorder } from '../types.js';
import { renderPath, TATACLIQ_ERROR_CODES } from './client.js';
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
import { type TokenProvider, type TokenSource, toTokenProvider } from './token-provider.js';
import { batchResultsOf, ErrorBodySchema } from './types.js';

export interface TataCliqOrdersClientOptions {
  /** `https://<host>/PartnerConnect`, or the sandbox's TATACLIQ_BASE_URL. */
  baseUrl: string;
  sellerId: string;
  /** A static bearer token, a minter, or a TokenProvider (share the listing client's). */
  token: TokenSource;
  /** Overrides of DEFAULT_ORDER_PATH_TEMPLATES; the ASSUMED ones will change. */
  paths?: Partial<TataCliqOrderPathTemplates>;
  fetch?: FetchLike;
  clock?: Clock;
  recorder?: CallRecorder;
  /** Multiplies the (ASSUMED) rates: tests and demos against a sandbox. Default 1. */
  rateScale?: number;
  rateLimits?: Partial<Record<TataCliqOrderOperation, RateLimit>>;
  /** Per read of one order and per ship/cancel. Default 15 s. */
  requestTimeoutMs?: number;
  /** Per active-orders list (every active order in one answer). Default 60 s. */
  listTimeoutMs?: number;
  /** After a static token was rejected, calls with it fail fast this long. Default 5 min. */
  authFailureHoldMs?: number;
  throttleBackoff?: BackoffOptions;
  serverErrorThreshold?: number;
  serverErrorBackoff?: BackoffOptions;
  random?: () => number;
  userAgent?: string;
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

const DEFAULT_USER_AGENT = `marketbridge/0.1.0 (Language=TypeScript; Platform=Node.js/${process.versions.node})`;
const MINTED_TOKEN_REJECTED_RETRY_MS = 30_000;
const ENTITY_KEY_MAX = 500;

type Outcome = { kind: 'ok'; res: FetchedResponse } | { kind: 'unauthorized' };

export class TataCliqOrdersClient implements TataCliqOrdersApi {
  readonly sellerId: string;
  readonly paths: Readonly<TataCliqOrderPathTemplates>;
  private readonly baseUrl: string;
  private readonly basePath: string;
  private readonly tokens: TokenProvider;
  private readonly fetchFn: FetchLike;
  private readonly clock: Clock;
  private readonly recorder: CallRecorder;
  private readonly userAgent: string;
  private readonly timeoutMs: number;
  private readonly listTimeoutMs: number;
  private readonly authFailureHoldMs: number;
  private readonly limiters: Record<TataCliqOrderOperation, TokenBucketLimiter>;
  private rejectedToken: { value: string; at: number; error: TerminalError } | null = null;

  constructor(opts: TataCliqOrdersClientOptions) {
    if (opts.sellerId === '') throw new RangeError('tatacliq: sellerId must not be empty');
    this.sellerId = opts.sellerId;
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.basePath = new URL(this.baseUrl).pathname.replace(/\/+$/, '');
    this.paths = checkOrderTemplates({ ...DEFAULT_ORDER_PATH_TEMPLATES, ...opts.paths });
    this.clock = opts.clock ?? systemClock;
    this.tokens = toTokenProvider(opts.token, this.clock);
    this.fetchFn = opts.fetch ?? ((input, init) => fetch(input, init));
    this.recorder = opts.recorder ?? noopRecorder;
    this.userAgent = opts.userAgent ?? DEFAULT_USER_AGENT;
    this.timeoutMs = opts.requestTimeoutMs ?? 15_000;
    this.listTimeoutMs = opts.listTimeoutMs ?? 60_000;
    this.authFailureHoldMs = opts.authFailureHoldMs ?? 5 * 60_000;
    this.limiters = createTataCliqOrderLimiters(opts.rateScale ?? 1, opts.rateLimits, {
      clock: this.clock,
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
    const path = this.render(op, this.paths.activeOrders, { sellerId: this.sellerId });
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
    const path = this.render(op, this.paths.order, { sellerId: this.sellerId, orderNo });
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
    const path = this.render(op, template, { sellerId: this.sellerId });
    const orders = [...new Set(lines.map((l) => l.orderNo))];
    const entity = orders.length === 1 ? orders[0]! : storableText(JSON.stringify(orders), ENTITY_KEY_MAX);
    const res = await this.call(op, 'POST', path, entity, body, this.timeoutMs, opts, 'urgent');
    return alignLines(
      lines.map((l) => l.transactionId),
      res?.text ?? '',
    );
  }

  private async call(
    op: TataCliqOrderOperation,
    method: 'GET' | 'POST',
    path: string,
    entity: string | null,
    body: unknown,
    timeoutMs: number,
    opts: TataCliqOrderCallOptions,
    defaultPriority: CallPriority,
  ): Promise<FetchedResponse | null> {
    const p = opts.priority ?? defaultPriority;
    const priority = typeof p === 'number' ? p : CALL_PRIORITY[p];
    const url = `${this.baseUrl}${path}`;
    let previous: string | null = null;
    for (let attempt = 1; ; attempt++) {
      this.limiters[op].throwIfPaused();
      const token = await this.bearer();
      const outcome = await this.limiters[op].schedule(
        priority,
        (ticket) => this.send(op, method, url, entity, body, token, attempt, ticket, timeoutMs, opts.signal),
        opts.signal,
      );
      if (outcome.kind === 'ok') return outcome.res.status === 404 ? null : outcome.res;
      this.tokens.invalidate(token);
      if (attempt >= 2) throw this.tokenRejected(op, token, previous);
      previous = token;
    }
  }

  private tokenRejected(op: TataCliqOrderOperation, token: string, previous: string | null): Error {
    if (token !== previous) {
      return new RetryableError(`${op}: a newly obtained bearer token was rejected too (HTTP 401)`, {
        status: 401,
        retryAfterMs: MINTED_TOKEN_REJECTED_RETRY_MS,
      });
    }
    const error = new TerminalError(
      `${op}: bearer token rejected (HTTP 401 twice): the token expired or was revoked; ask the Tata CliQ account manager for a new token (TATACLIQ_TOKEN)`,
      { code: TATACLIQ_ERROR_CODES.tokenExpired, status: 401 },
    );
    this.rejectedToken = { value: token, at: this.clock.now(), error };
    return error;
  }

  private async bearer(): Promise<string> {
    let token: string;
    try {
      token = await this.tokens.token();
    } catch (err) {
      throw classify(err);
    }
    const r = this.rejectedToken;
    if (r && r.value === token && this.clock.now() - r.at < this.authFailureHoldMs) throw r.error;
    return token;
  }

  private render(
    op: TataCliqOrderOperation,
    template: string,
    vars: { sellerId: string; orderNo?: string },
  ): string {
    const path = `/${renderPath(template, vars)}`;
    const sent = new URL(`${this.baseUrl}${path}`).pathname;
    const empty = Object.values(vars).some((v) => v === '');
    if (empty || sent !== this.basePath + path) {
      throw new TerminalError(
        `${op}: ${JSON.stringify(vars)} cannot be addressed in the path template ${JSON.stringify(template)} (would be sent to ${sent}); not sent`,
        { code: TATACLIQ_ERROR_CODES.badRequest },
      );
    }
    return path;
  }

  private send(
    op: TataCliqOrderOperation,
    method: 'GET' | 'POST',
    url: string,
    entity: string | null,
    body: unknown,
    token: string,
    attempt: number,
    ticket: number,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<Outcome> {
    const limiter = this.limiters[op];
    const http = {
      fetchFn: this.fetchFn,
      clock: this.clock,
      recorder: this.recorder,
      userAgent: this.userAgent,
    };
    const request = {
      call: { marketplace: 'tatacliq' as const, operation: op, entityKey: entity, attempt },
      method,
      url,
      auth: { authorization: `Bearer ${token}` },
      body,
      limiter,
      ticket,
      timeoutMs,
      signal,
    };
    return sendJson(http, request, (res, call): Outcome => {
      if (res.status >= 200 && res.status < 300) return { kind: 'ok', res };
      const error = errorBody(res.text);
      call.error = describe(error, res.status);
      if (res.status === 404 && method === 'GET' && error?.status?.toUpperCase() === 'FAILURE') {
        call.error = null;
        return { kind: 'ok', res };
      }
      if (res.status === 401) {
        call.error = 'HTTP 401 (token rejected)';
        return { kind: 'unauthorized' };
      }
      if (res.status === 429) {
        const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'), this.clock.now());
        throw throttledError(op, call, limiter, ticket, retryAfterMs);
      }
      if (res.status >= 500 || res.status === 408) {
        throw new RetryableError(`${op}: ${call.error}`, { status: res.status });
      }
      if (res.status === 403) {
        throw new TerminalError(`${op}: access denied (${call.error})`, {
          code: TATACLIQ_ERROR_CODES.unauthorized,
          status: 403,
        });
      }
      if (res.status === 404) {
        throw new TerminalError(`${op}: ${call.error}; check the PartnerConnect order path templates`, {
          code: TATACLIQ_ERROR_CODES.notFound,
          status: 404,
        });
      }
      throw new TerminalError(`${op}: ${call.error}`, {
        code: TATACLIQ_ERROR_CODES.badRequest,
        status: res.status,
      });
    });
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

function errorBody(text: string) {
  const parsed = ErrorBodySchema.safeParse(parseJson(text));
  return parsed.success ? parsed.data : undefined;
}

function describe(e: { errorCode?: string; errorMessage?: string } | undefined, status: number): string {
  const parts = [e?.errorCode, e?.errorMessage].filter((p): p is string => p !== undefined && p !== '');
  return parts.length > 0 ? `${parts.join(': ')} [HTTP ${status}]` : `HTTP ${status}`;
}
