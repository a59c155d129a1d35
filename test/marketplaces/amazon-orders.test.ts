/**
 * The Amazon orders client, order source and actions with a scripted fetch: request shapes
 * checked against the Orders models (2026-01-01 and v0), the server-clock upper bound, the
 * overlap, pagination token restarts, confirmShipment outcomes, mapping, and the acknowledgement
 * feed's XML.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { RetryableError } from '../../src/core/errors.js';
import {
  type AmazonOrder,
  AmazonOrderActions,
  AmazonOrderSource,
  AmazonOrdersClient,
  type AmazonTokenSource,
  amazonCancelReason,
  amazonCarrier,
  buildOrderAcknowledgementFeed,
  type OrderFeedsApi,
  parseAmazonOrderCursor,
  parseXmlProcessingReport,
  SearchOrdersResponseSchema,
  toMarketplaceOrder,
} from '../../src/marketplaces/amazon/index.js';
import type { MarketplaceOrder } from '../../src/marketplaces/orders.js';
import { loadOrders2026Model, loadOrdersV0Model } from './amazon-model.js';
import {
  type CapturedRequest,
  memoryRecorder,
  REFERENCE_TIMESTAMP,
  type Responder,
  type ScriptedResponse,
  scriptedFetch,
} from './fakes.js';

const model2026 = loadOrders2026Model();
const modelV0 = loadOrdersV0Model();
const MIN = 60_000;
const TOKEN = 'Ab+cd/EF==';

const tokens: AmazonTokenSource = {
  marketplaceId: 'A21TJRUUN4KGV',
  accessToken: async () => 'Atza|token-1',
};

const clients: AmazonOrdersClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.stop()));
});

function setup(respond: Responder) {
  const clock = new ManualClock(REFERENCE_TIMESTAMP);
  const recorder = memoryRecorder();
  const { fetch, requests } = scriptedFetch(respond);
  const orders = new AmazonOrdersClient({
    client: tokens,
    endpoint: 'https://sellingpartnerapi-eu.amazon.com',
    fetch,
    clock,
    recorder,
    rateScale: 1000,
  });
  clients.push(orders);
  return { clock, recorder, requests, orders };
}

function amazonOrder(id: string, overrides: Partial<AmazonOrder> = {}): AmazonOrder {
  return {
    orderId: id,
    createdTime: '2026-11-20T03:00:00Z',
    lastUpdatedTime: '2026-11-20T03:10:00Z',
    salesChannel: { channelName: 'AMAZON', marketplaceId: 'A21TJRUUN4KGV' },
    fulfillment: {
      fulfillmentStatus: 'UNSHIPPED',
      fulfilledBy: 'MERCHANT',
      shipByWindow: { earliestDateTime: '2026-11-20T03:00:00Z', latestDateTime: '2026-11-22T18:29:59Z' },
    },
    orderItems: [
      {
        orderItemId: '12345678901234',
        quantityOrdered: 2,
        product: {
          asin: 'B0TEST0001',
          sellerSku: 'SAM-TV-1001',
          title: 'TV',
          price: { unitPrice: { amount: '35150.00', currencyCode: 'INR' } },
        },
      },
    ],
    ...overrides,
  };
}

function page(orders: AmazonOrder[], nextToken?: string, date?: number): ScriptedResponse {
  const body: Record<string, unknown> = { orders };
  if (nextToken !== undefined) body.pagination = { nextToken };
  const headers: Record<string, string> = { 'x-amzn-RateLimit-Limit': '5.6' };
  if (date !== undefined) headers.date = new Date(date).toUTCString();
  return { status: 200, body, headers };
}

function query(req: CapturedRequest, name: string): string | null {
  return req.url.searchParams.get(name);
}

function assertValid2026(req: CapturedRequest, operationId: string): void {
  const v = model2026.validateRequest(req);
  assert.equal(v.operationId, operationId);
  assert.deepEqual(v.errors, []);
}

describe('AmazonOrdersClient', () => {
  it('sends searchOrders as the 2026-01-01 model declares, with the token percent-encoded', async () => {
    const t = setup(() => page([amazonOrder('402-1234567-1234567')]));
    const res = await t.orders.searchOrders({
      lastUpdatedAfter: '2026-11-20T03:00:00Z',
      lastUpdatedBefore: '2026-11-20T03:50:00Z',
      maxResultsPerPage: 50,
      paginationToken: TOKEN,
    });
    assert.equal(res.orders.length, 1);
    const req = t.requests[0]!;
    assert.equal(req.method, 'GET');
    assert.equal(req.url.pathname, '/orders/2026-01-01/orders');
    assert.equal(req.headers['x-amz-access-token'], 'Atza|token-1');
    assert.match(req.url.search, /paginationToken=Ab%2Bcd%2FEF%3D%3D/);
    assert.equal(query(req, 'paginationToken'), TOKEN);
    assert.equal(query(req, 'marketplaceIds'), 'A21TJRUUN4KGV');
    assert.equal(query(req, 'fulfilledBy'), 'MERCHANT');
    assert.equal(query(req, 'includedData'), 'FULFILLMENT,CANCELLATION,RECIPIENT');
    assertValid2026(req, 'searchOrders');
    assert.equal(t.recorder.calls[0]?.operation, 'searchOrders');
  });

  it('gets one order (404 → null) as the model declares', async () => {
    const t = setup((req) =>
      req.url.pathname.endsWith('402-1234567-1234567')
        ? { status: 200, body: { order: amazonOrder('402-1234567-1234567') } }
        : { status: 404, body: { errors: [{ code: 'NotFound', message: 'no such order' }] } },
    );
    const o = await t.orders.getOrder('402-1234567-1234567');
    assert.equal(o?.orderId, '402-1234567-1234567');
    assert.equal(await t.orders.getOrder('404-0000000-0000000'), null);
    assertValid2026(t.requests[0]!, 'getOrder');
  });

  it('confirmShipment: body per the v0 model; 204 done, 400 refused with Amazon message, 429 retryable', async () => {
    const answers: ScriptedResponse[] = [
      { status: 204 },
      { status: 400, body: { errors: [{ code: 'Invalid Input', message: 'Invalid Input' }] } },
      {
        status: 429,
        body: {
          errors: [{ code: 'QuotaExceeded', message: 'You exceeded your quota for the requested resource.' }],
        },
      },
    ];
    const t = setup(() => answers.shift()!);
    const body = {
      marketplaceId: 'A21TJRUUN4KGV',
      packageDetail: {
        packageReferenceId: '1',
        carrierCode: 'Delhivery',
        trackingNumber: 'AWB1',
        shipDate: '2026-11-20T04:00:00.000Z',
        orderItems: [{ orderItemId: '12345678901234', quantity: 2 }],
      },
    };
    assert.deepEqual(await t.orders.confirmShipment('402-1234567-1234567', body), { status: 'done' });
    const req = t.requests[0]!;
    assert.equal(req.method, 'POST');
    assert.equal(req.url.pathname, '/orders/v0/orders/402-1234567-1234567/shipmentConfirmation');
    const v = modelV0.validateRequest(req);
    assert.equal(v.operationId, 'confirmShipment');
    assert.deepEqual(v.errors, []);
    assert.deepEqual(await t.orders.confirmShipment('402-1234567-1234567', body), {
      status: 'refused',
      code: 'Invalid Input',
      reason: 'Invalid Input: Invalid Input',
    });
    await assert.rejects(t.orders.confirmShipment('402-1234567-1234567', body), (e: unknown) => {
      return e instanceof RetryableError && e.throttled;
    });
  });

  it('a 400 on searchOrders with a token is a rejected token', async () => {
    const t = setup(() => ({
      status: 400,
      body: { errors: [{ code: 'InvalidInput', message: 'Next token is invalid or expired.' }] },
    }));
    await assert.rejects(
      t.orders.searchOrders({ lastUpdatedAfter: '2026-11-20T03:00:00Z', paginationToken: TOKEN }),
      (e: unknown) => (e as { withPaginationToken?: boolean }).withPaginationToken === true,
    );
  });
});

describe('AmazonOrderSource', () => {
  it('keeps the upper bound 2.5 min behind the server clock (Date header), overlaps 5 min', async () => {
    const serverOffset = -7 * MIN; // the server's clock is 7 minutes behind ours
    let clock!: ManualClock;
    const t = setup(() => page([amazonOrder('402-1234567-1234567')], undefined, clock.now() + serverOffset));
    clock = t.clock;
    const source = new AmazonOrderSource({ orders: t.orders, clock: t.clock });
    const since = new Date(REFERENCE_TIMESTAMP - 60 * MIN);

    // First call: no server time yet → local clock − 60 s margin − 150 s.
    const p1 = await source.poll(null, { since });
    const r1 = t.requests[0]!;
    assertValid2026(r1, 'searchOrders');
    assert.equal(query(r1, 'lastUpdatedAfter'), new Date(since).toISOString().replace('.000Z', 'Z'));
    const before1 = Date.parse(query(r1, 'lastUpdatedBefore')!);
    assert.equal(before1, REFERENCE_TIMESTAMP - 60_000 - 150_000);
    assert.equal(p1.more, false);
    assert.equal(p1.orders[0]?.orderId, '402-1234567-1234567');
    assert.deepEqual(parseAmazonOrderCursor(p1.cursor), {
      v: 1,
      after: new Date(before1 - 5 * MIN).toISOString().replace('.000Z', 'Z'),
    });

    // Later: the server's Date header rules, not the local clock.
    t.clock.advance(10 * MIN);
    await source.poll(p1.cursor, { since });
    const r2 = t.requests[1]!;
    assert.equal(Date.parse(query(r2, 'lastUpdatedAfter')!), before1 - 5 * MIN);
    const serverNow = REFERENCE_TIMESTAMP + 10 * MIN + serverOffset;
    assert.equal(Date.parse(query(r2, 'lastUpdatedBefore')!), serverNow - 150_000);
    assert.ok(Date.parse(query(r2, 'lastUpdatedBefore')!) <= serverNow - 2 * MIN);
  });

  it('pages with the token (more=true), then restarts the window when the token is rejected', async () => {
    const answers: ScriptedResponse[] = [
      page([amazonOrder('402-0000000-0000001')], TOKEN, REFERENCE_TIMESTAMP),
      {
        status: 400,
        body: { errors: [{ code: 'InvalidInput', message: 'Next token is invalid or expired.' }] },
      },
      page(
        [amazonOrder('402-0000000-0000001'), amazonOrder('402-0000000-0000002')],
        undefined,
        REFERENCE_TIMESTAMP,
      ),
    ];
    const t = setup(() => answers.shift()!);
    const source = new AmazonOrderSource({ orders: t.orders, clock: t.clock, maxResultsPerPage: 1 });
    const since = new Date(REFERENCE_TIMESTAMP - 60 * MIN);
    const p1 = await source.poll(null, { since });
    assert.equal(p1.more, true);
    const c1 = parseAmazonOrderCursor(p1.cursor);
    assert.equal(c1.token, TOKEN);
    const p2 = await source.poll(p1.cursor, { since });
    assert.equal(t.requests.length, 3);
    const [first, withToken, restart] = t.requests as [CapturedRequest, CapturedRequest, CapturedRequest];
    assert.equal(query(withToken, 'paginationToken'), TOKEN);
    for (const name of ['lastUpdatedAfter', 'lastUpdatedBefore', 'marketplaceIds', 'fulfilledBy']) {
      assert.equal(query(withToken, name), query(first, name), `${name} resent unchanged`);
      assert.equal(query(restart, name), query(first, name), `${name} of the same window`);
    }
    assert.equal(query(restart, 'paginationToken'), null);
    assert.deepEqual(
      p2.orders.map((o) => o.orderId),
      ['402-0000000-0000001', '402-0000000-0000002'],
    );
    assert.equal(p2.more, false);
  });

  it('retries once with the server clock when the bound was too recent for the server', async () => {
    const serverNow = REFERENCE_TIMESTAMP - 10 * MIN;
    const answers: ScriptedResponse[] = [
      {
        status: 400,
        body: {
          errors: [{ code: 'InvalidInput', message: 'lastUpdatedBefore must be two minutes before now' }],
        },
        headers: { date: new Date(serverNow).toUTCString() },
      },
      page([], undefined, serverNow),
    ];
    const t = setup(() => answers.shift()!);
    const source = new AmazonOrderSource({ orders: t.orders, clock: t.clock });
    const p = await source.poll(null, { since: new Date(REFERENCE_TIMESTAMP - 60 * MIN) });
    assert.equal(p.more, false);
    assert.equal(Date.parse(query(t.requests[1]!, 'lastUpdatedBefore')!), serverNow - 150_000);
  });

  it('does not call when the window would be empty', async () => {
    const t = setup(() => page([]));
    const source = new AmazonOrderSource({ orders: t.orders, clock: t.clock });
    const p = await source.poll(null, { since: new Date(REFERENCE_TIMESTAMP) });
    assert.equal(t.requests.length, 0);
    assert.equal(p.more, false);
    assert.deepEqual(p.orders, []);
  });
});

describe('mapping', () => {
  it('maps the model sandbox examples and our fixture', () => {
    for (const ex of model2026.sandboxExamples('searchOrders').filter((e) => e.status === 200)) {
      const parsed = SearchOrdersResponseSchema.parse(ex.response);
      for (const o of parsed.orders) {
        const m = toMarketplaceOrder(o);
        assert.equal(m.marketplace, 'amazon');
        assert.equal(m.lines.length, o.orderItems.length);
      }
    }
    assert.deepEqual(model2026.validateDefinition('Order', amazonOrder('402-1234567-1234567')), []);
  });

  it('maps status, lines, ship-by, buyer cancellation requests and the address only when present', () => {
    const withCancel = amazonOrder('402-1234567-1234567', {
      orderItems: [
        {
          orderItemId: '111',
          quantityOrdered: 1,
          product: { sellerSku: 'A', price: { unitPrice: { amount: '100.50', currencyCode: 'INR' } } },
          cancellation: { cancellationRequest: { requester: 'BUYER', cancelReason: 'Ordered by mistake' } },
        },
        { orderItemId: '222', quantityOrdered: 3, product: { sellerSku: 'B' } },
      ],
    });
    const m: MarketplaceOrder = toMarketplaceOrder(withCancel);
    assert.equal(m.status, 'unshipped');
    assert.equal(m.shipBy, '2026-11-22T18:29:59Z');
    assert.deepEqual(m.lines[0], {
      lineId: '111',
      sku: 'A',
      quantity: 1,
      unitPrice: 100.5,
      buyerCancelRequested: true,
      cancelReason: 'Ordered by mistake',
    });
    assert.equal(m.lines[1]?.buyerCancelRequested, undefined);
    assert.equal(m.total, undefined, 'no total when a line has no price');
    assert.equal(m.shippingAddress, undefined);
    const shipped = toMarketplaceOrder(
      amazonOrder('1', {
        fulfillment: { fulfillmentStatus: 'SHIPPED' },
        recipient: {
          deliveryAddress: { name: 'A', city: 'Pune', stateOrRegion: 'MH', postalCode: '411001' },
        },
      }),
    );
    assert.equal(shipped.status, 'shipped');
    assert.equal(shipped.total, 70300);
    assert.deepEqual(shipped.shippingAddress, { name: 'A', city: 'Pune', state: 'MH', postalCode: '411001' });
    for (const [s, want] of [
      ['PENDING', 'pending'],
      ['PENDING_AVAILABILITY', 'pending'],
      ['PARTIALLY_SHIPPED', 'unshipped'],
      ['CANCELLED', 'cancelled'],
    ] as const) {
      assert.equal(
        toMarketplaceOrder(amazonOrder('1', { fulfillment: { fulfillmentStatus: s } })).status,
        want,
      );
    }
  });
});

describe('AmazonOrderActions', () => {
  it('maps carriers and cancel reasons', () => {
    assert.deepEqual(amazonCarrier('Blue Dart'), { carrierCode: 'Blue Dart' });
    assert.deepEqual(amazonCarrier('BLUEDART'), { carrierCode: 'Blue Dart' });
    assert.deepEqual(amazonCarrier('delhivery'), { carrierCode: 'Delhivery' });
    assert.deepEqual(amazonCarrier('Shree Maruti'), { carrierCode: 'Other', carrierName: 'Shree Maruti' });
    assert.deepEqual(amazonCarrier('  '), {});
    assert.equal(amazonCancelReason('buyer'), 'BuyerCanceled');
    assert.equal(amazonCancelReason('out of stock'), 'NoInventory');
    assert.equal(amazonCancelReason('ShippingAddressUndeliverable'), 'ShippingAddressUndeliverable');
  });

  it('builds the acknowledgement feed and reads XML processing reports', () => {
    const xml = buildOrderAcknowledgementFeed('A2SELLER&CO', [
      { orderId: '402-1', items: [{ orderItemId: '111', reason: 'NoInventory' }] },
    ]);
    assert.match(xml, /<MessageType>OrderAcknowledgement<\/MessageType>/);
    assert.match(xml, /<MerchantIdentifier>A2SELLER&amp;CO<\/MerchantIdentifier>/);
    assert.match(
      xml,
      /<AmazonOrderID>402-1<\/AmazonOrderID><StatusCode>Failure<\/StatusCode><Item><AmazonOrderItemCode>111<\/AmazonOrderItemCode><CancelReason>NoInventory<\/CancelReason><\/Item>/,
    );
    const report = parseXmlProcessingReport(
      '<?xml version="1.0"?><AmazonEnvelope><Message><MessageID>1</MessageID><ProcessingReport>' +
        '<DocumentTransactionID>1</DocumentTransactionID><StatusCode>Complete</StatusCode><ProcessingSummary>' +
        '<MessagesProcessed>1</MessagesProcessed><MessagesSuccessful>0</MessagesSuccessful>' +
        '<MessagesWithError>1</MessagesWithError><MessagesWithWarning>0</MessagesWithWarning></ProcessingSummary>' +
        '<Result><MessageID>1</MessageID><ResultCode>Error</ResultCode><ResultMessageCode>18181</ResultMessageCode>' +
        '<ResultDescription>Already shipped &amp; gone</ResultDescription></Result></ProcessingReport></Message></AmazonEnvelope>',
    );
    assert.equal(report.messagesWithError, 1);
    assert.deepEqual(report.results, [
      { messageId: 1, resultCode: 'Error', messageCode: '18181', description: 'Already shipped & gone' },
    ]);
  });

  it('ship sends confirmShipment with the mapped carrier; cancel submits the feed and waits for it', async () => {
    const t = setup(() => ({ status: 204 }));
    const clock = t.clock;
    const calls: string[] = [];
    let uploaded = '';
    let statuses = ['IN_QUEUE', 'IN_PROGRESS', 'DONE'] as const as readonly string[];
    const feeds: OrderFeedsApi = {
      createFeedDocument: async (contentType) => {
        calls.push(`createFeedDocument ${contentType}`);
        return { feedDocumentId: 'doc-1', url: 'https://s3/doc-1' };
      },
      uploadFeedDocument: async (_url, bytes) => {
        uploaded = String(bytes);
      },
      createFeed: async (spec) => {
        calls.push(`createFeed ${spec.feedType}`);
        return { feedId: 'F1' };
      },
      getFeed: async () => {
        const [s, ...rest] = statuses;
        statuses = rest.length > 0 ? rest : [s!];
        return {
          feedId: 'F1',
          feedType: 'POST_ORDER_ACKNOWLEDGEMENT_DATA',
          createdTime: '2026-11-20T04:00:00Z',
          processingStatus: s as 'DONE',
          ...(s === 'DONE' ? { resultFeedDocumentId: 'res-1' } : {}),
        };
      },
      getFeedDocument: async () => ({ feedDocumentId: 'res-1', url: 'https://s3/res-1' }),
      downloadFeedDocument: async () =>
        Buffer.from(
          '<ProcessingReport><ProcessingSummary><MessagesProcessed>1</MessagesProcessed><MessagesSuccessful>1</MessagesSuccessful><MessagesWithError>0</MessagesWithError></ProcessingSummary></ProcessingReport>',
        ),
    };
    const actions = new AmazonOrderActions({
      orders: t.orders,
      feeds,
      sellerId: 'A2SELLER',
      clock,
      feedPollIntervalMs: 1000,
    });
    const order = toMarketplaceOrder(amazonOrder('402-1234567-1234567'));
    const shipped = await actions.ship({
      orderId: order.orderId,
      lines: [{ lineId: '12345678901234', quantity: 2 }],
      carrier: 'Ekart Logistics',
      trackingNumber: 'AWB9',
      shippedAt: '2026-11-20T04:00:00Z',
      order,
    });
    assert.deepEqual(shipped, { status: 'done' });
    const body = JSON.parse(t.requests[0]!.body!) as { packageDetail: Record<string, unknown> };
    assert.equal(body.packageDetail.carrierCode, 'Other');
    assert.equal(body.packageDetail.carrierName, 'Ekart Logistics');
    assert.equal(body.packageDetail.packageReferenceId, '1');
    assert.deepEqual(modelV0.validateRequest(t.requests[0]!).errors, []);

    const cancelling = actions.cancel({ orderId: order.orderId, reason: 'buyer', order });
    // Advance the manual clock through the feed polls.
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setImmediate(r));
      clock.advance(1000);
    }
    assert.deepEqual(await cancelling, { status: 'done' });
    assert.deepEqual(calls, [
      'createFeedDocument text/xml; charset=UTF-8',
      'createFeed POST_ORDER_ACKNOWLEDGEMENT_DATA',
    ]);
    assert.match(uploaded, /<CancelReason>BuyerCanceled<\/CancelReason>/);
    assert.match(uploaded, /<AmazonOrderItemCode>12345678901234<\/AmazonOrderItemCode>/);
  });
});
