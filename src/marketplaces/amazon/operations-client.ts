/**
 * What the SP-API clients beside the Listings client (Feeds, Orders) share: one seller account's
 * LWA token (through an AmazonTokenSource), their own per-operation limiters (published table),
 * the recorder, and requests made with `spApiRequest` (at most one HTTP request per call, two when
 * the access token expired mid-way; never retrying 429/5xx itself).
 */
import type { Clock } from '../../core/clock.js';
import { systemClock } from '../../core/clock.js';
import type { CallPriority } from '../../domain/types.js';
import type { FetchedResponse, FetchLike, HttpContext } from '../http.js';
import type {
  BackoffOptions,
  CircuitView,
  RateLimit,
  TokenBucketLimiter,
  TokenBucketLimiterOptions,
} from '../limits.js';
import type { CallRecorder } from '../types.js';
import { noopRecorder } from '../types.js';
import {
  type AmazonCallOptions,
  type AmazonTokenSource,
  DEFAULT_USER_AGENT,
  type SpApiRequest,
  spApiRequest,
} from './client.js';

export interface AmazonOperationsClientOptions<Op extends string> {
  /** The seller account's Listings client (or another token source): shares its LWA token. */
  client: AmazonTokenSource;
  /** SP-API base URL (same as the client's). */
  endpoint: string;
  fetch?: FetchLike;
  clock?: Clock;
  recorder?: CallRecorder;
  rateScale?: number;
  rateLimits?: Partial<Record<Op, RateLimit>>;
  userAgent?: string;
  /** Per API request. Default 15 s. */
  requestTimeoutMs?: number;
  throttleBackoff?: BackoffOptions;
  /** Consecutive server errors (5xx, timeouts, network errors) that open an operation's circuit. Default 5. */
  serverErrorThreshold?: number;
  /** Pause of an operation after server errors, per reopening. Default 5 s doubling to 120 s. */
  serverErrorBackoff?: BackoffOptions;
  random?: () => number;
}

/** Creates the limiters of a set of operations (e.g. createFeedsLimiters). */
export type OperationLimiters<Op extends string> = (
  scale: number,
  overrides: Partial<Record<Op, RateLimit>> | undefined,
  opts: TokenBucketLimiterOptions,
) => Record<Op, TokenBucketLimiter>;

export class AmazonOperationsClient<Op extends string> {
  protected readonly tokens: AmazonTokenSource;
  protected readonly endpoint: string;
  protected readonly http: HttpContext;
  protected readonly clock: Clock;
  protected readonly timeoutMs: number;
  protected readonly limiters: Record<Op, TokenBucketLimiter>;

  constructor(opts: AmazonOperationsClientOptions<Op>, createLimiters: OperationLimiters<Op>) {
    this.tokens = opts.client;
    this.endpoint = opts.endpoint.replace(/\/+$/, '');
    this.clock = opts.clock ?? systemClock;
    this.http = {
      fetchFn: opts.fetch ?? ((input, init) => fetch(input, init)),
      clock: this.clock,
      recorder: opts.recorder ?? noopRecorder,
      userAgent: opts.userAgent ?? DEFAULT_USER_AGENT,
    };
    this.timeoutMs = opts.requestTimeoutMs ?? 15_000;
    this.limiters = createLimiters(opts.rateScale ?? 1, opts.rateLimits, {
      clock: this.clock,
      throttleBackoff: opts.throttleBackoff,
      serverErrorThreshold: opts.serverErrorThreshold,
      serverErrorBackoff: opts.serverErrorBackoff,
      random: opts.random ?? Math.random,
    });
  }

  get marketplaceId(): string {
    return this.tokens.marketplaceId;
  }

  limiter(op: Op): TokenBucketLimiter {
    return this.limiters[op];
  }

  circuit(op: Op): CircuitView {
    return this.limiters[op].circuit;
  }

  async stop(): Promise<void> {
    await Promise.all(Object.values<TokenBucketLimiter>(this.limiters).map((l) => l.stop()));
  }

  /** One request of `op` to `endpoint + path` (see spApiRequest); `opts.priority` overrides the default. */
  protected request<R = never>(
    op: Op,
    method: string,
    path: string,
    body: unknown,
    entityKey: string | null,
    opts: AmazonCallOptions,
    defaultPriority: CallPriority,
    extra: Pick<SpApiRequest<R>, 'observe' | 'special'> = {},
  ): Promise<FetchedResponse | R> {
    return spApiRequest<R>(this.http, this.tokens, {
      op,
      method,
      url: `${this.endpoint}${path}`,
      body,
      entityKey,
      limiter: this.limiters[op],
      priority: opts.priority ?? defaultPriority,
      timeoutMs: this.timeoutMs,
      signal: opts.signal,
      ...extra,
    });
  }
}
