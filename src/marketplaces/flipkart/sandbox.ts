/**
 * A local Flipkart Seller API (Listings v3 + OAuth) for tests and demos, reference §2.9, over real
 * HTTP on 127.0.0.1. Everything here is [ASSUMED] design on top of the documented facts.
 *
 * Emulated: client-credentials tokens (Basic auth; bad credentials → 401 `unauthorized`; expired
 * or unknown bearer → 401 `invalid_token`); per-SKU validation answering HTTP 200 with
 * SUCCESS/FAILURE/WARNING per SKU (integer prices, selling_price ≤ mrp, inventory whole ≥ 0,
 * unknown SKU → FAILURE); >10 SKUs → 400; synchronous apply; GET by comma-separated SKUs. SKUs
 * may hold any character: the GET path is split on literal ',' before percent-decoding, so `%2C`
 * stays inside one SKU.
 * Rate limiting is our invention (Flipkart documents none): off by default; when on, a token
 * bucket per operation answers 429 + Retry-After + `{"error":"too_many_requests",…}`.
 *
 * Error codes in per-SKU answers are invented integers (Flipkart's are not public):
 * 1001 product_id, 1002 unknown SKU, 2001 price value, 2002 selling_price > mrp, 3001 inventory,
 * 3002 unknown location, 4001 listing_status, 5001 forced WARNING, 9001 forced FAILURE.
 */

import { Buffer } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Clock } from '../../core/clock.js';
import { systemClock } from '../../core/clock.js';
import type { RateLimit } from '../limits.js';
import {
  isObject,
  listen,
  readStateFile,
  type SandboxBucket,
  takeToken,
  writeStateFile,
} from '../sandbox.js';
import { FLIPKART_OPERATIONS, FLIPKART_RATE_LIMITS, type FlipkartOperation } from './limits.js';
import {
  type FlipkartSandboxOrderControl,
  type FlipkartSandboxOrderOptions,
  installFlipkartOrderRoutes,
} from './sandbox-orders.js';
import { LISTINGS_V3_PATH, type ListingStatus, type LocationStatus, MAX_SKUS_PER_CALL } from './types.js';

export const FLIPKART_SANDBOX_CREDENTIALS = {
  appId: 'marketbridge-sandbox-app',
  appSecret: 'marketbridge-sandbox-secret',
  /** The Flipkart location the sandbox seller ships from. */
  locationId: 'LOC-SANDBOX-BLR-1',
} as const;

const TOKEN_PATH = '/oauth-service/oauth/token';
const SELLERS = '/sellers';

/** The environment that points marketbridge at a sandbox listening on `url`. */
export function flipkartSandboxEnv(url: string, rateScale = 1): Record<string, string> {
  const base = url.replace(/\/+$/, '');
  return {
    FLIPKART_BASE_URL: `${base}${SELLERS}`,
    FLIPKART_TOKEN_URL: `${base}${TOKEN_PATH}`,
    FLIPKART_APP_ID: FLIPKART_SANDBOX_CREDENTIALS.appId,
    FLIPKART_APP_SECRET: FLIPKART_SANDBOX_CREDENTIALS.appSecret,
    FLIPKART_DEFAULT_LOCATION: FLIPKART_SANDBOX_CREDENTIALS.locationId,
    FLIPKART_RATE_SCALE: String(rateScale),
  };
}

/** A listing to preload. Prices are whole rupees; locations map Flipkart location id → units. */
export interface FlipkartSandboxListingSeed {
  productId?: string;
  sellingPrice: number;
  mrp: number;
  status?: ListingStatus;
  locations?: Record<string, number>;
}

export interface FlipkartSandboxOptions {
  clock?: Clock;
  host?: string;
  appId?: string;
  appSecret?: string;
  /** `expires_in` of issued tokens. Default 5,184,000 s (60 days, as Flipkart). */
  tokenTtlSeconds?: number;
  /** Token buckets per operation (429 when empty). Default false (Flipkart documents none). */
  rateLimit?: boolean;
  /** Multiplies the bucket rates. Default 1. */
  rateScale?: number;
  /** Per-operation limits replacing FLIPKART_RATE_LIMITS (before scaling). */
  rateLimits?: Partial<Record<FlipkartOperation, RateLimit>>;
  /** Known Flipkart location ids; others are a per-SKU FAILURE. Default: any id is accepted. */
  locationIds?: Iterable<string>;
  /**
   * Shape of update answers: 'map' (documented: SKU → result at the top level, default) or
   * 'sku-wrapper' (`{"sku": {SKU → result}}`, as Unicommerce's client reads it).
   */
  responseEnvelope?: 'map' | 'sku-wrapper';
  /** Keep the listings in this JSON file (rewritten atomically after each write), for restarts. */
  stateFile?: string;
  /** Listings present at start, by SKU. */
  listings?: Record<string, FlipkartSandboxListingSeed>;
  bodyLimitBytes?: number;
  /** Shipments (orders): label delay, page size cap (sandbox-orders.ts). */
  orders?: FlipkartSandboxOrderOptions;
}

export interface FlipkartOperationCounters {
  calls: number;
  ok: number;
  throttled: number;
  unauthorized: number;
  clientErrors: number;
  serverErrors: number;
  skuSuccess: number;
  skuWarning: number;
  skuFailure: number;
}

export interface FlipkartSandboxRequestLog {
  at: number;
  operation: FlipkartOperation;
  /** SKUs of the request (decoded), in request order. */
  skus: string[];
  status: number;
}

export interface FlipkartListingSnapshot {
  productId: string;
  /** Selling price (whole rupees). */
  price: number | undefined;
  mrp: number | undefined;
  /** Units at ENABLED locations. */
  quantity: number;
  locations: Record<string, { inventory: number; status: LocationStatus }>;
  status: ListingStatus;
}

/** Listings, tokens and failures here; orders (createOrders, buyerCancel, …) from sandbox-orders.ts. */
export interface FlipkartSandboxControl extends FlipkartSandboxOrderControl {
  /** These SKUs answer FAILURE (nothing applied) on every write, until called again; [] clears. */
  failSkus(skus: Iterable<string>): void;
  /** These SKUs answer WARNING (applied) on every write, until called again; [] clears. */
  warnSkus(skus: Iterable<string>): void;
  /** The next `n` API requests (of `op`, or any) get `status` (default 500). */
  failNext(n: number, status?: number, op?: FlipkartOperation): void;
  /** A 429 storm: every API request (of `op`, or any) gets 429 for `ms`. */
  throttleFor(ms: number, op?: FlipkartOperation): void;
  /** The next `n` API requests (of `op`, or any) get 429. */
  throttleNext(n: number, op?: FlipkartOperation): void;
  /** Turns the token buckets on or off. */
  setRateLimiting(on: boolean): void;
  /**
   * Changes the rate scale (bucket refill rates) from now on. Buckets keep the tokens they have now
   * (refilled at the old rate up to now, capped at burst).
   */
  setRateScale(scale: number): void;
  /** Every answer (token and API) is delayed by `ms` after the request was processed. */
  slow(ms: number): void;
  /** Every token issued so far is expired: 401 invalid_token on business calls. */
  expireTokens(): void;
  /** The app secret changes: the old one gets 401 Bad credentials. */
  rotateSecret(secret: string): void;
  counters(): Record<FlipkartOperation, FlipkartOperationCounters>;
  resetCounters(): void;
  /** Every request, oldest first (the last 10,000). */
  requests(): FlipkartSandboxRequestLog[];
  /** Listings by SKU. */
  snapshot(): Record<string, FlipkartListingSnapshot>;
  /** One listing's selling price; cheap, unlike snapshot(). */
  priceOf(sku: string): number | undefined;
  /** Adds or replaces a listing. */
  seed(sku: string, listing: FlipkartSandboxListingSeed): void;
}

export interface FlipkartSandbox {
  /** `http://127.0.0.1:<port>`; only valid after start(). The Seller API is under `/sellers`. */
  readonly url: string;
  start(port?: number): Promise<string>;
  stop(): Promise<void>;
  readonly control: FlipkartSandboxControl;
}

// ---------------------------------------------------------------------------------------------

interface StoredLocation {
  inventory: number;
  status: LocationStatus;
}

interface StoredListing {
  sku: string;
  productId: string;
  sellingPrice: number | undefined;
  mrp: number | undefined;
  status: ListingStatus;
  locations: Map<string, StoredLocation>;
  fields: Record<string, unknown>;
}

interface SkuError {
  severity: 'ERROR' | 'WARNING';
  code: number;
  description: string;
  path?: string;
  attribute?: string;
}

interface SkuAnswer {
  status: 'SUCCESS' | 'FAILURE' | 'WARNING';
  errors: SkuError[];
  attribute_errors: SkuError[];
}

interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

type WriteOp = 'updatePrice' | 'updateInventory' | 'updateListing' | 'createListing';

const REQUEST_LOG_MAX = 10_000;

export function createFlipkartSandbox(opts: FlipkartSandboxOptions = {}): FlipkartSandbox {
  const clock = opts.clock ?? systemClock;
  const appId = opts.appId ?? FLIPKART_SANDBOX_CREDENTIALS.appId;
  let appSecret = opts.appSecret ?? FLIPKART_SANDBOX_CREDENTIALS.appSecret;
  const tokenTtlSeconds = opts.tokenTtlSeconds ?? 5_184_000;
  let rateScale = opts.rateScale ?? 1;
  let rateLimiting = opts.rateLimit ?? false;
  const limits = {} as Record<FlipkartOperation, RateLimit>;
  for (const op of FLIPKART_OPERATIONS) limits[op] = opts.rateLimits?.[op] ?? FLIPKART_RATE_LIMITS[op];
  const knownLocations = opts.locationIds ? new Set(opts.locationIds) : null;
  const envelope = opts.responseEnvelope ?? 'map';

  // State ---------------------------------------------------------------------------------------
  const listings = new Map<string, StoredListing>();
  const tokens = new Map<string, { expiresAt: number; generation: number }>();
  let tokenGeneration = 0;
  const buckets = new Map<FlipkartOperation, SandboxBucket>();
  const storms: { op: FlipkartOperation | undefined; until: number }[] = [];
  const forcedThrottle: { op: FlipkartOperation | undefined; remaining: number }[] = [];
  const forcedFailures: { op: FlipkartOperation | undefined; remaining: number; status: number }[] = [];
  let failing = new Set<string>();
  let warning = new Set<string>();
  let slowMs = 0;
  let counters = freshCounters();
  const log: FlipkartSandboxRequestLog[] = [];

  function seed(sku: string, s: FlipkartSandboxListingSeed): void {
    listings.set(sku, {
      sku,
      productId: s.productId ?? sku,
      sellingPrice: s.sellingPrice,
      mrp: s.mrp,
      status: s.status ?? 'ACTIVE',
      locations: new Map(
        Object.entries(s.locations ?? {}).map(([id, inventory]) => [id, { inventory, status: 'ENABLED' }]),
      ),
      fields: {},
    });
  }
  for (const [sku, s] of Object.entries(opts.listings ?? {})) seed(sku, s);

  // Persistence: listings survive a restart (e.g. a demo killed half-way and run again).
  interface PersistedState {
    version: 1;
    listings: (Omit<StoredListing, 'locations'> & { locations: [string, StoredLocation][] })[];
  }
  function persist(): void {
    if (!opts.stateFile) return;
    const state: PersistedState = {
      version: 1,
      listings: [...listings.values()].map((l) => ({ ...l, locations: [...l.locations] })),
    };
    writeStateFile(opts.stateFile, state);
  }
  if (opts.stateFile) {
    const stored = readStateFile<PersistedState>(opts.stateFile);
    for (const l of stored?.listings ?? []) listings.set(l.sku, { ...l, locations: new Map(l.locations) });
  }

  function record(op: FlipkartOperation, skus: string[], status: number, answers?: SkuAnswer[]): void {
    const c = counters[op];
    c.calls++;
    if (status === 429) c.throttled++;
    else if (status === 401) c.unauthorized++;
    else if (status >= 500) c.serverErrors++;
    else if (status >= 400) c.clientErrors++;
    else c.ok++;
    for (const a of answers ?? []) {
      if (a.status === 'SUCCESS') c.skuSuccess++;
      else if (a.status === 'WARNING') c.skuWarning++;
      else c.skuFailure++;
    }
    log.push({ at: clock.now(), operation: op, skus, status });
    if (log.length > REQUEST_LOG_MAX) log.splice(0, log.length - REQUEST_LOG_MAX);
  }

  // Throttling ----------------------------------------------------------------------------------
  /** Milliseconds until a request of `op` may pass, or 0 when it passes now (token taken). */
  function throttleMs(op: FlipkartOperation): number {
    const now = clock.now();
    const storm = storms
      .filter((s) => s.until > now && (s.op === undefined || s.op === op))
      .reduce((max, s) => Math.max(max, s.until - now), 0);
    if (storm > 0) return storm;
    const forced = forcedThrottle.find((t) => t.remaining > 0 && (t.op === undefined || t.op === op));
    if (forced) {
      forced.remaining--;
      return 1000;
    }
    if (!rateLimiting) return 0;
    return takeToken(buckets, op, limits[op].rate * rateScale, limits[op].burst, now);
  }

  function forcedFailure(op: FlipkartOperation): number | null {
    const f = forcedFailures.find((t) => t.remaining > 0 && (t.op === undefined || t.op === op));
    if (!f) return null;
    f.remaining--;
    return f.status;
  }

  // Tokens --------------------------------------------------------------------------------------
  function issueToken(): string {
    const token = randomUUID();
    tokens.set(token, { expiresAt: clock.now() + tokenTtlSeconds * 1000, generation: tokenGeneration });
    return token;
  }

  function checkBearer(header: string | undefined): Reply | null {
    const m = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!m) {
      return oauthError(401, 'unauthorized', 'Full authentication is required to access this resource');
    }
    const token = m[1]!;
    const t = tokens.get(token);
    if (!t) return oauthError(401, 'invalid_token', `Invalid access token: ${token.slice(0, 8)}…`);
    if (clock.now() >= t.expiresAt || t.generation < tokenGeneration) {
      return oauthError(401, 'invalid_token', `Access token expired: ${token.slice(0, 8)}…`);
    }
    return null;
  }

  // HTTP ----------------------------------------------------------------------------------------
  const app: FastifyInstance = Fastify({
    logger: false,
    bodyLimit: opts.bodyLimitBytes ?? 1024 * 1024,
    // SKUs are map keys: '__proto__' or 'constructor' are SKUs like any other here.
    onProtoPoisoning: 'ignore',
    onConstructorPoisoning: 'ignore',
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(String(body))));
  });
  app.setErrorHandler((err: { statusCode?: number; message?: string }, _req, reply) => {
    const status = err.statusCode ?? 500;
    void reply.code(status).send(errorsBody(status, err.message ?? 'error'));
  });
  app.setNotFoundHandler((_req, reply) => {
    void reply.code(404).send(errorsBody(404, 'Resource not found'));
  });

  async function respond(reply: FastifyReply, r: Reply): Promise<FastifyReply> {
    if (slowMs > 0) await clock.sleep(slowMs);
    void reply.code(r.status);
    for (const [k, v] of Object.entries(r.headers ?? {})) void reply.header(k, v);
    return reply.send(r.body);
  }

  const tokenHandler = async (req: FastifyRequest, reply: FastifyReply) => {
    const params: Record<string, unknown> = {
      ...(isObject(req.body) ? req.body : {}),
      ...(isObject(req.query) ? req.query : {}),
    };
    const r = tokenReply(req.headers.authorization, params);
    record('oauthToken', [], r.status);
    return respond(reply, { ...r, headers: { 'cache-control': 'no-store', ...r.headers } });
  };

  function tokenReply(authorization: string | undefined, params: Record<string, unknown>): Reply {
    const wait = throttleMs('oauthToken');
    if (wait > 0) return tooManyRequests(wait);
    const failure = forcedFailure('oauthToken');
    if (failure !== null) return serverError(failure);
    const m = typeof authorization === 'string' ? /^Basic\s+(\S+)$/i.exec(authorization) : null;
    if (!m) return oauthError(401, 'unauthorized', 'Full authentication is required to access this resource');
    const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const id = colon < 0 ? decoded : decoded.slice(0, colon);
    const secret = colon < 0 ? '' : decoded.slice(colon + 1);
    if (id !== appId) return oauthError(401, 'unauthorized', `No client with requested id: ${id}`);
    if (secret !== appSecret) return oauthError(401, 'unauthorized', 'Bad credentials');
    if (params.grant_type !== 'client_credentials') {
      return oauthError(
        400,
        'unsupported_grant_type',
        `Unsupported grant type: ${String(params.grant_type)}`,
      );
    }
    if (params.scope !== 'Seller_Api') {
      return oauthError(400, 'invalid_scope', `Invalid scope: ${String(params.scope)}`);
    }
    return {
      status: 200,
      body: {
        access_token: issueToken(),
        token_type: 'bearer',
        expires_in: tokenTtlSeconds,
        scope: 'Seller_Api',
      },
    };
  }

  app.get(TOKEN_PATH, tokenHandler);
  app.post(TOKEN_PATH, tokenHandler);

  /** Auth, throttling and forced failures in front of every Listings request. */
  function gate(op: FlipkartOperation, authorization: string | undefined): Reply | null {
    const denied = checkBearer(authorization);
    if (denied) return denied;
    const wait = throttleMs(op);
    if (wait > 0) return tooManyRequests(wait);
    const failure = forcedFailure(op);
    if (failure !== null) return serverError(failure);
    return null;
  }

  function write(op: WriteOp) {
    return async (req: FastifyRequest, reply: FastifyReply) => {
      const body = req.body;
      const skus = isObject(body) ? Object.keys(body) : [];
      const r = gate(op, req.headers.authorization) ?? writeReply(op, body);
      if (r.status === 200) persist();
      record(op, skus, r.status, r.status === 200 ? answersOf(r.body) : undefined);
      return respond(reply, r);
    };
  }

  function answersOf(body: unknown): SkuAnswer[] {
    const map = envelope === 'sku-wrapper' && isObject(body) ? body.sku : body;
    return isObject(map) ? (Object.values(map) as SkuAnswer[]) : [];
  }

  function writeReply(op: WriteOp, body: unknown): Reply {
    if (!isObject(body)) return badRequest('The request body must be a JSON object keyed by SKU');
    const entries = Object.entries(body);
    if (entries.length === 0) return badRequest('The request has no SKU');
    if (entries.length > MAX_SKUS_PER_CALL) {
      return badRequest(`At most ${MAX_SKUS_PER_CALL} SKUs per request, got ${entries.length}`);
    }
    const answers: [string, SkuAnswer][] = entries.map(([sku, entry]) => [sku, writeOne(op, sku, entry)]);
    const map = Object.fromEntries(answers);
    return { status: 200, body: envelope === 'sku-wrapper' ? { sku: map } : map };
  }

  /** Validates one SKU's entry and applies it when valid (synchronously). */
  function writeOne(op: WriteOp, sku: string, entry: unknown): SkuAnswer {
    if (failing.has(sku)) {
      return failure([
        { severity: 'ERROR', code: 9001, description: 'Sandbox: forced failure for this SKU' },
      ]);
    }
    if (!isObject(entry)) {
      return failure([{ severity: 'ERROR', code: 1001, description: 'The SKU entry must be an object' }]);
    }
    const existing = listings.get(sku);
    const errors: SkuError[] = [];
    const attributeErrors: SkuError[] = [];
    const productId = entry.product_id;
    if (typeof productId !== 'string' || productId === '') {
      attributeErrors.push(attrError(1001, 'product_id is required', 'product_id'));
    } else if (op !== 'createListing' && existing && existing.productId !== productId) {
      attributeErrors.push(
        attrError(
          1001,
          `product_id ${productId} does not match the listing's ${existing.productId}`,
          'product_id',
        ),
      );
    }
    if (op !== 'createListing' && !existing) {
      errors.push({ severity: 'ERROR', code: 1002, description: `No listing found for SKU ${sku}` });
    }

    const wantsPrice = op === 'updatePrice' || op === 'createListing' || entry.price !== undefined;
    const price = wantsPrice
      ? checkPrice(entry.price, op === 'createListing' ? undefined : existing, op === 'createListing')
      : { errors: [], value: {} };
    attributeErrors.push(...price.errors);
    const wantsLocations = op === 'updateInventory' || entry.locations !== undefined;
    const locations = wantsLocations ? checkLocations(entry.locations, op === 'updateInventory') : null;
    if (locations) attributeErrors.push(...locations.errors);
    let status: ListingStatus | undefined;
    if (entry.listing_status !== undefined) {
      if (entry.listing_status === 'ACTIVE' || entry.listing_status === 'INACTIVE')
        status = entry.listing_status;
      else
        attributeErrors.push(attrError(4001, 'listing_status must be ACTIVE or INACTIVE', 'listing_status'));
    }
    if (errors.length > 0 || attributeErrors.length > 0) {
      return { status: 'FAILURE', errors, attribute_errors: attributeErrors };
    }

    // Apply.
    const { product_id: _p, price: _pr, listing_status: _s, locations: _l, ...fields } = entry;
    let listing: StoredListing;
    if (op === 'createListing') {
      listing = {
        sku,
        productId: productId as string,
        sellingPrice: undefined,
        mrp: undefined,
        status: status ?? 'ACTIVE',
        locations: new Map(),
        fields,
      };
      listings.set(sku, listing);
    } else {
      listing = existing!;
      if (status !== undefined) listing.status = status;
      if (op === 'updateListing') Object.assign(listing.fields, fields);
    }
    if (price.value.sellingPrice !== undefined) listing.sellingPrice = price.value.sellingPrice;
    if (price.value.mrp !== undefined) listing.mrp = price.value.mrp;
    for (const l of locations?.value ?? [])
      listing.locations.set(l.id, { inventory: l.inventory, status: l.status });

    if (warning.has(sku)) {
      return {
        status: 'WARNING',
        errors: [{ severity: 'WARNING', code: 5001, description: 'Sandbox: forced warning for this SKU' }],
        attribute_errors: [],
      };
    }
    return { status: 'SUCCESS', errors: [], attribute_errors: [] };
  }

  function checkPrice(
    raw: unknown,
    current: StoredListing | undefined,
    requireBoth: boolean,
  ): { errors: SkuError[]; value: { sellingPrice?: number; mrp?: number } } {
    if (!isObject(raw)) return { errors: [attrError(2001, 'price is required', 'price')], value: {} };
    const errors: SkuError[] = [];
    const sp = raw.selling_price;
    const mrp = raw.mrp;
    if (sp === undefined && mrp === undefined) {
      errors.push(attrError(2001, 'price needs selling_price and/or mrp', 'price'));
    }
    if (requireBoth && (sp === undefined || mrp === undefined)) {
      errors.push(attrError(2001, 'a new listing needs selling_price and mrp', 'price'));
    }
    if (sp !== undefined && !(typeof sp === 'number' && Number.isInteger(sp) && sp > 0)) {
      errors.push(
        attrError(2001, 'selling_price must be a positive whole number of rupees', 'selling_price'),
      );
    }
    if (mrp !== undefined && !(typeof mrp === 'number' && Number.isInteger(mrp) && mrp >= 0)) {
      errors.push(attrError(2001, 'mrp must be a whole number of rupees >= 0', 'mrp'));
    }
    if (raw.currency !== undefined && raw.currency !== 'INR') {
      errors.push(attrError(2001, 'currency must be INR', 'currency'));
    }
    if (errors.length > 0) return { errors, value: {} };
    const value: { sellingPrice?: number; mrp?: number } = {};
    if (typeof sp === 'number') value.sellingPrice = sp;
    if (typeof mrp === 'number') value.mrp = mrp;
    const effSp = value.sellingPrice ?? current?.sellingPrice;
    const effMrp = value.mrp ?? current?.mrp;
    if (effSp !== undefined && effMrp !== undefined && effSp > effMrp) {
      return {
        errors: [attrError(2002, `selling_price ${effSp} must not exceed mrp ${effMrp}`, 'selling_price')],
        value: {},
      };
    }
    return { errors: [], value };
  }

  function checkLocations(
    raw: unknown,
    required: boolean,
  ): { errors: SkuError[]; value: { id: string; inventory: number; status: LocationStatus }[] } {
    if (!Array.isArray(raw) || (required && raw.length === 0)) {
      return { errors: [attrError(3001, 'locations must be a non-empty list', 'locations')], value: [] };
    }
    const errors: SkuError[] = [];
    const value: { id: string; inventory: number; status: LocationStatus }[] = [];
    const seen = new Set<string>();
    for (const l of raw) {
      if (!isObject(l) || typeof l.id !== 'string' || l.id === '') {
        errors.push(attrError(3001, 'every location needs an id', 'locations.id'));
        continue;
      }
      if (seen.has(l.id)) errors.push(attrError(3001, `location ${l.id} appears twice`, 'locations.id'));
      seen.add(l.id);
      if (knownLocations && !knownLocations.has(l.id)) {
        errors.push(attrError(3002, `Unknown location id ${l.id}`, 'locations.id'));
      }
      const inventory = l.inventory;
      if (!(typeof inventory === 'number' && Number.isInteger(inventory) && inventory >= 0)) {
        errors.push(attrError(3001, `inventory at ${l.id} must be a whole number >= 0`, 'inventory'));
        continue;
      }
      const status = l.status ?? 'ENABLED';
      if (status !== 'ENABLED' && status !== 'DISABLED') {
        errors.push(attrError(3001, `status at ${l.id} must be ENABLED or DISABLED`, 'locations.status'));
        continue;
      }
      value.push({ id: l.id, inventory, status });
    }
    return { errors, value };
  }

  app.post(`${SELLERS}${LISTINGS_V3_PATH}/update/price`, write('updatePrice'));
  app.post(`${SELLERS}${LISTINGS_V3_PATH}/update/inventory`, write('updateInventory'));
  app.post(`${SELLERS}${LISTINGS_V3_PATH}/update`, write('updateListing'));
  app.post(`${SELLERS}${LISTINGS_V3_PATH}`, write('createListing'));

  // GET /sellers/listings/v3/{skus}: the raw path is split on ',' first, then each SKU decoded.
  app.get(`${SELLERS}${LISTINGS_V3_PATH}/*`, async (req, reply) => {
    const prefix = `${SELLERS}${LISTINGS_V3_PATH}/`;
    const raw = (req.raw.url ?? req.url).split('?')[0]!.slice(prefix.length);
    const skus = raw.includes('/') ? null : decodeList(raw);
    const r =
      gate('getListings', req.headers.authorization) ??
      (skus === null
        ? { status: 404, body: errorsBody(404, 'Resource not found') }
        : skus === 'malformed'
          ? badRequest('Malformed percent-encoding in the SKU list')
          : getReply(skus));
    record('getListings', Array.isArray(skus) ? skus : [], r.status);
    return respond(reply, r);
  });

  function getReply(skus: string[]): Reply {
    const available: [string, unknown][] = [];
    const unavailable: string[] = [];
    const invalid: string[] = [];
    for (const sku of new Set(skus)) {
      if (sku === '') {
        invalid.push(sku);
        continue;
      }
      const l = listings.get(sku);
      if (!l) unavailable.push(sku);
      else available.push([sku, detail(l)]);
    }
    return { status: 200, body: { available: Object.fromEntries(available), unavailable, invalid } };
  }

  function detail(l: StoredListing) {
    const price: Record<string, unknown> = { currency: 'INR' };
    if (l.mrp !== undefined) price.mrp = l.mrp;
    if (l.sellingPrice !== undefined) price.selling_price = l.sellingPrice;
    return {
      sku: l.sku,
      product_id: l.productId,
      listing_status: l.status,
      price,
      locations: [...l.locations].map(([id, s]) => ({ id, status: s.status, inventory: s.inventory })),
    };
  }

  // Shipments (orders): sandbox-orders.ts ------------------------------------------------------
  const orderControl = installFlipkartOrderRoutes(
    {
      app,
      clock,
      gate,
      record: (op, keys, status) => record(op, keys, status),
      respond,
      listings: () =>
        [...listings.values()].map((l) => ({
          sku: l.sku,
          productId: l.productId,
          sellingPrice: l.sellingPrice,
        })),
      locationId: FLIPKART_SANDBOX_CREDENTIALS.locationId,
    },
    opts.orders,
  );

  // Control & lifecycle -------------------------------------------------------------------------
  const control: FlipkartSandboxControl = {
    ...orderControl,
    failSkus: (skus) => {
      failing = new Set(skus);
    },
    warnSkus: (skus) => {
      warning = new Set(skus);
    },
    failNext: (n, status = 500, op) => {
      forcedFailures.push({ op, remaining: n, status });
    },
    throttleFor: (ms, op) => {
      storms.push({ op, until: clock.now() + ms });
    },
    throttleNext: (n, op) => {
      forcedThrottle.push({ op, remaining: n });
    },
    setRateLimiting: (on) => {
      rateLimiting = on;
    },
    setRateScale: (scale) => {
      const next = checkedScale(scale);
      const now = clock.now();
      // Settle every bucket at the old rate up to now, so the new rate only counts from now on.
      for (const [op, b] of buckets) {
        const { rate, burst } = limits[op];
        b.tokens = Math.min(burst, b.tokens + (Math.max(0, now - b.last) * rate * rateScale) / 1000);
        b.last = Math.max(b.last, now);
      }
      rateScale = next;
    },
    slow: (ms) => {
      slowMs = Math.max(0, ms);
    },
    expireTokens: () => {
      tokenGeneration++;
    },
    rotateSecret: (s) => {
      appSecret = s;
    },
    counters: () => structuredClone(counters),
    resetCounters: () => {
      counters = freshCounters();
      log.length = 0;
    },
    requests: () => log.map((l) => ({ ...l, skus: [...l.skus] })),
    priceOf: (sku) => listings.get(sku)?.sellingPrice,
    snapshot: () =>
      Object.fromEntries(
        [...listings.values()].map((l) => {
          const locations = Object.fromEntries([...l.locations].map(([id, s]) => [id, { ...s }]));
          const quantity = [...l.locations.values()]
            .filter((s) => s.status === 'ENABLED')
            .reduce((sum, s) => sum + s.inventory, 0);
          const snap: FlipkartListingSnapshot = {
            productId: l.productId,
            price: l.sellingPrice,
            mrp: l.mrp,
            quantity,
            locations,
            status: l.status,
          };
          return [l.sku, snap];
        }),
      ),
    seed,
  };

  let baseUrl: string | null = null;
  return {
    get url(): string {
      if (baseUrl === null) throw new Error('flipkart sandbox: not started');
      return baseUrl;
    },
    control,
    async start(port = 0): Promise<string> {
      baseUrl = await listen(app, 'flipkart', port, opts.host ?? '127.0.0.1');
      return baseUrl;
    },
    async stop(): Promise<void> {
      await app.close();
    },
  };
}

// Helpers -------------------------------------------------------------------------------------

function decodeList(raw: string): string[] | 'malformed' {
  try {
    return raw.split(',').map((s) => decodeURIComponent(s));
  } catch {
    return 'malformed';
  }
}

function failure(errors: SkuError[]): SkuAnswer {
  return { status: 'FAILURE', errors, attribute_errors: [] };
}

function attrError(code: number, description: string, attribute: string): SkuError {
  return { severity: 'ERROR', code, description, attribute, path: attribute };
}

function oauthError(status: number, error: string, description: string): Reply {
  return { status, body: { error, error_description: description } };
}

function errorsBody(status: number, description: string) {
  return { errors: [{ severity: 'ERROR', code: status, description }] };
}

function badRequest(description: string): Reply {
  return { status: 400, body: errorsBody(400, description) };
}

function serverError(status: number): Reply {
  return oauthError(
    status,
    status === 503 ? 'service_unavailable' : 'internal_server_error',
    'Sandbox: forced server error',
  );
}

function tooManyRequests(waitMs: number): Reply {
  return {
    status: 429,
    headers: { 'retry-after': String(Math.max(1, Math.ceil(waitMs / 1000))) },
    body: { error: 'too_many_requests', error_description: 'Request rate limit exceeded, retry later' },
  };
}

function freshCounters(): Record<FlipkartOperation, FlipkartOperationCounters> {
  const out = {} as Record<FlipkartOperation, FlipkartOperationCounters>;
  for (const op of FLIPKART_OPERATIONS) {
    out[op] = {
      calls: 0,
      ok: 0,
      throttled: 0,
      unauthorized: 0,
      clientErrors: 0,
      serverErrors: 0,
      skuSuccess: 0,
      skuWarning: 0,
      skuFailure: 0,
    };
  }
  return out;
}

function checkedScale(scale: number): number {
  if (!(scale > 0) || !Number.isFinite(scale)) throw new RangeError(`rateScale must be > 0, got ${scale}`);
  return scale;
}
