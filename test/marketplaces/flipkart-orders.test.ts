/**
 * Flipkart orders: the shipments client over a scripted fetch, the shipment → order mapping, and
 * the order source / actions over an in-memory FlipkartOrdersApi (no I/O).
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { RetryableError, TerminalError } from '../../src/core/errors.js';
import {
  type CancelShipmentRequest,
  type FlipkartClient,
  FlipkartOrderActions,
  FlipkartOrderSource,
  type FlipkartOrdersApi,
  FlipkartOrdersClient,
  type FlipkartShipment,
  type LabelRequest,
  type SelfShipDispatch,
  type ShipmentPage,
  type ShipmentResults,
  type ShipmentSearch,
  toMarketplaceOrder,
} from '../../src/marketplaces/flipkart/index.js';
import { REFERENCE_TIMESTAMP } from './fakes.js';
import { BASE_URL, type FakeFlipkart, fakeClient, fakeFlipkart } from './flipkart-fakes.js';

const clients: FlipkartClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.stop()));
});

function setup(fake: FakeFlipkart = fakeFlipkart()) {
  const t = fakeClient(fake);
  clients.push(t.client);
  const api = new FlipkartOrdersClient({
    client: t.client,
    baseUrl: BASE_URL,
  });
  return { ...t, fake, api };
}

function item(over: Record<string, unknown> = {}) {
  return {
    orderItemId: 'OI1',
    orderId: 'OD1',
    cancellationGroupId: 'grpOI1',
    orderDate: '2026-11-20T09:00:00.000+05:30',
    status: 'APPROVED',
    quantity: 2,
    sku: 'SKU-1',
    title: 'A TV',
    priceComponents: { sellingPrice: 1000, totalPrice: 1050, shippingCharge: 50 },
    ...over,
  };
}

function shipment(over: Record<string, unknown> = {}, items = [item()]): FlipkartShipment {
  return {
    shipmentId: 'SH1',
    dispatchByDate: '2026-11-22T18:00:00.000+05:30',
    dispatchAfterDate: '2026-11-20T09:00:00.000+05:30',
    updatedAt: '2026-11-20T09:05:00.000+05:30',
    locationId: 'LOC-1',
    hold: false,
    shipmentType: 'SELF',
    orderItems: items,
    ...over,
  } as FlipkartShipment;
}

describe('FlipkartOrdersClient', () => {
  it('searches with filter, page size and sort, then GETs nextPageUrl as-is under /sellers', async () => {
    const { api, fake } = setup();
    fake.script.push(
      {
        status: 200,
        body: {
          hasMore: true,
          nextPageUrl: '/v3/shipments/filter?next_token=a%2Bb%2F%3D',
          shipments: [shipment()],
        },
      },
      {
        status: 200,
        body: { hasMore: false, nextPageUrl: null, shipments: [shipment({ shipmentId: 'SH2' })] },
      },
    );
    const page = await api.searchShipments({
      filter: { type: 'preDispatch', states: ['APPROVED'], modifiedDate: { from: 'a', to: 'b' } },
      sort: { field: 'modifiedDate', order: 'asc' },
    });
    assert.equal(page.hasMore, true);
    assert.equal(page.shipments[0]?.orderItems[0]?.sku, 'SKU-1');
    const next = await api.nextShipmentsPage(page.nextPageUrl!);
    assert.equal(next.hasMore, false);
    assert.equal(next.nextPageUrl, null);
    const [search, get] = fake.api();
    assert.equal(search?.method, 'POST');
    assert.equal(search?.url.pathname, '/sellers/v3/shipments/filter');
    assert.deepEqual(JSON.parse(search?.body ?? ''), {
      filter: { type: 'preDispatch', states: ['APPROVED'], modifiedDate: { from: 'a', to: 'b' } },
      pagination: { pageSize: 20 },
      sort: { field: 'modifiedDate', order: 'asc' },
    });
    assert.equal(get?.method, 'GET');
    assert.equal(get?.url.href, `${BASE_URL}/v3/shipments/filter?next_token=a%2Bb%2F%3D`);
  });

  it('accepts nextPageUrl with the /sellers prefix, refuses another origin', async () => {
    const { api, fake } = setup();
    fake.script.push({ status: 200, body: { hasMore: false, shipments: [] } });
    await api.nextShipmentsPage('/sellers/v3/shipments/filter?next_token=x');
    assert.equal(fake.api()[0]?.url.pathname, '/sellers/v3/shipments/filter');
    await assert.rejects(
      api.nextShipmentsPage('https://evil.example/v3/shipments/filter?next_token=x'),
      TerminalError,
    );
  });

  it('a 401 drops the token shared with the listings client: one new token, one replay', async () => {
    const { api, client, fake, recorder } = setup();
    await client.getListings(['A']);
    fake.expireTokens();
    fake.script.push({ status: 200, body: { shipments: [shipment()] } });
    const found = await api.getShipments({ orderIds: ['OD1'] });
    assert.equal(found.length, 1);
    assert.equal(fake.tokenRequests().length, 2);
    await client.getListings(['A']); // uses the new token, no third request
    assert.equal(fake.tokenRequests().length, 2);
    assert.deepEqual(
      recorder.calls.filter((c) => c.operation === 'getShipments').map((c) => [c.httpStatus, c.attempt]),
      [
        [401, 1],
        [200, 2],
      ],
    );
    const get = fake.api().find((r) => r.url.pathname === '/sellers/v3/shipments');
    assert.equal(get?.url.searchParams.get('orderIds'), 'OD1');
  });

  it('per-shipment results: status or processingStatus, missing ones NO_RESULT, batches of 25', async () => {
    const { api, fake } = setup();
    const reqs: CancelShipmentRequest[] = Array.from({ length: 30 }, (_, i) => ({
      shipmentId: `S${i}`,
      locationId: 'L',
      cancellationGroupIds: [`g${i}`],
      reason: 'not_enough_inventory',
    }));
    fake.script.push(
      {
        status: 200,
        body: {
          shipments: [
            { shipmentId: 'S0', status: 'SUCCESS' },
            { shipmentId: 'S1', processingStatus: 'FAILURE', errorCode: 'X', errorMessage: 'no' },
            ...Array.from({ length: 22 }, (_, i) => ({
              shipmentId: `S${i + 2}`,
              processingStatus: 'SUCCESS',
            })),
          ],
        },
      },
      {
        status: 200,
        body: { shipments: reqs.slice(25).map((r) => ({ shipmentId: r.shipmentId, status: 'SUCCESS' })) },
      },
    );
    const results = await api.cancelShipments(reqs);
    assert.equal(fake.api().length, 2);
    assert.equal(JSON.parse(fake.api()[0]?.body ?? '').shipments.length, 25);
    assert.equal(results.get('S0')?.status, 'SUCCESS');
    assert.deepEqual(results.get('S1'), {
      shipmentId: 'S1',
      status: 'FAILURE',
      errorCode: 'X',
      errorMessage: 'no',
    });
    assert.equal(results.get('S24')?.errorCode, 'NO_RESULT');
    assert.equal(results.get('S29')?.status, 'SUCCESS');
  });

  it('429 and 5xx are retryable, 400 terminal', async () => {
    const { api, fake } = setup();
    fake.script.push({ status: 429, headers: { 'retry-after': '1' }, body: { error: 'too_many_requests' } });
    await assert.rejects(
      api.dispatch(['S1'], 'L'),
      (e: unknown) => e instanceof RetryableError && e.throttled,
    );
    fake.script.push({ status: 503, body: {} });
    await assert.rejects(api.getShipments({ shipmentIds: ['S1'] }), RetryableError);
    fake.script.push({ status: 400, body: { errors: [{ code: 400, description: 'bad' }] } });
    await assert.rejects(
      api.searchShipments({ filter: { type: 'cancelled', cancellationType: 'buyerCancellation' } }),
      TerminalError,
    );
  });
});

describe('toMarketplaceOrder', () => {
  it('maps a shipment: lines, unit price, shipBy, refs, UTC timestamps', () => {
    const o = toMarketplaceOrder('OD1', [shipment()])!;
    assert.equal(o.status, 'unshipped');
    assert.equal(o.marketplaceStatus, 'APPROVED');
    assert.equal(o.purchasedAt, '2026-11-20T03:30:00.000Z');
    assert.equal(o.updatedAt, '2026-11-20T03:35:00.000Z');
    assert.equal(o.shipBy, '2026-11-22T12:30:00.000Z');
    assert.equal(o.total, 1050);
    assert.deepEqual(o.lines, [
      { lineId: 'OI1', sku: 'SKU-1', quantity: 2, status: 'unshipped', unitPrice: 500, title: 'A TV' },
    ]);
    assert.deepEqual(o.refs, {
      shipmentIds: 'SH1',
      shipmentId: 'SH1',
      locationId: 'LOC-1',
      shipmentType: 'SELF',
    });
    assert.equal(toMarketplaceOrder('OD9', [shipment()]), null);
  });

  it('normalises states; the least advanced live line wins; hold is pending', () => {
    const cases: [string, string][] = [
      ['APPROVED', 'unshipped'],
      ['PACKING_IN_PROGRESS', 'unshipped'],
      ['PACKED', 'packed'],
      ['READY_TO_DISPATCH', 'packed'],
      ['SHIPPED', 'shipped'],
      ['DELIVERED', 'delivered'],
      ['CANCELLED', 'cancelled'],
      ['ON_HOLD', 'pending'],
    ];
    for (const [state, status] of cases) {
      assert.equal(
        toMarketplaceOrder('OD1', [shipment({}, [item({ status: state })])])?.status,
        status,
        state,
      );
    }
    assert.equal(toMarketplaceOrder('OD1', [shipment({ hold: true })])?.status, 'pending');
    const two = toMarketplaceOrder('OD1', [
      shipment({ shipmentId: 'A' }, [item({ status: 'SHIPPED' })]),
      shipment({ shipmentId: 'B' }, [item({ orderItemId: 'OI2', status: 'PACKED' })]),
      shipment({ shipmentId: 'C' }, [item({ orderItemId: 'OI3', status: 'CANCELLED' })]),
    ])!;
    assert.equal(two.status, 'packed');
    assert.equal(two.refs?.shipmentIds, 'A,B,C');
    assert.equal(two.lines.length, 3);
  });

  it('buyer cancellations: cancelled, lines flagged with the reason', () => {
    const o = toMarketplaceOrder('OD1', [
      shipment({}, [
        item({
          status: 'CANCELLED',
          cancellationReason: 'cancellation_requested',
          cancellationSubReason: 'order_no_longer_required',
        }),
      ]),
    ])!;
    assert.equal(o.status, 'cancelled');
    assert.equal(o.marketplaceStatus, 'CANCELLED');
    assert.equal(o.lines[0]?.buyerCancelRequested, true);
    assert.equal(o.lines[0]?.cancelReason, 'cancellation_requested: order_no_longer_required');
    const seller = toMarketplaceOrder('OD1', [
      shipment({}, [item({ status: 'CANCELLED', cancellationReason: 'not_enough_inventory' })]),
    ])!;
    assert.equal(seller.lines[0]?.buyerCancelRequested, undefined);
  });
});

/** An in-memory FlipkartOrdersApi: shipments by id, scripted pages, call log. */
class FakeApi implements FlipkartOrdersApi {
  shipments = new Map<string, FlipkartShipment>();
  pages: (ShipmentPage | Error)[] = [];
  searches: ShipmentSearch[] = [];
  nexts: string[] = [];
  labels: LabelRequest[][] = [];
  dispatches: string[][] = [];
  selfShips: SelfShipDispatch[][] = [];
  cancels: CancelShipmentRequest[][] = [];
  labelAnswer: (id: string) => ShipmentResults | null = () => null;
  onGet: () => void = () => {};

  private nextPage(): ShipmentPage {
    const p = this.pages.shift() ?? { shipments: [], hasMore: false, nextPageUrl: null };
    if (p instanceof Error) throw p;
    return p;
  }
  async searchShipments(search: ShipmentSearch): Promise<ShipmentPage> {
    this.searches.push(structuredClone(search));
    return this.nextPage();
  }
  async nextShipmentsPage(url: string): Promise<ShipmentPage> {
    this.nexts.push(url);
    return this.nextPage();
  }
  async getShipments(ids: { orderIds: string[] } | { shipmentIds: string[] }): Promise<FlipkartShipment[]> {
    this.onGet();
    const all = [...this.shipments.values()];
    return 'orderIds' in ids
      ? all.filter((s) => s.orderItems.some((i) => ids.orderIds.includes(i.orderId)))
      : all.filter((s) => ids.shipmentIds.includes(s.shipmentId));
  }
  private ok(ids: string[]): ShipmentResults {
    return new Map(ids.map((id) => [id, { shipmentId: id, status: 'SUCCESS' as const }]));
  }
  private set(id: string, status: string): void {
    for (const i of this.shipments.get(id)!.orderItems) if (i.status !== 'CANCELLED') i.status = status;
  }
  async generateLabels(reqs: LabelRequest[]): Promise<ShipmentResults> {
    this.labels.push(reqs);
    const scripted = this.labelAnswer(reqs[0]!.shipmentId);
    if (scripted) return scripted;
    for (const r of reqs) this.set(r.shipmentId, 'PACKING_IN_PROGRESS');
    return this.ok(reqs.map((r) => r.shipmentId));
  }
  async dispatch(ids: string[]): Promise<ShipmentResults> {
    this.dispatches.push(ids);
    for (const id of ids) this.set(id, 'READY_TO_DISPATCH');
    return this.ok(ids);
  }
  async selfShipDispatch(items: SelfShipDispatch[]): Promise<ShipmentResults> {
    this.selfShips.push(items);
    for (const s of items) this.set(s.shipmentId, 'SHIPPED');
    return this.ok(items.map((s) => s.shipmentId));
  }
  async cancelShipments(reqs: CancelShipmentRequest[]): Promise<ShipmentResults> {
    this.cancels.push(reqs);
    return this.ok(reqs.map((r) => r.shipmentId));
  }
}

class SteppingClock extends ManualClock {
  override sleep(ms: number): Promise<void> {
    const p = super.sleep(ms);
    this.advance(ms);
    return p;
  }
}

describe('FlipkartOrderSource', () => {
  it('pages through each stream of a fixed window, then moves the checkpoint; next sweep overlaps', async () => {
    const api = new FakeApi();
    const clock = new ManualClock(REFERENCE_TIMESTAMP);
    const source = new FlipkartOrderSource({
      api,
      clock,
      overlapMs: 600_000,
      cancellationTypes: ['buyerCancellation'],
    });
    api.shipments.set('SH1', shipment());
    api.pages.push(
      { shipments: [shipment()], hasMore: true, nextPageUrl: '/v3/shipments/filter?next_token=t1' },
      { shipments: [], hasMore: false, nextPageUrl: null }, // rest of preDispatch
      { shipments: [], hasMore: false, nextPageUrl: null }, // postDispatch
      { shipments: [], hasMore: false, nextPageUrl: null }, // buyer cancellations
    );
    const since = new Date(REFERENCE_TIMESTAMP - 3_600_000);
    const p1 = await source.poll(null, { since });
    assert.equal(p1.more, true);
    assert.equal(p1.orders[0]?.orderId, 'OD1');
    const c1 = JSON.parse(p1.cursor);
    assert.equal(c1.sweep.next, '/v3/shipments/filter?next_token=t1');
    assert.deepEqual(api.searches[0]?.filter.modifiedDate, {
      from: since.toISOString(),
      to: new Date(REFERENCE_TIMESTAMP).toISOString(),
    });
    assert.deepEqual(api.searches[0]?.sort, { field: 'modifiedDate', order: 'asc' });

    const p2 = await source.poll(p1.cursor, { since });
    assert.equal(p2.more, false);
    assert.deepEqual(p2.orders, []);
    assert.deepEqual(JSON.parse(p2.cursor), { v: 1, since: new Date(REFERENCE_TIMESTAMP).toISOString() });
    assert.deepEqual(api.nexts, ['/v3/shipments/filter?next_token=t1']);
    assert.deepEqual(
      api.searches.map((s) => [s.filter.type, s.filter.cancellationType]),
      [
        ['preDispatch', undefined],
        ['postDispatch', undefined],
        ['cancelled', 'buyerCancellation'],
      ],
    );
    assert.ok(api.searches[2]?.filter.cancellationDate);

    clock.advance(60_000);
    await source.poll(p2.cursor, { since });
    assert.deepEqual(api.searches[3]?.filter.modifiedDate, {
      from: new Date(REFERENCE_TIMESTAMP - 600_000).toISOString(),
      to: new Date(REFERENCE_TIMESTAMP + 60_000).toISOString(),
    });
  });

  it('an expired next_token re-reads the stream from the window start', async () => {
    const api = new FakeApi();
    const source = new FlipkartOrderSource({
      api,
      clock: new ManualClock(REFERENCE_TIMESTAMP),
      completeOrders: false,
    });
    const cursor = JSON.stringify({
      v: 1,
      since: new Date(REFERENCE_TIMESTAMP - 60_000).toISOString(),
      sweep: { from: 'x', to: new Date(REFERENCE_TIMESTAMP).toISOString(), stream: 0, next: '/old' },
    });
    api.pages.push(new TerminalError('expired', { status: 400 }), {
      shipments: [shipment()],
      hasMore: false,
      nextPageUrl: null,
    });
    const p = await source.poll(cursor, { since: new Date(0) });
    assert.equal(p.orders.length, 1);
    assert.equal(api.searches.length, 1);
  });

  it('buyer-cancellation pages flag the lines even without a telling reason', async () => {
    const api = new FakeApi();
    const source = new FlipkartOrderSource({
      api,
      clock: new ManualClock(REFERENCE_TIMESTAMP),
      cancellationTypes: ['buyerCancellation'],
      completeOrders: false,
    });
    const cancelled = shipment({}, [item({ status: 'CANCELLED', cancellationReason: 'other' })]);
    api.pages.push(
      { shipments: [], hasMore: false, nextPageUrl: null },
      { shipments: [], hasMore: false, nextPageUrl: null },
      { shipments: [cancelled], hasMore: false, nextPageUrl: null },
    );
    const p = await source.poll(null, { since: new Date(0) });
    assert.equal(p.more, false);
    assert.equal(p.orders[0]?.status, 'cancelled');
    assert.equal(p.orders[0]?.lines[0]?.buyerCancelRequested, true);
  });

  it('rejects a cursor it did not write', async () => {
    const source = new FlipkartOrderSource({ api: new FakeApi() });
    await assert.rejects(source.poll('{"v":9}', { since: new Date(0) }), TerminalError);
  });
});

describe('FlipkartOrderActions', () => {
  function shipReq(api: FakeApi) {
    const order = toMarketplaceOrder('OD1', [...api.shipments.values()])!;
    return {
      orderId: 'OD1',
      lines: [],
      carrier: 'BlueDart',
      trackingNumber: 'BD1',
      shippedAt: '2026-11-20T05:00:00.000Z',
      order,
    };
  }

  it('ship: labels, waits for PACKED, self-ship dispatch with tracking; then nothing to do', async () => {
    const api = new FakeApi();
    const clock = new SteppingClock(REFERENCE_TIMESTAMP);
    api.shipments.set('SH1', shipment());
    let gets = 0;
    api.onGet = () => {
      if (++gets === 3) for (const i of api.shipments.get('SH1')!.orderItems) i.status = 'PACKED';
    };
    const actions = new FlipkartOrderActions({ api, clock, labelPollIntervalMs: 1000 });
    assert.deepEqual(await actions.ship(shipReq(api)), { status: 'done' });
    assert.equal(api.labels.length, 1);
    assert.deepEqual(api.labels[0]?.[0]?.invoices, [{ orderId: 'OD1', invoiceDate: '2026-11-20' }]);
    assert.equal(api.selfShips[0]?.[0]?.trackingId, 'BD1');
    assert.equal(api.selfShips[0]?.[0]?.deliveryPartner, 'BlueDart');
    assert.deepEqual(await actions.ship(shipReq(api)), { status: 'done' });
    assert.equal(api.labels.length, 1);
    assert.equal(api.selfShips.length, 1);
  });

  it('ship: Flipkart logistics → dispatch when PACKED, done at READY_TO_DISPATCH', async () => {
    const api = new FakeApi();
    api.shipments.set('SH1', shipment({ shipmentType: 'NORMAL' }, [item({ status: 'PACKED' })]));
    const actions = new FlipkartOrderActions({ api, clock: new SteppingClock(REFERENCE_TIMESTAMP) });
    assert.deepEqual(await actions.ship(shipReq(api)), { status: 'done' });
    assert.deepEqual(api.dispatches, [['SH1']]);
    assert.deepEqual(await actions.ship(shipReq(api)), { status: 'done' });
    assert.equal(api.dispatches.length, 1);
  });

  it('ship: hold and dispatchAfterDate are retryable; label refusal and FORM_FAILED are refused', async () => {
    const clock = new SteppingClock(REFERENCE_TIMESTAMP);
    const held = new FakeApi();
    held.shipments.set('SH1', shipment({ hold: true }));
    await assert.rejects(new FlipkartOrderActions({ api: held, clock }).ship(shipReq(held)), RetryableError);
    const early = new FakeApi();
    early.shipments.set('SH1', shipment({ dispatchAfterDate: '2026-11-21T09:00:00+05:30' }));
    await assert.rejects(
      new FlipkartOrderActions({ api: early, clock }).ship(shipReq(early)),
      (e: unknown) => e instanceof RetryableError && (e.retryAfterMs ?? 0) > 0,
    );
    const refused = new FakeApi();
    refused.shipments.set('SH1', shipment());
    refused.labelAnswer = (id) =>
      new Map([
        [
          id,
          { shipmentId: id, status: 'FAILURE', errorCode: 'INVALID_INVOICE', errorMessage: 'bad invoice' },
        ],
      ]);
    const r = await new FlipkartOrderActions({ api: refused, clock }).ship(shipReq(refused));
    assert.equal(r.status, 'refused');
    assert.ok(r.status === 'refused' && r.code === 'INVALID_INVOICE' && /bad invoice/.test(r.reason));
    const form = new FakeApi();
    form.shipments.set('SH1', shipment({}, [item({ status: 'FORM_FAILED' })]));
    const actions = new FlipkartOrderActions({ api: form, clock });
    // FORM_FAILED: refused (forms/updateAck needed), nothing dispatched.
    const f = await actions.ship(shipReq(form));
    assert.equal(form.selfShips.length, 0);
    assert.ok(f.status === 'refused' && f.code === 'FORM_FAILED');
  });

  it('ship: labels not ready in time → retryable; called again it only waits', async () => {
    const api = new FakeApi();
    api.shipments.set('SH1', shipment());
    const actions = new FlipkartOrderActions({
      api,
      clock: new SteppingClock(REFERENCE_TIMESTAMP),
      labelPollIntervalMs: 1000,
      labelTimeoutMs: 3000,
    });
    await assert.rejects(actions.ship(shipReq(api)), RetryableError);
    for (const i of api.shipments.get('SH1')!.orderItems) i.status = 'PACKED';
    assert.deepEqual(await actions.ship(shipReq(api)), { status: 'done' });
    assert.equal(api.labels.length, 1);
  });

  it('cancel: per cancellation group of the lines asked; already cancelled → done; unknown order refused', async () => {
    const api = new FakeApi();
    api.shipments.set(
      'SH1',
      shipment({}, [item(), item({ orderItemId: 'OI2', cancellationGroupId: 'grpOI2' })]),
    );
    const actions = new FlipkartOrderActions({ api });
    const order = toMarketplaceOrder('OD1', [...api.shipments.values()])!;
    const r = await actions.cancel({
      orderId: 'OD1',
      lines: [{ lineId: 'OI2', quantity: 2 }],
      reason: 'Cannot procure',
      order,
    });
    assert.deepEqual(r, { status: 'done' });
    assert.deepEqual(api.cancels[0], [
      {
        shipmentId: 'SH1',
        locationId: 'LOC-1',
        cancellationGroupIds: ['grpOI2'],
        reason: 'cannot_procure_item',
      },
    ]);
    for (const i of api.shipments.get('SH1')!.orderItems) i.status = 'CANCELLED';
    assert.deepEqual(await actions.cancel({ orderId: 'OD1', reason: 'x', order }), { status: 'done' });
    assert.equal(api.cancels.length, 1);
    const missing = await actions.cancel({ orderId: 'OD404', reason: 'x', order });
    assert.equal(missing.status, 'refused');
  });
});
