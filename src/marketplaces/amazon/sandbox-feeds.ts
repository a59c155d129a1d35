/**
 * The Feeds API 2021-06-30 of the Amazon sandbox (reference §1.6, §4 F8/F9): feed documents behind
 * local presigned-style URLs (5 minutes), JSON_LISTINGS_FEED feeds that go IN_QUEUE → IN_PROGRESS →
 * DONE after configurable delays, accepted messages handed to the sandbox's listings apply path
 * (same as PATCH/PUT/DELETE), and a GZIP processing report with per-message issues and a summary.
 *
 * Processing model: the feeds of one app (the key of the submission limit) are processed one after
 * another in creation order. A feed starts (IN_PROGRESS) at max(createdAt + queueDelayMs, end of the
 * app's previous feed) and ends (DONE) after processingDelayMs + messages × 1000 / messagesPerSecond.
 * Statuses and times follow from these times alone, whenever someone looks (advance() is driven by
 * the injected clock). A stalled feed (stallFeeds) holds back the later feeds of its app; when the
 * stall is lifted, held feeds end at that moment and the next ones queue behind them.
 *
 * Feeds and documents live in memory only (not in the sandbox's state file).
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../../core/clock.js';
import { isObject } from '../sandbox.js';
import type { FeedsOperation } from './limits.js';
import { LISTINGS_FEED_SUBMISSIONS } from './limits.js';

export const SANDBOX_DOCUMENT_PATH = '/sandbox-s3/feeds-documents';
const FEEDS_PATH = '/feeds/2021-06-30';
const MAX_MESSAGES = 25_000;
const DOCUMENT_URL_TTL_MS = 5 * 60_000;

export interface FeedsSandboxIssue {
  code: string;
  message: string;
  severity: 'ERROR' | 'WARNING' | 'INFO';
  attributeNames?: string[];
}

export interface FeedsSandboxPatch {
  op: string;
  path: string;
  value?: unknown[];
}

export interface FeedsSandboxChange {
  sellerId: string;
  sku: string;
  kind: 'put' | 'patch' | 'delete';
  productType?: string;
  attributes?: Record<string, unknown[]>;
  patches?: FeedsSandboxPatch[];
}

/** What the feeds part needs from the sandbox around it. */
export interface FeedsSandboxContext {
  clock: Clock;
  baseUrl(): string;
  /** Checks the access token; the app id when valid. */
  authorize(
    header: string | string[] | undefined,
  ): { ok: true; app: string } | { ok: false; details: string };
  /** The sandbox's current rate scale (scales the default JSON_LISTINGS_FEED submission window). */
  rateScale(): number;
  /** Takes a token of the operation's bucket (false: 429). */
  takeToken(op: FeedsOperation, app: string): boolean;
  rateHeader(op: FeedsOperation): string;
  quotaBody(): unknown;
  validateProductType(productType: string): FeedsSandboxIssue[];
  validatePatch(p: FeedsSandboxPatch): FeedsSandboxIssue[];
  validateAttribute(name: string, value: unknown[]): FeedsSandboxIssue[];
  /** Queues an accepted change exactly as an ACCEPTED Listings submission. */
  enqueue(change: FeedsSandboxChange): void;
  /** Feed types other than JSON_LISTINGS_FEED (e.g. the order acknowledgement feed), by feedType. */
  feedTypes?: Record<string, SandboxFeedTypeHandler>;
}

/**
 * A feed type besides JSON_LISTINGS_FEED: its document is kept as bytes, it goes through the same
 * queue and delays, and `process` (at the end of processing) returns its processing report.
 */
export interface SandboxFeedTypeHandler {
  /** Messages in the uploaded document; 0 or null: not a valid document (the feed is FATAL). */
  count(bytes: Buffer, contentType: string): number | null;
  process(bytes: Buffer, feedId: string, app: string): { contentType: string; bytes: Buffer };
}

export interface FeedsSandboxOptions {
  /** IN_QUEUE → IN_PROGRESS. Default 1000 ms. */
  queueDelayMs?: number;
  /** IN_PROGRESS → DONE: the fixed part. Default 2000 ms. */
  processingDelayMs?: number;
  /**
   * IN_PROGRESS → DONE: the per-message part, messages × 1000 / messagesPerSecond ms on top of
   * processingDelayMs. Default Infinity (no per-message cost).
   */
  messagesPerSecond?: number;
  /**
   * JSON_LISTINGS_FEED submissions per window, per app. Default 5 per (5 minutes / rateScale),
   * following the sandbox's current rate scale; given explicitly, it is not scaled.
   */
  submissions?: { max: number; windowMs: number };
}

export type SandboxFeedStatus = 'IN_QUEUE' | 'IN_PROGRESS' | 'DONE' | 'CANCELLED' | 'FATAL';

export interface SandboxFeedView {
  feedId: string;
  status: SandboxFeedStatus;
  messages: number;
  resultFeedDocumentId?: string;
}

export interface FeedsSandboxControl {
  /**
   * While true, feeds that reach IN_PROGRESS stay there, and later feeds of the same app wait behind
   * them (IN_QUEUE). Lifting the stall ends the held feeds at that moment.
   */
  stallFeeds(stalled: boolean): void;
  /** Messages for these SKUs are reported invalid (a processing error), in every later feed. */
  failFeedMessages(skus: Iterable<string>): void;
  /**
   * Changes the delays (and, when given, messagesPerSecond) for feeds not yet started; a feed in
   * progress keeps its start time but ends by the new processing time.
   */
  setFeedDelays(queueDelayMs: number, processingDelayMs: number, messagesPerSecond?: number): void;
  feeds(): SandboxFeedView[];
  /** Moves feeds whose delays elapsed (requests do this anyway). */
  advanceFeeds(): void;
}

interface StoredDocument {
  id: string;
  contentType: string;
  bytes: Buffer | null;
  compression?: 'GZIP';
}

interface StoredFeed {
  feedId: string;
  app: string;
  feedType: string;
  marketplaceIds: string[];
  inputFeedDocumentId: string;
  document: unknown;
  /** Messages in the document (0 when it has none or is not a feed). */
  messages: number;
  status: SandboxFeedStatus;
  createdAt: number;
  startedAt?: number;
  endedAt?: number;
  resultFeedDocumentId?: string;
}

interface ReportIssue {
  messageId?: number;
  sku?: string;
  code: string;
  severity: 'ERROR' | 'WARNING' | 'INFO';
  message: string;
  attributeName?: string;
}

interface Reply {
  status: number;
  body: unknown;
  rate?: FeedsOperation;
}

export function installFeedsApi(
  app: FastifyInstance,
  ctx: FeedsSandboxContext,
  opts: FeedsSandboxOptions = {},
): FeedsSandboxControl {
  const { clock } = ctx;
  let queueDelayMs = opts.queueDelayMs ?? 1000;
  let processingDelayMs = opts.processingDelayMs ?? 2000;
  let messagesPerSecond = checkedRate(opts.messagesPerSecond ?? Number.POSITIVE_INFINITY);
  const submissionLimit = (): { max: number; windowMs: number } =>
    opts.submissions ?? {
      max: LISTINGS_FEED_SUBMISSIONS.max,
      windowMs: LISTINGS_FEED_SUBMISSIONS.windowMs / ctx.rateScale(),
    };
  const documents = new Map<string, StoredDocument>();
  const feeds = new Map<string, StoredFeed>();
  /** Per app: its IN_QUEUE and IN_PROGRESS feeds, in creation order (DONE feeds are a prefix). */
  const unfinished = new Map<string, StoredFeed[]>();
  /** Per app: when its last DONE feed ended. */
  const lastEnd = new Map<string, number>();
  const submissions = new Map<string, number[]>();
  const failing = new Set<string>();
  let stalled = false;
  /** When the last stall was lifted: held feeds end then (not earlier). */
  let resumedAt = Number.NEGATIVE_INFINITY;
  let feedSeq = 50_000_000_000;
  const urlKey = randomBytes(32);

  function sign(id: string, expires: number): string {
    return createHmac('sha256', urlKey).update(`${id}\n${expires}`).digest('hex');
  }

  function presigned(id: string): string {
    const expires = clock.now() + DOCUMENT_URL_TTL_MS;
    const qs = new URLSearchParams({
      'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
      'X-Amz-Expires': String(DOCUMENT_URL_TTL_MS / 1000),
      'X-Amz-Date': String(expires),
      'X-Amz-Signature': sign(id, expires),
    });
    return `${ctx.baseUrl()}${SANDBOX_DOCUMENT_PATH}/${encodeURIComponent(id)}?${qs.toString()}`;
  }

  function newDocumentId(): string {
    return `amzn1.tortuga.4.eu.${randomUUID()}.T${Math.floor(clock.now() / 1000)}`;
  }

  // Feed lifecycle ------------------------------------------------------------------------------
  /** When a feed that started at `start` is done (before any stall). */
  function endOf(f: StoredFeed, start: number): number {
    const perMessage = Number.isFinite(messagesPerSecond) ? (f.messages * 1000) / messagesPerSecond : 0;
    return Math.max(start + processingDelayMs + perMessage, resumedAt);
  }

  /**
   * Moves every app's feeds to the status their times give at `clock.now()`: one after another,
   * each starting when it is due and the previous one has ended. Feeds that end here are processed
   * in the order of their end times.
   */
  function advance(): void {
    const now = clock.now();
    const ended: StoredFeed[] = [];
    for (const [app, queue] of unfinished) {
      let previousEnd = lastEnd.get(app) ?? Number.NEGATIVE_INFINITY;
      let done = 0;
      for (const f of queue) {
        if (f.status === 'IN_QUEUE') {
          const start = Math.max(f.createdAt + queueDelayMs, previousEnd);
          if (now < start) break;
          f.status = 'IN_PROGRESS';
          f.startedAt = start;
        }
        const end = endOf(f, f.startedAt ?? now);
        // Stalled: stays IN_PROGRESS, and the app's later feeds wait behind it.
        if (now < end || stalled) break;
        f.status = 'DONE';
        f.endedAt = end;
        ended.push(f);
        previousEnd = end;
        done++;
      }
      if (done === 0) continue;
      lastEnd.set(app, previousEnd);
      if (done === queue.length) unfinished.delete(app);
      else queue.splice(0, done);
    }
    ended.sort((a, b) => (a.endedAt ?? 0) - (b.endedAt ?? 0));
    for (const f of ended) processFeed(f);
  }

  /** Validates every message, queues the accepted ones, stores the processing report. */
  function processFeed(f: StoredFeed): void {
    const other = ctx.feedTypes?.[f.feedType];
    if (f.feedType !== 'JSON_LISTINGS_FEED' && other && Buffer.isBuffer(f.document)) {
      const report = other.process(f.document, f.feedId, f.app);
      const id = newDocumentId();
      documents.set(id, {
        id,
        contentType: report.contentType,
        bytes: gzipSync(report.bytes),
        compression: 'GZIP',
      });
      f.resultFeedDocumentId = id;
      return;
    }
    const doc = isObject(f.document) ? f.document : {};
    const header = isObject(doc.header) ? doc.header : {};
    const messages = Array.isArray(doc.messages) ? doc.messages : [];
    const sellerId = typeof header.sellerId === 'string' ? header.sellerId : '';
    const issues: ReportIssue[] = [];
    let accepted = 0;
    let invalid = 0;
    if (header.version !== '2.0' || sellerId === '') {
      issues.push({
        code: '4002006',
        severity: 'ERROR',
        message:
          header.version !== '2.0'
            ? `The feed header version '${String(header.version)}' is not supported; use '2.0'.`
            : 'The feed header sellerId is missing.',
      });
      invalid = messages.length;
    } else {
      const seen = new Set<number>();
      for (const raw of messages) {
        const m = isObject(raw) ? raw : {};
        const messageId =
          typeof m.messageId === 'number' && Number.isInteger(m.messageId) ? m.messageId : undefined;
        const sku = typeof m.sku === 'string' ? m.sku : undefined;
        const own = validateMessage(m, messageId, seen);
        if (messageId !== undefined) seen.add(messageId);
        if (sku !== undefined && failing.has(sku)) {
          own.push({
            code: '5001',
            severity: 'ERROR',
            message: 'An internal error occurred processing this message.',
          });
        }
        const errors = own.some((i) => i.severity === 'ERROR');
        for (const i of own) {
          const r: ReportIssue = { code: i.code, severity: i.severity, message: i.message };
          if (messageId !== undefined) r.messageId = messageId;
          if (sku !== undefined) r.sku = sku;
          if (i.attributeNames?.[0] !== undefined) r.attributeName = i.attributeNames[0];
          issues.push(r);
        }
        if (errors || sku === undefined) {
          invalid++;
          continue;
        }
        accepted++;
        ctx.enqueue(toChange(sellerId, sku, m));
      }
    }
    const report = {
      header: { sellerId, version: '2.0', feedId: f.feedId },
      issues,
      summary: {
        errors: issues.filter((i) => i.severity === 'ERROR').length,
        warnings: issues.filter((i) => i.severity === 'WARNING').length,
        messagesProcessed: messages.length,
        messagesAccepted: accepted,
        messagesInvalid: invalid,
      },
    };
    const id = newDocumentId();
    documents.set(id, {
      id,
      contentType: 'application/json; charset=UTF-8',
      bytes: gzipSync(Buffer.from(JSON.stringify(report), 'utf8')),
      compression: 'GZIP',
    });
    f.resultFeedDocumentId = id;
  }

  function validateMessage(m: Record<string, unknown>, messageId: number | undefined, seen: Set<number>) {
    const issues: FeedsSandboxIssue[] = [];
    const schemaError = (message: string): FeedsSandboxIssue => ({
      code: '4002008',
      severity: 'ERROR',
      message,
    });
    if (messageId === undefined || messageId < 1 || messageId > 2_147_483_647) {
      issues.push(schemaError('messageId must be an integer between 1 and 2147483647.'));
    } else if (seen.has(messageId)) {
      issues.push(schemaError(`messageId ${messageId} is not unique within the feed.`));
    }
    if (typeof m.sku !== 'string' || m.sku === '') issues.push(schemaError('sku is required.'));
    switch (m.operationType) {
      case 'DELETE':
        break;
      case 'PATCH':
        if (typeof m.productType !== 'string') issues.push(schemaError('productType is required for PATCH.'));
        else issues.push(...ctx.validateProductType(m.productType));
        if (
          !Array.isArray(m.patches) ||
          m.patches.length === 0 ||
          !m.patches.every((p) => isObject(p) && typeof p.op === 'string' && typeof p.path === 'string')
        ) {
          issues.push(schemaError('patches must be a non-empty array of {op, path, value}.'));
        } else {
          for (const p of m.patches as FeedsSandboxPatch[]) issues.push(...ctx.validatePatch(p));
        }
        break;
      case 'UPDATE':
      case 'PARTIAL_UPDATE':
        if (typeof m.productType !== 'string') {
          issues.push(schemaError(`productType is required for ${m.operationType}.`));
        } else {
          issues.push(...ctx.validateProductType(m.productType));
        }
        if (!isObject(m.attributes)) {
          issues.push(schemaError('attributes are required.'));
        } else {
          for (const [name, value] of Object.entries(m.attributes)) {
            if (!Array.isArray(value)) issues.push(schemaError(`attribute ${name} must be an array.`));
            else issues.push(...ctx.validateAttribute(name, value));
          }
        }
        break;
      default:
        issues.push(
          schemaError(
            `operationType '${String(m.operationType)}' is not one of UPDATE, PARTIAL_UPDATE, PATCH, DELETE.`,
          ),
        );
    }
    return issues;
  }

  function toChange(sellerId: string, sku: string, m: Record<string, unknown>): FeedsSandboxChange {
    const productType = typeof m.productType === 'string' ? m.productType : undefined;
    const base = { sellerId, sku, ...(productType === undefined ? {} : { productType }) };
    switch (m.operationType) {
      case 'DELETE':
        return { ...base, kind: 'delete' };
      case 'UPDATE':
        return { ...base, kind: 'put', attributes: m.attributes as Record<string, unknown[]> };
      case 'PARTIAL_UPDATE':
        return {
          ...base,
          kind: 'patch',
          patches: Object.entries(m.attributes as Record<string, unknown[]>).map(([name, value]) => ({
            op: 'replace',
            path: `/attributes/${name}`,
            value,
          })),
        };
      default:
        return { ...base, kind: 'patch', patches: m.patches as FeedsSandboxPatch[] };
    }
  }

  // HTTP ----------------------------------------------------------------------------------------
  type Req = FastifyRequest<{
    Params: Record<string, string>;
    Querystring: Record<string, string | undefined>;
  }>;

  function api(op: FeedsOperation, handler: (req: Req, appId: string) => Reply) {
    return async (req: Req, reply: FastifyReply) => {
      advance();
      const send = (r: Reply) => {
        void reply.code(r.status).header('x-amzn-RequestId', randomUUID());
        if (r.rate) void reply.header('x-amzn-RateLimit-Limit', ctx.rateHeader(r.rate));
        return reply.send(r.body);
      };
      const auth = ctx.authorize(req.headers['x-amz-access-token']);
      if (!auth.ok) {
        return send({
          status: 403,
          body: errorList('Unauthorized', 'Access to requested resource is denied.', auth.details),
        });
      }
      if (!ctx.takeToken(op, auth.app)) return send({ status: 429, body: ctx.quotaBody() });
      const r = handler(req, auth.app);
      return send(r.status === 429 ? r : { ...r, rate: op });
    };
  }

  app.post(
    `${FEEDS_PATH}/documents`,
    api('createFeedDocument', (req) => {
      const body = req.body as unknown;
      if (!isObject(body) || typeof body.contentType !== 'string' || body.contentType === '') {
        return badRequest('contentType is required.');
      }
      const id = newDocumentId();
      documents.set(id, { id, contentType: body.contentType, bytes: null });
      return { status: 201, body: { feedDocumentId: id, url: presigned(id) } };
    }),
  );

  app.get(
    `${FEEDS_PATH}/documents/:feedDocumentId`,
    api('getFeedDocument', (req) => {
      const doc = documents.get(req.params.feedDocumentId ?? '');
      if (!doc) return notFound('feedDocumentId');
      const body: Record<string, unknown> = { feedDocumentId: doc.id, url: presigned(doc.id) };
      if (doc.compression) body.compressionAlgorithm = doc.compression;
      return { status: 200, body };
    }),
  );

  app.post(
    `${FEEDS_PATH}/feeds`,
    api('createFeed', (req, appId) => {
      const body = req.body as unknown;
      if (
        !isObject(body) ||
        typeof body.feedType !== 'string' ||
        typeof body.inputFeedDocumentId !== 'string' ||
        !Array.isArray(body.marketplaceIds) ||
        body.marketplaceIds.length === 0 ||
        body.marketplaceIds.length > 25 ||
        !body.marketplaceIds.every((m) => typeof m === 'string')
      ) {
        return badRequest('Request has missing or invalid parameters and cannot be parsed.');
      }
      const other = body.feedType === 'JSON_LISTINGS_FEED' ? undefined : ctx.feedTypes?.[body.feedType];
      if (body.feedType !== 'JSON_LISTINGS_FEED' && !other) {
        const known = ['JSON_LISTINGS_FEED', ...Object.keys(ctx.feedTypes ?? {})].join(', ');
        return badRequest(`The sandbox supports feedType ${known} only, not '${body.feedType}'.`);
      }
      const doc = documents.get(body.inputFeedDocumentId);
      if (!doc || doc.bytes === null) {
        return badRequest(
          `inputFeedDocumentId '${body.inputFeedDocumentId}' does not exist or was not uploaded.`,
        );
      }
      if (other) return createOtherFeed(body.feedType, body.marketplaceIds as string[], doc, other, appId);
      let parsed: unknown;
      try {
        parsed = JSON.parse(doc.bytes.toString('utf8'));
      } catch {
        parsed = undefined;
      }
      const count = isObject(parsed) && Array.isArray(parsed.messages) ? parsed.messages.length : 0;
      if (count > MAX_MESSAGES) {
        return badRequest(`The feed has ${count} messages; at most ${MAX_MESSAGES} are allowed.`);
      }
      const now = clock.now();
      const limit = submissionLimit();
      const recent = (submissions.get(appId) ?? []).filter((t) => t > now - limit.windowMs);
      if (recent.length >= limit.max) {
        submissions.set(appId, recent);
        return { status: 429, body: ctx.quotaBody() };
      }
      recent.push(now);
      submissions.set(appId, recent);
      const feedId = String(++feedSeq);
      const valid = isObject(parsed) && Array.isArray(parsed.messages) && count > 0;
      const feed: StoredFeed = {
        feedId,
        app: appId,
        feedType: body.feedType,
        marketplaceIds: body.marketplaceIds as string[],
        inputFeedDocumentId: doc.id,
        document: parsed,
        messages: valid ? count : 0,
        status: valid ? 'IN_QUEUE' : 'FATAL',
        createdAt: now,
      };
      if (!valid) {
        feed.startedAt = now;
        feed.endedAt = now;
      } else {
        const queue = unfinished.get(appId);
        if (queue) queue.push(feed);
        else unfinished.set(appId, [feed]);
      }
      feeds.set(feedId, feed);
      return { status: 202, body: { feedId } };
    }),
  );

  /** A feed of another type: same queue and delays; no JSON_LISTINGS_FEED submission limit. */
  function createOtherFeed(
    feedType: string,
    marketplaceIds: string[],
    doc: StoredDocument,
    handler: SandboxFeedTypeHandler,
    appId: string,
  ): Reply {
    const bytes = doc.bytes ?? Buffer.alloc(0);
    const count = handler.count(bytes, doc.contentType) ?? 0;
    const now = clock.now();
    const feedId = String(++feedSeq);
    const feed: StoredFeed = {
      feedId,
      app: appId,
      feedType,
      marketplaceIds,
      inputFeedDocumentId: doc.id,
      document: bytes,
      messages: count,
      status: count > 0 ? 'IN_QUEUE' : 'FATAL',
      createdAt: now,
    };
    if (count <= 0) {
      feed.startedAt = now;
      feed.endedAt = now;
    } else {
      const queue = unfinished.get(appId);
      if (queue) queue.push(feed);
      else unfinished.set(appId, [feed]);
    }
    feeds.set(feedId, feed);
    return { status: 202, body: { feedId } };
  }

  app.get(
    `${FEEDS_PATH}/feeds/:feedId`,
    api('getFeed', (req, appId) => {
      const f = feeds.get(req.params.feedId ?? '');
      if (!f || f.app !== appId) return notFound('feedId');
      return { status: 200, body: feedBody(f) };
    }),
  );

  app.delete(
    `${FEEDS_PATH}/feeds/:feedId`,
    api('cancelFeed', (req, appId) => {
      const f = feeds.get(req.params.feedId ?? '');
      if (!f || f.app !== appId) return notFound('feedId');
      if (f.status !== 'IN_QUEUE')
        return badRequest(`The feed is ${f.status}; only IN_QUEUE feeds can be cancelled.`);
      f.status = 'CANCELLED';
      const queue = unfinished.get(appId) ?? [];
      queue.splice(queue.indexOf(f), 1);
      if (queue.length === 0) unfinished.delete(appId);
      return { status: 200, body: {} };
    }),
  );

  function feedBody(f: StoredFeed) {
    const body: Record<string, unknown> = {
      feedId: f.feedId,
      feedType: f.feedType,
      marketplaceIds: f.marketplaceIds,
      createdTime: iso(f.createdAt),
      processingStatus: f.status,
    };
    if (f.startedAt !== undefined) body.processingStartTime = iso(f.startedAt);
    if (f.endedAt !== undefined) body.processingEndTime = iso(f.endedAt);
    if (f.resultFeedDocumentId !== undefined) body.resultFeedDocumentId = f.resultFeedDocumentId;
    return body;
  }

  // Presigned document URLs: any body as raw bytes (own content-type parsers, encapsulated).
  void app.register(async (s3) => {
    s3.removeAllContentTypeParsers();
    s3.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 100 * 1024 * 1024 }, (_req, body, done) => {
      done(null, body);
    });
    type DocReq = FastifyRequest<{ Params: { id: string }; Querystring: Record<string, string | undefined> }>;
    const check = (
      req: DocReq,
    ): { doc: StoredDocument } | { status: number; code: string; message: string } => {
      const doc = documents.get(req.params.id);
      const expires = Number(req.query['X-Amz-Date']);
      if (!doc) return { status: 404, code: 'NoSuchKey', message: 'The specified key does not exist.' };
      if (!Number.isFinite(expires) || req.query['X-Amz-Signature'] !== sign(doc.id, expires)) {
        return {
          status: 403,
          code: 'SignatureDoesNotMatch',
          message: 'The request signature does not match.',
        };
      }
      if (clock.now() >= expires)
        return { status: 403, code: 'AccessDenied', message: 'Request has expired' };
      return { doc };
    };
    const s3Error = (reply: FastifyReply, e: { status: number; code: string; message: string }) =>
      reply
        .code(e.status)
        .header('content-type', 'application/xml')
        .send(
          `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${e.code}</Code><Message>${e.message}</Message></Error>`,
        );

    s3.put(`${SANDBOX_DOCUMENT_PATH}/:id`, async (req: DocReq, reply) => {
      const r = check(req);
      if (!('doc' in r)) return s3Error(reply, r);
      if (r.doc.compression !== undefined) {
        return s3Error(reply, {
          status: 403,
          code: 'AccessDenied',
          message: 'Result documents are read-only.',
        });
      }
      if (req.headers['content-type'] !== r.doc.contentType) {
        return s3Error(reply, {
          status: 403,
          code: 'SignatureDoesNotMatch',
          message: `Content-Type must be '${r.doc.contentType}' as given to createFeedDocument.`,
        });
      }
      r.doc.bytes = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      return reply.code(200).header('etag', `"${randomUUID()}"`).send('');
    });

    s3.get(`${SANDBOX_DOCUMENT_PATH}/:id`, async (req: DocReq, reply) => {
      const r = check(req);
      if (!('doc' in r)) return s3Error(reply, r);
      if (r.doc.bytes === null)
        return s3Error(reply, { status: 404, code: 'NoSuchKey', message: 'Not uploaded.' });
      return reply.code(200).header('content-type', r.doc.contentType).send(r.doc.bytes);
    });
  });

  return {
    stallFeeds: (s) => {
      // What was due before this moment happens first, so statuses do not depend on polling.
      advance();
      if (stalled && !s) resumedAt = clock.now();
      stalled = s;
    },
    failFeedMessages: (skus) => {
      for (const s of skus) failing.add(s);
    },
    setFeedDelays: (q, p, mps) => {
      advance();
      queueDelayMs = q;
      processingDelayMs = p;
      if (mps !== undefined) messagesPerSecond = checkedRate(mps);
    },
    feeds: () =>
      [...feeds.values()].map((f) => {
        const v: SandboxFeedView = {
          feedId: f.feedId,
          status: f.status,
          messages: f.messages,
        };
        if (f.resultFeedDocumentId !== undefined) v.resultFeedDocumentId = f.resultFeedDocumentId;
        return v;
      }),
    advanceFeeds: advance,
  };
}

function checkedRate(messagesPerSecond: number): number {
  if (!(messagesPerSecond > 0)) {
    throw new RangeError(`messagesPerSecond must be > 0 (or Infinity), got ${messagesPerSecond}`);
  }
  return messagesPerSecond;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function errorList(code: string, message: string, details = '') {
  return { errors: [{ code, message, details }] };
}

function badRequest(message: string): Reply {
  return { status: 400, body: errorList('InvalidInput', message) };
}

function notFound(what: string): Reply {
  return { status: 404, body: errorList('NotFound', `The ${what} was not found.`) };
}
