import type {
  CallPriority,
  ListingChange,
  ListingDraft,
  ListingReadback,
  MarketplaceId,
  SubmitResult,
} from '../domain/types.js';

export interface CallOptions {
  priority?: CallPriority;
  signal?: AbortSignal;
}

/**
 * One marketplace as the listing machine sees it. Marketplace differences (endpoints, payloads,
 * batching, rate limits, auth) live behind this; the machine never knows which one it talks to.
 * Every method is idempotent: it may be called again after a crash with the same arguments.
 * Failures are thrown as RetryableError or TerminalError (src/core/errors.ts).
 */
export interface ListingAdapter {
  readonly marketplace: MarketplaceId;
  /** Create or fully replace the listing. */
  upsert(draft: ListingDraft, opts?: CallOptions): Promise<SubmitResult>;
  /** Change price and/or stock of an existing listing. */
  update(change: ListingChange, opts?: CallOptions): Promise<SubmitResult>;
  /** Stop selling. */
  delist(sku: string, opts?: CallOptions): Promise<SubmitResult>;
  /** Read the listing back as the marketplace shows it now. */
  read(sku: string, opts?: CallOptions): Promise<ListingReadback>;
  /** True when the read-back shows the listing is no longer sellable. */
  isDelisted(readback: ListingReadback): boolean;
}

/** One audited marketplace HTTP call, as stored in `marketplace_call`. */
export interface MarketplaceCallRecord {
  marketplace: MarketplaceId;
  operation: string;
  entityKey: string | null;
  httpStatus: number | null;
  throttled: boolean;
  startedAt: Date;
  durationMs: number;
  attempt: number;
  error: string | null;
}

/** Where clients report every call they make (the store batches them into marketplace_call). */
export interface CallRecorder {
  record(call: MarketplaceCallRecord): void;
}

export const noopRecorder: CallRecorder = { record: () => {} };
