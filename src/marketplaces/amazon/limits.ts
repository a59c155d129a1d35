/**
 * Amazon's published usage plans (reference §1.4, models at snapshot 34dc93f) and the client-side
 * token buckets that keep us under them.
 *
 * Amazon meters each operation with a token bucket per seller × application: `rate` tokens per
 * second refill a bucket of `burst`. A Bottleneck reservoir emulates that bucket on our side.
 * Three margins make sure the client is never faster than the server's bucket:
 *  - the refill interval is rounded up, plus 2 % and 5 ms (network/event-loop jitter between the
 *    moment we send and the moment Amazon counts);
 *  - the client bucket holds `burst - 1` tokens: Bottleneck refills on its own timer, whose phase
 *    is unrelated to when we spend tokens, so a refill can come right after we emptied a full
 *    bucket; the missing token covers exactly that one early refill;
 *  - refills only happen on Bottleneck's heartbeat, so they are never early.
 * In steady state this runs at ≈95 % of the published rate.
 */
import Bottleneck from 'bottleneck';
import type { CallPriority } from '../../domain/types.js';

export interface RateLimit {
  /** Requests per second, sustained. */
  rate: number;
  /** Bucket size: requests that may be sent at once after a quiet period. */
  burst: number;
}

/**
 * Default usage plans. Listings `patch`/`delete` follow the current model (5/5); older reference
 * pages say 5/10. Orders v0 read operations are deprecated (migrate by 2027-03-27).
 */
export const AMAZON_RATE_LIMITS = {
  // Listings Items 2021-08-01
  getListingsItem: { rate: 5, burst: 10 },
  putListingsItem: { rate: 5, burst: 10 },
  patchListingsItem: { rate: 5, burst: 5 },
  deleteListingsItem: { rate: 5, burst: 5 },
  searchListingsItems: { rate: 5, burst: 5 },
  // Feeds 2021-06-30 (JSON_LISTINGS_FEED additionally: 5 feeds per 5 minutes per region)
  createFeedDocument: { rate: 0.5, burst: 15 },
  createFeed: { rate: 0.0083, burst: 15 },
  getFeed: { rate: 2, burst: 15 },
  getFeeds: { rate: 0.0222, burst: 10 },
  cancelFeed: { rate: 2, burst: 15 },
  getFeedDocument: { rate: 0.0222, burst: 10 },
  // Orders v0
  getOrders: { rate: 0.0167, burst: 20 },
  getOrder: { rate: 0.5, burst: 30 },
  getOrderItems: { rate: 0.5, burst: 30 },
  getOrderAddress: { rate: 0.5, burst: 30 },
  getOrderBuyerInfo: { rate: 0.5, burst: 30 },
  getOrderItemsBuyerInfo: { rate: 0.5, burst: 30 },
  confirmShipment: { rate: 2, burst: 10 },
  updateShipmentStatus: { rate: 5, burst: 15 },
  // Orders 2026-01-01
  searchOrders: { rate: 0.0056, burst: 20 },
  getOrder2026: { rate: 0.5, burst: 30 },
  // Tokens 2021-03-01
  createRestrictedDataToken: { rate: 1, burst: 10 },
} as const satisfies Record<string, RateLimit>;

export type AmazonOperation = keyof typeof AMAZON_RATE_LIMITS;

export const LISTINGS_OPERATIONS = [
  'getListingsItem',
  'putListingsItem',
  'patchListingsItem',
  'deleteListingsItem',
] as const;
export type ListingsOperation = (typeof LISTINGS_OPERATIONS)[number];

/** Bottleneck priorities (0–9, lower runs first): stock to zero and delists, stock, price, reads. */
export const CALL_PRIORITY: Record<CallPriority, number> = { urgent: 1, stock: 3, price: 5, read: 7 };

const RATE_MARGIN = 0.02;
const JITTER_MARGIN_MS = 5;

export interface TokenBucketSettings {
  /** Effective rate this bucket was computed for (requests per second). */
  rate: number;
  burst: number;
  /** Tokens the client bucket holds (initial and maximum). */
  capacity: number;
  /** One token is added every this many ms. */
  refillIntervalMs: number;
  /** How often Bottleneck checks whether a refill is due. */
  heartbeatMs: number;
  maxConcurrent: number;
}

/** The client bucket for an effective `rate` and `burst` (pure; see the margins above). */
export function tokenBucketSettings(rate: number, burst: number): TokenBucketSettings {
  if (!(rate > 0) || !Number.isFinite(rate)) throw new RangeError(`rate must be > 0, got ${rate}`);
  if (!(burst >= 1)) throw new RangeError(`burst must be >= 1, got ${burst}`);
  const exactMs = 1000 / rate;
  const refillIntervalMs = Math.ceil(exactMs * (1 + RATE_MARGIN)) + JITTER_MARGIN_MS;
  const capacity = burst > 1 ? Math.floor(burst) - 1 : 1;
  const heartbeatMs = Math.min(250, Math.max(5, Math.floor(refillIntervalMs / 20)));
  const maxConcurrent = Math.max(1, Math.min(Math.floor(burst), 10));
  return { rate, burst, capacity, refillIntervalMs, heartbeatMs, maxConcurrent };
}

const REDIRECT = Symbol('redirect');

/**
 * One operation's token bucket. Wraps a Bottleneck limiter; a new rate is adopted by replacing the
 * limiter (Bottleneck 2.19.5's `updateSettings` stops reservoir refills, SGrondin/bottleneck#185):
 * jobs still queued in the old one are moved, with their priority, to the new one.
 */
export class TokenBucketLimiter {
  private limiter: Bottleneck;
  private current: TokenBucketSettings;
  private stopped = false;

  constructor(
    readonly name: string,
    rate: number,
    readonly burst: number,
  ) {
    this.current = tokenBucketSettings(rate, burst);
    this.limiter = this.build(this.current, this.current.capacity);
  }

  /** Effective rate in requests per second. */
  get rate(): number {
    return this.current.rate;
  }

  get settings(): TokenBucketSettings {
    return this.current;
  }

  /** Runs `fn` when a token is available; lower `priority` first (see CALL_PRIORITY). */
  async schedule<T>(priority: number, fn: () => Promise<T>): Promise<T> {
    if (this.stopped) throw new Error(`limiter ${this.name} is stopped`);
    const limiter = this.limiter;
    const result = await limiter.schedule({ priority }, async () => {
      if (limiter !== this.limiter) return REDIRECT;
      return fn();
    });
    if (result === REDIRECT) return this.schedule(priority, fn);
    return result as T;
  }

  /**
   * Adopts the rate from an `x-amzn-RateLimit-Limit` header (requests/second as a string). The
   * header is authoritative and never scaled. Returns true when the rate changed. Absent (429
   * responses never carry it) or unparsable values are ignored: the table stays the fallback.
   */
  adoptRate(header: string | null | undefined): boolean {
    if (header == null || this.stopped) return false;
    const rate = Number.parseFloat(header);
    if (!Number.isFinite(rate) || rate <= 0) return false;
    if (Math.abs(rate - this.current.rate) <= this.current.rate * 0.01) return false;
    const old = this.limiter;
    this.current = tokenBucketSettings(rate, this.burst);
    // Start empty: the server's bucket state is unknown, so we earn the first token at the new rate.
    this.limiter = this.build(this.current, 0);
    // Let the old limiter run its queue at once; each job sees it is stale and re-queues itself.
    void old
      .incrementReservoir(1_000_000)
      .then(() => old.stop({ dropWaitingJobs: false }))
      .catch(() => {});
    return true;
  }

  /** After a 429: the server's bucket is empty, so ours is too. */
  async penalize(): Promise<void> {
    const limiter = this.limiter;
    const tokens = await limiter.currentReservoir();
    if (tokens != null && tokens > 0) await limiter.incrementReservoir(-tokens);
  }

  /** Tokens available now (for metrics and tests). */
  async available(): Promise<number> {
    return (await this.limiter.currentReservoir()) ?? 0;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.limiter.stop({ dropWaitingJobs: true });
  }

  private build(s: TokenBucketSettings, initial: number): Bottleneck {
    // heartbeatInterval is a Bottleneck option missing from its type declarations.
    const options: Bottleneck.ConstructorOptions & { heartbeatInterval: number } = {
      id: this.name,
      maxConcurrent: s.maxConcurrent,
      reservoir: initial,
      reservoirIncreaseAmount: 1,
      reservoirIncreaseInterval: s.refillIntervalMs,
      reservoirIncreaseMaximum: s.capacity,
      heartbeatInterval: s.heartbeatMs,
    };
    return new Bottleneck(options);
  }
}

/** One operation's token bucket for a published `rate`/`burst`; `scale` speeds up tests. */
export function createLimiter(rate: number, burst: number, scale = 1, name = 'amazon'): TokenBucketLimiter {
  return new TokenBucketLimiter(name, rate * scale, burst);
}

/** The Listings Items limiters of one seller account, with optional per-operation overrides. */
export function createListingsLimiters(
  scale = 1,
  overrides: Partial<Record<ListingsOperation, RateLimit>> = {},
): Record<ListingsOperation, TokenBucketLimiter> {
  const make = (op: ListingsOperation) => {
    const l = overrides[op] ?? AMAZON_RATE_LIMITS[op];
    return createLimiter(l.rate, l.burst, scale, `amazon:${op}`);
  };
  return {
    getListingsItem: make('getListingsItem'),
    putListingsItem: make('putListingsItem'),
    patchListingsItem: make('patchListingsItem'),
    deleteListingsItem: make('deleteListingsItem'),
  };
}
