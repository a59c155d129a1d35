/** Tata CliQ (PartnerConnect): clients, limits, listing adapter, order source/actions and a local sandbox server. */

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
  createTataCliqOrderLimiters,
  DEFAULT_MAX_BATCH_ITEMS,
  TATACLIQ_OPERATIONS,
  TATACLIQ_ORDER_OPERATIONS,
  TATACLIQ_ORDER_RATE_LIMITS,
  TATACLIQ_RATE_LIMITS,
  type TataCliqOperation,
  type TataCliqOrderOperation,
} from './limits.js';
export {
  fingerprint,
  lineStatus,
  parseOrderCursor,
  type SeenEntry,
  TATACLIQ_ORDER_REFUSALS,
  TataCliqOrderActions,
  type TataCliqOrderActionsOptions,
  type TataCliqOrderCursor,
  type TataCliqOrderMappingOptions,
  TataCliqOrderSource,
  type TataCliqOrderSourceOptions,
  toMarketplaceOrder,
} from './orders.js';
export {
  type ActiveOrders,
  alignLines,
  type CancelLine,
  type LineBatchOutcome,
  type LineOutcome,
  type LineOutcomeStatus,
  type ShipLine,
  type TataCliqOrderCallOptions,
  type TataCliqOrdersApi,
  TataCliqOrdersClient,
  type TataCliqOrdersClientOptions,
} from './orders-client.js';
export {
  aggregateStatus,
  type CancelledBy,
  DEFAULT_ORDER_PATH_TEMPLATES,
  formatCliqDate,
  isActiveStatus,
  ORDER_STATUS_CODES,
  type OrderLineWire,
  type OrderStatusUpdateRequest,
  type OrderWire,
  parseCliqDate,
  type ShipmentUpdateRequest,
  type StatusMeaning,
  statusOf,
  type TataCliqOrderPathTemplates,
} from './orders-types.js';
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
export type {
  CreateOrdersOptions,
  TataCliqOrderSnapshot,
  TataCliqSandboxOrderControl,
} from './sandbox-orders.js';
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
