/**
 * Flipkart Marketplace Seller API v3 wire shapes (Listings, OAuth) and the client's item types.
 *
 * Parsing is tolerant (reference §2.3: field order is not guaranteed, new fields may appear):
 * unknown fields are dropped, `null` lists become empty, numbers may arrive as strings; only what
 * we rely on is required. Field names are snake_case as in Flipkart's OpenAPI (the older HTML
 * table's `sellingPrice` is not used).
 */
import { z } from 'zod';

export const LISTINGS_V3_PATH = '/listings/v3';

/** Flipkart's documented batch cap for the listing update calls (reference §2.4). */
export const MAX_SKUS_PER_CALL = 10;

export type ListingStatus = 'ACTIVE' | 'INACTIVE';
export type LocationStatus = 'ENABLED' | 'DISABLED';
export type SkuStatus = 'SUCCESS' | 'FAILURE' | 'WARNING';

// Client-side items ---------------------------------------------------------------------------

/** A price change. Prices in INR; the client rounds them to whole rupees (half up). */
export interface PriceItem {
  sku: string;
  sellingPrice?: number;
  mrp?: number;
  /** The FSN; default from the client's `productId` resolver. */
  productId?: string;
}

export interface LocationInventory {
  /** Flipkart location id (from seller onboarding), not the OMS one. */
  id: string;
  inventory: number;
  /** Default ENABLED. DISABLED makes the listing non-buyable at that location. */
  status?: LocationStatus;
}

export interface InventoryItem {
  sku: string;
  locations: LocationInventory[];
  productId?: string;
}

/** A full listing (create) or the parts of one to change (update). */
export interface ListingItem {
  sku: string;
  productId?: string;
  sellingPrice?: number;
  mrp?: number;
  listingStatus?: ListingStatus;
  locations?: LocationInventory[];
  /**
   * Further fields of Flipkart's listing model, sent as given (`tax`, `fulfillment_profile`,
   * `fulfillment`, `packages`, `shipping_fees`, …). The fields above win over these.
   */
  fields?: Record<string, unknown>;
}

// Per-SKU results -----------------------------------------------------------------------------

const Severity = z.enum(['ERROR', 'WARNING']).catch('ERROR');
const Code = z
  .union([z.number(), z.string()])
  .transform((c) => String(c))
  .catch('UNKNOWN');
const Text = z.string().catch('');

/** `null`, absent or malformed lists become empty; malformed elements are dropped. */
function listOf<T extends z.ZodType>(element: T) {
  return z
    .array(z.unknown())
    .nullish()
    .catch(null)
    .transform((items) => {
      const out: z.infer<T>[] = [];
      for (const item of items ?? []) {
        const parsed = element.safeParse(item);
        if (parsed.success) out.push(parsed.data as z.infer<T>);
      }
      return out;
    });
}

export const FlipkartErrorSchema = z.object({
  severity: Severity,
  code: Code,
  description: Text,
  path: z.string().optional().catch(undefined),
});
export type FlipkartError = z.infer<typeof FlipkartErrorSchema>;

export const FlipkartAttributeErrorSchema = FlipkartErrorSchema.extend({
  attribute: z.string().optional().catch(undefined),
});
export type FlipkartAttributeError = z.infer<typeof FlipkartAttributeErrorSchema>;

/** `ListingChangeResponse` of one SKU. */
export const SkuResultSchema = z.object({
  status: z.enum(['SUCCESS', 'FAILURE', 'WARNING']),
  errors: listOf(FlipkartErrorSchema),
  attribute_errors: listOf(FlipkartAttributeErrorSchema),
});
export type SkuResult = z.infer<typeof SkuResultSchema>;

/** Per SKU sent; a SKU the response did not mention is absent (its outcome is unknown). */
export type SkuResults = Map<string, SkuResult>;

/**
 * The per-SKU results of an update/create answer. Canonical: the top-level object is the map SKU →
 * result (§2.4). Tolerated: the map under a top-level `sku` key (Unicommerce's DTO). A SKU literally
 * named `sku` is told apart by its result having a `status`.
 */
export function parseSkuResults(json: unknown, sent: Iterable<string>): SkuResults {
  const out: SkuResults = new Map();
  if (!isRecord(json)) return out;
  let map: Record<string, unknown> = json;
  const wrapped = json.sku;
  if (isRecord(wrapped) && !('status' in wrapped)) map = wrapped;
  for (const sku of sent) {
    if (!Object.hasOwn(map, sku)) continue;
    const parsed = SkuResultSchema.safeParse(map[sku]);
    if (parsed.success) out.set(sku, parsed.data);
  }
  return out;
}

// Get listings --------------------------------------------------------------------------------

const Num = z
  .union([z.number(), z.string().trim().min(1)])
  .transform((v) => Number(v))
  .pipe(z.number().finite());

export const ListingLocationSchema = z.object({
  id: z.union([z.string(), z.number()]).transform(String),
  status: z.string().optional().catch(undefined),
  inventory: Num.optional().catch(undefined),
});

/** `MarketplaceListingDetail`, only the fields the adapter reads. */
export const ListingDetailSchema = z.object({
  sku: z.string().optional().catch(undefined),
  product_id: z.string().optional().catch(undefined),
  listing_status: z.string().optional().catch(undefined),
  price: z
    .object({
      mrp: Num.optional().catch(undefined),
      selling_price: Num.optional().catch(undefined),
      currency: z.string().optional().catch(undefined),
    })
    .optional()
    .catch(undefined),
  locations: listOf(ListingLocationSchema),
});
export type ListingDetail = z.infer<typeof ListingDetailSchema>;

export interface ListingsLookup {
  available: Map<string, ListingDetail>;
  /** Not listed by this seller. */
  unavailable: string[];
  /** Flipkart (or the client, for SKUs it cannot put in a URL) calls these malformed. */
  invalid: string[];
}

const SkuList = z
  .array(z.unknown())
  .nullish()
  .catch(null)
  .transform((v) => (v ?? []).filter((s): s is string => typeof s === 'string'));

/** `available` is read with Object.entries by the caller: a parsed record would lose a SKU '__proto__'. */
export const GetListingsResponseSchema = z.object({
  available: z.unknown(),
  unavailable: SkuList,
  invalid: SkuList,
});

// OAuth ---------------------------------------------------------------------------------------

export const TokenResponseSchema = z.object({
  access_token: z.string().min(1),
  token_type: z.string().optional(),
  expires_in: Num.pipe(z.number().positive()),
  scope: z.string().optional(),
});

export const OAuthErrorSchema = z.object({
  error: z.string(),
  error_description: z.string().optional(),
});

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
