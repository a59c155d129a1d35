/**
 * Tata CliQ PartnerConnect client for the listing operations: inventory update (observed),
 * price update and listing read (both ASSUMED, reference §3.2). One instance per seller account:
 * it owns that account's limiters.
 *
 * Contract: every HTTP request goes through its operation's limiter and is reported to the
 * CallRecorder (marketplace 'tatacliq'). The client never retries 429/5xx itself: it throws
 * RetryableError and the caller backs off. A 401 makes it drop the token and replay once with the
 * provider's next token; when the provider had no new one (a static token), the second 401 is a
 * TerminalError asking for a new token from the account manager, and further calls with that same
 * token fail fast (no request) for `authFailureHoldMs`. Other 4xx are TerminalError.
 *
 * A 429 pauses the operation for every caller: at least for the server's `Retry-After`, and for
 * the limiter's growing 429 pause (1 s, 2 s, 4 s … 60 s).
 *
 * Batch calls answer HTTP 200 with a result per item (§4 F15); the client aligns them with the
 * items it sent. An item without a result is `UNCONFIRMED` (confirm by reading it back).
 */
import type { Clock } from '../../core/clock.js';
import { systemClock } from '../../core/clock.js';
import { classify, RetryableError, TerminalError } from '../../core/errors.js';
import { storableText } from '../../core/text.js';
import type { CallPriority } from '../../domain/types.js';
import {
  encodePathSegment,
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
import { createTataCliqLimiters, DEFAULT_MAX_BATCH_ITEMS, type TataCliqOperation } from './limits.js';
import { type TokenProvider, type TokenSource, toTokenProvider } from './token-provider.js';
import {
  batchResultsOf,
  DEFAULT_PATH_TEMPLATES,
  ErrorBodySchema,
  type InventoryUpdateRequest,
  type ItemResult,
  ItemResultSchema,
  type ItemStatus,
  ListingSchema,
  PATH_PLACEHOLDERS,
  type PathPlaceholder,
  type PriceUpdateRequest,
  type TataCliqListing,
  type TataCliqPathTemplates,
} from './types.js';

/** TerminalError codes a caller can act on. */
export const TATACLIQ_ERROR_CODES = {
  /** The bearer token was rejected and the provider had no other: ask the account manager. */
  tokenExpired: 'TATACLIQ_TOKEN_EXPIRED',
  /** 403: the token is valid but not for this seller/API. */
  unauthorized: 'TATACLIQ_UNAUTHORIZED',
  /** 400 and other 4xx, or a value we refuse to send: the request is wrong and will stay wrong. */
  badRequest: 'TATACLIQ_BAD_REQUEST',
  /** A 404 that is not a listing's or an order's "not found" (usually a wrong path template). */
  notFound: 'TATACLIQ_NOT_FOUND',
  /** A 2xx body that does not have the expected shape. */
  unexpectedResponse: 'TATACLIQ_UNEXPECTED_RESPONSE',
} as const;

export interface TataCliqClientOptions {
  /** `https://<host>/PartnerConnect` (the templates are appended), or the sandbox's TATACLIQ_BASE_URL. */
  baseUrl: string;
  sellerId: string;
  /** A static bearer token, a minter `() => {accessToken, expiresAt}`, or a TokenProvider. */
  token: TokenSource;
  /** Overrides of the path templates (DEFAULT_PATH_TEMPLATES); the ASSUMED ones will change. */
  paths?: Partial<TataCliqPathTemplates>;
  fetch?: FetchLike;
  clock?: Clock;
  recorder?: CallRecorder;
  /** Multiplies the (ASSUMED) rates: tests and demos against a sandbox. Default 1. */
  rateScale?: number;
  /** Per-operation overrides of TATACLIQ_RATE_LIMITS (before scaling). */
  rateLimits?: Partial<Record<TataCliqOperation, RateLimit>>;
  /** Items per update call (ASSUMED, default 50); longer lists are split. */
  maxBatchItems?: number;
  /** Per read request, including the body. Default 15 s. */
  requestTimeoutMs?: number;
  /** Per update request (a batch of up to maxBatchItems). Default 30 s. */
  batchTimeoutMs?: number;
  /** After a static token was rejected, calls with it fail fast this long. Default 5 min. */
  authFailureHoldMs?: number;
  /** Pause of an operation after a 429, per consecutive 429. Default 1 s doubling to 60 s. */
  throttleBackoff?: BackoffOptions;
  /** Consecutive server errors (5xx, timeouts, network errors) that open an operation's circuit. Default 5. */
  serverErrorThreshold?: number;
  /** Pause of an operation after server errors, per reopening. Default 5 s doubling to 120 s. */
  serverErrorBackoff?: BackoffOptions;
  /** Jitter source (tests). Default Math.random. */
  random?: () => number;
  userAgent?: string;
}

export interface TataCliqCallOptions {
  /** A lane name or a raw Bottleneck priority (0–9, lower first). */
  priority?: CallPriority | number;
  signal?: AbortSignal;
}

export interface InventoryItem {
  sku: string;
  slaveId: string;
  /** Whole units, ≥ 0. */
  inventory: number;
  /** Whole units, ≥ 0. Default 0. */
  safetyStock?: number;
}

/** A price change; a field left out is not changed (ASSUMED). INR. */
export interface PriceItem {
  sku: string;
  mrp?: number;
  sellingPrice?: number;
}

/** `UNCONFIRMED`: the answer had no result for this item; read it back to know. */
export type ItemOutcomeStatus = ItemStatus | 'UNCONFIRMED';

export interface ItemOutcome {
  sku: string;
  slaveId?: string;
  status: ItemOutcomeStatus;
  errorCode?: string;
  errorMessage?: string;
}

export interface BatchOutcome {
  /** The overall status, when the answer had one (upper case). */
  status?: string;
  /** One per item sent, in the same order. */
  items: ItemOutcome[];
}

/** The listing operations, as the adapter uses them (the client, or a fake in tests). */
export interface TataCliqListingApi {
  readonly maxBatchItems: number;
  updateInventory(items: InventoryItem[], opts?: TataCliqCallOptions): Promise<BatchOutcome>;
  updatePrice(items: PriceItem[], opts?: TataCliqCallOptions): Promise<BatchOutcome>;
  /** `null` when CliQ does not know the SKU. */
  getListing(sku: string, opts?: TataCliqCallOptions): Promise<TataCliqListing | null>;
}

const DEFAULT_USER_AGENT = `marketbridge/0.1.0 (Language=TypeScript; Platform=Node.js/${process.versions.node})`;
const MINTED_TOKEN_REJECTED_RETRY_MS = 30_000;
const ENTITY_KEY_MAX = 500;

type Outcome = { kind: 'ok'; res: FetchedResponse } | { kind: 'unauthorized' };

export class TataCliqClient implements TataCliqListingApi {
  readonly sellerId: string;
  readonly maxBatchItems: number;
  readonly paths: Readonly<TataCliqPathTemplates>;
  private readonly baseUrl: string;
  private readonly basePath: string;
  private readonly tokens: TokenProvider;
  private readonly fetchFn: FetchLike;
  /** The account's clock; the order client's limiters use it too. */
  readonly clock: Clock;
  private readonly recorder: CallRecorder;
  private readonly userAgent: string;
  private readonly readTimeoutMs: number;
  private readonly batchTimeoutMs: number;
  private readonly authFailureHoldMs: number;
  private readonly limiters: Record<TataCliqOperation, TokenBucketLimiter>;
  private rejectedToken: { value: string; at: number; error: TerminalError } | null = null;

  constructor(opts: TataCliqClientOptions) {
    if (opts.sellerId === '') throw new RangeError('tatacliq: sellerId must not be empty');
    this.sellerId = opts.sellerId;
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.basePath = new URL(this.baseUrl).pathname.replace(/\/+$/, '');
    this.paths = checkTemplates({ ...DEFAULT_PATH_TEMPLATES, ...opts.paths });
    this.clock = opts.clock ?? systemClock;
    this.tokens = toTokenProvider(opts.token, this.clock);
    this.fetchFn = opts.fetch ?? ((input, init) => fetch(input, init));
    this.recorder = opts.recorder ?? noopRecorder;
    this.userAgent = opts.userAgent ?? DEFAULT_USER_AGENT;
    this.readTimeoutMs = opts.requestTimeoutMs ?? 15_000;
    this.batchTimeoutMs = opts.batchTimeoutMs ?? 30_000;
    this.authFailureHoldMs = opts.authFailureHoldMs ?? 5 * 60_000;
    const max = opts.maxBatchItems ?? DEFAULT_MAX_BATCH_ITEMS;
    if (!Number.isInteger(max) || max < 1)
      throw new RangeError(`tatacliq: maxBatchItems must be >= 1, got ${max}`);
    this.maxBatchItems = max;
    this.limiters = createTataCliqLimiters(opts.rateScale ?? 1, opts.rateLimits, {
      clock: this.clock,
      throttleBackoff: opts.throttleBackoff,
      serverErrorThreshold: opts.serverErrorThreshold,
      serverErrorBackoff: opts.serverErrorBackoff,
      random: opts.random,
    });
  }

  /** The limiter of one operation, for metrics and tests. */
  limiter(op: TataCliqOperation): TokenBucketLimiter {
    return this.limiters[op];
  }

  /** The 429 / server-error circuit of one operation, for metrics and tests. */
  circuit(op: TataCliqOperation): CircuitView {
    return this.limiters[op].circuit;
  }

  /** `{"InventoryUpdate":{"Item":[{"SKU","SlaveID","Inventory","SafetyStock"}]}}`, all strings. */
  async updateInventory(items: InventoryItem[], opts: TataCliqCallOptions = {}): Promise<BatchOutcome> {
    const rows = items.map((i) => ({
      SKU: i.sku,
      SlaveID: i.slaveId,
      Inventory: wholeUnits(i.inventory, 'inventory', i.sku),
      SafetyStock: wholeUnits(i.safetyStock ?? 0, 'safetyStock', i.sku),
    }));
    return this.batch(
      'updateInventory',
      this.paths.inventory,
      items,
      rows,
      (chunk): InventoryUpdateRequest => ({ InventoryUpdate: { Item: chunk } }),
      items.every((i) => i.inventory === 0) ? 'urgent' : 'stock',
      opts,
    );
  }

  /** `{"PriceUpdate":{"Item":[{"SKU","MRP","SellingPrice"}]}}` (ASSUMED), amounts as strings. */
  async updatePrice(items: PriceItem[], opts: TataCliqCallOptions = {}): Promise<BatchOutcome> {
    const rows = items.map((i) => {
      if (i.mrp === undefined && i.sellingPrice === undefined) {
        throw new TerminalError(
          `updatePrice: SKU ${JSON.stringify(i.sku)} has neither MRP nor selling price`,
          {
            code: TATACLIQ_ERROR_CODES.badRequest,
          },
        );
      }
      const row: { SKU: string; MRP?: string; SellingPrice?: string } = { SKU: i.sku };
      if (i.mrp !== undefined) row.MRP = amount(i.mrp, 'MRP', i.sku);
      if (i.sellingPrice !== undefined) row.SellingPrice = amount(i.sellingPrice, 'SellingPrice', i.sku);
      return row;
    });
    return this.batch(
      'updatePrice',
      this.paths.price,
      items,
      rows,
      (chunk): PriceUpdateRequest => ({ PriceUpdate: { Item: chunk } }),
      'price',
      opts,
    );
  }

  /** `null` when the SKU is unknown (a 404 with the FAILURE error body). */
  async getListing(sku: string, opts: TataCliqCallOptions = {}): Promise<TataCliqListing | null> {
    const op = 'getListing';
    const path = this.render(op, this.paths.listing, { sellerId: this.sellerId, sku });
    const res = await this.request(
      op,
      this.limiters[op],
      'GET',
      path,
      sku,
      undefined,
      this.readTimeoutMs,
      opts,
      'read',
    );
    if (res === null) return null;
    const parsed = ListingSchema.safeParse(parseJson(res.text));
    if (!parsed.success) {
      throw new TerminalError(
        `getListing: response does not have the expected shape: ${parsed.error.message}`,
        {
          code: TATACLIQ_ERROR_CODES.unexpectedResponse,
          status: res.status,
        },
      );
    }
    return parsed.data;
  }

  async stop(): Promise<void> {
    await Promise.all(Object.values(this.limiters).map((l) => l.stop()));
  }

  // ---------------------------------------------------------------------------------------------

  /**
   * Sends `rows` in chunks of maxBatchItems (concurrently, through the limiter). If one chunk fails
   * the whole call rejects, although other chunks may have been applied: updates are absolute, so
   * sending them all again is safe.
   */
  private async batch<R>(
    op: 'updateInventory' | 'updatePrice',
    template: string,
    items: { sku: string; slaveId?: string }[],
    rows: R[],
    wrap: (chunk: R[]) => unknown,
    defaultLane: CallPriority,
    opts: TataCliqCallOptions,
  ): Promise<BatchOutcome> {
    if (rows.length === 0) return { items: [] };
    const path = this.render(op, template, { sellerId: this.sellerId });
    const chunks: number[] = [];
    for (let start = 0; start < rows.length; start += this.maxBatchItems) chunks.push(start);
    const answers = await Promise.all(
      chunks.map(async (start) => {
        const sent = items.slice(start, start + this.maxBatchItems);
        const body = wrap(rows.slice(start, start + this.maxBatchItems));
        const res = await this.request(
          op,
          this.limiters[op],
          'POST',
          path,
          entityKey(sent),
          body,
          this.batchTimeoutMs,
          opts,
          defaultLane,
        );
        return align(sent, res?.text ?? '');
      }),
    );
    const status =
      answers.map((a) => a.status).find((s) => s !== undefined && s !== 'SUCCESS') ?? answers[0]?.status;
    const outcome: BatchOutcome = { items: answers.flatMap((a) => a.items) };
    if (status !== undefined) outcome.status = status;
    return outcome;
  }

  /**
   * One request of any operation (also the order client's) through the given limiter, with this
   * account's token: a 401 drops the token and replays once; a rejected static token is held.
   * `path` is a rendered path (see `render`). Returns the 2xx response, or null for a GET's FAILURE
   * 404 (the entity is unknown); throws a classified error otherwise.
   */
  async request(
    op: string,
    limiter: TokenBucketLimiter,
    method: 'GET' | 'POST',
    path: string,
    entity: string | null,
    body: unknown,
    timeoutMs: number,
    opts: TataCliqCallOptions,
    defaultPriority: CallPriority,
  ): Promise<FetchedResponse | null> {
    const p = opts.priority ?? defaultPriority;
    const priority = typeof p === 'number' ? p : CALL_PRIORITY[p];
    const url = `${this.baseUrl}${path}`;
    let previous: string | null = null;
    for (let attempt = 1; ; attempt++) {
      // Nothing, not even a token, while a 429 (and its Retry-After) pauses the operation.
      limiter.throwIfPaused();
      const token = await this.bearer();
      const outcome = await limiter.schedule(
        priority,
        (ticket) =>
          this.send(op, limiter, method, url, entity, body, token, attempt, ticket, timeoutMs, opts.signal),
        opts.signal,
      );
      if (outcome.kind === 'ok') return outcome.res.status === 404 ? null : outcome.res;
      this.tokens.invalidate(token);
      if (attempt >= 2) throw this.tokenRejected(op, token, previous);
      previous = token;
    }
  }

  private tokenRejected(op: string, token: string, previous: string | null): Error {
    if (token !== previous) {
      // A fresh token was rejected right away: the issuer and the gateway may disagree for a while.
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

  /** The path of a template with its values encoded; refuses values that would address another path. */
  render(op: string, template: string, vars: Partial<Record<PathPlaceholder, string>>): string {
    const path = `/${renderPath(template, vars)}`;
    const sent = new URL(`${this.baseUrl}${path}`).pathname;
    const empty = Object.entries(vars).find(([, v]) => v === '');
    // fetch parses URLs per WHATWG: a '.'/'..' segment (also '%2E') would be removed (§4 F22).
    if (empty !== undefined || sent !== this.basePath + path) {
      throw new TerminalError(
        `${op}: ${JSON.stringify(vars)} cannot be addressed in the path template ${JSON.stringify(template)} (would be sent to ${sent}); not sent`,
        { code: TATACLIQ_ERROR_CODES.badRequest },
      );
    }
    return path;
  }

  /** One HTTP request, recorded; maps the status to an outcome or a classified error. */
  private send(
    op: string,
    limiter: TokenBucketLimiter,
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
        // At least the server's Retry-After.
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
        throw new TerminalError(`${op}: ${call.error}; check the PartnerConnect path templates`, {
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

/**
 * Fills a path template. Each value is percent-encoded as one path segment (SKUs contain '/',
 * '+', ',', spaces and non-ASCII, §4 F22); a leading '/' of the template is dropped.
 */
export function renderPath(template: string, vars: Partial<Record<PathPlaceholder, string>>): string {
  return template.replace(/^\/+/, '').replace(/\{([A-Za-z]+)\}/g, (_, name: string) => {
    const value = vars[name as PathPlaceholder];
    if (value === undefined)
      throw new RangeError(`path template ${JSON.stringify(template)}: no value for {${name}}`);
    return encodePathSegment(value);
  });
}

function checkTemplates(t: TataCliqPathTemplates): TataCliqPathTemplates {
  const needs: Record<keyof TataCliqPathTemplates, PathPlaceholder[]> = {
    inventory: [],
    price: [],
    listing: ['sku'],
    orders: [],
    order: ['orderNo'],
    orderStatus: [],
    shipment: [],
  };
  for (const [name, template] of Object.entries(t) as [keyof TataCliqPathTemplates, string][]) {
    const used = [...template.matchAll(/\{([^}]*)\}/g)].map((m) => m[1] ?? '');
    const unknown = used.filter((u) => !(PATH_PLACEHOLDERS as readonly string[]).includes(u));
    if (unknown.length > 0) {
      throw new RangeError(
        `tatacliq: path template ${name} ${JSON.stringify(template)} has unknown placeholder(s) ${unknown.join(', ')}; known: ${PATH_PLACEHOLDERS.join(', ')}`,
      );
    }
    const allowed = new Set<string>(['sellerId', ...needs[name]]);
    const extra = used.filter((u) => !allowed.has(u));
    const missing = needs[name].filter((n) => !used.includes(n));
    if (extra.length > 0 || missing.length > 0) {
      throw new RangeError(
        `tatacliq: path template ${name} ${JSON.stringify(template)} must use ${[...allowed].map((a) => `{${a}}`).join(', ')}${needs[name].length > 0 ? ` (${needs[name].join(', ')} required)` : ''}`,
      );
    }
  }
  return t;
}

/**
 * Aligns per-item results with the items sent: first by SKU and SlaveID, one result per item; a
 * result without SlaveID answers every item of its SKU. No per-item list: the overall status
 * answers all items (SUCCESS/FAILURE), otherwise they are UNCONFIRMED.
 */
function align(sent: { sku: string; slaveId?: string }[], text: string): BatchOutcome {
  const { status, message, items } = batchResultsOf(parseJson(text));
  const results: ItemResult[] = [];
  for (const raw of items ?? []) {
    const r = ItemResultSchema.safeParse(raw);
    if (r.success && r.data.sku !== undefined) results.push(r.data);
  }
  const out: BatchOutcome = { items: [] };
  if (status !== undefined) out.status = status;
  const used = new Set<number>();
  const matches = (r: ItemResult, s: { sku: string; slaveId?: string }) =>
    r.sku === s.sku && (r.slaveId === undefined || s.slaveId === undefined || r.slaveId === s.slaveId);
  for (const s of sent) {
    let i = results.findIndex((r, idx) => !used.has(idx) && matches(r, s));
    if (i >= 0) used.add(i);
    else i = results.findIndex((r) => matches(r, s) && r.slaveId === undefined);
    const r = i >= 0 ? results[i] : undefined;
    const item: ItemOutcome = { sku: s.sku, status: 'UNCONFIRMED' };
    if (s.slaveId !== undefined) item.slaveId = s.slaveId;
    if (r) {
      item.status = r.status;
      if (r.errorCode !== undefined) item.errorCode = r.errorCode;
      if (r.errorMessage !== undefined) item.errorMessage = r.errorMessage;
    } else if (items === null && (status === 'SUCCESS' || status === 'FAILURE')) {
      item.status = status;
      if (status === 'FAILURE' && message !== undefined) item.errorMessage = message;
    }
    out.items.push(item);
  }
  return out;
}

function errorBody(text: string) {
  const parsed = ErrorBodySchema.safeParse(parseJson(text));
  return parsed.success ? parsed.data : undefined;
}

function describe(e: { errorCode?: string; errorMessage?: string } | undefined, status: number): string {
  const parts = [e?.errorCode, e?.errorMessage].filter((p): p is string => p !== undefined && p !== '');
  return parts.length > 0 ? `${parts.join(': ')} [HTTP ${status}]` : `HTTP ${status}`;
}

/** The recorded entity: the SKU, or the JSON list of SKUs of a batch (SKUs may contain commas). */
function entityKey(items: { sku: string }[]): string {
  const skus = [...new Set(items.map((i) => i.sku))];
  return skus.length === 1 ? skus[0]! : storableText(JSON.stringify(skus), ENTITY_KEY_MAX);
}

function wholeUnits(n: number, field: string, sku: string): string {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new TerminalError(
      `${field} of SKU ${JSON.stringify(sku)} must be a whole number >= 0, got ${n}; not sent`,
      {
        code: TATACLIQ_ERROR_CODES.badRequest,
      },
    );
  }
  return String(n);
}

/** INR as a string: whole rupees without decimals, otherwise 2 decimals (ASSUMED format). */
function amount(n: number, field: string, sku: string): string {
  if (!Number.isFinite(n) || n <= 0) {
    throw new TerminalError(`${field} of SKU ${JSON.stringify(sku)} must be > 0, got ${n}; not sent`, {
      code: TATACLIQ_ERROR_CODES.badRequest,
    });
  }
  const paise = Math.round(n * 100);
  return paise % 100 === 0 ? String(paise / 100) : (paise / 100).toFixed(2);
}
