/** Test doubles for the Amazon client: a scripted fetch and a recorder that keeps calls. */
import type { ListingDraft } from '../../src/domain/types.js';
import type { FetchLike } from '../../src/marketplaces/http.js';
import type { CallRecorder, MarketplaceCallRecord } from '../../src/marketplaces/types.js';

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

export const LWA_OK: ScriptedResponse = {
  status: 200,
  body: { access_token: 'Atza|token-1', token_type: 'bearer', expires_in: 3600, refresh_token: 'Atzr|r' },
};

export function isLwa(req: CapturedRequest): boolean {
  return req.url.pathname === '/auth/o2/token';
}

export function memoryRecorder(): CallRecorder & { calls: MarketplaceCallRecord[] } {
  const calls: MarketplaceCallRecord[] = [];
  return { calls, record: (c) => calls.push(c) };
}

export const ACCEPTED = (sku: string) => ({
  status: 200,
  body: { sku, status: 'ACCEPTED', submissionId: 'sub-1', issues: [] },
  headers: { 'x-amzn-RateLimit-Limit': '5.0', 'x-amzn-RequestId': 'r-1' },
});

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
