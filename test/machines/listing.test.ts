import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createActor, initialTransition, transition } from 'xstate';
import type { ListingIssue, ListingReadback, ProductInfo, SubmitResult } from '../../src/domain/types.js';
import {
  isAtRest,
  LISTING_MACHINE_VERSION,
  type ListingEvent,
  type ListingInput,
  type ListingSnapshot,
  listingMachine,
  listingStateName,
  migrateListingSnapshot,
} from '../../src/machines/index.js';

// ---- fixtures ---------------------------------------------------------------------------------

const SKU = 'KURTA-BLU-M';
/** OMS event instants, in order. T1_UTC is the same instant as T1, written in UTC. */
const BEFORE_T0 = '2025-03-01T09:00:00+05:30';
const T0 = '2025-03-01T10:00:00+05:30';
const T1 = '2025-03-01T10:05:00+05:30';
const T1_UTC = '2025-03-01T04:35:00Z';
const T2 = '2025-03-01T10:10:00+05:30';
const T3 = '2025-03-01T10:15:00+05:30';

const PRODUCT: ProductInfo = {
  title: 'Cotton kurta, blue, M',
  brand: 'Acme',
  ean: '8901234567890',
  productType: 'KURTA',
  attributes: { colour: 'blue', size: 'M' },
};
const PRICE = 999;
const MRP = 1299;
const QUANTITY = 5;

const ISSUE: ListingIssue = { code: '90220', message: 'brand is not approved', severity: 'ERROR' };

let seq = 0;
const nextSeq = (): number => {
  seq += 1;
  return seq;
};

const list = (
  at: string,
  over: Partial<{ price: number; mrp: number; quantity: number }> = {},
): ListingEvent => ({
  type: 'LIST',
  seq: nextSeq(),
  occurredAt: at,
  product: PRODUCT,
  price: PRICE,
  mrp: MRP,
  quantity: QUANTITY,
  ...over,
});
const unlist = (at: string): ListingEvent => ({ type: 'UNLIST', seq: nextSeq(), occurredAt: at });
const price = (at: string, value: number, mrp = MRP): ListingEvent => ({
  type: 'PRICE',
  seq: nextSeq(),
  occurredAt: at,
  price: value,
  mrp,
});
const stock = (at: string, quantity: number, locationId?: string): ListingEvent => ({
  type: 'STOCK',
  seq: nextSeq(),
  occurredAt: at,
  quantity,
  ...(locationId ? { locationId } : {}),
});
const retry = (at: string): ListingEvent => ({ type: 'RETRY', seq: nextSeq(), occurredAt: at });

type ActorId = 'upsertListing' | 'updateListing' | 'delistListing' | 'readListing' | 'backoff';

/** The events xstate sends when an invoked actor resolves or rejects. */
const done = (id: ActorId, output: unknown): ListingEvent =>
  ({ type: `xstate.done.actor.${id}`, output }) as unknown as ListingEvent;
const fail = (id: ActorId, error: unknown): ListingEvent =>
  ({ type: `xstate.error.actor.${id}`, error }) as unknown as ListingEvent;

const ACCEPTED: SubmitResult = { status: 'accepted', submissionId: 'sub-1' };
const APPLIED: SubmitResult = { status: 'applied' };
const INVALID: SubmitResult = { status: 'invalid', issues: [ISSUE] };
const shows = (over: Partial<ListingReadback> = {}): ListingReadback => ({
  found: true,
  price: PRICE,
  quantity: QUANTITY,
  buyable: true,
  ...over,
});
const RETRYABLE = { kind: 'retryable', message: 'HTTP 503', retryAfterMs: 2000 };
const THROTTLED = { kind: 'retryable', message: 'HTTP 429', throttled: true };
const TERMINAL = { kind: 'terminal', message: 'HTTP 403 forbidden', status: 403 };

// ---- driving the machine through pure transitions ----------------------------------------------

/** An actor the transition asked to start (an invoke), with its input. */
interface Call {
  id: string;
  input: Record<string, unknown>;
}

interface Step {
  snapshot: ListingSnapshot;
  calls: Call[];
}

function start(input: Partial<ListingInput> = {}): ListingSnapshot {
  const [snapshot] = initialTransition(listingMachine, { sku: SKU, marketplace: 'amazon', ...input });
  return snapshot;
}

function send(snapshot: ListingSnapshot, event: ListingEvent): Step {
  const [next, actions] = transition(listingMachine, snapshot, event);
  const calls = actions
    .filter((a) => a.type === 'xstate.spawnChild')
    .map((a) => {
      // spawnChild's params carry the resolved input, though its declared type omits it.
      const params = a.params as unknown as { id: string; input: Record<string, unknown> };
      return { id: params.id, input: params.input };
    });
  return { snapshot: next, calls };
}

/** Sends events in order; returns the last snapshot and every call asked for on the way. */
function run(snapshot: ListingSnapshot, ...events: ListingEvent[]): Step {
  let current = snapshot;
  const calls: Call[] = [];
  for (const event of events) {
    const step = send(current, event);
    current = step.snapshot;
    calls.push(...step.calls);
  }
  return { snapshot: current, calls };
}

function inputOf(call: Call | undefined): Record<string, unknown> {
  assert.ok(call, 'expected a call');
  return call.input;
}

const writes = (calls: Call[]): Call[] => calls.filter((c) => c.id !== 'readListing' && c.id !== 'backoff');

/** A listing created at PRICE/QUANTITY and confirmed by read-back. */
function listedSnapshot(input: Partial<ListingInput> = {}): ListingSnapshot {
  const { snapshot } = run(
    start(input),
    list(T0),
    done('upsertListing', ACCEPTED),
    done('readListing', shows()),
  );
  assert.equal(snapshot.value, 'listed');
  return snapshot;
}

/** Listed, then a price change to `value` sent and not yet answered. */
function sendingPrice(value: number, input: Partial<ListingInput> = {}): ListingSnapshot {
  const { snapshot } = send(listedSnapshot(input), price(T1, value));
  assert.deepEqual(snapshot.value, { 'pending-price': 'sending' });
  return snapshot;
}

// ---- specifications ---------------------------------------------------------------------------

describe('unlisted', () => {
  it('starts here with nothing desired and nothing confirmed', () => {
    const snapshot = start();
    assert.equal(snapshot.value, 'unlisted');
    assert.equal(snapshot.context.desired.present, false);
    assert.equal(snapshot.context.confirmed.present, false);
    assert.equal(snapshot.context.maxAttempts, 8);
    assert.equal(snapshot.context.maxVerifyAttempts, 10);
    assert.equal(LISTING_MACHINE_VERSION, 2);
  });

  it('records PRICE and STOCK without calling the marketplace', () => {
    const { snapshot, calls } = run(start(), price(T0, 899), stock(T0, 3));
    assert.equal(snapshot.value, 'unlisted');
    assert.deepEqual(calls, []);
    assert.equal(snapshot.context.desired.price, 899);
    assert.equal(snapshot.context.desired.quantity, 3);
  });

  it('creates the listing on LIST: upsertListing with the full draft', () => {
    const { snapshot, calls } = send(start(), list(T0));
    assert.deepEqual(snapshot.value, { listing: 'sending' });
    assert.deepEqual(calls, [
      {
        id: 'upsertListing',
        input: {
          marketplace: 'amazon',
          sku: SKU,
          draft: { sku: SKU, product: PRODUCT, price: PRICE, mrp: MRP, quantity: QUANTITY },
          priority: 'stock',
        },
      },
    ]);
    assert.deepEqual(snapshot.context.inFlight, {
      op: 'upsert',
      product: PRODUCT,
      price: PRICE,
      mrp: MRP,
      quantity: QUANTITY,
    });
  });
});

describe('listing', () => {
  it('verifies an ACCEPTED create by reading the listing back', () => {
    const { snapshot, calls } = run(start(), list(T0), done('upsertListing', ACCEPTED));
    assert.deepEqual(snapshot.value, { listing: 'verifying' });
    assert.deepEqual(writes(calls).length, 1);
    assert.deepEqual(calls.at(-1), {
      id: 'readListing',
      input: { marketplace: 'amazon', sku: SKU, verifyAttempt: 0, priority: 'read' },
    });
    assert.equal(snapshot.context.confirmed.present, false, 'ACCEPTED alone confirms nothing');
  });

  it('is listed with the confirmed values once the read-back shows them', () => {
    const snapshot = listedSnapshot();
    assert.deepEqual(snapshot.context.confirmed, {
      present: true,
      product: PRODUCT,
      price: PRICE,
      mrp: MRP,
      quantity: QUANTITY,
      locations: {},
    });
    assert.equal(snapshot.context.inFlight, null);
    assert.equal(snapshot.context.attempt, 0);
    assert.equal(isAtRest(snapshot), true);
  });

  it('is listed without a read-back when the marketplace says APPLIED', () => {
    const { snapshot, calls } = run(start(), list(T0), done('upsertListing', APPLIED));
    assert.equal(snapshot.value, 'listed');
    assert.equal(snapshot.context.confirmed.price, PRICE);
    assert.ok(!calls.some((c) => c.id === 'readListing'));
  });

  it('does not confirm a create while the read-back shows the listing not buyable', () => {
    const { snapshot, calls } = run(
      start(),
      list(T0),
      done('upsertListing', ACCEPTED),
      done('readListing', shows({ buyable: false })),
    );
    assert.deepEqual(snapshot.value, { listing: 'verifying' });
    assert.equal(calls.at(-1)?.input['verifyAttempt'], 1);
  });

  it('is rejected with the issues on INVALID; desired stays and nothing is confirmed', () => {
    const { snapshot } = run(start(), list(T0), done('upsertListing', INVALID));
    assert.equal(snapshot.value, 'rejected');
    assert.deepEqual(snapshot.context.issues, [ISSUE]);
    assert.match(snapshot.context.lastError ?? '', /brand is not approved/);
    assert.equal(snapshot.context.desired.present, true);
    assert.equal(snapshot.context.desired.price, PRICE);
    assert.equal(snapshot.context.confirmed.present, false);
    assert.equal(snapshot.context.inFlight, null);
    assert.equal(isAtRest(snapshot), true);
  });
});

describe('rejected', () => {
  const rejected = (): ListingSnapshot => run(start(), list(T0), done('upsertListing', INVALID)).snapshot;

  it('leaves on a newer PRICE and sends again with it', () => {
    const { snapshot, calls } = send(rejected(), price(T1, 949));
    assert.deepEqual(snapshot.value, { listing: 'sending' });
    assert.equal(writes(calls).length, 1);
    assert.equal((inputOf(calls[0])['draft'] as { price: number }).price, 949);
  });

  it('stays on an older PRICE and counts it as stale', () => {
    const before = rejected();
    const { snapshot, calls } = send(before, price(BEFORE_T0, 949));
    assert.equal(snapshot.value, 'rejected');
    assert.deepEqual(calls, []);
    assert.equal(snapshot.context.staleIgnored, before.context.staleIgnored + 1);
    assert.equal(snapshot.context.desired.price, PRICE);
  });

  it('sends again on RETRY', () => {
    const { snapshot, calls } = send(rejected(), retry(T1));
    assert.deepEqual(snapshot.value, { listing: 'sending' });
    assert.equal(writes(calls).length, 1);
  });
});

describe('pending-price', () => {
  it('sends a price change as updateListing with price and mrp', () => {
    const { snapshot, calls } = send(listedSnapshot(), price(T1, 949, 1199));
    assert.deepEqual(snapshot.value, { 'pending-price': 'sending' });
    assert.equal(listingStateName(snapshot), 'pending-price');
    assert.equal(isAtRest(snapshot), false);
    assert.deepEqual(calls, [
      {
        id: 'updateListing',
        input: { marketplace: 'amazon', sku: SKU, price: 949, mrp: 1199, priority: 'price' },
      },
    ]);
  });

  it('is listed again once the read-back shows the new price', () => {
    const { snapshot } = run(
      sendingPrice(949),
      done('updateListing', ACCEPTED),
      done('readListing', shows({ price: 949 })),
    );
    assert.equal(snapshot.value, 'listed');
    assert.equal(snapshot.context.confirmed.price, 949);
    assert.equal(snapshot.context.confirmed.quantity, QUANTITY);
  });

  it('compares prices in paise: 949.001 is already 949', () => {
    const { snapshot, calls } = run(
      sendingPrice(949),
      done('updateListing', ACCEPTED),
      done('readListing', shows({ price: 949.001 })),
      price(T2, 949.004),
    );
    assert.equal(snapshot.value, 'listed');
    assert.equal(writes(calls).length, 0);
  });

  it('coalesces a burst: 10 PRICE events during one call cost exactly one more call, with the newest price', () => {
    let snapshot = sendingPrice(1000);
    assert.deepEqual(snapshot.context.inFlight, { op: 'update', price: 1000, mrp: MRP });
    const burst = [1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009, 1010];
    for (const [i, value] of burst.entries()) {
      const step = send(snapshot, price(`2025-03-01T10:06:${String(i).padStart(2, '0')}+05:30`, value));
      snapshot = step.snapshot;
      assert.deepEqual(
        snapshot.value,
        { 'pending-price': 'sending' },
        'the call in flight is not interrupted',
      );
      assert.deepEqual(step.calls, []);
      assert.equal(snapshot.context.inFlight?.op === 'update' && snapshot.context.inFlight.price, 1000);
    }
    assert.equal(snapshot.context.desired.price, 1010);
    assert.equal(snapshot.context.coalesced, 9);

    const first = run(snapshot, done('updateListing', ACCEPTED), done('readListing', shows({ price: 1000 })));
    assert.deepEqual(first.snapshot.value, { 'pending-price': 'sending' });
    assert.deepEqual(writes(first.calls), [
      {
        id: 'updateListing',
        input: { marketplace: 'amazon', sku: SKU, price: 1010, mrp: MRP, priority: 'price' },
      },
    ]);
    assert.equal(first.snapshot.context.confirmed.price, 1000);

    const second = run(
      first.snapshot,
      done('updateListing', ACCEPTED),
      done('readListing', shows({ price: 1010 })),
    );
    assert.equal(second.snapshot.value, 'listed');
    assert.deepEqual(writes(second.calls), []);
    assert.equal(second.snapshot.context.confirmed.price, 1010);
    assert.equal(second.snapshot.context.coalesced, 9);
  });

  it('carries the quantity too when that also differs', () => {
    const failed = run(sendingPrice(949), fail('updateListing', TERMINAL)).snapshot;
    assert.equal(failed.value, 'failed');
    const { snapshot, calls } = send(failed, stock(T2, 2));
    assert.deepEqual(snapshot.value, { 'pending-price': 'sending' });
    assert.deepEqual(calls[0]?.input, {
      marketplace: 'amazon',
      sku: SKU,
      price: 949,
      mrp: MRP,
      quantity: 2,
      priority: 'stock',
    });
    const confirmed = run(snapshot, done('updateListing', APPLIED)).snapshot;
    assert.equal(confirmed.value, 'listed');
    assert.equal(confirmed.context.confirmed.quantity, 2);
  });
});

describe('pending-stock', () => {
  it('sends the stock of the OMS location that changed, with the total, for per-location marketplaces', () => {
    const { snapshot, calls } = send(listedSnapshot(), stock(T1, 7, 'STORE-MUM-003'));
    assert.deepEqual(snapshot.value, { 'pending-stock': 'sending' });
    assert.deepEqual(calls[0]?.input, {
      marketplace: 'amazon',
      sku: SKU,
      quantity: 7,
      locations: [{ locationId: 'STORE-MUM-003', quantity: 7 }],
      priority: 'stock',
    });
  });

  it('sends the whole breakdown when one location changes: the marketplace lays out every location from it', () => {
    const { snapshot } = run(listedSnapshot(), stock(T1, 4, 'DC-DEL-01'), done('updateListing', APPLIED));
    const { calls } = send(snapshot, stock(T2, 9, 'STORE-MUM-003'));
    assert.deepEqual(calls[0]?.input['locations'], [
      { locationId: 'DC-DEL-01', quantity: 4 },
      { locationId: 'STORE-MUM-003', quantity: 9 },
    ]);
  });

  it('keeps each location newest on its own: an older event for one location does not touch another', () => {
    const { snapshot } = run(
      listedSnapshot(),
      stock(T2, 4, 'DC-DEL-01'),
      stock(T3, 9, 'STORE-MUM-003'),
      stock(T1, 1, 'DC-DEL-01'), // older for DC-DEL-01
    );
    assert.equal(snapshot.context.desired.locations['DC-DEL-01']?.quantity, 4);
    assert.equal(snapshot.context.desired.locations['STORE-MUM-003']?.quantity, 9);
    assert.equal(snapshot.context.desired.quantity, 9, 'the total follows the newest event');
  });

  it('confirms the locations an applied update carried, and sends nothing more', () => {
    const { snapshot, calls } = run(
      listedSnapshot(),
      stock(T1, 7, 'STORE-MUM-003'),
      done('updateListing', APPLIED),
    );
    assert.equal(snapshot.value, 'listed');
    assert.deepEqual(snapshot.context.confirmed.locations, { 'STORE-MUM-003': 7 });
    assert.equal(writes(calls).length, 1);
  });

  it('sends a stock-only change as updateListing with the quantity', () => {
    const { snapshot, calls } = send(listedSnapshot(), stock(T1, 7));
    assert.deepEqual(snapshot.value, { 'pending-stock': 'sending' });
    assert.deepEqual(calls[0]?.input, { marketplace: 'amazon', sku: SKU, quantity: 7, priority: 'stock' });
  });

  it('sends stock to zero in the urgent lane', () => {
    const { calls } = send(listedSnapshot(), stock(T1, 0));
    assert.equal(calls[0]?.input['priority'], 'urgent');
  });

  it('goes on to the price once the stock is confirmed, when a PRICE arrived meanwhile', () => {
    const { snapshot, calls } = run(
      listedSnapshot(),
      stock(T1, 7),
      price(T2, 949),
      done('updateListing', ACCEPTED),
      done('readListing', shows({ quantity: 7 })),
    );
    assert.deepEqual(snapshot.value, { 'pending-price': 'sending' });
    assert.deepEqual(writes(calls).at(-1)?.input, {
      marketplace: 'amazon',
      sku: SKU,
      price: 949,
      mrp: MRP,
      priority: 'price',
    });
  });
});

describe('OMS events out of order', () => {
  it('an older PRICE never overwrites a newer price', () => {
    const { snapshot, calls } = run(listedSnapshot(), price(T2, 949), price(T1, 899));
    assert.equal(snapshot.context.desired.price, 949);
    assert.equal(snapshot.context.desired.priceAt, T2);
    assert.equal(snapshot.context.staleIgnored, 1);
    assert.equal(writes(calls).length, 1);
  });

  it('an older STOCK never overwrites a newer quantity, even while listed', () => {
    const listed = run(listedSnapshot(), stock(T2, 4), done('updateListing', APPLIED)).snapshot;
    assert.equal(listed.value, 'listed');
    const { snapshot, calls } = send(listed, stock(T1, 9));
    assert.equal(snapshot.value, 'listed');
    assert.deepEqual(calls, []);
    assert.equal(snapshot.context.desired.quantity, 4);
    assert.equal(snapshot.context.staleIgnored, 1);
  });

  it('compares instants, not strings: the same instant in another offset is not older', () => {
    const { snapshot } = run(start(), price(T1, 949), price(T1_UTC, 959));
    assert.equal(snapshot.context.desired.price, 959);
    assert.equal(snapshot.context.staleIgnored, 0);
  });

  it('an older LIST sets presence and product but keeps the newer price and quantity', () => {
    const { snapshot, calls } = run(start(), price(T2, 949), stock(T2, 2), list(T1));
    assert.deepEqual(snapshot.value, { listing: 'sending' });
    assert.deepEqual(calls[0]?.input['draft'], {
      sku: SKU,
      product: PRODUCT,
      price: 949,
      mrp: MRP,
      quantity: 2,
    });
    assert.equal(snapshot.context.staleIgnored, 0, 'the LIST changed something');
  });

  it('an UNLIST older than the LIST is ignored', () => {
    const { snapshot, calls } = run(listedSnapshot(), unlist(BEFORE_T0));
    assert.equal(snapshot.value, 'listed');
    assert.deepEqual(calls, []);
    assert.equal(snapshot.context.staleIgnored, 1);
  });

  it('records the seq of every OMS event, stale or not', () => {
    const listed = listedSnapshot();
    const stale = price(BEFORE_T0, 899);
    const { snapshot } = send(listed, stale);
    assert.equal(snapshot.context.lastEventSeq, stale.seq);
  });
});

describe('sending', () => {
  it('backs off after a retryable error, then sends again', () => {
    const backingOff = send(sendingPrice(949), fail('updateListing', RETRYABLE));
    assert.deepEqual(backingOff.snapshot.value, { 'pending-price': 'backoff' });
    assert.deepEqual(backingOff.calls, [{ id: 'backoff', input: { attempt: 1, retryAfterMs: 2000 } }]);
    assert.equal(backingOff.snapshot.context.lastError, 'HTTP 503');

    const again = send(backingOff.snapshot, done('backoff', undefined));
    assert.deepEqual(again.snapshot.value, { 'pending-price': 'sending' });
    assert.equal(again.calls[0]?.id, 'updateListing');
    assert.equal(again.snapshot.context.attempt, 1);
  });

  it('sends the newest desired value after a backoff', () => {
    const { calls } = run(
      sendingPrice(949),
      fail('updateListing', THROTTLED),
      price(T2, 979),
      done('backoff', undefined),
    );
    assert.equal(writes(calls).at(-1)?.input['price'], 979);
  });

  it('resends after a backoff even when the OMS moved back to the confirmed value: the failed call may have applied', () => {
    const { snapshot, calls } = run(
      sendingPrice(949),
      fail('updateListing', RETRYABLE),
      price(T2, PRICE),
      done('backoff', undefined),
    );
    assert.deepEqual(snapshot.value, { 'pending-price': 'sending' });
    assert.equal(inputOf(writes(calls).at(-1))['price'], PRICE);
  });

  it('fails after maxAttempts transient errors', () => {
    let snapshot = sendingPrice(949, { maxAttempts: 3 });
    snapshot = run(snapshot, fail('updateListing', RETRYABLE), done('backoff', undefined)).snapshot;
    snapshot = run(snapshot, fail('updateListing', RETRYABLE), done('backoff', undefined)).snapshot;
    assert.deepEqual(snapshot.value, { 'pending-price': 'sending' });
    const { snapshot: failed, calls } = send(
      snapshot,
      fail('updateListing', { ...RETRYABLE, message: 'HTTP 502' }),
    );
    assert.equal(failed.value, 'failed');
    assert.deepEqual(calls, []);
    assert.equal(failed.context.attempt, 3);
    assert.equal(failed.context.lastError, 'HTTP 502');
    assert.equal(failed.context.inFlight, null);
    assert.equal(isAtRest(failed), true);
  });

  it('keeps waiting out throttling past maxAttempts: a 429 storm does not fail the listing', () => {
    let snapshot = sendingPrice(949, { maxAttempts: 2 });
    for (let i = 0; i < 5; i++) {
      snapshot = run(snapshot, fail('updateListing', THROTTLED), done('backoff', undefined)).snapshot;
      assert.deepEqual(snapshot.value, { 'pending-price': 'sending' });
    }
    const { snapshot: failed } = send(snapshot, fail('updateListing', RETRYABLE));
    assert.equal(failed.value, 'failed', 'other transient errors still count');
  });

  it('counts an unclassified throw as retryable', () => {
    const { snapshot } = send(sendingPrice(949), fail('updateListing', new Error('socket hang up')));
    assert.deepEqual(snapshot.value, { 'pending-price': 'backoff' });
    assert.equal(snapshot.context.lastError, 'socket hang up');
  });

  it('fails at once on a terminal error', () => {
    const { snapshot } = send(sendingPrice(949), fail('updateListing', TERMINAL));
    assert.equal(snapshot.value, 'failed');
    assert.equal(snapshot.context.lastError, 'HTTP 403 forbidden');
    assert.equal(snapshot.context.desired.price, 949);
  });
});

describe('failed', () => {
  const failed = (): ListingSnapshot => send(sendingPrice(949), fail('updateListing', TERMINAL)).snapshot;

  it('sends again on RETRY with a fresh budget of attempts', () => {
    const { snapshot, calls } = send(failed(), retry(T2));
    assert.deepEqual(snapshot.value, { 'pending-price': 'sending' });
    assert.equal(writes(calls).length, 1);
    assert.equal(snapshot.context.attempt, 0);
    assert.equal(snapshot.context.lastError, null);
  });

  it('sends again on a newer OMS event', () => {
    const { snapshot, calls } = send(failed(), price(T2, 959));
    assert.deepEqual(snapshot.value, { 'pending-price': 'sending' });
    assert.equal(calls[0]?.input['price'], 959);
  });

  it('stays on an older OMS event', () => {
    const { snapshot, calls } = send(failed(), price(BEFORE_T0, 959));
    assert.equal(snapshot.value, 'failed');
    assert.deepEqual(calls, []);
  });

  it('no longer trusts the confirmed values of the abandoned call, so a reverted price is sent again', () => {
    const given = failed();
    assert.equal(given.context.confirmed.price, null);
    assert.equal(given.context.confirmed.quantity, QUANTITY, 'quantity was not in flight');
    const { snapshot, calls } = send(given, price(T2, PRICE));
    assert.deepEqual(snapshot.value, { 'pending-price': 'sending' });
    assert.equal(inputOf(calls[0])['price'], PRICE);
  });
});

describe('verifying', () => {
  const verifying = (input: Partial<ListingInput> = {}): ListingSnapshot =>
    send(sendingPrice(949, input), done('updateListing', ACCEPTED)).snapshot;

  it('reads again, with the next verifyAttempt, while the read-back does not show the change', () => {
    const { snapshot, calls } = send(verifying(), done('readListing', shows()));
    assert.deepEqual(snapshot.value, { 'pending-price': 'verifying' });
    assert.deepEqual(calls, [
      { id: 'readListing', input: { marketplace: 'amazon', sku: SKU, verifyAttempt: 1, priority: 'read' } },
    ]);
  });

  it('sends again once read-backs are exhausted, counting one attempt', () => {
    const { snapshot, calls } = run(
      verifying({ maxVerifyAttempts: 2 }),
      done('readListing', shows()),
      done('readListing', shows()),
    );
    assert.deepEqual(snapshot.value, { 'pending-price': 'sending' });
    assert.equal(writes(calls).length, 1);
    assert.equal(snapshot.context.attempt, 1);
    assert.equal(snapshot.context.verifyAttempt, 0);
    assert.match(snapshot.context.lastError ?? '', /not confirmed/);
  });

  it('fails when read-backs are exhausted on the last attempt', () => {
    const { snapshot } = run(
      verifying({ maxVerifyAttempts: 1, maxAttempts: 1 }),
      done('readListing', shows()),
    );
    assert.equal(snapshot.value, 'failed');
  });

  it('reads again after a retryable read error', () => {
    const { snapshot } = send(verifying(), fail('readListing', RETRYABLE));
    assert.deepEqual(snapshot.value, { 'pending-price': 'verifying' });
    assert.equal(snapshot.context.verifyAttempt, 1);
  });

  it('fails on a terminal read error', () => {
    const { snapshot } = send(verifying(), fail('readListing', TERMINAL));
    assert.equal(snapshot.value, 'failed');
  });
});

describe('delisting', () => {
  const delisting = (): Step => send(listedSnapshot(), unlist(T1));

  it('takes the listing down on UNLIST, in the urgent lane', () => {
    const { snapshot, calls } = delisting();
    assert.deepEqual(snapshot.value, { delisting: 'sending' });
    assert.deepEqual(calls, [
      { id: 'delistListing', input: { marketplace: 'amazon', sku: SKU, priority: 'urgent' } },
    ]);
  });

  it('is delisted once the read-back shows the listing not buyable', () => {
    const { snapshot } = run(
      delisting().snapshot,
      done('delistListing', ACCEPTED),
      done('readListing', shows({ buyable: false })),
    );
    assert.equal(snapshot.value, 'delisted');
    assert.equal(snapshot.context.confirmed.present, false);
    assert.equal(isAtRest(snapshot), true);
  });

  it('keeps verifying while the listing is still buyable', () => {
    const { snapshot } = run(
      delisting().snapshot,
      done('delistListing', ACCEPTED),
      done('readListing', shows()),
    );
    assert.deepEqual(snapshot.value, { delisting: 'verifying' });
  });
});

describe('delisted', () => {
  const delisted = (): ListingSnapshot =>
    run(
      listedSnapshot(),
      unlist(T1),
      done('delistListing', ACCEPTED),
      done('readListing', shows({ found: false })),
    ).snapshot;

  it('records STOCK and PRICE without leaving delisted or calling the marketplace', () => {
    const { snapshot, calls } = run(delisted(), stock(T2, 9), price(T2, 949));
    assert.equal(snapshot.value, 'delisted');
    assert.deepEqual(calls, []);
    assert.equal(snapshot.context.desired.quantity, 9);
    assert.equal(snapshot.context.desired.price, 949);
  });

  it('lists again on a newer LIST, with the newest values', () => {
    const { snapshot, calls } = run(delisted(), stock(T2, 9), list(T3, { quantity: 11 }));
    assert.deepEqual(snapshot.value, { listing: 'sending' });
    assert.deepEqual(calls[0]?.input['draft'], {
      sku: SKU,
      product: PRODUCT,
      price: PRICE,
      mrp: MRP,
      quantity: 11,
    });
  });
});

describe('a persisted snapshot', () => {
  const roundTrip = (snapshot: ListingSnapshot): ListingSnapshot => {
    const stored = JSON.parse(JSON.stringify(listingMachine.getPersistedSnapshot(snapshot))) as {
      value: ListingSnapshot['value'];
      context: ListingSnapshot['context'];
    };
    return listingMachine.resolveState({ value: stored.value, context: stored.context });
  };

  it('still transitions after a JSON round trip in the middle of a call', () => {
    const verifying = run(sendingPrice(949), price(T2, 959), done('updateListing', ACCEPTED)).snapshot;
    const restored = roundTrip(verifying);
    assert.deepEqual(restored.value, { 'pending-price': 'verifying' });
    assert.deepEqual(restored.context, verifying.context);

    const { snapshot, calls } = send(restored, done('readListing', shows({ price: 949 })));
    assert.deepEqual(snapshot.value, { 'pending-price': 'sending' });
    assert.equal(calls[0]?.input['price'], 959);
  });

  it('restores into an actor the way the runtime loads it', () => {
    const sending = sendingPrice(949);
    const stored: unknown = JSON.parse(JSON.stringify(listingMachine.getPersistedSnapshot(sending)));
    const actor = createActor(listingMachine, {
      snapshot: stored as ListingSnapshot,
      input: { sku: SKU, marketplace: 'amazon' },
    });
    assert.deepEqual(actor.getSnapshot().value, { 'pending-price': 'sending' });
    assert.deepEqual(actor.getSnapshot().context, sending.context);
  });

  it('keeps the context JSON-safe', () => {
    const snapshot = run(sendingPrice(949), done('updateListing', INVALID)).snapshot;
    assert.deepEqual(JSON.parse(JSON.stringify(snapshot.context)), snapshot.context);
  });
});

describe('listingStateName and isAtRest', () => {
  it('name the top-level state of nested and atomic values', () => {
    assert.equal(listingStateName({ value: { 'pending-stock': 'verifying' } }), 'pending-stock');
    assert.equal(listingStateName({ value: 'delisted' }), 'delisted');
  });

  it('are at rest only where no call is needed or in flight', () => {
    for (const name of ['listed', 'delisted', 'unlisted', 'rejected', 'failed']) {
      assert.equal(isAtRest({ value: name }), true, name);
    }
    for (const name of ['listing', 'pending-price', 'pending-stock', 'delisting']) {
      assert.equal(isAtRest({ value: { [name]: 'sending' } }), false, name);
    }
  });
});

describe('a snapshot stored by machine version 1', () => {
  it('still loads, and learns stock per location from then on', () => {
    const v2 = listedSnapshot();
    const persisted = JSON.parse(JSON.stringify(v2));
    // What version 1 stored: no per-location stock anywhere.
    delete persisted.context.desired.locations;
    delete persisted.context.confirmed.locations;
    const migrated = migrateListingSnapshot(persisted, 1) as typeof persisted;
    assert.deepEqual(migrated.context.desired.locations, {});
    assert.deepEqual(migrated.context.confirmed.locations, {});
    const restored = listingMachine.resolveState({ value: migrated.value, context: migrated.context });
    const { snapshot, calls } = send(restored, stock(T1, 3, 'DC-DEL-01'));
    assert.deepEqual(snapshot.value, { 'pending-stock': 'sending' });
    assert.deepEqual(calls[0]?.input['locations'], [{ locationId: 'DC-DEL-01', quantity: 3 }]);
    assert.equal(
      migrateListingSnapshot(migrated, LISTING_MACHINE_VERSION),
      migrated,
      'current versions pass through',
    );
  });
});
