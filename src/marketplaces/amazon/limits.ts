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
 *
 * A 429 means our model of the server's bucket is wrong (another app, a changed plan, a storm):
 * the operation then pauses entirely (see CircuitView) for 1 s, 2 s, 4 s … 60 s with jitter while
 * 429s continue, and resumes with one probe request.
 */
import Bottleneck from 'bottleneck';
import type { Clock } from '../../core/clock.js';
import { systemClock } from '../../core/clock.js';
import { RetryableError } from '../../core/errors.js';
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

/** Exponential backoff with jitter: 1 s, 2 s, 4 s … capped (defaults), each shortened by up to 25 %. */
export interface BackoffOptions {
  /** Pause after the first failure. Default 1000 ms. */
  initialMs?: number;
  /** Cap of the exponential growth. Default 60,000 ms. */
  maxMs?: number;
}

export const DEFAULT_BACKOFF = { initialMs: 1000, maxMs: 60_000 } as const;
const BACKOFF_JITTER = 0.25;

/** The pause after `failures` consecutive failures (≥ 1); `random` in [0, 1) picks the jitter. */
export function backoffDelay(
  failures: number,
  opts: BackoffOptions = {},
  random: () => number = Math.random,
): number {
  const initial = opts.initialMs ?? DEFAULT_BACKOFF.initialMs;
  const max = opts.maxMs ?? DEFAULT_BACKOFF.maxMs;
  const exp = Math.min(max, initial * 2 ** Math.min(30, Math.max(0, failures - 1)));
  return Math.max(1, Math.round(exp * (1 - BACKOFF_JITTER * random())));
}

export interface TokenBucketLimiterOptions {
  /** Time source of the 429 pause. Default the system clock. */
  clock?: Clock;
  /** Growth of the 429 pause. */
  throttleBackoff?: BackoffOptions;
  /** Jitter source (tests). Default Math.random. */
  random?: () => number;
}

/**
 * The 429 circuit of one operation: `closed` sends normally; `open` (a 429 was answered, the pause
 * has not ended) sends nothing; `half-open` (the pause ended, no success yet) lets one probe
 * through while the other callers wait for its answer.
 */
export interface CircuitView {
  state: 'closed' | 'open' | 'half-open';
  /** Epoch ms until which nothing is sent (0 when never throttled). */
  pausedUntil: number;
  /** Remaining pause in ms (0 unless open). */
  remainingMs: number;
  /** Consecutive 429s (pauses opened) since the last success. */
  strikes: number;
}

const REDIRECT = Symbol('redirect');
const RECHECK = Symbol('recheck');

/**
 * One operation's token bucket. Wraps a Bottleneck limiter; a new rate is adopted by replacing the
 * limiter (Bottleneck 2.19.5's `updateSettings` stops reservoir refills, SGrondin/bottleneck#185):
 * jobs still queued in the old one are moved, with their priority, to the new one.
 */
export class TokenBucketLimiter {
  private limiter: Bottleneck;
  private current: TokenBucketSettings;
  private stopped = false;
  private readonly clock: Clock;
  private readonly throttleBackoff: BackoffOptions;
  private readonly random: () => number;
  // 429 circuit: see CircuitView. Tickets number the requests in the order they are sent.
  private ticketSeq = 0;
  private strikes = 0;
  private pauseUntil = 0;
  /** The last ticket sent before the current pause opened: its 429s do not escalate the pause. */
  private pauseTicket = 0;
  /** Settles when the half-open probe has been answered. */
  private probing: Promise<void> | null = null;
  private draining: Promise<void> = Promise.resolve();

  constructor(
    readonly name: string,
    rate: number,
    readonly burst: number,
    opts: TokenBucketLimiterOptions = {},
  ) {
    this.current = tokenBucketSettings(rate, burst);
    this.limiter = this.build(this.current, this.current.capacity);
    this.clock = opts.clock ?? systemClock;
    this.throttleBackoff = opts.throttleBackoff ?? {};
    this.random = opts.random ?? Math.random;
  }

  /** Effective rate in requests per second. */
  get rate(): number {
    return this.current.rate;
  }

  get settings(): TokenBucketSettings {
    return this.current;
  }

  /**
   * Runs `fn` when a token is available; lower `priority` first (see CALL_PRIORITY). `fn` gets a
   * ticket to report its answer with (`throttled` / `succeeded`).
   *
   * While a 429 pause is open this throws a throttled RetryableError at once (retryAfterMs = the
   * remaining pause) and `fn` is not run, also for jobs already queued. After the pause one probe
   * is run; the other callers wait for its answer.
   */
  async schedule<T>(priority: number, fn: (ticket: number) => Promise<T>): Promise<T> {
    for (;;) {
      if (this.stopped) throw new Error(`limiter ${this.name} is stopped`);
      await this.admit();
      const limiter = this.limiter;
      const result = await limiter.schedule({ priority }, async () => {
        if (limiter !== this.limiter) return REDIRECT;
        // Checked again right before sending: the pause may have opened while this job waited.
        const gate = this.gate();
        if (gate === RECHECK) return RECHECK;
        const ticket = ++this.ticketSeq;
        return gate === 'probe' ? this.probe(() => fn(ticket)) : fn(ticket);
      });
      if (result === REDIRECT || result === RECHECK) continue;
      return result as T;
    }
  }

  /** The 429 circuit (for metrics and tests). */
  get circuit(): CircuitView {
    const now = this.clock.now();
    const remainingMs = Math.max(0, this.pauseUntil - now);
    const state = remainingMs > 0 ? 'open' : this.strikes > 0 ? 'half-open' : 'closed';
    return { state, pausedUntil: this.pauseUntil, remainingMs, strikes: this.strikes };
  }

  /** Epoch ms until which no request of this operation is sent. */
  get pausedUntil(): number {
    return this.pauseUntil;
  }

  /**
   * A request (by its ticket) was answered 429. Opens the pause, or doubles it when the 429 is
   * for a request sent after the previous pause opened; a 429 of a request already in flight when
   * the pause opened does not escalate. Returns the remaining pause in ms.
   */
  throttled(ticket: number): number {
    const now = this.clock.now();
    if (this.strikes === 0 || ticket > this.pauseTicket) {
      this.strikes++;
      this.pauseUntil = Math.max(
        this.pauseUntil,
        now + backoffDelay(this.strikes, this.throttleBackoff, this.random),
      );
      this.pauseTicket = this.ticketSeq;
      void this.penalize().catch(() => {});
    }
    return Math.max(0, this.pauseUntil - now);
  }

  /** A request (by its ticket) was answered without a 429: closes the circuit. */
  succeeded(ticket: number): void {
    if (this.strikes > 0 && ticket > this.pauseTicket) this.strikes = 0;
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

  /** Fails fast while the pause is open; waits while a half-open probe is in flight. */
  private async admit(): Promise<void> {
    for (;;) {
      this.throwIfPaused();
      if (this.strikes === 0 || this.probing === null) return;
      await this.probing;
    }
  }

  private gate(): 'send' | 'probe' | typeof RECHECK {
    this.throwIfPaused();
    if (this.strikes === 0) return 'send';
    return this.probing === null ? 'probe' : RECHECK;
  }

  private throwIfPaused(): void {
    const remaining = this.pauseUntil - this.clock.now();
    if (remaining > 0) {
      throw new RetryableError(`${this.name}: paused for ${remaining} ms after 429 (not sent)`, {
        throttled: true,
        status: 429,
        retryAfterMs: remaining,
      });
    }
  }

  private probe<T>(run: () => Promise<T>): Promise<T> {
    const p = run();
    const settled = p.then(
      () => undefined,
      () => undefined,
    );
    this.probing = settled;
    void settled.then(() => {
      if (this.probing === settled) this.probing = null;
    });
    return p;
  }

  /** After a 429: the server's bucket is empty, so ours is too. */
  penalize(): Promise<void> {
    // Serialised: two drains reading the same count would leave the reservoir negative.
    const run = async () => {
      const limiter = this.limiter;
      const tokens = await limiter.currentReservoir();
      if (tokens != null && tokens > 0) await limiter.incrementReservoir(-tokens);
    };
    this.draining = this.draining.then(run, run);
    return this.draining;
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
export function createLimiter(
  rate: number,
  burst: number,
  scale = 1,
  name = 'amazon',
  opts: TokenBucketLimiterOptions = {},
): TokenBucketLimiter {
  return new TokenBucketLimiter(name, rate * scale, burst, opts);
}

/** The Listings Items limiters of one seller account, with optional per-operation overrides. */
export function createListingsLimiters(
  scale = 1,
  overrides: Partial<Record<ListingsOperation, RateLimit>> = {},
  opts: TokenBucketLimiterOptions = {},
): Record<ListingsOperation, TokenBucketLimiter> {
  const make = (op: ListingsOperation) => {
    const l = overrides[op] ?? AMAZON_RATE_LIMITS[op];
    return createLimiter(l.rate, l.burst, scale, `amazon:${op}`, opts);
  };
  return {
    getListingsItem: make('getListingsItem'),
    putListingsItem: make('putListingsItem'),
    patchListingsItem: make('patchListingsItem'),
    deleteListingsItem: make('deleteListingsItem'),
  };
}
