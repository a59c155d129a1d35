/**
 * Flipkart Seller API v3 shipment calls (reference §2.5–2.7), a sibling of FlipkartClient that
 * shares its OAuth token and its per-operation limiters (one account, one token, one set of
 * buckets).
 *
 * Contract as FlipkartClient's: every request goes through the operation's limiter and is recorded
 * (marketplace 'flipkart'); a 401 drops the shared token, one new token is requested and only that
 * request is replayed once (§4 F19); 429/5xx/408/499/timeouts throw RetryableError (never retried
 * here), other 4xx TerminalError. Batch calls (labels, dispatch, cancel) answer HTTP 200 with a
 * status per shipment (§2.3, §4 F15): returned as `ShipmentResults`, never thrown.
 */
import type { Clock } from '../../core/clock.js';
import { systemClock } from '../../core/clock.js';
import { RetryableError, TerminalError } from '../../core/errors.js';
import { storableText } from '../../core/text.js';
import type { CallPriority } from '../../domain/types.js';
import {
  type FetchedResponse,
  type FetchLike,
  parseJson,
  parseRetryAfter,
  sendJson,
  throttledError,
} from '../http.js';
import { CALL_PRIORITY } from '../limits.js';
import type { CallRecorder } from '../types.js';
import { noopRecorder } from '../types.js';
import { FLIPKART_ERROR_CODES, type FlipkartCallOptions, type FlipkartClient } from './client.js';
import type { FlipkartOperation } from './limits.js';
import {
  type CancelShipmentRequest,
  type FlipkartShipment,
  type LabelRequest,
  MAX_IDS_PER_LOOKUP,
  MAX_SELF_SHIP_PER_CALL,
  MAX_SHIPMENTS_PER_ACTION,
  parseShipmentResults,
  type SelfShipDispatch,
  SHIPMENTS_V3_PATH,
  ShipmentListSchema,
  type ShipmentPage,
  ShipmentPageSchema,
  type ShipmentResults,
  type ShipmentSearch,
} from './orders-types.js';

/** The shipment operations as the order source and actions use them (the client, or a fake). */
export interface FlipkartOrdersApi {
  /** POST /v3/shipments/filter: the first page. */
  searchShipments(search: ShipmentSearch, opts?: FlipkartCallOptions): Promise<ShipmentPage>;
  /** GET the `nextPageUrl` of the previous page, as-is. */
  nextShipmentsPage(nextPageUrl: string, opts?: FlipkartCallOptions): Promise<ShipmentPage>;
  /** GET /v3/shipments?orderIds=… or ?shipmentIds=… (≤ 100 per request, split as needed). */
  getShipments(
    ids: { orderIds: string[] } | { shipmentIds: string[] },
    opts?: FlipkartCallOptions,
  ): Promise<FlipkartShipment[]>;
  /** POST /v3/shipments/labels (async: the shipment goes PACKING_IN_PROGRESS → PACKED). */
  generateLabels(requests: LabelRequest[], opts?: FlipkartCallOptions): Promise<ShipmentResults>;
  /** POST /v3/shipments/dispatch: Flipkart-logistics shipments → READY_TO_DISPATCH. */
  dispatch(shipmentIds: string[], locationId: string, opts?: FlipkartCallOptions): Promise<ShipmentResults>;
  /** POST /v3/shipments/selfShip/dispatch: seller-shipped shipments → SHIPPED with tracking. */
  selfShipDispatch(shipments: SelfShipDispatch[], opts?: FlipkartCallOptions): Promise<ShipmentResults>;
  /** POST /v3/shipments/cancel (only before PACKED; refused per shipment afterwards). */
  cancelShipments(requests: CancelShipmentRequest[], opts?: FlipkartCallOptions): Promise<ShipmentResults>;
}

export interface FlipkartOrdersClientOptions {
  /** The listings client of the same account: its token and limiters are shared. */
  client: FlipkartClient;
  /** Seller API base including `/sellers` (as the client's). */
  baseUrl: string;
  fetch?: FetchLike;
  clock?: Clock;
  recorder?: CallRecorder;
  /** Per HTTP request. Default 60 s (Flipkart's advice for order-management APIs, §2.1). */
  requestTimeoutMs?: number;
  userAgent?: string;
}

const DEFAULT_USER_AGENT = `marketbridge/0.1.0 (Node.js/${process.versions.node})`;

type Outcome = { kind: 'ok'; res: FetchedResponse } | { kind: 'unauthorized' };

export class FlipkartOrdersClient implements FlipkartOrdersApi {
  private readonly client: FlipkartClient;
  private readonly baseUrl: string;
  private readonly fetchFn: FetchLike;
  private readonly clock: Clock;
  private readonly recorder: CallRecorder;
  private readonly timeoutMs: number;
  private readonly userAgent: string;

  constructor(opts: FlipkartOrdersClientOptions) {
    this.client = opts.client;
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.fetchFn = opts.fetch ?? ((input, init) => fetch(input, init));
    this.clock = opts.clock ?? systemClock;
    this.recorder = opts.recorder ?? noopRecorder;
    this.timeoutMs = opts.requestTimeoutMs ?? 60_000;
    this.userAgent = opts.userAgent ?? DEFAULT_USER_AGENT;
  }

  async searchShipments(search: ShipmentSearch, opts: FlipkartCallOptions = {}): Promise<ShipmentPage> {
    const body: Record<string, unknown> = {
      filter: search.filter,
      pagination: { pageSize: search.pageSize ?? 20 },
    };
    if (search.sort) body.sort = search.sort;
    const key = [search.filter.type, search.filter.cancellationType ?? search.filter.states?.join(',')]
      .filter(Boolean)
      .join(':');
    const res = await this.call(
      'searchShipments',
      'POST',
      `${this.baseUrl}${SHIPMENTS_V3_PATH}/filter`,
      key,
      body,
      opts,
      'read',
    );
    return toPage(res);
  }

  async nextShipmentsPage(nextPageUrl: string, opts: FlipkartCallOptions = {}): Promise<ShipmentPage> {
    const url = this.resolveNext(nextPageUrl);
    const res = await this.call('searchShipments', 'GET', url, 'nextPage', undefined, opts, 'read');
    return toPage(res);
  }

  async getShipments(
    ids: { orderIds: string[] } | { shipmentIds: string[] },
    opts: FlipkartCallOptions = {},
  ): Promise<FlipkartShipment[]> {
    const [param, list] = 'orderIds' in ids ? ['orderIds', ids.orderIds] : ['shipmentIds', ids.shipmentIds];
    const unique = [...new Set(list)].filter((id) => id !== '' && !id.includes(','));
    const out: FlipkartShipment[] = [];
    for (const chunk of chunks(unique, MAX_IDS_PER_LOOKUP)) {
      const u = new URL(`${this.baseUrl}${SHIPMENTS_V3_PATH}`);
      u.searchParams.set(param, chunk.join(','));
      const res = await this.call('getShipments', 'GET', u.href, key(chunk), undefined, opts, 'read');
      if (res.status === 404) continue;
      const parsed = ShipmentListSchema.safeParse(parseJson(res.text));
      if (parsed.success) out.push(...parsed.data);
    }
    return out;
  }

  async generateLabels(requests: LabelRequest[], opts: FlipkartCallOptions = {}): Promise<ShipmentResults> {
    return this.batch('generateLabels', '/labels', requests, MAX_SHIPMENTS_PER_ACTION, opts, (chunk) => ({
      shipments: chunk,
    }));
  }

  async dispatch(
    shipmentIds: string[],
    locationId: string,
    opts: FlipkartCallOptions = {},
  ): Promise<ShipmentResults> {
    const items = shipmentIds.map((shipmentId) => ({ shipmentId }));
    return this.batch('dispatchShipments', '/dispatch', items, MAX_SHIPMENTS_PER_ACTION, opts, (chunk) => ({
      shipmentIds: chunk.map((c) => c.shipmentId),
      locationId,
    }));
  }

  async selfShipDispatch(
    shipments: SelfShipDispatch[],
    opts: FlipkartCallOptions = {},
  ): Promise<ShipmentResults> {
    return this.batch(
      'dispatchShipments',
      '/selfShip/dispatch',
      shipments,
      MAX_SELF_SHIP_PER_CALL,
      opts,
      (chunk) => ({
        shipments: chunk,
      }),
    );
  }

  async cancelShipments(
    requests: CancelShipmentRequest[],
    opts: FlipkartCallOptions = {},
  ): Promise<ShipmentResults> {
    return this.batch('cancelShipments', '/cancel', requests, MAX_SHIPMENTS_PER_ACTION, opts, (chunk) => ({
      shipments: chunk,
    }));
  }

  // ---------------------------------------------------------------------------------------------

  /** `nextPageUrl` is relative to `/sellers` (§2.5); an absolute URL must stay on our origin. */
  private resolveNext(nextPageUrl: string): string {
    const base = new URL(this.baseUrl);
    if (/^https?:\/\//i.test(nextPageUrl)) {
      const u = new URL(nextPageUrl);
      if (u.origin !== base.origin) {
        throw new TerminalError(`flipkart:searchShipments: nextPageUrl on another origin (${u.origin})`, {
          code: FLIPKART_ERROR_CODES.badRequest,
        });
      }
      return u.href;
    }
    const path = nextPageUrl.startsWith('/') ? nextPageUrl : `/${nextPageUrl}`;
    if (path.startsWith(`${base.pathname.replace(/\/+$/, '')}/`)) return `${base.origin}${path}`;
    return `${this.baseUrl}${path}`;
  }

  private async batch<T extends { shipmentId: string }>(
    op: FlipkartOperation,
    suffix: string,
    items: T[],
    max: number,
    opts: FlipkartCallOptions,
    body: (chunk: T[]) => unknown,
  ): Promise<ShipmentResults> {
    const out: ShipmentResults = new Map();
    for (const chunk of chunks(items, max)) {
      const ids = chunk.map((c) => c.shipmentId);
      const res = await this.call(
        op,
        'POST',
        `${this.baseUrl}${SHIPMENTS_V3_PATH}${suffix}`,
        key(ids),
        body(chunk),
        opts,
        'urgent',
      );
      for (const [id, r] of parseShipmentResults(parseJson(res.text), ids)) out.set(id, r);
    }
    return out;
  }

  private async call(
    op: FlipkartOperation,
    method: string,
    url: string,
    entityKey: string,
    body: unknown,
    opts: FlipkartCallOptions,
    defaultPriority: CallPriority,
  ): Promise<FetchedResponse> {
    const p = opts.priority ?? defaultPriority;
    const priority = typeof p === 'number' ? p : CALL_PRIORITY[p];
    const limiter = this.client.limiter(op);
    for (let attempt = 1; ; attempt++) {
      limiter.throwIfPaused();
      const token = await this.client.accessToken();
      const outcome = await limiter.schedule(priority, (ticket) =>
        this.send(op, method, url, entityKey, body, token, attempt, ticket, opts.signal),
      );
      if (outcome.kind === 'ok') return outcome.res;
      this.client.invalidateToken(token);
      if (attempt >= 2) {
        throw new RetryableError(`${op}: access token rejected (401) again after a new token`, {
          status: 401,
        });
      }
    }
  }

  private send(
    op: FlipkartOperation,
    method: string,
    url: string,
    entityKey: string,
    body: unknown,
    token: string,
    attempt: number,
    ticket: number,
    signal: AbortSignal | undefined,
  ): Promise<Outcome> {
    const limiter = this.client.limiter(op);
    const http = {
      fetchFn: this.fetchFn,
      clock: this.clock,
      recorder: this.recorder,
      userAgent: this.userAgent,
    };
    const request = {
      call: {
        marketplace: 'flipkart' as const,
        operation: op,
        entityKey: storableText(entityKey, 2000),
        attempt,
      },
      method,
      url,
      auth: { authorization: `Bearer ${token}` },
      body,
      contentType: 'application/json; charset=utf-8',
      limiter,
      ticket,
      timeoutMs: this.timeoutMs,
      signal,
    };
    return sendJson(http, request, (res, call): Outcome => {
      if (res.status >= 200 && res.status < 300) return { kind: 'ok', res };
      if (res.status === 404 && method === 'GET' && op === 'getShipments') return { kind: 'ok', res };
      call.error = describe(res);
      if (res.status === 401) return { kind: 'unauthorized' };
      if (res.status === 429) {
        const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'), this.clock.now());
        throw throttledError(`flipkart:${op}`, call, limiter, ticket, retryAfterMs);
      }
      if (res.status >= 500 || res.status === 408 || res.status === 499) {
        throw new RetryableError(`flipkart:${op}: ${call.error}`, { status: res.status });
      }
      const code =
        res.status === 403
          ? FLIPKART_ERROR_CODES.forbidden
          : res.status === 404
            ? FLIPKART_ERROR_CODES.notFound
            : FLIPKART_ERROR_CODES.badRequest;
      throw new TerminalError(`flipkart:${op}: ${call.error}`, { code, status: res.status });
    });
  }
}

/**
 * Forgets the shared access token after a 401 so the next `accessToken()` requests a new one.
 * FlipkartClient has no public way to do this yet (src/marketplaces/flipkart/client.ts is not ours
 * to change): an `invalidateToken(token)` method is used when it exists, else its cached token is
 * cleared when it is still the rejected one (as its own 401 path does).
 */

function toPage(res: FetchedResponse): ShipmentPage {
  const parsed = ShipmentPageSchema.safeParse(parseJson(res.text));
  if (!parsed.success) {
    throw new RetryableError(`flipkart:searchShipments: unreadable page [HTTP ${res.status}]`, {
      status: res.status,
    });
  }
  const next = parsed.data.nextPageUrl ?? null;
  const hasMore = parsed.data.hasMore && next !== null && next !== '';
  return { shipments: parsed.data.shipments, hasMore, nextPageUrl: hasMore ? next : null };
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function key(ids: string[]): string {
  return ids.length === 1 ? ids[0]! : JSON.stringify(ids);
}

function describe(res: FetchedResponse): string {
  const json = parseJson(res.text);
  if (typeof json === 'object' && json !== null) {
    const o = json as Record<string, unknown>;
    if (typeof o.error === 'string') {
      const d = typeof o.error_description === 'string' ? `: ${o.error_description}` : '';
      return `${o.error}${d} [HTTP ${res.status}]`;
    }
    if (Array.isArray(o.errors)) {
      const errors = o.errors
        .map((e) => {
          const x = (typeof e === 'object' && e !== null ? e : {}) as Record<string, unknown>;
          return [x.code, x.description ?? x.message].filter((v) => v !== undefined).join(': ');
        })
        .join('; ');
      return `${errors} [HTTP ${res.status}]`;
    }
  }
  const text = res.text.trim();
  return text === '' ? `HTTP ${res.status}` : `${storableText(text, 200)} [HTTP ${res.status}]`;
}
