/**
 * The inbound pipeline (decode → event_log → settle) against real PostgreSQL, once on the
 * embedded queue and once on AMQP 1.0 against the real RabbitMQ: the same promises for both.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { map, Observable } from 'rxjs';
import { systemClock } from '../../src/core/clock.js';
import { RetryableError, TerminalError } from '../../src/core/errors.js';
import type { MarketplaceId } from '../../src/domain/types.js';
import type { Database } from '../../src/persistence/database.js';
import { createAmqpTransport } from '../../src/streams/amqp.js';
import { createEmbeddedTransport } from '../../src/streams/embedded.js';
import { type InboundOptions, type InboundStats, startInbound } from '../../src/streams/inbound.js';
import type { RoutedEvent } from '../../src/streams/routing.js';
import type { Delivery, QueueTransport } from '../../src/streams/transport.js';
import { createTestDatabase, type TestDatabase, waitFor } from '../helpers/db.js';

const logger = pino({ level: 'silent' });
const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const badMessages: { name: string; body: string; expect: string }[] = JSON.parse(
  readFileSync('../shared/samples/bad-messages.json', 'utf8'),
);
const sample = readFileSync('../shared/samples/oms-events.jsonl', 'utf8').trim().split('\n');

const event = (fields: Record<string, unknown>) =>
  JSON.stringify({ occurredAt: '2026-11-20T10:00:00+05:30', sku: 'SAM-TV-1001', ...fields });

/** Wraps db and transport to journal the order of commits and settlements, and to fail commits. */
function instrument(
  db: Database,
  transport: QueueTransport,
  journal: string[],
  failFirstCommits = 0,
  loseFirstAccepts = 0,
) {
  let failures = failFirstCommits;
  let lost = loseFirstAccepts;
  const wrappedDb: Database = {
    ...db,
    query: db.query.bind(db),
    transaction: async (fn) => {
      const result = await db.transaction(async (tx) => {
        const r = await fn(tx);
        if (failures > 0) {
          failures--;
          throw new Error('injected failure before commit');
        }
        return r;
      });
      journal.push('commit');
      return result;
    },
  };
  const wrappedTransport: QueueTransport = {
    ...transport,
    consume: (q, o) =>
      transport.consume(q, o).pipe(
        map(
          (d): Delivery => ({
            body: d.body,
            messageId: d.messageId,
            deliveryCount: d.deliveryCount,
            properties: d.properties,
            accept: async () => {
              journal.push(`accept ${d.body}`);
              if (lost > 0) {
                // The settlement never reaches the broker (connection lost): it comes again.
                lost--;
                await d.release();
                return;
              }
              await d.accept();
            },
            release: () => d.release(),
            backout: async (reason) => {
              journal.push(`backout ${d.body}`);
              await d.backout(reason);
            },
          }),
        ),
      ),
  };
  return { db: wrappedDb, transport: wrappedTransport };
}

/** The database, failing with `error()` for `ms` from its first transaction on. */
function outage(db: Database, ms: number, error: () => Error): { db: Database; until(): number } {
  let until = 0;
  const check = () => {
    if (until === 0) until = Date.now() + ms;
    if (Date.now() < until) throw error();
  };
  return {
    until: () => until,
    db: {
      ...db,
      query: async (sql, params) => {
        if (until !== 0) check();
        return db.query(sql, params);
      },
      transaction: async (fn) => {
        check();
        return db.transaction(fn);
      },
    },
  };
}

const settledCount = (s: InboundStats) => s.accepted + s.duplicates + s.rejected;

interface Harness {
  name: string;
  /** A transport whose backout queue is `backout`. */
  transport(db: Database, backout: string): QueueTransport;
  /** The messages on the backout queue, in order (waits for `n` on a broker). */
  backedOut(
    db: Database,
    t: QueueTransport,
    backout: string,
    n: number,
  ): Promise<{ body: string; reason: string }[]>;
  cleanup(): Promise<void>;
}

const embedded: Harness = {
  name: 'the embedded queue',
  transport: (db, backout) => createEmbeddedTransport({ db, backoutQueue: backout }),
  backedOut: (db, _t, backout) =>
    db.query<{ body: string; reason: string }>(
      'select body, reason from backout_message where queue = ? order by id',
      [backout],
    ),
  cleanup: async () => {},
};

const RUN = `mb-inbound-it-${randomUUID().slice(0, 8)}`;
const amqpTransports: QueueTransport[] = [];
const amqp: Harness = {
  name: 'AMQP 1.0 (RabbitMQ)',
  transport: (_db, backout) => {
    const t = createAmqpTransport({
      url: AMQP_URL,
      backoutQueue: backout,
      reconnect: { initialDelayMs: 50, maxDelayMs: 500 },
    });
    amqpTransports.push(t);
    return t;
  },
  backedOut: async (_db, t, backout, n) => {
    const got: { body: string; reason: string }[] = [];
    const sub = t.consume(backout, { prefetch: 100 }).subscribe((d) => {
      got.push({ body: d.body, reason: String(d.properties.backout_reason ?? '') });
      void d.accept();
    });
    try {
      await waitFor(`${n} messages on ${backout}`, () => got.length >= n, 10_000);
    } finally {
      sub.unsubscribe();
    }
    return got;
  },
  cleanup: async () => {
    for (const t of amqpTransports) await t.close();
    await new Promise<void>((resolve) =>
      execFile(
        'rabbitmqctl',
        [
          'eval',
          `length([ok || Q <- rabbit_amqqueue:list(<<"/">>), lists:prefix("${RUN}", binary_to_list(element(4, amqqueue:get_name(Q)))), {ok, _} <- [rabbit_amqqueue:delete(Q, false, false, <<"it">>)]]).`,
        ],
        { timeout: 20_000 },
        () => resolve(),
      ),
    );
  },
};

for (const h of [embedded, amqp]) {
  describe(`inbound pipeline on ${h.name}, real PostgreSQL`, () => {
    let t: TestDatabase;
    const routed: RoutedEvent[] = [];
    let n = 0;
    /** Fresh queue names per test, so tests do not see each other's messages. */
    const queues = () => {
      n++;
      return { queue: `${RUN}.in${n}`, backout: `${RUN}.in${n}.BACKOUT` };
    };
    const options = (
      overrides: Partial<InboundOptions> & Pick<InboundOptions, 'transport' | 'queue'>,
    ): InboundOptions => ({
      db: t.db,
      prefetch: 50,
      backoutThreshold: 5,
      maxMessageBytes: 262144,
      marketplaces: ['amazon'] as MarketplaceId[],
      clock: systemClock,
      logger,
      onRouted: (ev) => routed.push(...ev),
      batchMs: 5,
      ...overrides,
    });

    before(async () => {
      t = await createTestDatabase();
      // Listings that price and stock events route to.
      await t.db.query(
        `insert into listing (sku, marketplace, state) values ('SAM-TV-1001', 'amazon', 'listed'), ('LG/WM 8KG+STEAM,BLK', 'amazon', 'listed')`,
      );
    });
    after(async () => {
      await h.cleanup();
      await t.drop();
    });

    it('sends every bad message of the corpus to the backout queue with its reason, and goes on', async () => {
      routed.length = 0;
      const { queue, backout } = queues();
      const transport = h.transport(t.db, backout);
      const valid = event({ id: `${queue}-VALID-1`, type: 'price.update', price: 30000, mrp: 39080 });
      // The corpus's duplicate-delivery entry is a redelivery of the sample's first event.
      const bodies = [sample[0]!, ...badMessages.map((b) => b.body), valid];
      for (const b of bodies) await transport.publish(queue, b);
      const inbound = startInbound(options({ transport, queue }));
      await waitFor('every message settled', () => settledCount(inbound.stats) === bodies.length);
      inbound.stop();

      const expectedRejected = badMessages.filter((b) => b.expect.startsWith('rejected'));
      const backedOut = await h.backedOut(t.db, transport, backout, expectedRejected.length);
      assert.deepEqual(
        backedOut.map((b) => b.body),
        expectedRejected.map((b) => b.body),
      );
      for (const b of backedOut) assert.ok(b.reason.length > 5, `a reason for ${b.body}`);
      const rows = await t.db.query<{ idempotency_key: string; status: string }>(
        'select idempotency_key, status from event_log where id > (select coalesce(max(id), 0) from event_log) - ? order by id',
        [bodies.length + 1],
      );
      const accepted = rows.filter((r) => r.status === 'accepted').map((r) => r.idempotency_key);
      assert.ok(accepted.includes(`${queue}-VALID-1`));
      assert.ok(accepted.includes('OMS-X-10'), 'the SKU with URL characters is valid');
      assert.equal(inbound.stats.rejected, expectedRejected.length);
      assert.ok(
        routed.some((r) => r.key === 'listing:amazon:LG/WM 8KG+STEAM,BLK' && r.event.type === 'STOCK'),
      );
      // The first sample event and the corpus's redelivery of it: one accepted, one duplicate.
      const first = await t.db.query<{ status: string }>(
        "select status from event_log where idempotency_key = 'OMS-20261120-000001' order by id",
      );
      assert.deepEqual(
        first.map((r) => r.status),
        ['accepted', 'duplicate'],
      );
    });

    it('settles a message only after its event row is committed; a failed commit means redelivery', async () => {
      routed.length = 0;
      const { queue, backout } = queues();
      const journal: string[] = [];
      const base = h.transport(t.db, backout);
      const { db, transport } = instrument(t.db, base, journal, 1);
      const body = event({ id: `${queue}-SETTLE-1`, type: 'stock.update', quantity: 4 });
      await base.publish(queue, body);
      const inbound = startInbound(options({ transport, db, queue }));
      await waitFor('message settled', () => settledCount(inbound.stats) === 1);
      inbound.stop();
      assert.equal(inbound.stats.failedBatches, 1);
      const acceptAt = journal.indexOf(`accept ${body}`);
      assert.ok(acceptAt > 0, 'accepted');
      assert.equal(journal[acceptAt - 1], 'commit', 'the accept follows a commit');
      assert.equal(journal.filter((j) => j.startsWith('accept')).length, 1, 'accepted once');
      const rows = await t.db.query<{ status: string }>(
        'select status from event_log where idempotency_key = ?',
        [`${queue}-SETTLE-1`],
      );
      assert.deepEqual(
        rows.map((r) => r.status),
        ['accepted'],
      );
      assert.equal(routed.length, 1, 'applied once although delivered twice');
    });

    it('acknowledges a redelivered id without applying it again', async () => {
      routed.length = 0;
      const { queue, backout } = queues();
      const transport = h.transport(t.db, backout);
      const body = event({ id: `${queue}-DUP-1`, type: 'price.update', price: 31000, mrp: 39080 });
      await transport.publish(queue, body);
      const first = startInbound(options({ transport, queue }));
      await waitFor('first copy', () => settledCount(first.stats) === 1);
      first.stop();
      await transport.publish(queue, body);
      const second = startInbound(options({ transport, queue }));
      await waitFor('second copy', () => settledCount(second.stats) === 1);
      second.stop();
      assert.equal(routed.length, 1);
      assert.equal(second.stats.duplicates, 1);
      const inbox = await t.db.query<{ n: string }>(
        'select count(*) as n from actor_inbox i join event_log e on e.id = i.event_id where e.idempotency_key = ?',
        [`${queue}-DUP-1`],
      );
      assert.equal(Number(inbox[0]!.n), 1);
    });

    it('moves a message that keeps failing past the backout threshold to the backout queue', async () => {
      const { queue, backout } = queues();
      const transport = h.transport(t.db, backout);
      const body = event({ id: `${queue}-POISON-1`, type: 'stock.update', quantity: 1 });
      await transport.publish(queue, body);
      const { db, transport: tr } = instrument(t.db, transport, [], 2);
      const inbound = startInbound(options({ transport: tr, db, queue, backoutThreshold: 2 }));
      await waitFor('poison moved', () => inbound.stats.rejected === 1, 30_000);
      inbound.stop();
      const out = await h.backedOut(t.db, transport, backout, 1);
      assert.equal(out.length, 1);
      assert.equal(out[0]!.body, body);
      assert.match(out[0]!.reason, /delivered 3 times/);
    });

    it('holds the messages in hand while the database is down: none counted towards backout, order kept', async () => {
      const { queue, backout } = queues();
      const transport = h.transport(t.db, backout);
      const ids = Array.from({ length: 40 }, (_, i) => `${queue}-OUTAGE-${i}`);
      for (const [i, id] of ids.entries())
        await transport.publish(queue, event({ id, type: 'stock.update', quantity: i }));
      // The database goes away for 2 s from the first transaction (the broker stays up).
      const down = outage(t.db, 2_000, () => new Error('connect ECONNREFUSED 127.0.0.1:5432'));
      const db = down.db;
      const inbound = startInbound(options({ transport, db, queue, backoutThreshold: 2, prefetch: 10 }));
      await waitFor('all accepted', () => inbound.stats.accepted === ids.length, 30_000);
      inbound.stop();
      assert.ok(Date.now() >= down.until(), 'the outage happened while consuming');
      assert.equal(inbound.stats.rejected, 0, 'no good message sent to backout');
      const rows = await t.db.query<{ idempotency_key: string }>(
        `select idempotency_key from event_log where idempotency_key like ? and status = 'accepted' order by id`,
        [`${queue}-OUTAGE-%`],
      );
      assert.deepEqual(
        rows.map((r) => r.idempotency_key),
        ids,
        'committed in queue order',
      );
    });

    for (const [kind, makeError] of [
      ['retryable', () => new RetryableError('backout queue full')],
      ['terminal', () => new TerminalError('backout queue forbidden')],
    ] as const) {
      it(`gives back a rejected message the backout queue refuses (${kind}) instead of holding its slot`, async () => {
        const { queue, backout } = queues();
        const transport = h.transport(t.db, backout);
        const bad = `${queue}-not-json`;
        const good = event({ id: `${queue}-AFTER-BAD`, type: 'stock.update', quantity: 2 });
        await transport.publish(queue, bad);
        await transport.publish(queue, good);
        let refusals = 1;
        const refusing: QueueTransport = {
          ...transport,
          consume: (q, o) =>
            transport.consume(q, o).pipe(
              map(
                (d): Delivery => ({
                  ...d,
                  body: d.body,
                  accept: () => d.accept(),
                  release: () => d.release(),
                  backout: async (reason) => {
                    if (refusals > 0) {
                      refusals--;
                      throw makeError();
                    }
                    await d.backout(reason);
                  },
                }),
              ),
            ),
        };
        const fatal: Error[] = [];
        const inbound = startInbound(
          options({ transport: refusing, queue, batchMs: 1, prefetch: 1, onFatal: (e) => fatal.push(e) }),
        );
        if (kind === 'terminal') {
          await waitFor('stopped', () => fatal.length === 1, 10_000);
          assert.match(
            fatal[0]!.message,
            /could not move a rejected message to the backout queue: backout queue forbidden/,
          );
          inbound.stop();
          const left = await h.backedOut(t.db, transport, backout, 0);
          assert.deepEqual(left, [], 'nothing moved');
          // Nothing lost: both are still there for the next consumer.
          const next = startInbound(options({ transport, queue, batchMs: 1 }));
          await waitFor('both settled', () => next.stats.rejected === 1 && next.stats.accepted === 1, 15_000);
          next.stop();
        } else {
          await waitFor(
            'both settled',
            () => inbound.stats.rejected === 1 && inbound.stats.accepted === 1,
            15_000,
          );
          inbound.stop();
          assert.deepEqual(fatal, []);
        }
        const moved = await h.backedOut(t.db, transport, backout, 1);
        assert.deepEqual(
          moved.map((m) => m.body),
          [bad],
        );
      });
    }

    it('acknowledges a message past the threshold that was applied already (its settlements lost) as a duplicate', async () => {
      const { queue, backout } = queues();
      const transport = h.transport(t.db, backout);
      const id = `${queue}-LOST-ACK-1`;
      await transport.publish(queue, event({ id, type: 'stock.update', quantity: 4 }));
      const { db, transport: tr } = instrument(t.db, transport, [], 0, 2);
      const inbound = startInbound(options({ transport: tr, db, queue, backoutThreshold: 2 }));
      await waitFor('settled', () => inbound.stats.duplicates === 2, 30_000);
      await new Promise((r) => setTimeout(r, 300));
      inbound.stop();
      assert.equal(inbound.stats.rejected, 0);
      const rows = await t.db.query<{ status: string; n: string }>(
        'select status, count(*) as n from event_log where idempotency_key = ? group by status order by status',
        [id],
      );
      assert.deepEqual(
        rows.map((r) => [r.status, Number(r.n)]),
        [
          ['accepted', 1],
          ['duplicate', 2],
        ],
      );
      assert.deepEqual(await h.backedOut(t.db, transport, backout, 0), [], 'nothing on the backout queue');
    });
  });
}

describe('inbound pipeline: what one message must not do to the others (embedded queue, real PostgreSQL)', () => {
  let t: TestDatabase;
  const QUEUE = `${RUN}.isolation`;
  const routed: RoutedEvent[] = [];
  before(async () => {
    t = await createTestDatabase();
  });
  after(async () => t.drop());
  const start = (db: Database, transport: QueueTransport) =>
    startInbound({
      transport,
      db,
      queue: QUEUE,
      prefetch: 50,
      backoutThreshold: 5,
      maxMessageBytes: 262144,
      marketplaces: ['amazon'],
      clock: systemClock,
      logger,
      onRouted: (ev) => routed.push(...ev),
      batchMs: 50,
    });

  it('rejects only the message the database refuses, and commits the rest of its batch', async () => {
    const transport = createEmbeddedTransport({ db: t.db, backoutQueue: `${QUEUE}.BACKOUT` });
    const bodies = [1, 2, 3].map((i) => event({ id: `ISO-${i}`, type: 'stock.update', quantity: i }));
    // The database refuses whatever transaction carries ISO-2, as it would an out-of-range value.
    const refusing: Database = {
      ...t.db,
      query: t.db.query.bind(t.db),
      transaction: (fn) =>
        t.db.transaction(async (tx) => ({
          ...(await fn({
            query: async (sql, params) => {
              if (
                /insert into event_log/.test(sql) &&
                JSON.stringify(params).includes('ISO-2') &&
                /accepted/.test(sql)
              ) {
                throw Object.assign(new Error('value out of range'), { code: '22008' });
              }
              return tx.query(sql, params);
            },
          })),
        })),
    };
    await transport.publishMany(QUEUE, bodies);
    const inbound = start(refusing, transport);
    await waitFor('all settled', () => settledCount(inbound.stats) === 3);
    inbound.stop();
    assert.equal(inbound.stats.accepted, 2);
    assert.equal(inbound.stats.rejected, 1);
    const rows = await t.db.query<{ idempotency_key: string; status: string; reason: string | null }>(
      "select idempotency_key, status, reason from event_log where idempotency_key like 'ISO-%' order by idempotency_key",
    );
    assert.deepEqual(
      rows.map((r) => [r.idempotency_key, r.status]),
      [
        ['ISO-1', 'accepted'],
        ['ISO-2', 'rejected'],
        ['ISO-3', 'accepted'],
      ],
    );
    assert.match(rows[1]!.reason ?? '', /could not be stored: value out of range \[22008\]/);
    const backout = await t.db.query<{ body: string }>('select body from backout_message where queue = ?', [
      `${QUEUE}.BACKOUT`,
    ]);
    assert.deepEqual(
      backout.map((b) => b.body),
      [bodies[1]],
    );
  });

  it('lets the messages behind one the database keeps refusing go through, and backs out only that one', async () => {
    const transport = createEmbeddedTransport({ db: t.db, backoutQueue: `${QUEUE}.BACKOUT2` });
    const bodies = ['A', 'B', 'C'].map((x) => event({ id: `STUCK-${x}`, type: 'stock.update', quantity: 1 }));
    // A trigger-like refusal with no data-error code: it looks transient, so it is retried.
    const refusing: Database = {
      ...t.db,
      query: t.db.query.bind(t.db),
      transaction: (fn) =>
        t.db.transaction((tx) =>
          fn({
            query: async (sql, params) => {
              if (
                /insert into event_log/.test(sql) &&
                /'accepted'/.test(sql) &&
                JSON.stringify(params).includes('STUCK-B')
              )
                throw new Error('refused by a trigger');
              return tx.query(sql, params);
            },
          }),
        ),
    };
    await transport.publishMany(QUEUE, bodies);
    const inbound = startInbound({
      transport,
      db: refusing,
      queue: QUEUE,
      prefetch: 50,
      backoutThreshold: 2,
      maxMessageBytes: 262144,
      marketplaces: ['amazon'],
      clock: systemClock,
      logger,
      onRouted: () => {},
      batchMs: 50,
    });
    await waitFor('all settled', () => settledCount(inbound.stats) === 3, 30_000);
    inbound.stop();
    const rows = await t.db.query<{ idempotency_key: string; status: string }>(
      "select idempotency_key, status from event_log where idempotency_key like 'STUCK-%' order by idempotency_key",
    );
    assert.deepEqual(
      rows.map((r) => [r.idempotency_key, r.status]),
      [
        ['STUCK-A', 'accepted'],
        ['STUCK-B', 'rejected'],
        ['STUCK-C', 'accepted'],
      ],
    );
    const backout = await t.db.query<{ body: string }>('select body from backout_message where queue = ?', [
      `${QUEUE}.BACKOUT2`,
    ]);
    assert.deepEqual(
      backout.map((b) => b.body),
      [bodies[1]],
      'only the refused message is backed out',
    );
  });

  it('gives a listing actor created late the newer stock and price that arrived before its product.list', async () => {
    routed.length = 0;
    const transport = createEmbeddedTransport({ db: t.db, backoutQueue: `${QUEUE}.BACKOUT` });
    const sku = 'LATE-LIST-1';
    const list = JSON.stringify(JSON.parse(sample[0]!));
    const product = {
      ...JSON.parse(list),
      id: 'LATE-3',
      sku,
      marketplaces: ['amazon'],
      occurredAt: '2026-11-20T09:00:00+05:30',
    };
    // Newer stock and price first (a redelivery reordered them), in an earlier batch.
    await transport.publishMany(QUEUE, [
      event({
        id: 'LATE-1',
        type: 'stock.update',
        sku,
        quantity: 0,
        occurredAt: '2026-11-20T10:00:00+05:30',
      }),
      event({
        id: 'LATE-2',
        type: 'price.update',
        sku,
        price: 90,
        mrp: 100,
        occurredAt: '2026-11-20T10:00:00+05:30',
      }),
    ]);
    const first = start(t.db, transport);
    await waitFor('first batch', () => settledCount(first.stats) === 2);
    first.stop();
    assert.equal(routed.length, 0, 'nothing is listed yet');
    await transport.publish(QUEUE, JSON.stringify(product));
    const second = start(t.db, transport);
    await waitFor('product.list', () => settledCount(second.stats) === 1);
    second.stop();
    const forKey = routed.filter((r) => r.key === `listing:amazon:${sku}`).map((r) => r.event);
    assert.deepEqual(
      forKey.map((e) => e.type),
      ['STOCK', 'PRICE', 'LIST'],
    );
    assert.equal(forKey[0]!.quantity, 0);
    assert.equal(forKey[1]!.price, 90);
    assert.ok((forKey[0]!.seq as number) < (forKey[2]!.seq as number), 'seeds keep their own, earlier seq');
  });
});

describe('inbound pipeline while the database comes and goes (real PostgreSQL)', () => {
  let t: TestDatabase;
  before(async () => {
    t = await createTestDatabase();
  });
  after(async () => t.drop());

  /** The database as the consumer sees it: terminated (57P01) for `ms` from the first transaction. */
  const terminated = (ms: number) =>
    outage(t.db, ms, () =>
      Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
    ).db;

  const start = (transport: QueueTransport, db: Database, queue: string, backoutThreshold = 1) =>
    startInbound({
      transport,
      db,
      queue,
      prefetch: 10,
      backoutThreshold,
      maxMessageBytes: 262144,
      marketplaces: ['amazon'],
      clock: systemClock,
      logger,
      onRouted: () => {},
      batchMs: 5,
    });

  it('embedded queue in the same database: held messages are applied once, none backed out (threshold 1)', async () => {
    const queue = `${RUN}.flap-embedded`;
    const db = terminated(1_500);
    const transport = createEmbeddedTransport({ db, backoutQueue: `${queue}.BO`, pollMs: 20 });
    const ids = ['F1', 'F2', 'F3'].map((x) => `${queue}-${x}`);
    await transport.publishMany(
      queue,
      ids.map((id) => event({ id, type: 'stock.update', quantity: 1 })),
    );
    const inbound = start(transport, db, queue);
    await waitFor('applied', () => inbound.stats.accepted === ids.length, 20_000);
    inbound.stop();
    assert.equal(inbound.stats.rejected, 0);
    const rows = await t.db.query<{ status: string; n: string }>(
      'select status, count(*) as n from event_log where idempotency_key like ? group by status',
      [`${queue}-%`],
    );
    assert.deepEqual(
      rows.map((r) => [r.status, Number(r.n)]),
      [['accepted', 3]],
    );
    assert.equal(await transport.depth(`${queue}.BO`), 0);
  });

  it('abandons a held batch when the transport restarts, so the redelivered copies are the ones applied', async () => {
    const queue = `${RUN}.flap-restart`;
    const bodies = ['R1', 'R2'].map((x) => event({ id: `${queue}-${x}`, type: 'stock.update', quantity: 2 }));
    const settled: string[] = [];
    let subscriptions = 0;
    // A broker that drops the consumer 300 ms after delivering, then delivers the same again.
    const transport: QueueTransport = {
      kind: 'amqp',
      consume: () =>
        new Observable<Delivery>((sub) => {
          const round = ++subscriptions;
          for (const body of bodies) {
            const tag = `${round}:${JSON.parse(body).id}`;
            sub.next({
              body,
              messageId: undefined,
              deliveryCount: round,
              properties: {},
              accept: async () => void settled.push(`accept ${tag}`),
              release: async () => void settled.push(`release ${tag}`),
              backout: async () => void settled.push(`backout ${tag}`),
            });
          }
          const timer =
            round === 1 ? setTimeout(() => sub.error(new RetryableError('connection lost')), 300) : undefined;
          return () => clearTimeout(timer);
        }),
      publish: async () => {},
      health: () => 'up',
      close: async () => {},
    };
    const inbound = start(transport, terminated(1_500), queue, 2);
    await waitFor('applied', () => inbound.stats.accepted === 2, 20_000);
    await new Promise((r) => setTimeout(r, 300));
    inbound.stop();
    assert.deepEqual(settled.filter((s) => s.startsWith('accept')).sort(), [
      `accept 2:${queue}-R1`,
      `accept 2:${queue}-R2`,
    ]);
    assert.ok(!settled.some((s) => s.startsWith('backout')), settled.join(', '));
    assert.ok(!settled.some((s) => s.startsWith('accept 1:')), 'the abandoned copies are never accepted');
  });
});
