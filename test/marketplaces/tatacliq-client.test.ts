import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { RetryableError, TerminalError } from '../../src/core/errors.js';
import {
  mintingTokenProvider,
  renderPath,
  staticToken,
  TATACLIQ_ERROR_CODES,
  TataCliqClient,
  type TataCliqClientOptions,
} from '../../src/marketplaces/tatacliq/index.js';
import { REFERENCE_TIMESTAMP, type Responder } from './fakes.js';
import { BASE_URL, batchAnswer, itemsOf, SELLER, scriptedClient, UNAUTHORIZED } from './tatacliq-fakes.js';

const PREFIX = `/PartnerConnect/PC_${SELLER}`;
const LISTING = {
  SKU: 'SAM-TV-1001',
  MRP: '39080',
  SellingPrice: '35150',
  Inventory: [
    { SlaveID: 'S1', Inventory: '4' },
    { SlaveID: 'S2', Inventory: '11' },
  ],
  Status: 'ACTIVE',
};

const clients: TataCliqClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.stop()));
});

function setup(respond: Responder, overrides: Partial<TataCliqClientOptions> = {}) {
  const t = scriptedClient(respond, { rateScale: 50, ...overrides });
  clients.push(t.client);
  return t;
}

describe('TataCliqClient requests', () => {
  it('sends the inventory update as observed: POST …/AP_INVENTORY/AV_1.0/OG_1, every value a string', async () => {
    const t = setup((req) => batchAnswer(req));
    const out = await t.client.updateInventory([
      { sku: 'SAM-TV-1001', slaveId: '100421MUM003', inventory: 25 },
      { sku: 'SAM-TV-1001', slaveId: '100421DEL001', inventory: 0, safetyStock: 2 },
    ]);
    const [req] = t.requests;
    assert.equal(req?.method, 'POST');
    assert.equal(req?.url.href, `${BASE_URL}/PC_${SELLER}/AP_INVENTORY/AV_1.0/OG_1`);
    assert.equal(req?.headers.authorization, 'Bearer jwt-static');
    assert.equal(req?.headers['content-type'], 'application/json');
    assert.match(req?.headers['user-agent'] ?? '', /^marketbridge\//);
    assert.deepEqual(JSON.parse(req?.body ?? ''), {
      InventoryUpdate: {
        Item: [
          { SKU: 'SAM-TV-1001', SlaveID: '100421MUM003', Inventory: '25', SafetyStock: '0' },
          { SKU: 'SAM-TV-1001', SlaveID: '100421DEL001', Inventory: '0', SafetyStock: '2' },
        ],
      },
    });
    assert.deepEqual(out, {
      status: 'SUCCESS',
      items: [
        { sku: 'SAM-TV-1001', slaveId: '100421MUM003', status: 'SUCCESS' },
        { sku: 'SAM-TV-1001', slaveId: '100421DEL001', status: 'SUCCESS' },
      ],
    });
  });

  it('sends the (assumed) price update with amounts as strings, leaving out what does not change', async () => {
    const t = setup((req) => batchAnswer(req));
    await t.client.updatePrice([
      { sku: 'A', mrp: 39080, sellingPrice: 35150.5 },
      { sku: 'B', sellingPrice: 999.999 },
    ]);
    const [req] = t.requests;
    assert.equal(req?.url.pathname, `${PREFIX}/AP_PRICE/AV_1.0/OG_1`);
    assert.deepEqual(JSON.parse(req?.body ?? ''), {
      PriceUpdate: {
        Item: [
          { SKU: 'A', MRP: '39080', SellingPrice: '35150.50' },
          { SKU: 'B', SellingPrice: '1000' },
        ],
      },
    });
  });

  it('reads a listing with GET …/AP_LISTING/AV_1.0/OG_1/SKU_{sku}/ and parses strings as numbers', async () => {
    const t = setup(() => ({ status: 200, body: LISTING }));
    const listing = await t.client.getListing('SAM-TV-1001');
    assert.equal(t.requests[0]?.method, 'GET');
    assert.equal(t.requests[0]?.url.pathname, `${PREFIX}/AP_LISTING/AV_1.0/OG_1/SKU_SAM-TV-1001/`);
    assert.equal(t.requests[0]?.body, undefined);
    assert.deepEqual(listing, {
      SKU: 'SAM-TV-1001',
      MRP: 39080,
      SellingPrice: 35150,
      Inventory: [
        { SlaveID: 'S1', Inventory: 4 },
        { SlaveID: 'S2', Inventory: 11 },
      ],
      Status: 'ACTIVE',
    });
  });

  it('follows overridden path templates under a base URL with a path', async () => {
    const t = setup((req) => (req.method === 'GET' ? { status: 200, body: LISTING } : batchAnswer(req)), {
      baseUrl: 'https://cliq.example/gw/PartnerConnect/',
      paths: {
        inventory: '/PC_{sellerId}/AP_INVENTORY/AVT_JSON_INVEN/AV_2.0/OG_1',
        price: 'PC_{sellerId}/AP_PRICING/AV_3.1/OG_1',
        listing: 'PC_{sellerId}/AP_ARTICLE/AV_1.0/OG_1/ART_{sku}',
      },
    });
    await t.client.updateInventory([{ sku: 'X', slaveId: 'S', inventory: 1 }]);
    await t.client.updatePrice([{ sku: 'X', mrp: 2, sellingPrice: 1 }]);
    await t.client.getListing('X/1');
    assert.deepEqual(
      t.requests.map((r) => r.url.href),
      [
        `https://cliq.example/gw/PartnerConnect/PC_${SELLER}/AP_INVENTORY/AVT_JSON_INVEN/AV_2.0/OG_1`,
        `https://cliq.example/gw/PartnerConnect/PC_${SELLER}/AP_PRICING/AV_3.1/OG_1`,
        `https://cliq.example/gw/PartnerConnect/PC_${SELLER}/AP_ARTICLE/AV_1.0/OG_1/ART_X%2F1`,
      ],
    );
  });

  it('refuses path templates with unknown or missing placeholders at construction', () => {
    const make = (paths: TataCliqClientOptions['paths']) => () =>
      new TataCliqClient({ baseUrl: BASE_URL, sellerId: SELLER, token: 't', paths });
    assert.throws(
      make({ inventory: 'PC_{seller}/AP_INVENTORY/AV_1.0/OG_1' }),
      /unknown placeholder\(s\) seller/,
    );
    assert.throws(make({ listing: 'PC_{sellerId}/AP_LISTING/AV_1.0/OG_1/' }), /sku required/);
    assert.throws(make({ price: 'PC_{sellerId}/AP_PRICE/{sku}' }), /must use \{sellerId\}/);
  });

  it('percent-encodes SKUs in path segments (/ + , space, non-ASCII) and sends them raw in bodies', async () => {
    const skus = ['LG/WM 8KG+STEAM,BLK', 'टीवी-४३इंच', 'a%b#c?d'];
    const t = setup((req) => (req.method === 'GET' ? { status: 200, body: LISTING } : batchAnswer(req)));
    for (const sku of skus) await t.client.getListing(sku);
    await t.client.updateInventory(skus.map((sku) => ({ sku, slaveId: 'S', inventory: 3 })));
    await t.client.updatePrice(skus.map((sku) => ({ sku, mrp: 10, sellingPrice: 9 })));
    assert.deepEqual(
      t.requests.slice(0, 3).map((r) => r.url.pathname),
      [
        `${PREFIX}/AP_LISTING/AV_1.0/OG_1/SKU_LG%2FWM%208KG%2BSTEAM%2CBLK/`,
        `${PREFIX}/AP_LISTING/AV_1.0/OG_1/SKU_${encodeURIComponent('टीवी-४३इंच')}/`,
        `${PREFIX}/AP_LISTING/AV_1.0/OG_1/SKU_a%25b%23c%3Fd/`,
      ],
    );
    assert.equal(t.requests[0]?.url.search, '');
    assert.deepEqual(
      itemsOf(t.requests[3]!).map((i) => i.SKU),
      skus,
    );
    assert.deepEqual(
      itemsOf(t.requests[4]!).map((i) => i.SKU),
      skus,
    );
    assert.ok(t.requests[3]?.body?.includes('"SKU":"टीवी-४३इंच"'), 'non-ASCII SKU sent as is');
  });

  it('never sends a SKU that would change the path (a whole segment of dots, or empty): terminal, no request', async () => {
    const t = setup(() => ({ status: 200, body: LISTING }), {
      paths: { listing: 'PC_{sellerId}/AP_LISTING/AV_1.0/OG_1/{sku}' },
    });
    for (const sku of ['.', '..', '']) {
      await assert.rejects(
        t.client.getListing(sku),
        (err: unknown) =>
          err instanceof TerminalError &&
          err.code === TATACLIQ_ERROR_CODES.badRequest &&
          /cannot be addressed/.test(err.message),
      );
    }
    assert.equal(t.requests.length, 0);
    // Inside a segment (the default SKU_{sku}) dots are harmless.
    const d = setup(() => ({ status: 200, body: { ...LISTING, SKU: '..' } }));
    await d.client.getListing('..');
    assert.equal(d.requests[0]?.url.pathname, `${PREFIX}/AP_LISTING/AV_1.0/OG_1/SKU_%2E%2E/`);
  });

  it('renders templates by encoding every value as one segment', () => {
    assert.equal(
      renderPath('PC_{sellerId}/X/SKU_{sku}/', { sellerId: 'S 1', sku: 'a/b' }),
      'PC_S%201/X/SKU_a%2Fb/',
    );
    assert.throws(() => renderPath('PC_{sellerId}/{sku}', { sellerId: 'S' }), /no value for \{sku\}/);
  });

  it('does not send values CliQ cannot take (fractional or negative stock, non-positive prices)', async () => {
    const t = setup((req) => batchAnswer(req));
    await assert.rejects(
      t.client.updateInventory([{ sku: 'A', slaveId: 'S', inventory: 1.5 }]),
      TerminalError,
    );
    await assert.rejects(
      t.client.updateInventory([{ sku: 'A', slaveId: 'S', inventory: -1 }]),
      TerminalError,
    );
    await assert.rejects(t.client.updatePrice([{ sku: 'A', sellingPrice: 0 }]), TerminalError);
    await assert.rejects(t.client.updatePrice([{ sku: 'A' }]), /neither MRP nor selling price/);
    assert.equal(t.requests.length, 0);
  });
});

describe('TataCliqClient per-item results', () => {
  it('splits lists longer than the batch cap into calls of at most maxBatchItems', async () => {
    const t = setup((req) => batchAnswer(req), { maxBatchItems: 50 });
    const items = Array.from({ length: 120 }, (_, i) => ({ sku: `SKU-${i}`, slaveId: 'S', inventory: i }));
    const out = await t.client.updateInventory(items);
    assert.deepEqual(
      t.requests.map((r) => itemsOf(r).length),
      [50, 50, 20],
    );
    assert.equal(out.items.length, 120);
    assert.deepEqual(
      out.items.map((o) => o.sku),
      items.map((i) => i.sku),
    );
  });

  it('aligns results by SKU and SlaveID whatever their order; an item without a result is UNCONFIRMED', async () => {
    const t = setup(() => ({
      status: 200,
      body: {
        InventoryUpdateResponse: {
          status: 'PARTIAL_SUCCESS',
          Item: [
            {
              SKU: 'B',
              SlaveID: 'S1',
              status: 'Failure',
              errorCode: 'E1',
              errorMessage: 'Invalid inventory',
            },
            { SKU: 'A', SlaveID: 'S2', status: 'SUCCESS' },
            { SKU: 'A', SlaveID: 'S1', status: 'SUCCESS' },
          ],
        },
      },
    }));
    const out = await t.client.updateInventory([
      { sku: 'A', slaveId: 'S1', inventory: 1 },
      { sku: 'A', slaveId: 'S2', inventory: 2 },
      { sku: 'B', slaveId: 'S1', inventory: 3 },
      { sku: 'C', slaveId: 'S1', inventory: 4 },
    ]);
    assert.deepEqual(out, {
      status: 'PARTIAL_SUCCESS',
      items: [
        { sku: 'A', slaveId: 'S1', status: 'SUCCESS' },
        { sku: 'A', slaveId: 'S2', status: 'SUCCESS' },
        { sku: 'B', slaveId: 'S1', status: 'FAILURE', errorCode: 'E1', errorMessage: 'Invalid inventory' },
        { sku: 'C', slaveId: 'S1', status: 'UNCONFIRMED' },
      ],
    });
  });

  it('lets a result without SlaveID answer every item of its SKU, and an overall status answer a list-less reply', async () => {
    const t = setup((req) =>
      itemsOf(req).length === 2
        ? { status: 200, body: { Item: [{ SKU: 'A', status: 'FAILURE', errorMessage: 'SKU not found' }] } }
        : { status: 200, body: { status: 'SUCCESS' } },
    );
    const a = await t.client.updateInventory([
      { sku: 'A', slaveId: 'S1', inventory: 1 },
      { sku: 'A', slaveId: 'S2', inventory: 2 },
    ]);
    assert.deepEqual(
      a.items.map((i) => [i.slaveId, i.status, i.errorMessage]),
      [
        ['S1', 'FAILURE', 'SKU not found'],
        ['S2', 'FAILURE', 'SKU not found'],
      ],
    );
    const b = await t.client.updateInventory([{ sku: 'B', slaveId: 'S1', inventory: 1 }]);
    assert.deepEqual(b.items, [{ sku: 'B', slaveId: 'S1', status: 'SUCCESS' }]);
  });
});

describe('TataCliqClient errors', () => {
  it('maps 400 to a terminal error that carries CliQ errorCode and errorMessage', async () => {
    const t = setup(() => ({
      status: 400,
      body: { status: 'FAILURE', errorCode: 'INVALID_REQUEST', errorMessage: 'Item is required' },
    }));
    await assert.rejects(
      t.client.updateInventory([{ sku: 'A', slaveId: 'S', inventory: 1 }]),
      (err: unknown) =>
        err instanceof TerminalError &&
        err.code === TATACLIQ_ERROR_CODES.badRequest &&
        err.status === 400 &&
        /INVALID_REQUEST: Item is required/.test(err.message),
    );
  });

  it('maps 5xx and network failures to retryable errors, 403 to terminal', async () => {
    const t5 = setup(() => ({
      status: 503,
      body: { status: 'FAILURE', errorCode: 'DOWN', errorMessage: 'x' },
    }));
    await assert.rejects(
      t5.client.getListing('A'),
      (e: unknown) => e instanceof RetryableError && e.status === 503,
    );
    const net = setup(() => {
      throw new TypeError('fetch failed');
    });
    await assert.rejects(
      net.client.getListing('A'),
      (e: unknown) => e instanceof RetryableError && /network/.test(e.message),
    );
    const t403 = setup(() => ({
      status: 403,
      body: { status: 'FAILURE', errorCode: 'FORBIDDEN', errorMessage: 'x' },
    }));
    await assert.rejects(
      t403.client.getListing('A'),
      (e: unknown) => e instanceof TerminalError && e.code === TATACLIQ_ERROR_CODES.unauthorized,
    );
  });

  it('reads a 404 with the FAILURE body as "not found", and any other 404 as a wrong path template', async () => {
    const gone = setup(() => ({
      status: 404,
      body: { status: 'FAILURE', errorCode: 'SKU_NOT_FOUND', errorMessage: 'no such SKU' },
    }));
    assert.equal(await gone.client.getListing('A'), null);
    const wrong = setup(() => ({ status: 404, body: 'Not Found' }));
    await assert.rejects(
      wrong.client.getListing('A'),
      (e: unknown) =>
        e instanceof TerminalError &&
        e.code === TATACLIQ_ERROR_CODES.notFound &&
        /path templates/.test(e.message),
    );
  });

  it('on 429 pauses the operation for Retry-After (no request meanwhile), then sends again', async () => {
    let throttle = true;
    const t = setup((req) => {
      if (throttle) {
        throttle = false;
        return {
          status: 429,
          headers: { 'retry-after': '3' },
          body: { status: 'FAILURE', errorCode: 'TOO_MANY_REQUESTS', errorMessage: 'slow down' },
        };
      }
      return batchAnswer(req);
    });
    const items = [{ sku: 'A', slaveId: 'S', inventory: 1 }];
    await assert.rejects(
      t.client.updateInventory(items),
      (e: unknown) =>
        e instanceof RetryableError && e.throttled && e.status === 429 && (e.retryAfterMs ?? 0) >= 3000,
    );
    await assert.rejects(
      t.client.updateInventory(items),
      (e: unknown) => e instanceof RetryableError && e.throttled && /not sent/.test(e.message),
    );
    assert.equal(t.requests.length, 1);
    // Other operations are not paused.
    await t.client.updatePrice([{ sku: 'A', mrp: 2, sellingPrice: 1 }]);
    t.clock.advance(3001);
    const out = await t.client.updateInventory(items);
    assert.equal(out.items[0]?.status, 'SUCCESS');
    assert.equal(t.client.circuit('updateInventory').state, 'closed');
    assert.equal(t.recorder.calls.filter((c) => c.throttled).length, 1);
  });
});

describe('TataCliqClient bearer token expiry', () => {
  it('replays once with a fresh token from a minting provider after a 401', async () => {
    const t0 = new ManualClock(REFERENCE_TIMESTAMP);
    let minted = 0;
    const provider = mintingTokenProvider(
      () => ({ accessToken: `jwt-${++minted}`, expiresAt: t0.now() + 24 * 3600_000 }),
      { clock: t0 },
    );
    const t = setup(
      (req) => (req.headers.authorization === 'Bearer jwt-1' ? UNAUTHORIZED : batchAnswer(req)),
      { token: provider, clock: t0 },
    );
    const out = await t.client.updateInventory([{ sku: 'A', slaveId: 'S', inventory: 1 }]);
    assert.equal(out.items[0]?.status, 'SUCCESS');
    assert.deepEqual(
      t.requests.map((r) => r.headers.authorization),
      ['Bearer jwt-1', 'Bearer jwt-2'],
    );
    assert.deepEqual(
      t.recorder.calls.map((c) => [c.httpStatus, c.attempt]),
      [
        [401, 1],
        [200, 2],
      ],
    );
    // The fresh token is cached for the next call.
    await t.client.getListing('A').catch(() => {});
    assert.equal(minted, 2);
  });

  it('mints once for concurrent callers and again only near expiry', async () => {
    const clock = new ManualClock(REFERENCE_TIMESTAMP);
    let minted = 0;
    const provider = mintingTokenProvider(
      async () => ({ accessToken: `jwt-${++minted}`, expiresAt: clock.now() + 3600_000 }),
      { clock, earlyRefreshMs: 60_000 },
    );
    const tokens = await Promise.all([provider.token(), provider.token(), provider.token()]);
    assert.deepEqual(tokens, ['jwt-1', 'jwt-1', 'jwt-1']);
    clock.advance(3600_000 - 60_000);
    assert.equal(await provider.token(), 'jwt-2');
  });

  it('with a static token: one replay, then terminal "ask the account manager"; later calls fail fast', async () => {
    const t = setup(() => UNAUTHORIZED);
    await assert.rejects(
      t.client.updatePrice([{ sku: 'A', mrp: 2, sellingPrice: 1 }]),
      (e: unknown) =>
        e instanceof TerminalError &&
        e.code === TATACLIQ_ERROR_CODES.tokenExpired &&
        e.status === 401 &&
        /account manager/.test(e.message),
    );
    assert.equal(t.requests.length, 2);
    await assert.rejects(t.client.getListing('A'), TerminalError);
    assert.equal(t.requests.length, 2, 'no request with a token known to be rejected');
  });

  it('picks up a replaced static token (a getter) on the replay', async () => {
    let current = 'jwt-old';
    const t = setup(
      (req) => {
        if (req.headers.authorization !== 'Bearer jwt-old') return batchAnswer(req);
        current = 'jwt-new'; // the operator installs the account manager's new token meanwhile
        return UNAUTHORIZED;
      },
      { token: staticToken(() => current) },
    );
    await t.client.updateInventory([{ sku: 'A', slaveId: 'S', inventory: 1 }]);
    assert.deepEqual(
      t.requests.map((r) => r.headers.authorization),
      ['Bearer jwt-old', 'Bearer jwt-new'],
    );
  });

  it('reports a freshly minted token rejected again as retryable', async () => {
    let minted = 0;
    const t = setup(() => UNAUTHORIZED, {
      token: () => ({ accessToken: `jwt-${++minted}`, expiresAt: REFERENCE_TIMESTAMP + 3600_000 }),
    });
    await assert.rejects(
      t.client.getListing('A'),
      (e: unknown) => e instanceof RetryableError && e.status === 401 && (e.retryAfterMs ?? 0) > 0,
    );
    assert.equal(t.requests.length, 2);
  });
});

describe('TataCliqClient call audit', () => {
  it('records every request under marketplace tatacliq with the SKU, or the JSON list of a batch', async () => {
    const t = setup((req) => (req.method === 'GET' ? { status: 200, body: LISTING } : batchAnswer(req)));
    await t.client.getListing('SAM-TV-1001');
    await t.client.updateInventory([
      { sku: 'a,b', slaveId: 'S', inventory: 1 },
      { sku: 'c', slaveId: 'S', inventory: 1 },
    ]);
    assert.deepEqual(
      t.recorder.calls.map((c) => [c.marketplace, c.operation, c.entityKey, c.httpStatus, c.error]),
      [
        ['tatacliq', 'getListing', 'SAM-TV-1001', 200, null],
        ['tatacliq', 'updateInventory', '["a,b","c"]', 200, null],
      ],
    );
  });
});
