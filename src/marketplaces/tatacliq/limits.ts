/**
 * Client-side limits for Tata CliQ PartnerConnect. CliQ publishes no rate limits and no batch
 * size (reference §0), so every number here is [ASSUMED], deliberately conservative, and
 * configurable: tune them once the account manager confirms the real ones. A 429 (with
 * `Retry-After`) still pauses the operation for every caller, through the same token bucket and
 * 429 circuit as the other marketplaces (../limits.ts).
 */
import {
  createLimiters,
  type RateLimit,
  type TokenBucketLimiter,
  type TokenBucketLimiterOptions,
} from '../limits.js';

export const TATACLIQ_OPERATIONS = ['updateInventory', 'updatePrice', 'getListing'] as const;
export type TataCliqOperation = (typeof TATACLIQ_OPERATIONS)[number];

/** ASSUMED defaults: requests per second and burst per operation. */
export const TATACLIQ_RATE_LIMITS: Readonly<Record<TataCliqOperation, RateLimit>> = {
  updateInventory: { rate: 2, burst: 4 },
  updatePrice: { rate: 1, burst: 2 },
  getListing: { rate: 2, burst: 4 },
};

/** ASSUMED: items per inventory/price update call. */
export const DEFAULT_MAX_BATCH_ITEMS = 50;

/** One token bucket per operation for one seller account; `scale` speeds up tests and demos. */
export function createTataCliqLimiters(
  scale = 1,
  overrides: Partial<Record<TataCliqOperation, RateLimit>> = {},
  opts: TokenBucketLimiterOptions = {},
): Record<TataCliqOperation, TokenBucketLimiter> {
  return createLimiters('tatacliq', TATACLIQ_OPERATIONS, TATACLIQ_RATE_LIMITS, scale, overrides, opts);
}

/**
 * The order operations (orders-client.ts). Own limiters, own table: a listing storm never delays an
 * order read and the listing client's operation set (and its sandbox counters) stay as they were.
 */
export const TATACLIQ_ORDER_OPERATIONS = [
  'listActiveOrders',
  'getOrder',
  'shipLines',
  'cancelLines',
] as const;
export type TataCliqOrderOperation = (typeof TATACLIQ_ORDER_OPERATIONS)[number];

/**
 * ASSUMED defaults for the order operations. The active-orders call returns every active order at
 * once and is meant to be polled every few minutes (reference §3.2), so it gets a small bucket.
 */
export const TATACLIQ_ORDER_RATE_LIMITS: Readonly<Record<TataCliqOrderOperation, RateLimit>> = {
  listActiveOrders: { rate: 0.2, burst: 2 },
  getOrder: { rate: 2, burst: 4 },
  shipLines: { rate: 1, burst: 2 },
  cancelLines: { rate: 1, burst: 2 },
};

/** One token bucket per order operation for one seller account. */
export function createTataCliqOrderLimiters(
  scale = 1,
  overrides: Partial<Record<TataCliqOrderOperation, RateLimit>> = {},
  opts: TokenBucketLimiterOptions = {},
): Record<TataCliqOrderOperation, TokenBucketLimiter> {
  return createLimiters(
    'tatacliq',
    TATACLIQ_ORDER_OPERATIONS,
    TATACLIQ_ORDER_RATE_LIMITS,
    scale,
    overrides,
    opts,
  );
}
