/**
 * Order pollers: one RxJS loop per marketplace asks its OrderSource for the next page of new and
 * changed orders, commits what is new, and only then moves the cursor.
 *
 * In one transaction per page: each order becomes an `event_log` row keyed by marketplace, order
 * id and what changed (its status, and each line's status and cancellation request), so a page
 * seen twice, overlapping windows or an order repeated across pages change nothing; the new ones
 * also go to their order actor's inbox; the cursor is stored in `poll_cursor`. After the commit
 * the actors are told. A crash before the commit re-reads the page; after it, the page is done.
 *
 * The buyer's address goes to the actor (which passes it to the OMS in `order.created`) but not
 * into `event_log`, which keeps the order without it.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { defer, repeat, retry, type Subscription, timer } from 'rxjs';
import type { Clock } from '../core/clock.js';
import { errorSummary } from '../core/text.js';
import type { MarketplaceOrder } from '../domain/orders.js';
import type { OrderSource } from '../marketplaces/orders.js';
import type { Database } from '../persistence/database.js';
import { orderKey, type RoutedEvent } from './routing.js';

export interface OrderPollerOptions {
  source: OrderSource;
  db: Database;
  clock: Clock;
  logger: Logger;
  /** Between polls once caught up. */
  intervalMs: number;
  /** Where a marketplace without a stored cursor starts. */
  since: Date;
  /** Called after commit with the new order events. */
  onCommitted(events: (RoutedEvent & { event: { seq: number } })[]): void;
  /** Pause after a failed poll: doubling from this, capped at `intervalMs` × 4. Default 1000 ms. */
  retryMs?: number;
}

export interface PollResult {
  orders: number;
  fresh: number;
  more: boolean;
}

export interface OrderPoller {
  /** One page: poll, commit, move the cursor (tests, and the loop). */
  pollOnce(): Promise<PollResult>;
  readonly stats: { polls: number; orders: number; fresh: number; failures: number };
  /** Stops polling; resolves once a poll in flight has finished. */
  stop(): Promise<void>;
}

/** What about an order changed, as a short stable string: its status and each line's. */
export function orderFingerprint(o: MarketplaceOrder): string {
  const lines = [...o.lines]
    .sort((a, b) => (a.lineId < b.lineId ? -1 : a.lineId > b.lineId ? 1 : 0))
    .map((l) => [l.lineId, l.quantity, l.status ?? '', l.buyerCancelRequested === true]);
  const basis = JSON.stringify([o.status, o.marketplaceStatus, o.shipBy ?? '', lines]);
  return createHash('sha256').update(basis).digest('hex').slice(0, 16);
}

const withoutAddress = (o: MarketplaceOrder): MarketplaceOrder => {
  if (!o.shippingAddress) return o;
  const { shippingAddress: _, ...rest } = o;
  return rest;
};

export function startOrderPoller(opts: OrderPollerOptions): OrderPoller {
  const marketplace = opts.source.marketplace;
  const log = opts.logger.child({ component: 'poller', marketplace });
  const stats = { polls: 0, orders: 0, fresh: 0, failures: 0 };
  const SOURCE = 'orders';

  const pollOnce = async (): Promise<PollResult> => {
    const rows = await opts.db.query<{ cursor: string }>(
      'select cursor from poll_cursor where marketplace = ? and source = ?',
      [marketplace, SOURCE],
    );
    const page = await opts.source.poll(rows[0]?.cursor ?? null, { since: opts.since });
    const now = new Date(opts.clock.now()).toISOString();
    const orders = page.orders.map((o) => ({
      key: `${marketplace}:${o.orderId}:${orderFingerprint(o)}`,
      order: o,
    }));
    const routed = await opts.db.transaction(async (tx) => {
      const out: (RoutedEvent & { event: { seq: number } })[] = [];
      if (orders.length > 0) {
        const inserted = await tx.query<{ id: string; idempotency_key: string }>(
          `insert into event_log (idempotency_key, source, type, entity_key, payload, occurred_at, received_at, status)
           select x.v->>'k', ?, 'order.seen', x.v->>'e', x.v->'o', (x.v->'o'->>'updatedAt')::timestamptz,
                  ?::timestamptz, 'accepted'
           from jsonb_array_elements(?::jsonb) with ordinality as x(v, n)
           order by x.n
           on conflict (idempotency_key) where status = 'accepted' do nothing
           returning id, idempotency_key`,
          [
            marketplace,
            now,
            JSON.stringify(
              orders.map(({ key, order }) => ({
                k: key,
                e: orderKey(marketplace, order.orderId),
                o: withoutAddress(order),
              })),
            ),
          ],
        );
        const seqOf = new Map(inserted.map((r) => [r.idempotency_key, Number(r.id)]));
        for (const { key, order } of orders) {
          const seq = seqOf.get(key);
          if (seq === undefined) continue;
          seqOf.delete(key); // the same change twice on one page is applied once
          out.push({
            key: orderKey(marketplace, order.orderId),
            event: { type: 'ORDER.SEEN', seq, occurredAt: order.updatedAt, order },
          });
        }
        if (out.length > 0) {
          await tx.query(
            `insert into actor_inbox (actor_key, event_id, event, created_at)
             select r.k, r.s, r.e, ?::timestamptz from jsonb_to_recordset(?::jsonb) as r(k text, s bigint, e jsonb)
             on conflict do nothing`,
            [now, JSON.stringify(out.map((r) => ({ k: r.key, s: r.event.seq, e: r.event })))],
          );
        }
      }
      await tx.query(
        `insert into poll_cursor (marketplace, source, cursor, polled_at, orders_seen) values (?, ?, ?, ?::timestamptz, ?)
         on conflict (marketplace, source) do update set cursor = excluded.cursor, polled_at = excluded.polled_at,
           orders_seen = poll_cursor.orders_seen + excluded.orders_seen`,
        [marketplace, SOURCE, page.cursor, now, out.length],
      );
      return out;
    });
    stats.polls++;
    stats.orders += orders.length;
    stats.fresh += routed.length;
    if (routed.length > 0) opts.onCommitted(routed);
    log.debug({ orders: orders.length, fresh: routed.length, more: page.more }, 'orders polled');
    return { orders: orders.length, fresh: routed.length, more: page.more };
  };

  const retryMs = opts.retryMs ?? 1000;
  let more = false;
  let inFlight: Promise<unknown> = Promise.resolve();
  const sub: Subscription = defer(() => {
    const p = pollOnce();
    inFlight = p.catch(() => {});
    return p;
  })
    .pipe(
      retry({
        resetOnSuccess: true,
        delay: (err, n) => {
          stats.failures++;
          const ms = Math.min(opts.intervalMs * 4, retryMs * 2 ** (n - 1));
          log.warn({ error: errorSummary(err), retryInMs: ms }, 'order poll failed');
          return timer(ms);
        },
      }),
      repeat({
        delay: () => timer(more ? 0 : opts.intervalMs),
      }),
    )
    .subscribe({
      next: (r) => {
        more = r.more;
      },
    });

  return {
    pollOnce,
    stats,
    stop: async () => {
      sub.unsubscribe();
      await inFlight;
    },
  };
}
