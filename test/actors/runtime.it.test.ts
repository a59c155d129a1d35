/**
 * The actor runtime against the real PostgreSQL: snapshots and read models written with each
 * change, hydration and crash recovery from them, passivation, per-key ordering and coalescing.
 * Each test has a database of its own (a runtime's `start()` looks at every snapshot and inbox row).
 */
import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';
import { pino } from 'pino';
import { listingKind } from '../../src/actors/listing-kind.js';
import { type ActorEvent, ActorRuntime } from '../../src/actors/runtime.js';
import { type Clock, ManualClock, systemClock } from '../../src/core/clock.js';
import { RetryableError, TerminalError } from '../../src/core/errors.js';
import type { ListingChange, ListingDraft, ProductInfo } from '../../src/domain/types.js';
import { LISTING_MACHINE_VERSION, type ListingContext } from '../../src/machines/index.js';
import type { Database } from '../../src/persistence/database.js';
import { createTestDatabase, type TestDatabase, waitFor } from '../helpers/db.js';
import { FakeListingAdapter } from './fake-listing-adapter.js';

const logger = pino({ level: 'silent' });

/** OMS instants: event `seq` happened `seq` minutes after this. */
const REFERENCE_TIMESTAMP = Date.parse('2026-11-20T10:00:00+05:30');
const at = (seq: number) => new Date(REFERENCE_TIMESTAMP + seq * 60_000).toISOString();

const PRODUCT: ProductInfo = {
  title: 'Samsung Crystal 4K UHD Smart LED TV 43 inch',
  brand: 'Samsung',
  ean: '8981519975873',
  productType: 'TELEVISION',
  attributes: { warrantyMonths: 24, color: 'Black' },
};
const LIST_PRICE = 35150;
const MRP = 39080;
const LIST_QUANTITY = 15;

/** Actor events as routeListingEvent makes them, with the `seq` inbound adds. */
const list = (seq: number): ActorEvent => ({
  type: 'LIST',
  seq,
  occurredAt: at(seq),
  product: PRODUCT,
  price: LIST_PRICE,
  mrp: MRP,
  quantity: LIST_QUANTITY,
});
const price = (seq: number, value: number, occurredAt = at(seq)): ActorEvent => ({
  type: 'PRICE',
  seq,
  occurredAt,
  price: value,
  mrp: MRP,
});
const stock = (seq: number, quantity: number): ActorEvent => ({
  type: 'STOCK',
  seq,
  occurredAt: at(seq),
  quantity,
});

const keyOf = (sku: string) => `listing:amazon:${sku}`;

interface SnapshotRow {
  machine: string;
  machine_version: number;
  state: string;
  snapshot: { value: unknown; context: ListingContext };
  last_event_id: string;
  version: number;
}
interface ListingRow {
  state: string;
  desired_price: string | null;
  confirmed_price: string | null;
  mrp: string | null;
  desired_quantity: number | null;
  confirmed_quantity: number | null;
  last_error: string | null;
  coalesced_updates: number;
  last_event_id: string;
}

async function snapshotRow(db: Database, key: string): Promise<SnapshotRow | undefined> {
  const rows = await db.query<SnapshotRow>(
    'select machine, machine_version, state, snapshot, last_event_id, version from actor_snapshot where actor_key = ?',
    [key],
  );
  return rows[0];
}

async function listingRow(db: Database, sku: string): Promise<ListingRow | undefined> {
  const rows = await db.query<ListingRow>(
    `select state, desired_price, confirmed_price, mrp, desired_quantity, confirmed_quantity, last_error,
            coalesced_updates, last_event_id
     from listing where sku = ? and marketplace = 'amazon'`,
    [sku],
  );
  return rows[0];
}

const money = (v: string | null) => (v === null ? null : Number(v));

// ---- fixtures: every database and runtime a test opens is closed after it ---------------------

const databases: TestDatabase[] = [];
const runtimes: ActorRuntime[] = [];

async function freshDatabase(): Promise<Database> {
  const t = await createTestDatabase();
  databases.push(t);
  return t.db;
}

interface RuntimeSetup {
  clock?: Clock;
  idleMs?: number;
  flushMs?: number;
  retryMaxMs?: number;
}

function newRuntime(db: Database, adapter: FakeListingAdapter, o: RuntimeSetup = {}): ActorRuntime {
  const clock = o.clock ?? systemClock;
  const rt = new ActorRuntime({
    db,
    clock,
    logger,
    idleMs: o.idleMs ?? 60_000,
    flushMs: o.flushMs ?? 5,
    kinds: [
      listingKind({
        adapters: { amazon: adapter },
        clock,
        retryBaseMs: 1,
        retryMaxMs: o.retryMaxMs ?? 20,
        verifyDelayMs: 0,
      }),
    ],
  });
  runtimes.push(rt);
  return rt;
}

async function startRuntime(db: Database, adapter: FakeListingAdapter, o: RuntimeSetup = {}) {
  const rt = newRuntime(db, adapter, o);
  const recovered = await rt.start();
  return { rt, recovered };
}

async function cleanup(): Promise<void> {
  for (const rt of runtimes.splice(0)) await rt.stop();
  for (const t of databases.splice(0)) await t.drop();
}

const stateOf = (rt: ActorRuntime, key: string) => rt.live().find((l) => l.key === key)?.state;

/** Waits until the actor is in `state` with nothing queued, in flight or unwritten, then flushes. */
async function settledIn(rt: ActorRuntime, key: string, state: string, timeoutMs = 10_000): Promise<void> {
  await waitFor(`${key} settled in ${state}`, () => stateOf(rt, key) === state && rt.isSettled(), timeoutMs);
  await rt.flush();
}

/** Resolves with `p`, or fails naming `what` after `ms`. */
async function within<T>(what: string, p: Promise<T>, ms = 5_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Lets promise callbacks and due timers run (for asserting that something did NOT happen). */
const ticks = async (n = 5) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

const draftOf = (sku: string): ListingDraft => ({
  sku,
  product: PRODUCT,
  price: LIST_PRICE,
  mrp: MRP,
  quantity: LIST_QUANTITY,
});

/** Lists `sku` on a fresh runtime and stops it: the DB then holds a `listed` snapshot. */
async function listedThenStopped(db: Database, sku: string, more: ActorEvent[] = []) {
  const adapter = new FakeListingAdapter();
  const { rt } = await startRuntime(db, adapter);
  await rt.deliver(keyOf(sku), list(1));
  for (const e of more) await rt.deliver(keyOf(sku), e);
  await settledIn(rt, keyOf(sku), 'listed');
  await rt.stop();
  return adapter;
}

afterEach(cleanup);
after(cleanup);

// ---------------------------------------------------------------------------------------------

describe('ActorRuntime with the listing machine (real PostgreSQL)', { timeout: 60_000 }, () => {
  describe('snapshot and read model', () => {
    it('writes the snapshot (state, last event, version) and the listing row with each change', async () => {
      const db = await freshDatabase();
      const adapter = new FakeListingAdapter();
      const { rt } = await startRuntime(db, adapter);
      const key = keyOf('SKU-1');

      await rt.deliver(key, list(1));
      await settledIn(rt, key, 'listed');

      const first = await snapshotRow(db, key);
      assert.ok(first, 'a snapshot row');
      assert.equal(first.machine, 'listing');
      assert.equal(first.machine_version, LISTING_MACHINE_VERSION);
      assert.equal(first.state, 'listed');
      assert.equal(Number(first.last_event_id), 1);
      assert.equal(first.snapshot.value, 'listed');
      assert.equal(first.snapshot.context.confirmed.price, LIST_PRICE);
      assert.deepEqual(first.snapshot.context.confirmed.product, PRODUCT);

      const row1 = await listingRow(db, 'SKU-1');
      assert.ok(row1, 'a listing read-model row');
      assert.equal(row1.state, 'listed');
      assert.equal(money(row1.desired_price), LIST_PRICE);
      assert.equal(money(row1.confirmed_price), LIST_PRICE);
      assert.equal(money(row1.mrp), MRP);
      assert.equal(row1.desired_quantity, LIST_QUANTITY);
      assert.equal(row1.confirmed_quantity, LIST_QUANTITY);
      assert.equal(Number(row1.last_event_id), 1);

      await rt.deliver(key, price(2, 34000));
      assert.equal(stateOf(rt, key), 'pending-price', 'the event is applied when deliver resolves');
      await settledIn(rt, key, 'listed');

      const second = await snapshotRow(db, key);
      assert.ok(second);
      assert.ok(second.version > first.version, `version ${second.version} > ${first.version}`);
      assert.equal(Number(second.last_event_id), 2);
      const row2 = await listingRow(db, 'SKU-1');
      assert.equal(money(row2?.desired_price ?? null), 34000);
      assert.equal(money(row2?.confirmed_price ?? null), 34000);
      assert.equal(row2?.confirmed_quantity, LIST_QUANTITY);

      assert.deepEqual(
        adapter.writes().map((c) => [c.op, c.args]),
        [
          ['upsert', draftOf('SKU-1')],
          ['update', { sku: 'SKU-1', price: 34000, mrp: MRP } satisfies ListingChange],
        ],
      );
      assert.equal(rt.failureCount, 0);
    });
  });

  describe('when a snapshot write fails', () => {
    it('writes neither snapshot nor read model, and writes both later without a new event', async () => {
      const real = await freshDatabase();
      let failing = true;
      const db: Database = {
        ...real,
        transaction: (fn) =>
          real.transaction(async (tx) => {
            const result = await fn(tx);
            if (failing) throw new Error('injected failure before commit');
            return result;
          }),
      };
      const adapter = new FakeListingAdapter();
      const { rt } = await startRuntime(db, adapter);
      const key = keyOf('SKU-FLUSH');

      await rt.deliver(key, list(1));
      await waitFor(
        'listed, with a failed flush',
        () => stateOf(rt, key) === 'listed' && rt.failureCount > 0,
      );
      assert.equal(rt.isSettled(), false, 'an unwritten snapshot is not settled');
      assert.equal(await snapshotRow(real, key), undefined, 'no snapshot committed');
      assert.equal(await listingRow(real, 'SKU-FLUSH'), undefined, 'no read-model row committed');

      failing = false;
      await waitFor('written after the failure', () => rt.isSettled(), 5_000);
      assert.equal((await snapshotRow(real, key))?.state, 'listed');
      assert.equal((await listingRow(real, 'SKU-FLUSH'))?.state, 'listed');
    });
  });

  describe('after a restart', () => {
    it('hydrates from the stored snapshot: confirmed values are kept, only the change is sent', async () => {
      const db = await freshDatabase();
      const before = await listedThenStopped(db, 'SKU-H');
      const key = keyOf('SKU-H');

      const adapter = new FakeListingAdapter(before.shown);
      const { rt, recovered } = await startRuntime(db, adapter);
      assert.deepEqual(recovered, { woken: 0, pending: 0 }, 'a listed actor at rest is not woken');
      assert.deepEqual(rt.live(), [], 'nothing is loaded before it is needed');

      await rt.deliver(key, price(2, 33000));
      await settledIn(rt, key, 'listed');

      assert.deepEqual(
        adapter.writes().map((c) => [c.op, c.args]),
        [['update', { sku: 'SKU-H', price: 33000, mrp: MRP }]],
        'one update with the new price, no new upsert (quantity was confirmed before the restart)',
      );
      const row = await listingRow(db, 'SKU-H');
      assert.equal(row?.state, 'listed');
      assert.equal(money(row?.confirmed_price ?? null), 33000);
      assert.equal(row?.confirmed_quantity, LIST_QUANTITY);
      const snap = await snapshotRow(db, key);
      assert.equal(Number(snap?.last_event_id), 2);
      assert.deepEqual(snap?.snapshot.context.confirmed.product, PRODUCT);
      assert.equal(rt.failureCount, 0);
    });

    it('ignores a redelivered event whose seq is not above the stored last_event_id', async () => {
      const db = await freshDatabase();
      const before = await listedThenStopped(db, 'SKU-R', [price(2, 33000)]);
      const key = keyOf('SKU-R');
      const adapter = new FakeListingAdapter(before.shown);
      const { rt } = await startRuntime(db, adapter);

      // The copies carry a newer occurredAt and another price, so that applying them would show.
      await rt.deliver(key, price(2, 30000, at(50)));
      await rt.deliver(key, price(1, 29000, at(51)));
      await ticks();
      assert.equal(adapter.calls.length, 0, 'no marketplace call');
      assert.equal(stateOf(rt, key), 'listed');
      await rt.flush();
      const snap = await snapshotRow(db, key);
      assert.equal(Number(snap?.last_event_id), 2);
      assert.equal(snap?.snapshot.context.desired.price, 33000);
      assert.equal(money((await listingRow(db, 'SKU-R'))?.desired_price ?? null), 33000);

      // The actor is alive: the next new event is applied.
      await rt.deliver(key, price(3, 31000));
      await settledIn(rt, key, 'listed');
      assert.deepEqual(
        adapter.writes().map((c) => c.args),
        [{ sku: 'SKU-R', price: 31000, mrp: MRP }],
      );
      assert.equal(rt.failureCount, 0);
    });

    it('applies inbox rows left by a crash, in event order, and removes them once covered by a snapshot', async () => {
      const db = await freshDatabase();
      const key = keyOf('SKU-INBOX');
      // What inbound commits: an event_log row per OMS event and the routed actor event in the inbox.
      const ids: number[] = [];
      for (const type of ['product.list', 'price.update', 'stock.update']) {
        const [r] = await db.query<{ id: string }>(
          `insert into event_log (idempotency_key, source, type, entity_key, status)
           values (?, 'oms', ?, 'sku:SKU-INBOX', 'accepted') returning id`,
          [`OMS-IT-INBOX-${type}`, type],
        );
        ids.push(Number(r!.id));
      }
      const [e1, e2, e3] = ids as [number, number, number];
      const events = [list(e1), price(e2, 34500), stock(e3, 3)];
      // Written in another order than they happened: the runtime must order them itself.
      for (const ev of [events[2]!, events[0]!, events[1]!]) {
        await db.query('insert into actor_inbox (actor_key, event_id, event) values (?, ?, ?::jsonb)', [
          key,
          ev.seq,
          JSON.stringify(ev),
        ]);
      }

      const adapter = new FakeListingAdapter();
      const { rt, recovered } = await startRuntime(db, adapter);
      assert.deepEqual(recovered, { woken: 0, pending: 3 });

      await waitFor('inbox emptied', async () => {
        const [n] = await db.query<{ n: string }>(
          'select count(*) as n from actor_inbox where actor_key = ?',
          [key],
        );
        return Number(n!.n) === 0;
      });
      await settledIn(rt, key, 'listed');

      // Applied out of order, LIST (the lowest seq) would have been skipped: there would be no upsert.
      const writes = adapter.writes();
      assert.equal(writes[0]?.op, 'upsert', 'LIST applied first');
      assert.deepEqual(writes[0]?.args, draftOf('SKU-INBOX'));
      assert.deepEqual(adapter.shown.get('SKU-INBOX'), {
        price: 34500,
        mrp: MRP,
        quantity: 3,
        buyable: true,
      });
      const row = await listingRow(db, 'SKU-INBOX');
      assert.equal(row?.state, 'listed');
      assert.equal(money(row?.confirmed_price ?? null), 34500);
      assert.equal(row?.confirmed_quantity, 3);
      assert.equal(Number(row?.last_event_id), e3);
      assert.equal(Number((await snapshotRow(db, key))?.last_event_id), e3);
      assert.equal(rt.failureCount, 0);
    });

    it('makes again a call that was in flight when the process stopped', async () => {
      const db = await freshDatabase();
      const key = keyOf('SKU-HANG');
      const hanging = new FakeListingAdapter();
      const hold = hanging.holdNext('update');
      const first = newRuntime(db, hanging);
      await first.start();
      await first.deliver(key, list(1));
      await settledIn(first, key, 'listed');
      await first.deliver(key, price(2, 33000));
      await within('the held update to start', hold.started);
      await first.flush();
      const inFlight = await snapshotRow(db, key);
      assert.equal(inFlight?.state, 'pending-price');
      assert.deepEqual(inFlight?.snapshot.value, { 'pending-price': 'sending' });
      await first.stop(); // never released: the update's outcome is unknown

      const adapter = new FakeListingAdapter(hanging.shown);
      const { rt, recovered } = await startRuntime(db, adapter);
      assert.deepEqual(recovered, { woken: 1, pending: 0 });
      await settledIn(rt, key, 'listed');

      assert.deepEqual(
        adapter.writes().map((c) => [c.op, c.args]),
        [['update', { sku: 'SKU-HANG', price: 33000, mrp: MRP }]],
        'the update is made once more, and nothing else is written',
      );
      const row = await listingRow(db, 'SKU-HANG');
      assert.equal(row?.state, 'listed');
      assert.equal(money(row?.confirmed_price ?? null), 33000);
      assert.equal((await snapshotRow(db, key))?.state, 'listed');
      assert.equal(rt.failureCount, 0);
    });
  });

  describe('passivation', () => {
    it('stops an idle actor at rest after persisting it, and rehydrates it on its next event', async () => {
      const db = await freshDatabase();
      const adapter = new FakeListingAdapter();
      const { rt } = await startRuntime(db, adapter, { idleMs: 100 });
      const key = keyOf('SKU-P');

      await rt.deliver(key, list(1));
      await waitFor('actor passivated', () => adapter.writes().length === 1 && rt.live().length === 0, 5_000);
      const stored = await snapshotRow(db, key);
      assert.equal(stored?.state, 'listed');
      assert.equal(Number(stored?.last_event_id), 1);

      await rt.deliver(key, price(2, 33000));
      assert.equal(stateOf(rt, key), 'pending-price', 'back in memory, from its snapshot');
      await waitFor('change confirmed and stored', async () => {
        const row = await snapshotRow(db, key);
        return row?.state === 'listed' && Number(row.last_event_id) === 2;
      });
      assert.deepEqual(
        adapter.writes().map((c) => [c.op, c.args]),
        [
          ['upsert', draftOf('SKU-P')],
          ['update', { sku: 'SKU-P', price: 33000, mrp: MRP }],
        ],
      );
      await waitFor('passivated again', () => rt.live().length === 0, 5_000);
      assert.equal(rt.failureCount, 0);
    });

    it('deliverMany rehydrates passivated actors from their snapshots in one batch, and starts unknown ones fresh', async () => {
      const db = await freshDatabase();
      const adapter = new FakeListingAdapter();
      const { rt } = await startRuntime(db, adapter, { idleMs: 100 });
      const old = ['SKU-B1', 'SKU-B2', 'SKU-B3'];
      rt.deliverMany(old.map((s) => ({ key: keyOf(s), event: list(1) })));
      await waitFor(
        'listed and passivated',
        () => adapter.writes().length === 3 && rt.live().length === 0,
        5_000,
      );

      // A price for each passivated actor and a first event for one never seen.
      rt.deliverMany([
        ...old.map((s) => ({ key: keyOf(s), event: price(2, 33000) })),
        { key: keyOf('SKU-B4'), event: price(1, 31000) },
      ]);
      await waitFor('prices stored', async () => {
        const rows = await Promise.all(old.map((s) => snapshotRow(db, keyOf(s))));
        return rows.every((r) => r?.state === 'listed' && Number(r.last_event_id) === 2);
      });
      for (const s of old) {
        assert.deepEqual(
          adapter.writes(s).map((c) => c.op),
          ['upsert', 'update'],
          `${s}: its snapshot was used (no second listing)`,
        );
      }
      assert.deepEqual(adapter.writes('SKU-B4'), [], 'a price alone lists nothing');
      await waitFor('SKU-B4 stored', async () => (await snapshotRow(db, keyOf('SKU-B4'))) !== undefined);
      assert.equal((await snapshotRow(db, keyOf('SKU-B4')))?.state, 'unlisted');
      assert.equal(rt.failureCount, 0);
    });
  });

  describe('concurrency', () => {
    it('runs keys in parallel but one call at a time per key, applying each key’s events in order', async () => {
      const db = await freshDatabase();
      const adapter = new FakeListingAdapter();
      adapter.delayMs = 15;
      const { rt } = await startRuntime(db, adapter);
      const skus = ['PAR-1', 'PAR-2'];

      await Promise.all(skus.map((s) => rt.deliver(keyOf(s), list(1))));
      await waitFor(
        'both listed',
        () => skus.every((s) => stateOf(rt, keyOf(s)) === 'listed') && rt.isSettled(),
      );

      const prices = [30100, 30200, 30300, 30400, 30500];
      const delivered: Promise<void>[] = [];
      for (const [i, p] of prices.entries()) {
        for (const s of skus) delivered.push(rt.deliver(keyOf(s), price(2 + i, p)));
      }
      await Promise.all(delivered);
      await waitFor(
        'both listed again',
        () => skus.every((s) => stateOf(rt, keyOf(s)) === 'listed') && rt.isSettled(),
      );

      assert.equal(adapter.maxInFlightPerSku, 1, 'never two calls at once for one key');
      assert.ok(adapter.maxInFlight >= 2, 'calls for the two keys overlapped');
      const order = adapter.calls.map((c) => c.sku);
      for (const [a, b] of [skus, [...skus].reverse()] as [string, string][]) {
        assert.ok(order.indexOf(b) < order.lastIndexOf(a), `calls for ${a} and ${b} interleave: ${order}`);
      }
      for (const s of skus) {
        // In order: the first price goes out, the next four arrive during that call and coalesce
        // into one more call with the newest. (Out of order, lower seqs would be skipped instead.)
        assert.deepEqual(
          adapter.callsOf('update', s).map((c) => (c.args as ListingChange).price),
          [30100, 30500],
          s,
        );
        assert.equal(adapter.shown.get(s)?.price, 30500);
      }
      assert.equal(rt.failureCount, 0);
    });

    it('applies a key’s events in delivery order even when loading its snapshot is slow', async () => {
      const real = await freshDatabase();
      // The first snapshot lookup takes 100 ms, later ones none: only the runtime's per-key
      // queue keeps the events that arrive meanwhile behind the first one.
      let slow = 1;
      const db: Database = {
        ...real,
        query: async (sql, params) => {
          if (sql.includes('from actor_snapshot where actor_key') && slow-- > 0) {
            await new Promise((r) => setTimeout(r, 100));
          }
          return real.query(sql, params);
        },
      };
      const adapter = new FakeListingAdapter();
      const { rt } = await startRuntime(db, adapter);
      const key = keyOf('SKU-SLOW');

      await Promise.all([
        rt.deliver(key, list(1)),
        rt.deliver(key, price(2, 34000)),
        rt.deliver(key, price(3, 33000)),
      ]);
      await settledIn(rt, key, 'listed');

      // Had a PRICE overtaken the LIST, the LIST (lower seq) would have been skipped as already applied.
      assert.deepEqual(adapter.writes()[0]?.args, draftOf('SKU-SLOW'), 'the LIST is applied first');
      assert.equal(adapter.shown.get('SKU-SLOW')?.price, 33000);
      assert.equal(rt.failureCount, 0);
    });

    it('coalesces 10 price changes that arrive during one call into one more call with the newest', async () => {
      const db = await freshDatabase();
      const adapter = new FakeListingAdapter();
      const hold = adapter.holdNext('update');
      const { rt } = await startRuntime(db, adapter);
      const key = keyOf('SKU-C');

      await rt.deliver(key, list(1));
      await settledIn(rt, key, 'listed');
      await rt.deliver(key, price(2, 30000));
      await within('the held update to start', hold.started);
      const burst = Array.from({ length: 10 }, (_, i) => price(3 + i, 30100 + i * 100));
      await Promise.all(burst.map((e) => rt.deliver(key, e)));
      assert.equal(stateOf(rt, key), 'pending-price');
      assert.equal(adapter.callsOf('update').length, 1, 'no call while one is in flight');

      hold.release();
      await settledIn(rt, key, 'listed');

      assert.deepEqual(
        adapter.callsOf('update').map((c) => (c.args as ListingChange).price),
        [30000, 31000],
      );
      const row = await listingRow(db, 'SKU-C');
      assert.equal(row?.coalesced_updates, 9);
      assert.equal(money(row?.desired_price ?? null), 31000);
      assert.equal(money(row?.confirmed_price ?? null), 31000);
      assert.equal(Number(row?.last_event_id), 12);
      assert.equal(rt.failureCount, 0);
    });
  });

  describe('marketplace failures', () => {
    it('retries a retryable failure no sooner than the marketplace asked, on the injected clock', async () => {
      const db = await freshDatabase();
      const clock = new ManualClock(REFERENCE_TIMESTAMP);
      const adapter = new FakeListingAdapter();
      adapter.answer = 'applied'; // no read-back: every wait below is the backoff's
      adapter.failNext(
        'upsert',
        new RetryableError('503 Service Unavailable', { status: 503, retryAfterMs: 1000 }),
      );
      const { rt } = await startRuntime(db, adapter, { clock, retryMaxMs: 60_000 });
      const key = keyOf('SKU-503');

      await rt.deliver(key, list(1));
      await waitFor('first upsert failed', () => adapter.callsOf('upsert')[0]?.outcome === 'error');
      await ticks();
      clock.advance(999);
      await ticks();
      assert.equal(adapter.callsOf('upsert').length, 1, 'not retried before retryAfterMs');
      assert.equal(stateOf(rt, key), 'listing');

      clock.advance(1);
      await settledIn(rt, key, 'listed');
      assert.equal(adapter.callsOf('upsert').length, 2);
      const row = await listingRow(db, 'SKU-503');
      assert.equal(row?.state, 'listed');
      assert.equal(row?.last_error, null);
      assert.equal(rt.failureCount, 0);
    });

    it('does not retry a terminal failure: the listing is failed with the reason in the read model', async () => {
      const db = await freshDatabase();
      const adapter = new FakeListingAdapter();
      adapter.failNext('upsert', new TerminalError('brand not approved for this seller', { status: 400 }));
      const { rt } = await startRuntime(db, adapter);
      const key = keyOf('SKU-400');

      await rt.deliver(key, list(1));
      await settledIn(rt, key, 'failed');

      assert.equal(adapter.calls.length, 1, 'one call, not retried');
      const row = await listingRow(db, 'SKU-400');
      assert.equal(row?.state, 'failed');
      assert.match(row?.last_error ?? '', /brand not approved/);
      assert.equal(row?.confirmed_price, null);
      assert.equal((await snapshotRow(db, key))?.state, 'failed');
      assert.equal(rt.failureCount, 0);
    });
  });
});
