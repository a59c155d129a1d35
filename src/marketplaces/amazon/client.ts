/**
 * Amazon SP-API client for the Listings Items API 2021-08-01, with Login-with-Amazon token
 * handling. One instance per seller account: it owns that account's rate limiters.
 *
 * Contract: every method makes at most one HTTP request to the operation (two when the access
 * token expired mid-way, §4 F5), always through the operation's limiter, and reports each HTTP
 * request to the CallRecorder. It never retries 429/5xx itself: it throws RetryableError and the
 * caller backs off. Validation and authorisation problems throw TerminalError.
 *
 * Shared backoffs (per client, i.e. per seller account), so many callers do not multiply the load
 * on a struggling server:
 *  - a 429 pauses that operation for every caller (TokenBucketLimiter circuit): calls made during
 *    the pause throw a throttled RetryableError without a request;
 *  - a retryable LWA failure holds token refreshes: `accessToken()` throws a RetryableError
 *    without a request until the hold ends.
 * Both grow 1 s, 2 s, 4 s … 60 s (with jitter) while failures continue, reset on success, and put
 * the remaining time in `retryAfterMs`.
 */
import type { z } from 'zod';
import type { Clock } from '../../core/clock.js';
import { systemClock } from '../../core/clock.js';
import { RetryableError, TerminalError } from '../../core/errors.js';
import type { CallPriority } from '../../domain/types.js';
import {
  encodePathSegment,
  type FetchedResponse,
  type FetchLike,
  fetchText,
  type HttpContext,
  parseJson,
  RecordedCall,
  type RequestLimiter,
  sendJson,
  throttledError,
} from '../http.js';
import {
  type BackoffOptions,
  CALL_PRIORITY,
  type CircuitView,
  type RateLimit,
  RetryHold,
  type TokenBucketLimiter,
  type TokenRefreshHold,
} from '../limits.js';
import type { CallRecorder } from '../types.js';
import { noopRecorder } from '../types.js';
import { createListingsLimiters, type ListingsOperation } from './limits.js';
import {
  AMAZON_IN_MARKETPLACE_ID,
  type AmazonApiError,
  ErrorListSchema,
  type GetIncludedData,
  type Item,
  ItemSchema,
  LISTINGS_ITEMS_PATH,
  type ListingsItemPatchRequest,
  type ListingsItemPutRequest,
  type ListingsItemSubmissionResponse,
  ListingsItemSubmissionResponseSchema,
  LwaErrorSchema,
  LwaTokenResponseSchema,
} from './types.js';

export const LWA_TOKEN_PATH = '/auth/o2/token';
export const TOKEN_EXPIRED_DETAILS = 'The access token you provided has expired.';

/** TerminalError codes a caller can act on (alert, stop calling for this account). */
export const AMAZON_ERROR_CODES = {
  /** LWA `invalid_grant`: the seller must authorise the app again (new refresh token). */
  reauthorisationRequired: 'AMAZON_REAUTHORISATION_REQUIRED',
  /** LWA `invalid_client`: client id/secret rejected; rotate the LWA client secret (180 days). */
  clientSecretRejected: 'AMAZON_CLIENT_SECRET_REJECTED',
  /** Other LWA 4xx errors (invalid_request, unauthorized_client, …). */
  lwaRejected: 'AMAZON_LWA_REJECTED',
  /** 403 other than an expired token: app not authorised for this seller/role/marketplace. */
  unauthorized: 'AMAZON_UNAUTHORIZED',
  /** 400/413/415 and other 4xx: the request is wrong and will stay wrong. */
  badRequest: 'AMAZON_BAD_REQUEST',
  /** A 404 on a write. */
  notFound: 'AMAZON_NOT_FOUND',
  /** A 2xx body that does not have the documented shape. */
  unexpectedResponse: 'AMAZON_UNEXPECTED_RESPONSE',
} as const;

export interface AmazonSpApiClientOptions {
  /** SP-API base URL, e.g. https://sellingpartnerapi-eu.amazon.com or the sandbox `url`. */
  endpoint: string;
  /** LWA base URL, e.g. https://api.amazon.com (`/auth/o2/token` is appended unless present). */
  lwaEndpoint: string;
  clientId: string;
  /** Read at every token refresh, so a rotated secret is used without restart. */
  clientSecret: () => string | Promise<string>;
  refreshToken: string;
  /** Merchant token of the seller account. */
  sellerId: string;
  marketplaceId?: string;
  fetch?: FetchLike;
  clock?: Clock;
  recorder?: CallRecorder;
  /** Multiplies the published rates (tests and demos against a sandbox with the same scale). */
  rateScale?: number;
  /** Per-operation overrides of the published limits (before scaling). */
  rateLimits?: Partial<Record<ListingsOperation, RateLimit>>;
  userAgent?: string;
  /** Per HTTP request, including reading the body. Default 15 s. */
  requestTimeoutMs?: number;
  /**
   * After LWA rejected the credentials, further calls fail fast (no request) with the same error
   * until the secret changes or this much time has passed. Default 5 min.
   */
  authFailureHoldMs?: number;
  /** Pause of an operation after a 429, per consecutive 429. Default 1 s doubling to 60 s. */
  throttleBackoff?: BackoffOptions;
  /** Consecutive server errors (5xx, timeouts, network errors) that open an operation's circuit. Default 5. */
  serverErrorThreshold?: number;
  /** Pause of an operation after server errors, per reopening. Default 5 s doubling to 120 s. */
  serverErrorBackoff?: BackoffOptions;
  /** Hold of token refreshes after a retryable LWA failure. Default 1 s doubling to 60 s. */
  lwaBackoff?: BackoffOptions;
  /** Jitter source for both backoffs (tests). Default Math.random. */
  random?: () => number;
}

export interface AmazonCallOptions {
  /** A lane name or a raw Bottleneck priority (0–9, lower first). */
  priority?: CallPriority | number;
  signal?: AbortSignal;
}

/** The Listings Items operations, as the adapter uses them (the client, or a fake in tests). */
export interface ListingsItemsApi {
  readonly marketplaceId: string;
  getListingsItem(
    sku: string,
    includedData?: GetIncludedData[],
    opts?: AmazonCallOptions,
  ): Promise<Item | null>;
  putListingsItem(
    sku: string,
    body: ListingsItemPutRequest,
    opts?: AmazonCallOptions,
  ): Promise<ListingsItemSubmissionResponse>;
  patchListingsItem(
    sku: string,
    body: ListingsItemPatchRequest,
    opts?: AmazonCallOptions,
  ): Promise<ListingsItemSubmissionResponse>;
  deleteListingsItem(sku: string, opts?: AmazonCallOptions): Promise<ListingsItemSubmissionResponse>;
}

export const DEFAULT_USER_AGENT = `marketbridge/0.1.0 (Language=TypeScript; Platform=Node.js/${process.versions.node})`;
const TOKEN_EARLY_REFRESH_MS = 60_000;

interface CachedToken {
  value: string;
  expiresAt: number;
}

export class AmazonSpApiClient implements ListingsItemsApi {
  readonly sellerId: string;
  readonly marketplaceId: string;
  private readonly endpoint: string;
  private readonly tokenUrl: string;
  private readonly fetchFn: FetchLike;
  private readonly clock: Clock;
  private readonly recorder: CallRecorder;
  private readonly userAgent: string;
  private readonly http: HttpContext;
  private readonly timeoutMs: number;
  private readonly authFailureHoldMs: number;
  private readonly limiters: Record<ListingsOperation, TokenBucketLimiter>;
  private token: CachedToken | null = null;
  private refreshing: Promise<string> | null = null;
  private authFailure: { secret: string; at: number; error: TerminalError } | null = null;
  private readonly random: () => number;
  /** Hold of token refreshes after retryable LWA failures. */
  private readonly lwaHold: RetryHold;

  constructor(private readonly opts: AmazonSpApiClientOptions) {
    this.sellerId = opts.sellerId;
    this.marketplaceId = opts.marketplaceId ?? AMAZON_IN_MARKETPLACE_ID;
    this.endpoint = opts.endpoint.replace(/\/+$/, '');
    const lwa = opts.lwaEndpoint.replace(/\/+$/, '');
    this.tokenUrl = lwa.endsWith(LWA_TOKEN_PATH) ? lwa : lwa + LWA_TOKEN_PATH;
    this.fetchFn = opts.fetch ?? ((input, init) => fetch(input, init));
    this.clock = opts.clock ?? systemClock;
    this.recorder = opts.recorder ?? noopRecorder;
    this.userAgent = opts.userAgent ?? DEFAULT_USER_AGENT;
    this.http = {
      fetchFn: this.fetchFn,
      clock: this.clock,
      recorder: this.recorder,
      userAgent: this.userAgent,
    };
    this.timeoutMs = opts.requestTimeoutMs ?? 15_000;
    this.authFailureHoldMs = opts.authFailureHoldMs ?? 5 * 60_000;
    this.random = opts.random ?? Math.random;
    this.lwaHold = new RetryHold(this.clock, opts.lwaBackoff, this.random);
    this.limiters = createListingsLimiters(opts.rateScale ?? 1, opts.rateLimits, {
      clock: this.clock,
      throttleBackoff: opts.throttleBackoff,
      serverErrorThreshold: opts.serverErrorThreshold,
      serverErrorBackoff: opts.serverErrorBackoff,
      random: this.random,
    });
  }

  /** The limiter of one operation (current rate, tokens), for metrics and tests. */
  limiter(op: ListingsOperation): TokenBucketLimiter {
    return this.limiters[op];
  }

  /** The 429 / server-error circuit of one operation (pause after throttling), for metrics and tests. */
  circuit(op: ListingsOperation): CircuitView {
    return this.limiters[op].circuit;
  }

  /** The hold of token refreshes after LWA failures, for metrics and tests. */
  tokenRefreshHold(): TokenRefreshHold {
    return this.lwaHold.view;
  }

  /** `null` when the SKU does not exist (404). */
  async getListingsItem(
    sku: string,
    includedData: GetIncludedData[] = ['summaries'],
    opts: AmazonCallOptions = {},
  ): Promise<Item | null> {
    const query: Record<string, string[]> = { marketplaceIds: [this.marketplaceId] };
    if (includedData.length > 0) query.includedData = includedData;
    const res = await this.call('getListingsItem', 'GET', sku, query, undefined, opts, 'read');
    if (res === null) return null;
    return parseSpApiAnswer(res, ItemSchema, 'getListingsItem');
  }

  async putListingsItem(
    sku: string,
    body: ListingsItemPutRequest,
    opts: AmazonCallOptions = {},
  ): Promise<ListingsItemSubmissionResponse> {
    const query = { marketplaceIds: [this.marketplaceId] };
    const res = await this.call('putListingsItem', 'PUT', sku, query, body, opts, 'price');
    return parseSpApiAnswer(res, ListingsItemSubmissionResponseSchema, 'putListingsItem');
  }

  async patchListingsItem(
    sku: string,
    body: ListingsItemPatchRequest,
    opts: AmazonCallOptions = {},
  ): Promise<ListingsItemSubmissionResponse> {
    const query = { marketplaceIds: [this.marketplaceId] };
    const res = await this.call('patchListingsItem', 'PATCH', sku, query, body, opts, 'price');
    return parseSpApiAnswer(res, ListingsItemSubmissionResponseSchema, 'patchListingsItem');
  }

  async deleteListingsItem(
    sku: string,
    opts: AmazonCallOptions = {},
  ): Promise<ListingsItemSubmissionResponse> {
    const query = { marketplaceIds: [this.marketplaceId] };
    const res = await this.call('deleteListingsItem', 'DELETE', sku, query, undefined, opts, 'urgent');
    return parseSpApiAnswer(res, ListingsItemSubmissionResponseSchema, 'deleteListingsItem');
  }

  /**
   * A valid access token, refreshed through LWA when missing or within 60 s of expiry. Concurrent
   * callers share one refresh; after a retryable LWA failure, calls fail fast (RetryableError with
   * retryAfterMs) until the hold ends.
   */
  async accessToken(): Promise<string> {
    const t = this.token;
    if (t && this.clock.now() < t.expiresAt - TOKEN_EARLY_REFRESH_MS) return t.value;
    if (!this.refreshing) {
      this.lwaHold.throwIfHeld('LWA token refresh');
      this.refreshing = this.refresh().finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  /**
   * Forgets `token` when it is still the cached one (it was rejected as expired, §4 F5), so the
   * next `accessToken()` refreshes. For other clients sharing this one's LWA token (feeds).
   */
  invalidateAccessToken(token: string): void {
    if (this.token?.value === token) this.token = null;
  }

  async stop(): Promise<void> {
    await Promise.all(Object.values(this.limiters).map((l) => l.stop()));
  }

  // ---------------------------------------------------------------------------------------------

  /** Returns the 2xx response, or null for a GET 404; throws a classified error otherwise. */
  private call(
    op: ListingsOperation,
    method: string,
    sku: string,
    query: Record<string, string[]>,
    body: unknown,
    opts: AmazonCallOptions,
    defaultPriority: CallPriority,
  ): Promise<FetchedResponse | null> {
    return spApiRequest(this.http, this, {
      op,
      method,
      url: this.url(op, sku, query),
      body,
      entityKey: sku,
      limiter: this.limiters[op],
      priority: opts.priority ?? defaultPriority,
      timeoutMs: this.timeoutMs,
      signal: opts.signal,
      special: (res) => (res.status === 404 && method === 'GET' ? null : undefined),
    });
  }

  private url(op: ListingsOperation, sku: string, query: Record<string, string[]>): string {
    // One path segment each: SKUs contain '/', '+', ',', spaces and non-ASCII (§4 F22).
    const path = `${LISTINGS_ITEMS_PATH}/${encodePathSegment(this.sellerId)}/${encodePathSegment(sku)}`;
    // Multi-value parameters are comma-joined (collectionFormat csv); values are encoded each.
    const qs = Object.entries(query)
      .map(([k, vs]) => `${encodeURIComponent(k)}=${vs.map(encodeURIComponent).join(',')}`)
      .join('&');
    const url = `${this.endpoint}${path}${qs ? `?${qs}` : ''}`;
    // fetch parses URLs per WHATWG, which removes '.'/'..' segments and treats '%2E' as a dot too:
    // SKU '.' would be sent to `/items/SELLER/`, '..' to `/items/`. Never send to another resource.
    const sent = new URL(url).pathname;
    if (sku === '' || this.sellerId === '' || !sent.endsWith(path)) {
      throw new TerminalError(
        `${op}: SKU ${JSON.stringify(sku)} of seller ${JSON.stringify(this.sellerId)} cannot be addressed in a URL path (would be sent to ${sent}); not sent`,
        { code: AMAZON_ERROR_CODES.badRequest },
      );
    }
    return url;
  }

  private async refresh(): Promise<string> {
    const secret = await this.opts.clientSecret();
    const held = this.authFailure;
    if (held && held.secret === secret && this.clock.now() - held.at < this.authFailureHoldMs) {
      throw held.error;
    }
    const form = new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: this.opts.refreshToken,
      client_id: this.opts.clientId,
      client_secret: secret,
    });
    const call = new RecordedCall(this.recorder, this.clock, {
      marketplace: 'amazon',
      operation: 'lwaToken',
      entityKey: null,
      attempt: 1,
    });
    try {
      const res = await fetchText(
        this.fetchFn,
        this.tokenUrl,
        {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded;charset=UTF-8',
            'user-agent': this.userAgent,
            accept: 'application/json',
          },
          body: form.toString(),
        },
        this.timeoutMs,
      );
      call.status = res.status;
      const json = parseJson(res.text);
      if (res.status >= 200 && res.status < 300) {
        const ok = LwaTokenResponseSchema.safeParse(json);
        if (!ok.success) throw new RetryableError('LWA: token response without access_token/expires_in');
        this.token = { value: ok.data.access_token, expiresAt: this.clock.now() + ok.data.expires_in * 1000 };
        this.authFailure = null;
        this.lwaHold.succeeded();
        return ok.data.access_token;
      }
      const lwa = LwaErrorSchema.safeParse(json);
      const code = lwa.success ? lwa.data.error : `http_${res.status}`;
      const text =
        lwa.success && lwa.data.error_description ? `${code}: ${lwa.data.error_description}` : code;
      call.error = text;
      if (res.status >= 500 || code === 'server_error' || code === 'temporarily_unavailable') {
        throw new RetryableError(`LWA token refresh failed: ${text}`, { status: res.status });
      }
      const error =
        code === 'invalid_grant'
          ? new TerminalError(`LWA: refresh token rejected, the seller must re-authorise the app (${text})`, {
              code: AMAZON_ERROR_CODES.reauthorisationRequired,
              status: res.status,
            })
          : code === 'invalid_client'
            ? new TerminalError(
                `LWA: client credentials rejected, rotate/update the LWA client secret (${text})`,
                {
                  code: AMAZON_ERROR_CODES.clientSecretRejected,
                  status: res.status,
                },
              )
            : new TerminalError(`LWA: token request rejected (${text})`, {
                code: AMAZON_ERROR_CODES.lwaRejected,
                status: res.status,
              });
      this.authFailure = { secret, at: this.clock.now(), error };
      throw error;
    } catch (err) {
      const errorText = call.failed(err);
      if (err instanceof RetryableError) throw this.lwaHold.failed(err, errorText);
      throw err;
    } finally {
      call.end();
    }
  }
}

function apiErrors(text: string): AmazonApiError[] {
  const parsed = ErrorListSchema.safeParse(parseJson(text));
  return parsed.success ? parsed.data.errors : [];
}

function describe(errors: AmazonApiError[], status: number): string {
  if (errors.length === 0) return `HTTP ${status}`;
  return errors
    .map((e) => `${e.code}: ${e.message}${e.details ? ` (${e.details})` : ''}`)
    .join('; ')
    .concat(` [HTTP ${status}]`);
}

/**
 * The SP-API status mapping every Amazon operation shares: 2xx →
 * 'ok', an expired access token → 'token-expired' (refresh once and replay), 429 → the operation's
 * pause, 5xx/408 retryable, 401/403/404/other 4xx terminal with the code a caller can act on.
 */
export function interpretSpApiAnswer(
  op: string,
  res: FetchedResponse,
  call: RecordedCall,
  limiter: RequestLimiter,
  ticket: number,
): 'ok' | 'token-expired' {
  if (res.status >= 200 && res.status < 300) return 'ok';
  const errors = apiErrors(res.text);
  call.error = describe(errors, res.status);
  if (res.status === 429) throw throttledError(op, call, limiter, ticket);
  if (res.status === 403 && errors.some((e) => e.details === TOKEN_EXPIRED_DETAILS)) return 'token-expired';
  if (res.status >= 500 || res.status === 408) {
    throw new RetryableError(`${op}: ${call.error}`, { status: res.status });
  }
  if (res.status === 401 || res.status === 403) {
    throw new TerminalError(`${op}: access denied (${call.error})`, {
      code: AMAZON_ERROR_CODES.unauthorized,
      status: res.status,
    });
  }
  if (res.status === 404) {
    throw new TerminalError(`${op}: ${call.error}`, { code: AMAZON_ERROR_CODES.notFound, status: 404 });
  }
  throw new TerminalError(`${op}: ${call.error}`, {
    code: AMAZON_ERROR_CODES.badRequest,
    status: res.status,
  });
}

/** What SP-API requests need of the seller's LWA tokens (the Listings client, or a fake). */
export interface AmazonTokenSource {
  readonly marketplaceId: string;
  accessToken(): Promise<string>;
  invalidateAccessToken?(token: string): void;
}

/**
 * Runs one SP-API request with the current access token. A token that expired under us (possibly
 * earlier than announced, §4 F5) is dropped, a new one fetched and the request replayed once.
 */
export async function withAccessToken<T>(
  tokens: AmazonTokenSource,
  op: string,
  run: (token: string, attempt: number) => Promise<T | 'token-expired'>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const token = await tokens.accessToken();
    const result = await run(token, attempt);
    if (result !== 'token-expired') return result;
    tokens.invalidateAccessToken?.(token);
    if (attempt >= 2) {
      throw new RetryableError(`${op}: access token rejected as expired again after a refresh`, {
        status: 403,
      });
    }
  }
}

/** One SP-API request as every Amazon client makes it (the seller's LWA token, an operation's limiter). */
export interface SpApiRequest<R> {
  op: string;
  method: string;
  url: string;
  body: unknown;
  /** Recorded with the call. */
  entityKey: string | null;
  limiter: TokenBucketLimiter;
  priority: CallPriority | number;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  /** Sees every answer, before the limiter adopts its `x-amzn-ratelimit-limit`. */
  observe?: (res: FetchedResponse) => void;
  /** Answers this call takes as they are (e.g. a 404 as null): the result, or undefined for the shared mapping. */
  special?: (res: FetchedResponse, call: RecordedCall) => R | undefined;
}

/**
 * Sends an SP-API request through its operation's limiter with the current access token (replayed
 * once after a refresh when the token expired, `withAccessToken`), recorded (marketplace 'amazon'),
 * its status mapped by `interpretSpApiAnswer` unless `special` takes the answer. Returns the 2xx
 * response (or what `special` returned).
 */
export function spApiRequest<R = never>(
  http: HttpContext,
  tokens: AmazonTokenSource,
  r: SpApiRequest<R>,
): Promise<FetchedResponse | R> {
  const priority = typeof r.priority === 'number' ? r.priority : CALL_PRIORITY[r.priority];
  const { op, limiter } = r;
  return withAccessToken(tokens, op, (token, attempt) =>
    limiter.schedule(
      priority,
      (ticket) =>
        sendJson(
          http,
          {
            call: { marketplace: 'amazon', operation: op, entityKey: r.entityKey, attempt },
            method: r.method,
            url: r.url,
            auth: { 'x-amz-access-token': token },
            body: r.body,
            limiter,
            ticket,
            timeoutMs: r.timeoutMs,
            signal: r.signal,
            observe: (res) => {
              r.observe?.(res);
              limiter.adoptRate(res.headers.get('x-amzn-ratelimit-limit'));
            },
          },
          (res, call): FetchedResponse | R | 'token-expired' => {
            const special = r.special?.(res, call);
            if (special !== undefined) return special;
            return interpretSpApiAnswer(op, res, call, limiter, ticket) === 'token-expired'
              ? 'token-expired'
              : res;
          },
        ),
      r.signal,
    ),
  );
}

/** The model of a response body, or a TerminalError (AMAZON_UNEXPECTED_RESPONSE). */
export function parseSpApiAnswer<T>(res: FetchedResponse | null, schema: z.ZodType<T>, op: string): T {
  const parsed = schema.safeParse(parseJson(res?.text ?? ''));
  if (!parsed.success) {
    throw new TerminalError(`${op}: response does not match the model: ${parsed.error.message}`, {
      code: AMAZON_ERROR_CODES.unexpectedResponse,
      status: res?.status,
    });
  }
  return parsed.data;
}
