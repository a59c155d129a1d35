/**
 * A local Amazon SP-API for tests and demos (reference §1.10): Login with Amazon and the Listings
 * Items API 2021-08-01, over real HTTP on 127.0.0.1.
 *
 * Emulated: LWA refresh-token exchange (form or JSON) and its errors; the three 403 variants;
 * token buckets per (operation, seller, app) refilled continuously from the injected clock, 429
 * QuotaExceeded without `x-amzn-RateLimit-Limit`; validation to INVALID with issues; ACCEPTED
 * changes applied only after `applyDelayMs` (§4 F7), in submission order, stock before price
 * within one submission (§4 F8); a PATCH on an unknown SKU is ACCEPTED and creates an incomplete,
 * non-buyable offer (what Amazon does, selling-partner-api-docs#3748).
 *
 * Access tokens are signed rather than stored, so a restarted sandbox still accepts the tokens it
 * issued before (a demo killed with SIGKILL keeps working).
 */
import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Clock } from '../../core/clock.js';
import { systemClock } from '../../core/clock.js';
import type { RateLimit } from '../limits.js';
import {
  isObject,
  listen,
  readStateFile,
  type SandboxBucket,
  takeToken as take,
  writeStateFile,
} from '../sandbox.js';
import { AMAZON_RATE_LIMITS, type FeedsOperation, type ListingsOperation } from './limits.js';
import type { OrdersOperation } from './orders.js';
import { type FeedsSandboxControl, type FeedsSandboxOptions, installFeedsApi } from './sandbox-feeds.js';
import {
  installOrdersApi,
  ORDER_ACKNOWLEDGEMENT_FEED_TYPE,
  type OrdersSandboxControl,
  type OrdersSandboxOptions,
} from './sandbox-orders.js';
import { LISTINGS_ITEMS_PATH } from './types.js';

/** Product types in the OMS sample feed, Amazon's examples, and `PRODUCT` (offer-only PATCH). */
export const DEFAULT_PRODUCT_TYPES: readonly string[] = [
  'AIR_CONDITIONER',
  'CELLULAR_PHONE',
  'HEADPHONES',
  'KITCHEN_APPLIANCE',
  'NOTEBOOK_COMPUTER',
  'REFRIGERATOR',
  'TELEVISION',
  'WASHER',
  'LUGGAGE',
  'PRODUCT',
];

export const SANDBOX_CREDENTIALS = {
  clientId: 'amzn1.application-oa2-client.marketbridge-sandbox',
  clientSecret: 'amzn1.oa2-cs.v1.sandbox-secret',
  refreshToken: 'Atzr|marketbridge-sandbox-refresh-token',
  sellerId: 'A2SANDBOXSELLER',
} as const;

/** The environment that points marketbridge at a sandbox listening on `url` (see loadConfig). */
export function sandboxEnv(url: string, rateScale = 1): Record<string, string> {
  return {
    AMAZON_ENDPOINT: url,
    AMAZON_LWA_ENDPOINT: url,
    AMAZON_CLIENT_ID: SANDBOX_CREDENTIALS.clientId,
    AMAZON_CLIENT_SECRET: SANDBOX_CREDENTIALS.clientSecret,
    AMAZON_REFRESH_TOKEN: SANDBOX_CREDENTIALS.refreshToken,
    AMAZON_SELLER_ID: SANDBOX_CREDENTIALS.sellerId,
    AMAZON_RATE_SCALE: String(rateScale),
  };
}

export interface AmazonSandboxOptions {
  clock?: Clock;
  host?: string;
  clientId?: string;
  clientSecret?: string;
  refreshToken?: string;
  /** `expires_in` of issued access tokens. Default 3600. */
  tokenTtlSeconds?: number;
  /**
   * Multiplies every published rate (the header then shows the scaled rate) and divides the
   * JSON_LISTINGS_FEED submission window (5 per 300000 / rateScale ms). Default 1.
   */
  rateScale?: number;
  /** Per-operation limits replacing the published ones (before scaling). */
  rateLimits?: Partial<Record<ListingsOperation, RateLimit>>;
  /** Time between ACCEPTED and visible on GET. Default 1000 ms. */
  applyDelayMs?: number;
  productTypes?: Iterable<string>;
  /** Seeds the choice between the two observed 429 bodies. Default 1. */
  seed?: number;
  /** Persist listings and pending changes here (atomic rewrite on every change). */
  stateFile?: string;
  /** 'accept' (Amazon's behaviour, default) or 'invalid' for a PATCH on an unknown SKU. */
  patchUnknownSku?: 'accept' | 'invalid';
  /** Real-time poll that applies due changes while no request arrives; 0 disables. Default 200 ms. */
  applyTickMs?: number;
  bodyLimitBytes?: number;
  /**
   * Feeds API: IN_QUEUE/IN_PROGRESS delays, per-message processing rate and the JSON_LISTINGS_FEED
   * submission limit.
   */
  feeds?: FeedsSandboxOptions;
  /**
   * Shorthand for `feeds.messagesPerSecond` (which wins when both are given): a feed takes
   * messages × 1000 / feedMessagesPerSecond ms on top of its processing delay. Default Infinity.
   */
  feedMessagesPerSecond?: number;
  /** Orders: Pending → Unshipped delay, ship-by window, pagination token lifetime. */
  orders?: OrdersSandboxOptions;
}

export interface OperationCounters {
  calls: number;
  ok: number;
  throttled: number;
  unauthorized: number;
  clientErrors: number;
  serverErrors: number;
}

export type SandboxOperation = ListingsOperation | 'lwaToken';

export interface ListingSnapshot {
  sellerId: string;
  exists: boolean;
  price?: number;
  quantity?: number;
  buyable: boolean;
  /** Accepted changes not yet applied. */
  pending: number;
}

export interface SandboxRequestLog {
  at: number;
  operation: SandboxOperation;
  sku: string | null;
  status: number;
}

export interface AmazonSandboxControl extends FeedsSandboxControl, OrdersSandboxControl {
  counters(): Record<SandboxOperation, OperationCounters>;
  resetCounters(): void;
  /** Every request, oldest first (bounded to the last 10,000). */
  requests(): SandboxRequestLog[];
  /** The next `n` API requests (of `op`, or any) get 429. */
  throttleNext(n: number, op?: ListingsOperation): void;
  /** A 429 storm: every API request (of `op`, or any) gets 429 for `ms`. */
  throttleFor(ms: number, op?: ListingsOperation): void;
  /** The next `n` API requests (of `op`, or any) get `status` (5xx). */
  failNext(n: number, status?: number, op?: ListingsOperation): void;
  /** The next `n` LWA token requests get `status` (5xx). */
  failLwaNext(n: number, status?: number): void;
  /** Every access token issued so far is now expired (403 "…has expired."). */
  expireTokens(): void;
  /** The refresh token is revoked: LWA answers invalid_grant. */
  revokeRefreshToken(): void;
  /** Rotates the LWA client secret: the old one gets invalid_client. */
  rotateClientSecret(newSecret: string): void;
  /** Changes an operation's limit (before scaling); the header advertises it (§4 F3). */
  setRateLimit(op: ListingsOperation, limit: RateLimit): void;
  /** Effective rate (after scaling) of an operation. */
  rate(op: ListingsOperation): number;
  /**
   * Changes the rate scale from now on: bucket refill rates, the advertised x-amzn-RateLimit-Limit
   * and the default JSON_LISTINGS_FEED submission window. Buckets keep the tokens they have now
   * (refilled at the old rate up to now, capped at burst).
   */
  setRateScale(scale: number): void;
  setApplyDelay(ms: number): void;
  /** Applies changes that are due now (requests and snapshot() do this anyway). */
  applyDue(): number;
  /** Listings by SKU (applies due changes first). */
  snapshot(sellerId?: string): Record<string, ListingSnapshot>;
  /** One listing's offer price as buyers see it (applies due changes first); cheap, unlike snapshot(). */
  priceOf(sku: string, sellerId?: string): number | undefined;
  /** Accepted changes not yet applied. */
  pendingCount(): number;
}

export interface AmazonSandbox {
  /** Base URL for both `endpoint` and `lwaEndpoint`; only valid after start(). */
  readonly url: string;
  start(port?: number): Promise<string>;
  stop(): Promise<void>;
  readonly control: AmazonSandboxControl;
}

// ---------------------------------------------------------------------------------------------

type Attributes = Record<string, unknown[]>;

interface StoredListing {
  sellerId: string;
  sku: string;
  productType: string;
  attributes: Attributes;
  asin: string;
  createdAt: number;
  updatedAt: number;
}

interface SandboxPatch {
  op: string;
  path: string;
  value?: unknown[];
}

interface PendingChange {
  seq: number;
  submissionId: string;
  sellerId: string;
  sku: string;
  kind: 'put' | 'patch' | 'delete';
  productType?: string;
  attributes?: Attributes;
  patches?: SandboxPatch[];
  acceptedAt: number;
  applyAt: number;
}

interface PersistedState {
  version: 1;
  seq: number;
  listings: StoredListing[];
  pending: PendingChange[];
}

interface SandboxIssue {
  code: string;
  message: string;
  severity: 'ERROR' | 'WARNING' | 'INFO';
  categories: string[];
  attributeNames?: string[];
}

interface Reply {
  status: number;
  body: unknown;
}

const OPS: readonly ListingsOperation[] = [
  'getListingsItem',
  'putListingsItem',
  'patchListingsItem',
  'deleteListingsItem',
];
const GET_INCLUDED_DATA = new Set([
  'summaries',
  'attributes',
  'issues',
  'offers',
  'fulfillmentAvailability',
  'procurement',
  'relationships',
  'productTypes',
]);
const WRITE_INCLUDED_DATA = new Set(['identifiers', 'issues']);
const DENIED = 'Access to requested resource is denied.';
const QUOTA = 'You exceeded your quota for the requested resource.';
const REQUEST_LOG_MAX = 10_000;

export function createAmazonSandbox(opts: AmazonSandboxOptions = {}): AmazonSandbox {
  const clock = opts.clock ?? systemClock;
  const clientId = opts.clientId ?? SANDBOX_CREDENTIALS.clientId;
  let clientSecret = opts.clientSecret ?? SANDBOX_CREDENTIALS.clientSecret;
  const refreshToken = opts.refreshToken ?? SANDBOX_CREDENTIALS.refreshToken;
  let refreshTokenRevoked = false;
  const tokenTtlSeconds = opts.tokenTtlSeconds ?? 3600;
  let rateScale = opts.rateScale ?? 1;
  const limits: Record<ListingsOperation, RateLimit> = {
    getListingsItem: opts.rateLimits?.getListingsItem ?? AMAZON_RATE_LIMITS.getListingsItem,
    putListingsItem: opts.rateLimits?.putListingsItem ?? AMAZON_RATE_LIMITS.putListingsItem,
    patchListingsItem: opts.rateLimits?.patchListingsItem ?? AMAZON_RATE_LIMITS.patchListingsItem,
    deleteListingsItem: opts.rateLimits?.deleteListingsItem ?? AMAZON_RATE_LIMITS.deleteListingsItem,
  };
  let applyDelayMs = opts.applyDelayMs ?? 1000;
  const productTypes = new Set(opts.productTypes ?? DEFAULT_PRODUCT_TYPES);
  const random = mulberry32(opts.seed ?? 1);
  const signingKey = createHash('sha256').update(`marketbridge-sandbox:${clientId}`).digest();

  // State ---------------------------------------------------------------------------------------
  const listings = new Map<string, StoredListing>();
  let pending: PendingChange[] = [];
  let seq = 0;
  let tokenGeneration = 0;
  const buckets = new Map<string, SandboxBucket>();
  const forcedThrottle: { op: ListingsOperation | undefined; remaining: number }[] = [];
  const storms: { op: ListingsOperation | undefined; until: number }[] = [];
  const forcedFailures: { op: ListingsOperation | undefined; remaining: number; status: number }[] = [];
  const lwaFailures: { remaining: number; status: number }[] = [];
  let counters = freshCounters();
  const log: SandboxRequestLog[] = [];

  const key = (sellerId: string, sku: string) => `${sellerId}\u0000${sku}`;
  const effectiveRate = (op: ListingsOperation) => limits[op].rate * rateScale;

  function record(op: SandboxOperation, sku: string | null, status: number): void {
    const c = counters[op];
    c.calls++;
    if (status === 429) c.throttled++;
    else if (status === 401 || status === 403) c.unauthorized++;
    else if (status >= 500) c.serverErrors++;
    else if (status >= 400 && !(status === 404 && op === 'getListingsItem')) c.clientErrors++;
    else c.ok++;
    log.push({ at: clock.now(), operation: op, sku, status });
    if (log.length > REQUEST_LOG_MAX) log.splice(0, log.length - REQUEST_LOG_MAX);
  }

  // Persistence ---------------------------------------------------------------------------------
  function persist(): void {
    if (!opts.stateFile) return;
    const state: PersistedState = { version: 1, seq, listings: [...listings.values()], pending };
    writeStateFile(opts.stateFile, state);
  }

  function load(): void {
    const state = opts.stateFile ? readStateFile<PersistedState>(opts.stateFile) : undefined;
    if (!state) return;
    listings.clear();
    for (const l of state.listings) listings.set(key(l.sellerId, l.sku), l);
    pending = [...state.pending].sort((a, b) => a.seq - b.seq);
    seq = state.seq;
  }

  // Applying accepted changes -------------------------------------------------------------------
  /** Applies due changes strictly in submission order; returns how many were applied. */
  function applyDue(): number {
    feedsControl?.advanceFeeds();
    const now = clock.now();
    let applied = 0;
    while (pending.length > 0 && pending[0]!.applyAt <= now) {
      applyChange(pending.shift()!);
      applied++;
    }
    if (applied > 0) persist();
    return applied;
  }

  function applyChange(c: PendingChange): void {
    const k = key(c.sellerId, c.sku);
    const existing = listings.get(k);
    if (c.kind === 'delete') {
      listings.delete(k);
      return;
    }
    if (c.kind === 'put') {
      listings.set(k, {
        sellerId: c.sellerId,
        sku: c.sku,
        productType: c.productType ?? 'PRODUCT',
        attributes: c.attributes ?? {},
        asin: existing?.asin ?? fakeAsin(c.sellerId, c.sku),
        createdAt: existing?.createdAt ?? c.applyAt,
        updatedAt: c.applyAt,
      });
      return;
    }
    const listing: StoredListing = existing ?? {
      sellerId: c.sellerId,
      sku: c.sku,
      productType: c.productType ?? 'PRODUCT',
      attributes: {},
      asin: fakeAsin(c.sellerId, c.sku),
      createdAt: c.applyAt,
      updatedAt: c.applyAt,
    };
    // Within one submission, stock lands before price (§4 F8, models#4901).
    const ordered = [...(c.patches ?? [])].sort(
      (a, b) => stockFirst(attributeName(a.path)) - stockFirst(attributeName(b.path)),
    );
    for (const p of ordered) applyPatch(listing.attributes, p);
    listing.updatedAt = c.applyAt;
    listings.set(k, listing);
  }

  // Token buckets -------------------------------------------------------------------------------
  function takeToken(op: ListingsOperation, sellerId: string, app: string): boolean {
    return take(buckets, `${op}|${sellerId}|${app}`, effectiveRate(op), limits[op].burst, clock.now()) === 0;
  }

  /** Unscaled limit of a bucket's operation (Listings: possibly overridden; Feeds: published). */
  function bucketLimit(op: string): RateLimit | undefined {
    if ((OPS as readonly string[]).includes(op)) return limits[op as ListingsOperation];
    return (AMAZON_RATE_LIMITS as Record<string, RateLimit>)[op];
  }

  function setRateScale(scale: number): void {
    const next = checkedScale(scale);
    const now = clock.now();
    // Settle every bucket at the old rate up to now, so the new rate only counts from now on.
    for (const [k, b] of buckets) {
      const limit = bucketLimit(k.slice(0, k.indexOf('|')));
      if (!limit) continue;
      b.tokens = Math.min(
        limit.burst,
        b.tokens + (Math.max(0, now - b.last) * limit.rate * rateScale) / 1000,
      );
      b.last = Math.max(b.last, now);
    }
    rateScale = next;
  }

  function forcedThrottled(op: ListingsOperation): boolean {
    const now = clock.now();
    if (storms.some((s) => s.until > now && (s.op === undefined || s.op === op))) return true;
    const f = forcedThrottle.find((t) => t.remaining > 0 && (t.op === undefined || t.op === op));
    if (!f) return false;
    f.remaining--;
    return true;
  }

  function forcedFailure(op: ListingsOperation): number | null {
    const f = forcedFailures.find((t) => t.remaining > 0 && (t.op === undefined || t.op === op));
    if (!f) return null;
    f.remaining--;
    return f.status;
  }

  // Access tokens -------------------------------------------------------------------------------
  function issueToken(app: string): string {
    const payload = Buffer.from(
      JSON.stringify({
        c: app,
        e: clock.now() + tokenTtlSeconds * 1000,
        g: tokenGeneration,
        n: randomUUID(),
      }),
    ).toString('base64url');
    const sig = createHmac('sha256', signingKey).update(payload).digest('base64url');
    return `Atza|${payload}.${sig}`;
  }

  type TokenCheck = { ok: true; app: string } | { ok: false; details: string };

  function checkToken(header: string | string[] | undefined): TokenCheck {
    if (typeof header !== 'string' || header === '') {
      return { ok: false, details: 'Access token is missing in the request header.' };
    }
    const invalid = {
      ok: false as const,
      details: 'The access token you provided is revoked, malformed or invalid.',
    };
    const m = /^Atza\|([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(header);
    if (!m) return invalid;
    const expected = createHmac('sha256', signingKey).update(m[1]!).digest();
    const given = Buffer.from(m[2]!, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return invalid;
    let payload: { c?: unknown; e?: unknown; g?: unknown };
    try {
      payload = JSON.parse(Buffer.from(m[1]!, 'base64url').toString('utf8')) as typeof payload;
    } catch {
      return invalid;
    }
    if (typeof payload.c !== 'string' || typeof payload.e !== 'number' || typeof payload.g !== 'number') {
      return invalid;
    }
    if (clock.now() >= payload.e || payload.g < tokenGeneration) {
      return { ok: false, details: 'The access token you provided has expired.' };
    }
    return { ok: true, app: payload.c };
  }

  // HTTP ----------------------------------------------------------------------------------------
  const app: FastifyInstance = Fastify({ logger: false, bodyLimit: opts.bodyLimitBytes ?? 1024 * 1024 });

  // Only JSON (and form bodies for LWA): anything else is 415, as on Amazon.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(String(body))));
  });

  app.setErrorHandler((err: { statusCode?: number; message?: string }, _req, reply) => {
    const status = err.statusCode ?? 500;
    const code =
      status === 413
        ? 'RequestEntityTooLarge'
        : status === 415
          ? 'UnsupportedMediaType'
          : status < 500
            ? 'InvalidInput'
            : 'InternalFailure';
    void reply
      .code(status)
      .header('x-amzn-RequestId', randomUUID())
      .send({ errors: [{ code, message: err.message ?? 'error', details: '' }] });
  });

  app.setNotFoundHandler((_req, reply) => {
    void reply
      .code(404)
      .header('x-amzn-RequestId', randomUUID())
      .send({ errors: [{ code: 'NotFound', message: 'Resource not found.', details: '' }] });
  });

  app.post('/auth/o2/token', async (req, reply) => {
    const respond = (status: number, body: unknown) => {
      record('lwaToken', null, status);
      return reply.code(status).header('cache-control', 'no-store').send(body);
    };
    const fail = lwaFailures.find((f) => f.remaining > 0);
    if (fail) {
      fail.remaining--;
      return respond(fail.status, { error: 'server_error', error_description: 'Internal server error' });
    }
    const body = (typeof req.body === 'object' && req.body !== null ? req.body : {}) as Record<
      string,
      unknown
    >;
    if (body.grant_type !== 'refresh_token') {
      return respond(400, {
        error: 'invalid_request',
        error_description: 'The request has an invalid parameter : grant_type',
      });
    }
    if (typeof body.refresh_token !== 'string' || typeof body.client_id !== 'string') {
      return respond(400, {
        error: 'invalid_request',
        error_description: 'The request is missing a parameter',
      });
    }
    if (body.client_id !== clientId || body.client_secret !== clientSecret) {
      return respond(401, { error: 'invalid_client', error_description: 'Client authentication failed' });
    }
    if (body.refresh_token !== refreshToken || refreshTokenRevoked) {
      return respond(400, {
        error: 'invalid_grant',
        error_description: 'The request has an invalid grant parameter : refresh_token',
      });
    }
    return respond(200, {
      access_token: issueToken(clientId),
      refresh_token: refreshToken,
      token_type: 'bearer',
      expires_in: tokenTtlSeconds,
    });
  });

  type ItemRequest = FastifyRequest<{
    Params: { sellerId: string; sku: string };
    Querystring: Record<string, string | string[] | undefined>;
  }>;

  /** The pipeline every Listings request goes through before its handler. */
  function api(op: ListingsOperation, handler: (req: ItemRequest, marketplaceIds: string[]) => Reply) {
    return async (req: ItemRequest, reply: FastifyReply) => {
      applyDue();
      const { sellerId, sku } = req.params;
      const send = (r: Reply, withRate: boolean) => {
        record(op, sku, r.status);
        void reply.code(r.status).header('x-amzn-RequestId', randomUUID());
        if (withRate) void reply.header('x-amzn-RateLimit-Limit', formatRate(effectiveRate(op)));
        return reply.send(r.body);
      };
      const auth = checkToken(req.headers['x-amz-access-token']);
      if (!auth.ok) {
        return send({ status: 403, body: errorList('Unauthorized', DENIED, auth.details) }, false);
      }
      if (forcedThrottled(op) || !takeToken(op, sellerId, auth.app)) {
        return send({ status: 429, body: quotaBody(random) }, false);
      }
      const failure = forcedFailure(op);
      if (failure !== null) {
        const body =
          failure === 503
            ? errorList('ServiceUnavailable', 'Service temporarily unavailable. Please try again.')
            : errorList('InternalFailure', 'We encountered an internal error. Please try again.');
        return send({ status: failure, body }, false);
      }
      // `/items/SELLER/` matches the route with an empty SKU: there is no such listing (the router
      // already decoded the segments, so `%2E` arrives as the literal SKU '.').
      if (sellerId === '' || sku === '') {
        return send(badRequest(`Invalid ${sellerId === '' ? 'sellerId' : 'sku'}: must not be empty.`), true);
      }
      const marketplaceIds = csv(req.query.marketplaceIds);
      if (marketplaceIds.length === 0) {
        return send(badRequest('Missing required parameter: marketplaceIds.'), true);
      }
      if (op !== 'getListingsItem' && op !== 'patchListingsItem' && marketplaceIds.length > 1) {
        return send(badRequest('marketplaceIds accepts exactly one value for this operation.'), true);
      }
      return send(handler(req, marketplaceIds), true);
    };
  }

  const itemPath = `${LISTINGS_ITEMS_PATH}/:sellerId/:sku`;

  // Orders (2026-01-01 search/get, v0 confirmShipment); cancellations arrive as a feed (below).
  const ordersApi = installOrdersApi(
    app,
    {
      clock,
      authorize: checkToken,
      takeToken: (op: OrdersOperation, appId: string) =>
        take(
          buckets,
          `${op}|${appId}`,
          AMAZON_RATE_LIMITS[op].rate * rateScale,
          AMAZON_RATE_LIMITS[op].burst,
          clock.now(),
        ) === 0,
      rateHeader: (op: OrdersOperation) => formatRate(AMAZON_RATE_LIMITS[op].rate * rateScale),
      quotaBody: () => quotaBody(random),
    },
    opts.orders,
  );

  // Feeds API (bulk): accepted messages take the same queue and apply path as the Listings calls.
  const feedsControl: FeedsSandboxControl = installFeedsApi(
    app,
    {
      clock,
      baseUrl: () => {
        if (baseUrl === null) throw new Error('amazon sandbox: not started');
        return baseUrl;
      },
      authorize: checkToken,
      rateScale: () => rateScale,
      takeToken: (op: FeedsOperation, appId: string) =>
        take(
          buckets,
          `${op}|${appId}`,
          AMAZON_RATE_LIMITS[op].rate * rateScale,
          AMAZON_RATE_LIMITS[op].burst,
          clock.now(),
        ) === 0,
      rateHeader: (op: FeedsOperation) => formatRate(AMAZON_RATE_LIMITS[op].rate * rateScale),
      quotaBody: () => quotaBody(random),
      validateProductType,
      validatePatch,
      validateAttribute,
      feedTypes: { [ORDER_ACKNOWLEDGEMENT_FEED_TYPE]: ordersApi.acknowledgementFeed },
      enqueue: (change) => {
        const now = clock.now();
        pending.push({
          ...change,
          seq: ++seq,
          submissionId: randomUUID().replace(/-/g, ''),
          acceptedAt: now,
          applyAt: now + applyDelayMs,
        });
        persist();
      },
    },
    {
      ...opts.feeds,
      ...(opts.feeds?.messagesPerSecond === undefined && opts.feedMessagesPerSecond !== undefined
        ? { messagesPerSecond: opts.feedMessagesPerSecond }
        : {}),
    },
  );

  app.get(
    itemPath,
    api('getListingsItem', (req, marketplaceIds) => {
      const { sellerId, sku } = req.params;
      const included = req.query.includedData === undefined ? ['summaries'] : csv(req.query.includedData);
      const unknown = included.filter((d) => !GET_INCLUDED_DATA.has(d));
      if (unknown.length > 0) return badRequest(`Invalid includedData value(s): ${unknown.join(', ')}.`);
      const listing = listings.get(key(sellerId, sku));
      if (!listing) {
        return {
          status: 404,
          body: errorList('NOT_FOUND', `SKU '${sku}' not found in marketplace ${marketplaceIds[0]}`),
        };
      }
      return { status: 200, body: itemBody(listing, marketplaceIds[0]!, new Set(included)) };
    }),
  );

  app.put(
    itemPath,
    api('putListingsItem', (req) => {
      const body = req.body as Record<string, unknown> | null | undefined;
      const bad = checkQuery(req.query);
      if (bad) return bad;
      if (
        !isObject(body) ||
        typeof body.productType !== 'string' ||
        !isObject(body.attributes) ||
        (body.requirements !== undefined &&
          !['LISTING', 'LISTING_PRODUCT_ONLY', 'LISTING_OFFER_ONLY'].includes(String(body.requirements)))
      ) {
        return badRequest('Request has missing or invalid parameters and cannot be parsed.');
      }
      const attributes = body.attributes as Record<string, unknown>;
      const issues = validateProductType(body.productType);
      const requirements = (body.requirements as string | undefined) ?? 'LISTING';
      if (requirements !== 'LISTING_OFFER_ONLY' && !hasTextValue(attributes.item_name)) {
        issues.push(missing('item_name'));
      }
      for (const [name, value] of Object.entries(attributes)) {
        if (!Array.isArray(value)) {
          issues.push(invalid(name, 'attribute values must be an array of instances'));
          continue;
        }
        issues.push(...validateAttribute(name, value));
      }
      return submit(req, issues, {
        kind: 'put',
        productType: body.productType,
        attributes: attributes as Attributes,
      });
    }),
  );

  app.patch(
    itemPath,
    api('patchListingsItem', (req) => {
      const body = req.body as Record<string, unknown> | null | undefined;
      const bad = checkQuery(req.query);
      if (bad) return bad;
      if (
        !isObject(body) ||
        typeof body.productType !== 'string' ||
        !Array.isArray(body.patches) ||
        body.patches.length === 0 ||
        !body.patches.every((p) => isObject(p) && typeof p.op === 'string' && typeof p.path === 'string')
      ) {
        return badRequest('Request has missing or invalid parameters and cannot be parsed.');
      }
      const patches = body.patches as SandboxPatch[];
      const issues = validateProductType(body.productType);
      for (const p of patches) issues.push(...validatePatch(p));
      const { sellerId, sku } = req.params;
      const known =
        listings.has(key(sellerId, sku)) || pending.some((c) => c.sellerId === sellerId && c.sku === sku);
      if (!known && opts.patchUnknownSku === 'invalid') {
        issues.push({
          code: '4000004',
          message: `The SKU '${sku}' does not exist for this seller.`,
          severity: 'ERROR',
          categories: [],
        });
      }
      return submit(req, issues, { kind: 'patch', productType: body.productType, patches });
    }),
  );

  app.delete(
    itemPath,
    api('deleteListingsItem', (req) => submit(req, [], { kind: 'delete' })),
  );

  /** ACCEPTED (queued, persisted) or INVALID; VALID in VALIDATION_PREVIEW mode. */
  function submit(
    req: ItemRequest,
    issues: SandboxIssue[],
    change: Pick<PendingChange, 'kind' | 'productType' | 'attributes' | 'patches'>,
  ): Reply {
    const { sellerId, sku } = req.params;
    const submissionId = randomUUID().replace(/-/g, '');
    const errors = issues.some((i) => i.severity === 'ERROR');
    if (req.query.mode === 'VALIDATION_PREVIEW') {
      return { status: 200, body: { sku, status: errors ? 'INVALID' : 'VALID', submissionId, issues } };
    }
    if (errors) return { status: 200, body: { sku, status: 'INVALID', submissionId, issues } };
    const now = clock.now();
    pending.push({
      ...change,
      seq: ++seq,
      submissionId,
      sellerId,
      sku,
      acceptedAt: now,
      applyAt: now + applyDelayMs,
    });
    // ACCEPTED must survive a crash: persisted before the answer leaves.
    persist();
    return { status: 200, body: { sku, status: 'ACCEPTED', submissionId, issues } };
  }

  function validateProductType(productType: string): SandboxIssue[] {
    if (productTypes.has(productType)) return [];
    return [
      {
        code: '4000003',
        message: `The product type '${productType}' is not supported in this marketplace.`,
        severity: 'ERROR',
        categories: ['INVALID_ATTRIBUTE'],
        attributeNames: ['product_type'],
      },
    ];
  }

  // Views ---------------------------------------------------------------------------------------
  function view(listing: StoredListing) {
    const price = offerPrice(listing.attributes);
    const quantity = channelQuantity(listing.attributes);
    const discoverable = hasTextValue(listing.attributes.item_name);
    const buyable = discoverable && price !== undefined && quantity !== undefined && quantity > 0;
    return { price, quantity, discoverable, buyable };
  }

  function itemBody(listing: StoredListing, marketplaceId: string, included: Set<string>) {
    const v = view(listing);
    const item: Record<string, unknown> = { sku: listing.sku };
    if (included.has('summaries')) {
      const summary: Record<string, unknown> = {
        marketplaceId,
        asin: listing.asin,
        productType: listing.productType,
        status: [...(v.buyable ? ['BUYABLE'] : []), ...(v.discoverable ? ['DISCOVERABLE'] : [])],
        createdDate: new Date(listing.createdAt).toISOString(),
        lastUpdatedDate: new Date(listing.updatedAt).toISOString(),
      };
      const condition = firstValue(listing.attributes.condition_type);
      if (typeof condition === 'string' && CONDITION_TYPES.has(condition)) summary.conditionType = condition;
      const name = firstValue(listing.attributes.item_name);
      if (typeof name === 'string') summary.itemName = name;
      item.summaries = [summary];
    }
    if (included.has('attributes')) item.attributes = listing.attributes;
    if (included.has('issues')) {
      item.issues = v.discoverable ? [] : [{ ...missing('item_name'), marketplaceIds: [marketplaceId] }];
    }
    if (included.has('offers')) {
      item.offers =
        v.price === undefined
          ? []
          : [
              {
                marketplaceId,
                offerType: 'B2C',
                price: { currencyCode: 'INR', amount: v.price.toFixed(2) },
                audience: { value: 'ALL', displayName: 'Sell on Amazon' },
              },
            ];
    }
    if (included.has('fulfillmentAvailability')) {
      item.fulfillmentAvailability = (listing.attributes.fulfillment_availability ?? [])
        .filter(isObject)
        .filter((f) => typeof f.fulfillment_channel_code === 'string')
        .map((f) => {
          const fa: Record<string, unknown> = { fulfillmentChannelCode: f.fulfillment_channel_code };
          if (typeof f.quantity === 'number') fa.quantity = f.quantity;
          return fa;
        });
    }
    return item;
  }

  // Control & lifecycle -------------------------------------------------------------------------
  const control: AmazonSandboxControl = {
    ...feedsControl,
    ...ordersApi.control,
    counters: () => structuredClone(counters),
    resetCounters: () => {
      counters = freshCounters();
      log.length = 0;
    },
    requests: () => [...log],
    throttleNext: (n, op) => {
      forcedThrottle.push({ op, remaining: n });
    },
    throttleFor: (ms, op) => {
      storms.push({ op, until: clock.now() + ms });
    },
    failNext: (n, status = 500, op) => {
      forcedFailures.push({ op, remaining: n, status });
    },
    failLwaNext: (n, status = 500) => {
      lwaFailures.push({ remaining: n, status });
    },
    expireTokens: () => {
      tokenGeneration++;
    },
    revokeRefreshToken: () => {
      refreshTokenRevoked = true;
    },
    rotateClientSecret: (s) => {
      clientSecret = s;
    },
    setRateLimit: (op, limit) => {
      limits[op] = limit;
      for (const [k, b] of buckets) if (k.startsWith(`${op}|`)) b.tokens = Math.min(b.tokens, limit.burst);
    },
    rate: (op) => effectiveRate(op),
    setRateScale,
    setApplyDelay: (ms) => {
      applyDelayMs = ms;
    },
    applyDue,
    snapshot: (sellerId) => {
      applyDue();
      const out: Record<string, ListingSnapshot> = {};
      for (const l of listings.values()) {
        if (sellerId !== undefined && l.sellerId !== sellerId) continue;
        const v = view(l);
        const snap: ListingSnapshot = { sellerId: l.sellerId, exists: true, buyable: v.buyable, pending: 0 };
        if (v.price !== undefined) snap.price = v.price;
        if (v.quantity !== undefined) snap.quantity = v.quantity;
        out[l.sku] = snap;
      }
      for (const c of pending) {
        if (sellerId !== undefined && c.sellerId !== sellerId) continue;
        const snap = out[c.sku] ?? { sellerId: c.sellerId, exists: false, buyable: false, pending: 0 };
        snap.pending++;
        out[c.sku] = snap;
      }
      return out;
    },
    priceOf: (sku, sellerId = SANDBOX_CREDENTIALS.sellerId) => {
      applyDue();
      const l = listings.get(key(sellerId, sku));
      return l === undefined ? undefined : view(l).price;
    },
    pendingCount: () => pending.length,
  };

  let baseUrl: string | null = null;
  let ticker: NodeJS.Timeout | null = null;

  return {
    get url(): string {
      if (baseUrl === null) throw new Error('amazon sandbox: not started');
      return baseUrl;
    },
    control,
    async start(port = 0): Promise<string> {
      load();
      applyDue();
      baseUrl = await listen(app, 'amazon', port, opts.host ?? '127.0.0.1');
      const tick = opts.applyTickMs ?? 200;
      if (tick > 0) {
        ticker = setInterval(applyDue, tick);
        ticker.unref();
      }
      return baseUrl;
    },
    async stop(): Promise<void> {
      if (ticker) clearInterval(ticker);
      ticker = null;
      await app.close();
    },
  };
}

// Validation helpers --------------------------------------------------------------------------

const CONDITION_TYPES = new Set([
  'new_new',
  'new_open_box',
  'new_oem',
  'refurbished_refurbished',
  'used_like_new',
  'used_very_good',
  'used_good',
  'used_acceptable',
  'collectible_like_new',
  'collectible_very_good',
  'collectible_good',
  'collectible_acceptable',
  'club_club',
]);

function validatePatch(p: SandboxPatch): SandboxIssue[] {
  const name = attributeName(p.path);
  if (!['add', 'replace', 'merge', 'delete'].includes(p.op)) {
    return [invalid(name ?? p.path, `unsupported patch op '${p.op}'`)];
  }
  if (name === null) {
    return [
      {
        code: '90000900',
        message: 'The attributes are invalid. Only top-level attributes (/attributes/<name>) can be patched.',
        severity: 'ERROR',
        categories: ['INVALID_ATTRIBUTE'],
        attributeNames: [p.path],
      },
    ];
  }
  if (!Array.isArray(p.value)) {
    return [invalid(name, p.op === 'delete' ? 'delete needs the selector values' : 'value must be an array')];
  }
  if (p.op === 'delete') return [];
  return validateAttribute(name, p.value);
}

function validateAttribute(name: string, value: unknown[]): SandboxIssue[] {
  if (!value.every(isObject)) return [invalid(name, 'every instance must be an object')];
  const instances = value as Record<string, unknown>[];
  switch (name) {
    case 'item_name':
      return instances.every((i) => typeof i.value === 'string' && i.value.trim() !== '')
        ? []
        : [invalid(name, 'value must be a non-empty string')];
    case 'purchasable_offer': {
      const issues: SandboxIssue[] = [];
      for (const offer of instances) {
        const ourPrice = Array.isArray(offer.our_price) ? offer.our_price : null;
        const schedule = ourPrice && isObject(ourPrice[0]) ? ourPrice[0].schedule : null;
        const first = Array.isArray(schedule) && isObject(schedule[0]) ? schedule[0] : null;
        if (!first || first.value_with_tax === undefined) {
          issues.push({ ...missing('our_price'), attributeNames: ['purchasable_offer'] });
          continue;
        }
        const price = decimal(first.value_with_tax);
        if (price === undefined || price < 0) {
          issues.push(invalid('purchasable_offer', 'our_price value_with_tax must be a number >= 0'));
        }
      }
      return issues;
    }
    case 'fulfillment_availability':
      return instances.every(
        (i) =>
          typeof i.fulfillment_channel_code === 'string' &&
          typeof i.quantity === 'number' &&
          Number.isInteger(i.quantity) &&
          i.quantity >= 0,
      )
        ? []
        : [invalid(name, 'quantity must be an integer >= 0 with a fulfillment_channel_code')];
    default:
      return [];
  }
}

function missing(name: string): SandboxIssue {
  return {
    code: '90220',
    message: `'${name}' is required but not supplied.`,
    severity: 'ERROR',
    categories: ['MISSING_ATTRIBUTE'],
    attributeNames: [name],
  };
}

function invalid(name: string, why: string): SandboxIssue {
  return {
    code: '4000001',
    message: `The provided value for '${name}' is invalid: ${why}.`,
    severity: 'ERROR',
    categories: ['INVALID_ATTRIBUTE'],
    attributeNames: [name],
  };
}

function applyPatch(attributes: Attributes, p: SandboxPatch): void {
  const name = attributeName(p.path);
  if (name === null) return;
  const value = (p.value ?? []).filter(isObject);
  switch (p.op) {
    case 'add':
    case 'replace':
      attributes[name] = value;
      return;
    case 'merge': {
      const current = (attributes[name] ?? []).filter(isObject);
      for (const v of value) {
        const i = current.findIndex((c) => sameSelector(c, v));
        if (i >= 0) current[i] = { ...current[i], ...v };
        else current.push(v);
      }
      attributes[name] = current;
      return;
    }
    case 'delete': {
      const rest = (attributes[name] ?? [])
        .filter(isObject)
        .filter((c) => !value.some((v) => sameSelector(c, v)));
      if (rest.length > 0) attributes[name] = rest;
      else delete attributes[name];
      return;
    }
  }
}

const SELECTORS = ['marketplace_id', 'language_tag', 'fulfillment_channel_code', 'audience'];

function sameSelector(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  return SELECTORS.every((s) => b[s] === undefined || a[s] === b[s]);
}

function attributeName(path: string): string | null {
  const m = /^\/attributes\/([A-Za-z0-9_]+)$/.exec(path);
  return m ? m[1]! : null;
}

function stockFirst(name: string | null): number {
  return name === 'fulfillment_availability' ? 0 : 1;
}

function offerPrice(attributes: Attributes): number | undefined {
  const offer = (attributes.purchasable_offer ?? []).filter(isObject)[0];
  const ourPrice = offer && Array.isArray(offer.our_price) ? offer.our_price[0] : undefined;
  const schedule = isObject(ourPrice) && Array.isArray(ourPrice.schedule) ? ourPrice.schedule[0] : undefined;
  return isObject(schedule) ? decimal(schedule.value_with_tax) : undefined;
}

function channelQuantity(attributes: Attributes): number | undefined {
  const fa = (attributes.fulfillment_availability ?? [])
    .filter(isObject)
    .find((f) => f.fulfillment_channel_code === 'DEFAULT');
  return typeof fa?.quantity === 'number' ? fa.quantity : undefined;
}

function hasTextValue(v: unknown): boolean {
  return (
    Array.isArray(v) && v.some((i) => isObject(i) && typeof i.value === 'string' && i.value.trim() !== '')
  );
}

function firstValue(v: unknown[] | undefined): unknown {
  const first = v?.[0];
  return isObject(first) ? first.value : undefined;
}

function decimal(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
  return Number.isFinite(n) ? n : undefined;
}

function checkQuery(query: Record<string, string | string[] | undefined>): Reply | null {
  if (query.mode !== undefined && query.mode !== 'VALIDATION_PREVIEW') {
    return badRequest(`Invalid mode '${String(query.mode)}'.`);
  }
  const unknown = csv(query.includedData).filter((d) => !WRITE_INCLUDED_DATA.has(d));
  return unknown.length > 0 ? badRequest(`Invalid includedData value(s): ${unknown.join(', ')}.`) : null;
}

function csv(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v])
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function errorList(code: string, message: string, details?: string) {
  return { errors: [details === undefined ? { code, message } : { code, message, details }] };
}

function badRequest(message: string): Reply {
  return { status: 400, body: errorList('InvalidInput', message, '') };
}

/** The two 429 bodies seen in the wild (§1.4). */
function quotaBody(random: () => number) {
  return random() < 0.5
    ? { errors: [{ code: 'QuotaExceeded', message: QUOTA, details: '' }] }
    : { errors: [{ message: QUOTA, code: 'QuotaExceeded' }] };
}

function checkedScale(scale: number): number {
  if (!(scale > 0) || !Number.isFinite(scale)) throw new RangeError(`rateScale must be > 0, got ${scale}`);
  return scale;
}

function formatRate(rate: number): string {
  const s = rate.toFixed(4).replace(/0+$/, '');
  return s.endsWith('.') ? `${s}0` : s;
}

function fakeAsin(sellerId: string, sku: string): string {
  const h = createHash('sha256').update(`${sellerId}/${sku}`).digest('hex').toUpperCase();
  return `B0${h.slice(0, 8)}`;
}

function freshCounters(): Record<SandboxOperation, OperationCounters> {
  const zero = (): OperationCounters => ({
    calls: 0,
    ok: 0,
    throttled: 0,
    unauthorized: 0,
    clientErrors: 0,
    serverErrors: 0,
  });
  const out = { lwaToken: zero() } as Record<SandboxOperation, OperationCounters>;
  for (const op of OPS) out[op] = zero();
  return out;
}

/** Small seeded PRNG, so the chosen 429 variants are reproducible. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
