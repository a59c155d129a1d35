/** Tata CliQ (PartnerConnect): client, limits, listing adapter and a local sandbox server. */

export { MicroBatcher, type MicroBatcherOptions } from '../batcher.js';
export { parseRetryAfter } from '../http.js';
export {
  readback,
  TATACLIQ_ISSUE_CODES,
  TataCliqListingAdapter,
  type TataCliqListingAdapterOptions,
} from './adapter.js';
export {
  type BatchOutcome,
  type InventoryItem,
  type ItemOutcome,
  type ItemOutcomeStatus,
  type PriceItem,
  renderPath,
  TATACLIQ_ERROR_CODES,
  type TataCliqCallOptions,
  TataCliqClient,
  type TataCliqClientOptions,
  type TataCliqListingApi,
} from './client.js';
export {
  createTataCliqLimiters,
  DEFAULT_MAX_BATCH_ITEMS,
  TATACLIQ_OPERATIONS,
  TATACLIQ_RATE_LIMITS,
  type TataCliqOperation,
} from './limits.js';
export {
  createTataCliqSandbox,
  TATACLIQ_SANDBOX,
  type TataCliqListingSnapshot,
  type TataCliqOperationCounters,
  type TataCliqSandbox,
  type TataCliqSandboxControl,
  type TataCliqSandboxOptions,
  type TataCliqSandboxRequest,
  tataCliqSandboxEnv,
} from './sandbox.js';
export { formatSlaveIds, parseSlaveIds } from './slave-ids.js';
export {
  type MintedToken,
  type MintingTokenOptions,
  mintingTokenProvider,
  staticToken,
  type TokenMinter,
  type TokenProvider,
  type TokenSource,
  toTokenProvider,
} from './token-provider.js';
export {
  DEFAULT_PATH_TEMPLATES,
  type InventoryUpdateItem,
  type InventoryUpdateRequest,
  type PriceUpdateItem,
  type PriceUpdateRequest,
  type TataCliqListing,
  type TataCliqPathTemplates,
} from './types.js';
