/**
 * Flipkart Seller API v3 shipment calls (reference §2.5–2.7), a sibling of FlipkartClient that
 * shares its OAuth token and its per-operation limiters (one account, one token, one set of
 * buckets).
 *
 * Contract as FlipkartClient's, whose `request` it uses (its fetch, clock and recorder too): every
 * request goes through the operation's limiter and is recorded
 * (marketplace 'flipkart'); a 401 drops the shared token, one new token is requested and only that
 * request is replayed once (§4 F19); 429/5xx/408/499/timeouts throw RetryableError (never retried
 * here), other 4xx TerminalError. Batch calls (labels, dispatch, cancel) answer HTTP 200 with a
 * status per shipment (§2.3, §4 F15): returned as `ShipmentResults`, never thrown.
 */
import { RetryableError, TerminalError } from '../../core/errors.js';
import type { CallPriority } from '../../domain/types.js';
import { type FetchedResponse, parseJson } from '../http.js';
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
  /** Per HTTP request. Default 60 s (Flipkart's advice for order-management APIs, §2.1). */
  requestTimeoutMs?: number;
}

export class FlipkartOrdersClient implements FlipkartOrdersApi {
  private readonly client: FlipkartClient;
  private readonly baseUrl: string;
  private readonly timeoutMs: number;

  constructor(opts: FlipkartOrdersClientOptions) {
    this.client = opts.client;
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = opts.requestTimeoutMs ?? 60_000;
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

  /** A GET 404 is an answer only for getShipments (unknown ids); elsewhere it is terminal. */
  private call(
    op: FlipkartOperation,
    method: string,
    url: string,
    entityKey: string,
    body: unknown,
    opts: FlipkartCallOptions,
    defaultPriority: CallPriority,
  ): Promise<FetchedResponse> {
    return this.client.request(op, method, url, entityKey, body, opts, defaultPriority, {
      timeoutMs: this.timeoutMs,
      notFoundIsAnswer: op === 'getShipments',
    });
  }
}

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
