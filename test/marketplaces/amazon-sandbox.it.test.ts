/**
 * The Amazon client and adapter against the local sandbox over real HTTP (127.0.0.1).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { type Clock, ManualClock, systemClock } from '../../src/core/clock.js';
import { RetryableError, TerminalError } from '../../src/core/errors.js';
import {
  AMAZON_ERROR_CODES,
  type AmazonDelistMode,
  AmazonListingAdapter,
  type AmazonSandbox,
  type AmazonSandboxOptions,
  AmazonSpApiClient,
  type AmazonSpApiClientOptions,
  createAmazonSandbox,
  SANDBOX_CREDENTIALS,
} from '../../src/marketplaces/amazon/index.js';
import { loadListingsModel } from './amazon-model.js';
import { memoryRecorder, REFERENCE_TIMESTAMP, TV_DRAFT } from './fakes.js';

const SELLER = SANDBOX_CREDENTIALS.sellerId;
const MP = 'A21TJRUUN4KGV';
const model = loadListingsModel();

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface HarnessOptions {
  clock?: Clock;
  sandbox?: AmazonSandboxOptions;
  client?: Partial<AmazonSpApiClientOptions>;
  delistMode?: AmazonDelistMode;
}

async function startSandbox(opts: AmazonSandboxOptions): Promise<AmazonSandbox> {
  const sandbox = createAmazonSandbox(opts);
  await sandbox.start();
  cleanups.push(() => sandbox.stop());
  return sandbox;
}

function connect(sandbox: AmazonSandbox, clock: Clock, overrides: Partial<AmazonSpApiClientOptions> = {}) {
  const recorder = memoryRecorder();
  const client = new AmazonSpApiClient({
    endpoint: sandbox.url,
    lwaEndpoint: sandbox.url,
    clientId: SANDBOX_CREDENTIALS.clientId,
    clientSecret: () => SANDBOX_CREDENTIALS.clientSecret,
    refreshToken: SANDBOX_CREDENTIALS.refreshToken,
    sellerId: SELLER,
    clock,
    recorder,
    ...overrides,
  });
  cleanups.push(() => client.stop());
  return { client, recorder };
}

async function harness(opts: HarnessOptions = {}) {
  const clock = opts.clock ?? new ManualClock(REFERENCE_TIMESTAMP);
  const sandbox = await startSandbox({ clock, rateScale: 10, applyDelayMs: 60_000, ...opts.sandbox });
  const { client, recorder } = connect(sandbox, clock, {
    rateScale: opts.sandbox?.rateScale ?? 10,
    ...opts.client,
  });
  const adapter = new AmazonListingAdapter({ client, delistMode: opts.delistMode });
  return { clock, sandbox, control: sandbox.control, client, adapter, recorder };
}

function manual(clock: Clock): ManualClock {
  assert.ok(clock instanceof ManualClock);
  return clock;
}

/** Retries a call after each RetryableError's retryAfterMs (real time), as a backing-off caller would. */
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

/** A request over node:http, which sends the path exactly as given (fetch would normalise it). */
function rawPath(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: unknown,
) {
  const u = new URL(base);
  return new Promise<{ status: number; body: unknown }>((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, method, path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        text += d;
      });
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body: text === '' ? undefined : (JSON.parse(text) as unknown),
        }),
      );
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** A raw request to the sandbox (for headers and bodies the client does not expose). */
async function raw(url: string, init: RequestInit = {}) {
  const res = await fetch(url, init);
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    body: text === '' ? undefined : (JSON.parse(text) as unknown),
  };
}

describe('sandbox LWA', () => {
  it('exchanges the refresh token for an Atza| token valid for an hour', async () => {
    const { client, control, sandbox } = await harness();
    const token = await client.accessToken();
    assert.match(token, /^Atza\|/);
    assert.equal(control.counters().lwaToken.ok, 1);
    const json = await raw(`${sandbox.url}/auth/o2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        grant_type: 'refresh_token',
        refresh_token: SANDBOX_CREDENTIALS.refreshToken,
        client_id: SANDBOX_CREDENTIALS.clientId,
        client_secret: SANDBOX_CREDENTIALS.clientSecret,
      }),
    });
    assert.equal(json.status, 200, 'JSON bodies are accepted too');
    assert.deepEqual(
      { ...(json.body as object), access_token: 'x' },
      {
        access_token: 'x',
        refresh_token: SANDBOX_CREDENTIALS.refreshToken,
        token_type: 'bearer',
        expires_in: 3600,
      },
    );
  });

  it('a revoked refresh token is invalid_grant: re-authorisation needed', async () => {
    const { client, control } = await harness();
    control.revokeRefreshToken();
    await assert.rejects(
      client.accessToken(),
      (err: unknown) =>
        err instanceof TerminalError && err.code === AMAZON_ERROR_CODES.reauthorisationRequired,
    );
  });

  it('a rotated secret makes the old one invalid_client; the new one is picked up without restart', async () => {
    let secret: string = SANDBOX_CREDENTIALS.clientSecret;
    const { client, control } = await harness({ client: { clientSecret: () => secret } });
    control.rotateClientSecret('amzn1.oa2-cs.v1.rotated');
    await assert.rejects(
      client.accessToken(),
      (err: unknown) => err instanceof TerminalError && err.code === AMAZON_ERROR_CODES.clientSecretRejected,
    );
    secret = 'amzn1.oa2-cs.v1.rotated';
    assert.match(await client.accessToken(), /^Atza\|/);
  });

  it('LWA 5xx is retryable and the next refresh (after the hold) succeeds', async () => {
    const { client, control, clock } = await harness();
    control.failLwaNext(1, 500);
    await assert.rejects(
      client.accessToken(),
      (err: unknown) => err instanceof RetryableError && err.status === 500 && (err.retryAfterMs ?? 0) > 0,
    );
    manual(clock).advance(client.tokenRefreshHold().remainingMs);
    assert.match(await client.accessToken(), /^Atza\|/);
  });
  it('during an LWA outage the callers share one backoff: no token request while it holds', async () => {
    const { adapter, client, control, clock } = await harness({ client: { random: () => 0 } });
    control.failLwaNext(2, 500);
    const update = (i: number) => adapter.update({ sku: `SKU-${i}`, quantity: i });
    const first = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => update(i)));
    assert.ok(first.every((r) => r.status === 'rejected' && r.reason instanceof RetryableError));
    assert.equal(control.counters().lwaToken.calls, 1, 'concurrent callers share one refresh');
    // During the hold, 20 concurrent and 20 successive calls send no token request.
    manual(clock).advance(500);
    const held = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => update(i)));
    for (let i = 0; i < 20; i++) {
      await assert.rejects(
        update(i),
        (err: unknown) => err instanceof RetryableError && err.retryAfterMs === 500,
      );
    }
    assert.ok(
      held.every(
        (r) => r.status === 'rejected' && r.reason instanceof RetryableError && r.reason.retryAfterMs === 500,
      ),
    );
    assert.equal(control.counters().lwaToken.calls, 1);
    // Hold over: the next refresh fails again and holds twice as long; then LWA is back.
    manual(clock).advance(500);
    await assert.rejects(
      update(0),
      (err: unknown) => err instanceof RetryableError && err.status === 500 && err.retryAfterMs === 2000,
    );
    manual(clock).advance(2000);
    for (let i = 0; i < 20; i++) {
      assert.equal((await update(i)).status, 'accepted');
      manual(clock).advance(100); // the sandbox's bucket refills on its (manual) clock
    }
    assert.deepEqual(control.counters().lwaToken, {
      calls: 3,
      ok: 1,
      throttled: 0,
      unauthorized: 0,
      clientErrors: 0,
      serverErrors: 2,
    });
    assert.equal(client.tokenRefreshHold().failures, 0);
  });
});

describe('sandbox access checks', () => {
  it('answers 403 with the three observed details', async () => {
    const { sandbox, client, control } = await harness();
    const url = `${sandbox.url}/listings/2021-08-01/items/${SELLER}/SKU?marketplaceIds=${MP}`;
    const missing = await raw(url);
    const garbage = await raw(url, { headers: { 'x-amz-access-token': 'Atza|garbage' } });
    const token = await client.accessToken();
    control.expireTokens();
    const expired = await raw(url, { headers: { 'x-amz-access-token': token } });
    const details = [missing, garbage, expired].map((r) => {
      assert.equal(r.status, 403);
      assert.equal(r.headers.get('x-amzn-ratelimit-limit'), null);
      assert.ok(r.headers.get('x-amzn-requestid'));
      assert.deepEqual(model.validateDefinition('ErrorList', r.body), []);
      return (r.body as { errors: { code: string; details: string }[] }).errors[0]?.details;
    });
    assert.deepEqual(details, [
      'Access token is missing in the request header.',
      'The access token you provided is revoked, malformed or invalid.',
      'The access token you provided has expired.',
    ]);
  });

  it('an expired token mid-way costs one refresh and one replay, then succeeds', async () => {
    const { adapter, control, recorder } = await harness();
    assert.equal((await adapter.update({ sku: 'SAM-TV-1001', price: 100 })).status, 'accepted');
    control.expireTokens();
    assert.equal((await adapter.update({ sku: 'SAM-TV-1001', price: 101 })).status, 'accepted');
    const counters = control.counters();
    assert.equal(counters.lwaToken.calls, 2);
    assert.equal(counters.patchListingsItem.unauthorized, 1);
    assert.equal(counters.patchListingsItem.ok, 2);
    assert.deepEqual(
      recorder.calls.filter((c) => c.operation === 'patchListingsItem').map((c) => [c.httpStatus, c.attempt]),
      [
        [200, 1],
        [403, 1],
        [200, 2],
      ],
    );
  });
});

describe('sandbox listings', () => {
  it('PUT is ACCEPTED and the GET shows nothing until the apply delay has passed', async () => {
    const { adapter, clock, control } = await harness();
    const result = await adapter.upsert(TV_DRAFT);
    assert.equal(result.status, 'accepted');
    assert.deepEqual(await adapter.read(TV_DRAFT.sku), { found: false });
    assert.equal(control.snapshot()[TV_DRAFT.sku]?.pending, 1);
    manual(clock).advance(60_000);
    assert.deepEqual(await adapter.read(TV_DRAFT.sku), {
      found: true,
      price: 35150,
      quantity: 15,
      buyable: true,
    });
  });

  it('a price PATCH shows the old price until applied, changes apply in submission order', async () => {
    const { adapter, clock, control } = await harness({ sandbox: { applyDelayMs: 0 } });
    await adapter.upsert(TV_DRAFT);
    control.setApplyDelay(30_000);
    await adapter.update({ sku: TV_DRAFT.sku, price: 34000 });
    await adapter.update({ sku: TV_DRAFT.sku, price: 33000 });
    assert.equal((await adapter.read(TV_DRAFT.sku)).price, 35150);
    manual(clock).advance(30_000);
    assert.equal((await adapter.read(TV_DRAFT.sku)).price, 33000);
    assert.deepEqual(control.snapshot()[TV_DRAFT.sku], {
      sellerId: SELLER,
      exists: true,
      price: 33000,
      quantity: 15,
      buyable: true,
      pending: 0,
    });
  });

  it('an unknown productType is INVALID with issues, and nothing is stored', async () => {
    const { adapter, clock, control } = await harness();
    const result = await adapter.upsert({
      ...TV_DRAFT,
      product: { ...TV_DRAFT.product, productType: 'TOASTER' },
    });
    assert.equal(result.status, 'invalid');
    assert.ok(
      result.status === 'invalid' &&
        result.issues.some((i) => i.severity === 'ERROR' && /TOASTER/.test(i.message)),
    );
    manual(clock).advance(120_000);
    assert.deepEqual(control.snapshot(), {});
  });

  it('a negative price or a fractional quantity is INVALID naming the attribute', async () => {
    const { client } = await harness();
    const res = await client.patchListingsItem('S', {
      productType: 'PRODUCT',
      patches: [
        {
          op: 'replace',
          path: '/attributes/purchasable_offer',
          value: [
            { marketplace_id: MP, currency: 'INR', our_price: [{ schedule: [{ value_with_tax: -1 }] }] },
          ],
        },
        {
          op: 'replace',
          path: '/attributes/fulfillment_availability',
          value: [{ fulfillment_channel_code: 'DEFAULT', quantity: 1.5 }],
        },
      ],
    });
    assert.equal(res.status, 'INVALID');
    assert.deepEqual(res.issues.map((i) => [i.categories, i.attributeNames]).sort(), [
      [['INVALID_ATTRIBUTE'], ['fulfillment_availability']],
      [['INVALID_ATTRIBUTE'], ['purchasable_offer']],
    ]);
  });

  it('a PUT without item_name or our_price is INVALID with MISSING_ATTRIBUTE', async () => {
    const { client } = await harness();
    const res = await client.putListingsItem('S', {
      productType: 'TELEVISION',
      attributes: { purchasable_offer: [{ marketplace_id: MP, currency: 'INR' }] },
    });
    assert.equal(res.status, 'INVALID');
    assert.deepEqual(res.issues.map((i) => [i.code, i.categories[0], i.attributeNames?.[0]]).sort(), [
      ['90220', 'MISSING_ATTRIBUTE', 'item_name'],
      ['90220', 'MISSING_ATTRIBUTE', 'purchasable_offer'],
    ]);
  });

  it('a PATCH on an unknown SKU is ACCEPTED (as Amazon does) and leaves an incomplete, unbuyable offer', async () => {
    const { adapter, clock } = await harness();
    assert.equal((await adapter.update({ sku: 'NEVER-LISTED', price: 500, quantity: 2 })).status, 'accepted');
    manual(clock).advance(60_000);
    const rb = await adapter.read('NEVER-LISTED');
    assert.equal(rb.found, true);
    assert.equal(rb.buyable, false);
    assert.equal(rb.price, 500);
    assert.deepEqual(
      rb.issues?.map((i) => i.attributeNames),
      [['item_name']],
    );
  });

  it('zero-stock delist leaves the listing, not buyable; delete mode removes it', async () => {
    const zero = await harness({ sandbox: { applyDelayMs: 0 } });
    await zero.adapter.upsert(TV_DRAFT);
    await zero.adapter.delist(TV_DRAFT.sku);
    const after = await zero.adapter.read(TV_DRAFT.sku);
    assert.deepEqual(after, { found: true, price: 35150, quantity: 0, buyable: false });
    assert.equal(zero.adapter.isDelisted(after), true);

    const del = await harness({ sandbox: { applyDelayMs: 0 }, delistMode: 'delete' });
    await del.adapter.upsert(TV_DRAFT);
    assert.equal(del.adapter.isDelisted(await del.adapter.read(TV_DRAFT.sku)), false);
    await del.adapter.delist(TV_DRAFT.sku);
    assert.equal(del.adapter.isDelisted(await del.adapter.read(TV_DRAFT.sku)), true);
  });

  for (const sku of ['LG/WM 8KG+STEAM,BLK', 'सैमसंग टीवी ४३"', 'a%b#c?d&e=f']) {
    it(`round-trips the SKU ${JSON.stringify(sku)}`, async () => {
      const { adapter, control } = await harness({ sandbox: { applyDelayMs: 0 } });
      await adapter.upsert({ ...TV_DRAFT, sku });
      assert.deepEqual(await adapter.read(sku), { found: true, price: 35150, quantity: 15, buyable: true });
      assert.deepEqual(Object.keys(control.snapshot()), [sku]);
    });
  }

  it('SKUs "." and "..": the client refuses them (fetch would collapse the path), nothing is stored', async () => {
    const { adapter, control } = await harness({ sandbox: { applyDelayMs: 0 } });
    for (const sku of ['.', '..']) {
      await assert.rejects(
        adapter.update({ sku, quantity: 1 }),
        (err: unknown) => err instanceof TerminalError && err.code === AMAZON_ERROR_CODES.badRequest,
      );
      await assert.rejects(adapter.upsert({ ...TV_DRAFT, sku }), TerminalError);
    }
    assert.equal(control.counters().patchListingsItem.calls + control.counters().putListingsItem.calls, 0);
    assert.deepEqual(control.snapshot(), {});
  });

  it('decodes %2E segments to the literal SKU and answers 400 for an empty SKU', async () => {
    const { client, control, sandbox } = await harness({ sandbox: { applyDelayMs: 0 } });
    const headers = { 'x-amz-access-token': await client.accessToken(), 'content-type': 'application/json' };
    const path = (sku: string) => `/listings/2021-08-01/items/${SELLER}/${sku}?marketplaceIds=${MP}`;
    const body = {
      productType: 'PRODUCT',
      patches: [
        {
          op: 'replace',
          path: '/attributes/fulfillment_availability',
          value: [{ fulfillment_channel_code: 'DEFAULT', quantity: 3 }],
        },
      ],
    };
    for (const [segment, sku] of [
      ['%2E', '.'],
      ['%2e%2E', '..'],
    ]) {
      const res = await rawPath(sandbox.url, 'PATCH', path(segment!), headers, body);
      assert.equal(res.status, 200);
      assert.equal((res.body as { sku: string; status: string }).sku, sku);
    }
    for (const method of ['PATCH', 'PUT', 'GET', 'DELETE']) {
      const empty = await rawPath(
        sandbox.url,
        method,
        path(''),
        headers,
        method === 'GET' || method === 'DELETE' ? undefined : body,
      );
      assert.equal(empty.status, 400, method);
      assert.equal((empty.body as { errors: { code: string }[] }).errors[0]?.code, 'InvalidInput');
    }
    assert.deepEqual(Object.keys(control.snapshot()).sort(), ['.', '..']);
    assert.equal(control.snapshot()['.']?.quantity, 3);
  });

  it('answers match the model: Item, submission, 404 ErrorList, headers', async () => {
    const { client, sandbox } = await harness({ sandbox: { applyDelayMs: 0 } });
    const token = await client.accessToken();
    const base = `${sandbox.url}/listings/2021-08-01/items/${SELLER}`;
    const headers = { 'x-amz-access-token': token, 'content-type': 'application/json' };
    const put = await raw(`${base}/SKU-1?marketplaceIds=${MP}`, {
      method: 'PUT',
      headers,
      body: JSON.stringify(new AmazonListingAdapter({ client }).putBody({ ...TV_DRAFT, sku: 'SKU-1' })),
    });
    assert.deepEqual(model.validateDefinition('ListingsItemSubmissionResponse', put.body), []);
    const get = await raw(
      `${base}/SKU-1?marketplaceIds=${MP}&includedData=summaries,attributes,issues,offers,fulfillmentAvailability`,
      { headers: { 'x-amz-access-token': token } },
    );
    assert.equal(get.status, 200);
    assert.deepEqual(model.validateDefinition('Item', get.body), []);
    const missing = await raw(`${base}/NOPE?marketplaceIds=${MP}`, {
      headers: { 'x-amz-access-token': token },
    });
    assert.equal(missing.status, 404);
    assert.deepEqual(model.validateDefinition('ErrorList', missing.body), []);
    const bad = await raw(`${base}/SKU-1?includedData=summaries`, {
      headers: { 'x-amz-access-token': token },
    });
    assert.equal(bad.status, 400);
    for (const r of [put, get, missing, bad]) {
      assert.equal(r.headers.get('x-amzn-ratelimit-limit'), '50.0');
      assert.ok(r.headers.get('x-amzn-requestid'));
    }
    const wrongType = await raw(`${base}/SKU-1?marketplaceIds=${MP}`, {
      method: 'PUT',
      headers: { ...headers, 'content-type': 'text/plain' },
      body: 'hello',
    });
    assert.equal(wrongType.status, 415);
    assert.deepEqual(model.validateDefinition('ErrorList', wrongType.body), []);
  });
});

describe('sandbox rate limits', () => {
  it('a throttled call surfaces as a throttled RetryableError; the 429 has no rate header', async () => {
    const { adapter, control, sandbox, client } = await harness();
    control.throttleNext(1);
    await assert.rejects(
      adapter.update({ sku: 'S', price: 1 }),
      (err: unknown) => err instanceof RetryableError && err.throttled && err.status === 429,
    );
    assert.equal(control.counters().patchListingsItem.throttled, 1);
    control.throttleNext(1);
    const r = await raw(`${sandbox.url}/listings/2021-08-01/items/${SELLER}/S?marketplaceIds=${MP}`, {
      headers: { 'x-amz-access-token': await client.accessToken() },
    });
    assert.equal(r.status, 429);
    assert.equal(r.headers.get('x-amzn-ratelimit-limit'), null);
    assert.equal((r.body as { errors: { code: string }[] }).errors[0]?.code, 'QuotaExceeded');
  });

  it('a bucket smaller than the client assumes answers 429: the caller gets throttled RetryableErrors', async () => {
    const { adapter, control } = await harness({
      clock: systemClock,
      sandbox: { rateScale: 1, rateLimits: { patchListingsItem: { rate: 5, burst: 1 } } },
    });
    const results = await Promise.allSettled(
      [1, 2, 3].map((quantity) => adapter.update({ sku: 'S', quantity })),
    );
    const throttled = results.filter(
      (r) => r.status === 'rejected' && r.reason instanceof RetryableError && r.reason.throttled,
    );
    assert.ok(throttled.length >= 1, JSON.stringify(results));
    // The first 429 pauses the operation: later calls fail fast without a request (not counted).
    const c = control.counters().patchListingsItem;
    assert.ok(c.throttled >= 1 && c.throttled <= throttled.length, JSON.stringify(c));
    assert.equal(c.calls, c.ok + c.throttled);
  });

  it('a lower advertised rate is adopted from the first answer and then respected (F3)', async () => {
    const { adapter, client, control } = await harness({
      clock: systemClock,
      sandbox: { rateScale: 4, rateLimits: { patchListingsItem: { rate: 2, burst: 5 } } },
      client: { rateScale: 4 },
    });
    assert.equal(client.limiter('patchListingsItem').rate, 20);
    await adapter.update({ sku: 'S', quantity: 0 });
    assert.equal(client.limiter('patchListingsItem').rate, 8, 'the header of the 200 was adopted');
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => adapter.update({ sku: 'S', quantity: i + 1 })),
    );
    assert.ok(results.every((r) => r.status === 'accepted'));
    assert.equal(control.counters().patchListingsItem.throttled, 0);
  });

  it('setRateScale: more requests pass per second after raising it, the header shows the new rate', async () => {
    const { client, control, sandbox, clock } = await harness({
      sandbox: { rateScale: 1, rateLimits: { getListingsItem: { rate: 2, burst: 10 } } },
      client: { rateScale: 1 },
    });
    const token = await client.accessToken();
    const get = () =>
      raw(`${sandbox.url}/listings/2021-08-01/items/${SELLER}/R?marketplaceIds=${MP}`, {
        headers: { 'x-amz-access-token': token },
      });
    const passing = async (n: number) => {
      let ok = 0;
      for (let i = 0; i < n; i++) if ((await get()).status !== 429) ok++;
      return ok;
    };
    assert.equal(await passing(12), 10, 'the burst');
    manual(clock).advance(1000);
    assert.equal(await passing(5), 2, '2 per second at rateScale 1');
    manual(clock).advance(500); // one token accrued at the old rate: kept
    control.setRateScale(5);
    assert.equal(control.rate('getListingsItem'), 10);
    assert.equal(await passing(2), 1);
    manual(clock).advance(500);
    assert.equal(await passing(8), 5, '10 per second at rateScale 5');
    manual(clock).advance(5000);
    const r = await get();
    assert.equal(r.headers.get('x-amzn-ratelimit-limit'), '10.0');
    assert.equal(await passing(12), 9, 'capped at the burst');
    assert.throws(() => control.setRateScale(0), RangeError);
  });

  it('x-amzn-RateLimit-Limit is adopted when the server changes the limit', async () => {
    const { adapter, client, control } = await harness();
    control.setRateLimit('getListingsItem', { rate: 2, burst: 10 });
    await adapter.read('S');
    assert.equal(client.limiter('getListingsItem').rate, control.rate('getListingsItem'));
    assert.equal(client.limiter('getListingsItem').rate, 20);
  });

  it('30 PATCHes at once at the scaled rate cause no 429: the limiter keeps us under', async () => {
    const { adapter, control } = await harness({ clock: systemClock, sandbox: { rateScale: 4 } });
    const started = performance.now();
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => adapter.update({ sku: `SKU-${i % 5}`, quantity: i })),
    );
    const elapsedMs = performance.now() - started;
    assert.ok(results.every((r) => r.status === 'accepted'));
    const c = control.counters().patchListingsItem;
    assert.equal(c.throttled, 0);
    assert.equal(c.calls, 30);
    // 20 req/s, burst 5: at least (30 - 5) / 20 s; close to it (within the safety margins).
    assert.ok(elapsedMs >= 1200, `too fast: ${elapsedMs} ms`);
    assert.ok(elapsedMs < 2600, `too slow: ${elapsedMs} ms`);
  });

  it('a 429 storm pauses the operation: few 429s, and every update lands after retryAfterMs', async () => {
    const { adapter, client, control } = await harness({ clock: systemClock });
    control.throttleFor(3000, 'patchListingsItem');
    const started = performance.now();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => untilDone(() => adapter.update({ sku: `SKU-${i}`, quantity: i }))),
    );
    const elapsedMs = performance.now() - started;
    assert.ok(results.every((r) => r.status === 'accepted'));
    const c = control.counters().patchListingsItem;
    // The requests in flight when the storm began (≤ the bucket), then one probe per pause.
    assert.ok(c.throttled <= 6, `${c.throttled} throttled PATCHes`);
    assert.equal(c.ok, 20);
    assert.ok(elapsedMs >= 3000, `${elapsedMs} ms: nothing can succeed during the storm`);
    // Pauses of ~1 s, ~2 s, ~4 s (jitter shortens each by up to 25 %) cover the 3 s storm.
    assert.ok(elapsedMs < 9500, `${elapsedMs} ms`);
    assert.equal(client.circuit('patchListingsItem').state, 'closed');
  });

  it('5xx is retryable', async () => {
    const { adapter, control } = await harness();
    control.failNext(1, 503);
    await assert.rejects(
      adapter.read('S'),
      (err: unknown) => err instanceof RetryableError && err.status === 503 && !err.throttled,
    );
    assert.deepEqual(await adapter.read('S'), { found: false });
  });
});

describe('sandbox state file', () => {
  it('keeps listings and accepted-but-pending changes across a restart, applying overdue ones', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'amazon-sandbox-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const stateFile = join(dir, 'state', 'amazon.json');
    const clock = new ManualClock(REFERENCE_TIMESTAMP);

    const first = await startSandbox({ clock, stateFile, applyDelayMs: 0 });
    const { client } = connect(first, clock);
    const adapter = new AmazonListingAdapter({ client });
    await adapter.upsert(TV_DRAFT);
    first.control.setApplyDelay(60_000);
    await adapter.update({ sku: TV_DRAFT.sku, price: 30000 });
    const port = Number(new URL(first.url).port);
    await first.stop(); // as if killed: nothing is flushed on stop
    assert.ok(existsSync(stateFile));
    assert.deepEqual(
      readdirSync(join(dir, 'state')).filter((f) => f.endsWith('.tmp')),
      [],
    );
    const persisted = JSON.parse(readFileSync(stateFile, 'utf8')) as {
      pending: unknown[];
      listings: unknown[];
    };
    assert.equal(persisted.listings.length, 1);
    assert.equal(persisted.pending.length, 1);

    clock.advance(120_000);
    const second = createAmazonSandbox({ clock, stateFile });
    await second.start(port);
    cleanups.push(() => second.stop());
    assert.equal(second.control.pendingCount(), 0, 'the overdue change was applied on load');
    assert.equal(second.control.snapshot()[TV_DRAFT.sku]?.price, 30000);
    // The client's cached token is still accepted by the restarted sandbox.
    assert.equal((await adapter.read(TV_DRAFT.sku)).price, 30000);
    assert.equal(second.control.counters().lwaToken.calls, 0);
  });
});
