/**
 * Tata CliQ orders (client, OrderSource, OrderActions) against the local sandbox over real HTTP.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { RetryableError } from '../../src/core/errors.js';
import type { MarketplaceOrder, OrderPage } from '../../src/marketplaces/orders.js';
import {
  createTataCliqSandbox,
  TATACLIQ_SANDBOX,
  TataCliqClient,
  TataCliqOrderActions,
  TataCliqOrderSource,
  TataCliqOrdersClient,
  type TataCliqSandbox,
  tataCliqSandboxEnv,
} from '../../src/marketplaces/tatacliq/index.js';
import { memoryRecorder } from './fakes.js';

const SKUS = ['SAM-TV-1001', 'LG/WM 8KG+STEAM,BLK', 'Café Noir 50 ml'];
const SINCE = { since: new Date(Date.UTC(2020, 0, 1)) };

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function harness(pageSize = 15) {
  const sandbox = createTataCliqSandbox();
  await sandbox.start();
  cleanups.push(() => sandbox.stop());
  const env = tataCliqSandboxEnv(sandbox.url);
  const recorder = memoryRecorder();
  const listing = new TataCliqClient({
    baseUrl: env.TATACLIQ_BASE_URL!,
    sellerId: env.TATACLIQ_SELLER_ID!,
    token: env.TATACLIQ_TOKEN!,
    recorder,
  });
  cleanups.push(() => listing.stop());
  const client = new TataCliqOrdersClient({ client: listing, rateScale: 50 });
  cleanups.push(() => client.stop());
  const source = new TataCliqOrderSource({ api: client, pageSize });
  const actions = new TataCliqOrderActions({ api: client, carrierCodes: { Delhivery: 'DELHIVERY' } });
  let cursor: string | null = null;
  /** Polls until caught up; returns every order of the pages. */
  const pollAll = async (): Promise<{ orders: MarketplaceOrder[]; pages: OrderPage[] }> => {
    const pages: OrderPage[] = [];
    for (let i = 0; i < 20; i++) {
      const page = await source.poll(cursor, SINCE);
      pages.push(page);
      cursor = page.cursor;
      if (!page.more) break;
    }
    return { orders: pages.flatMap((p) => p.orders), pages };
  };
  return { sandbox, client, source, actions, recorder, pollAll };
}

async function rawActiveList(sandbox: TataCliqSandbox): Promise<{ order: Record<string, unknown>[] }> {
  const url = `${sandbox.url}/PartnerConnect/PC_${TATACLIQ_SANDBOX.sellerId}/AP_SALES_ORDER/AVT_JSON_SALES_ORDER/AV_2.0/OG_1/`;
  const res = await fetch(url, { headers: { authorization: `Bearer ${TATACLIQ_SANDBOX.token}` } });
  assert.equal(res.status, 200);
  return (await res.json()) as { order: Record<string, unknown>[] };
}

function shipReq(order: MarketplaceOrder, trackingNumber: string) {
  return {
    orderId: order.orderId,
    lines: order.lines.map((l) => ({ lineId: l.lineId, quantity: l.quantity })),
    carrier: 'Delhivery',
    trackingNumber,
    shippedAt: new Date().toISOString(),
    order,
  };
}

describe('Tata CliQ orders against the sandbox', () => {
  it('polls 40 new orders page by page, mapped from the observed shape', async () => {
    const h = await harness(15);
    const created = h.sandbox.control.createOrders({ count: 40, skus: SKUS, seed: 7 });
    assert.equal(created.length, 40);

    const raw = await rawActiveList(h.sandbox);
    const first = raw.order[0]!;
    assert.match(String(first.orderDate), /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d$/);
    const line = (first.orderLine as Record<string, unknown>[])[0]!;
    assert.equal(typeof line.price, 'string');
    assert.equal(line.omsStatusCode, '001');

    const { orders, pages } = await h.pollAll();
    assert.deepEqual(
      pages.map((p) => [p.orders.length, p.more]),
      [
        [15, true],
        [15, true],
        [10, false],
      ],
    );
    assert.deepEqual(orders.map((o) => o.orderId).sort(), [...created].sort());
    for (const o of orders) {
      assert.equal(o.marketplace, 'tatacliq');
      assert.equal(o.status, 'unshipped');
      assert.match(o.purchasedAt, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      assert.ok(o.shipBy && o.shipBy > o.purchasedAt);
      assert.ok(o.lines.length >= 1 && o.lines.length <= 3);
      for (const l of o.lines) {
        assert.ok(SKUS.includes(l.sku));
        assert.equal(l.quantity, 1);
        assert.ok((l.unitPrice ?? 0) > 0);
      }
      assert.ok(o.shippingAddress?.city && o.shippingAddress.postalCode && o.shippingAddress.name);
      assert.equal(o.shippingAddress?.countryCode, 'IN');
    }
    // Caught up: nothing new, one list call, no re-reads.
    const again = await h.pollAll();
    assert.deepEqual(again.orders, []);
    assert.equal(h.sandbox.control.orderCounters().getOrder.calls, 0);
  });

  it('notices a buyer cancel by re-reading the order that left the active list', async () => {
    const h = await harness();
    const [a, b] = h.sandbox.control.createOrders({ count: 2, skus: SKUS, seed: 1 });
    await h.pollAll();
    h.sandbox.control.buyerCancel(a!);
    assert.ok(!(await rawActiveList(h.sandbox)).order.some((o) => o.orderNo === a));

    const { orders } = await h.pollAll();
    assert.deepEqual(
      orders.map((o) => o.orderId),
      [a],
    );
    assert.equal(orders[0]?.status, 'cancelled');
    assert.ok(
      orders[0]?.lines.every((l) => l.status === 'cancelled' && l.cancelReason === 'Cancelled by customer'),
    );
    const reads = h.sandbox.control.requests().filter((r) => r.operation === 'getOrder');
    assert.deepEqual(
      reads.map((r) => r.skus),
      [[a]],
    );
    assert.deepEqual(h.sandbox.control.orderSnapshot()[a!], { status: 'cancelled', cancelledBy: 'buyer' });
    assert.equal(h.sandbox.control.orderSnapshot()[b!]?.status, 'unshipped');
    assert.deepEqual((await h.pollAll()).orders, []);

    h.sandbox.control.marketplaceCancel(b!);
    const later = await h.pollAll();
    assert.equal(later.orders[0]?.status, 'cancelled');
    assert.deepEqual(h.sandbox.control.orderSnapshot()[b!], {
      status: 'cancelled',
      cancelledBy: 'marketplace',
    });
  });

  it("ships, cancels, and refuses a cancel after ship with CliQ's message", async () => {
    const h = await harness();
    const [s, c] = h.sandbox.control.createOrders({ count: 2, skus: SKUS, seed: 3 });
    const { orders } = await h.pollAll();
    const toShip = orders.find((o) => o.orderId === s)!;
    const toCancel = orders.find((o) => o.orderId === c)!;

    assert.deepEqual(await h.actions.ship(shipReq(toShip, 'AWB-1001')), { status: 'done' });
    assert.deepEqual(h.sandbox.control.orderSnapshot()[s!], {
      status: 'shipped',
      shipped: { trackingNumber: 'AWB-1001' },
    });
    // Repeating the ship is safe.
    assert.deepEqual(await h.actions.ship(shipReq(toShip, 'AWB-1001')), { status: 'done' });
    assert.equal((await h.actions.get(s!))?.status, 'shipped');

    assert.deepEqual(await h.actions.cancel({ orderId: c!, reason: 'Out of stock', order: toCancel }), {
      status: 'done',
    });
    assert.deepEqual(h.sandbox.control.orderSnapshot()[c!], { status: 'cancelled', cancelledBy: 'seller' });
    assert.deepEqual(await h.actions.cancel({ orderId: c!, reason: 'again', order: toCancel }), {
      status: 'done',
    });

    const refused = await h.actions.cancel({ orderId: s!, reason: 'Buyer changed mind', order: toShip });
    assert.equal(refused.status, 'refused');
    assert.ok(refused.status === 'refused');
    assert.equal(refused.code, 'CANCELLATION_NOT_ALLOWED');
    assert.match(refused.reason, /^Cancellation not allowed: transaction \d+ has already been shipped/);
    assert.equal(h.sandbox.control.orderSnapshot()[s!]?.status, 'shipped');

    const shipCancelled = await h.actions.ship(shipReq(toCancel, 'AWB-2'));
    assert.ok(shipCancelled.status === 'refused');
    assert.equal(shipCancelled.code, 'TRANSACTION_CANCELLED');

    // The poller sees both leave the active list.
    const { orders: changed } = await h.pollAll();
    assert.deepEqual(Object.fromEntries(changed.map((o) => [o.orderId, o.status])), {
      [s!]: 'shipped',
      [c!]: 'cancelled',
    });
  });

  it('generates the same orders from the same seed; late orders carry their earlier date', async () => {
    const one = await harness();
    const two = await harness();
    const a = one.sandbox.control.createOrders({ count: 5, skus: SKUS, seed: 42 });
    const b = two.sandbox.control.createOrders({ count: 5, skus: SKUS, seed: 42 });
    assert.deepEqual(a, b);
    const strip = (l: { order: Record<string, unknown>[] }) =>
      l.order.map((o) => ({ ...o, orderDate: undefined, paymentInfo: undefined, orderLine: undefined }));
    assert.deepEqual(strip(await rawActiveList(one.sandbox)), strip(await rawActiveList(two.sandbox)));
    one.sandbox.control.repeatPages(true); // not paged: no effect

    const late = one.sandbox.control.createOrders({ count: 1, skus: SKUS, lateByMs: 3_600_000 });
    const { orders } = await one.pollAll();
    const got = orders.find((o) => o.orderId === late[0]);
    assert.ok(got);
    assert.ok(Date.now() - Date.parse(got.purchasedAt) >= 3_590_000);
  });

  it('a throttled or failing list loses nothing: the poll throws retryable and the next one resumes', async () => {
    const h = await harness();
    const ids = h.sandbox.control.createOrders({ count: 3, skus: SKUS, seed: 9 });
    h.sandbox.control.failNext(1, 503);
    await assert.rejects(h.pollAll(), (e: unknown) => e instanceof RetryableError && e.status === 503);
    const { orders } = await h.pollAll();
    assert.deepEqual(orders.map((o) => o.orderId).sort(), [...ids].sort());
    assert.equal(h.sandbox.control.orderCounters().listActiveOrders.serverErrors, 1);
  });
});
