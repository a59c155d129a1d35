/**
 * The shared micro-batcher (src/marketplaces/batcher.ts), on its own. The Flipkart and Tata CliQ
 * adapter tests check the same behaviour through the adapters (per-SKU results, FAILURE mapping).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { RetryableError } from '../../src/core/errors.js';
import { MicroBatcher, type MicroBatcherOptions } from '../../src/marketplaces/batcher.js';
import { settle } from './fakes.js';

interface Sent {
  items: string[];
  priority: number;
}

/**
 * A batcher of strings whose outcome is `<item>:ok`. `hold` keeps every call open until
 * `answer(i)` (or `fail(i, err)`) settles the i-th call.
 */
function setup(o: Partial<MicroBatcherOptions<string, string>> & { hold?: boolean } = {}) {
  const clock = new ManualClock(0);
  const sent: Sent[] = [];
  const open: { resolve: (v: string[]) => void; reject: (e: unknown) => void; items: string[] }[] = [];
  const batcher = new MicroBatcher<string, string>({
    name: 'test:op',
    maxItems: 10,
    windowMs: 25,
    clock,
    send: (items, priority) => {
      sent.push({ items, priority });
      if (!o.hold) return Promise.resolve(items.map((i) => `${i}:ok`));
      return new Promise((resolve, reject) => open.push({ resolve, reject, items }));
    },
    ...o,
  });
  const answer = (i: number) => open[i]?.resolve(open[i].items.map((x) => `${x}:ok`));
  const fail = (i: number, err: unknown) => open[i]?.reject(err);
  return { batcher, clock, sent, answer, fail };
}

describe('MicroBatcher windows and caps', () => {
  it('sends submissions within the window as one call; each submitter gets its own outcomes', async () => {
    const t = setup();
    const a = t.batcher.submit(['A'], ['a1', 'a2'], 5);
    const b = t.batcher.submitOne('B', 'b', 5);
    const c = t.batcher.submit(['C'], ['c'], 5);
    await settle();
    assert.equal(t.sent.length, 0, 'waits for the window');
    assert.equal(t.batcher.waiting, 4);
    t.clock.advance(25);
    assert.deepEqual(await a, ['a1:ok', 'a2:ok']);
    assert.equal(await b, 'b:ok');
    assert.deepEqual(await c, ['c:ok']);
    assert.deepEqual(
      t.sent.map((s) => s.items),
      [['a1', 'a2', 'b', 'c']],
    );
    assert.equal(t.batcher.callCount, 1);
    assert.equal(t.batcher.waiting, 0);
  });

  it('with windowMs 0, batches only the submissions of the same tick', async () => {
    const t = setup({ windowMs: 0 });
    const first = Promise.all([t.batcher.submitOne('A', 'a', 5), t.batcher.submitOne('B', 'b', 5)]);
    assert.deepEqual(await first, ['a:ok', 'b:ok']);
    assert.equal(await t.batcher.submitOne('C', 'c', 5), 'c:ok');
    assert.deepEqual(
      t.sent.map((s) => s.items),
      [['a', 'b'], ['c']],
    );
  });

  it('sends a full batch at once and starts the next one', async () => {
    const t = setup({ maxItems: 3 });
    const all = Promise.all(['A', 'B', 'C', 'D', 'E', 'F', 'G'].map((k) => t.batcher.submitOne(k, k, 5)));
    await settle();
    assert.deepEqual(
      t.sent.map((s) => s.items.length),
      [3, 3],
    );
    t.clock.advance(25);
    await all;
    assert.deepEqual(
      t.sent.map((s) => s.items.length),
      [3, 3, 1],
    );
    assert.equal(t.batcher.callCount, 3);
  });

  it('a submission that would overflow the open batch closes it; one larger than the cap goes alone', async () => {
    const t = setup({ maxItems: 3 });
    const a = t.batcher.submit(['A'], ['a1', 'a2'], 5);
    const b = t.batcher.submit(['B'], ['b1', 'b2', 'b3', 'b4'], 5);
    await settle();
    assert.deepEqual(
      t.sent.map((s) => s.items),
      [
        ['a1', 'a2'],
        ['b1', 'b2', 'b3', 'b4'],
      ],
    );
    assert.deepEqual(await a, ['a1:ok', 'a2:ok']);
    assert.deepEqual(await b, ['b1:ok', 'b2:ok', 'b3:ok', 'b4:ok']);
  });

  it('sends the batch with the most urgent (lowest) priority of its submitters', async () => {
    const t = setup();
    const p = Promise.all([t.batcher.submitOne('A', 'a', 5), t.batcher.submitOne('B', 'b', 1)]);
    t.clock.advance(25);
    await p;
    assert.equal(t.sent[0]?.priority, 1);
  });

  it('resolves an empty submission at once, without a call', async () => {
    const t = setup();
    assert.deepEqual(await t.batcher.submit([], [], 5), []);
    assert.equal(t.batcher.waiting, 0);
    await t.batcher.flush();
    assert.equal(t.sent.length, 0);
  });

  it('refuses a cap below 1', () => {
    const clock = new ManualClock(0);
    const send = async () => [];
    assert.throws(() => new MicroBatcher({ maxItems: 0, windowMs: 25, clock, send }), RangeError);
    assert.throws(() => new MicroBatcher({ maxItems: 1.5, windowMs: 25, clock, send }), RangeError);
  });

  it('flush sends the open batch now and waits for every answer', async () => {
    const t = setup();
    const a = t.batcher.submitOne('A', 'a', 5);
    await t.batcher.flush();
    assert.equal(t.sent.length, 1);
    assert.equal(await a, 'a:ok');
    assert.equal(t.batcher.pending, 0);
  });
});

describe('MicroBatcher order per key', () => {
  it('never puts one key twice in a batch: the second goes in the next call, after the first is answered', async () => {
    const t = setup({ hold: true });
    const first = t.batcher.submitOne('A', 'A=1', 5);
    const other = t.batcher.submitOne('B', 'B=9', 5);
    const second = t.batcher.submitOne('A', 'A=2', 5);
    await settle();
    assert.equal(t.sent.length, 1, 'the first batch closed when A came again');
    t.clock.advance(25);
    await settle();
    assert.equal(t.sent.length, 1, 'the second batch waits for the answer of the first');
    assert.equal(t.batcher.pending, 2);
    t.answer(0);
    await settle();
    assert.equal(t.sent.length, 2);
    t.answer(1);
    assert.deepEqual(await Promise.all([first, other, second]), ['A=1:ok', 'B=9:ok', 'A=2:ok']);
    assert.deepEqual(
      t.sent.map((s) => s.items),
      [['A=1', 'B=9'], ['A=2']],
    );
  });

  it('a batch without a shared key does not wait for earlier ones', async () => {
    const t = setup({ hold: true });
    void t.batcher.submitOne('A', 'a', 5);
    t.clock.advance(25);
    await settle();
    const b = t.batcher.submitOne('B', 'b', 5);
    t.clock.advance(25);
    await settle();
    assert.equal(t.sent.length, 2);
    t.answer(1);
    assert.equal(await b, 'b:ok');
    t.answer(0);
  });

  it('the later batch of a key is still sent when the earlier one failed', async () => {
    const t = setup({ hold: true });
    const first = t.batcher.submitOne('A', 'A=1', 5);
    const second = t.batcher.submitOne('A', 'A=2', 5);
    await settle();
    t.fail(0, new RetryableError('503', { status: 503 }));
    await assert.rejects(first, RetryableError);
    t.clock.advance(25);
    await settle();
    t.answer(1);
    assert.equal(await second, 'A=2:ok');
  });
});

describe('MicroBatcher order per key: chains of in-flight batches', () => {
  it('a chain of batches linked by shared keys goes out one at a time, in submission order', async () => {
    const t = setup({ hold: true, maxItems: 2 });
    const all = Promise.all([
      t.batcher.submitOne('A', 'A=1', 5),
      t.batcher.submitOne('B', 'B=1', 5), // full: #0 [A=1, B=1] goes now
      t.batcher.submitOne('A', 'A=2', 5),
      t.batcher.submitOne('C', 'C=1', 5), // full: #1 [A=2, C=1] waits for #0 (A)
      t.batcher.submitOne('C', 'C=2', 5), // #2 [C=2, D=1] waits for #1 (C)
      t.batcher.submitOne('D', 'D=1', 5),
      t.batcher.submitOne('E', 'E=1', 5), // #3 [E=1, B=2] waits for #0 (B)
      t.batcher.submitOne('B', 'B=2', 5),
    ]);
    await settle();
    assert.equal(t.sent.length, 1);
    assert.equal(t.batcher.pending, 4);
    t.answer(0);
    await settle();
    assert.deepEqual(
      t.sent.map((s) => s.items),
      [
        ['A=1', 'B=1'],
        ['A=2', 'C=1'],
        ['E=1', 'B=2'],
      ],
    );
    t.answer(2);
    await settle();
    assert.equal(t.sent.length, 3, '#2 still waits for #1');
    t.answer(1);
    await settle();
    assert.deepEqual(t.sent[3]?.items, ['C=2', 'D=1']);
    t.answer(3);
    assert.equal((await all).length, 8);
    assert.equal(t.batcher.pending, 0);
  });

  it('the answer of an earlier batch does not release a key whose later batch is still in flight', async () => {
    const t = setup({ hold: true, maxItems: 1 });
    const first = t.batcher.submitOne('A', 'A=1', 5);
    const second = t.batcher.submitOne('A', 'A=2', 5);
    await settle();
    t.answer(0);
    await settle();
    assert.equal(t.sent.length, 2, '#1 is in flight');
    const third = t.batcher.submitOne('A', 'A=3', 5);
    await settle();
    assert.equal(t.sent.length, 2, '#2 waits for #1, not released by the answer of #0');
    t.answer(1);
    await settle();
    assert.equal(t.sent.length, 3);
    t.answer(2);
    assert.deepEqual(await Promise.all([first, second, third]), ['A=1:ok', 'A=2:ok', 'A=3:ok']);
    assert.equal(t.batcher.pending, 0);
    const fourth = t.batcher.submitOne('A', 'A=4', 5);
    await settle();
    assert.equal(t.sent.length, 4, 'once every batch of A is answered, the next one goes at once');
    t.answer(3);
    assert.equal(await fourth, 'A=4:ok');
  });

  it('thousands of queued batches of one key are sent strictly in order', async () => {
    const order: string[] = [];
    const batcher = new MicroBatcher<string, string>({
      maxItems: 1,
      windowMs: 0,
      clock: new ManualClock(0),
      send: async (items) => {
        await new Promise((r) => setImmediate(r));
        order.push(...items);
        return items.map((i) => `${i}:ok`);
      },
    });
    const n = 2000;
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) => batcher.submitOne(`K${i % 3}`, String(i), 5)),
    );
    assert.equal(results.length, n);
    for (const k of [0, 1, 2]) {
      const mine = order.filter((i) => Number(i) % 3 === k).map(Number);
      assert.deepEqual(
        mine,
        [...mine].sort((a, b) => a - b),
      );
    }
    assert.equal(batcher.pending, 0);
  });
});

describe('MicroBatcher failures', () => {
  it('rejects every submitter of a failed call with the error, unchanged', async () => {
    const error = new RetryableError('throttled', { throttled: true, status: 429, retryAfterMs: 2000 });
    const t = setup({ send: () => Promise.reject(error) });
    const settled = Promise.allSettled(['A', 'B', 'C'].map((k) => t.batcher.submitOne(k, k, 5)));
    t.clock.advance(25);
    const results = await settled;
    assert.ok(results.every((r) => r.status === 'rejected' && r.reason === error));
    assert.equal(t.batcher.callCount, 1);
  });

  it('rejects every submitter when the sender answers a different number of outcomes', async () => {
    const t = setup({ send: async () => ['only one'] });
    const settled = Promise.allSettled([t.batcher.submitOne('A', 'a', 5), t.batcher.submitOne('B', 'b', 5)]);
    t.clock.advance(25);
    for (const r of await settled) {
      assert.ok(r.status === 'rejected' && /test:op: .*1 outcomes for 2 items/.test(String(r.reason)));
    }
  });
});

describe('MicroBatcher abort', () => {
  it('rejects at once for a signal already aborted, without joining a batch', async () => {
    const t = setup();
    await assert.rejects(t.batcher.submitOne('A', 'a', 5, AbortSignal.abort(new Error('gone'))), /gone/);
    assert.equal(t.batcher.waiting, 0);
  });

  it('takes an aborted submitter (and its key) out of the open batch', async () => {
    const t = setup();
    const ac = new AbortController();
    const aborted = t.batcher.submitOne('A', 'a1', 5, ac.signal);
    const kept = t.batcher.submitOne('B', 'b', 5);
    ac.abort(new Error('shutting down'));
    await assert.rejects(aborted, /shutting down/);
    const again = t.batcher.submitOne('A', 'a2', 5); // A is free again: same batch
    t.clock.advance(25);
    assert.equal(await kept, 'b:ok');
    assert.equal(await again, 'a2:ok');
    assert.deepEqual(
      t.sent.map((s) => s.items),
      [['b', 'a2']],
    );
  });

  it('sends no call when every submitter of a batch aborted', async () => {
    const t = setup();
    const ac = new AbortController();
    const a = t.batcher.submitOne('A', 'a', 5, ac.signal);
    ac.abort(new Error('stop'));
    await assert.rejects(a, /stop/);
    t.clock.advance(25);
    await t.batcher.flush();
    assert.equal(t.sent.length, 0);
    assert.equal(t.batcher.callCount, 0);
  });

  it('after sending, an abort only stops that submitter waiting; the others get their outcomes', async () => {
    const t = setup({ hold: true });
    const ac = new AbortController();
    const a = t.batcher.submitOne('A', 'a', 5, ac.signal);
    const b = t.batcher.submitOne('B', 'b', 5);
    t.clock.advance(25);
    await settle();
    assert.equal(t.sent.length, 1);
    ac.abort(new Error('caller gave up'));
    await assert.rejects(a, /caller gave up/);
    t.answer(0);
    assert.equal(await b, 'b:ok');
    assert.deepEqual(t.sent[0]?.items, ['a', 'b']);
  });
});
