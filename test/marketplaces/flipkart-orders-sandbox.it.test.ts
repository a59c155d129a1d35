/**
 * Flipkart orders (FlipkartOrdersClient, FlipkartOrderSource, FlipkartOrderActions) against the
 * local sandbox over real HTTP (127.0.0.1).
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import type { MarketplaceOrder } from '../../src/domain/orders.js';
import {
  createFlipkartSandbox,
  FLIPKART_SANDBOX_CREDENTIALS,
  FlipkartClient,
  FlipkartOrderActions,
  FlipkartOrderSource,
  FlipkartOrdersClient,
  type FlipkartSandboxOptions,
  flipkartSandboxEnv,
} from '../../src/marketplaces/flipkart/index.js';
import { memoryRecorder, REFERENCE_TIMESTAMP } from './fakes.js';

/** A manual clock whose sleeps move time on at once (label polling without real waiting). */
class SteppingClock extends ManualClock {
  override sleep(ms: number): Promise<void> {
    const p = super.sleep(ms);
    this.advance(ms);
    return p;
  }
}

const SKUS = ['TV-55-OLED', 'TV/43+LED', 'SOUNDBAR 5.1'];
const LISTINGS = Object.fromEntries(
  SKUS.map((sku, i) => [
    sku,
    {
      sellingPrice: 20_000 + i * 1000,
      mrp: 30_000,
      locations: { [FLIPKART_SANDBOX_CREDENTIALS.locationId]: 10 },
    },
  ]),
);

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function harness(sandboxOpts: FlipkartSandboxOptions = {}) {
  const clock = new SteppingClock(REFERENCE_TIMESTAMP);
  const sandbox = createFlipkartSandbox({ clock, listings: LISTINGS, ...sandboxOpts });
  await sandbox.start();
  cleanups.push(() => sandbox.stop());
  const env = flipkartSandboxEnv(sandbox.url);
  const recorder = memoryRecorder();
  const client = new FlipkartClient({
    baseUrl: env.FLIPKART_BASE_URL!,
    tokenUrl: env.FLIPKART_TOKEN_URL!,
    appId: env.FLIPKART_APP_ID!,
    appSecret: () => env.FLIPKART_APP_SECRET!,
    clock,
    recorder,
    rateScale: 50,
  });
  cleanups.push(() => client.stop());
  const api = new FlipkartOrdersClient({ client, baseUrl: env.FLIPKART_BASE_URL! });
  const source = new FlipkartOrderSource({ api, clock, overlapMs: 10 * 60_000, pageSize: 20 });
  const actions = new FlipkartOrderActions({ api, clock, labelPollIntervalMs: 1000, labelTimeoutMs: 60_000 });
  return { clock, sandbox, control: sandbox.control, client, api, source, actions, recorder };
}

/** Polls until caught up; returns every order of every page (duplicates kept) and the cursor. */
async function drain(
  source: FlipkartOrderSource,
  cursor: string | null,
  since: Date,
  onPage?: (n: number) => void,
): Promise<{ orders: MarketplaceOrder[]; cursor: string; pages: number }> {
  const orders: MarketplaceOrder[] = [];
  let pages = 0;
  for (;;) {
    const page = await source.poll(cursor, { since });
    pages++;
    orders.push(...page.orders);
    cursor = page.cursor;
    onPage?.(pages);
    if (!page.more) return { orders, cursor, pages };
    assert.ok(pages < 50, 'runaway polling');
  }
}

describe('Flipkart orders over the sandbox', () => {
  it('polls 60 orders over repeating pages and a late-indexed order: every order is seen', async () => {
    const t = await harness();
    const since = new Date(t.clock.now() - 3_600_000);
    const created = t.control.createOrders({ count: 60, skus: SKUS, seed: 42 });
    assert.equal(new Set(created).size, 60);
    t.control.repeatPages(true);

    let late: string[] = [];
    const first = await drain(t.source, null, since, (n) => {
      // Created after the search began, dated 5 minutes back: not in this sweep's pages.
      if (n === 1) late = t.control.createOrders({ count: 1, skus: SKUS, seed: 7, lateByMs: 5 * 60_000 });
    });
    const seen1 = new Set(first.orders.map((o) => o.orderId));
    for (const id of created) assert.ok(seen1.has(id), `order ${id} not seen`);
    assert.ok(first.orders.length > 60, 'repeatPages repeats a shipment per page');
    assert.ok(first.pages >= 4);
    assert.equal(late.length, 1);
    assert.ok(!seen1.has(late[0]!), 'the late order is not on the pages of the sweep that was running');
    for (const o of first.orders) {
      assert.equal(o.marketplace, 'flipkart');
      assert.equal(o.status, 'unshipped');
      assert.equal(o.marketplaceStatus, 'APPROVED');
      assert.ok(o.lines.length >= 1 && o.lines.every((l) => SKUS.includes(l.sku) && l.quantity >= 1));
      assert.ok(o.refs?.shipmentId && o.refs.locationId === FLIPKART_SANDBOX_CREDENTIALS.locationId);
      assert.ok(o.shipBy && Date.parse(o.shipBy) > Date.parse(o.purchasedAt));
    }

    t.clock.advance(60_000);
    const second = await drain(t.source, first.cursor, since);
    const all = new Set([...seen1, ...second.orders.map((o) => o.orderId)]);
    assert.equal(late.length, 1);
    assert.ok(all.has(late[0]!), 'the late order is caught by the overlap');
    assert.equal(all.size, 61);

    // Same seed, new sandbox state: repeatable generation.
    const again = await harness();
    assert.deepEqual(again.control.createOrders({ count: 60, skus: SKUS, seed: 42 }), created);
  });

  it('ships: labels (async) then self-ship dispatch with tracking → shipped; again is a no-op', async () => {
    const t = await harness({ orders: { labelDelayMs: 3000 } });
    const [orderId] = t.control.createOrders({ count: 1, skus: SKUS, seed: 1 });
    const order = await t.actions.get(orderId!);
    assert.ok(order);
    assert.equal(order.status, 'unshipped');
    const req = {
      orderId: orderId!,
      lines: order.lines.map((l) => ({ lineId: l.lineId, quantity: l.quantity })),
      carrier: 'Delhivery',
      trackingNumber: 'DLV123456789',
      shippedAt: new Date(t.clock.now()).toISOString(),
      order,
    };
    assert.deepEqual(await t.actions.ship(req), { status: 'done' });
    assert.deepEqual(t.control.orderSnapshot()[orderId!], {
      status: 'shipped',
      shipped: { trackingNumber: 'DLV123456789' },
    });
    const c = t.control.counters();
    assert.equal(c.generateLabels.calls, 1);
    assert.equal(c.dispatchShipments.calls, 1);
    assert.ok(c.getShipments.calls >= 3, 'polled the label status');

    assert.deepEqual(await t.actions.ship(req), { status: 'done' });
    const c2 = t.control.counters();
    assert.equal(c2.generateLabels.calls, 1);
    assert.equal(c2.dispatchShipments.calls, 1);
    const after = await t.actions.get(orderId!);
    assert.equal(after?.status, 'shipped');
    assert.equal(after?.refs?.trackingIds, 'DLV123456789');
  });

  it('Flipkart-logistics shipment: dispatch → READY_TO_DISPATCH (packed), pickup → shipped', async () => {
    const t = await harness({ orders: { labelDelayMs: 0 } });
    const [orderId] = t.control.createOrders({ count: 1, skus: SKUS, seed: 3, shipmentType: 'NORMAL' });
    const order = (await t.actions.get(orderId!))!;
    const req = {
      orderId: orderId!,
      lines: [],
      carrier: 'Ekart',
      trackingNumber: 'n/a',
      shippedAt: new Date(t.clock.now()).toISOString(),
      order,
    };
    assert.deepEqual(await t.actions.ship(req), { status: 'done' });
    assert.equal((await t.actions.get(orderId!))?.marketplaceStatus, 'READY_TO_DISPATCH');
    assert.equal(t.control.orderSnapshot()[orderId!]?.status, 'packed');
    t.control.markShipped(orderId!);
    assert.equal(t.control.orderSnapshot()[orderId!]?.status, 'shipped');
    assert.deepEqual(await t.actions.ship(req), { status: 'done' });
  });

  it('cancel before PACKED → done (cancelled by seller); after PACKED → refused with Flipkart reason', async () => {
    const t = await harness({ orders: { labelDelayMs: 2000 } });
    const [early, packed] = t.control.createOrders({ count: 2, skus: SKUS, seed: 5 });
    const o1 = (await t.actions.get(early!))!;
    assert.deepEqual(await t.actions.cancel({ orderId: early!, reason: 'out of stock', order: o1 }), {
      status: 'done',
    });
    assert.deepEqual(t.control.orderSnapshot()[early!], { status: 'cancelled', cancelledBy: 'seller' });
    const got = await t.actions.get(early!);
    assert.equal(got?.status, 'cancelled');
    assert.ok(got?.lines.every((l) => l.status === 'cancelled' && l.cancelReason === 'not_enough_inventory'));
    // Again: nothing left to cancel.
    assert.deepEqual(await t.actions.cancel({ orderId: early!, reason: 'out of stock', order: o1 }), {
      status: 'done',
    });

    // Labels requested, then packed: the seller may no longer cancel.
    const o2 = (await t.actions.get(packed!))!;
    const labels = await t.api.generateLabels([
      {
        shipmentId: o2.refs!.shipmentId!,
        locationId: o2.refs!.locationId!,
        invoices: [{ orderId: packed!, invoiceDate: '2026-11-20' }],
      },
    ]);
    assert.equal(labels.get(o2.refs!.shipmentId!)?.status, 'SUCCESS');
    t.clock.advance(2000);
    assert.equal(t.control.orderSnapshot()[packed!]?.status, 'packed');
    const refused = await t.actions.cancel({ orderId: packed!, reason: 'out of stock', order: o2 });
    assert.equal(refused.status, 'refused');
    assert.ok(refused.status === 'refused');
    assert.equal(refused.code, 'SHIPMENT_ALREADY_PACKED');
    assert.match(refused.reason, /cannot be cancelled by the seller after it is packed/);
    assert.equal(t.control.orderSnapshot()[packed!]?.status, 'packed');
  });

  it('a buyer cancellation surfaces in the poll as cancelled with buyerCancelRequested', async () => {
    const t = await harness();
    const since = new Date(t.clock.now() - 3_600_000);
    const [keep, gone] = t.control.createOrders({ count: 2, skus: SKUS, seed: 9 });
    const first = await drain(t.source, null, since);
    assert.deepEqual(new Set(first.orders.map((o) => o.orderId)), new Set([keep, gone]));

    t.clock.advance(60_000);
    t.control.buyerCancel(gone!);
    t.clock.advance(60_000);
    const second = await drain(t.source, first.cursor, since);
    const cancelled = second.orders.filter((o) => o.orderId === gone);
    assert.ok(cancelled.length >= 1);
    for (const o of cancelled) {
      assert.equal(o.status, 'cancelled');
      assert.equal(o.marketplaceStatus, 'CANCELLED');
      assert.ok(
        o.lines.every(
          (l) => l.buyerCancelRequested === true && /cancellation_requested/.test(l.cancelReason ?? ''),
        ),
      );
    }
    assert.deepEqual(t.control.orderSnapshot()[gone!], { status: 'cancelled', cancelledBy: 'buyer' });

    // A marketplace cancellation is cancelled too, but not a buyer request.
    t.control.marketplaceCancel(keep!);
    t.clock.advance(60_000);
    const third = await drain(t.source, second.cursor, since);
    const mkt = third.orders.filter((o) => o.orderId === keep);
    assert.ok(mkt.length >= 1);
    assert.ok(mkt.every((o) => o.status === 'cancelled' && o.lines.every((l) => !l.buyerCancelRequested)));
  });

  it('an access token expiring mid-poll costs one refresh and the page is replayed', async () => {
    const t = await harness();
    const since = new Date(t.clock.now() - 3_600_000);
    const created = t.control.createOrders({ count: 45, skus: SKUS, seed: 11 });
    const p1 = await t.source.poll(null, { since });
    assert.equal(p1.more, true);
    t.control.expireTokens();
    const rest = await drain(t.source, p1.cursor, since);
    const seen = new Set([...p1.orders, ...rest.orders].map((o) => o.orderId));
    for (const id of created) assert.ok(seen.has(id));
    const c = t.control.counters();
    assert.equal(c.oauthToken.calls, 2);
    assert.equal(c.searchShipments.unauthorized + c.getShipments.unauthorized, 1);
    const attempts = t.recorder.calls.filter((x) => x.operation !== 'oauthToken' && x.attempt === 2);
    assert.equal(attempts.length, 1);
  });
});
