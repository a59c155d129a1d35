/**
 * The embedded queue's own promises (real PostgreSQL): a settlement the database refuses does
 * not cost the consumer its slot; the message comes again instead.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Subscription } from 'rxjs';
import type { Database } from '../../src/persistence/database.js';
import { createEmbeddedTransport } from '../../src/streams/embedded.js';
import type { Delivery } from '../../src/streams/transport.js';
import { createTestDatabase, type TestDatabase, waitFor } from '../helpers/db.js';

/** The database, refusing the first `n` statements that match `pattern`. */
function refusing(db: Database, pattern: RegExp, n: number): Database {
  let left = n;
  const refuse = (sql: string) => {
    if (left > 0 && pattern.test(sql)) {
      left--;
      throw new Error('connection terminated');
    }
  };
  return {
    ...db,
    query: async (sql, params) => {
      refuse(sql);
      return db.query(sql, params);
    },
    transaction: (fn) =>
      db.transaction((tx) =>
        fn({
          query: async (sql, params) => {
            refuse(sql);
            return tx.query(sql, params);
          },
        }),
      ),
  };
}

describe('embedded queue (real PostgreSQL)', () => {
  let t: TestDatabase;
  const subs: Subscription[] = [];
  before(async () => {
    t = await createTestDatabase();
  });
  after(async () => {
    for (const s of subs) s.unsubscribe();
    await t.drop();
  });

  for (const [what, pattern, settle] of [
    ['accept', /^delete from queue_message where id in/, (d: Delivery) => d.accept()],
    ['backout', /^insert into backout_message/, (d: Delivery) => d.backout('bad')],
  ] as const) {
    it(`delivers again a message whose ${what} failed, and goes on consuming with prefetch 1`, async () => {
      const queue = `embedded-it-${what}`;
      const transport = createEmbeddedTransport({
        db: refusing(t.db, pattern, 1),
        backoutQueue: `${queue}.BO`,
        pollMs: 20,
      });
      await transport.publish(queue, 'first');
      const got: Delivery[] = [];
      const failures: unknown[] = [];
      subs.push(
        transport.consume(queue, { prefetch: 1 }).subscribe((d) => {
          got.push(d);
          settle(d).catch((e) => failures.push(e));
        }),
      );
      await waitFor('delivered again', () => got.length >= 2);
      assert.equal(failures.length, 1, 'the first settlement failed');
      assert.deepEqual(
        got.slice(0, 2).map((d) => [d.body, d.deliveryCount]),
        [
          ['first', 1],
          ['first', 2],
        ],
      );
      await transport.publish(queue, 'second');
      await waitFor('the next one too', () => got.some((d) => d.body === 'second'));
      await waitFor('queue empty', async () => (await transport.depth(queue)) === 0);
    });
  }
});
