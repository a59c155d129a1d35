/**
 * Flipkart Marketplace Seller API v3 client for Listings, with OAuth client-credentials tokens.
 * One instance per seller account (app id): it owns that account's rate limiters.
 *
 * Contract: every method makes at most one HTTP request per call it needs (two when the access
 * token was rejected, §4 F19), always through the operation's limiter, and reports each HTTP
 * request to the CallRecorder (marketplace 'flipkart'). It never retries 429/5xx itself: it throws
 * RetryableError and the caller backs off. Request-level problems (400, 403, …) throw
 * TerminalError. Per-SKU problems are not errors: batch calls answer HTTP 200 with a status per
 * SKU (§2.3, §4 F15), returned as `SkuResults`.
 *
 * Shared backoffs per client (so many callers do not multiply the load on a struggling server):
 *  - a 429 pauses that operation for every caller (TokenBucketLimiter circuit) and for at least
 *    the `Retry-After` it carried;
 *  - a retryable token failure holds token refreshes (1 s, 2 s, 4 s … 60 s with jitter);
 *  - rejected credentials fail fast (no request) until the secret changes or
 *    `authFailureHoldMs` has passed.
 */
import { Buffer } from 'node:buffer';
import type { Clock } from '../../core/clock.js';
import { systemClock } from '../../core/clock.js';
import { RetryableError, TerminalError } from '../../core/errors.js';
import { storableText } from '../../core/text.js';
import type { CallPriority } from '../../domain/types.js';
import {
  encodePathSegment,
  type FetchedResponse,
  type FetchLike,
  fetchText,
  parseJson,
  parseRetryAfter,
  RecordedCall,
  sendJson,
  throttledError,
} from '../http.js';
import {
  type BackoffOptions,
  CALL_PRIORITY,
  CircuitOpenError,
  type CircuitView,
  isServerError,
  type RateLimit,
  RetryHold,
  type TokenBucketLimiter,
  type TokenRefreshHold,
} from '../limits.js';
import type { CallRecorder } from '../types.js';
import { noopRecorder } from '../types.js';
import { createFlipkartLimiters, type FlipkartOperation } from './limits.js';
import {
  GetListingsResponseSchema,
  type InventoryItem,
  LISTINGS_V3_PATH,
  type ListingDetail,
  ListingDetailSchema,
  type ListingItem,
  type ListingsLookup,
  MAX_SKUS_PER_CALL,
  OAuthErrorSchema,
  type PriceItem,
  parseSkuResults,
  type SkuResults,
  TokenResponseSchema,
} from './types.js';

export const FLIPKART_TOKEN_PATH = '/oauth-service/oauth/token';
export const FLIPKART_SCOPE = 'Seller_Api';

/** TerminalError codes a caller can act on. */
export const FLIPKART_ERROR_CODES = {
  /** The token endpoint answered 401: app id / app secret wrong or revoked. */
  badCredentials: 'FLIPKART_BAD_CREDENTIALS',
  /** The token endpoint rejected the request otherwise (400 invalid_scope, …). */
  tokenRequestRejected: 'FLIPKART_TOKEN_REQUEST_REJECTED',
  /** 403 on a business call: the app may not act for this seller. */
  forbidden: 'FLIPKART_FORBIDDEN',
  /** 400/422 and other 4xx: the request is wrong and will stay wrong. */
  badRequest: 'FLIPKART_BAD_REQUEST',
  notFound: 'FLIPKART_NOT_FOUND',
  /** More than 10 SKUs, a SKU twice, or a SKU that cannot be sent; nothing was sent. */
  invalidBatch: 'FLIPKART_INVALID_BATCH',
} as const;

export interface FlipkartCallOptions {
  /** A lane name or a raw Bottleneck priority (0–9, lower first). */
  priority?: CallPriority | number;
  signal?: AbortSignal;
}

/** The Listings operations, as the adapter uses them (the client, or a fake in tests). */
export interface FlipkartListingsApi {
  /** POST /listings/v3/update/price, ≤ 10 SKUs. */
  updatePrice(items: PriceItem[], opts?: FlipkartCallOptions): Promise<SkuResults>;
  /** POST /listings/v3/update/inventory, ≤ 10 SKUs. */
  updateInventory(items: InventoryItem[], opts?: FlipkartCallOptions): Promise<SkuResults>;
  /** POST /listings/v3/update, ≤ 10 SKUs. */
  updateListing(items: ListingItem[], opts?: FlipkartCallOptions): Promise<SkuResults>;
  /** POST /listings/v3 (overwrites an existing SKU), ≤ 10 SKUs. */
  createListing(items: ListingItem[], opts?: FlipkartCallOptions): Promise<SkuResults>;
  /** GET /listings/v3/{skus}, split into as many requests as needed. */
  getListings(skus: string[], opts?: FlipkartCallOptions): Promise<ListingsLookup>;
}

export interface FlipkartClientOptions {
  /** Seller API base including `/sellers`, e.g. https://api.flipkart.net/sellers. */
  baseUrl: string;
  /** e.g. https://api.flipkart.net/oauth-service/oauth/token (outside `/sellers`). */
  tokenUrl: string;
  appId: string;
  /** Read at every token refresh, so a rotated secret is used without restart. */
  appSecret: () => string | Promise<string>;
  /** SKU → FSN (`product_id`). */
  fsn?: ReadonlyMap<string, string> | Readonly<Record<string, string>>;
  /** SKU → FSN; default: the `fsn` map, else the SKU itself. */
  productId?: (sku: string) => string;
  fetch?: FetchLike;
  clock?: Clock;
  recorder?: CallRecorder;
  /** Multiplies the (assumed) limits: tests and demos against a sandbox with the same scale. */
  rateScale?: number;
  /** Per-operation overrides of FLIPKART_RATE_LIMITS (before scaling). */
  rateLimits?: Partial<Record<FlipkartOperation, RateLimit>>;
  /** Per HTTP request including the body. Default 10 s (Flipkart's advice for listing APIs). */
  requestTimeoutMs?: number;
  /** SKUs per GET /listings/v3/{skus} (ASSUMED cap, not documented). Default 10. */
  getListingsBatchSize?: number;
  /** After the token endpoint rejected the credentials: fail fast this long. Default 5 min. */
  authFailureHoldMs?: number;
  /** Pause of an operation after a 429, per consecutive 429. Default 1 s doubling to 60 s. */
  throttleBackoff?: BackoffOptions;
  /** Consecutive server errors (5xx, timeouts, network errors) that open an operation's circuit. Default 5. */
  serverErrorThreshold?: number;
  /** Pause of an operation after server errors, per reopening. Default 5 s doubling to 120 s. */
  serverErrorBackoff?: BackoffOptions;
  /** Hold of token refreshes after a retryable token failure. Default 1 s doubling to 60 s. */
  tokenBackoff?: BackoffOptions;
  /** Jitter source (tests). Default Math.random. */
  random?: () => number;
  userAgent?: string;
}

const DEFAULT_USER_AGENT = `marketbridge/0.1.0 (Node.js/${process.versions.node})`;
const MAX_EARLY_REFRESH_MS = 60_000;
/** Longest path we put in one GET (proxies commonly allow 8 KiB request lines). */
const MAX_GET_PATH_CHARS = 4000;

interface CachedToken {
  value: string;
  expiresAt: number;
}

type Outcome = { kind: 'ok'; res: FetchedResponse } | { kind: 'unauthorized' };

export class FlipkartClient implements FlipkartListingsApi {
  readonly appId: string;
  private readonly baseUrl: string;
  private readonly tokenUrl: string;
  private readonly fetchFn: FetchLike;
  private readonly clock: Clock;
  private readonly recorder: CallRecorder;
  private readonly userAgent: string;
  private readonly timeoutMs: number;
  private readonly getBatchSize: number;
  private readonly authFailureHoldMs: number;
  private readonly random: () => number;
  private readonly resolveProductId: (sku: string) => string;
  private readonly limiters: Record<FlipkartOperation, TokenBucketLimiter>;
  private token: CachedToken | null = null;
  private refreshing: Promise<string> | null = null;
  private authFailure: { secret: string; at: number; error: TerminalError } | null = null;
  /** Hold of token requests after retryable token failures. */
  private readonly tokenHold: RetryHold;

  constructor(private readonly opts: FlipkartClientOptions) {
    this.appId = opts.appId;
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.tokenUrl = opts.tokenUrl;
    this.fetchFn = opts.fetch ?? ((input, init) => fetch(input, init));
    this.clock = opts.clock ?? systemClock;
    this.recorder = opts.recorder ?? noopRecorder;
    this.userAgent = opts.userAgent ?? DEFAULT_USER_AGENT;
    this.timeoutMs = opts.requestTimeoutMs ?? 10_000;
    this.getBatchSize = Math.max(1, Math.floor(opts.getListingsBatchSize ?? 10));
    this.authFailureHoldMs = opts.authFailureHoldMs ?? 5 * 60_000;
    this.random = opts.random ?? Math.random;
    this.tokenHold = new RetryHold(this.clock, opts.tokenBackoff, this.random);
    this.resolveProductId = opts.productId ?? fsnResolver(opts.fsn);
    this.limiters = createFlipkartLimiters(opts.rateScale ?? 1, opts.rateLimits, {
      clock: this.clock,
      throttleBackoff: opts.throttleBackoff,
      serverErrorThreshold: opts.serverErrorThreshold,
      serverErrorBackoff: opts.serverErrorBackoff,
      random: this.random,
    });
  }

  /** The FSN sent as `product_id` for a SKU. */
  productId(sku: string): string {
    return this.resolveProductId(sku);
  }

  /** The limiter of one operation (rate, tokens), for metrics and tests. */
  limiter(op: FlipkartOperation): TokenBucketLimiter {
    return this.limiters[op];
  }

  /** The 429 / server-error circuit of one operation, for metrics and tests. */
  circuit(op: FlipkartOperation): CircuitView {
    return this.limiters[op].circuit;
  }

  tokenRefreshHold(): TokenRefreshHold {
    return this.tokenHold.view;
  }

  async updatePrice(items: PriceItem[], opts: FlipkartCallOptions = {}): Promise<SkuResults> {
    return this.update('updatePrice', `${LISTINGS_V3_PATH}/update/price`, items, opts, 'price', (item) => ({
      product_id: item.productId ?? this.productId(item.sku),
      price: priceBody(item.sellingPrice, item.mrp),
    }));
  }

  async updateInventory(items: InventoryItem[], opts: FlipkartCallOptions = {}): Promise<SkuResults> {
    return this.update(
      'updateInventory',
      `${LISTINGS_V3_PATH}/update/inventory`,
      items,
      opts,
      'stock',
      (item) => ({
        product_id: item.productId ?? this.productId(item.sku),
        locations: item.locations.map(locationBody),
      }),
    );
  }

  async updateListing(items: ListingItem[], opts: FlipkartCallOptions = {}): Promise<SkuResults> {
    return this.update('updateListing', `${LISTINGS_V3_PATH}/update`, items, opts, 'urgent', (item) =>
      this.listingBody(item),
    );
  }

  async createListing(items: ListingItem[], opts: FlipkartCallOptions = {}): Promise<SkuResults> {
    return this.update('createListing', LISTINGS_V3_PATH, items, opts, 'price', (item) =>
      this.listingBody(item),
    );
  }

  /**
   * Looks SKUs up, as few requests as possible. A SKU containing ',' is never put in the
   * comma-separated list (the server could not tell it from two SKUs, §4 F22): it is fetched alone.
   * The SKU '' cannot be addressed in a URL: it is reported `invalid` without a request. A SKU the
   * server's answer does not mention is in no list (its state is unknown).
   */
  async getListings(skus: string[], opts: FlipkartCallOptions = {}): Promise<ListingsLookup> {
    const result: ListingsLookup = { available: new Map(), unavailable: [], invalid: [] };
    const unique = [...new Set(skus)];
    const chunks: string[][] = [];
    let current: string[] = [];
    let currentChars = 0;
    for (const sku of unique) {
      if (sku === '') {
        result.invalid.push(sku);
        continue;
      }
      const encoded = encodePathSegment(sku);
      if (sku.includes(',')) {
        chunks.push([sku]);
        continue;
      }
      const full =
        current.length >= this.getBatchSize || currentChars + encoded.length + 1 > MAX_GET_PATH_CHARS;
      if (full && current.length > 0) {
        chunks.push(current);
        current = [];
        currentChars = 0;
      }
      current.push(sku);
      currentChars += encoded.length + 1;
    }
    if (current.length > 0) chunks.push(current);

    const answers = await Promise.all(chunks.map((chunk) => this.getChunk(chunk, opts)));
    for (const answer of answers) {
      for (const [sku, detail] of answer.available) result.available.set(sku, detail);
      result.unavailable.push(...answer.unavailable);
      result.invalid.push(...answer.invalid);
    }
    return result;
  }

  /**
   * A valid access token, requested when missing or close to expiry (the smaller of 60 s and a
   * tenth of its lifetime). Concurrent callers share one request.
   */
  async accessToken(): Promise<string> {
    const t = this.token;
    if (t && this.clock.now() < t.expiresAt) return t.value;
    if (!this.refreshing) {
      this.tokenHold.throwIfHeld('flipkart token request');
      this.refreshing = this.refresh().finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  /** Forgets `token` if it is the cached one (a 401 said it expired); the next call fetches a new one. */
  invalidateToken(token: string): void {
    if (this.token?.value === token) this.token = null;
  }

  async stop(): Promise<void> {
    await Promise.all(Object.values(this.limiters).map((l) => l.stop()));
  }

  // ---------------------------------------------------------------------------------------------

  private listingBody(item: ListingItem): Record<string, unknown> {
    const body: Record<string, unknown> = { ...item.fields };
    body.product_id = item.productId ?? this.productId(item.sku);
    if (item.sellingPrice !== undefined || item.mrp !== undefined) {
      body.price = priceBody(item.sellingPrice, item.mrp);
    }
    if (item.listingStatus !== undefined) body.listing_status = item.listingStatus;
    if (item.locations !== undefined) body.locations = item.locations.map(locationBody);
    return body;
  }

  /** One batch write: body = map SKU → entry, answer = map SKU → status. */
  private async update<T extends { sku: string }>(
    op: FlipkartOperation,
    path: string,
    items: T[],
    opts: FlipkartCallOptions,
    defaultPriority: CallPriority,
    entry: (item: T) => Record<string, unknown>,
  ): Promise<SkuResults> {
    if (items.length === 0) return new Map();
    if (items.length > MAX_SKUS_PER_CALL) {
      throw new TerminalError(
        `${op}: ${items.length} SKUs in one call, Flipkart takes at most ${MAX_SKUS_PER_CALL}; not sent`,
        { code: FLIPKART_ERROR_CODES.invalidBatch },
      );
    }
    const skus = items.map((i) => i.sku);
    if (new Set(skus).size !== skus.length) {
      throw new TerminalError(`${op}: a SKU appears twice in one call (the body is a map); not sent`, {
        code: FLIPKART_ERROR_CODES.invalidBatch,
      });
    }
    // Object.fromEntries defines own properties, so a SKU such as '__proto__' stays a plain key.
    const body = Object.fromEntries(items.map((item) => [item.sku, entry(item)]));
    const res = await this.call(op, 'POST', `${this.baseUrl}${path}`, skus, body, opts, defaultPriority);
    return parseSkuResults(parseJson(res.text), skus);
  }

  private async getChunk(chunk: string[], opts: FlipkartCallOptions): Promise<ListingsLookup> {
    const out: ListingsLookup = { available: new Map(), unavailable: [], invalid: [] };
    // fetch parses URLs per WHATWG, which removes a '.'/'..' segment (also as '%2E'): such a SKU
    // alone is sent twice ('..,..'), which is no dot segment; the answer names it once.
    const segments = chunk.map(encodePathSegment);
    if (chunk.length === 1 && /^\.+$/.test(chunk[0]!)) segments.push(segments[0]!);
    const path = `${LISTINGS_V3_PATH}/${segments.join(',')}`;
    const url = `${this.baseUrl}${path}`;
    // Never send to another resource than the one meant.
    if (!new URL(url).pathname.endsWith(path)) {
      out.invalid.push(...chunk);
      return out;
    }
    const res = await this.call('getListings', 'GET', url, chunk, undefined, opts, 'read');
    if (res.status === 404) {
      out.unavailable.push(...chunk);
      return out;
    }
    const parsed = GetListingsResponseSchema.safeParse(parseJson(res.text));
    if (!parsed.success) return out; // nothing known: every SKU of the chunk is in no list
    const available = parsed.data.available;
    const entries = typeof available === 'object' && available !== null ? Object.entries(available) : [];
    for (const [sku, raw] of entries) {
      const detail = ListingDetailSchema.safeParse(raw);
      if (detail.success) out.available.set(sku, detail.data as ListingDetail);
    }
    out.unavailable.push(...parsed.data.unavailable);
    out.invalid.push(...parsed.data.invalid);
    return out;
  }

  /** Returns the 2xx (or GET 404) response; throws a classified error otherwise. */
  private call(
    op: FlipkartOperation,
    method: string,
    url: string,
    skus: string[],
    body: unknown,
    opts: FlipkartCallOptions,
    defaultPriority: CallPriority,
  ): Promise<FetchedResponse> {
    const entityKey = skus.length === 1 ? skus[0]! : JSON.stringify(skus);
    return this.request(op, method, url, entityKey, body, opts, defaultPriority);
  }

  /**
   * One request of any operation (also the shipment client's) through the operation's limiter,
   * with the shared access token: a 401 drops the token and replays once with a new one. Returns
   * the 2xx response, or a GET's 404 when `notFoundIsAnswer` (default true); throws a classified
   * error otherwise. `timeoutMs` defaults to the client's request timeout.
   */
  async request(
    op: FlipkartOperation,
    method: string,
    url: string,
    entityKey: string,
    body: unknown,
    opts: FlipkartCallOptions,
    defaultPriority: CallPriority,
    {
      timeoutMs = this.timeoutMs,
      notFoundIsAnswer = true,
    }: { timeoutMs?: number; notFoundIsAnswer?: boolean } = {},
  ): Promise<FetchedResponse> {
    const p = opts.priority ?? defaultPriority;
    const priority = typeof p === 'number' ? p : CALL_PRIORITY[p];
    const key = storableText(entityKey, 2000);
    const how = { timeoutMs, notFoundIsAnswer };
    for (let attempt = 1; ; attempt++) {
      // Nothing, not even a token request, while a 429 (and its Retry-After) pauses the operation.
      this.limiters[op].throwIfPaused();
      const token = await this.accessToken();
      const outcome = await this.limiters[op].schedule(
        priority,
        (ticket) => this.send(op, method, url, key, body, token, attempt, ticket, opts.signal, how),
        opts.signal,
      );
      if (outcome.kind === 'ok') return outcome.res;
      // 401: the token expired or was revoked (~60 days, §4 F19). Request a new one, replay once.
      this.invalidateToken(token);
      if (attempt >= 2) {
        throw new RetryableError(`${op}: access token rejected (401) again after a new token`, {
          status: 401,
        });
      }
    }
  }

  /** One HTTP request, recorded; maps the status to an outcome or a classified error. */
  private send(
    op: FlipkartOperation,
    method: string,
    url: string,
    entityKey: string,
    body: unknown,
    token: string,
    attempt: number,
    ticket: number,
    signal: AbortSignal | undefined,
    how: { timeoutMs: number; notFoundIsAnswer: boolean },
  ): Promise<Outcome> {
    const limiter = this.limiters[op];
    const http = {
      fetchFn: this.fetchFn,
      clock: this.clock,
      recorder: this.recorder,
      userAgent: this.userAgent,
    };
    const request = {
      call: { marketplace: 'flipkart' as const, operation: op, entityKey, attempt },
      method,
      url,
      auth: { authorization: `Bearer ${token}` },
      body,
      contentType: 'application/json; charset=utf-8',
      limiter,
      ticket,
      timeoutMs: how.timeoutMs,
      signal,
    };
    return sendJson(http, request, (res, call): Outcome => {
      if (res.status >= 200 && res.status < 300) return { kind: 'ok', res };
      if (res.status === 404 && method === 'GET' && how.notFoundIsAnswer) return { kind: 'ok', res };
      call.error = describe(res);
      if (res.status === 401) return { kind: 'unauthorized' };
      if (res.status === 429) {
        // At least the server's Retry-After.
        const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'), this.clock.now());
        throw throttledError(`flipkart:${op}`, call, limiter, ticket, retryAfterMs);
      }
      // 499 is Flipkart's "connection timed out" (reference §2.3).
      if (res.status >= 500 || res.status === 408 || res.status === 499) {
        throw new RetryableError(`flipkart:${op}: ${call.error}`, { status: res.status });
      }
      const code =
        res.status === 403
          ? FLIPKART_ERROR_CODES.forbidden
          : res.status === 404
            ? FLIPKART_ERROR_CODES.notFound
            : FLIPKART_ERROR_CODES.badRequest;
      throw new TerminalError(`flipkart:${op}: ${call.error}`, { code, status: res.status });
    });
  }

  private async refresh(): Promise<string> {
    const secret = await this.opts.appSecret();
    const held = this.authFailure;
    if (held && held.secret === secret && this.clock.now() - held.at < this.authFailureHoldMs) {
      throw held.error;
    }
    const u = new URL(this.tokenUrl);
    u.searchParams.set('grant_type', 'client_credentials');
    u.searchParams.set('scope', FLIPKART_SCOPE);
    const basic = Buffer.from(`${this.appId}:${secret}`, 'utf8').toString('base64');
    try {
      return await this.limiters.oauthToken.schedule(CALL_PRIORITY.urgent, (ticket) =>
        this.requestToken(u.href, basic, secret, ticket),
      );
    } catch (err) {
      // A fail-fast of the open server-error circuit is not a new failure of the token endpoint.
      if (err instanceof RetryableError && !err.throttled && !(err instanceof CircuitOpenError)) {
        throw this.tokenHold.failed(err);
      }
      throw err;
    }
  }

  private async requestToken(url: string, basic: string, secret: string, ticket: number): Promise<string> {
    const call = new RecordedCall(this.recorder, this.clock, {
      marketplace: 'flipkart',
      operation: 'oauthToken',
      entityKey: null,
      attempt: 1,
    });
    try {
      const res = await fetchText(
        this.fetchFn,
        url,
        {
          method: 'GET',
          headers: {
            authorization: `Basic ${basic}`,
            'user-agent': this.userAgent,
            accept: 'application/json',
          },
        },
        this.timeoutMs,
      );
      call.status = res.status;
      const limiter = this.limiters.oauthToken;
      if (res.status !== 429 && res.status < 500) limiter.succeeded(ticket);
      if (res.status >= 200 && res.status < 300) {
        const ok = TokenResponseSchema.safeParse(parseJson(res.text));
        if (!ok.success) {
          call.error = 'token response without access_token/expires_in';
          throw new RetryableError(`flipkart token: ${call.error}`, { status: res.status });
        }
        const ttlMs = ok.data.expires_in * 1000;
        const now = this.clock.now();
        this.token = {
          value: ok.data.access_token,
          expiresAt: now + ttlMs - Math.min(MAX_EARLY_REFRESH_MS, ttlMs / 10),
        };
        this.authFailure = null;
        this.tokenHold.succeeded();
        return ok.data.access_token;
      }
      call.error = describe(res);
      if (res.status === 429) {
        call.throttled = true;
        const pauseMs = limiter.throttled(ticket);
        const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'), this.clock.now()) ?? 0;
        throw new RetryableError(`flipkart token: throttled (${call.error})`, {
          throttled: true,
          status: 429,
          retryAfterMs: Math.max(pauseMs, retryAfterMs),
        });
      }
      if (res.status >= 500 || res.status === 408 || res.status === 499) {
        throw new RetryableError(`flipkart token request failed: ${call.error}`, { status: res.status });
      }
      const error =
        res.status === 401
          ? new TerminalError(
              `flipkart: app id / app secret rejected by the token endpoint (${call.error})`,
              {
                code: FLIPKART_ERROR_CODES.badCredentials,
                status: 401,
              },
            )
          : new TerminalError(`flipkart: token request rejected (${call.error})`, {
              code: FLIPKART_ERROR_CODES.tokenRequestRejected,
              status: res.status,
            });
      this.authFailure = { secret, at: this.clock.now(), error };
      throw error;
    } catch (err) {
      // 5xx, timeouts and network errors count towards opening the operation's circuit.
      if (isServerError(err)) this.limiters.oauthToken.serverError(ticket);
      call.failed(err);
      throw err;
    } finally {
      call.end(call.error === null ? null : storableText(call.error, 500));
    }
  }
}

/** Whole rupees, half up (Flipkart prices are int32 INR). Snaps to paise first: 2.675 is 2.68. */
export function toRupees(amount: number): number {
  const paise = Math.round(amount * 100);
  return Math.floor((paise + 50) / 100);
}

function priceBody(sellingPrice: number | undefined, mrp: number | undefined): Record<string, unknown> {
  const price: Record<string, unknown> = {};
  if (mrp !== undefined) price.mrp = toRupees(mrp);
  if (sellingPrice !== undefined) price.selling_price = toRupees(sellingPrice);
  price.currency = 'INR';
  return price;
}

function locationBody(l: { id: string; inventory: number; status?: string }): Record<string, unknown> {
  return { id: l.id, status: l.status ?? 'ENABLED', inventory: l.inventory };
}

function fsnResolver(
  fsn: ReadonlyMap<string, string> | Readonly<Record<string, string>> | undefined,
): (sku: string) => string {
  if (fsn === undefined) return (sku) => sku;
  if (fsn instanceof Map) return (sku) => fsn.get(sku) ?? sku;
  const record = fsn as Readonly<Record<string, string>>;
  return (sku) => (Object.hasOwn(record, sku) ? record[sku]! : sku);
}

/** Flipkart's error bodies: OAuth style `{error, error_description}` or `{errors:[…]}`. */
function describe(res: FetchedResponse): string {
  const json = parseJson(res.text);
  const oauth = OAuthErrorSchema.safeParse(json);
  if (oauth.success) {
    const d = oauth.data.error_description;
    return `${oauth.data.error}${d ? `: ${d}` : ''} [HTTP ${res.status}]`;
  }
  if (typeof json === 'object' && json !== null && Array.isArray((json as { errors?: unknown }).errors)) {
    const errors = (json as { errors: unknown[] }).errors
      .map((e) => {
        const x = (typeof e === 'object' && e !== null ? e : {}) as Record<string, unknown>;
        return [x.code, x.description ?? x.message].filter((v) => v !== undefined).join(': ');
      })
      .join('; ');
    return `${errors} [HTTP ${res.status}]`;
  }
  const text = res.text.trim();
  return text === '' ? `HTTP ${res.status}` : `${storableText(text, 200)} [HTTP ${res.status}]`;
}
