/**
 * Small HTTP helpers shared by the marketplace clients. Transport failures become
 * RetryableError here, so a client only has to map HTTP statuses.
 */
import type { Clock } from '../core/clock.js';
import { RetryableError } from '../core/errors.js';
import { storableText } from '../core/text.js';
import { isServerError } from './limits.js';
import type { CallRecorder, MarketplaceCallRecord } from './types.js';

/** The subset of `fetch` the clients use; injectable so tests can capture requests. */
export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface FetchedResponse {
  status: number;
  headers: Headers;
  /** Raw body text ('' when empty). */
  text: string;
}

/**
 * Sends one request and reads the whole body as bytes, both within `timeoutMs`.
 * Timeout and network failures throw RetryableError; an abort by the caller's `signal` rethrows
 * the signal's reason unchanged (the caller asked for it, nothing to classify).
 */
export async function fetchBytes(
  fetchFn: FetchLike,
  url: string,
  init: RequestInit,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<{ status: number; headers: Headers; body: Buffer }> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
  try {
    const res = await fetchFn(url, { ...init, signal: combined });
    const body = Buffer.from(await res.arrayBuffer());
    return { status: res.status, headers: res.headers, body };
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    if (timeout.aborted) {
      throw new RetryableError(`request timed out after ${timeoutMs} ms`, { cause: err });
    }
    const message = err instanceof Error ? err.message : String(err);
    throw new RetryableError(`network error: ${message}`, { cause: err });
  }
}

/** `fetchBytes` with the body as UTF-8 text. */
export async function fetchText(
  fetchFn: FetchLike,
  url: string,
  init: RequestInit,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<FetchedResponse> {
  const res = await fetchBytes(fetchFn, url, init, timeoutMs, signal);
  return { status: res.status, headers: res.headers, text: res.body.toString('utf8') };
}

/** Parses a JSON body; `undefined` when empty or not JSON (callers validate the shape anyway). */
export function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * One URL path segment, percent-encoded (SKUs contain '/', '+', ',', spaces and non-ASCII, §4 F22).
 * A segment of dots only is encoded as `%2E` so it is not a relative reference; note that WHATWG URL
 * parsing (fetch) still treats `%2E` as a dot, so callers check the path that will really be sent.
 */
export function encodePathSegment(segment: string): string {
  return /^\.+$/.test(segment) ? segment.replace(/\./g, '%2E') : encodeURIComponent(segment);
}

/** `Retry-After` as delay-seconds or an HTTP date, in ms from `nowMs`; undefined when absent or unparsable. */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value == null || value.trim() === '') return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.ceil(Number(v) * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/**
 * One HTTP call being made, reported to the CallRecorder by `end()` (in a `finally`). The client
 * fills in `status`, `throttled` and `error` as it learns them.
 */
export class RecordedCall {
  status: number | null = null;
  throttled = false;
  /** What went wrong, as recorded (null: nothing). */
  error: string | null = null;
  private readonly startedAt: number;

  constructor(
    private readonly recorder: CallRecorder,
    private readonly clock: Clock,
    private readonly call: Pick<MarketplaceCallRecord, 'marketplace' | 'operation' | 'entityKey' | 'attempt'>,
  ) {
    this.startedAt = clock.now();
  }

  /** A thrown error: its message is the recorded error unless one was set already. Returns the error text. */
  failed(err: unknown): string {
    this.error ??= err instanceof Error ? err.message : String(err);
    return this.error;
  }

  /** Records the call (error text bounded for the table); `error` overrides the recorded error text. */
  end(error: string | null = this.error): void {
    this.recorder.record({
      marketplace: this.call.marketplace,
      operation: this.call.operation,
      entityKey: this.call.entityKey,
      httpStatus: this.status,
      throttled: this.throttled,
      startedAt: new Date(this.startedAt),
      durationMs: Math.max(0, this.clock.now() - this.startedAt),
      attempt: this.call.attempt,
      error: error === null ? null : storableText(error, 500),
    });
  }
}

/** What every marketplace client sends requests with. */
export interface HttpContext {
  fetchFn: FetchLike;
  clock: Clock;
  recorder: CallRecorder;
  userAgent: string;
}

/** The limiter a request went through: its answer feeds the operation's pauses and circuit. */
export interface RequestLimiter {
  succeeded(ticket: number): void;
  serverError(ticket: number): void;
  throttled(ticket: number, minPauseMs?: number): number;
  readonly settings: { refillIntervalMs: number };
}

export interface JsonRequest {
  call: Pick<MarketplaceCallRecord, 'marketplace' | 'operation' | 'entityKey' | 'attempt'>;
  method: string;
  url: string;
  /** Authentication headers (`authorization`, `x-amz-access-token`, …). */
  auth: Record<string, string>;
  body?: unknown;
  contentType?: string;
  limiter: RequestLimiter;
  ticket: number;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  /** Sees every answer before the limiter hears of it (e.g. to adopt a rate-limit header). */
  observe?: (res: FetchedResponse) => void;
}

/**
 * One JSON request as every client makes it: recorded in `marketplace_call`, its answer reported to
 * the operation's limiter (any answer but 429/5xx closes the 429 pause; 5xx, timeouts and network
 * errors count towards the server-error circuit). `interpret` maps the status to an outcome or
 * throws a classified error; it may fill in `call.error` and `call.throttled`.
 */
export async function sendJson<T>(
  ctx: HttpContext,
  req: JsonRequest,
  interpret: (res: FetchedResponse, call: RecordedCall) => T,
): Promise<T> {
  if (req.signal?.aborted) throw req.signal.reason;
  const call = new RecordedCall(ctx.recorder, ctx.clock, req.call);
  try {
    const headers: Record<string, string> = {
      ...req.auth,
      'user-agent': ctx.userAgent,
      accept: 'application/json',
    };
    const init: RequestInit = { method: req.method, headers };
    if (req.body !== undefined) {
      headers['content-type'] = req.contentType ?? 'application/json';
      init.body = JSON.stringify(req.body);
    }
    const res = await fetchText(ctx.fetchFn, req.url, init, req.timeoutMs, req.signal);
    call.status = res.status;
    req.observe?.(res);
    if (res.status !== 429 && res.status < 500) req.limiter.succeeded(req.ticket);
    return interpret(res, call);
  } catch (err) {
    if (isServerError(err)) req.limiter.serverError(req.ticket);
    call.failed(err);
    throw err;
  } finally {
    call.end();
  }
}

/**
 * A 429: pauses the operation for every caller (at least `retryAfterMs`, the server's
 * `Retry-After`), marks the call throttled, and returns the error to throw.
 */
export function throttledError(
  prefix: string,
  call: RecordedCall,
  limiter: RequestLimiter,
  ticket: number,
  retryAfterMs?: number,
): RetryableError {
  call.throttled = true;
  const pauseMs = limiter.throttled(ticket, retryAfterMs);
  return new RetryableError(`${prefix}: throttled (${call.error}), paused ${pauseMs} ms`, {
    throttled: true,
    status: 429,
    retryAfterMs: Math.max(pauseMs, limiter.settings.refillIntervalMs),
  });
}
