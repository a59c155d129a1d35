/**
 * The Flipkart client and adapter against the local sandbox over real HTTP (127.0.0.1).
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { type Clock, ManualClock, systemClock } from '../../src/core/clock.js';
import { RetryableError, TerminalError } from '../../src/core/errors.js';
import type { ListingDraft } from '../../src/domain/types.js';
import {
  createFlipkartSandbox,
  FLIPKART_ERROR_CODES,
  FLIPKART_SANDBOX_CREDENTIALS,
  FlipkartClient,
  type FlipkartClientOptions,
  FlipkartListingAdapter,
  type FlipkartSandboxOptions,
  flipkartSandboxEnv,
} from '../../src/marketplaces/flipkart/index.js';
import { memoryRecorder, REFERENCE_TIMESTAMP } from './fakes.js';

const LOCATION = FLIPKART_SANDBOX_CREDENTIALS.locationId;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface HarnessOptions {
  /** The sandbox's clock (token expiry, storms). Default a ManualClock. */
  clock?: Clock;
  sandbox?: FlipkartSandboxOptions;
  client?: Partial<FlipkartClientOptions>;
  batchWindowMs?: number;
  maxBatchSize?: number;
}

async function harness(opts: HarnessOptions = {}) {
  const clock = opts.clock ?? new ManualClock(REFERENCE_TIMESTAMP);
  const sandbox = createFlipkartSandbox({ clock, ...opts.sandbox });
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
    rateScale: opts.sandbox?.rateScale ?? 10,
    ...opts.client,
  });
  cleanups.push(() => client.stop());
  // The batch window runs on real time: the adapter is driven by real requests here.
  const adapter = new FlipkartListingAdapter({
    client,
    defaultLocation: env.FLIPKART_DEFAULT_LOCATION!,
    batchWindowMs: opts.batchWindowMs ?? 10,
    maxBatchSize: opts.maxBatchSize,
  });
  return { clock, sandbox, control: sandbox.control, client, adapter, recorder, env };
}

function draft(sku: string, overrides: Partial<ListingDraft> = {}): ListingDraft {
  return {
    sku,
    product: {
      title: `Product ${sku}`,
      brand: 'Brand',
      ean: '8901234567890',
      productType: 'TELEVISION',
      attributes: {},
    },
    price: 1000,
    mrp: 1200,
    quantity: 5,
    ...overrides,
  };
}

/** Retries after each RetryableError's retryAfterMs (real time), as a backing-off caller would. */
async function untilDone<T>(call: () => Promise<T>, maxAttempts = 30): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (!(err instanceof RetryableError) || attempt >= maxAttempts) throw err;
      await new Promise((r) => setTimeout(r, err.retryAfterMs ?? 100));
    }
  }
}

async function raw(url: string, init: RequestInit = {}) {
  const res = await fetch(url, init);
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    body: text === '' ? undefined : (JSON.parse(text) as unknown),
  };
}

function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
}

describe('sandbox token endpoint', () => {
  it('issues a 60-day bearer token for client credentials with Basic auth', async () => {
    const { env } = await harness();
    const res = await raw(`${env.FLIPKART_TOKEN_URL}?grant_type=client_credentials&scope=Seller_Api`, {
      headers: { authorization: basic(env.FLIPKART_APP_ID!, env.FLIPKART_APP_SECRET!) },
    });
    assert.equal(res.status, 200);
    const body = res.body as Record<string, unknown>;
    assert.equal(body.token_type, 'bearer');
    assert.equal(body.expires_in, 5_184_000);
    assert.equal(body.scope, 'Seller_Api');
    assert.equal(typeof body.access_token, 'string');
  });

  it('bad credentials are 401 unauthorized with an error_description', async () => {
    const { env } = await harness();
    const res = await raw(`${env.FLIPKART_TOKEN_URL}?grant_type=client_credentials&scope=Seller_Api`, {
      headers: { authorization: basic(env.FLIPKART_APP_ID!, 'wrong') },
    });
    assert.deepEqual(res.body, { error: 'unauthorized', error_description: 'Bad credentials' });
    assert.equal(res.status, 401);
  });

  it('the client surfaces rejected credentials as a terminal error', async () => {
    const { adapter } = await harness({ client: { appSecret: () => 'wrong' } });
    await assert.rejects(
      adapter.read('A'),
      (err: unknown) => err instanceof TerminalError && err.code === FLIPKART_ERROR_CODES.badCredentials,
    );
  });

  it('business calls without a valid token are 401 invalid_token', async () => {
    const { env } = await harness();
    const res = await raw(`${env.FLIPKART_BASE_URL}/listings/v3/A`, {
      headers: { authorization: 'Bearer nope' },
    });
    assert.equal(res.status, 401);
    assert.equal((res.body as { error: string }).error, 'invalid_token');
  });
});

describe('sandbox listings: batches', () => {
  it('a batch of 10 where 3 SKUs fail: 7 applied, 3 invalid with issues, one call (F15)', async () => {
    const { adapter, control } = await harness();
    const skus = Array.from({ length: 10 }, (_, i) => `SKU-${i}`);
    for (const sku of skus) control.seed(sku, { sellingPrice: 500, mrp: 900, locations: { [LOCATION]: 1 } });
    control.failSkus(['SKU-1', 'SKU-4', 'SKU-8']);
    control.resetCounters();
    const results = await Promise.all(skus.map((sku) => adapter.update({ sku, price: 600 })));
    assert.equal(control.counters().updatePrice.calls, 1);
    const invalid = results.flatMap((r, i) => (r.status === 'invalid' ? [skus[i]] : []));
    assert.deepEqual(invalid, ['SKU-1', 'SKU-4', 'SKU-8']);
    for (const r of results) {
      if (r.status === 'invalid') assert.equal(r.issues[0]?.code, '9001');
      else assert.deepEqual(r, { status: 'applied' });
    }
    const snap = control.snapshot();
    assert.equal(snap['SKU-0']?.price, 600);
    assert.equal(snap['SKU-1']?.price, 500, 'a failed SKU is not applied');
  });

  it('11 concurrent updates: 2 calls (10 + 1)', async () => {
    const { adapter, control } = await harness();
    const skus = Array.from({ length: 11 }, (_, i) => `SKU-${i}`);
    for (const sku of skus) control.seed(sku, { sellingPrice: 500, mrp: 900 });
    const results = await Promise.all(skus.map((sku, i) => adapter.update({ sku, quantity: i })));
    assert.ok(results.every((r) => r.status === 'applied'));
    // Both calls may be in flight at once (e.g. both waiting for the first token), so they can
    // reach the sandbox in either order; the fake-clock adapter test checks the order.
    assert.deepEqual(
      control
        .requests()
        .filter((r) => r.operation === 'updateInventory')
        .map((r) => r.skus.length)
        .sort((a, b) => b - a),
      [10, 1],
    );
    assert.equal(control.snapshot()['SKU-10']?.quantity, 10);
  });

  it('more than 10 SKUs in one request is a 400', async () => {
    const { client, env } = await harness();
    const token = await client.accessToken();
    const body = Object.fromEntries(
      Array.from({ length: 11 }, (_, i) => [`S${i}`, { product_id: `S${i}`, price: { selling_price: 1 } }]),
    );
    const res = await raw(`${env.FLIPKART_BASE_URL}/listings/v3/update/price`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 400);
  });

  it('an expired token mid-batch: one new token, the batch replayed, all succeed (F19)', async () => {
    const { adapter, control, recorder } = await harness();
    const skus = Array.from({ length: 10 }, (_, i) => `SKU-${i}`);
    for (const sku of skus) control.seed(sku, { sellingPrice: 500, mrp: 900 });
    await adapter.read('SKU-0');
    control.expireTokens();
    const results = await Promise.all(skus.map((sku) => adapter.update({ sku, price: 700 })));
    assert.ok(results.every((r) => r.status === 'applied'));
    const c = control.counters();
    assert.equal(c.oauthToken.calls, 2);
    assert.equal(c.updatePrice.unauthorized, 1);
    assert.equal(c.updatePrice.ok, 1);
    assert.deepEqual(
      recorder.calls.filter((r) => r.operation === 'updatePrice').map((r) => [r.httpStatus, r.attempt]),
      [
        [401, 1],
        [200, 2],
      ],
    );
    assert.ok(skus.every((sku) => control.snapshot()[sku]?.price === 700));
  });

  it('tokens also expire by time', async () => {
    const clock = new ManualClock(REFERENCE_TIMESTAMP);
    const { adapter, control } = await harness({ clock, sandbox: { tokenTtlSeconds: 3600 } });
    control.seed('A', { sellingPrice: 1, mrp: 2 });
    await adapter.read('A');
    clock.advance(3600 * 1000 - 1000); // the client renews up to 60 s early, before the sandbox expires it
    await adapter.read('A');
    assert.equal(control.counters().oauthToken.calls, 2);
    assert.equal(control.counters().getListings.unauthorized, 0);
  });
});

describe('sandbox listings: values', () => {
  it('prices are sent as whole rupees, rounded half up', async () => {
    const { adapter, control } = await harness();
    assert.deepEqual(await adapter.upsert(draft('TV', { price: 35149.5, mrp: 39080.49 })), {
      status: 'applied',
    });
    assert.equal(control.snapshot().TV?.price, 35150);
    assert.equal(control.snapshot().TV?.mrp, 39080);
    assert.deepEqual(await adapter.update({ sku: 'TV', price: 34999.49 }), { status: 'applied' });
    assert.equal(control.snapshot().TV?.price, 34999);
    assert.equal((await adapter.read('TV')).price, 34999);
  });

  it('selling_price above mrp or an unknown SKU is invalid for that SKU', async () => {
    const { adapter } = await harness();
    await adapter.upsert(draft('TV'));
    const [above, unknown] = await Promise.all([
      adapter.update({ sku: 'TV', price: 5000 }),
      adapter.update({ sku: 'NOPE', price: 10 }),
    ]);
    assert.equal(above.status, 'invalid');
    assert.equal(above.status === 'invalid' && above.issues[0]?.code, '2002');
    assert.equal(unknown.status, 'invalid');
    assert.equal(unknown.status === 'invalid' && unknown.issues[0]?.code, '1002');
  });

  it('non-integer prices and inventory are FAILURE per SKU', async () => {
    const { client, control, env } = await harness();
    control.seed('A', { sellingPrice: 10, mrp: 20 });
    control.seed('B', { sellingPrice: 10, mrp: 20 });
    const token = await client.accessToken();
    const post = (path: string, body: unknown) =>
      raw(`${env.FLIPKART_BASE_URL}/listings/v3/${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const price = await post('update/price', {
      A: { product_id: 'A', price: { selling_price: 9.5 } },
      B: { product_id: 'B', price: { selling_price: 9 } },
    });
    assert.equal(price.status, 200);
    const p = price.body as Record<string, { status: string }>;
    assert.equal(p.A?.status, 'FAILURE');
    assert.equal(p.B?.status, 'SUCCESS');
    const inv = await post('update/inventory', {
      A: { product_id: 'A', locations: [{ id: LOCATION, inventory: -1 }] },
    });
    assert.equal((inv.body as Record<string, { status: string }>).A?.status, 'FAILURE');
  });

  it('WARNING is applied with issues', async () => {
    const { adapter, control } = await harness();
    await adapter.upsert(draft('A'));
    control.warnSkus(['A']);
    const r = await adapter.update({ sku: 'A', price: 999 });
    assert.equal(r.status, 'applied');
    assert.equal(r.issues?.[0]?.severity, 'WARNING');
    assert.equal(control.snapshot().A?.price, 999);
  });

  it('delist: INACTIVE and inventory 0, not buyable; upsert lists it again', async () => {
    const { adapter, control } = await harness();
    await adapter.upsert(draft('TV', { quantity: 8 }));
    assert.equal((await adapter.read('TV')).buyable, true);
    assert.deepEqual(await adapter.delist('TV'), { status: 'applied' });
    const snap = control.snapshot().TV;
    assert.equal(snap?.status, 'INACTIVE');
    assert.equal(snap?.quantity, 0);
    assert.deepEqual(snap?.locations, { [LOCATION]: { inventory: 0, status: 'ENABLED' } });
    const rb = await adapter.read('TV');
    assert.deepEqual(rb, { found: true, price: 1000, quantity: 0, buyable: false });
    assert.equal(adapter.isDelisted(rb), true);
    await adapter.upsert(draft('TV', { quantity: 3 }));
    assert.deepEqual(await adapter.read('TV'), { found: true, price: 1000, quantity: 3, buyable: true });
  });

  it('an unknown SKU reads as not found', async () => {
    const { adapter } = await harness();
    assert.deepEqual(await adapter.read('NOPE'), { found: false });
  });

  it('tolerates the map under a top-level "sku" key', async () => {
    const { adapter } = await harness({ sandbox: { responseEnvelope: 'sku-wrapper' } });
    assert.deepEqual(await adapter.upsert(draft('A')), { status: 'applied' });
    assert.deepEqual(await adapter.update({ sku: 'A', quantity: 2 }), { status: 'applied' });
  });
});

describe('sandbox listings: SKU characters (F22)', () => {
  const SKUS = [
    'LG/WM 8KG+STEAM',
    'A,B',
    'C, D',
    'टीवी-४३इंच',
    'x?y#z%',
    ',',
    '.',
    '..',
    '__proto__',
    'plain',
  ];

  it('sends and reads back SKUs with / + , space and non-ASCII; a comma SKU never goes in a list', async () => {
    const { adapter, control } = await harness();
    const created = await Promise.all(SKUS.map((sku, i) => adapter.upsert(draft(sku, { quantity: i + 1 }))));
    assert.ok(created.every((r) => r.status === 'applied'));
    assert.deepEqual(Object.keys(control.snapshot()).sort(), [...SKUS].sort());
    const reads = await Promise.all(SKUS.map((sku) => adapter.read(sku)));
    reads.forEach((rb, i) => {
      assert.deepEqual(rb, { found: true, price: 1000, quantity: i + 1, buyable: true }, SKUS[i]);
    });
    const gets = control.requests().filter((r) => r.operation === 'getListings');
    for (const g of gets) {
      if (g.skus.some((s) => s.includes(','))) assert.equal(new Set(g.skus).size, 1, JSON.stringify(g.skus));
    }
    assert.ok(gets.length <= 4, `${gets.length} GETs for ${SKUS.length} SKUs`);
    for (const sku of SKUS) {
      assert.deepEqual(await adapter.update({ sku, quantity: 0 }), { status: 'applied' }, sku);
    }
    assert.ok(Object.values(control.snapshot()).every((s) => s.quantity === 0));
  });
});

describe('sandbox rate limits', () => {
  it('a 429 storm that ends: calls succeed after it, with few 429s', async () => {
    const { adapter, client, control } = await harness({ clock: systemClock });
    for (let i = 0; i < 20; i++) control.seed(`SKU-${i}`, { sellingPrice: 500, mrp: 900 });
    control.throttleFor(1500, 'updateInventory');
    const started = performance.now();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        untilDone(() => adapter.update({ sku: `SKU-${i}`, quantity: i + 1 })),
      ),
    );
    const elapsedMs = performance.now() - started;
    assert.ok(results.every((r) => r.status === 'applied'));
    const c = control.counters().updateInventory;
    // 20 updates are 2 batches; during the storm the Retry-After and the 429 pause hold everyone back.
    assert.ok(c.throttled <= 4, `${c.throttled} throttled calls`);
    assert.ok(elapsedMs >= 1500, `${elapsedMs} ms: nothing can succeed during the storm`);
    assert.ok(elapsedMs < 8000, `${elapsedMs} ms`);
    assert.ok(Object.values(control.snapshot()).every((s) => s.quantity > 0));
    assert.equal(client.circuit('updateInventory').state, 'closed');
  });

  it('429 carries Retry-After and the documented body', async () => {
    const { client, control, env } = await harness();
    const token = await client.accessToken();
    control.throttleNext(1);
    const res = await raw(`${env.FLIPKART_BASE_URL}/listings/v3/A`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(res.status, 429);
    assert.equal(res.headers.get('retry-after'), '1');
    assert.equal((res.body as { error: string }).error, 'too_many_requests');
  });

  it('setRateScale: more requests pass per second after raising it; tokens held are kept', async () => {
    const clock = new ManualClock(REFERENCE_TIMESTAMP);
    const { client, control, env } = await harness({
      clock,
      sandbox: { rateLimit: true, rateScale: 1, rateLimits: { getListings: { rate: 2, burst: 10 } } },
      client: { rateScale: 1 },
    });
    const token = await client.accessToken();
    const passing = async (n: number) => {
      let ok = 0;
      for (let i = 0; i < n; i++) {
        const res = await raw(`${env.FLIPKART_BASE_URL}/listings/v3/A`, {
          headers: { authorization: `Bearer ${token}` },
        });
        if (res.status !== 429) ok++;
      }
      return ok;
    };
    assert.equal(await passing(12), 10, 'the burst');
    clock.advance(1000);
    assert.equal(await passing(5), 2, '2 per second at rateScale 1');
    clock.advance(500); // one token accrued at the old rate: kept
    control.setRateScale(5);
    assert.equal(await passing(2), 1);
    clock.advance(500);
    assert.equal(await passing(8), 5, '10 per second at rateScale 5');
    clock.advance(5000);
    assert.equal(await passing(12), 10, 'capped at the burst');
    assert.throws(() => control.setRateScale(-1), RangeError);
  });

  it('with rate limiting on, the client limiter at the same scale keeps under it', async () => {
    const { adapter, control } = await harness({
      clock: systemClock,
      sandbox: { rateLimit: true, rateScale: 4 },
      maxBatchSize: 1,
    });
    const started = performance.now();
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => adapter.upsert(draft(`S-${i}`))));
    const elapsedMs = performance.now() - started;
    assert.ok(results.every((r) => r.status === 'applied'));
    const c = control.counters().createListing;
    assert.equal(c.calls, 40);
    assert.equal(c.throttled, 0);
    // 5/s × 4 = 20 req/s with a bucket of 5: at least (40 - 5) / 20 s.
    assert.ok(elapsedMs >= 1700, `too fast: ${elapsedMs} ms`);
  });

  it('5xx is retryable for every caller of the batch', async () => {
    const { adapter, control } = await harness();
    control.seed('A', { sellingPrice: 1, mrp: 2 });
    await adapter.read('A');
    control.failNext(1, 503, 'updatePrice');
    await assert.rejects(
      adapter.update({ sku: 'A', price: 2 }),
      (err: unknown) => err instanceof RetryableError && err.status === 503,
    );
    assert.deepEqual(await adapter.update({ sku: 'A', price: 2 }), { status: 'applied' });
  });

  it('a slow answer past the client timeout is retryable (the write may have landed)', async () => {
    const { adapter, control } = await harness({ clock: systemClock, client: { requestTimeoutMs: 200 } });
    control.seed('A', { sellingPrice: 1, mrp: 5 });
    await adapter.read('A');
    control.slow(400);
    await assert.rejects(adapter.update({ sku: 'A', price: 3 }), RetryableError);
    control.slow(0);
    assert.equal(control.snapshot().A?.price, 3);
  });
});
