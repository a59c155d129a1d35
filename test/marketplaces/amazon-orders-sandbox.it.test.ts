/**
 * The Amazon order source and actions against the local sandbox over real HTTP (127.0.0.1): a
 * server clock ahead of ours (the upper bound follows the server's Date header), 60 orders over
 * pages that repeat, a late-visible order caught by the overlap, an expired pagination token,
 * confirmShipment refused without a carrier and accepted with one, cancellation through the
 * acknowledgement feed, and a refused cancel of a shipped order.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { Clock } from '../../src/core/clock.js';
import { systemClock } from '../../src/core/clock.js';
import {
  AmazonFeedsClient,
  AmazonOrderActions,
  AmazonOrderSource,
  AmazonOrdersClient,
  type AmazonSandbox,
  AmazonSpApiClient,
  createAmazonSandbox,
  SANDBOX_CREDENTIALS,
} from '../../src/marketplaces/amazon/index.js';
import type { FetchLike } from '../../src/marketplaces/http.js';
import type { MarketplaceOrder, OrderPage } from '../../src/marketplaces/orders.js';
import { loadOrders2026Model, loadOrdersV0Model } from './amazon-model.js';

const model2026 = loadOrders2026Model();
const modelV0 = loadOrdersV0Model();

/** Every orders request and 2xx answer checked against the models (requests and bodies). */
const problems: string[] = [];
const checkedFetch: FetchLike = async (input, init) => {
  const res = await fetch(input, init);
  const url = new URL(input);
  if (!url.pathname.startsWith('/orders/')) return res;
  const headers: Record<string, string> = {};
  new Headers(init?.headers).forEach((v, k) => {
    headers[k] = v;
  });
  const req = {
    method: init?.method ?? 'GET',
    url,
    headers,
    body: typeof init?.body === 'string' ? init.body : undefined,
  };
  const model = url.pathname.startsWith('/orders/v0/') ? modelV0 : model2026;
  const v = model.validateRequest(req);
  // The missing carrier is sent on purpose, to get Amazon's refusal (F20).
  const deliberate = (e: string) => e === "body/packageDetail must have required property 'carrierCode'";
  problems.push(...v.errors.filter((e) => !deliberate(e)).map((e) => `${v.operationId}: ${e}`));
  const text = await res.clone().text();
  if (res.status === 200 && v.operationId !== null) {
    const def = model.responseDefinition(v.operationId, 200);
    if (def) problems.push(...model.validateDefinition(def, JSON.parse(text)).map((e) => `${def}: ${e}`));
  }
  return res;
};

const SKUS = ['SAM-TV-1001', 'LG-AC/15+X', 'BOAT HEADPHONES, 2'];
const SCALE = 1000;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  assert.deepEqual(problems.splice(0), [], 'requests and answers match the Orders models');
});

/** The sandbox's clock: real time plus an offset the test moves (the server runs ahead of us). */
function serverClock(offsetMs: number): Clock & { offset: number } {
  const c = {
    offset: offsetMs,
    now: () => Date.now() + c.offset,
    sleep: systemClock.sleep,
  };
  return c;
}

async function harness() {
  const clock = serverClock(30_000);
  const sandbox: AmazonSandbox = createAmazonSandbox({
    clock,
    rateScale: SCALE,
    feeds: { queueDelayMs: 20, processingDelayMs: 40 },
  });
  await sandbox.start();
  cleanups.push(() => sandbox.stop());
  const client = new AmazonSpApiClient({
    endpoint: sandbox.url,
    lwaEndpoint: sandbox.url,
    clientId: SANDBOX_CREDENTIALS.clientId,
    clientSecret: () => SANDBOX_CREDENTIALS.clientSecret,
    refreshToken: SANDBOX_CREDENTIALS.refreshToken,
    sellerId: SANDBOX_CREDENTIALS.sellerId,
    rateScale: SCALE,
  });
  const orders = new AmazonOrdersClient({
    client,
    endpoint: sandbox.url,
    rateScale: SCALE,
    fetch: checkedFetch,
  });
  const feeds = new AmazonFeedsClient({ client, endpoint: sandbox.url, rateScale: SCALE });
  cleanups.push(
    () => client.stop(),
    () => orders.stop(),
    () => feeds.stop(),
  );
  const source = new AmazonOrderSource({ orders, maxResultsPerPage: 9 });
  const actions = new AmazonOrderActions({
    orders,
    feeds,
    sellerId: SANDBOX_CREDENTIALS.sellerId,
    feedPollIntervalMs: 20,
    feedTimeoutMs: 5000,
  });
  return { clock, sandbox, orders, source, actions };
}

/** Polls until caught up (more=false); returns the pages' orders and the last cursor. */
async function drain(
  source: AmazonOrderSource,
  cursor: string | null,
  since: Date,
  between?: (page: OrderPage, n: number) => void,
): Promise<{ orders: MarketplaceOrder[]; cursor: string; pages: number }> {
  const out: MarketplaceOrder[] = [];
  let c = cursor;
  for (let n = 1; n < 100; n++) {
    const page = await source.poll(c, { since });
    out.push(...page.orders);
    c = page.cursor;
    between?.(page, n);
    if (!page.more) return { orders: out, cursor: c, pages: n };
  }
  throw new Error('no end of pages');
}

describe('Amazon orders against the sandbox', () => {
  it('sees every order across repeated pages, a late order and an expired token', async () => {
    const { clock, sandbox, source } = await harness();
    const since = new Date(clock.now() - 10 * 60_000);
    const created = sandbox.control.createOrders({ count: 60, skus: SKUS, seed: 7 });
    assert.equal(new Set(created).size, 60);
    sandbox.control.repeatPages(true);
    clock.offset += 3 * 60_000;

    const seen = new Map<string, MarketplaceOrder>();
    let total = 0;
    // First window: the local clock (3.5 min behind the server) with a margin; then the Date header.
    let r = await drain(source, null, since);
    for (const o of r.orders) seen.set(o.orderId, o);
    total += r.orders.length;
    let expired = false;
    r = await drain(source, r.cursor, since, (page, n) => {
      if (n === 2 && page.more && !expired) {
        sandbox.control.expirePaginationTokens();
        expired = true;
      }
    });
    for (const o of r.orders) seen.set(o.orderId, o);
    total += r.orders.length;
    assert.ok(r.pages > 6, `pages: ${r.pages}`);
    assert.ok(expired, 'a token was expired between pages');
    for (const id of created) assert.ok(seen.has(id), `order ${id} seen`);
    assert.ok(total > 60, 'pages repeated orders');

    // Visible only now, but last updated before the previous window's upper bound.
    const [late] = sandbox.control.createOrders({ count: 1, skus: SKUS, seed: 8, lateByMs: 200_000 });
    r = await drain(source, r.cursor, since);
    assert.ok(
      r.orders.some((o) => o.orderId === late),
      'late order caught by the overlap',
    );

    const order = seen.get(created[0]!)!;
    assert.equal(order.status, 'unshipped');
    assert.equal(order.marketplaceStatus, 'UNSHIPPED');
    assert.ok(order.shipBy);
    assert.ok(order.lines.length > 0 && order.lines.every((l) => l.unitPrice !== undefined && l.sku !== ''));
    assert.equal(order.shippingAddress?.countryCode, 'IN');
  });

  it('ships, refuses a missing carrier, cancels through the acknowledgement feed', async () => {
    const { clock, sandbox, actions } = await harness();
    const [a, b, c] = sandbox.control.createOrders({ count: 3, skus: SKUS, seed: 11 });
    const orderA = (await actions.get(a!))!;
    assert.equal(orderA.status, 'unshipped');
    const ship = (carrier: string) => ({
      orderId: a!,
      lines: orderA.lines.map((l) => ({ lineId: l.lineId, quantity: l.quantity })),
      carrier,
      trackingNumber: 'AWB123456',
      shippedAt: new Date(clock.now()).toISOString(),
      order: orderA,
    });

    const refused = await actions.ship(ship(''));
    assert.equal(refused.status, 'refused');
    assert.ok(
      refused.status === 'refused' && /carrierCode is required/.test(refused.reason),
      JSON.stringify(refused),
    );
    assert.equal(refused.status === 'refused' && refused.code, 'Invalid Input');

    assert.deepEqual(await actions.ship(ship('Delhivery')), { status: 'done' });
    assert.deepEqual(sandbox.control.orderSnapshot()[a!]?.shipped, {
      carrierCode: 'Delhivery',
      trackingNumber: 'AWB123456',
    });
    assert.equal(sandbox.control.orderSnapshot()[a!]?.status, 'shipped');
    assert.equal((await actions.get(a!))?.status, 'shipped');

    // Unknown carrier: 'Other' with the name.
    const orderC = (await actions.get(c!))!;
    const other = await actions.ship({
      ...ship('Shree Maruti Courier'),
      orderId: c!,
      order: orderC,
      lines: orderC.lines.map((l) => ({ lineId: l.lineId, quantity: l.quantity })),
    });
    assert.deepEqual(other, { status: 'done' });
    assert.deepEqual(sandbox.control.orderSnapshot()[c!]?.shipped, {
      carrierCode: 'Other',
      carrierName: 'Shree Maruti Courier',
      trackingNumber: 'AWB123456',
    });

    // Cancel an unshipped order after the buyer asked.
    sandbox.control.buyerCancel(b!);
    const orderB = (await actions.get(b!))!;
    assert.ok(orderB.lines.every((l) => l.buyerCancelRequested === true && l.cancelReason));
    assert.deepEqual(await actions.cancel({ orderId: b!, reason: 'buyer', order: orderB }), {
      status: 'done',
    });
    assert.equal(sandbox.control.orderSnapshot()[b!]?.status, 'cancelled');
    assert.equal(sandbox.control.orderSnapshot()[b!]?.cancelledBy, 'buyer');
    assert.equal((await actions.get(b!))?.status, 'cancelled');

    // Cancel of a shipped order: refused with the report's message.
    const shipped = (await actions.get(a!))!;
    const res = await actions.cancel({ orderId: a!, reason: 'out of stock', order: shipped });
    assert.equal(res.status, 'refused');
    assert.ok(res.status === 'refused' && /already been shipped/.test(res.reason), JSON.stringify(res));
    assert.equal(sandbox.control.orderSnapshot()[a!]?.status, 'shipped');

    // Seller cancel without a buyer request; unknown order → null.
    const [d] = sandbox.control.createOrders({ count: 1, skus: SKUS, seed: 12 });
    const orderD = (await actions.get(d!))!;
    assert.deepEqual(await actions.cancel({ orderId: d!, reason: 'no stock', order: orderD }), {
      status: 'done',
    });
    assert.equal(sandbox.control.orderSnapshot()[d!]?.cancelledBy, 'seller');
    assert.equal(await actions.get('999-0000000-0000000'), null);
  });

  it('moves pending orders to unshipped and reports marketplace cancels', async () => {
    const { sandbox, actions } = await harness();
    const [p] = sandbox.control.createOrders({ count: 1, skus: SKUS, seed: 3, pendingFirst: true });
    const pending = (await actions.get(p!))!;
    assert.equal(pending.status, 'pending');
    assert.ok(pending.lines.every((l) => l.unitPrice === undefined));
    assert.equal(pending.shippingAddress, undefined);
    sandbox.control.authorizeOrders([p!]);
    assert.equal((await actions.get(p!))?.status, 'unshipped');
    sandbox.control.marketplaceCancel(p!);
    assert.equal((await actions.get(p!))?.status, 'cancelled');
    assert.equal(sandbox.control.orderSnapshot()[p!]?.cancelledBy, 'marketplace');
  });
});
