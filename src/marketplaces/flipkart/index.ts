/** Flipkart Marketplace Seller API v3: client, (assumed) rate limits, listing adapter, local sandbox. */

export { parseRetryAfter } from '../http.js';
export type { TokenRefreshHold } from '../limits.js';
export {
  FLIPKART_ISSUE_CODES,
  FlipkartListingAdapter,
  type FlipkartListingAdapterOptions,
  readback,
  toSubmitResult,
} from './adapter.js';
export {
  FLIPKART_ERROR_CODES,
  FLIPKART_SCOPE,
  FLIPKART_TOKEN_PATH,
  type FlipkartCallOptions,
  FlipkartClient,
  type FlipkartClientOptions,
  type FlipkartListingsApi,
  toRupees,
} from './client.js';
export {
  createFlipkartLimiters,
  FLIPKART_OPERATIONS,
  FLIPKART_RATE_LIMITS,
  type FlipkartOperation,
} from './limits.js';
export {
  FLIPKART_REFUSAL_CODES,
  FlipkartOrderActions,
  type FlipkartOrderActionsOptions,
  FlipkartOrderSource,
  type FlipkartOrderSourceOptions,
  groupOrders,
  type MapHints,
  normaliseFlipkartStatus,
  shipmentState,
  toMarketplaceOrder,
} from './orders.js';
export {
  type FlipkartOrdersApi,
  FlipkartOrdersClient,
  type FlipkartOrdersClientOptions,
} from './orders-client.js';
export * from './orders-types.js';
export {
  createFlipkartSandbox,
  FLIPKART_SANDBOX_CREDENTIALS,
  type FlipkartListingSnapshot,
  type FlipkartOperationCounters,
  type FlipkartSandbox,
  type FlipkartSandboxControl,
  type FlipkartSandboxListingSeed,
  type FlipkartSandboxOptions,
  type FlipkartSandboxRequestLog,
  flipkartSandboxEnv,
} from './sandbox.js';
export type {
  FlipkartSandboxCreateOrders,
  FlipkartSandboxOrderControl,
  FlipkartSandboxOrderOptions,
  FlipkartSandboxOrderSnapshot,
} from './sandbox-orders.js';
export {
  type FlipkartAttributeError,
  type FlipkartError,
  type InventoryItem,
  LISTINGS_V3_PATH,
  type ListingDetail,
  type ListingItem,
  type ListingStatus,
  type ListingsLookup,
  type LocationInventory,
  type LocationStatus,
  MAX_SKUS_PER_CALL,
  type PriceItem,
  parseSkuResults,
  type SkuResult,
  type SkuResults,
  type SkuStatus,
} from './types.js';
