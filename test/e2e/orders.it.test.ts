/**
 * Orders through the whole app against the sandboxes, the real PostgreSQL and the embedded queue:
 * 500 orders across the marketplaces, with repeated pages, orders that become visible late and
 * 50 buyer cancellations, and a process restart in the middle. The outbound queue must carry
 * exactly one `order.created` per order and one `order.cancelled` per cancellation.
 * Then the OMS's answers: ships and cancels reach the marketplaces, and a refusal comes back as
 * `*.failed` with the marketplace's reason.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { type App, startApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/index.js';
import type { Clock } from '../../src/core/clock.js';
import type { OrderStatus } from '../../src/domain/orders.js';
import { createAmazonSandbox, sandboxEnv } from '../../src/marketplaces/amazon/index.js';
import { createFlipkartSandbox, flipkartSandboxEnv } from '../../src/marketplaces/flipkart/index.js';
import { createTataCliqSandbox, tataCliqSandboxEnv } from '../../src/marketplaces/tatacliq/index.js';
import { createEmbeddedTransport } from '../../src/streams/embedded.js';
import { createTestDatabase, type TestDatabase, waitFor } from '../helpers/db.js';

const logger = pino({ level: process.env.LOG_LEVEL ?? 'silent' });
const OUT = 'MARKETPLACE.OMS.EVENTS';
const SKUS = ['SAM-TV-1001', 'LG-WM-2002', 'BOSCH-DW-3003', 'SONY-HP-4004', 'TATA-TEA-5005'];

type Snapshot = Record<string, { status: OrderStatus; cancelledBy?: string }>;

interface Market {
  id: 'amazon' | 'flipkart' | 'tatacliq';
  env: Record<string, string>;
  create(count: number, seed: number, lateByMs?: number): string[];
  buyerCancel(orderId: string): void;
  repeatPages(on: boolean): void;
  snapshot(): Snapshot;
  stop(): Promise<void>;
}

interface OutMessage {
  id: string;
  type: string;
  marketplace: string;
  orderId: string;
  cancelledBy?: string;
  code?: string;
  reason?: string;
  requestId?: string;
  lines?: { lineId: string; quantity: number }[];
}

/**
 * Amazon shows an order only 2 minutes after its last change (searchOrders' upper bound): the
 * Amazon sandbox runs on a clock 40 times as fast, so those minutes pass in seconds.
 */
function fastClock(factor: number): Clock {
  const origin = Date.now();
  return {
    now: () => origin + (Date.now() - origin) * factor,
    sleep: (ms, signal) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(resolve, ms / factor);
        signal?.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(signal.reason);
        });
      }),
  };
}

let t: TestDatabase;
const markets: Market[] = [];

before(async () => {
  t = await createTestDatabase();
  const amazon = createAmazonSandbox({ rateScale: 100, applyDelayMs: 10, clock: fastClock(40) });
  await amazon.start(0);
  markets.push({
    id: 'amazon',
    env: { ...sandboxEnv(amazon.url, 100) },
    // Amazon shows an order only 2 minutes after its last change: these were placed earlier.
    create: (count, seed, lateByMs = 0) => {
      const ids = amazon.control.createOrders({ count, skus: SKUS, seed, lateByMs });
      amazon.control.authorizeOrders(ids); // payment authorised: Unshipped
      return ids;
    },
    buyerCancel: (id) => amazon.control.buyerCancel(id),
    repeatPages: (on) => amazon.control.repeatPages(on),
    snapshot: () => amazon.control.orderSnapshot() as Snapshot,
    stop: () => amazon.stop(),
  });
  const flipkart = createFlipkartSandbox({
    listings: Object.fromEntries(SKUS.map((s) => [s, { sellingPrice: 999, mrp: 1299 }])),
    orders: { labelDelayMs: 20 },
  });
  await flipkart.start(0);
  markets.push({
    id: 'flipkart',
    env: flipkartSandboxEnv(flipkart.url, 100),
    create: (count, seed, lateByMs) => flipkart.control.createOrders({ count, skus: SKUS, seed, lateByMs }),
    buyerCancel: (id) => flipkart.control.buyerCancel(id),
    repeatPages: (on) => flipkart.control.repeatPages(on),
    snapshot: () => flipkart.control.orderSnapshot() as Snapshot,
    stop: () => flipkart.stop(),
  });
  const tatacliq = createTataCliqSandbox({});
  await tatacliq.start(0);
  markets.push({
    id: 'tatacliq',
    env: { ...tataCliqSandboxEnv(tatacliq.url), TATACLIQ_RATE_SCALE: '100' },
    create: (count, seed, lateByMs) => tatacliq.control.createOrders({ count, skus: SKUS, seed, lateByMs }),
    buyerCancel: (id) => tatacliq.control.buyerCancel(id),
    repeatPages: (on) => tatacliq.control.repeatPages(on),
    snapshot: () => tatacliq.control.orderSnapshot() as Snapshot,
    stop: () => tatacliq.stop(),
  });
});

after(async () => {
  for (const m of markets) await m.stop();
  await t.drop();
});

function start(): Promise<App> {
  return startApp(
    loadConfig({
      LOG_LEVEL: 'silent',
      MQ_TRANSPORT: 'embedded',
      DATABASE_URL: t.url,
      MARKETPLACES: markets.map((m) => m.id).join(','),
      ...Object.assign({}, ...markets.map((m) => m.env)),
      AMAZON_ORDER_POLL_MS: '150',
      AMAZON_FEED_POLL_MS: '100',
      FLIPKART_ORDER_POLL_MS: '150',
      TATACLIQ_ORDER_POLL_MS: '150',
      OUTBOX_POLL_MS: '50',
      RETRY_BASE_MS: '50',
      RETRY_MAX_MS: '500',
      ACTOR_IDLE_MS: '2000',
    }),
    { logger, db: t.db },
  );
}

async function outbound(): Promise<OutMessage[]> {
  const rows = await t.db.query<{ body: string }>(
    'select body from queue_message where queue = ? order by id',
    [OUT],
  );
  return rows.map((r) => JSON.parse(r.body) as OutMessage);
}

const count = (msgs: OutMessage[], type: string) => msgs.filter((m) => m.type === type).length;

describe('orders end to end (sandboxes, real PostgreSQL, embedded queue)', () => {
  const created = new Map<string, string[]>(); // marketplace → order ids
  const buyerCancelled: { marketplace: string; orderId: string }[] = [];

  it('500 orders with repeated pages, late ones and 50 buyer cancellations: one order.created each, one order.cancelled per cancellation, across a restart', async () => {
    // 500 in all, split over the marketplaces; about a tenth of each become visible late.
    const perMarket = [200, 150, 150];
    for (const [i, m] of markets.entries()) {
      m.repeatPages(true);
      const n = perMarket[i]!;
      const onTime = m.create(n - 20, 1000 + i);
      created.set(m.id, onTime);
    }
    let app = await start();
    try {
      await waitFor(
        'first orders forwarded',
        async () => count(await outbound(), 'order.created') >= 150,
        60_000,
      );
      // Orders placed a while ago that only now become visible (their last update is earlier than
      // what the pollers have already read past).
      for (const [i, m] of markets.entries()) created.get(m.id)!.push(...m.create(20, 2000 + i, 60_000));

      // A restart in the middle: the app stops (drains) while pages are still being read.
      await app.stop();
      app = await start();
      await waitFor('all 500 forwarded', async () => count(await outbound(), 'order.created') >= 500, 90_000);

      // 50 buyer cancellations of orders the OMS already has.
      const perCancel = [20, 15, 15];
      for (const [i, m] of markets.entries()) {
        for (const orderId of created.get(m.id)!.slice(0, perCancel[i])) {
          m.buyerCancel(orderId);
          buyerCancelled.push({ marketplace: m.id, orderId });
        }
      }
      await waitFor(
        '50 cancellations forwarded',
        async () => count(await outbound(), 'order.cancelled') >= 50,
        90_000,
      );
      await new Promise((r) => setTimeout(r, 1500)); // more polls and relay rounds: nothing else may come
    } finally {
      await app.stop();
    }

    const msgs = await outbound();
    const createdMsgs = msgs.filter((m) => m.type === 'order.created');
    const cancelledMsgs = msgs.filter((m) => m.type === 'order.cancelled');
    const expected = [...created].flatMap(([marketplace, ids]) => ids.map((id) => `${marketplace}:${id}`));
    assert.equal(expected.length, 500);
    assert.deepEqual(
      createdMsgs.map((m) => `${m.marketplace}:${m.orderId}`).sort(),
      [...expected].sort(),
      'exactly one order.created per order',
    );
    assert.equal(new Set(createdMsgs.map((m) => m.id)).size, 500);
    assert.deepEqual(
      cancelledMsgs.map((m) => `${m.marketplace}:${m.orderId}`).sort(),
      buyerCancelled.map((c) => `${c.marketplace}:${c.orderId}`).sort(),
      'exactly one order.cancelled per cancellation',
    );
    assert.deepEqual(
      cancelledMsgs.filter((m) => m.cancelledBy !== 'buyer').map((m) => `${m.marketplace} ${m.cancelledBy}`),
      [],
      'each says the buyer cancelled',
    );
    assert.equal(msgs.length, 550, 'nothing else went to the OMS');
  });

  it('the OMS ships and cancels: the marketplaces follow; a refused cancel comes back as order.cancel.failed', async () => {
    const app = await start();
    const inbound = createEmbeddedTransport({ db: t.db, backoutQueue: 'OMS.MARKETPLACE.EVENTS.BACKOUT' });
    try {
      const cancelled = new Set(buyerCancelled.map((c) => `${c.marketplace}:${c.orderId}`));
      const requests: string[] = [];
      const plan: {
        marketplace: string;
        orderId: string;
        action: 'ship' | 'cancel' | 'cancel-after-ship';
      }[] = [];
      const createdMsgs = (await outbound()).filter((m) => m.type === 'order.created');
      for (const m of markets) {
        const open = createdMsgs.filter(
          (c) => c.marketplace === m.id && !cancelled.has(`${m.id}:${c.orderId}`),
        );
        plan.push(
          ...open
            .slice(0, 3)
            .map((o) => ({ marketplace: m.id, orderId: o.orderId, action: 'ship' as const })),
          ...open
            .slice(3, 5)
            .map((o) => ({ marketplace: m.id, orderId: o.orderId, action: 'cancel' as const })),
        );
        // Shipped first, then cancelled: the marketplace must refuse the cancel.
        plan.push({ marketplace: m.id, orderId: open[0]!.orderId, action: 'cancel-after-ship' });
      }
      const byId = new Map(createdMsgs.map((c) => [`${c.marketplace}:${c.orderId}`, c]));
      let n = 0;
      for (const p of plan.filter((x) => x.action !== 'cancel-after-ship')) {
        const lines = (byId.get(`${p.marketplace}:${p.orderId}`)?.lines ?? []).map((l) => ({
          lineId: l.lineId,
          quantity: l.quantity,
        }));
        const base = {
          id: `OMS-T-${++n}`,
          occurredAt: new Date().toISOString(),
          marketplace: p.marketplace,
          orderId: p.orderId,
        };
        requests.push(
          JSON.stringify(
            p.action === 'ship'
              ? {
                  ...base,
                  type: 'order.ship',
                  lines,
                  carrier: 'Delhivery',
                  trackingNumber: `AWB${n}`,
                  shippedAt: base.occurredAt,
                }
              : { ...base, type: 'order.cancel', reason: 'no stock at the store' },
          ),
        );
      }
      await inbound.publishMany(app.config.queue.inbound, requests);
      const states = async () =>
        new Map(
          (
            await t.db.query<{ k: string; state: string }>(
              `select marketplace || ':' || order_id as k, state from marketplace_order`,
            )
          ).map((r) => [r.k, r.state]),
        );
      await waitFor(
        'ships and cancels done',
        async () => {
          const s = await states();
          return plan
            .filter((p) => p.action !== 'cancel-after-ship')
            .every(
              (p) =>
                s.get(`${p.marketplace}:${p.orderId}`) === (p.action === 'ship' ? 'shipped' : 'cancelled'),
            );
        },
        90_000,
      );
      for (const p of plan.filter((x) => x.action !== 'cancel-after-ship')) {
        const m = markets.find((x) => x.id === p.marketplace)!;
        const shown = m.snapshot()[p.orderId];
        assert.equal(
          shown?.status === 'shipped' || shown?.status === 'packed'
            ? 'ship'
            : shown?.status === 'cancelled'
              ? 'cancel'
              : shown?.status,
          p.action,
          `${p.marketplace} ${p.orderId}`,
        );
      }
      // The refused cancels.
      const late = plan.filter((x) => x.action === 'cancel-after-ship');
      await inbound.publishMany(
        app.config.queue.inbound,
        late.map((p, i) =>
          JSON.stringify({
            id: `OMS-T-LATE-${i}`,
            type: 'order.cancel',
            occurredAt: new Date().toISOString(),
            marketplace: p.marketplace,
            orderId: p.orderId,
            reason: 'customer changed mind',
          }),
        ),
      );
      await waitFor(
        'refusals reported',
        async () => count(await outbound(), 'order.cancel.failed') >= late.length,
        60_000,
      );
      const failed = (await outbound()).filter((m) => m.type === 'order.cancel.failed');
      assert.deepEqual(failed.map((f) => f.requestId).sort(), late.map((_, i) => `OMS-T-LATE-${i}`).sort());
      assert.ok(failed.every((f) => typeof f.reason === 'string' && f.reason.length > 0 && f.code));
    } finally {
      await app.stop();
    }
  });
});
