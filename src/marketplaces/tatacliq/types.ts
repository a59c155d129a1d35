/**
 * Tata CliQ PartnerConnect wire shapes (reference §3).
 *
 * Observed [SRC]: the URL grammar `/PartnerConnect/PC_{sellerId}/AP_{API}/[AVT_{type}/]AV_{ver}/OG_1/…`,
 * bearer auth, and the inventory update body (all values strings). Everything else here is
 * [ASSUMED] (reference §3.2) and kept behind configuration: the price update body, the listing
 * read, the per-item result and error bodies. Parsing is tolerant (numbers or strings, a flat or
 * a `…Response`-wrapped item list), so the real shapes can differ in detail without breaking us.
 */
import { z } from 'zod';

/**
 * Path templates under `baseUrl` (…/PartnerConnect). Placeholders: `{sellerId}`, `{sku}`,
 * `{orderNo}`; each value is percent-encoded as (part of) one path segment.
 */
export interface TataCliqPathTemplates {
  /** POST, body InventoryUpdateRequest. Observed. */
  inventory: string;
  /** POST, body PriceUpdateRequest. ASSUMED (no public shape). */
  price: string;
  /** GET one listing by SKU. ASSUMED (no public listing read exists). */
  listing: string;
  /** GET all active orders. Observed (not used by the listing slice yet). */
  orders: string;
  /** GET one order. Observed (not used yet). */
  order: string;
  /** POST order status updates. ASSUMED (not used yet). */
  orderStatus: string;
  /** POST AWB/ship for SSHIP. ASSUMED (not used yet). */
  shipment: string;
}

export const DEFAULT_PATH_TEMPLATES: Readonly<TataCliqPathTemplates> = {
  inventory: 'PC_{sellerId}/AP_INVENTORY/AV_1.0/OG_1',
  price: 'PC_{sellerId}/AP_PRICE/AV_1.0/OG_1',
  listing: 'PC_{sellerId}/AP_LISTING/AV_1.0/OG_1/SKU_{sku}/',
  orders: 'PC_{sellerId}/AP_SALES_ORDER/AVT_JSON_SALES_ORDER/AV_2.0/OG_1/',
  order: 'PC_{sellerId}/AP_SALES_ORDER/AVT_JSON_SALES_ORDER/AV_2.0/OG_1/ORDID_{orderNo}/',
  orderStatus: 'PC_{sellerId}/AP_ORDER_STATUS/AV_1.0/OG_1',
  shipment: 'PC_{sellerId}/AP_SHIPMENT/AV_1.0/OG_1',
};

export const PATH_PLACEHOLDERS = ['sellerId', 'sku', 'orderNo'] as const;
export type PathPlaceholder = (typeof PATH_PLACEHOLDERS)[number];

// Requests --------------------------------------------------------------------------------------

/** One row of an inventory update: every value a string, as observed. */
export interface InventoryUpdateItem {
  SKU: string;
  SlaveID: string;
  Inventory: string;
  SafetyStock: string;
}

export interface InventoryUpdateRequest {
  InventoryUpdate: { Item: InventoryUpdateItem[] };
}

/** One row of a price update (ASSUMED). A field that is not changed is left out. */
export interface PriceUpdateItem {
  SKU: string;
  MRP?: string;
  SellingPrice?: string;
}

export interface PriceUpdateRequest {
  PriceUpdate: { Item: PriceUpdateItem[] };
}

// Responses -------------------------------------------------------------------------------------

const Text = z.union([z.string(), z.number()]).transform(String);

/** A decimal sent as string or number; '' and garbage are rejected. */
export const DecimalSchema = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const n = typeof v === 'number' ? v : v.trim() === '' ? Number.NaN : Number(v);
  if (!Number.isFinite(n)) {
    ctx.addIssue({ code: 'custom', message: `not a number: ${JSON.stringify(v)}` });
    return z.NEVER;
  }
  return n;
});

/** `SUCCESS` / `FAILURE` (ASSUMED); `WARNING` is tolerated; any other value counts as a failure. */
export type ItemStatus = 'SUCCESS' | 'WARNING' | 'FAILURE';

const ItemStatusSchema = z
  .string()
  .transform((s): ItemStatus => {
    const u = s.trim().toUpperCase();
    return u === 'SUCCESS' || u === 'WARNING' ? u : 'FAILURE';
  })
  .catch('FAILURE');

/** One per-item result of a batch call (ASSUMED): `{SKU, status, errorMessage}`. */
export const ItemResultSchema = z
  .object({
    SKU: Text.optional(),
    sku: Text.optional(),
    SlaveID: Text.optional(),
    slaveId: Text.optional(),
    status: ItemStatusSchema,
    errorCode: Text.optional(),
    errorMessage: z.string().optional(),
    message: z.string().optional(),
  })
  .transform((r) => ({
    sku: r.SKU ?? r.sku,
    slaveId: r.SlaveID ?? r.slaveId,
    status: r.status,
    errorCode: r.errorCode,
    errorMessage: r.errorMessage ?? r.message,
  }));
export type ItemResult = z.infer<typeof ItemResultSchema>;

/** `{"status":"FAILURE","errorCode":"…","errorMessage":"…"}` (ASSUMED). */
export const ErrorBodySchema = z.object({
  status: z.string().optional(),
  errorCode: Text.optional(),
  errorMessage: z.string().optional(),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

/** The listing read (ASSUMED): `{SKU, MRP, SellingPrice, Inventory:[{SlaveID, Inventory}], Status}`. */
export const ListingSchema = z.object({
  SKU: Text,
  MRP: DecimalSchema.optional(),
  SellingPrice: DecimalSchema.optional(),
  Inventory: z.array(z.object({ SlaveID: Text, Inventory: DecimalSchema })).default([]),
  Status: z.string().optional(),
});
export type TataCliqListing = z.infer<typeof ListingSchema>;

/**
 * The per-item list and overall status of a batch answer. Accepted layouts: `{status, Item:[…]}`,
 * the same wrapped once (`{"InventoryUpdateResponse": {…}}`), `items`/`Item`/`item` keys, or a
 * bare array. `items` is null when the answer carries no per-item list.
 */
export function batchResultsOf(json: unknown): {
  status?: string;
  message?: string;
  items: unknown[] | null;
} {
  if (Array.isArray(json)) return { items: json };
  if (!isRecord(json)) return { items: null };
  const direct = itemsOf(json);
  if (direct !== null) return { ...topLevel(json), items: direct };
  for (const value of Object.values(json)) {
    if (isRecord(value)) {
      const nested = itemsOf(value);
      if (nested !== null) return { ...topLevel(value), ...topLevel(json), items: nested };
    }
  }
  return { ...topLevel(json), items: null };
}

function itemsOf(o: Record<string, unknown>): unknown[] | null {
  for (const k of ['Item', 'item', 'items', 'Items']) {
    const v = o[k];
    if (Array.isArray(v)) return v;
    if (isRecord(v)) return [v];
  }
  return null;
}

function topLevel(o: Record<string, unknown>): { status?: string; message?: string } {
  const out: { status?: string; message?: string } = {};
  if (typeof o.status === 'string') out.status = o.status.toUpperCase();
  if (typeof o.errorMessage === 'string') out.message = o.errorMessage;
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
