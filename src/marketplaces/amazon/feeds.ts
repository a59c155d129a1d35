/**
 * Amazon SP-API Feeds API 2021-06-30 for the bulk price/stock path (reference §1.6, §4 F9):
 * documents (create, upload, download), feeds (create, get), the JSON_LISTINGS_FEED v2 document
 * builder and the processing-report mapper. Nothing wires this into the app yet.
 *
 * The client shares the Listings client's LWA token (one seller account) and follows the same
 * contract: at most one HTTP request per call (two when the token expired mid-way), through the
 * operation's own limiter (published Feeds table), recorded, never retrying 429/5xx itself.
 * Document uploads and downloads go to presigned URLs: plain HTTP, no SP-API auth headers, no limiter.
 */
import { gunzipSync } from 'node:zlib';
import { z } from 'zod';
import { RetryableError, TerminalError } from '../../core/errors.js';
import { encodePathSegment, type FetchedResponse, fetchBytes, parseJson, RecordedCall } from '../http.js';
import { AMAZON_ERROR_CODES, type AmazonCallOptions, parseSpApiAnswer } from './client.js';
import { createFeedsLimiters, type FeedsOperation } from './limits.js';
import { AmazonOperationsClient, type AmazonOperationsClientOptions } from './operations-client.js';
import type { PatchOperation } from './types.js';

export const FEEDS_PATH = '/feeds/2021-06-30';
export const JSON_LISTINGS_FEED = 'JSON_LISTINGS_FEED';
export const LISTINGS_FEED_CONTENT_TYPE = 'application/json; charset=UTF-8';
/** Messages per JSON_LISTINGS_FEED document (reference §1.6). */
export const MAX_LISTINGS_FEED_MESSAGES = 25_000;

// Models ---------------------------------------------------------------------------------------

export const FEED_PROCESSING_STATUSES = ['CANCELLED', 'DONE', 'FATAL', 'IN_PROGRESS', 'IN_QUEUE'] as const;
export type FeedProcessingStatus = (typeof FEED_PROCESSING_STATUSES)[number];

export const CreateFeedDocumentResponseSchema = z.object({ feedDocumentId: z.string(), url: z.string() });
export type CreateFeedDocumentResponse = z.infer<typeof CreateFeedDocumentResponseSchema>;

export const CreateFeedResponseSchema = z.object({ feedId: z.string() });
export type CreateFeedResponse = z.infer<typeof CreateFeedResponseSchema>;

export const FeedSchema = z.object({
  feedId: z.string(),
  feedType: z.string(),
  marketplaceIds: z.array(z.string()).optional(),
  createdTime: z.string(),
  processingStatus: z.enum(FEED_PROCESSING_STATUSES),
  processingStartTime: z.string().optional(),
  processingEndTime: z.string().optional(),
  resultFeedDocumentId: z.string().optional(),
});
export type Feed = z.infer<typeof FeedSchema>;

export const FeedDocumentSchema = z.object({
  feedDocumentId: z.string(),
  url: z.string(),
  compressionAlgorithm: z.literal('GZIP').optional(),
});
export type FeedDocument = z.infer<typeof FeedDocumentSchema>;

export interface CreateFeedSpecification {
  feedType: string;
  marketplaceIds: string[];
  inputFeedDocumentId: string;
  feedOptions?: Record<string, string>;
}

export const ProcessingReportIssueSchema = z.object({
  messageId: z.number().int().optional(),
  sku: z.string().optional(),
  code: z.string(),
  severity: z.enum(['ERROR', 'WARNING', 'INFO']),
  message: z.string(),
  attributeName: z.string().optional(),
});
export type ProcessingReportIssue = z.infer<typeof ProcessingReportIssueSchema>;

export const ProcessingReportSchema = z.object({
  header: z.object({ sellerId: z.string(), version: z.string(), feedId: z.string() }).passthrough(),
  issues: z.array(ProcessingReportIssueSchema).optional(),
  summary: z
    .object({
      errors: z.number().int(),
      warnings: z.number().int(),
      messagesProcessed: z.number().int(),
      messagesAccepted: z.number().int(),
      messagesInvalid: z.number().int(),
    })
    .passthrough(),
  items: z.array(z.unknown()).optional(),
});
export type ProcessingReport = z.infer<typeof ProcessingReportSchema>;

// Feed document builder ------------------------------------------------------------------------

export interface ListingsFeedMessageInput {
  sku: string;
  price?: number;
  quantity?: number;
  /** Sends a DELETE message (price/quantity ignored). */
  delete?: boolean;
  /** The PATCH operations to send as they are (price/quantity ignored): the adapter's own. */
  patches?: PatchOperation[];
}

export interface ListingsFeedMessage {
  messageId: number;
  sku: string;
  operationType: 'PATCH' | 'DELETE';
  productType?: string;
  patches?: PatchOperation[];
}

export interface ListingsFeedDocument {
  header: { sellerId: string; version: '2.0'; issueLocale?: string };
  messages: ListingsFeedMessage[];
}

export interface BuildListingsFeedOptions {
  marketplaceId?: string;
  currency?: string;
  /** Default 'DEFAULT' (merchant-fulfilled). */
  fulfillmentChannel?: string;
  /** Default 'PRODUCT' (offer-only PATCH). */
  productType?: string;
  issueLocale?: string;
}

/**
 * A JSON_LISTINGS_FEED v2 document: messageId 1..n in input order, PATCH with `replace` of
 * purchasable_offer (price) and fulfillment_availability (quantity), or DELETE. Price is listed
 * first; Amazon applies stock first anyway (§4 F8). Throws above 25,000 messages, on an empty
 * list, a message without price/quantity, or a duplicate SKU.
 */
export function buildListingsFeed(
  sellerId: string,
  messages: readonly ListingsFeedMessageInput[],
  opts: BuildListingsFeedOptions = {},
): ListingsFeedDocument {
  if (messages.length === 0) throw new TerminalError('buildListingsFeed: no messages');
  if (messages.length > MAX_LISTINGS_FEED_MESSAGES) {
    throw new TerminalError(
      `buildListingsFeed: ${messages.length} messages, at most ${MAX_LISTINGS_FEED_MESSAGES} per feed`,
    );
  }
  const marketplaceId = opts.marketplaceId ?? 'A21TJRUUN4KGV';
  const currency = opts.currency ?? 'INR';
  const channel = opts.fulfillmentChannel ?? 'DEFAULT';
  const seen = new Set<string>();
  const out: ListingsFeedMessage[] = messages.map((m, i) => {
    if (m.sku === '') throw new TerminalError(`buildListingsFeed: message ${i + 1} has an empty SKU`);
    if (seen.has(m.sku)) throw new TerminalError(`buildListingsFeed: SKU ${m.sku} appears twice`);
    seen.add(m.sku);
    const messageId = i + 1;
    if (m.delete) return { messageId, sku: m.sku, operationType: 'DELETE' };
    const patches: PatchOperation[] = m.patches ? [...m.patches] : [];
    if (!m.patches && m.price !== undefined) {
      patches.push({
        op: 'replace',
        path: '/attributes/purchasable_offer',
        value: [
          {
            marketplace_id: marketplaceId,
            currency,
            our_price: [{ schedule: [{ value_with_tax: Math.round(m.price * 100) / 100 }] }],
          },
        ],
      });
    }
    if (!m.patches && m.quantity !== undefined) {
      patches.push({
        op: 'replace',
        path: '/attributes/fulfillment_availability',
        value: [{ fulfillment_channel_code: channel, quantity: m.quantity }],
      });
    }
    if (patches.length === 0) {
      throw new TerminalError(`buildListingsFeed: SKU ${m.sku} has neither price, quantity nor delete`);
    }
    return {
      messageId,
      sku: m.sku,
      operationType: 'PATCH',
      productType: opts.productType ?? 'PRODUCT',
      patches,
    };
  });
  const header: ListingsFeedDocument['header'] = { sellerId, version: '2.0' };
  if (opts.issueLocale !== undefined) header.issueLocale = opts.issueLocale;
  return { header, messages: out };
}

/** SKU by messageId of a built document (the second argument of mapProcessingReport). */
export function messagesById(doc: ListingsFeedDocument): Map<number, string> {
  return new Map(doc.messages.map((m) => [m.messageId, m.sku]));
}

// Processing report ----------------------------------------------------------------------------

export interface FeedSkuOutcome {
  sku: string;
  messageId: number;
  status: 'accepted' | 'invalid';
  /** Issues of this message plus the header-level ones (errors and warnings). */
  issues: ProcessingReportIssue[];
}

/**
 * Per-SKU outcome of a processing report. A message is invalid when it has an ERROR issue, or
 * when a header-level ERROR (no messageId, e.g. 4002006 bad version) rejected the whole feed.
 * Header-level issues are attached to every SKU. Issues are matched by messageId, never by the
 * `sku` field (Amazon omits it on some issues).
 */
export function mapProcessingReport(
  report: unknown,
  messages: ReadonlyMap<number, string> | Record<number, string>,
): Map<string, FeedSkuOutcome> {
  const parsed = ProcessingReportSchema.safeParse(report);
  if (!parsed.success) {
    throw new TerminalError(`processing report does not match the schema: ${parsed.error.message}`, {
      code: AMAZON_ERROR_CODES.unexpectedResponse,
    });
  }
  const byId: [number, string][] =
    messages instanceof Map
      ? [...messages.entries()]
      : Object.entries(messages).map(([k, v]) => [Number(k), v] as [number, string]);
  const issues = parsed.data.issues ?? [];
  const headerIssues = issues.filter((i) => i.messageId === undefined);
  const out = new Map<string, FeedSkuOutcome>();
  for (const [messageId, sku] of byId.sort((a, b) => a[0] - b[0])) {
    const own = issues.filter((i) => i.messageId === messageId);
    const all = [...headerIssues, ...own];
    const invalid = all.some((i) => i.severity === 'ERROR');
    out.set(sku, { sku, messageId, status: invalid ? 'invalid' : 'accepted', issues: all });
  }
  return out;
}

// Client ---------------------------------------------------------------------------------------

export interface AmazonFeedsClientOptions extends AmazonOperationsClientOptions<FeedsOperation> {
  /** Per document upload/download. Default 120 s. */
  documentTimeoutMs?: number;
}

export class AmazonFeedsClient extends AmazonOperationsClient<FeedsOperation> {
  private readonly documentTimeoutMs: number;

  constructor(opts: AmazonFeedsClientOptions) {
    super(opts, createFeedsLimiters);
    this.documentTimeoutMs = opts.documentTimeoutMs ?? 120_000;
  }

  async createFeedDocument(
    contentType: string = LISTINGS_FEED_CONTENT_TYPE,
    opts: AmazonCallOptions = {},
  ): Promise<CreateFeedDocumentResponse> {
    const res = await this.call('createFeedDocument', 'POST', '/documents', { contentType }, null, opts);
    return parseSpApiAnswer(res, CreateFeedDocumentResponseSchema, 'createFeedDocument');
  }

  /** PUT of the document bytes to the presigned URL, with the same Content-Type (no auth headers). */
  async uploadFeedDocument(
    url: string,
    bytes: Uint8Array | string,
    contentType: string = LISTINGS_FEED_CONTENT_TYPE,
    opts: { signal?: AbortSignal } = {},
  ): Promise<void> {
    const body = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
    await this.document(
      'uploadFeedDocument',
      url,
      {
        method: 'PUT',
        headers: { 'content-type': contentType },
        body,
      },
      opts.signal,
    );
  }

  async createFeed(spec: CreateFeedSpecification, opts: AmazonCallOptions = {}): Promise<CreateFeedResponse> {
    const res = await this.call('createFeed', 'POST', '/feeds', spec, spec.inputFeedDocumentId, opts);
    return parseSpApiAnswer(res, CreateFeedResponseSchema, 'createFeed');
  }

  async getFeed(feedId: string, opts: AmazonCallOptions = {}): Promise<Feed> {
    const res = await this.call(
      'getFeed',
      'GET',
      `/feeds/${encodePathSegment(feedId)}`,
      undefined,
      feedId,
      opts,
    );
    return parseSpApiAnswer(res, FeedSchema, 'getFeed');
  }

  async getFeedDocument(feedDocumentId: string, opts: AmazonCallOptions = {}): Promise<FeedDocument> {
    const path = `/documents/${encodePathSegment(feedDocumentId)}`;
    const res = await this.call('getFeedDocument', 'GET', path, undefined, feedDocumentId, opts);
    return parseSpApiAnswer(res, FeedDocumentSchema, 'getFeedDocument');
  }

  /** GET of a presigned document URL; gunzipped when `compression` is GZIP. */
  async downloadFeedDocument(
    url: string,
    compression?: 'GZIP' | undefined,
    opts: { signal?: AbortSignal } = {},
  ): Promise<Buffer> {
    const bytes = await this.document('downloadFeedDocument', url, { method: 'GET' }, opts.signal);
    if (compression !== 'GZIP') return bytes;
    try {
      return gunzipSync(bytes);
    } catch (err) {
      throw new TerminalError(`downloadFeedDocument: GZIP document does not decompress: ${String(err)}`, {
        code: AMAZON_ERROR_CODES.unexpectedResponse,
      });
    }
  }

  /** createFeedDocument → upload → createFeed for a JSON_LISTINGS_FEED; returns the feedId. */
  async submitListingsFeed(
    doc: ListingsFeedDocument,
    opts: AmazonCallOptions = {},
  ): Promise<{ feedId: string; feedDocumentId: string }> {
    const { feedDocumentId, url } = await this.createFeedDocument(LISTINGS_FEED_CONTENT_TYPE, opts);
    await this.uploadFeedDocument(url, JSON.stringify(doc), LISTINGS_FEED_CONTENT_TYPE, opts);
    const { feedId } = await this.createFeed(
      {
        feedType: JSON_LISTINGS_FEED,
        marketplaceIds: [this.marketplaceId],
        inputFeedDocumentId: feedDocumentId,
      },
      opts,
    );
    return { feedId, feedDocumentId };
  }

  /** The processing report of a DONE feed (null while it has no result document). */
  async getProcessingReport(feed: Feed, opts: AmazonCallOptions = {}): Promise<unknown | null> {
    if (feed.resultFeedDocumentId === undefined) return null;
    const doc = await this.getFeedDocument(feed.resultFeedDocumentId, opts);
    const bytes = await this.downloadFeedDocument(doc.url, doc.compressionAlgorithm, opts);
    const json = parseJson(bytes.toString('utf8'));
    if (json === undefined) {
      throw new TerminalError('processing report is not JSON', {
        code: AMAZON_ERROR_CODES.unexpectedResponse,
      });
    }
    return json;
  }

  // ---------------------------------------------------------------------------------------------

  private call(
    op: FeedsOperation,
    method: string,
    path: string,
    body: unknown,
    entityKey: string | null,
    opts: AmazonCallOptions,
  ): Promise<FetchedResponse> {
    return this.request(op, method, `${FEEDS_PATH}${path}`, body, entityKey, opts, 'price');
  }

  /** A presigned-URL request (upload/download): recorded, no auth headers, no limiter. */
  private async document(
    op: 'uploadFeedDocument' | 'downloadFeedDocument',
    url: string,
    init: RequestInit,
    signal: AbortSignal | undefined,
  ): Promise<Buffer> {
    const call = new RecordedCall(this.http.recorder, this.clock, {
      marketplace: 'amazon',
      operation: op,
      entityKey: null,
      attempt: 1,
    });
    try {
      const res = await fetchBytes(this.http.fetchFn, url, init, this.documentTimeoutMs, signal);
      call.status = res.status;
      if (res.status >= 200 && res.status < 300) return res.body;
      call.error = `HTTP ${res.status}`;
      // An expired presigned URL (403) needs a new document; 5xx may be retried.
      if (res.status >= 500) throw new RetryableError(`${op}: HTTP ${res.status}`, { status: res.status });
      throw new TerminalError(`${op}: HTTP ${res.status} ${res.body.toString('utf8').slice(0, 200)}`, {
        code: AMAZON_ERROR_CODES.badRequest,
        status: res.status,
      });
    } catch (err) {
      call.failed(err);
      throw err;
    } finally {
      call.end();
    }
  }
}
