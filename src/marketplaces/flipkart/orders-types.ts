/**
 * Flipkart Seller API v3 shipments (= orders), reference §2.5–2.7: the wire shapes the order client
 * reads, parsed tolerantly (unknown fields ignored, a malformed shipment or item dropped rather
 * than failing the whole page, §2.3 "clients must tolerate new fields").
 */
import { z } from 'zod';

export const SHIPMENTS_V3_PATH = '/v3/shipments';

/** Shipment / order item states (§2.5). `ON_HOLD` is not a documented state; `hold: true` is. */
export const PRE_DISPATCH_STATES = [
  'APPROVED',
  'PACKING_IN_PROGRESS',
  'PACKED',
  'FORM_FAILED',
  'READY_TO_DISPATCH',
] as const;
export const POST_DISPATCH_STATES = ['PICKUP_COMPLETE', 'SHIPPED', 'DELIVERED'] as const;

export type ShipmentState =
  | (typeof PRE_DISPATCH_STATES)[number]
  | (typeof POST_DISPATCH_STATES)[number]
  | 'CANCELLED'
  | 'RETURN_REQUESTED'
  | 'RETURNED'
  | 'COMPLETED'
  | 'ON_HOLD';

export type ShipmentFilterType = 'preDispatch' | 'postDispatch' | 'cancelled';
export type CancellationType = 'sellerCancellation' | 'buyerCancellation' | 'marketplaceCancellation';
export type ShipmentSortField = 'orderDate' | 'dispatchByDate' | 'modifiedDate' | 'dispatchAfterDate';

/** Seller cancel reasons Flipkart accepts (§2.6). */
export type SellerCancelReason = 'cannot_procure_item' | 'not_enough_inventory' | 'b2b_order';

export interface DateRange {
  /** ISO 8601. */
  from?: string;
  to?: string;
}

/** The body of POST /v3/shipments/filter. */
export interface ShipmentFilter {
  type: ShipmentFilterType;
  /** Required for preDispatch / postDispatch. */
  states?: string[];
  /** Required for `cancelled`. */
  cancellationType?: CancellationType;
  locationId?: string;
  sku?: string[];
  orderDate?: DateRange;
  dispatchByDate?: DateRange;
  dispatchAfterDate?: DateRange;
  modifiedDate?: DateRange;
  cancellationDate?: DateRange;
  shipmentTypes?: string[];
  hold?: boolean;
}

export interface ShipmentSearch {
  filter: ShipmentFilter;
  /** Default 20 (max not documented, §2.5). */
  pageSize?: number;
  sort?: { field: ShipmentSortField; order: 'asc' | 'desc' };
}

const Str = z.union([z.string(), z.number()]).transform(String);
const OptStr = Str.optional().catch(undefined);
const OptNum = z
  .union([z.number(), z.string().trim().min(1)])
  .transform(Number)
  .pipe(z.number().finite())
  .optional()
  .catch(undefined);

function listOf<T extends z.ZodType>(element: T) {
  return z
    .array(z.unknown())
    .catch([])
    .transform((items) => {
      const out: z.infer<T>[] = [];
      for (const item of items) {
        const parsed = element.safeParse(item);
        if (parsed.success) out.push(parsed.data as z.infer<T>);
      }
      return out;
    });
}

export const PriceComponentsSchema = z.object({
  sellingPrice: OptNum,
  totalPrice: OptNum,
  shippingCharge: OptNum,
  customerPrice: OptNum,
  flipkartDiscount: OptNum,
});

export const FlipkartOrderItemSchema = z.object({
  orderItemId: Str,
  orderId: Str,
  cancellationGroupId: OptStr,
  orderDate: OptStr,
  cancellationDate: OptStr,
  paymentType: OptStr,
  status: Str,
  cancellationReason: OptStr,
  cancellationSubReason: OptStr,
  quantity: z.number().int().nonnegative().catch(1),
  fsn: OptStr,
  sku: Str.catch(''),
  listingId: OptStr,
  title: OptStr,
  priceComponents: PriceComponentsSchema.optional().catch(undefined),
});
export type FlipkartOrderItem = z.infer<typeof FlipkartOrderItemSchema>;

export const FlipkartShipmentSchema = z.object({
  shipmentId: Str,
  dispatchByDate: OptStr,
  dispatchAfterDate: OptStr,
  updatedAt: OptStr,
  locationId: OptStr,
  hold: z.boolean().optional().catch(undefined),
  shipmentType: OptStr,
  /** In shipment details (GET) and the sandbox: the tracking id once shipped. */
  trackingId: OptStr,
  orderItems: listOf(FlipkartOrderItemSchema),
});
export type FlipkartShipment = z.infer<typeof FlipkartShipmentSchema>;

export const ShipmentPageSchema = z.object({
  hasMore: z.boolean().catch(false),
  nextPageUrl: z.string().nullable().optional().catch(undefined),
  shipments: listOf(FlipkartShipmentSchema),
});
export interface ShipmentPage {
  shipments: FlipkartShipment[];
  hasMore: boolean;
  /** Relative to `/sellers`; GET it as-is (§2.5). */
  nextPageUrl: string | null;
}

/** Shipment details answer: `{shipments:[…]}` (a bare array is accepted too). */
export const ShipmentListSchema = z.union([
  z.object({ shipments: listOf(FlipkartShipmentSchema) }).transform((v) => v.shipments),
  listOf(FlipkartShipmentSchema),
]);

/** One shipment's answer in labels / dispatch / cancel (`status` or older `processingStatus`). */
export interface ShipmentResult {
  shipmentId: string;
  status: 'SUCCESS' | 'FAILURE';
  errorCode?: string;
  errorMessage?: string;
}
export type ShipmentResults = Map<string, ShipmentResult>;

const ShipmentResultSchema = z
  .object({
    shipmentId: Str,
    status: OptStr,
    processingStatus: OptStr,
    errorCode: OptStr,
    errorMessage: OptStr,
  })
  .transform((r): ShipmentResult => {
    const word = (r.status ?? r.processingStatus ?? '').toUpperCase();
    const out: ShipmentResult = {
      shipmentId: r.shipmentId,
      status: word === 'SUCCESS' ? 'SUCCESS' : 'FAILURE',
    };
    if (r.errorCode !== undefined) out.errorCode = r.errorCode;
    if (r.errorMessage !== undefined) out.errorMessage = r.errorMessage;
    return out;
  });

const ShipmentResultsSchema = z.union([
  z.object({ shipments: listOf(ShipmentResultSchema) }).transform((v) => v.shipments),
  listOf(ShipmentResultSchema),
]);

/**
 * Per-shipment results of a batch call. A shipment the answer does not mention is a FAILURE with
 * code `NO_RESULT` (its state is unknown: check it before acting again).
 */
export function parseShipmentResults(json: unknown, shipmentIds: string[]): ShipmentResults {
  const parsed = ShipmentResultsSchema.safeParse(json);
  const out: ShipmentResults = new Map();
  for (const r of parsed.success ? parsed.data : []) out.set(r.shipmentId, r);
  for (const id of shipmentIds) {
    if (!out.has(id)) {
      out.set(id, {
        shipmentId: id,
        status: 'FAILURE',
        errorCode: 'NO_RESULT',
        errorMessage: 'The answer has no result for this shipment',
      });
    }
  }
  return out;
}

/** POST /v3/shipments/labels, one shipment (§2.7). */
export interface LabelRequest {
  shipmentId: string;
  locationId: string;
  invoices: { orderId: string; invoiceDate: string; invoiceNumber?: string }[];
  taxItems?: { orderItemId: string; taxRate: number; quantity: number; purchasePrice?: number }[];
  serialNumbers?: { orderItemId: string; serialNumbers: string[][] }[];
  subShipments?: {
    subShipmentId: string;
    dimensions: { length: number; breadth: number; height: number; weight: number };
  }[];
  ignoreWarning?: boolean;
}

/** POST /v3/shipments/selfShip/dispatch, one shipment (§2.7). */
export interface SelfShipDispatch {
  shipmentId: string;
  locationId: string;
  /** ISO 8601. */
  dispatchDate: string;
  tentativeDeliveryDate?: string;
  deliveryPartner: string;
  trackingId: string;
  invoice?: { invoiceNumber: string; invoiceDate: string };
  items?: { orderItemId: string; quantity: number; serialNumbers?: string[] }[];
}

/** POST /v3/shipments/cancel, one shipment (§2.6). */
export interface CancelShipmentRequest {
  shipmentId: string;
  locationId: string;
  cancellationGroupIds: string[];
  reason: SellerCancelReason;
}

/** Batch caps (§2.6, §2.7): labels / dispatch / cancel 25, details and self-ship 100. */
export const MAX_SHIPMENTS_PER_ACTION = 25;
export const MAX_IDS_PER_LOOKUP = 100;
export const MAX_SELF_SHIP_PER_CALL = 100;
