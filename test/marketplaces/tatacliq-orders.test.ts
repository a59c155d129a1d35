import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { RetryableError, TerminalError } from '../../src/core/errors.js';
import type { MarketplaceOrder } from '../../src/marketplaces/orders.js';
import {
  type CancelLine,
  formatCliqDate,
  type LineBatchOutcome,
  type OrderWire,
  parseCliqDate,
  parseOrderCursor,
  type ShipLine,
  TATACLIQ_ERROR_CODES,
  TataCliqOrderActions,
  TataCliqOrderSource,
  type TataCliqOrdersApi,
  TataCliqOrdersClient,
  type TataCliqOrdersClientOptions,
  toMarketplaceOrder,
} from '../../src/marketplaces/tatacliq/index.js';
import { ordersOf } from '../../src/marketplaces/tatacliq/orders-types.js';
import { REFERENCE_TIMESTAMP, type Responder } from './fakes.js';
import { BASE_URL, SELLER, scriptedClient, UNAUTHORIZED } from './tatacliq-fakes.js';

const ORDERS = `${BASE_URL}/PC_${SELLER}/AP_SALES_ORDER/AVT_JSON_SALES_ORDER/AV_2.0/OG_1/`;

/** The public sample's shape (reference §3.1): strings for numbers, non-ISO orderDate. */
function sampleOrder(orderNo = '6204-2443-4245366', codes: string[] = ['001']): Record<string, unknown> {
  return {
    orderType: '01',
    orderNo,
    orderDate: '2022-05-26 15:10:22.0',
    addressInfo: [
      {
        addressType: 'BA',
        firstName: 'Bill',
        lastName: 'Payer',
        city: 'Pune',
        pincode: '411014',
      },
      {
        addressType: 'DA',
        firstName: 'Meera',
        lastName: 'Iyer',
        phoneNo: '9812345678',
        emailID: 'meera@example.in',
        address1: '12, MG Road',
        address2: 'Flat 4B',
        address3: '',
        landmark: 'Near City Mall',
        city: 'Mumbai',
        state: '27',
        country: 'IN',
        pincode: '400050',
      },
    ],
    paymentInfo: [{ paymentCost: '35150', paymentMode: 'Prepaid', paymentStatus: 'SUCCESS' }],
    orderLine: codes.map((code, i) => ({
      transactionId: `26000000000${i + 1}`,
      shipByDate: `2022-05-2${8 + i}T18:29:59Z`,
      omsStatusCode: code,
      sellerID: SELLER,
      articleNumber: `SKU-${i + 1}`,
      price: i === 0 ? '35150' : '999.50',
      mrp: '39080',
      isCOD: 'N',
      apportionedPrice: '35000',
      fulfillmentType: 'SSHIP',
      p1SlaveId: '100421DEL001',
    })),
  };
}

// Client ---------------------------------------------------------------------------------------

const clients: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.stop()));
});

function setup(respond: Responder, overrides: Partial<TataCliqOrdersClientOptions> = {}) {
  const { client: listing, clock, recorder, requests } = scriptedClient(respond);
  clients.push(listing);
  const client = new TataCliqOrdersClient({ client: listing, rateScale: 50, ...overrides });
  clients.push(client);
  return { client, clock, recorder, requests };
}

describe('TataCliqOrdersClient', () => {
  it('reads the active orders with the observed GET and parses strings and the order list', async () => {
    const t = setup(() => ({ status: 200, body: { order: [sampleOrder(), { bogus: true }] } }));
    const out = await t.client.listActiveOrders();
    const [req] = t.requests;
    assert.equal(req?.method, 'GET');
    assert.equal(req?.url.href, ORDERS);
    assert.equal(req?.headers.authorization, 'Bearer jwt-static');
    assert.equal(out.orders.length, 1);
    assert.deepEqual(out.invalid, ['?']);
    assert.equal(out.orders[0]?.orderLine[0]?.price, 35150);
    assert.equal(t.recorder.calls[0]?.operation, 'listActiveOrders');
  });

  it('reads one order by ORDID_ (encoded) and answers null for a FAILURE 404', async () => {
    const t = setup((req) =>
      req.url.pathname.includes('ORDID_A%2FB')
        ? { status: 404, body: { status: 'FAILURE', errorCode: 'ORDER_NOT_FOUND', errorMessage: 'no' } }
        : { status: 200, body: { order: [sampleOrder()] } },
    );
    assert.equal((await t.client.getOrder('6204-2443-4245366'))?.orderNo, '6204-2443-4245366');
    assert.equal(t.requests[0]?.url.href, `${ORDERS}ORDID_6204-2443-4245366/`);
    assert.equal(await t.client.getOrder('A/B'), null);
  });

  it('sends ship and cancel per line and aligns the per-line answers', async () => {
    const t = setup((req) => {
      const body = JSON.parse(req.body ?? '{}') as Record<string, { Item: { transactionId: string }[] }>;
      const items = (body.ShipmentUpdate ?? body.OrderStatusUpdate)?.Item ?? [];
      return {
        status: 200,
        body: {
          status: 'PARTIAL_SUCCESS',
          Item: items.slice(0, 1).map((i) => ({
            transactionId: i.transactionId,
            status: 'FAILURE',
            errorCode: 'X',
            errorMessage: 'nope',
          })),
        },
      };
    });
    const ship: ShipLine = {
      orderNo: 'O1',
      transactionId: 'T1',
      awbNo: 'AWB1',
      logisticsId: 'DELHIVERY',
      logisticsName: 'Delhivery',
      shippedAt: Date.UTC(2026, 10, 20, 4, 0, 0),
    };
    const shipped = await t.client.shipLines([ship, { ...ship, transactionId: 'T2' }]);
    assert.equal(t.requests[0]?.url.href, `${BASE_URL}/PC_${SELLER}/AP_SHIPMENT/AV_1.0/OG_1`);
    assert.deepEqual(JSON.parse(t.requests[0]?.body ?? '').ShipmentUpdate.Item[0], {
      orderNo: 'O1',
      transactionId: 'T1',
      awbNo: 'AWB1',
      logisticsId: 'DELHIVERY',
      logisticsName: 'Delhivery',
      shippedDate: '2026-11-20 09:30:00.0',
    });
    assert.deepEqual(shipped.lines, [
      { transactionId: 'T1', status: 'FAILURE', errorCode: 'X', errorMessage: 'nope' },
      { transactionId: 'T2', status: 'UNCONFIRMED' },
    ]);
    const cancel: CancelLine = {
      orderNo: 'O1',
      transactionId: 'T1',
      reasonCode: 'OOS',
      reason: 'out of stock',
    };
    await t.client.cancelLines([cancel]);
    assert.equal(t.requests[1]?.url.href, `${BASE_URL}/PC_${SELLER}/AP_ORDER_STATUS/AV_1.0/OG_1`);
    assert.deepEqual(JSON.parse(t.requests[1]?.body ?? '').OrderStatusUpdate.Item, [
      { orderNo: 'O1', transactionId: 'T1', status: 'CANCELLED', reasonCode: 'OOS', reason: 'out of stock' },
    ]);
    await assert.rejects(t.client.shipLines([{ ...ship, awbNo: ' ' }]), TerminalError);
  });

  it('uses overridden path templates and refuses a template without {orderNo}', async () => {
    const t = setup(() => ({ status: 200, body: { order: [] } }), {
      paths: { activeOrders: 'PC_{sellerId}/AP_ORDERS/AV_3.0/OG_1/' },
    });
    await t.client.listActiveOrders();
    assert.equal(t.requests[0]?.url.pathname, `/PartnerConnect/PC_${SELLER}/AP_ORDERS/AV_3.0/OG_1/`);
    assert.throws(() => setup(() => ({ status: 200 }), { paths: { order: 'PC_{sellerId}/X/' } }), RangeError);
  });

  it('replays a 401 once; a second 401 with the static token is terminal; 429 is retryable', async () => {
    const t = setup(() => UNAUTHORIZED);
    await assert.rejects(t.client.listActiveOrders(), (e: unknown) => {
      assert.ok(e instanceof TerminalError);
      assert.equal(e.code, TATACLIQ_ERROR_CODES.tokenExpired);
      return true;
    });
    assert.equal(t.requests.length, 2);
    const u = setup(() => ({ status: 429, headers: { 'retry-after': '2' }, body: { status: 'FAILURE' } }));
    await assert.rejects(u.client.getOrder('O1'), (e: unknown) => e instanceof RetryableError && e.throttled);
  });
});

// Mapping --------------------------------------------------------------------------------------

describe('Tata CliQ order mapping', () => {
  it('maps the sample: IST orderDate to ISO, lines, prices, shipBy, delivery address without email', () => {
    const wire = parseWire(sampleOrder('6204-2443-4245366', ['001', '006']));
    const o = toMarketplaceOrder(wire, { now: REFERENCE_TIMESTAMP });
    assert.equal(o.purchasedAt, '2022-05-26T09:40:22.000Z');
    assert.equal(o.updatedAt, o.purchasedAt);
    assert.equal(o.status, 'unshipped');
    assert.equal(o.marketplaceStatus, '001,006');
    assert.equal(o.shipBy, '2022-05-28T18:29:59.000Z');
    assert.equal(o.total, 35150);
    assert.deepEqual(o.lines, [
      { lineId: '260000000001', sku: 'SKU-1', quantity: 1, status: 'unshipped', unitPrice: 35150 },
      {
        lineId: '260000000002',
        sku: 'SKU-2',
        quantity: 1,
        status: 'cancelled',
        unitPrice: 999.5,
        cancelReason: 'cancelled by buyer',
        buyerCancelRequested: true,
      },
    ]);
    assert.deepEqual(o.shippingAddress, {
      name: 'Meera Iyer',
      addressLine1: '12, MG Road',
      addressLine2: 'Flat 4B, Near City Mall',
      city: 'Mumbai',
      state: '27',
      postalCode: '400050',
      countryCode: 'IN',
      phone: '9812345678',
    });
    assert.deepEqual(o.refs, {
      orderType: '01',
      fulfillmentType: 'SSHIP',
      slaveId: '100421DEL001',
      cod: 'N',
    });
    const all = toMarketplaceOrder(parseWire(sampleOrder('X', ['006', '005'])), { now: 0 });
    assert.equal(all.status, 'cancelled');
    assert.equal(
      toMarketplaceOrder(parseWire(sampleOrder('X', ['003', '002'])), { now: 0 }).status,
      'packed',
    );
  });

  it('parses both date formats and formats the CliQ one', () => {
    assert.equal(parseCliqDate('2022-05-26 15:10:22.0'), Date.UTC(2022, 4, 26, 9, 40, 22));
    assert.equal(parseCliqDate('2022-05-26T15:10:22+05:30'), Date.UTC(2022, 4, 26, 9, 40, 22));
    assert.equal(parseCliqDate('26/05/2022'), undefined);
    assert.equal(formatCliqDate(Date.UTC(2022, 4, 26, 9, 40, 22)), '2022-05-26 15:10:22.0');
  });
});

function parseWire(raw: Record<string, unknown>): OrderWire {
  const o = toWire(raw);
  assert.ok(o);
  return o;
}

// Source ---------------------------------------------------------------------------------------

/** An in-memory CliQ: orders with line codes; the list shows active orders with active lines. */
function fakeApi() {
  const orders = new Map<string, Record<string, unknown>>();
  const calls: string[] = [];
  let failGet = 0;
  const active = (code: string) => ['000', '001', '002'].includes(code);
  const lines = (o: Record<string, unknown>) =>
    o.orderLine as { transactionId: string; omsStatusCode: string }[];
  const api: TataCliqOrdersApi = {
    listActiveOrders: async () => {
      calls.push('list');
      const list = [...orders.values()]
        .filter((o) => lines(o).some((l) => active(l.omsStatusCode)))
        .map((o) => ({ ...o, orderLine: lines(o).filter((l) => active(l.omsStatusCode)) }));
      return { orders: list.map((o) => toWire(o)!), invalid: [] };
    },
    getOrder: async (id) => {
      calls.push(`get ${id}`);
      if (failGet > 0) {
        failGet--;
        throw new RetryableError('getOrder: HTTP 503', { status: 503 });
      }
      const o = orders.get(id);
      return o ? toWire(o)! : null;
    },
    shipLines: async () => ({ lines: [] }),
    cancelLines: async () => ({ lines: [] }),
  };
  const setCode = (id: string, index: number, code: string) => {
    const l = lines(orders.get(id)!)[index];
    if (l) l.omsStatusCode = code;
  };
  return {
    api,
    calls,
    orders,
    add: (id: string, codes = ['001'], date = '2026-11-20 09:00:00.0') =>
      orders.set(id, { ...sampleOrder(id, codes), orderDate: date }),
    setCode,
    failGets: (n: number) => {
      failGet = n;
    },
  };
}

function toWire(raw: Record<string, unknown>): OrderWire | undefined {
  return ordersOf({ order: [structuredClone(raw)] })?.orders[0];
}

const SINCE = { since: new Date(Date.UTC(2026, 0, 1)) };

function ids(orders: MarketplaceOrder[]): string[] {
  return orders.map((o) => o.orderId);
}

describe('TataCliqOrderSource', () => {
  it('emits new orders once, then nothing while unchanged', async () => {
    const f = fakeApi();
    f.add('A');
    f.add('B');
    const source = new TataCliqOrderSource({ api: f.api, clock: new ManualClock(REFERENCE_TIMESTAMP) });
    const p1 = await source.poll(null, SINCE);
    assert.deepEqual(ids(p1.orders).sort(), ['A', 'B']);
    assert.equal(p1.more, false);
    const p2 = await source.poll(p1.cursor, SINCE);
    assert.deepEqual(p2.orders, []);
    assert.deepEqual(f.calls, ['list', 'list']);
    const cursor = parseOrderCursor(p2.cursor);
    assert.equal(cursor?.seen.length, 2);
    assert.deepEqual(cursor?.pending, []);
  });

  it('re-reads an order that left the list and surfaces it cancelled; then forgets it', async () => {
    const f = fakeApi();
    f.add('A', ['001', '001']);
    f.add('B');
    const clock = new ManualClock(REFERENCE_TIMESTAMP);
    const source = new TataCliqOrderSource({ api: f.api, clock });
    const p1 = await source.poll(null, SINCE);
    f.setCode('A', 0, '006');
    f.setCode('A', 1, '006');
    clock.advance(60_000);
    const p2 = await source.poll(p1.cursor, SINCE);
    assert.deepEqual(ids(p2.orders), ['A']);
    assert.equal(p2.orders[0]?.status, 'cancelled');
    assert.equal(p2.orders[0]?.updatedAt, new Date(REFERENCE_TIMESTAMP + 60_000).toISOString());
    assert.deepEqual(f.calls, ['list', 'list', 'get A']);
    assert.deepEqual(
      parseOrderCursor(p2.cursor)?.seen.map((e) => e[0]),
      ['B'],
    );
    const p3 = await source.poll(p2.cursor, SINCE);
    assert.deepEqual(p3.orders, []);
  });

  it('re-reads an order whose lines changed while still listed (partial cancel) and keeps it', async () => {
    const f = fakeApi();
    f.add('A', ['001', '001']);
    const source = new TataCliqOrderSource({ api: f.api });
    const p1 = await source.poll(null, SINCE);
    f.setCode('A', 1, '005');
    const p2 = await source.poll(p1.cursor, SINCE);
    assert.deepEqual(ids(p2.orders), ['A']);
    assert.deepEqual(
      p2.orders[0]?.lines.map((l) => l.status),
      ['unshipped', 'cancelled'],
    );
    const seen = parseOrderCursor(p2.cursor)?.seen;
    assert.equal(seen?.[0]?.[0], 'A');
    assert.deepEqual((await source.poll(p2.cursor, SINCE)).orders, []);
  });

  it('pages new orders by pageSize, oldest first, and skips orders before `since` on the first run', async () => {
    const f = fakeApi();
    for (let i = 0; i < 5; i++) f.add(`N${i}`, ['001'], `2026-11-20 09:00:0${i}.0`);
    f.add('OLD', ['001'], '2025-01-01 00:00:00.0');
    const source = new TataCliqOrderSource({ api: f.api, pageSize: 2 });
    const got: string[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 5; i++) {
      const page: Awaited<ReturnType<typeof source.poll>> = await source.poll(cursor, SINCE);
      got.push(...ids(page.orders));
      cursor = page.cursor;
      if (!page.more) break;
    }
    assert.deepEqual(got, ['N0', 'N1', 'N2', 'N3', 'N4']);
    // OLD is remembered: when it leaves the list, it is re-read and emitted.
    f.setCode('OLD', 0, '003');
    const later = await source.poll(cursor, SINCE);
    assert.deepEqual(ids(later.orders), ['OLD']);
    assert.equal(later.orders[0]?.status, 'shipped');
  });

  it('bounds re-reads per poll (more), and keeps the page when a later re-read fails', async () => {
    const f = fakeApi();
    for (const id of ['A', 'B', 'C']) f.add(id);
    const source = new TataCliqOrderSource({ api: f.api, maxRereadsPerPoll: 2 });
    const p1 = await source.poll(null, SINCE);
    for (const id of ['A', 'B', 'C']) f.setCode(id, 0, '003');
    const p2 = await source.poll(p1.cursor, SINCE);
    assert.equal(p2.orders.length, 2);
    assert.equal(p2.more, true);
    assert.deepEqual(parseOrderCursor(p2.cursor)?.pending, ['C']);
    f.failGets(1);
    await assert.rejects(source.poll(p2.cursor, SINCE), RetryableError);
    const p3 = await source.poll(p2.cursor, SINCE);
    assert.deepEqual(ids(p3.orders), ['C']);
    assert.equal(p3.more, false);
    // No list read while re-reads were pending.
    assert.equal(f.calls.filter((c) => c === 'list').length, 2);

    f.add('D');
    f.add('E');
    const p4 = await source.poll(p3.cursor, SINCE);
    f.setCode('D', 0, '003');
    f.setCode('E', 0, '003');
    f.add('F');
    f.failGets(1);
    const p5 = await source.poll(p4.cursor, SINCE);
    assert.deepEqual(ids(p5.orders), ['F']);
    assert.equal(p5.more, true);
    assert.deepEqual(parseOrderCursor(p5.cursor)?.pending, ['D', 'E']);
  });

  it('bounds the remembered orders and rejects a foreign cursor', async () => {
    const f = fakeApi();
    for (let i = 0; i < 6; i++) f.add(`N${i}`, ['001'], `2026-11-20 09:00:0${i}.0`);
    const source = new TataCliqOrderSource({ api: f.api, maxTracked: 4 });
    const p = await source.poll(null, SINCE);
    assert.deepEqual(
      parseOrderCursor(p.cursor)?.seen.map((e) => e[0]),
      ['N2', 'N3', 'N4', 'N5'],
    );
    await assert.rejects(source.poll('{"nextToken":"x"}', SINCE), TerminalError);
  });
});

// Actions --------------------------------------------------------------------------------------

function actionsWith(answer: (lines: string[]) => LineBatchOutcome, codes: Record<string, string>) {
  const f = fakeApi();
  f.add('A', Object.values(codes));
  const calls: { op: string; lines: (ShipLine | CancelLine)[] }[] = [];
  f.api.shipLines = async (lines) => {
    calls.push({ op: 'ship', lines });
    return answer(lines.map((l) => l.transactionId));
  };
  f.api.cancelLines = async (lines) => {
    calls.push({ op: 'cancel', lines });
    return answer(lines.map((l) => l.transactionId));
  };
  const actions = new TataCliqOrderActions({ api: f.api, carrierCodes: { delhivery: 'DLV' } });
  return { f, calls, actions };
}

async function orderA(f: ReturnType<typeof fakeApi>): Promise<MarketplaceOrder> {
  return toMarketplaceOrder((await f.api.getOrder('A'))!, { now: 0 });
}

describe('TataCliqOrderActions', () => {
  const ok = (ids: string[]): LineBatchOutcome => ({
    lines: ids.map((transactionId) => ({ transactionId, status: 'SUCCESS' as const })),
  });

  it('ships every live line with the carrier code and AWB', async () => {
    const { f, calls, actions } = actionsWith(ok, { a: '001', b: '006' });
    const order = await orderA(f);
    const res = await actions.ship({
      orderId: 'A',
      lines: [],
      carrier: 'Delhivery',
      trackingNumber: 'AWB123',
      shippedAt: '2026-11-20T04:00:00Z',
      order,
    });
    assert.deepEqual(res, { status: 'done' });
    assert.equal(calls[0]?.lines.length, 1);
    assert.deepEqual(calls[0]?.lines[0], {
      orderNo: 'A',
      transactionId: '260000000001',
      awbNo: 'AWB123',
      logisticsId: 'DLV',
      logisticsName: 'Delhivery',
      shippedAt: Date.UTC(2026, 10, 20, 4, 0, 0),
    });
  });

  it("refuses a cancel with CliQ's message when the line already shipped", async () => {
    const { f, actions } = actionsWith(
      (ids) => ({
        status: 'FAILURE',
        lines: ids.map((transactionId) => ({
          transactionId,
          status: 'FAILURE' as const,
          errorCode: 'CANCELLATION_NOT_ALLOWED',
          errorMessage: `Cancellation not allowed: transaction ${transactionId} has already been shipped`,
        })),
      }),
      { a: '003' },
    );
    const refusal = {
      status: 'refused',
      code: 'CANCELLATION_NOT_ALLOWED',
      reason: 'Cancellation not allowed: transaction 260000000001 has already been shipped',
    };
    // The whole order (no lines given): the shipped line is sent, CliQ refuses.
    assert.deepEqual(await actions.cancel({ orderId: 'A', reason: 'OOS', order: await orderA(f) }), refusal);
    const res2 = await actions.cancel({
      orderId: 'A',
      lines: [{ lineId: '260000000001', quantity: 1 }],
      reason: 'OOS',
      order: await orderA(f),
    });
    assert.deepEqual(res2, refusal);
  });

  it('treats a FAILURE as done when the order already shows the goal (a repeated call)', async () => {
    const { f, actions } = actionsWith(
      (ids) => ({
        lines: ids.map((transactionId) => ({
          transactionId,
          status: 'FAILURE' as const,
          errorMessage: 'dup',
        })),
      }),
      { a: '005' },
    );
    const res = await actions.cancel({
      orderId: 'A',
      lines: [{ lineId: '260000000001', quantity: 1 }],
      reason: 'again',
      order: await orderA(f),
    });
    assert.deepEqual(res, { status: 'done' });
  });

  it('asks again (retryable) when a line had no result and is not applied', async () => {
    const { f, actions } = actionsWith(() => ({ lines: [] }), { a: '001' });
    const order = await orderA(f);
    f.api.shipLines = async (lines) => ({
      lines: lines.map((l) => ({ transactionId: l.transactionId, status: 'UNCONFIRMED' as const })),
    });
    await assert.rejects(
      actions.ship({
        orderId: 'A',
        lines: [{ lineId: '260000000001', quantity: 1 }],
        carrier: 'BlueDart',
        trackingNumber: 'X1',
        shippedAt: '2026-11-20T04:00:00Z',
        order,
      }),
      RetryableError,
    );
  });

  it('get maps the order, null when unknown', async () => {
    const { actions } = actionsWith(ok, { a: '001' });
    assert.equal((await actions.get('A'))?.status, 'unshipped');
    assert.equal(await actions.get('nope'), null);
  });
});
