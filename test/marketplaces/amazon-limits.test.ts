import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AMAZON_RATE_LIMITS,
  CALL_PRIORITY,
  createLimiter,
  tokenBucketSettings,
} from '../../src/marketplaces/amazon/index.js';

/** True when the send times (ms) never exceed a token bucket of `rate`/s and `burst` starting full. */
function conforms(times: number[], rate: number, burst: number): { ok: boolean; worst: string } {
  let tokens = burst;
  let last = times[0] ?? 0;
  for (const [i, t] of times.entries()) {
    tokens = Math.min(burst, tokens + ((t - last) * rate) / 1000);
    last = t;
    if (tokens < 1)
      return { ok: false, worst: `request ${i} at +${t - (times[0] ?? 0)} ms had ${tokens.toFixed(3)}` };
    tokens -= 1;
  }
  return { ok: true, worst: '' };
}

describe('published rate table', () => {
  it('has the Listings Items rows of the current model', () => {
    assert.deepEqual(AMAZON_RATE_LIMITS.getListingsItem, { rate: 5, burst: 10 });
    assert.deepEqual(AMAZON_RATE_LIMITS.putListingsItem, { rate: 5, burst: 10 });
    assert.deepEqual(AMAZON_RATE_LIMITS.patchListingsItem, { rate: 5, burst: 5 });
    assert.deepEqual(AMAZON_RATE_LIMITS.deleteListingsItem, { rate: 5, burst: 5 });
  });

  it('also has the Feeds and Orders rows for later', () => {
    assert.deepEqual(AMAZON_RATE_LIMITS.createFeed, { rate: 0.0083, burst: 15 });
    assert.deepEqual(AMAZON_RATE_LIMITS.getOrders, { rate: 0.0167, burst: 20 });
    assert.deepEqual(AMAZON_RATE_LIMITS.searchOrders, { rate: 0.0056, burst: 20 });
  });

  it('orders the priority lanes: urgent, stock, price, read', () => {
    assert.ok(CALL_PRIORITY.urgent < CALL_PRIORITY.stock);
    assert.ok(CALL_PRIORITY.stock < CALL_PRIORITY.price);
    assert.ok(CALL_PRIORITY.price < CALL_PRIORITY.read);
  });
});

describe('tokenBucketSettings', () => {
  it('refills slower than the published rate, but within 5 %', () => {
    const s = tokenBucketSettings(5, 10);
    assert.ok(s.refillIntervalMs > 200);
    assert.ok(s.refillIntervalMs <= 210, `interval ${s.refillIntervalMs}`);
  });

  it('holds one token less than the burst (refill phase margin)', () => {
    assert.equal(tokenBucketSettings(5, 10).capacity, 9);
    assert.equal(tokenBucketSettings(5, 5).capacity, 4);
    assert.equal(tokenBucketSettings(1, 1).capacity, 1);
  });

  it('checks often enough that the heartbeat adds at most 5 % at 5 req/s', () => {
    const s = tokenBucketSettings(5, 5);
    const effective = Math.ceil(s.refillIntervalMs / s.heartbeatMs) * s.heartbeatMs;
    assert.ok(1000 / effective >= 0.95 * 4.5, `effective ${1000 / effective}/s`);
  });

  it('handles very slow operations (createFeed, 0.0083 req/s)', () => {
    const s = tokenBucketSettings(0.0083, 15);
    assert.ok(s.refillIntervalMs >= 120_482);
    assert.equal(s.heartbeatMs, 250);
  });

  it('rejects a zero or negative rate', () => {
    assert.throws(() => tokenBucketSettings(0, 5), RangeError);
  });
});

describe('TokenBucketLimiter', () => {
  it('never sends faster than the bucket it models', async () => {
    const limiter = createLimiter(5, 5, 20); // 100 req/s, burst 5
    try {
      const times: number[] = [];
      await Promise.all(
        Array.from({ length: 30 }, () =>
          limiter.schedule(5, async () => {
            times.push(performance.now());
          }),
        ),
      );
      const verdict = conforms(times, 100, 5);
      assert.ok(verdict.ok, verdict.worst);
    } finally {
      await limiter.stop();
    }
  });

  it('runs queued jobs by priority, lowest number first', async () => {
    const limiter = createLimiter(5, 2, 10);
    try {
      await limiter.penalize();
      const order: string[] = [];
      const job = (name: string) => async () => {
        order.push(name);
      };
      await Promise.all([
        limiter.schedule(CALL_PRIORITY.read, job('read')),
        limiter.schedule(CALL_PRIORITY.price, job('price')),
        limiter.schedule(CALL_PRIORITY.urgent, job('urgent')),
        limiter.schedule(CALL_PRIORITY.stock, job('stock')),
      ]);
      assert.deepEqual(order, ['urgent', 'stock', 'price', 'read']);
    } finally {
      await limiter.stop();
    }
  });

  it('adopts a header rate, ignores absent or invalid ones, and keeps queued jobs', async () => {
    const limiter = createLimiter(1, 2); // 1 req/s: the queue would take seconds
    try {
      await limiter.penalize();
      const done = Promise.all(Array.from({ length: 5 }, (_, i) => limiter.schedule(5, async () => i)));
      assert.equal(limiter.adoptRate(null), false);
      assert.equal(limiter.adoptRate('not a number'), false);
      assert.equal(limiter.adoptRate('1.0'), false);
      assert.equal(limiter.adoptRate('200'), true);
      assert.equal(limiter.rate, 200);
      const started = performance.now();
      assert.deepEqual(await done, [0, 1, 2, 3, 4]);
      assert.ok(performance.now() - started < 1000, 'queued jobs moved to the faster bucket');
    } finally {
      await limiter.stop();
    }
  });

  it('after a 429 the bucket is empty', async () => {
    const limiter = createLimiter(5, 10);
    try {
      assert.equal(await limiter.available(), 9);
      await limiter.penalize();
      assert.equal(await limiter.available(), 0);
    } finally {
      await limiter.stop();
    }
  });
});
