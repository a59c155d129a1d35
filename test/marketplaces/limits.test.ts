/** The shared token buckets (src/marketplaces/limits.ts); the rate tables are tested per slice. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { RetryableError } from '../../src/core/errors.js';
import {
  CALL_PRIORITY,
  createLimiter,
  RetryHold,
  type TokenBucketLimiter,
  tokenBucketSettings,
} from '../../src/marketplaces/limits.js';
import { REFERENCE_TIMESTAMP } from './fakes.js';

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

describe('CALL_PRIORITY', () => {
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

describe('TokenBucketLimiter 429 pause', () => {
  const ticketOf = async (limiter: TokenBucketLimiter) => limiter.schedule(5, async (ticket) => ticket);

  it('pauses the operation after a 429 and throws without running the job meanwhile', async () => {
    const clock = new ManualClock(REFERENCE_TIMESTAMP);
    const limiter = createLimiter(5, 10, 20, 'test:op', { clock, random: () => 0 });
    try {
      const ticket = await ticketOf(limiter);
      assert.equal(limiter.throttled(ticket), 1000);
      let ran = false;
      await assert.rejects(
        limiter.schedule(5, async () => {
          ran = true;
        }),
        (err: unknown) =>
          err instanceof RetryableError &&
          err.throttled &&
          err.status === 429 &&
          err.retryAfterMs === 1000 &&
          /test:op: paused/.test(err.message),
      );
      assert.equal(ran, false);
      assert.throws(() => limiter.throwIfPaused(), RetryableError);
      clock.advance(1000);
      assert.doesNotThrow(() => limiter.throwIfPaused());
      assert.equal(limiter.circuit.state, 'half-open');
    } finally {
      await limiter.stop();
    }
  });

  it("honours the server's Retry-After when it is longer than the backoff", async () => {
    const clock = new ManualClock(REFERENCE_TIMESTAMP);
    const limiter = createLimiter(5, 10, 20, 'test:op', { clock, random: () => 0 });
    try {
      const ticket = await ticketOf(limiter);
      assert.equal(limiter.throttled(ticket, 3000), 3000);
      assert.deepEqual(limiter.circuit, {
        state: 'open',
        reason: 'throttled',
        pausedUntil: REFERENCE_TIMESTAMP + 3000,
        remainingMs: 3000,
        strikes: 1,
        serverErrors: 0,
      });
      clock.advance(2000);
      await assert.rejects(ticketOf(limiter), (err: unknown) => {
        return err instanceof RetryableError && err.retryAfterMs === 1000;
      });
      clock.advance(1000);
      const probe = await ticketOf(limiter);
      limiter.succeeded(probe);
      assert.equal(limiter.circuit.state, 'closed');
    } finally {
      await limiter.stop();
    }
  });

  it('a shorter Retry-After does not shorten the backoff', async () => {
    const clock = new ManualClock(REFERENCE_TIMESTAMP);
    const limiter = createLimiter(5, 10, 20, 'test:op', { clock, random: () => 0 });
    try {
      assert.equal(limiter.throttled(await ticketOf(limiter), 200), 1000);
    } finally {
      await limiter.stop();
    }
  });

  it('a 429 already in flight does not escalate the pause, but its Retry-After still extends it', async () => {
    const clock = new ManualClock(REFERENCE_TIMESTAMP);
    const limiter = createLimiter(5, 10, 20, 'test:op', { clock, random: () => 0 });
    try {
      const first = await ticketOf(limiter);
      const second = await ticketOf(limiter);
      assert.equal(limiter.throttled(first), 1000);
      assert.equal(limiter.throttled(second), 1000, 'in flight when the pause opened: no escalation');
      assert.equal(limiter.circuit.strikes, 1);
      assert.equal(limiter.throttled(second, 5000), 5000);
      assert.equal(limiter.circuit.strikes, 1);
    } finally {
      await limiter.stop();
    }
  });
});

describe('RetryHold', () => {
  it('holds after a retryable failure, longer with each failure in a row, reset by a success', () => {
    const clock = new ManualClock(REFERENCE_TIMESTAMP);
    const hold = new RetryHold(clock, {}, () => 0);
    assert.doesNotThrow(() => hold.throwIfHeld('token request'));
    const first = hold.failed(new RetryableError('HTTP 503', { status: 503 }), 'server_error');
    assert.ok(first.status === 503 && first.retryAfterMs === 1000);
    assert.deepEqual(hold.view, { pausedUntil: REFERENCE_TIMESTAMP + 1000, remainingMs: 1000, failures: 1 });
    assert.throws(
      () => hold.throwIfHeld('token request'),
      (err: unknown) =>
        err instanceof RetryableError &&
        err.retryAfterMs === 1000 &&
        err.message === 'token request held for 1000 ms after 1 failure(s) (not sent): server_error',
    );
    clock.advance(1000);
    assert.doesNotThrow(() => hold.throwIfHeld('token request'));
    assert.equal(hold.failed(new RetryableError('again')).retryAfterMs, 2000);
    hold.succeeded();
    assert.deepEqual(hold.view, { pausedUntil: 0, remainingMs: 0, failures: 0 });
  });

  it("keeps a failure's own retryAfterMs when it is longer than the hold", () => {
    const hold = new RetryHold(new ManualClock(REFERENCE_TIMESTAMP), {}, () => 0);
    assert.equal(hold.failed(new RetryableError('slow down', { retryAfterMs: 5000 })).retryAfterMs, 5000);
  });
});
