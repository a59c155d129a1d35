/**
 * Client-side token buckets shared by the marketplace clients: one TokenBucketLimiter per
 * operation and seller account keeps us under the marketplace's (published or assumed) limits.
 * Each slice's limits.ts only holds its rate table.
 *
 * A marketplace meters each operation with a token bucket: `rate` tokens per second refill a
 * bucket of `burst`. A Bottleneck reservoir emulates that bucket on our side, refilled by
 * `refillAmount` tokens at a time (one at low rates, about a tenth of a second's worth at high
 * ones, at most half the burst) so that timer overhead stays small against the interval. Three
 * margins make sure the client is never faster than the server's bucket:
 *  - the refill interval is rounded up, plus 2 % and 2 ms (network/event-loop jitter between the
 *    moment we send and the moment the server counts);
 *  - the client bucket holds `burst - refillAmount` tokens: Bottleneck refills on its own timer,
 *    whose phase is unrelated to when we spend tokens, so a refill can come right after we
 *    emptied a full bucket; the missing tokens cover exactly that one early refill;
 *  - refills only happen on Bottleneck's heartbeat, so they are never early.
 * In steady state this runs at 95–97 % of the published rate.
 *
 * A 429 means our model of the server's bucket is wrong (another app, a changed plan, a storm):
 * the operation then pauses entirely (see CircuitView) for 1 s, 2 s, 4 s … 60 s with jitter while
 * 429s continue — and at least as long as the 429's `Retry-After` asked — and resumes with one
 * probe request.
 *
 * Server errors (5xx, timeouts, network errors) use the same circuit: after `serverErrorThreshold`
 * (default 5) in a row the operation pauses for 5 s, 10 s, 20 s … 120 s with jitter while they
 * continue, failing fast with a (not throttled) CircuitOpenError, and resumes with one probe. A
 * success closes it. Limiters are per client × operation, so one marketplace's (or operation's)
 * open circuit never blocks another.
 */
import Bottleneck from 'bottleneck';
import type { Clock } from '../core/clock.js';
import { systemClock } from '../core/clock.js';
import { RetryableError } from '../core/errors.js';
import type { CallPriority } from '../domain/types.js';

export interface RateLimit {
  /** Requests per second, sustained. */
  rate: number;
  /** Bucket size: requests that may be sent at once after a quiet period. */
  burst: number;
}

/** Bottleneck priorities (0–9, lower runs first): stock to zero and delists, stock, price, reads. */
export const CALL_PRIORITY: Record<CallPriority, number> = { urgent: 1, stock: 3, price: 5, read: 7 };

const RATE_MARGIN = 0.02;
const JITTER_MARGIN_MS = 2;

export interface TokenBucketSettings {
  /** Effective rate this bucket was computed for (requests per second). */
  rate: number;
  burst: number;
  /** Tokens the client bucket holds (initial and maximum). */
  capacity: number;
  /** Tokens added per refill. */
  refillAmount: number;
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
  const refillAmount = Math.max(1, Math.min(Math.floor(burst / 2), Math.round(rate / 10)));
  const refillIntervalMs = Math.ceil(refillAmount * exactMs * (1 + RATE_MARGIN)) + JITTER_MARGIN_MS;
  const capacity = Math.max(1, Math.floor(burst) - refillAmount);
  const heartbeatMs = Math.min(250, Math.max(5, Math.floor(refillIntervalMs / 20)));
  const maxConcurrent = Math.max(1, Math.min(Math.floor(burst), 10));
  return { rate, burst, capacity, refillAmount, refillIntervalMs, heartbeatMs, maxConcurrent };
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

/** A RetryHold as seen from outside (metrics, tests). */
export interface TokenRefreshHold {
  /** Epoch ms until which no request is sent (0 when never held). */
  pausedUntil: number;
  /** Remaining hold in ms (0 when not held). */
  remainingMs: number;
  /** Consecutive retryable failures since the last success. */
  failures: number;
}

/**
 * A shared hold of one kind of request (e.g. token refreshes) after retryable failures, so many
 * callers do not multiply the load on a struggling server: 1 s, 2 s, 4 s … (backoffDelay) while
 * failures continue, reset by a success.
 */
export class RetryHold {
  private until = 0;
  private failures = 0;
  private error = '';

  constructor(
    private readonly clock: Clock,
    private readonly backoff: BackoffOptions = {},
    private readonly random: () => number = Math.random,
  ) {}

  get view(): TokenRefreshHold {
    return {
      pausedUntil: this.until,
      remainingMs: Math.max(0, this.until - this.clock.now()),
      failures: this.failures,
    };
  }

  /** While held: throws a RetryableError (retryAfterMs = the remaining hold), nothing is sent. */
  throwIfHeld(what: string): void {
    const held = this.until - this.clock.now();
    if (held > 0) {
      throw new RetryableError(
        `${what} held for ${held} ms after ${this.failures} failure(s) (not sent): ${this.error}`,
        { retryAfterMs: held },
      );
    }
  }

  /** A retryable failure: holds further requests, longer with each failure in a row; returns `err` with retryAfterMs covering the hold. */
  failed(err: RetryableError, errorText: string = err.message): RetryableError {
    this.failures++;
    const holdMs = backoffDelay(this.failures, this.backoff, this.random);
    this.until = this.clock.now() + holdMs;
    this.error = errorText;
    return new RetryableError(err.message, {
      status: err.status,
      retryAfterMs: Math.max(err.retryAfterMs ?? 0, holdMs),
      cause: err.cause ?? err,
    });
  }

  succeeded(): void {
    this.until = 0;
    this.failures = 0;
    this.error = '';
  }
}

/** Default growth of the server-error pause: 5 s, 10 s, 20 s … 120 s (jittered). */
export const DEFAULT_SERVER_ERROR_BACKOFF = { initialMs: 5000, maxMs: 120_000 } as const;
/** Default number of consecutive server errors that opens the circuit. */
export const DEFAULT_SERVER_ERROR_THRESHOLD = 5;

/** Thrown without sending while an operation's circuit is open after server errors (not throttled). */
export class CircuitOpenError extends RetryableError {}

/**
 * Whether `err` (thrown while sending one request) is a server error for the circuit: a retryable,
 * not throttled failure with a 5xx/408/499 status or none (timeouts, network errors).
 */
export function isServerError(err: unknown): boolean {
  if (!(err instanceof RetryableError) || err.throttled || err instanceof CircuitOpenError) return false;
  const s = err.status;
  return s === undefined || s >= 500 || s === 408 || s === 499;
}

export interface TokenBucketLimiterOptions {
  /** Time source of the 429 and server-error pauses. Default the system clock. */
  clock?: Clock;
  /** Growth of the 429 pause. */
  throttleBackoff?: BackoffOptions;
  /** Consecutive server errors (5xx, timeouts, network errors) that open the circuit. Default 5. */
  serverErrorThreshold?: number;
  /** Growth of the server-error pause. Default 5 s doubling to 120 s. */
  serverErrorBackoff?: BackoffOptions;
  /** Jitter source (tests). Default Math.random. */
  random?: () => number;
}

/**
 * The circuit of one operation: `closed` sends normally; `open` (a 429 was answered, or too many
 * server errors in a row, and the pause has not ended) sends nothing; `half-open` (the pause ended,
 * no success yet) lets one probe through while the other callers wait for its answer.
 */
export interface CircuitView {
  state: 'closed' | 'open' | 'half-open';
  /** Why it is open or half-open (null when closed); the longer pause wins when both apply. */
  reason: 'throttled' | 'server-errors' | null;
  /** Epoch ms until which nothing is sent (0 when never paused). */
  pausedUntil: number;
  /** Remaining pause in ms (0 unless open). */
  remainingMs: number;
  /** Consecutive 429s (pauses opened) since the last success. */
  strikes: number;
  /** Consecutive server errors (5xx, timeouts, network errors) since the last success. */
  serverErrors: number;
}

const REDIRECT = Symbol('redirect');
const RECHECK = Symbol('recheck');
const ABORTED = Symbol('aborted');

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
  // Server-error circuit: same gate, own counters.
  private readonly serverErrorThreshold: number;
  private readonly serverErrorBackoff: BackoffOptions;
  private serverErrors = 0;
  /** Server-error pauses opened since the last success (0: that circuit is closed). */
  private serverOpens = 0;
  private serverUntil = 0;
  private serverTicket = 0;

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
    this.serverErrorThreshold = Math.max(1, opts.serverErrorThreshold ?? DEFAULT_SERVER_ERROR_THRESHOLD);
    this.serverErrorBackoff = opts.serverErrorBackoff ?? DEFAULT_SERVER_ERROR_BACKOFF;
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
  async schedule<T>(priority: number, fn: (ticket: number) => Promise<T>, signal?: AbortSignal): Promise<T> {
    for (;;) {
      if (this.stopped) throw new Error(`limiter ${this.name} is stopped`);
      signal?.throwIfAborted();
      await this.admit();
      const limiter = this.limiter;
      const result = await limiter.schedule({ priority }, async () => {
        if (limiter !== this.limiter) return REDIRECT;
        // A caller that gave up while waiting gets its token back: nothing is sent for it.
        if (signal?.aborted) {
          await limiter.incrementReservoir(1);
          return ABORTED;
        }
        // Checked again right before sending: the pause may have opened while this job waited.
        const gate = this.gate();
        if (gate === RECHECK) return RECHECK;
        const ticket = ++this.ticketSeq;
        return gate === 'probe' ? this.probe(() => fn(ticket)) : fn(ticket);
      });
      if (result === REDIRECT || result === RECHECK) continue;
      if (result === ABORTED) signal?.throwIfAborted();
      return result as T;
    }
  }

  /** The circuit (for metrics and tests). */
  get circuit(): CircuitView {
    const now = this.clock.now();
    const pausedUntil = this.pausedUntil;
    const remainingMs = Math.max(0, pausedUntil - now);
    const state = remainingMs > 0 ? 'open' : this.halfOpen ? 'half-open' : 'closed';
    const reason =
      state === 'closed'
        ? null
        : this.serverUntil > this.pauseUntil || (state === 'half-open' && this.strikes === 0)
          ? 'server-errors'
          : 'throttled';
    return {
      state,
      reason,
      pausedUntil,
      remainingMs,
      strikes: this.strikes,
      serverErrors: this.serverErrors,
    };
  }

  /** Epoch ms until which no request of this operation is sent. */
  get pausedUntil(): number {
    return Math.max(this.pauseUntil, this.serverUntil);
  }

  /** A pause has opened since the last success: the next request is a probe. */
  private get halfOpen(): boolean {
    return this.strikes > 0 || this.serverOpens > 0;
  }

  /**
   * A request (by its ticket) was answered 429. Opens the pause, or doubles it when the 429 is
   * for a request sent after the previous pause opened; a 429 of a request already in flight when
   * the pause opened does not escalate. `minPauseMs` is what the server asked for (its
   * `Retry-After`): the pause lasts at least that long, escalating or not. Returns the remaining
   * pause in ms.
   */
  throttled(ticket: number, minPauseMs = 0): number {
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
    if (minPauseMs > 0) this.pauseUntil = Math.max(this.pauseUntil, now + minPauseMs);
    return Math.max(0, this.pauseUntil - now);
  }

  /**
   * A request (by its ticket) failed with a server error (5xx, timeout, network error). After
   * `serverErrorThreshold` in a row opens the circuit (5 s, 10 s … 120 s, jittered); a failed
   * probe (a request sent after the pause opened) reopens it for longer. Errors of requests already
   * in flight when it opened do not escalate. Returns the remaining pause in ms (0 if not open).
   */
  serverError(ticket: number): number {
    const now = this.clock.now();
    this.serverErrors++;
    const open =
      this.serverOpens === 0 ? this.serverErrors >= this.serverErrorThreshold : ticket > this.serverTicket;
    if (open) {
      this.serverOpens++;
      this.serverUntil = Math.max(
        this.serverUntil,
        now + backoffDelay(this.serverOpens, this.serverErrorBackoff, this.random),
      );
      this.serverTicket = this.ticketSeq;
    }
    return Math.max(0, this.serverUntil - now);
  }

  /** A request (by its ticket) was answered without a 429 or server error: closes the circuit. */
  succeeded(ticket: number): void {
    if (this.strikes > 0 && ticket > this.pauseTicket) this.strikes = 0;
    if (this.serverOpens === 0 || ticket > this.serverTicket) {
      this.serverErrors = 0;
      this.serverOpens = 0;
    }
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
      if (!this.halfOpen || this.probing === null) return;
      await this.probing;
    }
  }

  private gate(): 'send' | 'probe' | typeof RECHECK {
    this.throwIfPaused();
    if (!this.halfOpen) return 'send';
    return this.probing === null ? 'probe' : RECHECK;
  }

  /**
   * Throws the throttled RetryableError (retryAfterMs = the remaining pause) while the 429 pause is
   * open, a CircuitOpenError (not throttled) while the server-error pause is open and longer;
   * `schedule` does this itself, a client may call it before preparing a request (a token).
   */
  throwIfPaused(): void {
    const now = this.clock.now();
    const remaining = this.pauseUntil - now;
    const serverRemaining = this.serverUntil - now;
    if (serverRemaining > 0 && serverRemaining > remaining) {
      throw new CircuitOpenError(
        `${this.name}: circuit open for ${serverRemaining} ms after ${this.serverErrors} server error(s) in a row (not sent)`,
        { retryAfterMs: serverRemaining },
      );
    }
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
      reservoirIncreaseAmount: s.refillAmount,
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
  name = 'limiter',
  opts: TokenBucketLimiterOptions = {},
): TokenBucketLimiter {
  return new TokenBucketLimiter(name, rate * scale, burst, opts);
}

/**
 * One limiter per operation in `ops` (named `<prefix>:<op>`), from a rate table with optional
 * per-operation overrides; `scale` multiplies the rates (tests and demos against a sandbox).
 */
export function createLimiters<Op extends string>(
  prefix: string,
  ops: readonly Op[],
  table: Readonly<Record<Op, RateLimit>>,
  scale = 1,
  overrides: Partial<Record<Op, RateLimit>> = {},
  opts: TokenBucketLimiterOptions = {},
): Record<Op, TokenBucketLimiter> {
  const out = {} as Record<Op, TokenBucketLimiter>;
  for (const op of ops) {
    const l = overrides[op] ?? table[op];
    out[op] = createLimiter(l.rate, l.burst, scale, `${prefix}:${op}`, opts);
  }
  return out;
}
