/**
 * Test doubles for the Flipkart client: an in-memory Flipkart behind a scripted fetch (no I/O).
 * Tokens, per-SKU answers and a listing store, enough to drive the client and the adapter.
 */
import { ManualClock } from '../../src/core/clock.js';
import { FlipkartClient, type FlipkartClientOptions } from '../../src/marketplaces/flipkart/index.js';
import type { FetchLike } from '../../src/marketplaces/http.js';
import {
  type CapturedRequest,
  memoryRecorder,
  REFERENCE_TIMESTAMP,
  type ScriptedResponse,
  scriptedFetch,
} from './fakes.js';
export const BASE_URL = 'https://api.flipkart.net/sellers';
export const TOKEN_URL = 'https://api.flipkart.net/oauth-service/oauth/token';
export const APP_ID = 'app-id-1';
export const LOCATION = 'LOC-BLR-1';

export function isToken(req: CapturedRequest): boolean {
  return req.url.pathname === '/oauth-service/oauth/token';
}

/** The SKUs of a GET /listings/v3/{skus}: the raw list split on ',', then decoded. */
export function getSkus(req: CapturedRequest): string[] {
  const raw = req.url.pathname.slice('/sellers/listings/v3/'.length);
  return raw.split(',').map(decodeURIComponent);
}

export function bodyOf(req: CapturedRequest): Record<string, Record<string, unknown>> {
  return JSON.parse(req.body ?? '{}') as Record<string, Record<string, unknown>>;
}

export interface FakeFlipkart {
  fetch: FetchLike;
  requests: CapturedRequest[];
  /** Business requests (not the token endpoint). */
  api(): CapturedRequest[];
  tokenRequests(): CapturedRequest[];
  /** SKUs answered FAILURE on writes. */
  failing: Set<string>;
  /** SKUs answered WARNING on writes (applied). */
  warning: Set<string>;
  /** Listing details by SKU, as GET returns them. */
  listings: Map<string, Record<string, unknown>>;
  /** Answers for the next business requests, before the normal behaviour. */
  script: ScriptedResponse[];
  /** Answers for the next token requests. */
  tokenScript: ScriptedResponse[];
  /** Every token issued so far now gets 401 invalid_token. */
  expireTokens(): void;
  /** Wraps the write answer map as `{"sku": map}` (Unicommerce's DTO). */
  skuWrapper: boolean;
}

export function fakeFlipkart(): FakeFlipkart {
  let tokenSeq = 0;
  const valid = new Set<string>();
  const fake: Omit<FakeFlipkart, 'fetch' | 'requests' | 'api' | 'tokenRequests'> = {
    failing: new Set(),
    warning: new Set(),
    listings: new Map(),
    script: [],
    tokenScript: [],
    skuWrapper: false,
    expireTokens: () => valid.clear(),
  };
  const { fetch, requests } = scriptedFetch((req) => {
    if (isToken(req)) {
      const scripted = fake.tokenScript.shift();
      if (scripted) return scripted;
      const token = `tok-${++tokenSeq}`;
      valid.add(token);
      return {
        status: 200,
        body: { access_token: token, token_type: 'bearer', expires_in: 5183999, scope: 'Seller_Api' },
      };
    }
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (token === undefined || !valid.has(token)) {
      return { status: 401, body: { error: 'invalid_token', error_description: 'Access token expired' } };
    }
    const scripted = fake.script.shift();
    if (scripted) return scripted;
    if (req.method === 'GET') {
      const skus = getSkus(req);
      const available: [string, unknown][] = [];
      const unavailable: string[] = [];
      for (const sku of new Set(skus)) {
        const l = fake.listings.get(sku);
        if (l) available.push([sku, l]);
        else unavailable.push(sku);
      }
      return { status: 200, body: { available: Object.fromEntries(available), unavailable, invalid: [] } };
    }
    const answers = Object.entries(bodyOf(req)).map(([sku, entry]) => {
      if (fake.failing.has(sku)) {
        return [
          sku,
          {
            status: 'FAILURE',
            errors: [{ severity: 'ERROR', code: 1002, description: `No listing found for SKU ${sku}` }],
            attribute_errors: [
              {
                severity: 'ERROR',
                code: 2001,
                description: 'selling_price must be positive',
                attribute: 'selling_price',
                path: 'price.selling_price',
              },
            ],
          },
        ];
      }
      const l = fake.listings.get(sku) ?? {
        product_id: entry.product_id,
        listing_status: 'ACTIVE',
        locations: [],
      };
      if (entry.price) l.price = { ...(l.price as object), ...(entry.price as object) };
      if (entry.locations) l.locations = entry.locations;
      if (entry.listing_status) l.listing_status = entry.listing_status;
      fake.listings.set(sku, l);
      if (fake.warning.has(sku)) {
        return [
          sku,
          {
            status: 'WARNING',
            errors: [{ severity: 'WARNING', code: 5001, description: 'price is much lower than before' }],
            attribute_errors: null,
          },
        ];
      }
      return [sku, { status: 'SUCCESS', errors: [], attribute_errors: [] }];
    });
    const map = Object.fromEntries(answers);
    return { status: 200, body: fake.skuWrapper ? { sku: map } : map };
  });
  return {
    ...fake,
    fetch,
    requests,
    api: () => requests.filter((r) => !isToken(r)),
    tokenRequests: () => requests.filter(isToken),
    // The sets/maps/arrays above are shared by reference with the closure.
    get skuWrapper() {
      return fake.skuWrapper;
    },
    set skuWrapper(v: boolean) {
      fake.skuWrapper = v;
    },
  };
}

/** A client on a ManualClock against `fake`, with a recorder; `stop()` it after the test. */
export function fakeClient(fake: FakeFlipkart, overrides: Partial<FlipkartClientOptions> = {}) {
  const clock = new ManualClock(REFERENCE_TIMESTAMP);
  const recorder = memoryRecorder();
  const client = new FlipkartClient({
    baseUrl: BASE_URL,
    tokenUrl: TOKEN_URL,
    appId: APP_ID,
    appSecret: () => 'secret-1',
    fetch: fake.fetch,
    clock,
    recorder,
    rateScale: 20,
    ...overrides,
  });
  return { client, clock, recorder };
}
