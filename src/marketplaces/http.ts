/**
 * Small HTTP helpers shared by the marketplace clients. Transport failures become
 * RetryableError here, so a client only has to map HTTP statuses.
 */
import { RetryableError } from '../core/errors.js';

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
