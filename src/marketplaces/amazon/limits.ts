/**
 * Amazon's published usage plans (reference §1.4, models at snapshot 34dc93f). The client-side
 * token buckets that keep us under them (and their 429 pause) are the shared TokenBucketLimiter
 * (../limits.ts).
 */
import {
  createLimiters,
  type RateLimit,
  type TokenBucketLimiter,
  type TokenBucketLimiterOptions,
} from '../limits.js';

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

/** The Listings Items limiters of one seller account, with optional per-operation overrides. */
export function createListingsLimiters(
  scale = 1,
  overrides: Partial<Record<ListingsOperation, RateLimit>> = {},
  opts: TokenBucketLimiterOptions = {},
): Record<ListingsOperation, TokenBucketLimiter> {
  return createLimiters('amazon', LISTINGS_OPERATIONS, AMAZON_RATE_LIMITS, scale, overrides, opts);
}

export const FEEDS_OPERATIONS = [
  'createFeedDocument',
  'createFeed',
  'getFeed',
  'getFeeds',
  'cancelFeed',
  'getFeedDocument',
] as const;
export type FeedsOperation = (typeof FEEDS_OPERATIONS)[number];

/** JSON_LISTINGS_FEED submissions allowed per window, per region (reference §1.6). */
export const LISTINGS_FEED_SUBMISSIONS = { max: 5, windowMs: 5 * 60_000 } as const;

/** The Feeds API limiters of one seller account, with optional per-operation overrides. */
export function createFeedsLimiters(
  scale = 1,
  overrides: Partial<Record<FeedsOperation, RateLimit>> = {},
  opts: TokenBucketLimiterOptions = {},
): Record<FeedsOperation, TokenBucketLimiter> {
  return createLimiters('amazon', FEEDS_OPERATIONS, AMAZON_RATE_LIMITS, scale, overrides, opts);
}
