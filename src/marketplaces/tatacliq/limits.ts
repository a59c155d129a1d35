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
