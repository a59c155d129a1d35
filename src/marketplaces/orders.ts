/**
 * The order side of a marketplace as the pollers and the order machine's effects use it.
 * Marketplace differences (Amazon searchOrders windows and confirmShipment, Flipkart shipments and
 * labels, Tata CliQ order lines) live behind OrderSource and OrderActions in each marketplace's
 * folder.
 *
 * Failures are thrown as RetryableError or TerminalError (src/core/errors.ts); a marketplace that
 * answers "no" to a ship or cancel (a missing carrier code, a cancel after PACKED) is not an error
 * but a `refused` result with the marketplace's reason, which the OMS receives.
 */
import type { CancelRequest, MarketplaceOrder, OrderActionResult, ShipRequest } from '../domain/orders.js';
import type { MarketplaceId } from '../domain/types.js';
import type { CallOptions } from './types.js';

export type {
  CancelRequest,
  MarketplaceOrder,
  OrderActionResult,
  OrderLine,
  OrderStatus,
  ShippingAddress,
  ShipRequest,
} from '../domain/orders.js';

export interface OrderPage {
  orders: MarketplaceOrder[];
  /**
   * Opaque position to pass to the next poll. The poller stores it in `poll_cursor` only after
   * the page's orders are committed, so a crash re-reads the page (its events dedupe).
   */
  cursor: string;
  /** True: another page is ready now. False: caught up; poll again after the interval. */
  more: boolean;
}

export interface PollOptions {
  /** Where to start without a cursor (first run). */
  since: Date;
  signal?: AbortSignal;
}

/** One marketplace's new and changed orders, page by page (pollers, src/streams). */
export interface OrderSource {
  readonly marketplace: MarketplaceId;
  poll(cursor: string | null, opts: PollOptions): Promise<OrderPage>;
}

/** What the order machine asks of a marketplace. Every method is safe to call again. */
export interface OrderActions {
  readonly marketplace: MarketplaceId;
  ship(req: ShipRequest, opts?: CallOptions): Promise<OrderActionResult>;
  cancel(req: CancelRequest, opts?: CallOptions): Promise<OrderActionResult>;
  /** The order as the marketplace shows it now, or null (checked before repeating ship/cancel). */
  get(orderId: string, opts?: CallOptions): Promise<MarketplaceOrder | null>;
}
