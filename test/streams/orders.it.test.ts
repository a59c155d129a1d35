/**
 * The order pollers and the outbox relay against the real PostgreSQL: a page seen twice, an order
 * repeated across pages and a changed order make exactly one event each; the cursor moves only
 * with a committed page; the relay publishes in order, once per message id, survives a failing
 * broker, and drops the buyer's address from its copy once sent.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { systemClock } from '../../src/core/clock.js';
import { RetryableError } from '../../src/core/errors.js';
import type { MarketplaceOrder } from '../../src/domain/orders.js';
import type { OrderPage, OrderSource } from '../../src/marketplaces/orders.js';
import { createEmbeddedTransport } from '../../src/streams/embedded.js';
import { startOutboxRelay } from '../../src/streams/outbox.js';
import { orderFingerprint, startOrderPoller } from '../../src/streams/pollers.js';
import type { QueueTransport } from '../../src/streams/transport.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

const logger = pino({ level: 'silent' });

function order(
  id: string,
  status: MarketplaceOrder['status'] = 'unshipped',
  extra: Partial<MarketplaceOrder> = {},
) {
  const o: MarketplaceOrder = {
    marketplace: 'amazon',
    orderId: id,
    status,
    marketplaceStatus: status === 'cancelled' ? 'Canceled' : 'Unshipped',
    purchasedAt: '2026-12-03T09:00:00Z',
    updatedAt: '2026-12-03T09:05:00Z',
    shipBy: '2026-12-05T18:00:00Z',
    total: 999,
    currency: 'INR',
    lines: [{ lineId: `${id}-1`, sku: 'SAM-TV-1001', quantity: 1, unitPrice: 999 }],
    shippingAddress: {
      name: 'Asha Rao',
      addressLine1: '12 MG Road',
      city: 'Bengaluru',
      phone: '+919800000000',
    },
    ...extra,
  };
  return o;
}

/** Serves scripted pages; records the cursors it was given. */
class ScriptedSource implements OrderSource {
  readonly marketplace = 'amazon' as const;
  readonly cursors: (string | null)[] = [];
  constructor(private readonly pages: Map<string, OrderPage>) {}
  async poll(cursor: string | null): Promise<OrderPage> {
    this.cursors.push(cursor);
    const page = this.pages.get(cursor ?? 'start');
    if (!page) throw new RetryableError(`no page for cursor ${cursor}`);
    return page;
  }
}

let t: TestDatabase;
before(async () => {
  t = await createTestDatabase();
});
after(async () => {
  await t.drop();
});

describe('order poller (real PostgreSQL)', () => {
  it('one event per order change: repeated pages and a page read again change nothing; the cursor follows commits', async () => {
    const cancelled = order('A-1', 'cancelled', { updatedAt: '2026-12-03T10:00:00Z' });
    const source = new ScriptedSource(
      new Map([
        ['start', { orders: [order('A-1'), order('A-2')], cursor: 'p2', more: true }],
        // The last order of page 1 repeated on page 2 (as marketplaces do while orders change).
        ['p2', { orders: [order('A-2'), order('A-3')], cursor: 'w2', more: false }],
        ['w2', { orders: [order('A-3'), cancelled, cancelled], cursor: 'w3', more: false }],
      ]),
    );
    const delivered: { key: string; type: string; seq: number }[] = [];
    const poller = startOrderPoller({
      source,
      db: t.db,
      clock: systemClock,
      logger,
      intervalMs: 3_600_000,
      since: new Date('2026-12-02T00:00:00Z'),
      onCommitted: (events) => {
        for (const e of events) delivered.push({ key: e.key, type: e.event.type, seq: e.event.seq });
      },
    });
    try {
      // The loop's own first poll runs at once; wait for it, then drive the rest by hand.
      for (let i = 0; i < 200 && poller.stats.polls < 2; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(poller.stats.polls, 2, 'page 1 said more: page 2 followed at once');
      assert.deepEqual(
        delivered.map((d) => d.key),
        ['order:amazon:A-1', 'order:amazon:A-2', 'order:amazon:A-3'],
      );
      const r3 = await poller.pollOnce();
      assert.deepEqual(r3, { orders: 3, fresh: 1, more: false });
      assert.equal(delivered.at(-1)?.key, 'order:amazon:A-1', 'the cancellation is a change of A-1');
      assert.deepEqual(source.cursors, [null, 'p2', 'w2']);

      // The same window again (as after a crash before the cursor moved): nothing new.
      await t.db.query(`update poll_cursor set cursor = 'w2'`);
      const again = await poller.pollOnce();
      assert.equal(again.fresh, 0);

      const log = await t.db.query<{ n: string; k: string }>(
        `select count(*) as n, count(distinct idempotency_key) as k from event_log where type = 'order.seen' and status = 'accepted'`,
      );
      assert.deepEqual([Number(log[0]!.n), Number(log[0]!.k)], [4, 4]);
      const inbox = await t.db.query<{ n: string }>('select count(*) as n from actor_inbox');
      assert.equal(Number(inbox[0]!.n), 4);
      // The buyer's address reaches the actor (for order.created) but not the event log.
      const stored = await t.db.query<{ payload: MarketplaceOrder }>(
        `select payload from event_log where type = 'order.seen'`,
      );
      assert.ok(stored.every((r) => r.payload.shippingAddress === undefined));
      const ev = await t.db.query<{ event: { order: MarketplaceOrder } }>(
        'select event from actor_inbox limit 1',
      );
      assert.equal(ev[0]!.event.order.shippingAddress?.name, 'Asha Rao');
      const cursor = await t.db.query<{ cursor: string; orders_seen: string }>(
        'select cursor, orders_seen from poll_cursor',
      );
      assert.deepEqual([cursor[0]!.cursor, Number(cursor[0]!.orders_seen)], ['w3', 4]);
    } finally {
      await poller.stop();
    }
  });

  it('the fingerprint changes with the status or a line cancellation request, not with the update time', () => {
    const a = order('F-1');
    assert.equal(orderFingerprint(a), orderFingerprint({ ...a, updatedAt: '2026-12-04T00:00:00Z' }));
    assert.notEqual(orderFingerprint(a), orderFingerprint({ ...a, status: 'shipped' }));
    assert.notEqual(
      orderFingerprint(a),
      orderFingerprint({ ...a, lines: [{ ...a.lines[0]!, buyerCancelRequested: true }] }),
    );
  });
});

describe('outbox relay (real PostgreSQL, embedded queue)', () => {
  it('publishes in order, marks sent, retries after a broker failure without reordering, and forgets the address', async () => {
    const queue = createEmbeddedTransport({ db: t.db, backoutQueue: 'BACKOUT' });
    let failNext = 0;
    const transport: QueueTransport = {
      ...queue,
      kind: 'embedded',
      consume: (q, o) => queue.consume(q, o),
      health: () => 'up',
      close: async () => {},
      publish: async (q, body, props) => {
        if (failNext > 0) {
          failNext--;
          throw new RetryableError('broker unavailable');
        }
        await queue.publish(q, body, props);
      },
    };
    const rows = Array.from({ length: 5 }, (_, i) => ({
      id: `order.created:amazon:R-${i}`,
      type: 'order.created',
      payload: { id: `order.created:amazon:R-${i}`, type: 'order.created', shippingAddress: { name: 'X' } },
    }));
    await t.db.query(
      `insert into outbox (id, queue, type, payload)
       select r.id, 'MARKETPLACE.OMS.EVENTS', r.type, r.payload from jsonb_to_recordset(?::jsonb) as r(id text, type text, payload jsonb)`,
      [JSON.stringify(rows)],
    );
    failNext = 1;
    const relay = startOutboxRelay({
      db: t.db,
      transport,
      clock: systemClock,
      logger,
      pollMs: 20,
      retryMs: 20,
    });
    try {
      for (let i = 0; i < 300 && relay.stats.published < 5; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(relay.stats.published, 5);
      assert.ok(relay.stats.failures >= 1);
      const published = await t.db.query<{ body: string }>(
        `select body from queue_message where queue = 'MARKETPLACE.OMS.EVENTS' order by id`,
      );
      assert.deepEqual(
        published.map((p) => (JSON.parse(p.body) as { id: string }).id),
        rows.map((r) => r.id),
      );
      const stored = await t.db.query<{ sent: boolean; payload: Record<string, unknown> }>(
        'select sent_at is not null as sent, payload from outbox order by seq',
      );
      assert.ok(
        stored.every(
          (s) => s.sent && s.payload.shippingAddress === undefined && s.payload.shippingAddressRemoved,
        ),
      );
      // Nothing more to send: a kick publishes nothing twice.
      relay.kick();
      assert.equal(await relay.drain(), 0);
    } finally {
      await relay.stop();
    }
  });
});
