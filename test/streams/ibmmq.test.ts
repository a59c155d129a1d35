/**
 * The IBM MQ transport's own logic against a fake MQI of the same shape (fake-mqi.ts): rounds of
 * one unit of work per connection, backout to the backout queue, reconnect after a broken
 * connection, publish under syncpoint. No queue manager, no I/O.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { firstValueFrom, type Subscription, take, toArray } from 'rxjs';
import { RetryableError, TerminalError } from '../../src/core/errors.js';
import {
  BACKOUT_REASON_PROPERTY,
  BACKOUT_SOURCE_PROPERTY,
  createIbmMqTransport,
} from '../../src/streams/ibmmq.js';
import { loadIbmMqModule, MqClientMissingError } from '../../src/streams/mqi.js';
import type { Delivery } from '../../src/streams/transport.js';
import { FakeQueueManager } from './fake-mqi.js';

const IN = 'OMS.MARKETPLACE.EVENTS';
const OUT = 'MARKETPLACE.OMS.EVENTS';
const BACKOUT = 'OMS.MARKETPLACE.EVENTS.BACKOUT';
const quiet = { info() {}, warn() {}, error() {} };

const open: { close(): Promise<void> }[] = [];
const subs: Subscription[] = [];
afterEach(async () => {
  for (const s of subs.splice(0)) s.unsubscribe();
  for (const t of open.splice(0)) await t.close();
});

function setup(o: { threshold?: number; waitMs?: number } = {}) {
  const qm = new FakeQueueManager([IN, OUT, BACKOUT]);
  const transport = createIbmMqTransport({
    mqi: async () => qm,
    connection: { queueManager: 'QM1', clientReconnect: 'disabled', applicationName: 'marketbridge-test' },
    backoutQueue: BACKOUT,
    backoutThreshold: o.threshold ?? 3,
    waitMs: o.waitMs ?? 20,
    reconnect: { initialDelayMs: 5, maxDelayMs: 20 },
    logger: quiet,
  });
  open.push(transport);
  return { qm, transport };
}

/** Collects deliveries as they come. */
function collect(transport: ReturnType<typeof setup>['transport'], prefetch = 10) {
  const got: Delivery[] = [];
  const errors: unknown[] = [];
  subs.push(
    transport.consume(IN, { prefetch }).subscribe({ next: (d) => got.push(d), error: (e) => errors.push(e) }),
  );
  return { got, errors };
}

async function until(what: string, cond: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe('ibmmq transport (fake MQI)', () => {
  it('delivers in queue order, with the MsgId and a delivery count from BackoutCount', async () => {
    const { qm, transport } = setup();
    const ids = ['a', 'b', 'c'].map((b) => qm.send(IN, b));
    const got = await firstValueFrom(transport.consume(IN, { prefetch: 10 }).pipe(take(3), toArray()));
    assert.deepEqual(
      got.map((d) => [d.body, d.messageId, d.deliveryCount]),
      [
        ['a', ids[0], 1],
        ['b', ids[1], 1],
        ['c', ids[2], 1],
      ],
    );
  });

  it('commits a round only when every delivery in it is settled: two in flight cannot be committed apart', async () => {
    const { qm, transport } = setup();
    qm.send(IN, 'first');
    qm.send(IN, 'second');
    const { got } = collect(transport);
    await until('both delivered', () => got.length === 2);

    let firstDone = false;
    const first = got[0]!.accept().then(() => {
      firstDone = true;
    });
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(qm.commits, 0, 'accepting one of two commits nothing');
    assert.equal(firstDone, false, 'its accept waits for the round');
    assert.equal(qm.depth(IN), 2, 'both still on the queue, held by the unit of work');

    await Promise.all([got[1]!.accept(), first]);
    assert.equal(qm.commits, 1, 'one MQCMIT for both');
    assert.equal(qm.depth(IN), 0);
  });

  it('backs the whole round out when one delivery is released: both come again, the accepted one’s accept rejects as retryable', async () => {
    const { qm, transport } = setup();
    qm.send(IN, 'ok');
    qm.send(IN, 'retry-me');
    const { got } = collect(transport);
    await until('both delivered', () => got.length === 2);
    const accepted = got[0]!.accept();
    await got[1]!.release();
    await assert.rejects(accepted, RetryableError);
    assert.equal(qm.backouts, 1);
    await until('both delivered again', () => got.length === 4);
    assert.deepEqual(
      got.slice(2).map((d) => [d.body, d.deliveryCount]),
      [
        ['ok', 2],
        ['retry-me', 2],
      ],
    );
  });

  it('moves a message backed out `threshold` times to the backout queue with the reason, without handing it out again', async () => {
    const { qm, transport } = setup({ threshold: 3 });
    qm.send(IN, 'poison');
    const { got } = collect(transport);
    for (let n = 1; n <= 3; n++) {
      await until(`delivery ${n}`, () => got.length === n);
      assert.equal(got[n - 1]!.deliveryCount, n);
      await got[n - 1]!.release();
    }
    await until('moved to backout', () => qm.visible(BACKOUT).length === 1);
    const moved = qm.visible(BACKOUT)[0]!;
    assert.equal(moved.body, 'poison');
    assert.match(String(moved.properties[BACKOUT_REASON_PROPERTY]), /backed out 3 times \(threshold 3\)/);
    assert.equal(moved.properties[BACKOUT_SOURCE_PROPERTY], IN);
    assert.equal(qm.depth(IN), 0, 'gone from its queue');
    await new Promise((r) => setTimeout(r, 40));
    assert.equal(got.length, 3, 'not delivered a fourth time');
  });

  it('hands a message past the threshold to a consumer that handles backout itself, with its delivery count', async () => {
    const { qm, transport } = setup({ threshold: 2 });
    qm.send(IN, 'applied, acks lost');
    const got: Delivery[] = [];
    subs.push(
      transport.consume(IN, { prefetch: 5, consumerHandlesBackout: true }).subscribe((d) => got.push(d)),
    );
    for (let n = 1; n <= 3; n++) {
      await until(`delivery ${n}`, () => got.length === n);
      assert.equal(got[n - 1]!.deliveryCount, n);
      if (n < 3) await got[n - 1]!.release();
    }
    await got[2]!.accept();
    assert.equal(qm.visible(BACKOUT).length, 0, 'the consumer decided: not moved');
    assert.equal(qm.depth(IN), 0);
  });

  it('backout(reason) by the consumer puts the body on the backout queue in the same unit of work', async () => {
    const { qm, transport } = setup();
    qm.send(IN, '{not json');
    qm.send(IN, 'fine');
    const { got } = collect(transport);
    await until('delivered', () => got.length === 2);
    await got[0]!.backout('not JSON: Unexpected token');
    assert.equal(qm.visible(BACKOUT).length, 0, 'not visible before the round commits');
    await got[1]!.accept();
    assert.deepEqual(
      qm.visible(BACKOUT).map((m) => [m.body, m.properties[BACKOUT_REASON_PROPERTY]]),
      [['{not json', 'not JSON: Unexpected token']],
    );
    assert.equal(qm.depth(IN), 0);
  });

  it('settles a delivery once: backout after accept, a second backout, or accept during backout are refused', async () => {
    const { qm, transport } = setup();
    qm.send(IN, 'accepted');
    qm.send(IN, 'backed out');
    qm.send(IN, 'held');
    const { got } = collect(transport);
    await until('delivered', () => got.length === 3);
    const accepted = got[0]!.accept();
    await assert.rejects(got[0]!.backout('too late'), TerminalError);
    const first = got[1]!.backout('bad');
    await assert.rejects(got[1]!.backout('again'), TerminalError);
    await assert.rejects(got[1]!.accept(), TerminalError);
    await first;
    await got[2]!.accept();
    await accepted;
    assert.deepEqual(
      qm.visible(BACKOUT).map((m) => m.body),
      ['backed out'],
      'only the one backed out, once; never one that was accepted',
    );
    assert.equal(qm.depth(IN), 0);
  });

  it('resolves release() at once, not when the rest of the round is settled', async () => {
    const { qm, transport } = setup();
    qm.send(IN, 'a');
    qm.send(IN, 'b');
    const { got } = collect(transport);
    await until('delivered', () => got.length === 2);
    const released = await Promise.race([
      got[0]!.release().then(() => 'resolved'),
      new Promise((r) => setTimeout(() => r('still waiting'), 200)),
    ]);
    assert.equal(released, 'resolved');
    await assert.rejects(got[1]!.accept(), RetryableError, 'the round is backed out');
    await until('both back', () => qm.visible(IN).every((m) => m.backoutCount === 1) && qm.depth(IN) === 2);
  });

  it('lets close() wait for a consumer that was unsubscribed but still holds its connection', async () => {
    const { qm, transport } = setup({ waitMs: 300 });
    const sub = transport.consume(IN).subscribe(() => {});
    await until('connected', () => qm.connections.size === 1);
    sub.unsubscribe();
    await transport.close();
    assert.equal(qm.connections.size, 0, 'no connection left behind');
  });

  it('notices a broken connection (2009) during an idle get: degraded, reconnects, and consumes again', async () => {
    const { qm, transport } = setup({ waitMs: 200 });
    const { got, errors } = collect(transport);
    await until('connected', () => qm.connections.size === 1);
    await new Promise((r) => setTimeout(r, 20)); // the consumer is now waiting in MQGET
    const health: string[] = [];
    qm.restart(60);
    await until('degraded', () => {
      health.push(transport.health());
      return transport.health() === 'degraded';
    });
    await until('reconnected', () => transport.connects === 2 && transport.health() === 'up', 3000);
    qm.send(IN, 'after');
    await until('delivered after reconnect', () => got.length === 1);
    assert.equal(got[0]!.body, 'after');
    assert.deepEqual(errors, []);
    assert.ok(qm.connectAttempts > 2, 'connects failed while the queue manager was down, then one worked');
  });

  it('gives back what was not committed when the connection breaks: delivered again with a higher count, accept of the old rejects', async () => {
    const { qm, transport } = setup();
    qm.send(IN, 'm1');
    const { got } = collect(transport);
    await until('delivered', () => got.length === 1);
    qm.breakConnections();
    await assert.rejects(got[0]!.accept(), RetryableError);
    await until('delivered again', () => got.length === 2);
    assert.deepEqual([got[1]!.body, got[1]!.deliveryCount], ['m1', 2]);
    await got[1]!.accept();
    assert.equal(qm.depth(IN), 0);
  });

  it('makes one MQI call at a time per connection, even with backout puts beside the gets', async () => {
    const { qm, transport } = setup();
    for (let i = 0; i < 20; i++) qm.send(IN, `m${i}`);
    let n = 0;
    subs.push(
      transport.consume(IN, { prefetch: 5 }).subscribe((d) => {
        void (n++ % 3 === 0 ? d.backout('bad') : d.accept()).catch(() => {});
      }),
    );
    await until('all taken', () => qm.depth(IN) === 0, 5000);
    assert.equal(qm.visible(BACKOUT).length, 7);
    assert.equal(qm.connections.size, 1);
    for (const c of qm.connections) assert.equal(c.maxConcurrentCalls, 1);
  });

  it('publishes under syncpoint and commits, with the properties as message properties', async () => {
    const { qm, transport } = setup();
    await transport.publish(OUT, '{"type":"order.created"}', { type: 'order.created', id: 'X-1' });
    assert.deepEqual(
      qm.visible(OUT).map((m) => [m.body, m.properties]),
      [['{"type":"order.created"}', { type: 'order.created', id: 'X-1' }]],
    );
    assert.ok(qm.calls.indexOf('CMIT') > qm.calls.indexOf('PUT1'));
  });

  it('publishes again on a new connection after the old one broke', async () => {
    const { qm, transport } = setup();
    await transport.publish(OUT, 'one');
    qm.breakConnections();
    await transport.publish(OUT, 'two');
    assert.deepEqual(
      qm.visible(OUT).map((m) => m.body),
      ['one', 'two'],
    );
    assert.equal(transport.health(), 'up');
  });

  it('fails a consumer of an unknown queue with a terminal error instead of reconnecting forever', async () => {
    const { transport } = setup();
    const err = await new Promise<unknown>((resolve) => {
      subs.push(transport.consume('NO.SUCH.QUEUE').subscribe({ error: resolve }));
    });
    assert.ok(err instanceof TerminalError, String(err));
    assert.match((err as Error).message, /2085/);
  });

  it('on close gives back what is held, and is down', async () => {
    const { qm, transport } = setup();
    qm.send(IN, 'held');
    const { got } = collect(transport);
    await until('delivered', () => got.length === 1);
    await transport.close();
    assert.equal(transport.health(), 'down');
    assert.deepEqual(
      qm.visible(IN).map((m) => [m.body, m.backoutCount]),
      [['held', 1]],
    );
    await assert.rejects(transport.publish(OUT, 'x'), TerminalError);
  });
});

describe('loading the MQ client', () => {
  it('turns a missing libmqm into one clear error naming what to install and set', async () => {
    const err = await loadIbmMqModule(() =>
      Promise.reject(new Error('libmqm_r.so: cannot open shared object file: No such file or directory')),
    ).catch((e: unknown) => e);
    assert.ok(err instanceof MqClientMissingError);
    assert.match(err.message, /IBM MQ C client library \(libmqm_r\.so\)/);
    assert.match(err.message, /MQ_INSTALLATION_PATH/);
    assert.doesNotMatch(err.message, /\n/, 'one line');
  });
});
