/** The server-error circuit (src/marketplaces/limits.ts) and how the clients report to it. */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { RetryableError } from '../../src/core/errors.js';
import { AmazonSpApiClient } from '../../src/marketplaces/amazon/index.js';
import type { FlipkartClient } from '../../src/marketplaces/flipkart/index.js';
import {
  CircuitOpenError,
  createLimiter,
  isServerError,
  type TokenBucketLimiter,
} from '../../src/marketplaces/limits.js';
import { ACCEPTED, isLwa, LWA_OK } from './amazon-fakes.js';
import { memoryRecorder, REFERENCE_TIMESTAMP, type ScriptedResponse, scriptedFetch } from './fakes.js';
import { fakeClient, fakeFlipkart } from './flipkart-fakes.js';

const UNAVAILABLE: ScriptedResponse = { status: 503, body: { errors: [{ code: 'ServiceUnavailable' }] } };
const PATCH = { productType: 'PRODUCT', patches: [{ op: 'delete' as const, path: '/attributes/x' }] };

const openFor = (ms: number) => (err: unknown) =>
  err instanceof CircuitOpenError && !err.throttled && err.retryAfterMs === ms;

const stoppers: Array<{ stop(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(stoppers.splice(0).map((s) => s.stop()));
});

describe('TokenBucketLimiter server-error circuit', () => {
  const ticketOf = (limiter: TokenBucketLimiter) => limiter.schedule(5, async (ticket) => ticket);
  const setup = (threshold?: number) => {
    const clock = new ManualClock(REFERENCE_TIMESTAMP);
    const limiter = createLimiter(5, 10, 20, 'test:op', {
      clock,
      random: () => 0,
      ...(threshold === undefined ? {} : { serverErrorThreshold: threshold }),
    });
    stoppers.push(limiter);
    return { clock, limiter };
  };

  it('opens after 5 server errors in a row, fails fast, probes after 5 s, reopens for 10 s, closes on success', async () => {
    const { clock, limiter } = setup();
    for (let i = 1; i <= 4; i++) assert.equal(limiter.serverError(await ticketOf(limiter)), 0);
    assert.equal(limiter.circuit.state, 'closed');
    assert.equal(limiter.serverError(await ticketOf(limiter)), 5000);
    assert.deepEqual(limiter.circuit, {
      state: 'open',
      reason: 'server-errors',
      pausedUntil: REFERENCE_TIMESTAMP + 5000,
      remainingMs: 5000,
      strikes: 0,
      serverErrors: 5,
    });
    let ran = false;
    await assert.rejects(
      limiter.schedule(5, async () => {
        ran = true;
      }),
      openFor(5000),
    );
    assert.equal(ran, false);
    assert.throws(() => limiter.throwIfPaused(), openFor(5000));

    clock.advance(5000);
    assert.equal(limiter.circuit.state, 'half-open');
    assert.equal(limiter.circuit.reason, 'server-errors');
    const probe = await ticketOf(limiter);
    assert.equal(limiter.serverError(probe), 10_000, 'a failed probe reopens for longer');
    clock.advance(10_000);
    const second = await ticketOf(limiter);
    limiter.succeeded(second);
    assert.equal(limiter.circuit.state, 'closed');
    assert.equal(limiter.circuit.serverErrors, 0);
    assert.equal(limiter.circuit.reason, null);
  });

  it('4 failures then a success do not open it, and the count starts over', async () => {
    const { limiter } = setup();
    for (let i = 0; i < 4; i++) limiter.serverError(await ticketOf(limiter));
    limiter.succeeded(await ticketOf(limiter));
    for (let i = 0; i < 4; i++) assert.equal(limiter.serverError(await ticketOf(limiter)), 0);
    assert.equal(limiter.circuit.state, 'closed');
    assert.equal(limiter.circuit.serverErrors, 4);
  });

  it('the threshold is configurable; errors in flight when it opened do not escalate; capped at 120 s', async () => {
    const { clock, limiter } = setup(2);
    const a = await ticketOf(limiter);
    const b = await ticketOf(limiter);
    const c = await ticketOf(limiter);
    limiter.serverError(a);
    assert.equal(limiter.serverError(b), 5000);
    assert.equal(limiter.serverError(c), 5000, 'in flight: no escalation');
    for (let i = 0; i < 10; i++) {
      clock.advance(limiter.circuit.remainingMs);
      limiter.serverError(await ticketOf(limiter));
    }
    assert.equal(limiter.circuit.remainingMs, 120_000);
  });

  it('classifies 5xx, 408/499, timeouts and network errors as server errors, not 429s or 4xx', () => {
    assert.ok(isServerError(new RetryableError('x', { status: 503 })));
    assert.ok(isServerError(new RetryableError('timed out')));
    assert.ok(isServerError(new RetryableError('x', { status: 408 })));
    assert.ok(!isServerError(new RetryableError('x', { status: 429, throttled: true })));
    assert.ok(!isServerError(new RetryableError('x', { status: 401 })));
    assert.ok(!isServerError(new CircuitOpenError('x')));
    assert.ok(!isServerError(new Error('x')));
  });
});

function amazon(respond: (req: { method: string }) => ScriptedResponse) {
  const clock = new ManualClock(REFERENCE_TIMESTAMP);
  const { fetch, requests } = scriptedFetch((req) => (isLwa(req) ? LWA_OK : respond(req)));
  const client = new AmazonSpApiClient({
    endpoint: 'https://sellingpartnerapi-eu.amazon.com',
    lwaEndpoint: 'https://api.amazon.com',
    clientId: 'amzn1.application-oa2-client.test',
    clientSecret: () => 'secret-1',
    refreshToken: 'Atzr|refresh',
    sellerId: 'A2SELLER',
    fetch,
    clock,
    recorder: memoryRecorder(),
    rateScale: 20,
    random: () => 0,
  });
  stoppers.push(client);
  return { client, clock, api: () => requests.filter((r) => !isLwa(r)) };
}

describe('client server-error circuits', () => {
  it('Amazon: 5 consecutive 503s open the circuit, the 6th call sends nothing; one probe after the cool-down closes it', async () => {
    let patch = UNAVAILABLE;
    const t = amazon((req) => (req.method === 'PATCH' ? patch : ACCEPTED('S')));
    for (let i = 0; i < 5; i++) {
      await assert.rejects(
        t.client.patchListingsItem('S', PATCH),
        (err: unknown) => err instanceof RetryableError && err.status === 503 && !err.throttled,
      );
    }
    assert.equal(t.api().length, 5);
    assert.equal(t.client.circuit('patchListingsItem').state, 'open');
    assert.equal(t.client.circuit('patchListingsItem').reason, 'server-errors');
    await assert.rejects(t.client.patchListingsItem('S', PATCH), openFor(5000));
    assert.equal(t.api().length, 5, 'the 6th call sends nothing');
    // Another operation of the same client is not blocked.
    await t.client.deleteListingsItem('S');
    assert.equal(t.api().length, 6);
    assert.equal(t.client.circuit('deleteListingsItem').state, 'closed');

    t.clock.advance(5000);
    patch = ACCEPTED('S');
    await t.client.patchListingsItem('S', PATCH);
    assert.equal(t.api().length, 7, 'one probe');
    assert.equal(t.client.circuit('patchListingsItem').state, 'closed');
    assert.equal(t.client.circuit('patchListingsItem').serverErrors, 0);
  });

  it('Amazon: 4 failures then a success do not open it', async () => {
    const answers = [UNAVAILABLE, UNAVAILABLE, UNAVAILABLE, UNAVAILABLE, ACCEPTED('S'), UNAVAILABLE];
    const t = amazon(() => answers.shift() ?? ACCEPTED('S'));
    for (let i = 0; i < 4; i++) await assert.rejects(t.client.patchListingsItem('S', PATCH), RetryableError);
    await t.client.patchListingsItem('S', PATCH);
    await assert.rejects(t.client.patchListingsItem('S', PATCH), RetryableError);
    assert.equal(t.client.circuit('patchListingsItem').state, 'closed');
    assert.equal(t.client.circuit('patchListingsItem').serverErrors, 1);
    await t.client.patchListingsItem('S', PATCH);
    assert.equal(t.api().length, 7);
  });

  it('an open Amazon circuit does not affect a Flipkart client', async () => {
    const a = amazon(() => UNAVAILABLE);
    for (let i = 0; i < 5; i++) await assert.rejects(a.client.patchListingsItem('S', PATCH), RetryableError);
    assert.equal(a.client.circuit('patchListingsItem').state, 'open');

    const fake = fakeFlipkart();
    const f = fakeClient(fake, { random: () => 0 });
    stoppers.push(f.client as FlipkartClient);
    const results = await f.client.updatePrice([{ sku: 'S1', sellingPrice: 100, mrp: 120 }]);
    assert.equal(results.get('S1')?.status, 'SUCCESS');
    assert.equal(f.client.circuit('updatePrice').state, 'closed');
    assert.equal(a.client.circuit('patchListingsItem').state, 'open');
  });

  it('Flipkart: 5 consecutive 503s open the circuit; nothing (not even a token) is requested while open', async () => {
    const fake = fakeFlipkart();
    const f = fakeClient(fake, { random: () => 0 });
    stoppers.push(f.client);
    await f.client.updatePrice([{ sku: 'S1', sellingPrice: 100 }]);
    for (let i = 0; i < 5; i++) fake.script.push(UNAVAILABLE);
    for (let i = 0; i < 5; i++) {
      await assert.rejects(f.client.updatePrice([{ sku: 'S1', sellingPrice: 100 }]), RetryableError);
    }
    assert.equal(f.client.circuit('updatePrice').reason, 'server-errors');
    const sent = fake.requests.length;
    await assert.rejects(f.client.updatePrice([{ sku: 'S1', sellingPrice: 100 }]), openFor(5000));
    assert.equal(fake.requests.length, sent);
    f.clock.advance(5000);
    await f.client.updatePrice([{ sku: 'S1', sellingPrice: 100 }]);
    assert.equal(f.client.circuit('updatePrice').state, 'closed');
  });
});
