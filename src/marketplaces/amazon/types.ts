/**
 * Amazon SP-API wire shapes (Listings Items 2021-08-01, LWA) as zod schemas. Parsing is tolerant:
 * unknown fields are dropped, optional arrays default to empty, so a richer response from Amazon
 * never breaks us; only what we rely on is required.
 */
import { z } from 'zod';

/** amazon.in */
export const AMAZON_IN_MARKETPLACE_ID = 'A21TJRUUN4KGV';

export const LISTINGS_ITEMS_PATH = '/listings/2021-08-01/items';

export const ErrorSchema = z.object({
  code: z.string().catch('Unknown'),
  message: z.string().catch(''),
  details: z.string().optional(),
});
export const ErrorListSchema = z.object({ errors: z.array(ErrorSchema) });
export type AmazonApiError = z.infer<typeof ErrorSchema>;

const SeveritySchema = z.enum(['ERROR', 'WARNING', 'INFO']).catch('ERROR');

export const IssueSchema = z.object({
  code: z.string(),
  message: z.string(),
  severity: SeveritySchema,
  attributeNames: z.array(z.string()).optional(),
  categories: z.array(z.string()).default([]),
  marketplaceIds: z.array(z.string()).optional(),
  enforcements: z.unknown().optional(),
});
export type AmazonIssue = z.infer<typeof IssueSchema>;

export const ListingsItemSubmissionResponseSchema = z.object({
  sku: z.string(),
  status: z.enum(['ACCEPTED', 'INVALID', 'VALID']),
  submissionId: z.string(),
  issues: z.array(IssueSchema).default([]),
  identifiers: z.unknown().optional(),
});
export type ListingsItemSubmissionResponse = z.infer<typeof ListingsItemSubmissionResponseSchema>;

export const ItemSummarySchema = z.object({
  marketplaceId: z.string(),
  asin: z.string().optional(),
  productType: z.string().optional(),
  conditionType: z.string().optional(),
  status: z.array(z.string()).default([]),
  itemName: z.string().optional(),
  createdDate: z.string().optional(),
  lastUpdatedDate: z.string().optional(),
});

/** Amazon's `Decimal` is a string; we also accept a number. */
const DecimalSchema = z.union([z.string(), z.number()]);

export const ItemOfferSchema = z.object({
  marketplaceId: z.string(),
  offerType: z.string().optional(),
  price: z.object({ currencyCode: z.string().optional(), amount: DecimalSchema }).optional(),
  audience: z.object({ value: z.string().optional() }).optional(),
});

export const FulfillmentAvailabilitySchema = z.object({
  fulfillmentChannelCode: z.string(),
  quantity: z.number().optional(),
});

export const ItemSchema = z.object({
  sku: z.string(),
  summaries: z.array(ItemSummarySchema).default([]),
  attributes: z.record(z.string(), z.unknown()).default({}),
  issues: z.array(IssueSchema).default([]),
  offers: z.array(ItemOfferSchema).default([]),
  fulfillmentAvailability: z.array(FulfillmentAvailabilitySchema).default([]),
});
export type Item = z.infer<typeof ItemSchema>;

export const LwaTokenResponseSchema = z.object({
  access_token: z.string().min(1),
  token_type: z.string().optional(),
  expires_in: z.number().positive(),
  refresh_token: z.string().optional(),
});

export const LwaErrorSchema = z.object({
  error: z.string(),
  error_description: z.string().optional(),
});

/** `includedData` values of getListingsItem (model enum). */
export type GetIncludedData =
  | 'summaries'
  | 'attributes'
  | 'issues'
  | 'offers'
  | 'fulfillmentAvailability'
  | 'procurement'
  | 'relationships'
  | 'productTypes';

export type ListingsRequirements = 'LISTING' | 'LISTING_PRODUCT_ONLY' | 'LISTING_OFFER_ONLY';

/** Attribute values are arrays of instances, snake_case, as in the product-type schemas. */
export type ListingAttributes = Record<string, Record<string, unknown>[]>;

export interface ListingsItemPutRequest {
  productType: string;
  requirements?: ListingsRequirements;
  attributes: ListingAttributes;
}

export interface PatchOperation {
  op: 'add' | 'replace' | 'merge' | 'delete';
  /** JSON pointer to a top-level attribute: `/attributes/<name>`. */
  path: string;
  value?: Record<string, unknown>[];
}

export interface ListingsItemPatchRequest {
  productType: string;
  patches: PatchOperation[];
}
