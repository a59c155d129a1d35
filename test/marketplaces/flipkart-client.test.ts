import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { RetryableError, TerminalError } from '../../src/core/errors.js';
import {
  FLIPKART_ERROR_CODES,
  type FlipkartClient,
  toRupees,
} from '../../src/marketplaces/flipkart/index.js';
import { eventually } from './fakes.js';
import { APP_ID, bodyOf, type FakeFlipkart, fakeClient, fakeFlipkart, getSkus } from './flipkart-fakes.js';

const clients: FlipkartClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.stop()));
});

function setup(fake: FakeFlipkart = fakeFlipkart(), overrides: Parameters<typeof fakeClient>[1] = {}) {
  const t = fakeClient(fake, overrides);
  clients.push(t.client);
  return { ...t, fake };
}

const QUOTA = (retryAfter: string) => ({
  status: 429,
  headers: { 'retry-after': retryAfter },
  body: { error: 'too_many_requests', error_description: 'slow down' },
});

describe('FlipkartClient token', () => {
  it('requests a client-credentials token with Basic auth and sends it as Bearer', async () => {
    const { client, fake } = setup();
    await client.updatePrice([{ sku: 'S1', sellingPrice: 100, mrp: 120 }]);
    const [token] = fake.tokenRequests();
    assert.equal(token?.method, 'GET');
    assert.equal(token?.url.searchParams.get('grant_type'), 'client_credentials');
    assert.equal(token?.url.searchParams.get('scope'), 'Seller_Api');
    assert.equal(
      token?.headers.authorization,
      `Basic ${Buffer.from(`${APP_ID}:secret-1`).toString('base64')}`,
    );
    const [req] = fake.api();
    assert.equal(req?.headers.authorization, 'Bearer tok-1');
    assert.match(req?.headers['content-type'] ?? '', /^application\/json/);
  });

  it('caches the token until expires_in and shares one request between concurrent callers', async () => {
    const { client, clock, fake } = setup();
    await Promise.all([client.updatePrice([{ sku: 'A', sellingPrice: 1 }]), client.getListings(['A'])]);
    assert.equal(fake.tokenRequests().length, 1);
    clock.advance(5183999 * 1000 - 61_000);
    await client.getListings(['A']);
    assert.equal(fake.tokenRequests().length, 1);
    clock.advance(2_000); // within 60 s of expiry
    await client.getListings(['A']);
    assert.equal(fake.tokenRequests().length, 2);
  });

  it('a 401 on a business call gets one new token and replays only that request', async () => {
    const { client, fake, recorder } = setup();
    await client.updatePrice([{ sku: 'A', sellingPrice: 10 }]);
    fake.expireTokens();
    const results = await client.updatePrice([{ sku: 'A', sellingPrice: 11 }]);
    assert.equal(results.get('A')?.status, 'SUCCESS');
    assert.equal(fake.tokenRequests().length, 2);
    assert.deepEqual(
      recorder.calls.map((c) => [c.operation, c.httpStatus, c.attempt]),
      [
        ['oauthToken', 200, 1],
        ['updatePrice', 200, 1],
        ['updatePrice', 401, 1],
        ['oauthToken', 200, 1],
        ['updatePrice', 200, 2],
      ],
    );
    assert.ok(recorder.calls.every((c) => c.marketplace === 'flipkart'));
  });

  it('a second 401 after a new token is retryable, not a loop', async () => {
    const { client, fake } = setup();
    const unauthorized = { status: 401, body: { error: 'invalid_token', error_description: 'nope' } };
    fake.script.push(unauthorized, unauthorized);
    await assert.rejects(
      client.updatePrice([{ sku: 'A', sellingPrice: 10 }]),
      (err: unknown) => err instanceof RetryableError && err.status === 401,
    );
    assert.equal(fake.api().length, 2);
    assert.equal(fake.tokenRequests().length, 2);
  });

  it('bad credentials (token endpoint 401) are terminal and fail fast until the secret changes', async () => {
    let secret = 'wrong';
    const { client, fake } = setup(fakeFlipkart(), { appSecret: () => secret });
    const rejected = { status: 401, body: { error: 'unauthorized', error_description: 'Bad credentials' } };
    fake.tokenScript.push(rejected);
    const isBadCredentials = (err: unknown) =>
      err instanceof TerminalError &&
      err.code === FLIPKART_ERROR_CODES.badCredentials &&
      /Bad credentials/.test(err.message);
    await assert.rejects(client.getListings(['A']), isBadCredentials);
    await assert.rejects(client.getListings(['A']), isBadCredentials);
    assert.equal(fake.tokenRequests().length, 1, 'no second request with the same secret');
    assert.equal(fake.api().length, 0);
    secret = 'secret-1';
    await client.getListings(['A']);
    assert.equal(fake.tokenRequests().length, 2);
  });

  it('a token endpoint 5xx is retryable and holds further token requests', async () => {
    const { client, clock, fake } = setup(fakeFlipkart(), { random: () => 0 });
    fake.tokenScript.push({ status: 503, body: { error: 'service_unavailable' } });
    await assert.rejects(
      client.getListings(['A']),
      (err: unknown) => err instanceof RetryableError && err.status === 503 && err.retryAfterMs === 1000,
    );
    await assert.rejects(client.getListings(['A']), (err: unknown) => err instanceof RetryableError);
    assert.equal(fake.tokenRequests().length, 1, 'held: not sent again');
    clock.advance(1000);
    await client.getListings(['A']);
    assert.equal(client.tokenRefreshHold().failures, 0);
  });
});

describe('FlipkartClient listing writes', () => {
  it('sends a map keyed by SKU with product_id, whole-rupee prices (half up) and INR', async () => {
    const { client, fake } = setup(fakeFlipkart(), { fsn: { 'TV-1': 'TVSFH7ZZGHZ6QXYZ' } });
    await client.updatePrice([
      { sku: 'TV-1', sellingPrice: 35149.5, mrp: 39080.49 },
      { sku: 'TV-2', sellingPrice: 2.675 },
    ]);
    assert.deepEqual(bodyOf(fake.api()[0]!), {
      'TV-1': {
        product_id: 'TVSFH7ZZGHZ6QXYZ',
        price: { mrp: 39080, selling_price: 35150, currency: 'INR' },
      },
      'TV-2': { product_id: 'TV-2', price: { selling_price: 3, currency: 'INR' } },
    });
    assert.equal(fake.api()[0]?.url.pathname, '/sellers/listings/v3/update/price');
  });

  it('rounds to whole rupees half up', () => {
    assert.deepEqual(
      [0.5, 1.49, 1.5, 99.99, 100, 2.675, 35149.5].map(toRupees),
      [1, 1, 2, 100, 100, 3, 35150],
    );
  });

  it('sends inventory per location, ENABLED by default', async () => {
    const { client, fake } = setup(fakeFlipkart(), { productId: (sku) => `FSN-${sku}` });
    await client.updateInventory([{ sku: 'A', locations: [{ id: 'L1', inventory: 4 }] }]);
    assert.equal(fake.api()[0]?.url.pathname, '/sellers/listings/v3/update/inventory');
    assert.deepEqual(bodyOf(fake.api()[0]!), {
      A: { product_id: 'FSN-A', locations: [{ id: 'L1', status: 'ENABLED', inventory: 4 }] },
    });
  });

  it('refuses more than 10 SKUs or a SKU twice, without a request', async () => {
    const { client, fake } = setup();
    const eleven = Array.from({ length: 11 }, (_, i) => ({ sku: `S${i}`, sellingPrice: 1 }));
    await assert.rejects(
      client.updatePrice(eleven),
      (err: unknown) => err instanceof TerminalError && err.code === FLIPKART_ERROR_CODES.invalidBatch,
    );
    await assert.rejects(
      client.updateListing([
        { sku: 'A', listingStatus: 'INACTIVE' },
        { sku: 'A', listingStatus: 'ACTIVE' },
      ]),
      TerminalError,
    );
    assert.equal(fake.requests.length, 0);
  });

  it('returns per-SKU results: SUCCESS, FAILURE with errors, WARNING', async () => {
    const { client, fake } = setup();
    fake.failing.add('BAD');
    fake.warning.add('WARN');
    const r = await client.updatePrice([
      { sku: 'OK', sellingPrice: 1 },
      { sku: 'BAD', sellingPrice: 1 },
      { sku: 'WARN', sellingPrice: 1 },
    ]);
    assert.equal(r.get('OK')?.status, 'SUCCESS');
    assert.equal(r.get('BAD')?.status, 'FAILURE');
    assert.deepEqual(r.get('BAD')?.errors[0], {
      severity: 'ERROR',
      code: '1002',
      description: 'No listing found for SKU BAD',
    });
    assert.equal(r.get('BAD')?.attribute_errors[0]?.attribute, 'selling_price');
    assert.equal(r.get('WARN')?.status, 'WARNING');
    assert.deepEqual(r.get('WARN')?.attribute_errors, [], 'null list tolerated');
  });

  it('accepts the map under a top-level "sku" key, and tells it from a SKU named "sku"', async () => {
    const { client, fake } = setup();
    fake.skuWrapper = true;
    const wrapped = await client.updatePrice([
      { sku: 'A', sellingPrice: 1 },
      { sku: 'B', sellingPrice: 1 },
    ]);
    assert.deepEqual([...wrapped.keys()].sort(), ['A', 'B']);
    fake.skuWrapper = false;
    const named = await client.updatePrice([{ sku: 'sku', sellingPrice: 1 }]);
    assert.equal(named.get('sku')?.status, 'SUCCESS');
  });

  it('a SKU missing from the answer is absent (outcome unknown)', async () => {
    const { client, fake } = setup();
    fake.script.push({ status: 200, body: { A: { status: 'SUCCESS', extra: 1 } } });
    const r = await client.updatePrice([
      { sku: 'A', sellingPrice: 1 },
      { sku: 'B', sellingPrice: 1 },
    ]);
    assert.equal(r.get('A')?.status, 'SUCCESS');
    assert.equal(r.has('B'), false);
  });
});

describe('FlipkartClient errors', () => {
  it('429 is throttled and retryable with Retry-After; the operation sends nothing until then', async () => {
    const { client, clock, fake, recorder } = setup(fakeFlipkart(), { random: () => 0 });
    await client.getListings(['A']); // token
    fake.script.push(QUOTA('3'));
    await assert.rejects(
      client.updateInventory([{ sku: 'A', locations: [{ id: 'L', inventory: 1 }] }]),
      (err: unknown) =>
        err instanceof RetryableError && err.throttled && err.status === 429 && err.retryAfterMs === 3000,
    );
    assert.equal(recorder.calls.at(-1)?.throttled, true);
    clock.advance(2000);
    await assert.rejects(
      client.updateInventory([{ sku: 'A', locations: [{ id: 'L', inventory: 1 }] }]),
      (err: unknown) => err instanceof RetryableError && err.throttled && err.retryAfterMs === 1000,
    );
    assert.equal(fake.api().filter((r) => r.method === 'POST').length, 1, 'not sent during Retry-After');
    await client.updatePrice([{ sku: 'A', sellingPrice: 1 }]); // other operations go on
    clock.advance(1000);
    await client.updateInventory([{ sku: 'A', locations: [{ id: 'L', inventory: 1 }] }]);
  });

  for (const status of [500, 502, 503, 499]) {
    it(`${status} is retryable`, async () => {
      const { client, fake } = setup();
      fake.script.push({ status, body: { error: 'internal_server_error' } });
      await assert.rejects(
        client.updatePrice([{ sku: 'A', sellingPrice: 1 }]),
        (err: unknown) => err instanceof RetryableError && err.status === status && !err.throttled,
      );
    });
  }

  it('a network failure is retryable', async () => {
    const { client } = setup(fakeFlipkart(), {
      fetch: async () => {
        throw new TypeError('fetch failed');
      },
    });
    await assert.rejects(client.getListings(['A']), RetryableError);
  });

  it('400 is terminal with Flipkart’s description', async () => {
    const { client, fake } = setup();
    fake.script.push({
      status: 400,
      body: { errors: [{ severity: 'ERROR', code: 400, description: 'At most 10 SKUs per request' }] },
    });
    await assert.rejects(
      client.updatePrice([{ sku: 'A', sellingPrice: 1 }]),
      (err: unknown) =>
        err instanceof TerminalError &&
        err.code === FLIPKART_ERROR_CODES.badRequest &&
        err.status === 400 &&
        /At most 10 SKUs/.test(err.message),
    );
  });
});

describe('FlipkartClient getListings', () => {
  it('percent-encodes each SKU and never puts a comma SKU in the comma list (F22)', async () => {
    const { client, fake } = setup();
    const skus = ['LG/WM 8KG+STEAM', 'टीवी-४३इंच', 'A,B', 'x?y#z', 'plain', ',', 'a%2Cb'];
    for (const sku of skus)
      fake.listings.set(sku, { product_id: 'F', listing_status: 'ACTIVE', locations: [] });
    const r = await client.getListings(skus);
    assert.deepEqual([...r.available.keys()].sort(), [...skus].sort());
    const gets = fake.api().map(getSkus);
    for (const list of gets) {
      if (list.some((s) => s.includes(','))) assert.equal(list.length, 1, `comma SKU in a list: ${list}`);
    }
    assert.deepEqual(
      gets.find((l) => l.length > 1),
      ['LG/WM 8KG+STEAM', 'टीवी-४३इंच', 'x?y#z', 'plain', 'a%2Cb'],
    );
    const listPath = fake.api().find((r) => getSkus(r).length > 1)?.url.pathname;
    assert.equal(
      listPath,
      `/sellers/listings/v3/LG%2FWM%208KG%2BSTEAM,${encodeURIComponent('टीवी-४३इंच')},x%3Fy%23z,plain,a%252Cb`,
    );
  });

  it('fetches at most 10 SKUs per request', async () => {
    const { client, fake } = setup();
    const r = await client.getListings(Array.from({ length: 23 }, (_, i) => `S-${i}`));
    assert.deepEqual(
      fake.api().map((req) => getSkus(req).length),
      [10, 10, 3],
    );
    assert.equal(r.unavailable.length, 23);
  });

  it('sends "." and ".." (which URL parsing would drop) twice, and "" not at all', async () => {
    const { client, fake } = setup();
    fake.listings.set('..', { product_id: 'F', listing_status: 'ACTIVE', locations: [] });
    const r = await client.getListings(['..']);
    assert.ok(r.available.has('..'));
    assert.equal(fake.api()[0]?.url.pathname, '/sellers/listings/v3/%2E%2E,%2E%2E');
    const empty = await client.getListings(['']);
    assert.deepEqual(empty.invalid, ['']);
    assert.equal(fake.api().length, 1);
  });

  it('reads details tolerantly (numbers as strings, extra fields, null locations)', async () => {
    const { client, fake } = setup();
    fake.script.push({
      status: 200,
      body: {
        available: {
          A: {
            product_id: 'F',
            listing_status: 'ACTIVE',
            price: { selling_price: '499', mrp: 599 },
            locations: null,
            x: 1,
          },
        },
        unavailable: null,
      },
    });
    const r = await client.getListings(['A', 'B']);
    assert.deepEqual(r.available.get('A'), {
      product_id: 'F',
      listing_status: 'ACTIVE',
      price: { selling_price: 499, mrp: 599 },
      locations: [],
    });
    assert.deepEqual(r.unavailable, []);
  });
});

describe('FlipkartClient recorder', () => {
  it('records each HTTP call with the SKUs of the batch', async () => {
    const { client, recorder } = setup();
    await client.updatePrice([
      { sku: 'A', sellingPrice: 1 },
      { sku: 'B,C', sellingPrice: 1 },
    ]);
    await eventually(() => recorder.calls.length === 2, 'two records');
    const call = recorder.calls.find((c) => c.operation === 'updatePrice');
    assert.equal(call?.entityKey, '["A","B,C"]');
    assert.equal(call?.httpStatus, 200);
    assert.equal(call?.error, null);
  });
});
