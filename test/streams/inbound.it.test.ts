import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { map } from 'rxjs';
import { systemClock } from '../../src/core/clock.js';
import type { MarketplaceId } from '../../src/domain/types.js';
import type { Database } from '../../src/persistence/database.js';
import { createEmbeddedTransport } from '../../src/streams/embedded.js';
import { type InboundOptions, startInbound } from '../../src/streams/inbound.js';
import type { RoutedEvent } from '../../src/streams/routing.js';
import type { Delivery, QueueTransport } from '../../src/streams/transport.js';
import { createTestDatabase, type TestDatabase, waitFor } from '../helpers/db.js';

const logger = pino({ level: 'silent' });
const QUEUE = 'OMS.MARKETPLACE.EVENTS';
const BACKOUT = 'OMS.MARKETPLACE.EVENTS.BACKOUT';
const badMessages: { name: string; body: string; expect: string }[] = JSON.parse(
  readFileSync('../shared/samples/bad-messages.json', 'utf8'),
);
const sample = readFileSync('../shared/samples/oms-events.jsonl', 'utf8').trim().split('\n');

const event = (fields: Record<string, unknown>) =>
  JSON.stringify({ occurredAt: '2026-11-20T10:00:00+05:30', sku: 'SAM-TV-1001', ...fields });

/** Wraps db and transport to journal the order of commits and settlements, and to fail commits. */
function instrument(db: Database, transport: QueueTransport, journal: string[], failFirstCommits = 0) {
  let failures = failFirstCommits;
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

describe('inbound pipeline on the embedded queue (real PostgreSQL)', () => {
  let t: TestDatabase;
  const routed: RoutedEvent[] = [];
  const options = (overrides: Partial<InboundOptions> = {}): InboundOptions => ({
    transport: createEmbeddedTransport({ db: t.db, backoutQueue: BACKOUT }),
    db: t.db,
    queue: QUEUE,
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
  const depth = () => createEmbeddedTransport({ db: t.db, backoutQueue: BACKOUT }).depth(QUEUE);

  before(async () => {
    t = await createTestDatabase();
    // Listings that the sample's price and stock events route to.
    await t.db.query(
      `insert into listing (sku, marketplace, state) values ('SAM-TV-1001', 'amazon', 'listed'), ('LG/WM 8KG+STEAM,BLK', 'amazon', 'listed')`,
    );
  });
  after(async () => t.drop());

  it('sends every bad message of the corpus to the backout table with its reason, and goes on', async () => {
    routed.length = 0;
    const transport = createEmbeddedTransport({ db: t.db, backoutQueue: BACKOUT });
    const valid = event({ id: 'OMS-IT-VALID-1', type: 'price.update', price: 30000, mrp: 39080 });
    // The corpus's duplicate-delivery entry is a redelivery of the sample's first event.
    await transport.publishMany(QUEUE, [sample[0]!, ...badMessages.map((b) => b.body), valid]);
    const inbound = startInbound(options({ transport }));
    await waitFor('queue drained', async () => (await depth()) === 0);
    inbound.stop();

    const expectedRejected = badMessages.filter((b) => b.expect.startsWith('rejected'));
    const backout = await t.db.query<{ body: string; reason: string; original_queue: string }>(
      'select body, reason, original_queue from backout_message order by id',
    );
    assert.deepEqual(
      backout.map((b) => b.body),
      expectedRejected.map((b) => b.body),
    );
    for (const b of backout) {
      assert.ok(b.reason.length > 5, `a reason for ${b.body}`);
      assert.equal(b.original_queue, QUEUE);
    }
    const rows = await t.db.query<{ idempotency_key: string; status: string }>(
      'select idempotency_key, status from event_log order by id',
    );
    const accepted = rows.filter((r) => r.status === 'accepted').map((r) => r.idempotency_key);
    assert.deepEqual(accepted.sort(), ['OMS-20261120-000001', 'OMS-IT-VALID-1', 'OMS-X-10'].sort());
    assert.equal(
      rows.filter((r) => r.status === 'duplicate').length,
      1,
      'the redelivered id is recorded as duplicate',
    );
    assert.equal(rows.filter((r) => r.status === 'rejected').length, expectedRejected.length);
    assert.ok(routed.some((r) => r.key === 'listing:amazon:LG/WM 8KG+STEAM,BLK' && r.event.type === 'STOCK'));
    assert.equal(inbound.stats.rejected, expectedRejected.length);
    assert.equal(inbound.stats.duplicates, 1);
  });

  it('settles a message only after its event row is committed; a failed commit means redelivery', async () => {
    routed.length = 0;
    const journal: string[] = [];
    const base = createEmbeddedTransport({ db: t.db, backoutQueue: BACKOUT });
    const { db, transport } = instrument(t.db, base, journal, 1);
    const body = event({ id: 'OMS-IT-SETTLE-1', type: 'stock.update', quantity: 4 });
    await base.publish(QUEUE, body);
    const inbound = startInbound(options({ transport, db }));
    await waitFor('message settled', async () => (await depth()) === 0);
    inbound.stop();
    assert.equal(inbound.stats.failedBatches, 1);
    const acceptAt = journal.indexOf(`accept ${body}`);
    assert.ok(acceptAt > 0, 'accepted');
    assert.equal(journal[acceptAt - 1], 'commit', 'the accept follows a commit');
    assert.equal(journal.filter((j) => j.startsWith('accept')).length, 1, 'accepted once');
    const rows = await t.db.query<{ status: string }>(
      "select status from event_log where idempotency_key = 'OMS-IT-SETTLE-1'",
    );
    assert.deepEqual(
      rows.map((r) => r.status),
      ['accepted'],
    );
    assert.equal(routed.length, 1, 'applied once although delivered twice');
  });

  it('acknowledges a redelivered id without applying it again', async () => {
    routed.length = 0;
    const transport = createEmbeddedTransport({ db: t.db, backoutQueue: BACKOUT });
    const body = event({ id: 'OMS-IT-DUP-1', type: 'price.update', price: 31000, mrp: 39080 });
    await transport.publish(QUEUE, body);
    const first = startInbound(options({ transport }));
    await waitFor('first copy', async () => (await depth()) === 0);
    first.stop();
    await transport.publish(QUEUE, body);
    const second = startInbound(options({ transport }));
    await waitFor('second copy', async () => (await depth()) === 0);
    second.stop();
    assert.equal(routed.length, 1);
    assert.equal(second.stats.duplicates, 1);
    const inbox = await t.db.query<{ n: string }>(
      "select count(*) as n from actor_inbox i join event_log e on e.id = i.event_id where e.idempotency_key = 'OMS-IT-DUP-1'",
    );
    assert.equal(Number(inbox[0]!.n), 1);
  });

  it('moves a message that keeps failing past the backout threshold to the backout table', async () => {
    const transport = createEmbeddedTransport({ db: t.db, backoutQueue: BACKOUT });
    const body = event({ id: 'OMS-IT-POISON-1', type: 'stock.update', quantity: 1 });
    await transport.publish(QUEUE, body);
    const { db, transport: tr } = instrument(t.db, transport, [], 2);
    const inbound = startInbound(options({ transport: tr, db, backoutThreshold: 2 }));
    await waitFor('poison moved', async () => (await depth()) === 0, 30_000);
    inbound.stop();
    const rows = await t.db.query<{ reason: string }>('select reason from backout_message where body = ?', [
      body,
    ]);
    assert.equal(rows.length, 1);
    assert.match(rows[0]!.reason, /delivered 3 times/);
  });
});
