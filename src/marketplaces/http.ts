/**
 * Small HTTP helpers shared by the marketplace clients. Transport failures become
 * RetryableError here, so a client only has to map HTTP statuses.
 */
import type { Clock } from '../core/clock.js';
import { RetryableError } from '../core/errors.js';
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
 * Sends one request and reads the whole body, both within `timeoutMs`.
 * Timeout and network failures throw RetryableError; an abort by the caller's `signal` rethrows
 * the signal's reason unchanged (the caller asked for it, nothing to classify).
 */
export async function fetchText(
  fetchFn: FetchLike,
  url: string,
  init: RequestInit,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<FetchedResponse> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
  try {
    const res = await fetchFn(url, { ...init, signal: combined });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text };
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    if (timeout.aborted) {
      throw new RetryableError(`request timed out after ${timeoutMs} ms`, { cause: err });
    }
    const message = err instanceof Error ? err.message : String(err);
    throw new RetryableError(`network error: ${message}`, { cause: err });
  }
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

  /** Records the call; `error` overrides the recorded error text. */
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
      error,
    });
  }
}
