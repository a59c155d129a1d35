/**
 * Orders as marketbridge sees them, whatever the marketplace (the order machine, the pollers and
 * the messages to the OMS use these). Plain JSON: they live in machine snapshots.
 */
import type { MarketplaceId } from './types.js';

/** Order status, normalised. `marketplaceStatus` keeps the marketplace's own word. */
export type OrderStatus =
  | 'pending' // placed, not yet payable/ready (Amazon Pending, Flipkart ON_HOLD)
  | 'unshipped' // ready to be packed and shipped (Amazon Unshipped, Flipkart APPROVED)
  | 'packed' // labels generated / packed (Flipkart PACKED, READY_TO_DISPATCH)
  | 'shipped' // handed to the carrier (Amazon Shipped, Flipkart SHIPPED)
  | 'delivered'
  | 'cancelled';

export interface OrderLine {
  /** Amazon orderItemId, Flipkart orderItemId, Tata CliQ transaction/line id. */
  lineId: string;
  sku: string;
  quantity: number;
  /** Unit selling price in INR, tax included, when the marketplace says. */
  unitPrice?: number;
  title?: string;
  /** The line's own status where the marketplace has one. */
  status?: OrderStatus;
  /** The buyer asked to cancel this line (Amazon cancellationRequest, Flipkart buyer cancel). */
  buyerCancelRequested?: boolean;
  cancelReason?: string;
}

/** Personal data: stored only where the OMS needs it (order.created), never logged. */
export interface ShippingAddress {
  name?: string;
  addressLine1?: string;
  addressLine2?: string;
  city?: string;
  state?: string;
  postalCode?: string;
  countryCode?: string;
  phone?: string;
}

export interface MarketplaceOrder {
  marketplace: MarketplaceId;
  orderId: string;
  status: OrderStatus;
  /** The marketplace's own status word (Unshipped, APPROVED, …). */
  marketplaceStatus: string;
  /** ISO 8601. */
  purchasedAt: string;
  /** ISO 8601: when the marketplace last changed the order (what pollers page by). */
  updatedAt: string;
  /** ISO 8601: ship by this time (Amazon latest ship date, Flipkart dispatch-by). */
  shipBy?: string;
  /** Order total in INR when known. */
  total?: number;
  currency: string;
  lines: OrderLine[];
  shippingAddress?: ShippingAddress;
  /** Identifiers the marketplace's ship/cancel calls need (Flipkart shipmentId, locationId, …). */
  refs?: Record<string, string>;
}

export interface ShipRequest {
  orderId: string;
  lines: { lineId: string; quantity: number }[];
  /** Carrier name as the OMS gives it (e.g. "Delhivery", "BlueDart"). */
  carrier: string;
  trackingNumber: string;
  /** ISO 8601. */
  shippedAt: string;
  /** The order as last seen on the marketplace (for refs such as Flipkart's shipmentId). */
  order: MarketplaceOrder;
}

export interface CancelRequest {
  orderId: string;
  /** Lines to cancel; absent: the whole order. */
  lines?: { lineId: string; quantity: number }[];
  /** The OMS's reason text. */
  reason: string;
  order: MarketplaceOrder;
}

export type OrderActionResult = { status: 'done' } | { status: 'refused'; code: string; reason: string };
