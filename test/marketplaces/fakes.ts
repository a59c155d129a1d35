/**
 * Test doubles shared by the marketplace slices: a scripted fetch that captures requests, a
 * recorder that keeps calls, the OMS sample draft, and helpers to let pending work run.
 */
import type { ListingDraft } from '../../src/domain/types.js';
import type { FetchLike } from '../../src/marketplaces/http.js';
import type { CallRecorder, MarketplaceCallRecord } from '../../src/marketplaces/types.js';

/** The fixed "now" of the tests (ManualClock start). */
export const REFERENCE_TIMESTAMP = Date.UTC(2026, 10, 20, 4, 0, 0);

export interface CapturedRequest {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
}

export interface ScriptedResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type Responder = (req: CapturedRequest) => ScriptedResponse | Promise<ScriptedResponse>;

/** A fetch that captures every request and answers through `respond`. */
export function scriptedFetch(respond: Responder): { fetch: FetchLike; requests: CapturedRequest[] } {
  const requests: CapturedRequest[] = [];
  const fetchFn: FetchLike = async (input, init) => {
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((v, k) => {
      headers[k] = v;
    });
    const req: CapturedRequest = {
      url: new URL(input),
      method: init?.method ?? 'GET',
      headers,
      body: typeof init?.body === 'string' ? init.body : undefined,
    };
    requests.push(req);
    const signal = init?.signal;
    const answer = await Promise.race([
      Promise.resolve(respond(req)),
      new Promise<never>((_, reject) => {
        if (signal?.aborted) reject(signal.reason);
        signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
      }),
    ]);
    const text = answer.body === undefined ? '' : JSON.stringify(answer.body);
    return new Response(text === '' ? null : text, {
      status: answer.status,
      headers: { 'content-type': 'application/json', ...answer.headers },
    });
  };
  return { fetch: fetchFn, requests };
}

export function memoryRecorder(): CallRecorder & { calls: MarketplaceCallRecord[] } {
  const calls: MarketplaceCallRecord[] = [];
  return { calls, record: (c) => calls.push(c) };
}

/** Never resolves by itself: only an abort ends it. */
export function never(): Promise<ScriptedResponse> {
  return new Promise(() => {});
}

/** The first product of the OMS sample feed. */
export const TV_DRAFT: ListingDraft = {
  sku: 'SAM-TV-1001',
  product: {
    title: 'Samsung Crystal 4K UHD Smart LED TV 43 inch',
    brand: 'Samsung',
    ean: '8981519975873',
    productType: 'TELEVISION',
    attributes: { warrantyMonths: 24, color: 'Black' },
  },
  price: 35150,
  mrp: 39080,
  quantity: 15,
};

/** Lets pending promise callbacks run (a few macrotask turns). */
export async function settle(turns = 3): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
}

/** Resolves when `cond` holds, checking after each turn of the event loop; fails after `ms`. */
export async function eventually(cond: () => boolean, what: string, ms = 2000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}
