/**
 * A local Tata CliQ PartnerConnect for tests and demos, over real HTTP on 127.0.0.1. It serves the
 * observed URL grammar `/PartnerConnect/PC_{sellerId}/AP_{API}/[AVT_{type}/]AV_{ver}/OG_{n}/[filters]/`
 * and the [ASSUMED] contract of reference §3.2:
 *
 *  - POST `AP_INVENTORY/AV_1.0` `{"InventoryUpdate":{"Item":[{SKU, SlaveID, Inventory, SafetyStock}]}}`
 *  - POST `AP_PRICE/AV_1.0` `{"PriceUpdate":{"Item":[{SKU, MRP, SellingPrice}]}}`
 *  - GET  `AP_LISTING/AV_1.0/OG_1/SKU_{sku}/` → `{SKU, MRP, SellingPrice, Inventory:[{SlaveID, Inventory}], Status}`
 *
 * Updates answer HTTP 200 with `{status: SUCCESS|PARTIAL_SUCCESS|FAILURE, Item:[{SKU, SlaveID?,
 * status, errorCode?, errorMessage?}]}` and validate each item on its own (values must be strings,
 * as observed: integer inventory ≥ 0, prices > 0, selling price ≤ MRP). Errors are
 * `{"status":"FAILURE","errorCode","errorMessage"}`: 401 for a missing/expired bearer token, 403
 * for another seller, 400 for a malformed body or more than `maxItemsPerCall` items, 404 for an
 * unknown API or SKU, 429 with `Retry-After` when throttled.
 *
 * With `autoCreateSkus` (default) every SKU is "already in the catalogue" (the demo's retailer
 * created them in the seller portal); otherwise only `catalogue` SKUs exist and others FAILURE.
 */
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
import {
  DEFAULT_MAX_BATCH_ITEMS,
  TATACLIQ_RATE_LIMITS,
  type TataCliqOperation,
  type TataCliqOrderOperation,
} from './limits.js';
import { createTataCliqOrderBook, type TataCliqSandboxOrderControl } from './sandbox-orders.js';
import { formatSlaveIds } from './slave-ids.js';

/** What the sandbox accepts by default, and what tataCliqSandboxEnv points marketbridge at. */
export const TATACLIQ_SANDBOX = {
  sellerId: '100421',
  token: 'tatacliq-sandbox-bearer-token',
  /** OMS locations of the sample feed → sandbox SlaveIDs. */
  slaveIds: {
    'STORE-MUM-003': '100421MUM003',
    'STORE-BLR-014': '100421BLR014',
    'DC-DEL-01': '100421DEL001',
  } as Readonly<Record<string, string>>,
  defaultSlaveId: '100421DEL001',
} as const;

/** The environment that points marketbridge at a sandbox listening on `url` (see loadConfig). */
export function tataCliqSandboxEnv(url: string): Record<string, string> {
  return {
    TATACLIQ_BASE_URL: `${url.replace(/\/+$/, '')}/PartnerConnect`,
    TATACLIQ_SELLER_ID: TATACLIQ_SANDBOX.sellerId,
    TATACLIQ_TOKEN: TATACLIQ_SANDBOX.token,
    TATACLIQ_SLAVE_IDS: formatSlaveIds(TATACLIQ_SANDBOX.slaveIds),
    TATACLIQ_DEFAULT_SLAVE_ID: TATACLIQ_SANDBOX.defaultSlaveId,
  };
}

export interface TataCliqSandboxOptions {
  clock?: Clock;
  host?: string;
  sellerId?: string;
  /** The static bearer token it accepts (until `control.expireToken()`). */
  token?: string;
  /** Known SlaveIDs; others FAILURE. Default: any non-empty SlaveID. */
  slaveIds?: Iterable<string>;
  /** Unknown SKUs are created on first update. Default true. */
  autoCreateSkus?: boolean;
  /** SKUs that exist from the start. */
  catalogue?: Iterable<string>;
  /** Items per update call; more → 400. Default 50. */
  maxItemsPerCall?: number;
  /** Token buckets per operation: true = TATACLIQ_RATE_LIMITS, or explicit limits. Off by default. */
  rateLimits?: boolean | Partial<Record<TataCliqOperation, RateLimit>>;
  /** Multiplies the rates of `rateLimits`. Default 1. */
  rateScale?: number;
  /** Token buckets for the order operations: true = TATACLIQ_ORDER_RATE_LIMITS. Off by default. */
  orderRateLimits?: boolean | Partial<Record<TataCliqOrderOperation, RateLimit>>;
  /** Persist listings here (atomic rewrite on every change). Orders are not persisted. */
  stateFile?: string;
  bodyLimitBytes?: number;
}

export interface TataCliqOperationCounters {
  calls: number;
  ok: number;
  throttled: number;
  unauthorized: number;
  clientErrors: number;
  serverErrors: number;
  /** Items received in update calls. */
  items: number;
  /** Items answered FAILURE. */
  itemFailures: number;
}

export interface TataCliqListingSnapshot {
  price?: number;
  mrp?: number;
  /** Inventory by SlaveID. */
  inventory: Record<string, number>;
  total: number;
}

export interface TataCliqSandboxRequest {
  at: number;
  operation: TataCliqOperation | TataCliqOrderOperation | 'unknown';
  /** SKUs of the items (updates) or the SKU read; for order calls: orderNo / transactionIds. */
  skus: string[];
  status: number;
}

export interface TataCliqSandboxControl extends TataCliqSandboxOrderControl {
  /** Updates of these SKUs answer FAILURE (replaces the previous set; empty to clear). */
  failSkus(skus: Iterable<string>): void;
  /** The next `n` API requests answer `status` (default 500) without effect. */
  failNext(n: number, status?: number): void;
  /** Every API request answers 429 with Retry-After for `ms`. */
  throttleFor(ms: number): void;
  /** Every token accepted so far (the static one too) is now rejected with 401. */
  expireToken(): void;
  /** A new valid token (what a minting TokenProvider would obtain). */
  issueToken(): string;
  counters(): Record<TataCliqOperation, TataCliqOperationCounters>;
  resetCounters(): void;
  /** Every API request, oldest first (bounded to the last 10,000). */
  requests(): TataCliqSandboxRequest[];
  /** Adds SKUs to the catalogue (for autoCreateSkus: false). */
  addSkus(skus: Iterable<string>): void;
  /** Listings by SKU. */
  snapshot(): Record<string, TataCliqListingSnapshot>;
}

export interface TataCliqSandbox {
  /** `http://127.0.0.1:<port>` (the API is under `/PartnerConnect`); only valid after start(). */
  readonly url: string;
  start(port?: number): Promise<string>;
  stop(): Promise<void>;
  readonly control: TataCliqSandboxControl;
}

// ---------------------------------------------------------------------------------------------

interface StoredListing {
  sku: string;
  mrp?: number;
  price?: number;
  inventory: Record<string, number>;
  safetyStock: Record<string, number>;
}

interface PersistedState {
  version: 1;
  listings: StoredListing[];
}

interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

interface ItemAnswer {
  SKU: string;
  SlaveID?: string;
  status: 'SUCCESS' | 'FAILURE';
  errorCode?: string;
  errorMessage?: string;
}

const OPS: readonly TataCliqOperation[] = ['updateInventory', 'updatePrice', 'getListing'];
const REQUEST_LOG_MAX = 10_000;
const WHOLE = /^\s*\d+(\.0+)?\s*$/;
const DECIMAL = /^\s*\d+(\.\d{1,2})?\s*$/;

export function createTataCliqSandbox(opts: TataCliqSandboxOptions = {}): TataCliqSandbox {
  const clock = opts.clock ?? systemClock;
  const sellerId = opts.sellerId ?? TATACLIQ_SANDBOX.sellerId;
  const knownSlaves = opts.slaveIds ? new Set(opts.slaveIds) : null;
  const autoCreate = opts.autoCreateSkus ?? true;
  const maxItems = opts.maxItemsPerCall ?? DEFAULT_MAX_BATCH_ITEMS;
  const rateScale = opts.rateScale ?? 1;
  const limits: Partial<Record<TataCliqOperation, RateLimit>> =
    opts.rateLimits === true ? { ...TATACLIQ_RATE_LIMITS } : opts.rateLimits ? { ...opts.rateLimits } : {};

  // State ---------------------------------------------------------------------------------------
  const listings = new Map<string, StoredListing>();
  const catalogue = new Set(opts.catalogue ?? []);
  let validTokens = new Set([opts.token ?? TATACLIQ_SANDBOX.token]);
  let failing = new Set<string>();
  const forcedFailures: { remaining: number; status: number }[] = [];
  let stormUntil = 0;
  const buckets = new Map<TataCliqOperation, SandboxBucket>();
  let counters = freshCounters();
  const log: TataCliqSandboxRequest[] = [];
  const orderBook = createTataCliqOrderBook({
    clock,
    sellerId,
    slaveId: TATACLIQ_SANDBOX.defaultSlaveId,
    rateLimits: opts.orderRateLimits,
    rateScale,
  });

  function record(
    op: TataCliqOperation | TataCliqOrderOperation | 'unknown',
    skus: string[],
    status: number,
  ): void {
    log.push({ at: clock.now(), operation: op, skus, status });
    if (log.length > REQUEST_LOG_MAX) log.splice(0, log.length - REQUEST_LOG_MAX);
    if (op === 'unknown') return;
    if (!isListingOperation(op)) {
      orderBook.count(op, status);
      return;
    }
    const c = counters[op];
    c.calls++;
    if (status === 429) c.throttled++;
    else if (status === 401 || status === 403) c.unauthorized++;
    else if (status >= 500) c.serverErrors++;
    else if (status >= 400 && !(status === 404 && op === 'getListing')) c.clientErrors++;
    else c.ok++;
  }

  // Persistence ---------------------------------------------------------------------------------
  function persist(): void {
    if (!opts.stateFile) return;
    const state: PersistedState = { version: 1, listings: [...listings.values()] };
    writeStateFile(opts.stateFile, state);
  }

  function load(): void {
    const state = opts.stateFile ? readStateFile<PersistedState>(opts.stateFile) : undefined;
    if (!state) return;
    listings.clear();
    for (const l of state.listings) listings.set(l.sku, l);
  }

  // Throttling ----------------------------------------------------------------------------------
  /** Milliseconds to wait when throttled now, or 0. */
  function throttle(op: TataCliqOperation): number {
    const now = clock.now();
    if (stormUntil > now) return stormUntil - now;
    const limit = limits[op];
    if (!limit) return 0;
    return takeToken(buckets, op, limit.rate * rateScale, limit.burst, now);
  }

  function forcedFailure(): number | null {
    const f = forcedFailures.find((x) => x.remaining > 0);
    if (!f) return null;
    f.remaining--;
    return f.status;
  }

  // Items ---------------------------------------------------------------------------------------
  function exists(sku: string): boolean {
    return listings.has(sku) || catalogue.has(sku) || autoCreate;
  }

  function listingOf(sku: string): StoredListing {
    let l = listings.get(sku);
    if (!l) {
      l = { sku, inventory: {}, safetyStock: {} };
      listings.set(sku, l);
    }
    return l;
  }

  function failure(SKU: string, errorCode: string, errorMessage: string, SlaveID?: string): ItemAnswer {
    return SlaveID === undefined
      ? { SKU, status: 'FAILURE', errorCode, errorMessage }
      : { SKU, SlaveID, status: 'FAILURE', errorCode, errorMessage };
  }

  /** Common checks of one item: SKU present, not forced to fail, in the catalogue. */
  function checkSku(raw: Record<string, unknown>, slave?: string): ItemAnswer | string {
    const sku = raw.SKU;
    if (typeof sku !== 'string' || sku === '') {
      return failure(String(sku ?? ''), 'INVALID_SKU', 'SKU must be a non-empty string', slave);
    }
    if (failing.has(sku))
      return failure(sku, 'ITEM_REJECTED', `SKU ${sku} was rejected (sandbox failSkus)`, slave);
    if (!exists(sku)) {
      return failure(
        sku,
        'SKU_NOT_FOUND',
        `SKU ${sku} does not exist in the catalogue of seller ${sellerId}`,
        slave,
      );
    }
    return sku;
  }

  function inventoryItem(raw: unknown): ItemAnswer {
    if (!isObject(raw)) return failure('', 'INVALID_ITEM', 'Item must be an object');
    const slave = typeof raw.SlaveID === 'string' ? raw.SlaveID : undefined;
    const sku = checkSku(raw, slave);
    if (typeof sku !== 'string') return sku;
    if (slave === undefined || slave === '') {
      return failure(sku, 'INVALID_SLAVE_ID', 'SlaveID must be a non-empty string');
    }
    if (knownSlaves && !knownSlaves.has(slave)) {
      return failure(
        sku,
        'INVALID_SLAVE_ID',
        `SlaveID ${slave} is not a location of seller ${sellerId}`,
        slave,
      );
    }
    if (typeof raw.Inventory !== 'string' || !WHOLE.test(raw.Inventory)) {
      return failure(
        sku,
        'INVALID_INVENTORY',
        `Inventory must be a whole number >= 0 as a string, got ${JSON.stringify(raw.Inventory)}`,
        slave,
      );
    }
    const safety = raw.SafetyStock ?? '0';
    if (typeof safety !== 'string' || !WHOLE.test(safety)) {
      return failure(
        sku,
        'INVALID_SAFETY_STOCK',
        `SafetyStock must be a whole number >= 0 as a string, got ${JSON.stringify(raw.SafetyStock)}`,
        slave,
      );
    }
    const l = listingOf(sku);
    l.inventory[slave] = Number(raw.Inventory);
    l.safetyStock[slave] = Number(safety);
    return { SKU: sku, SlaveID: slave, status: 'SUCCESS' };
  }

  function priceItem(raw: unknown): ItemAnswer {
    if (!isObject(raw)) return failure('', 'INVALID_ITEM', 'Item must be an object');
    const sku = checkSku(raw);
    if (typeof sku !== 'string') return sku;
    const amount = (field: 'MRP' | 'SellingPrice'): number | undefined | string => {
      const v = raw[field];
      if (v === undefined) return undefined;
      if (typeof v !== 'string' || !DECIMAL.test(v) || !(Number(v) > 0)) {
        return `${field} must be a positive amount as a string, got ${JSON.stringify(v)}`;
      }
      return Number(v);
    };
    const mrp = amount('MRP');
    const price = amount('SellingPrice');
    if (typeof mrp === 'string') return failure(sku, 'INVALID_MRP', mrp);
    if (typeof price === 'string') return failure(sku, 'INVALID_PRICE', price);
    if (mrp === undefined && price === undefined) {
      return failure(sku, 'INVALID_PRICE', 'MRP or SellingPrice is required');
    }
    const current = listings.get(sku);
    const effectiveMrp = mrp ?? current?.mrp;
    const effectivePrice = price ?? current?.price;
    if (effectiveMrp === undefined)
      return failure(sku, 'INVALID_MRP', 'MRP is required for a SKU without one');
    if (effectivePrice !== undefined && effectivePrice > effectiveMrp) {
      return failure(sku, 'PRICE_ABOVE_MRP', `SellingPrice ${effectivePrice} is above MRP ${effectiveMrp}`);
    }
    const l = listingOf(sku);
    l.mrp = effectiveMrp;
    if (effectivePrice !== undefined) l.price = effectivePrice;
    return { SKU: sku, status: 'SUCCESS' };
  }

  function update(op: 'updateInventory' | 'updatePrice', body: unknown): { reply: Reply; skus: string[] } {
    const wrapper = op === 'updateInventory' ? 'InventoryUpdate' : 'PriceUpdate';
    const inner = isObject(body) ? body[wrapper] : undefined;
    const items = isObject(inner) ? inner.Item : undefined;
    if (!Array.isArray(items) || items.length === 0) {
      return {
        reply: error(
          400,
          'INVALID_REQUEST',
          `body must be {"${wrapper}":{"Item":[…]}} with at least one item`,
        ),
        skus: [],
      };
    }
    const skus = items.map((i) => (isObject(i) && typeof i.SKU === 'string' ? i.SKU : ''));
    if (items.length > maxItems) {
      return {
        reply: error(400, 'TOO_MANY_ITEMS', `at most ${maxItems} items per call, got ${items.length}`),
        skus,
      };
    }
    const answers = items.map(op === 'updateInventory' ? inventoryItem : priceItem);
    const failed = answers.filter((a) => a.status === 'FAILURE').length;
    counters[op].items += items.length;
    counters[op].itemFailures += failed;
    if (failed < answers.length) persist();
    const status = failed === 0 ? 'SUCCESS' : failed === answers.length ? 'FAILURE' : 'PARTIAL_SUCCESS';
    return { reply: { status: 200, body: { status, Item: answers } }, skus };
  }

  function listingBody(l: StoredListing) {
    const body: Record<string, unknown> = { SKU: l.sku };
    if (l.mrp !== undefined) body.MRP = money(l.mrp);
    if (l.price !== undefined) body.SellingPrice = money(l.price);
    body.Inventory = Object.entries(l.inventory).map(([SlaveID, n]) => ({ SlaveID, Inventory: String(n) }));
    body.Status = 'ACTIVE';
    return body;
  }

  // HTTP ----------------------------------------------------------------------------------------
  const app: FastifyInstance = Fastify({ logger: false, bodyLimit: opts.bodyLimitBytes ?? 1024 * 1024 });
  app.removeContentTypeParser('text/plain');

  app.setErrorHandler((err: { statusCode?: number; message?: string }, _req, reply) => {
    const status = err.statusCode ?? 500;
    void reply
      .code(status)
      .send(failureBody(status < 500 ? 'INVALID_REQUEST' : 'INTERNAL_ERROR', err.message ?? 'error'));
  });
  app.setNotFoundHandler((_req, reply) => {
    void reply.code(404).send(failureBody('NOT_FOUND', 'Resource not found'));
  });

  /** The parsed URL grammar, or null when the path does not follow it. */
  function route(rawUrl: string): { seller: string; api: string; version: string; filters: string[] } | null {
    const path = rawUrl.split('?')[0] ?? '';
    let segments: string[];
    try {
      segments = path.split('/').slice(2).map(decodeURIComponent);
    } catch {
      return null;
    }
    if (segments.at(-1) === '') segments.pop();
    const [pc, ap, ...rest] = segments;
    if (!pc?.startsWith('PC_') || !ap?.startsWith('AP_')) return null;
    if (rest[0]?.startsWith('AVT_')) rest.shift();
    const av = rest.shift();
    const og = rest.shift();
    if (!av?.startsWith('AV_') || !og || !/^OG_\d+$/.test(og)) return null;
    return { seller: pc.slice(3), api: ap.slice(3), version: av.slice(3), filters: rest };
  }

  function operationOf(method: string, api: string, version: string): TataCliqOperation | null {
    if (method === 'POST' && api === 'INVENTORY' && version === '1.0') return 'updateInventory';
    if (method === 'POST' && api === 'PRICE' && version === '1.0') return 'updatePrice';
    if (method === 'GET' && api === 'LISTING' && version === '1.0') return 'getListing';
    return null;
  }

  async function handle(req: FastifyRequest, reply: FastifyReply) {
    const r = route(req.raw.url ?? '');
    const op = r ? operationOf(req.method, r.api, r.version) : null;
    const orderOp = r && op === null ? orderBook.operationOf(req.method, r.api, r.version, r.filters) : null;
    let skus: string[] = [];
    const send = (res: Reply) => {
      record(op ?? orderOp ?? 'unknown', skus, res.status);
      void reply.code(res.status);
      for (const [k, v] of Object.entries(res.headers ?? {})) void reply.header(k, v);
      return reply.send(res.body);
    };
    const auth = req.headers.authorization;
    const bearer =
      typeof auth === 'string' && /^Bearer\s+/i.test(auth) ? auth.replace(/^Bearer\s+/i, '') : null;
    if (bearer === null) return send(error(401, 'UNAUTHORIZED', 'Authorization: Bearer <token> is required'));
    if (!validTokens.has(bearer))
      return send(error(401, 'TOKEN_EXPIRED', 'The access token is invalid or has expired'));
    if (r === null || (op === null && orderOp === null)) {
      return send(error(404, 'NOT_FOUND', `no PartnerConnect API ${req.method} ${req.raw.url ?? ''}`));
    }
    if (r.seller !== sellerId)
      return send(error(403, 'FORBIDDEN', `the token is not valid for seller ${r.seller}`));
    if (orderOp !== null) {
      const now = clock.now();
      const wait = stormUntil > now ? stormUntil - now : orderBook.throttle(orderOp);
      if (wait > 0) {
        return send({
          ...error(429, 'TOO_MANY_REQUESTS', 'Rate limit exceeded, retry later'),
          headers: { 'retry-after': String(Math.max(1, Math.ceil(wait / 1000))) },
        });
      }
      const forcedOrder = forcedFailure();
      if (forcedOrder !== null) {
        return send(error(forcedOrder, 'INTERNAL_ERROR', `sandbox failNext (${forcedOrder})`));
      }
      const result = orderBook.handle(orderOp, r.filters, req.body);
      skus = result.ids;
      return send(result.reply);
    }
    if (op === null) return send(error(404, 'NOT_FOUND', 'no PartnerConnect API'));
    const wait = throttle(op);
    if (wait > 0) {
      return send({
        ...error(429, 'TOO_MANY_REQUESTS', 'Rate limit exceeded, retry later'),
        headers: { 'retry-after': String(Math.max(1, Math.ceil(wait / 1000))) },
      });
    }
    const forced = forcedFailure();
    if (forced !== null) return send(error(forced, 'INTERNAL_ERROR', `sandbox failNext (${forced})`));
    if (op === 'getListing') {
      const f = r.filters.find((s) => s.startsWith('SKU_'));
      const sku = f?.slice(4) ?? '';
      skus = [sku];
      if (r.filters.length !== 1 || sku === '')
        return send(error(400, 'INVALID_REQUEST', 'expected …/OG_1/SKU_{sku}/'));
      const l = listings.get(sku);
      if (!l) return send(error(404, 'SKU_NOT_FOUND', `SKU ${sku} not found for seller ${sellerId}`));
      return send({ status: 200, body: listingBody(l) });
    }
    if (r.filters.length > 0)
      return send(error(404, 'NOT_FOUND', `unexpected path filters ${r.filters.join('/')}`));
    const result = update(op, req.body);
    skus = result.skus;
    return send(result.reply);
  }

  app.route({ method: ['GET', 'POST'], url: '/PartnerConnect/*', handler: handle });

  // Control & lifecycle -------------------------------------------------------------------------
  const control: TataCliqSandboxControl = {
    ...orderBook.control,
    failSkus: (s) => {
      failing = new Set(s);
    },
    failNext: (n, status = 500) => {
      forcedFailures.push({ remaining: n, status });
    },
    throttleFor: (ms) => {
      stormUntil = Math.max(stormUntil, clock.now() + ms);
    },
    expireToken: () => {
      validTokens = new Set();
    },
    issueToken: () => {
      const t = `cliq-${randomUUID()}`;
      validTokens.add(t);
      return t;
    },
    counters: () => structuredClone(counters),
    resetCounters: () => {
      counters = freshCounters();
      orderBook.resetCounters();
      log.length = 0;
    },
    requests: () => log.map((r) => ({ ...r, skus: [...r.skus] })),
    addSkus: (s) => {
      for (const sku of s) catalogue.add(sku);
    },
    snapshot: () => {
      const out: Record<string, TataCliqListingSnapshot> = {};
      for (const l of listings.values()) {
        const snap: TataCliqListingSnapshot = {
          inventory: { ...l.inventory },
          total: Object.values(l.inventory).reduce((a, b) => a + b, 0),
        };
        if (l.price !== undefined) snap.price = l.price;
        if (l.mrp !== undefined) snap.mrp = l.mrp;
        out[l.sku] = snap;
      }
      return out;
    },
  };

  let baseUrl: string | null = null;
  return {
    get url(): string {
      if (baseUrl === null) throw new Error('tatacliq sandbox: not started');
      return baseUrl;
    },
    control,
    async start(port = 0): Promise<string> {
      load();
      baseUrl = await listen(app, 'tatacliq', port, opts.host ?? '127.0.0.1');
      return baseUrl;
    },
    async stop(): Promise<void> {
      await app.close();
    },
  };
}

function error(status: number, errorCode: string, errorMessage: string): Reply {
  return { status, body: failureBody(errorCode, errorMessage) };
}

function failureBody(errorCode: string, errorMessage: string) {
  return { status: 'FAILURE', errorCode, errorMessage };
}

function money(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}

function isListingOperation(op: TataCliqOperation | TataCliqOrderOperation): op is TataCliqOperation {
  return (OPS as readonly string[]).includes(op);
}

function freshCounters(): Record<TataCliqOperation, TataCliqOperationCounters> {
  const out = {} as Record<TataCliqOperation, TataCliqOperationCounters>;
  for (const op of OPS) {
    out[op] = {
      calls: 0,
      ok: 0,
      throttled: 0,
      unauthorized: 0,
      clientErrors: 0,
      serverErrors: 0,
      items: 0,
      itemFailures: 0,
    };
  }
  return out;
}
