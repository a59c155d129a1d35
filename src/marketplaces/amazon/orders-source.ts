/**
 * New and changed Amazon orders for the order poller (OrderSource), from searchOrders
 * (Orders API 2026-01-01) by `lastUpdatedAfter`, never `createdAfter`, so status changes and
 * buyer cancellation requests are seen (§4 F10, F21).
 *
 * Windows: each poll without a pagination token opens a window [checkpoint, upper bound]. The
 * upper bound stays `minLagMs` (default 2 min 30 s) behind the SERVER's clock, estimated from the
 * `Date` header of the client's previous answer (F12); before any answer the local clock is used
 * with an extra margin. A finished window moves the checkpoint to its upper bound minus `overlapMs`
 * (default 5 min), so orders that become visible late, with a lastUpdatedTime before the previous
 * upper bound, are still caught (F11). Orders therefore repeat across windows and pages; the poller
 * dedupes them by order id and what changed.
 *
 * Pages: while Amazon returns a pagination token, the cursor holds it with the window's bounds
 * (Amazon wants every filter resent unchanged) and `more` is true. A rejected token (expired after
 * 24 h, not decodable, F14) restarts the same window from its checkpoint.
 */
import type { Clock } from '../../core/clock.js';
import { systemClock } from '../../core/clock.js';
import { TerminalError } from '../../core/errors.js';
import type { CallPriority, MarketplaceId } from '../../domain/types.js';
import type { OrderPage, OrderSource, PollOptions } from '../orders.js';
import type { AmazonCallOptions } from './client.js';
import {
  AmazonSearchOrdersRejected,
  type OrdersIncludedData,
  type SearchOrdersParams,
  type SearchOrdersResponse,
  toMarketplaceOrder,
} from './orders.js';

/** What the order source needs of the orders client (the client, or a fake in tests). */
export interface SearchOrdersApi {
  searchOrders(params: SearchOrdersParams, opts?: AmazonCallOptions): Promise<SearchOrdersResponse>;
  /** The server's time now as last seen in a `Date` header; null before any answer. */
  serverNow(): number | null;
}

export interface AmazonOrderSourceOptions {
  orders: SearchOrdersApi;
  clock?: Clock;
  /** How far the next window reaches back before the previous upper bound. Default 5 min. */
  overlapMs?: number;
  /** Distance of the upper bound behind the server's clock (Amazon: at least 2 min). Default 150 s. */
  minLagMs?: number;
  /** Extra distance while the server's clock is unknown (first call: local clock). Default 60 s. */
  unknownClockMarginMs?: number;
  /** Default 100 (Amazon's maximum). */
  maxResultsPerPage?: number;
  includedData?: readonly OrdersIncludedData[];
  /** Default ['MERCHANT']. */
  fulfilledBy?: SearchOrdersParams['fulfilledBy'];
  priority?: CallPriority;
}

/**
 * The poll position. `after` is the window's checkpoint (lastUpdatedAfter). While a window is
 * being paged, `before` is its upper bound and `token` the next page's pagination token; without
 * them, the next poll opens a new window from `after`.
 */
export interface AmazonOrderCursor {
  v: 1;
  after: string;
  before?: string;
  token?: string;
}

export function parseAmazonOrderCursor(cursor: string): AmazonOrderCursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(cursor);
  } catch {
    parsed = undefined;
  }
  const c = parsed as Partial<AmazonOrderCursor> | undefined;
  if (
    typeof c !== 'object' ||
    c === null ||
    c.v !== 1 ||
    typeof c.after !== 'string' ||
    Number.isNaN(Date.parse(c.after)) ||
    (c.before !== undefined && typeof c.before !== 'string') ||
    (c.token !== undefined && typeof c.token !== 'string')
  ) {
    throw new TerminalError(`amazon order cursor is not valid: ${cursor.slice(0, 200)}`, {
      code: 'AMAZON_BAD_CURSOR',
    });
  }
  const out: AmazonOrderCursor = { v: 1, after: c.after };
  if (c.before !== undefined && c.token !== undefined) {
    out.before = c.before;
    out.token = c.token;
  }
  return out;
}

/** ISO 8601 to the second, as in Amazon's examples. */
function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

export class AmazonOrderSource implements OrderSource {
  readonly marketplace: MarketplaceId = 'amazon';
  private readonly clock: Clock;
  private readonly overlapMs: number;
  private readonly minLagMs: number;
  private readonly unknownClockMarginMs: number;

  constructor(private readonly opts: AmazonOrderSourceOptions) {
    this.clock = opts.clock ?? systemClock;
    this.overlapMs = opts.overlapMs ?? 5 * 60_000;
    this.minLagMs = Math.max(120_000, opts.minLagMs ?? 150_000);
    this.unknownClockMarginMs = opts.unknownClockMarginMs ?? 60_000;
  }

  /** The upper bound a window opened now would get (ms). */
  upperBound(): number {
    const server = this.opts.orders.serverNow();
    const now = server ?? this.clock.now() - this.unknownClockMarginMs;
    return Math.floor((now - this.minLagMs) / 1000) * 1000;
  }

  async poll(cursor: string | null, opts: PollOptions): Promise<OrderPage> {
    const c: AmazonOrderCursor =
      cursor === null ? { v: 1, after: isoSeconds(opts.since.getTime()) } : parseAmazonOrderCursor(cursor);
    const call: AmazonCallOptions = { priority: this.opts.priority ?? 'read', signal: opts.signal };

    if (c.token !== undefined && c.before !== undefined) {
      try {
        const res = await this.search(c.after, c.before, c.token, call);
        return this.page(c.after, c.before, res);
      } catch (err) {
        if (!(err instanceof AmazonSearchOrdersRejected) || !err.withPaginationToken) throw err;
        // Expired or undecodable token: the same window again, from its checkpoint.
        const res = await this.search(c.after, c.before, undefined, call);
        return this.page(c.after, c.before, res);
      }
    }

    const afterMs = Date.parse(c.after);
    let beforeMs = this.upperBound();
    if (beforeMs <= afterMs) return { orders: [], cursor: JSON.stringify(c), more: false };
    try {
      const res = await this.search(c.after, isoSeconds(beforeMs), undefined, call);
      return this.page(c.after, isoSeconds(beforeMs), res);
    } catch (err) {
      if (!(err instanceof AmazonSearchOrdersRejected) || err.withPaginationToken) throw err;
      // The bound was too recent for the server (clock skew, F12): its Date header is known now.
      const retry = this.upperBound();
      if (retry >= beforeMs) throw err;
      beforeMs = retry;
      if (beforeMs <= afterMs) return { orders: [], cursor: JSON.stringify(c), more: false };
      const res = await this.search(c.after, isoSeconds(beforeMs), undefined, call);
      return this.page(c.after, isoSeconds(beforeMs), res);
    }
  }

  private search(
    after: string,
    before: string,
    token: string | undefined,
    call: AmazonCallOptions,
  ): Promise<SearchOrdersResponse> {
    const params: SearchOrdersParams = {
      lastUpdatedAfter: after,
      lastUpdatedBefore: before,
      maxResultsPerPage: this.opts.maxResultsPerPage ?? 100,
    };
    if (token !== undefined) params.paginationToken = token;
    if (this.opts.includedData !== undefined) params.includedData = this.opts.includedData;
    if (this.opts.fulfilledBy !== undefined) params.fulfilledBy = this.opts.fulfilledBy;
    return this.opts.orders.searchOrders(params, call);
  }

  private page(after: string, before: string, res: SearchOrdersResponse): OrderPage {
    const orders = res.orders.map(toMarketplaceOrder);
    const token = res.pagination?.nextToken;
    if (token !== undefined && token !== '') {
      const next: AmazonOrderCursor = { v: 1, after, before, token };
      return { orders, cursor: JSON.stringify(next), more: true };
    }
    // The window is done: the next one reaches back `overlapMs` before its upper bound.
    const endMs = Date.parse(res.lastUpdatedBefore ?? before);
    const end = Number.isNaN(endMs) ? Date.parse(before) : endMs;
    const nextAfter = Math.max(Date.parse(after), end - this.overlapMs);
    const next: AmazonOrderCursor = { v: 1, after: isoSeconds(nextAfter) };
    return { orders, cursor: JSON.stringify(next), more: false };
  }
}
