/** Amazon.in (SP-API): client, rate limits, listing adapter and a local sandbox server. */

export {
  CALL_PRIORITY,
  createLimiter,
  type RateLimit,
  TokenBucketLimiter,
  type TokenBucketSettings,
  tokenBucketSettings,
} from '../limits.js';
export {
  type AmazonDelistMode,
  AmazonListingAdapter,
  type AmazonListingAdapterOptions,
  toSubmitResult,
} from './adapter.js';
export {
  type ListingsFeedApi,
  ListingsFeedQueue,
  type ListingsFeedQueueOptions,
  type ListingsFeedQueueStats,
} from './bulk.js';
export {
  AMAZON_ERROR_CODES,
  type AmazonCallOptions,
  AmazonSpApiClient,
  type AmazonSpApiClientOptions,
  type AmazonTokenSource,
  type ListingsItemsApi,
  LWA_TOKEN_PATH,
  TOKEN_EXPIRED_DETAILS,
  withAccessToken,
} from './client.js';
export {
  AmazonFeedsClient,
  type AmazonFeedsClientOptions,
  type BuildListingsFeedOptions,
  buildListingsFeed,
  type CreateFeedSpecification,
  FEEDS_PATH,
  type Feed,
  type FeedDocument,
  type FeedProcessingStatus,
  type FeedSkuOutcome,
  JSON_LISTINGS_FEED,
  LISTINGS_FEED_CONTENT_TYPE,
  type ListingsFeedDocument,
  type ListingsFeedMessage,
  type ListingsFeedMessageInput,
  MAX_LISTINGS_FEED_MESSAGES,
  mapProcessingReport,
  messagesById,
  type ProcessingReport,
  type ProcessingReportIssue,
} from './feeds.js';
export {
  AMAZON_RATE_LIMITS,
  type AmazonOperation,
  createFeedsLimiters,
  createListingsLimiters,
  FEEDS_OPERATIONS,
  type FeedsOperation,
  LISTINGS_FEED_SUBMISSIONS,
  LISTINGS_OPERATIONS,
  type ListingsOperation,
} from './limits.js';
export {
  type AmazonSandbox,
  type AmazonSandboxControl,
  type AmazonSandboxOptions,
  createAmazonSandbox,
  DEFAULT_PRODUCT_TYPES,
  type ListingSnapshot,
  type OperationCounters,
  SANDBOX_CREDENTIALS,
  type SandboxOperation,
  type SandboxRequestLog,
  sandboxEnv,
} from './sandbox.js';
export {
  AMAZON_IN_MARKETPLACE_ID,
  type GetIncludedData,
  type Item,
  type ListingAttributes,
  type ListingsItemPatchRequest,
  type ListingsItemPutRequest,
  type ListingsItemSubmissionResponse,
  type PatchOperation,
} from './types.js';
