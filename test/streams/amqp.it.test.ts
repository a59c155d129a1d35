/**
 * The AMQP 1.0 transport against the real broker (RabbitMQ 3.10 + rabbitmq_amqp1_0 on
 * 127.0.0.1:5672, or AMQP_URL). Queues are unique per run (prefix RUN) and deleted afterwards
 * when rabbitmqctl is at hand.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { pino } from 'pino';
import type { Subscription } from 'rxjs';
import { RetryableError, TerminalError } from '../../src/core/errors.js';
import { type AmqpTransportOptions, createAmqpTransport } from '../../src/streams/amqp.js';
import type { Delivery, QueueTransport } from '../../src/streams/transport.js';

const AMQP_URL = process.env['AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672';
const RUN = `mb-it-${Date.now().toString(36)}-${randomUUID().slice(0, 6)}`;
const WAIT_MS = 5_000;
/** How long "nothing else arrives" is watched for. */
const QUIET_MS = 400;

/** Set LOG_LEVEL=info to see the transport's logs. */
const logger = pino({ level: process.env['LOG_LEVEL'] ?? 'silent' });
const queues = new Set<string>();
const transports: QueueTransport[] = [];

function queueName(test: string): string {
  const name = `${RUN}.${test}`;
  queues.add(name);
  return name;
}

function rabbitmqctl(args: string[]): Promise<boolean> {
  return new Promise((resolve) => {
    execFile('rabbitmqctl', args, { timeout: 20_000 }, (err) => resolve(!err));
  });
}

/** Deletes this run's queues: one `rabbitmqctl eval` by name prefix, else one call per queue. */
async function deleteQueues(): Promise<void> {
  const vhost = decodeURIComponent(new URL(AMQP_URL).pathname.slice(1)) || '/';
  const deleted = await rabbitmqctl([
    'eval',
    `length([ok || Q <- rabbit_amqqueue:list(<<"${vhost}">>),
       lists:prefix("${RUN}", binary_to_list(element(4, amqqueue:get_name(Q)))),
       {ok, _} <- [rabbit_amqqueue:delete(Q, false, false, <<"marketbridge-it">>)]]).`,
  ]);
  if (deleted) return;
  for (const q of queues) await rabbitmqctl(['delete_queue', q]);
}

function transport(overrides: Partial<AmqpTransportOptions> = {}): QueueTransport {
  const t = createAmqpTransport({
    url: AMQP_URL,
    reconnect: { initialDelayMs: 50, maxDelayMs: 500 },
    logger,
    ...overrides,
  });
  transports.push(t);
  return t;
}

/** Subscribes and hands out deliveries one by one; every wait has a timeout. */
class Inbox {
  private readonly received: Delivery[] = [];
  private readonly waiters: { resolve: (d: Delivery) => void; reject: (e: Error) => void }[] = [];
  private failure: unknown;
  private readonly subscription: Subscription;

  constructor(t: QueueTransport, queue: string, prefetch?: number) {
    this.subscription = t.consume(queue, prefetch === undefined ? {} : { prefetch }).subscribe({
      next: (d) => {
        const waiter = this.waiters.shift();
        if (waiter) waiter.resolve(d);
        else this.received.push(d);
      },
      error: (err) => {
        this.failure = err;
        for (const w of this.waiters.splice(0)) w.reject(err instanceof Error ? err : new Error(String(err)));
      },
    });
  }

  get error(): unknown {
    return this.failure;
  }

  next(timeoutMs = WAIT_MS): Promise<Delivery> {
    const ready = this.received.shift();
    if (ready) return Promise.resolve(ready);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<Delivery>((resolve, reject) => {
      const waiter = {
        resolve: (d: Delivery) => {
          clearTimeout(timer);
          resolve(d);
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`no delivery within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  async take(n: number): Promise<Delivery[]> {
    const out: Delivery[] = [];
    for (let i = 0; i < n; i++) out.push(await this.next());
    return out;
  }

  /** Asserts that nothing arrives for a while. */
  async expectQuiet(ms = QUIET_MS): Promise<void> {
    const extra = await this.next(ms).then(
      (d) => d,
      () => undefined,
    );
    assert.equal(extra, undefined, `unexpected delivery: ${extra?.body}`);
  }

  unsubscribe(): void {
    this.subscription.unsubscribe();
  }
}

function waitFor(what: string, check: () => boolean, timeoutMs = WAIT_MS): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = () => {
      if (check()) return resolve();
      if (Date.now() - started > timeoutMs) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 20);
    };
    tick();
  });
}

/** A TCP proxy in front of the broker whose connections can be cut, to simulate a network drop. */
async function startProxy(
  target: URL,
): Promise<{ url: string; cut(): void; refuse(on: boolean): void; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let refusing = false;
  const server = net.createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = net.connect(Number(target.port || 5672), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const url = new URL(target.href);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return {
    url: url.href,
    cut: () => {
      for (const s of sockets) s.destroy();
    },
    refuse: (on) => {
      refusing = on;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

after(async () => {
  await Promise.allSettled(transports.map((t) => t.close()));
  await deleteQueues();
});

describe('AMQP transport (RabbitMQ)', { timeout: 60_000 }, () => {
  it('is up once connected and delivers published messages in order, once accepted gone', async () => {
    const t = transport();
    const q = queueName('order');
    await waitFor('connection', () => t.health() === 'up');
    const bodies = Array.from({ length: 20 }, (_, i) =>
      JSON.stringify({ id: `OMS-${i}`, n: i, note: 'कीमत ₹1,299' }),
    );
    for (const b of bodies) await t.publish(q, b, { source: 'oms', seq: 1, urgent: true });

    const inbox = new Inbox(t, q, 5);
    const got: Delivery[] = [];
    for (let i = 0; i < bodies.length; i++) {
      const d = await inbox.next();
      got.push(d);
      await d.accept();
    }
    assert.deepEqual(
      got.map((d) => d.body),
      bodies,
    );
    assert.ok(got.every((d) => d.deliveryCount === 1));
    assert.ok(got.every((d) => typeof d.messageId === 'string' && d.messageId.length > 0));
    assert.equal(new Set(got.map((d) => d.messageId)).size, bodies.length);
    assert.deepEqual(got[0]!.properties, { source: 'oms', seq: 1, urgent: true });
    await inbox.expectQuiet();
    inbox.unsubscribe();

    const again = new Inbox(t, q);
    await again.expectQuiet();
    again.unsubscribe();
  });

  it('delivers a message that was not accepted again after unsubscribe, with deliveryCount 2', async () => {
    const t = transport();
    const q = queueName('unsubscribe');
    await t.publish(q, '{"id":"A"}');
    const first = new Inbox(t, q);
    const d1 = await first.next();
    assert.equal(d1.deliveryCount, 1);
    first.unsubscribe();
    await assert.rejects(d1.accept(), RetryableError, 'a delivery of a closed consumer cannot be accepted');

    const second = new Inbox(t, q);
    const d2 = await second.next();
    assert.equal(d2.body, '{"id":"A"}');
    assert.equal(d2.messageId, d1.messageId);
    assert.equal(d2.deliveryCount, 2);
    await d2.accept();
    second.unsubscribe();
  });

  it('delivers a message that was not accepted again after the transport closed, with deliveryCount 2', async () => {
    const q = queueName('crash');
    const t1 = transport();
    await t1.publish(q, '{"id":"B"}');
    const d1 = await new Inbox(t1, q).next();
    assert.equal(d1.deliveryCount, 1);
    await t1.close();
    assert.equal(t1.health(), 'down');

    const t2 = transport();
    const inbox = new Inbox(t2, q);
    const d2 = await inbox.next();
    assert.equal(d2.body, '{"id":"B"}');
    assert.equal(d2.deliveryCount, 2, 'the broker marks it as acquired before (first_acquirer false)');
    await d2.accept();
    inbox.unsubscribe();
  });

  it('redelivers a released message with a higher deliveryCount each time', async () => {
    const t = transport();
    const q = queueName('release');
    await t.publish(q, '{"id":"C"}');
    await t.publish(q, '{"id":"D"}');
    const inbox = new Inbox(t, q, 1);
    const counts: number[] = [];
    for (let i = 0; i < 3; i++) {
      const d = await inbox.next();
      assert.equal(d.body, '{"id":"C"}', 'a released message keeps its place at the head');
      counts.push(d.deliveryCount);
      await d.release();
    }
    assert.deepEqual(counts, [1, 2, 3]);
    const c = await inbox.next();
    assert.equal(c.deliveryCount, 4);
    await c.accept();
    await assert.rejects(c.release(), TerminalError, 'settling twice is refused');
    const d = await inbox.next();
    assert.equal(d.body, '{"id":"D"}');
    assert.equal(d.deliveryCount, 1);
    await d.accept();
    inbox.unsubscribe();
  });

  it('counts attempts of messages without message id by body', async () => {
    const t = transport();
    const q = queueName('noid');
    await t.publish(q, 'plain text without id');
    const inbox = new Inbox(t, q, 1);
    const d1 = await inbox.next();
    await d1.release();
    const d2 = await inbox.next();
    assert.equal(d2.body, 'plain text without id');
    assert.ok(d2.deliveryCount >= 2);
    await d2.accept();
    inbox.unsubscribe();
  });

  it('backs out: the body goes to the backout queue with the reason, and the original is gone', async () => {
    const t = transport();
    const q = queueName('poison');
    const poison = 'LIST SKU SAM-TV-1001 ON AMAZON';
    await t.publish(q, poison, { origin: 'oms' });
    await t.publish(q, '{"id":"after-poison"}');

    const inbox = new Inbox(t, q, 1);
    const bad = await inbox.next();
    await bad.backout('not JSON: Unexpected token L');
    await assert.rejects(bad.accept(), TerminalError);
    const next = await inbox.next();
    assert.equal(next.body, '{"id":"after-poison"}', 'the consumer goes on with the next message');
    await next.accept();
    inbox.unsubscribe();

    const backout = new Inbox(t, queueName('poison.BACKOUT'));
    const moved = await backout.next();
    assert.equal(moved.body, poison);
    assert.equal(moved.properties['backout_reason'], 'not JSON: Unexpected token L');
    assert.equal(moved.properties['original_queue'], q);
    assert.equal(moved.properties['original_message_id'], bad.messageId);
    assert.equal(moved.properties['origin'], 'oms', 'original properties are kept');
    await moved.accept();
    backout.unsubscribe();

    const original = new Inbox(t, q);
    await original.expectQuiet();
    original.unsubscribe();
  });

  it('flags a body that is not UTF-8 or is compressed, and backs out the bytes as sent', async () => {
    const t = transport();
    const q = queueName('bytes');
    // Straight to the broker, as another client would: a Latin-1 body, then a gzip one.
    const raw = t as unknown as {
      send(address: string, body: Buffer, props: Record<string, string>, headers: object): Promise<void>;
    };
    const latin1 = Buffer.from('{"id":"L1","brand":"Nestl\xe9"}', 'latin1');
    const gzipped = gzipSync('{"id":"G1"}');
    await raw.send(`/queue/${q}`, latin1, {}, {});
    await raw.send(`/queue/${q}`, gzipped, {}, { content_encoding: 'gzip' });

    const inbox = new Inbox(t, q);
    const first = await inbox.next();
    assert.match(first.bodyProblem ?? '', /not valid UTF-8/);
    const second = await inbox.next();
    assert.match(second.bodyProblem ?? '', /content-encoding "gzip" is not supported/);
    await first.backout(first.bodyProblem!);
    await second.backout(second.bodyProblem!);
    inbox.unsubscribe();

    const backout = new Inbox(t, queueName('bytes.BACKOUT'));
    const moved = [await backout.next(), await backout.next()];
    // Read back the same way: the same bytes and encoding give the same problems.
    assert.match(moved[0]!.bodyProblem ?? '', /not valid UTF-8/);
    assert.equal(moved[0]!.body, first.body);
    assert.match(moved[1]!.bodyProblem ?? '', /content-encoding "gzip"/, 'content-encoding kept');
    for (const m of moved) await m.accept();
    backout.unsubscribe();
  });

  it('uses the configured backout queue name', async () => {
    const q = queueName('custom-backout');
    const dlq = queueName('custom-backout-dlq');
    const t = transport({ backoutQueue: dlq });
    await t.publish(q, '{"id":"E"}');
    const inbox = new Inbox(t, q);
    await (await inbox.next()).backout('bad');
    inbox.unsubscribe();
    const moved = new Inbox(t, dlq);
    const d = await moved.next();
    assert.equal(d.properties['backout_reason'], 'bad');
    await d.accept();
    moved.unsubscribe();
  });

  it('keeps at most prefetch deliveries unsettled', async () => {
    const t = transport();
    const q = queueName('prefetch');
    for (let i = 0; i < 7; i++) await t.publish(q, `{"id":"P${i}"}`);
    const inbox = new Inbox(t, q, 3);
    const firstThree = await inbox.take(3);
    assert.deepEqual(
      firstThree.map((d) => d.body),
      ['{"id":"P0"}', '{"id":"P1"}', '{"id":"P2"}'],
    );
    await inbox.expectQuiet();

    await firstThree[0]!.accept();
    const fourth = await inbox.next();
    assert.equal(fourth.body, '{"id":"P3"}');
    await inbox.expectQuiet();

    await firstThree[1]!.release();
    const redelivered = await inbox.next();
    assert.equal(redelivered.body, '{"id":"P1"}');
    await inbox.expectQuiet();

    for (const d of [firstThree[2]!, fourth, redelivered]) await d.accept();
    const rest = await inbox.take(3);
    assert.deepEqual(
      rest.map((d) => d.body),
      ['{"id":"P4"}', '{"id":"P5"}', '{"id":"P6"}'],
    );
    for (const d of rest) await d.accept();
    inbox.unsubscribe();
  });

  it('stays within prefetch while settling as messages stream in (RabbitMQ 3.10 over-grants on early top-up)', async () => {
    const t = transport();
    const q = queueName('prefetch-stream');
    const total = 60;
    await Promise.all(Array.from({ length: total }, (_, i) => t.publish(q, `{"id":"S${i}"}`)));
    const prefetch = 4;
    let unsettled = 0;
    let maxUnsettled = 0;
    const seen: string[] = [];
    const failures: unknown[] = [];
    const subscription = t.consume(q, { prefetch }).subscribe(async (d) => {
      unsettled++;
      maxUnsettled = Math.max(maxUnsettled, unsettled);
      seen.push(d.body);
      // Settle most at once and some a little later, so top-ups race with transfers in flight.
      if (seen.length % 5 === 0) await new Promise((r) => setTimeout(r, 5));
      await d.accept().catch((err: unknown) => failures.push(err));
      unsettled--;
    });
    try {
      await waitFor(`${total} deliveries settled`, () => seen.length >= total && unsettled === 0);
      assert.deepEqual(failures, []);
      assert.ok(maxUnsettled <= prefetch, `${maxUnsettled} unsettled at once with prefetch ${prefetch}`);
      assert.equal(new Set(seen).size, total);
    } finally {
      subscription.unsubscribe();
    }
  });

  it('re-attaches after a connection drop and the broker redelivers what was unsettled', async () => {
    const proxy = await startProxy(new URL(AMQP_URL));
    const t = transport({ url: proxy.url });
    try {
      const q = queueName('reconnect');
      await t.publish(q, '{"id":"R1"}');
      const inbox = new Inbox(t, q, 2);
      const before = await inbox.next();
      assert.equal(t.health(), 'up');

      proxy.cut();
      await waitFor('degraded health', () => t.health() === 'degraded');
      await waitFor('reconnect', () => t.health() === 'up');
      await assert.rejects(
        before.accept(),
        RetryableError,
        'a delivery of the dropped link cannot be accepted',
      );

      const after = await inbox.next();
      assert.equal(after.body, '{"id":"R1"}');
      assert.equal(after.messageId, before.messageId);
      assert.ok(after.deliveryCount >= 2, `deliveryCount ${after.deliveryCount}`);
      await after.accept();

      await t.publish(q, '{"id":"R2"}');
      const more = await inbox.next();
      assert.equal(more.body, '{"id":"R2"}');
      await more.accept();
      assert.equal(inbox.error, undefined);
      inbox.unsubscribe();
    } finally {
      await t.close();
      await proxy.close();
    }
  });

  it('subscribes and publishes while the broker is unreachable, and both go through once it is back', async () => {
    const proxy = await startProxy(new URL(AMQP_URL));
    const t = transport({ url: proxy.url });
    try {
      const q = queueName('outage');
      await waitFor('connection', () => t.health() === 'up');
      proxy.refuse(true);
      proxy.cut();
      await waitFor('degraded health', () => t.health() === 'degraded');

      const inbox = new Inbox(t, q);
      const published = t.publish(q, '{"id":"O1"}');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(t.health(), 'degraded');
      proxy.refuse(false);

      await published;
      const d = await inbox.next();
      assert.equal(d.body, '{"id":"O1"}');
      assert.equal(d.deliveryCount, 1);
      await d.accept();
      assert.equal(t.health(), 'up');
      inbox.unsubscribe();
    } finally {
      await t.close();
      await proxy.close();
    }
  });

  it('fails a consumer of a missing pre-declared queue with a terminal error and stays up', async () => {
    const t = transport({ addressTemplate: '/amq/queue/{queue}' });
    const q = queueName('missing');
    const inbox = new Inbox(t, q);
    await assert.rejects(inbox.next(), (err: unknown) => {
      assert.ok(err instanceof TerminalError, String(err));
      assert.match(err.message, /not-found|not_found|NOT_FOUND/i);
      return true;
    });
    const other = queueName('present');
    await transport().publish(other, '{"id":"F"}'); // declares it through /queue/
    await t.publish(other, '{"id":"G"}');
    assert.equal(t.health(), 'up');
  });

  it('is down after close, refuses work, and closes twice without harm', async () => {
    const t = transport();
    await waitFor('connection', () => t.health() === 'up');
    await t.close();
    await t.close();
    assert.equal(t.health(), 'down');
    await assert.rejects(t.publish(queueName('closed'), '{}'), TerminalError);
    await assert.rejects(
      new Promise((resolve, reject) => t.consume('any').subscribe({ next: resolve, error: reject })),
      TerminalError,
    );
  });

  it('gives up on bad credentials: down, and consumers fail with a terminal error', async () => {
    const url = new URL(AMQP_URL);
    url.password = 'definitely-not-the-password';
    const t = transport({ url: url.href });
    const inbox = new Inbox(t, queueName('badauth'));
    await assert.rejects(inbox.next(), (err: unknown) => {
      assert.ok(err instanceof TerminalError, String(err));
      assert.match(err.message, /unauthorized|auth/i);
      return true;
    });
    assert.equal(t.health(), 'down');
    await assert.rejects(t.publish(queueName('badauth'), '{}'), TerminalError);
  });

  it('gives up with a clear terminal error when the broker speaks AMQP 0-9-1, not 1.0', async () => {
    // What RabbitMQ without the rabbitmq_amqp1_0 plugin answers to an AMQP 1.0 header.
    let dials = 0;
    const server = net.createServer((socket) => {
      dials++;
      socket.on('error', () => {});
      socket.end(Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { port } = server.address() as net.AddressInfo;
      const t = transport({ url: `amqp://guest:guest@127.0.0.1:${port}` });
      await assert.rejects(t.publish(queueName('v091'), '{}'), (err: unknown) => {
        assert.ok(err instanceof TerminalError, String(err));
        assert.match(err.message, /does not speak AMQP 1\.0.*rabbitmq_amqp1_0/);
        return true;
      });
      assert.equal(t.health(), 'down');
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(dials, 1, 'no reconnect after the version mismatch');
      await t.close();
    } finally {
      server.close();
    }
  });

  it('closes promptly while the broker is unreachable', async () => {
    const t = transport({ url: 'amqp://guest:guest@127.0.0.1:1' });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(t.health(), 'degraded');
    await t.close();
    assert.equal(t.health(), 'down');
  });
});
