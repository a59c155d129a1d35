/**
 * Client-side rate limits for Flipkart's Seller API.
 *
 * Flipkart publishes no limits, no rate-limit headers and no 429 (reference §2.3). The numbers
 * below are ASSUMED, conservative defaults — confirm them with Flipkart before production
 * (reference §5 Q4) and override per operation through the client's `rateLimits`.
 * The buckets themselves are the shared TokenBucketLimiter (with its 429 / Retry-After pause),
 * ../limits.ts.
 */
import {
  createLimiters,
  type RateLimit,
  type TokenBucketLimiter,
  type TokenBucketLimiterOptions,
} from '../limits.js';

/** ASSUMED defaults (requests per second, bucket size), before `rateScale`. */
export const FLIPKART_RATE_LIMITS = {
  /** OAuth client-credentials; tokens live ~60 days, so this is nearly never used. */
  oauthToken: { rate: 1, burst: 2 },
  /** POST /listings/v3/update/price, ≤ 10 SKUs each. */
  updatePrice: { rate: 10, burst: 10 },
  /** POST /listings/v3/update/inventory, ≤ 10 SKUs each. */
  updateInventory: { rate: 10, burst: 10 },
  /** POST /listings/v3/update (full listing, listing_status), ≤ 10 SKUs each. */
  updateListing: { rate: 5, burst: 5 },
  /** POST /listings/v3 (create, overwrites), ≤ 10 SKUs each. */
  createListing: { rate: 5, burst: 5 },
  /** GET /listings/v3/{skus}. */
  getListings: { rate: 10, burst: 10 },
  /** POST /v3/shipments/filter and GET of its nextPageUrl (orders poll, pages of ≤ 20). */
  searchShipments: { rate: 5, burst: 5 },
  /** GET /v3/shipments?orderIds=… / ?shipmentIds=… (≤ 100 ids). */
  getShipments: { rate: 5, burst: 5 },
  /** POST /v3/shipments/labels (≤ 25 shipments; async label generation). */
  generateLabels: { rate: 2, burst: 2 },
  /** POST /v3/shipments/dispatch and /v3/shipments/selfShip/dispatch (≤ 25 / ≤ 100 shipments). */
  dispatchShipments: { rate: 2, burst: 2 },
  /** POST /v3/shipments/cancel (≤ 25 shipments). */
  cancelShipments: { rate: 2, burst: 2 },
} as const satisfies Record<string, RateLimit>;

export type FlipkartOperation = keyof typeof FLIPKART_RATE_LIMITS;

export const FLIPKART_OPERATIONS = Object.keys(FLIPKART_RATE_LIMITS) as FlipkartOperation[];

/** One limiter per operation of one seller account, with optional per-operation overrides. */
export function createFlipkartLimiters(
  scale = 1,
  overrides: Partial<Record<FlipkartOperation, RateLimit>> = {},
  opts: TokenBucketLimiterOptions = {},
): Record<FlipkartOperation, TokenBucketLimiter> {
  return createLimiters('flipkart', FLIPKART_OPERATIONS, FLIPKART_RATE_LIMITS, scale, overrides, opts);
}
