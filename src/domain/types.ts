/** Domain types shared by machines, runtime and adapters. Plain data only. */

export const MARKETPLACES = ['amazon', 'flipkart', 'tatacliq'] as const;
export type MarketplaceId = (typeof MARKETPLACES)[number];

/** What the OMS wants a listing to be (from product.list), minus price and stock. */
export interface ProductInfo {
  title: string;
  brand: string;
  ean: string;
  productType: string;
  attributes: Record<string, unknown>;
}

/** An issue a marketplace raised about a listing (Amazon `Issue`, Flipkart per-SKU error, …). */
export interface ListingIssue {
  code: string;
  message: string;
  severity: 'ERROR' | 'WARNING' | 'INFO';
  attributeNames?: string[];
}

/** Everything needed to create or fully replace a listing. Prices in INR (2 decimals). */
export interface ListingDraft {
  sku: string;
  product: ProductInfo;
  price: number;
  mrp: number;
  quantity: number;
}

/** Stock at one OMS location (a store or DC id from the OMS, e.g. `STORE-MUM-003`). */
export interface LocationQuantity {
  locationId: string;
  quantity: number;
}

/** A partial change: only the fields present are sent. */
export interface ListingChange {
  sku: string;
  price?: number;
  mrp?: number;
  /** The sellable total (marketplaces with one stock figure, e.g. Amazon MFN). */
  quantity?: number;
  /**
   * The whole breakdown per OMS location known so far (marketplaces with per-location stock map
   * these to their own location ids; a location not listed has nothing). Absent: only the total
   * is known.
   */
  locations?: LocationQuantity[];
}

/**
 * The synchronous answer to a write. `accepted`: queued by the marketplace, not yet applied
 * (confirm by read-back). `applied`: the marketplace says it is live now. `invalid`: rejected,
 * nothing applied; the issues say why.
 */
export type SubmitResult =
  | { status: 'accepted'; submissionId?: string; issues?: ListingIssue[] }
  | { status: 'applied'; issues?: ListingIssue[] }
  | { status: 'invalid'; issues: ListingIssue[] };

/** What the marketplace shows for a listing now. */
export interface ListingReadback {
  found: boolean;
  price?: number;
  quantity?: number;
  /** False when the listing exists but cannot be bought (delisted, inactive). */
  buyable?: boolean;
  issues?: ListingIssue[];
}

/** Priority lanes: stock to zero and delists first, then stock, then price. */
export type CallPriority = 'urgent' | 'stock' | 'price' | 'read';
