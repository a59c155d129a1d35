/**
 * One contract for every queue transport, run against each: `embedded` (PostgreSQL), `amqp`
 * (the RabbitMQ of this machine, restarted inside the test), `ibmmq` over the fake MQI, and
 * `ibmmq` against a real queue manager when MQ_QMGR (and MQ_CONNAME, MQ_CHANNEL, MQ_USER,
 * MQ_PASSWORD) point at one — skipped with the reason printed otherwise. The real queue manager
 * needs the queues of mq/marketbridge-test.mqsc; its restart test needs MQ_RESTART_COMMAND.
 *
 * The contract: ordered delivery; a delivery is settled only after its event is committed; a
 * message not settled before a crash is delivered again; a redelivered id is applied once; a
 * poison message goes to the backout queue after the threshold; outbound put; and a broker restart
 * while consuming: consumption resumes within 10 s, nothing lost, nothing applied twice.
 *
 * `.serial.`: scripts/run-tests.mjs runs this file alone, after the others (it restarts RabbitMQ).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { firstValueFrom, map, type Subscription } from 'rxjs';
import { systemClock } from '../../src/core/clock.js';
import { createAmqpTransport } from '../../src/streams/amqp.js';
import { createEmbeddedTransport } from '../../src/streams/embedded.js';
import { createIbmMqTransport } from '../../src/streams/ibmmq.js';
import { startInbound } from '../../src/streams/inbound.js';
import { loadIbmMqi, type MqConnectOptions } from '../../src/streams/mqi.js';
import type { Delivery, QueueTransport } from '../../src/streams/transport.js';
import { createTestDatabase, type TestDatabase, waitFor } from '../helpers/db.js';
import { FakeQueueManager } from './fake-mqi.js';

const logger = pino({ level: process.env['LOG_LEVEL'] ?? 'silent' });
const RUN = `mb-contract-${Date.now().toString(36)}-${randomUUID().slice(0, 6)}`;
const AMQP_URL = process.env['AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672';
const THRESHOLD = 3;

interface Queues {
  inbound: string;
  outbound: string;
  backout: string;
}

interface Harness {
  name: string;
  /** Why the suite cannot run here (printed), or undefined. */
  skip?: string;
  /** Why only the restart test cannot run here. */
  skipRestart?: string;
  queues(test: string): Promise<Queues>;
  transport(q: Queues): QueueTransport;
  /** Bodies (and reasons) on the backout queue. */
  backedOut(q: Queues): Promise<{ body: string; reason: string }[]>;
  /** Stops the broker and starts it again; resolves when it is back. */
  restart(): Promise<void>;
  cleanup(): Promise<void>;
}

let t: TestDatabase;
before(async () => {
  t = await createTestDatabase();
});
after(async () => {
  await t.drop();
});

const run = (cmd: string, args: string[]) =>
  new Promise<void>((resolve, reject) =>
    execFile(cmd, args, { timeout: 60_000 }, (err, _o, stderr) =>
      err ? reject(new Error(`${cmd} ${args.join(' ')}: ${stderr || err.message}`)) : resolve(),
    ),
  );

/** Reads a queue with a transport of its own for `ms`, accepting what it takes. */
async function drain(transport: QueueTransport, queue: string, ms = 600): Promise<Delivery[]> {
  const got: Delivery[] = [];
  const sub = transport.consume(queue, { prefetch: 100 }).subscribe((d) => {
    got.push(d);
    void d.accept().catch(() => {});
  });
  await new Promise((r) => setTimeout(r, ms));
  sub.unsubscribe();
  return got;
}

// --- harnesses ----------------------------------------------------------------------------

function embeddedHarness(): Harness {
  const made: QueueTransport[] = [];
  return {
    name: 'embedded',
    skipRestart: undefined,
    queues: async (test) => ({
      inbound: `${RUN}.${test}`,
      outbound: `${RUN}.${test}.OUT`,
      backout: `${RUN}.${test}.BACKOUT`,
    }),
    transport: (q) => {
      const tr = createEmbeddedTransport({ db: t.db, backoutQueue: q.backout });
      made.push(tr);
      return tr;
    },
    backedOut: async (q) =>
      t.db.query<{ body: string; reason: string }>(
        'select body, reason from backout_message where queue = ? order by id',
        [q.backout],
      ),
    // The embedded queue's broker is PostgreSQL: every connection to the test database is cut.
    restart: async () => {
      const name = new URL(t.url).pathname.slice(1);
      const admin = await createTestDatabaseAdmin();
      await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = ?', [name]);
      await admin.close();
    },
    cleanup: async () => {
      await Promise.allSettled(made.map((m) => m.close()));
    },
  };
}

async function createTestDatabaseAdmin() {
  const { openDatabase } = await import('../../src/persistence/database.js');
  const { ADMIN_URL } = await import('../helpers/db.js');
  return openDatabase({ databaseUrl: ADMIN_URL, dataDir: '/nonexistent', poolMax: 1 });
}

function amqpHarness(): Harness {
  const made: QueueTransport[] = [];
  const names = new Set<string>();
  const make = (backout?: string) => {
    const tr = createAmqpTransport({
      url: AMQP_URL,
      reconnect: { initialDelayMs: 100, maxDelayMs: 1000 },
      logger,
      ...(backout ? { backoutQueue: backout } : {}),
    });
    made.push(tr);
    return tr;
  };
  return {
    name: 'amqp',
    queues: async (test) => {
      const q = {
        inbound: `${RUN}.${test}`,
        outbound: `${RUN}.${test}.OUT`,
        backout: `${RUN}.${test}.BACKOUT`,
      };
      for (const n of Object.values(q)) names.add(n);
      return q;
    },
    transport: (q) => make(q.backout),
    backedOut: async (q) => {
      const reader = make();
      const got = await drain(reader, q.backout);
      return got.map((d) => ({ body: d.body, reason: String(d.properties['backout_reason'] ?? '') }));
    },
    restart: async () => {
      await run('rabbitmqctl', ['-q', 'stop_app']);
      await run('rabbitmqctl', ['-q', 'start_app']);
      await run('rabbitmqctl', ['-q', 'await_startup']);
    },
    cleanup: async () => {
      await Promise.allSettled(made.map((m) => m.close()));
      for (const n of names) await run('rabbitmqctl', ['-q', 'delete_queue', n]).catch(() => {});
    },
  };
}

function fakeMqHarness(): Harness {
  const qm = new FakeQueueManager([]);
  const made: QueueTransport[] = [];
  return {
    name: 'ibmmq (fake MQI)',
    queues: async (test) => {
      const q = { inbound: `${test}.IN`, outbound: `${test}.OUT`, backout: `${test}.BACKOUT` };
      for (const n of Object.values(q)) if (!qm.queues.has(n)) qm.queues.set(n, []);
      return q;
    },
    transport: (q) => {
      const tr = createIbmMqTransport({
        mqi: async () => qm,
        connection: { queueManager: 'FAKE', clientReconnect: 'disabled', applicationName: 'contract' },
        backoutQueue: q.backout,
        backoutThreshold: THRESHOLD,
        waitMs: 200,
        reconnect: { initialDelayMs: 50, maxDelayMs: 1000 },
        logger,
      });
      made.push(tr);
      return tr;
    },
    backedOut: async (q) =>
      qm
        .visible(q.backout)
        .map((m) => ({ body: m.body, reason: String(m.properties['marketbridge_reason']) })),
    restart: async () => {
      qm.restart(1500);
      await new Promise((r) => setTimeout(r, 1500));
    },
    cleanup: async () => {
      await Promise.allSettled(made.map((m) => m.close()));
    },
  };
}

/** A real queue manager, from MQ_QMGR and friends (the queues of mq/marketbridge-test.mqsc). */
function realMqHarness(): Harness {
  const env = process.env;
  const made: QueueTransport[] = [];
  const connection: MqConnectOptions = {
    queueManager: env['MQ_QMGR'] ?? '',
    channel: env['MQ_CHANNEL'] ?? 'MARKETBRIDGE.SVRCONN',
    ...(env['MQ_CONNAME'] ? { connectionName: env['MQ_CONNAME'] } : {}),
    ...(env['MQ_USER'] ? { user: env['MQ_USER'] } : {}),
    ...(env['MQ_PASSWORD'] ? { password: env['MQ_PASSWORD'] } : {}),
    clientReconnect: 'disabled',
    applicationName: 'marketbridge-contract',
  };
  const q: Queues = {
    inbound: 'MARKETBRIDGE.TEST.IN',
    outbound: 'MARKETBRIDGE.TEST.OUT',
    backout: 'MARKETBRIDGE.TEST.IN.BACKOUT',
  };
  const make = () => {
    const tr = createIbmMqTransport({
      mqi: () => loadIbmMqi(),
      connection,
      backoutQueue: q.backout,
      backoutThreshold: THRESHOLD,
      waitMs: 1000,
      reconnect: { initialDelayMs: 200, maxDelayMs: 2000 },
      logger,
    });
    made.push(tr);
    return tr;
  };
  const restartCommand = env['MQ_RESTART_COMMAND'];
  return {
    name: 'ibmmq (queue manager)',
    ...(env['MQ_QMGR']
      ? {}
      : {
          skip: 'no queue manager: set MQ_QMGR, MQ_CONNAME, MQ_CHANNEL (and MQ_USER, MQ_PASSWORD) to run it',
        }),
    ...(restartCommand
      ? {}
      : { skipRestart: 'set MQ_RESTART_COMMAND (e.g. "endmqm -i QM1; strmqm QM1") to run it' }),
    queues: async () => {
      const reader = make();
      for (const name of Object.values(q)) await drain(reader, name, 300);
      return q;
    },
    transport: () => make(),
    backedOut: async () => {
      const got = await drain(make(), q.backout);
      return got.map((d) => ({ body: d.body, reason: '(in the message property)' }));
    },
    restart: async () => {
      await run('sh', ['-c', restartCommand ?? 'false']);
    },
    cleanup: async () => {
      await Promise.allSettled(made.map((m) => m.close()));
    },
  };
}

// --- the contract -------------------------------------------------------------------------

const event = (id: string, sku = 'SKU-1', price = 1000) =>
  JSON.stringify({
    id,
    type: 'price.update',
    occurredAt: '2026-12-04T10:00:00+05:30',
    sku,
    price,
    mrp: 2000,
    marketplaces: ['amazon'],
  });

function inbound(transport: QueueTransport, q: Queues, routed: string[], prefetch = 50, batchMax?: number) {
  return startInbound({
    transport,
    db: t.db,
    queue: q.inbound,
    prefetch,
    backoutThreshold: THRESHOLD,
    maxMessageBytes: 262_144,
    messageIdAsKey: transport.kind === 'ibmmq',
    marketplaces: ['amazon'],
    clock: systemClock,
    logger,
    batchMs: 20,
    ...(batchMax ? { batchMax } : {}),
    onRouted: (events) => {
      for (const e of events) routed.push(String((e.event as { eventId?: string }).eventId ?? e.key));
    },
  });
}

async function accepted(ids: string[]): Promise<Map<string, number>> {
  const rows = await t.db.query<{ idempotency_key: string; n: string }>(
    `select idempotency_key, count(*) as n from event_log
     where status = 'accepted' and idempotency_key in (select jsonb_array_elements_text(?::jsonb))
     group by idempotency_key`,
    [JSON.stringify(ids)],
  );
  return new Map(rows.map((r) => [r.idempotency_key, Number(r.n)]));
}

function contract(h: Harness) {
  describe(`transport contract: ${h.name}`, { timeout: 90_000, ...(h.skip ? { skip: h.skip } : {}) }, () => {
    const subs: Subscription[] = [];
    const stops: (() => void)[] = [];
    after(async () => {
      for (const s of subs) s.unsubscribe();
      for (const s of stops) s();
      await h.cleanup();
    });

    it('delivers in the order put, and a delivery stays until it is accepted', async () => {
      const q = await h.queues('order');
      const tr = h.transport(q);
      const bodies = Array.from({ length: 20 }, (_, i) => `m-${i}`);
      for (const b of bodies) await tr.publish(q.inbound, b);
      const got: Delivery[] = [];
      const sub = tr.consume(q.inbound, { prefetch: 50 }).subscribe((d) => got.push(d));
      subs.push(sub);
      await waitFor('20 delivered', () => got.length >= 20, 20_000);
      assert.deepEqual(
        got.map((d) => d.body),
        bodies,
      );
      await Promise.all(got.map((d) => d.accept()));
      sub.unsubscribe();
      const again = await drain(h.transport(q), q.inbound, 500);
      assert.deepEqual(again, [], 'accepted messages are gone');
    });

    it('settles a delivery only after its event is committed in event_log', async () => {
      const q = await h.queues('settle');
      const tr = h.transport(q);
      const ids = Array.from({ length: 10 }, (_, i) => `${RUN}-settle-${h.name}-${i}`);
      for (const id of ids) await tr.publish(q.inbound, event(id));
      const seenAtAccept: boolean[] = [];
      // Every accept first looks for the committed row (from another pooled connection).
      const watching: QueueTransport = {
        kind: tr.kind,
        consume: (queue, o) =>
          tr.consume(queue, o).pipe(
            map(
              (d): Delivery => ({
                body: d.body,
                messageId: d.messageId,
                deliveryCount: d.deliveryCount,
                properties: d.properties,
                accept: async () => {
                  const id = (JSON.parse(d.body) as { id: string }).id;
                  seenAtAccept.push((await accepted([id])).get(id) === 1);
                  return d.accept();
                },
                release: () => d.release(),
                backout: (r) => d.backout(r),
              }),
            ),
          ),
        publish: (a, b, c) => tr.publish(a, b, c),
        health: () => tr.health(),
        close: () => tr.close(),
      };
      const routed: string[] = [];
      const ib = inbound(watching, q, routed);
      stops.push(() => ib.stop());
      await waitFor('all accepted', () => ib.stats.accepted === 10, 20_000);
      ib.stop();
      assert.equal(seenAtAccept.length, 10);
      assert.ok(seenAtAccept.every(Boolean), 'each row was committed before its delivery was accepted');
    });

    it('delivers again what was not settled before a crash, and applies a redelivered id once', async () => {
      const q = await h.queues('crash');
      const first = h.transport(q);
      const id = `${RUN}-crash-${h.name}`;
      await first.publish(q.inbound, event(id));
      const d = await firstValueFrom(first.consume(q.inbound, { prefetch: 1 }));
      assert.equal(d.deliveryCount, 1);
      await first.close(); // the process dies before committing anything

      const second = h.transport(q);
      const again = await firstValueFrom(second.consume(q.inbound, { prefetch: 1 }));
      assert.equal(again.body, d.body);
      assert.ok(again.deliveryCount >= 2, `deliveryCount ${again.deliveryCount}`);
      await again.release();

      // The same id put twice (an OMS resend): one accepted row, one duplicate, one routed event.
      await second.publish(q.inbound, event(id));
      const routed: string[] = [];
      const ib = inbound(second, q, routed);
      stops.push(() => ib.stop());
      await waitFor('both handled', () => ib.stats.accepted + ib.stats.duplicates === 2, 20_000);
      ib.stop();
      assert.deepEqual([ib.stats.accepted, ib.stats.duplicates], [1, 1]);
      assert.equal(routed.length, 1, 'applied once');
      assert.equal((await accepted([id])).get(id), 1);
    });

    it(`moves a poison message to the backout queue after ${THRESHOLD} failed deliveries`, async () => {
      const q = await h.queues('poison');
      const tr = h.transport(q);
      const id = `${RUN}-poison-${h.name}`;
      await tr.publish(q.inbound, event(id, 'SKU-POISON'));
      // Delivered and given back `THRESHOLD` times (a consumer that cannot commit it and leaves).
      for (let n = 1; n <= THRESHOLD; n++) {
        const delivery = await firstValueFrom(tr.consume(q.inbound, { prefetch: 1 }));
        assert.ok(delivery.deliveryCount >= n, `delivery ${n}: count ${delivery.deliveryCount}`);
        await delivery.release();
      }
      const routed: string[] = [];
      const ib = inbound(tr, q, routed);
      stops.push(() => ib.stop());
      let moved: { body: string; reason: string }[] = [];
      await waitFor(
        'on the backout queue',
        async () => {
          moved = [...moved, ...(await h.backedOut(q))]; // reading may take them off (AMQP)
          return moved.length > 0;
        },
        20_000,
      );
      ib.stop();
      assert.equal(moved.length, 1);
      assert.equal(JSON.parse(moved[0]!.body).id, id);
      assert.match(moved[0]!.reason, /threshold|property/);
      assert.deepEqual(routed, [], 'never applied');
      assert.deepEqual(await drain(h.transport(q), q.inbound, 500), [], 'gone from its queue');
    });

    it('takes more at once than one inbound batch holds (prefetch 100, batches of 10): all committed', async () => {
      const q = await h.queues('biground');
      const tr = h.transport(q);
      const ids = Array.from({ length: 120 }, (_, i) => `${RUN}-biground-${h.name}-${i}`);
      for (const [i, id] of ids.entries()) await tr.publish(q.inbound, event(id, `SKU-B-${i % 7}`, 1000 + i));
      const routed: string[] = [];
      // On IBM MQ one unit of work then spans several batches: none may wait for the others.
      const ib = inbound(tr, q, routed, 100, 10);
      stops.push(() => ib.stop());
      await waitFor('all committed', () => ib.stats.accepted >= ids.length, 20_000);
      ib.stop();
      assert.equal((await accepted(ids)).size, ids.length);
      assert.deepEqual(await drain(h.transport(q), q.inbound, 500), [], 'gone from its queue');
    });

    it('puts outbound messages with their properties', async () => {
      const q = await h.queues('outbound');
      const tr = h.transport(q);
      await tr.publish(q.outbound, '{"type":"order.created","id":"OUT-1"}', {
        type: 'order.created',
        id: 'OUT-1',
      });
      const got = await drain(h.transport(q), q.outbound, 800);
      assert.deepEqual(
        got.map((d) => d.body),
        ['{"type":"order.created","id":"OUT-1"}'],
      );
    });

    it(
      'survives a broker restart while consuming: resumes within 10 s, nothing lost, nothing applied twice',
      h.skipRestart ? { skip: h.skipRestart } : {},
      async () => {
        const q = await h.queues('restart');
        const tr = h.transport(q);
        const n = 1000;
        const ids = Array.from({ length: n }, (_, i) => `${RUN}-restart-${h.name}-${i}`);
        for (const [i, id] of ids.entries())
          await tr.publish(q.inbound, event(id, `SKU-R-${i % 30}`, 1000 + i));
        const routed: string[] = [];
        // Small rounds, so the restart comes while most messages are still on the queue.
        const ib = inbound(tr, q, routed, 5);
        stops.push(() => ib.stop());
        await waitFor('consuming', () => ib.stats.accepted > 0, 20_000);
        const atRestart = ib.stats.accepted;
        assert.ok(atRestart < n / 2, `the restart comes mid-consume (${atRestart} of ${n} done)`);
        await h.restart();
        const back = Date.now();
        const before = ib.stats.accepted;
        await waitFor('consumption resumes', () => ib.stats.accepted > before, 10_000);
        const resumedMs = Date.now() - back;
        await waitFor('all consumed', () => ib.stats.accepted + ib.stats.duplicates >= n, 60_000);
        await new Promise((r) => setTimeout(r, 500));
        ib.stop();
        const rows = await accepted(ids);
        assert.equal(rows.size, n, 'every message in event_log');
        assert.ok([...rows.values()].every((c) => c === 1));
        assert.equal(ib.stats.accepted, n, 'each applied once (redeliveries were duplicates)');
        assert.ok(resumedMs <= 10_000, `resumed ${resumedMs} ms after the broker was back`);
        logger.info({ transport: h.name, resumedMs, atRestart }, 'resumed after restart');
      },
    );
  });
}

contract(embeddedHarness());
contract(amqpHarness());
contract(fakeMqHarness());
contract(realMqHarness());
