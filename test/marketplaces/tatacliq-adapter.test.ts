import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { RetryableError } from '../../src/core/errors.js';
import type { SubmitResult } from '../../src/domain/types.js';
import { CALL_PRIORITY } from '../../src/marketplaces/limits.js';
import {
  type BatchOutcome,
  TATACLIQ_ISSUE_CODES,
  TataCliqListingAdapter,
  type TataCliqListingAdapterOptions,
} from '../../src/marketplaces/tatacliq/index.js';
import { REFERENCE_TIMESTAMP, settle, TV_DRAFT } from './fakes.js';
import { type FakeCall, type FakeClientOptions, fakeClient } from './tatacliq-fakes.js';

const SLAVES = { 'STORE-MUM-003': 'MUM003', 'STORE-BLR-014': 'BLR014', 'DC-DEL-01': 'DEL001' };

function setup(client: FakeClientOptions = {}, overrides: Partial<TataCliqListingAdapterOptions> = {}) {
  const clock = new ManualClock(REFERENCE_TIMESTAMP);
  const fake = fakeClient(client);
  const adapter = new TataCliqListingAdapter({
    client: fake.api,
    slaveIds: SLAVES,
    defaultSlaveId: 'DEL001',
    clock,
    ...overrides,
  });
  return { adapter, clock, calls: fake.calls };
}

/** Runs `start`, lets the batch window pass, and returns the results. */
async function windowed<T>(t: { clock: ManualClock }, start: () => Promise<T>): Promise<T> {
  const p = start();
  await settle();
  t.clock.advance(25);
  return p;
}

function inventoryCalls(calls: FakeCall[]) {
  return calls.filter((c): c is Extract<FakeCall, { op: 'inventory' }> => c.op === 'inventory');
}

describe('TataCliqListingAdapter batching', () => {
  it('sends concurrent updates within the window as one call; each caller gets its own result', async () => {
    const t = setup();
    const results = await windowed(t, () =>
      Promise.all(['A', 'B', 'C', 'D', 'E'].map((sku, i) => t.adapter.update({ sku, quantity: i + 1 }))),
    );
    assert.deepEqual(results, Array(5).fill({ status: 'applied' }));
    const calls = inventoryCalls(t.calls);
    assert.equal(calls.length, 1);
    assert.deepEqual(
      calls[0]?.items.map((i) => [i.sku, i.slaveId, i.inventory]),
      [
        ['A', 'DEL001', 1],
        ['B', 'DEL001', 2],
        ['C', 'DEL001', 3],
        ['D', 'DEL001', 4],
        ['E', 'DEL001', 5],
      ],
    );
  });

  it('waits for the window before sending', async () => {
    const t = setup();
    const p = t.adapter.update({ sku: 'A', quantity: 1 });
    await settle();
    assert.equal(t.calls.length, 0);
    t.clock.advance(25);
    await p;
    assert.equal(t.calls.length, 1);
  });

  it('in a batch with 3 failing SKUs, applies the others and marks the 3 invalid with CliQ message', async () => {
    const failing = new Set(['S2', 'S5', 'S7']);
    const t = setup({
      answer: (item) =>
        failing.has(item.sku) ? { status: 'FAILURE', errorCode: 'E42', errorMessage: `bad ${item.sku}` } : {},
    });
    const skus = Array.from({ length: 10 }, (_, i) => `S${i}`);
    const results = await windowed(t, () =>
      Promise.all(skus.map((sku) => t.adapter.update({ sku, quantity: 5 }))),
    );
    assert.equal(t.calls.length, 1);
    for (const [i, sku] of skus.entries()) {
      const r = results[i]!;
      if (!failing.has(sku)) {
        assert.deepEqual(r, { status: 'applied' }, sku);
        continue;
      }
      assert.equal(r.status, 'invalid', sku);
      assert.deepEqual(r.status === 'invalid' && r.issues, [
        {
          code: 'E42',
          message: `Tata CliQ rejected the inventory update (SlaveID DEL001): bad ${sku}`,
          severity: 'ERROR',
          attributeNames: ['inventory'],
        },
      ]);
    }
  });

  it('sends a full batch at once and starts the next one (cap = client maxBatchItems)', async () => {
    const t = setup({ maxBatchItems: 3 });
    const all = Promise.all(
      ['A', 'B', 'C', 'D', 'E', 'F', 'G'].map((sku) => t.adapter.update({ sku, quantity: 1 })),
    );
    await settle();
    assert.deepEqual(
      inventoryCalls(t.calls).map((c) => c.items.length),
      [3, 3],
    );
    t.clock.advance(25);
    await all;
    assert.deepEqual(
      inventoryCalls(t.calls).map((c) => c.items.length),
      [3, 3, 1],
    );
  });

  it('never puts one SKU twice in a batch: the second change goes in the next call, after the first is answered', async () => {
    const answers: ((o: BatchOutcome) => void)[] = [];
    const t = setup({
      call: (c) =>
        c.op === 'inventory' ? new Promise<BatchOutcome>((resolve) => answers.push(resolve)) : undefined,
    });
    const first = t.adapter.update({ sku: 'A', quantity: 1 });
    const other = t.adapter.update({ sku: 'B', quantity: 9 });
    const second = t.adapter.update({ sku: 'A', quantity: 2 });
    await settle();
    assert.equal(t.calls.length, 1, 'the first batch closed when A came again');
    t.clock.advance(25);
    await settle();
    assert.equal(t.calls.length, 1, 'the second batch waits for the answer of the first');
    answers[0]?.({
      items: [
        { sku: 'A', slaveId: 'DEL001', status: 'SUCCESS' },
        { sku: 'B', slaveId: 'DEL001', status: 'SUCCESS' },
      ],
    });
    await settle();
    assert.equal(t.calls.length, 2);
    answers[1]?.({ items: [{ sku: 'A', slaveId: 'DEL001', status: 'SUCCESS' }] });
    assert.deepEqual(await Promise.all([first, other, second]), Array(3).fill({ status: 'applied' }));
    assert.deepEqual(
      inventoryCalls(t.calls).map((c) => c.items.map((i) => `${i.sku}=${i.inventory}`)),
      [['A=1', 'B=9'], ['A=2']],
    );
  });

  it('rejects every caller of a batch whose call failed (429, 5xx, network)', async () => {
    const t = setup({
      call: () =>
        Promise.reject(new RetryableError('throttled', { throttled: true, status: 429, retryAfterMs: 2000 })),
    });
    const results = await windowed(t, () =>
      Promise.allSettled(['A', 'B', 'C'].map((sku) => t.adapter.update({ sku, quantity: 1 }))),
    );
    assert.equal(t.calls.length, 1);
    for (const r of results) {
      assert.equal(r.status, 'rejected');
      assert.ok(
        r.status === 'rejected' && r.reason instanceof RetryableError && r.reason.retryAfterMs === 2000,
      );
    }
  });

  it('takes an aborted caller out of the open batch', async () => {
    const t = setup();
    const ac = new AbortController();
    const aborted = t.adapter.update({ sku: 'A', quantity: 1 }, { signal: ac.signal });
    const kept = t.adapter.update({ sku: 'B', quantity: 1 });
    ac.abort(new Error('shutting down'));
    await assert.rejects(aborted, /shutting down/);
    await settle();
    t.clock.advance(25);
    await kept;
    assert.deepEqual(
      inventoryCalls(t.calls)[0]?.items.map((i) => i.sku),
      ['B'],
    );
  });

  it('sends the batch with the most urgent priority of its callers', async () => {
    const t = setup();
    await windowed(t, () =>
      Promise.all([t.adapter.update({ sku: 'A', quantity: 5 }), t.adapter.update({ sku: 'B', quantity: 0 })]),
    );
    assert.equal(inventoryCalls(t.calls)[0]?.opts?.priority, CALL_PRIORITY.urgent);
  });
});

describe('TataCliqListingAdapter stock per location', () => {
  it('maps OMS locations to SlaveIDs (sharing a SlaveID adds up); a configured slave not in the breakdown gets 0', async () => {
    const t = setup({}, { slaveIds: { ...SLAVES, 'STORE-MUM-007': 'MUM003' } });
    const r = await windowed(t, () =>
      t.adapter.update({
        sku: 'A',
        locations: [
          { locationId: 'STORE-MUM-003', quantity: 2 },
          { locationId: 'STORE-MUM-007', quantity: 3 },
          { locationId: 'DC-DEL-01', quantity: 0 },
        ],
      }),
    );
    assert.deepEqual(r, { status: 'applied' });
    assert.deepEqual(
      inventoryCalls(t.calls)[0]?.items.map((i) => [i.slaveId, i.inventory]),
      [
        ['MUM003', 5],
        ['DEL001', 0],
        ['BLR014', 0],
      ],
    );
  });

  it('skips a location without SlaveID with a warning, or rejects the change when configured to', async () => {
    const t = setup();
    const r = await windowed(t, () =>
      t.adapter.update({
        sku: 'A',
        locations: [
          { locationId: 'STORE-MUM-003', quantity: 2 },
          { locationId: 'STORE-PUN-001', quantity: 7 },
        ],
      }),
    );
    assert.equal(r.status, 'applied');
    assert.equal(r.issues?.[0]?.code, TATACLIQ_ISSUE_CODES.unmappedLocation);
    assert.equal(r.issues?.[0]?.severity, 'WARNING');
    assert.deepEqual(
      inventoryCalls(t.calls)[0]?.items.map((i) => i.slaveId),
      ['MUM003', 'BLR014', 'DEL001'],
    );

    const strict = setup({}, { unmappedLocation: 'reject' });
    const rejected = await strict.adapter.update({
      sku: 'A',
      locations: [{ locationId: 'STORE-PUN-001', quantity: 7 }],
    });
    assert.equal(rejected.status, 'invalid');
    assert.equal(strict.calls.length, 0);
  });

  it('sends a total without breakdown to the default SlaveID; without one, the change is invalid', async () => {
    const single = setup({}, { slaveIds: { 'STORE-MUM-003': 'MUM003' }, defaultSlaveId: undefined });
    await windowed(single, () => single.adapter.update({ sku: 'A', quantity: 4 }));
    assert.equal(
      inventoryCalls(single.calls)[0]?.items[0]?.slaveId,
      'MUM003',
      'the only SlaveID is the default',
    );

    const none = setup({}, { defaultSlaveId: undefined });
    const r = await none.adapter.update({ sku: 'A', quantity: 4 });
    assert.equal(r.status, 'invalid');
    assert.equal(r.status === 'invalid' && r.issues[0]?.code, TATACLIQ_ISSUE_CODES.noDefaultSlave);
    assert.equal(none.calls.length, 0);
  });

  it('refuses a configuration without any SlaveID', () => {
    assert.throws(
      () => new TataCliqListingAdapter({ client: fakeClient().api, slaveIds: {} }),
      /at least one SlaveID/,
    );
  });
});

describe('TataCliqListingAdapter price and stock together', () => {
  async function run(t: ReturnType<typeof setup>, start: () => Promise<SubmitResult>) {
    const p = start();
    for (let i = 0; i < 4; i++) {
      await settle();
      t.clock.advance(25);
    }
    return p;
  }

  it('sends the price first, then the stock (a restock never sells at the old price)', async () => {
    const t = setup();
    const r = await run(t, () => t.adapter.update({ sku: 'A', price: 900, mrp: 1000, quantity: 3 }));
    assert.deepEqual(r, { status: 'applied' });
    assert.deepEqual(
      t.calls.map((c) => c.op),
      ['price', 'inventory'],
    );
    assert.deepEqual(t.calls[0]?.op === 'price' && t.calls[0].items, [
      { sku: 'A', mrp: 1000, sellingPrice: 900 },
    ]);
  });

  it('sends stock to zero first', async () => {
    const t = setup();
    await run(t, () => t.adapter.update({ sku: 'A', price: 900, mrp: 1000, quantity: 0 }));
    assert.deepEqual(
      t.calls.map((c) => c.op),
      ['inventory', 'price'],
    );
  });

  it('does not send the stock when the price was rejected', async () => {
    const t = setup({
      answer: (_i, op) => (op === 'price' ? { status: 'FAILURE', errorMessage: 'MRP too low' } : {}),
    });
    const r = await run(t, () => t.adapter.update({ sku: 'A', price: 900, mrp: 1000, quantity: 3 }));
    assert.equal(r.status, 'invalid');
    assert.deepEqual(
      t.calls.map((c) => c.op),
      ['price'],
    );
  });

  it('says so when the price was applied but the stock rejected', async () => {
    const t = setup({
      answer: (_i, op) => (op === 'inventory' ? { status: 'FAILURE', errorMessage: 'no' } : {}),
    });
    const r = await run(t, () => t.adapter.update({ sku: 'A', price: 900, mrp: 1000, quantity: 3 }));
    assert.equal(r.status, 'invalid');
    assert.deepEqual(
      r.issues?.map((i) => [i.code, i.severity]),
      [
        [TATACLIQ_ISSUE_CODES.itemFailure, 'ERROR'],
        [TATACLIQ_ISSUE_CODES.partiallyApplied, 'INFO'],
      ],
    );
  });

  it('reports an item without a per-item result as accepted (confirm by read-back)', async () => {
    const t = setup({ answer: () => ({ status: 'UNCONFIRMED' }) });
    const r = await run(t, () => t.adapter.update({ sku: 'A', price: 900, mrp: 1000 }));
    assert.deepEqual(r, { status: 'accepted' });
  });

  it('rejects values CliQ cannot take without calling it', async () => {
    const t = setup();
    for (const change of [
      { sku: 'A', price: 1200, mrp: 1000 },
      { sku: 'A', price: -1 },
      { sku: 'A', quantity: 2.5 },
      { sku: 'A', locations: [{ locationId: 'DC-DEL-01', quantity: -3 }] },
    ]) {
      const r = await t.adapter.update(change);
      assert.equal(r.status, 'invalid', JSON.stringify(change));
    }
    assert.equal(t.calls.length, 0);
  });
});

describe('TataCliqListingAdapter upsert, delist, read', () => {
  it('upserts as price + stock of a SKU that is already in the CliQ catalogue', async () => {
    const t = setup();
    const p = t.adapter.upsert(TV_DRAFT);
    for (let i = 0; i < 4; i++) {
      await settle();
      t.clock.advance(25);
    }
    assert.deepEqual(await p, { status: 'applied' });
    assert.deepEqual(
      t.calls.map((c) => (c.op === 'get' ? c.op : [c.op, c.items])),
      [
        ['price', [{ sku: 'SAM-TV-1001', mrp: 39080, sellingPrice: 35150 }]],
        ['inventory', [{ sku: 'SAM-TV-1001', slaveId: 'DEL001', inventory: 15 }]],
      ],
    );
  });

  it('maps CliQ "unknown SKU" to invalid with a SKU_NOT_IN_CATALOGUE issue that says what to do', async () => {
    const t = setup({
      answer: () => ({ status: 'FAILURE', errorCode: 'SKU_NOT_FOUND', errorMessage: 'SKU does not exist' }),
    });
    const p = t.adapter.upsert(TV_DRAFT);
    await settle();
    t.clock.advance(25);
    const r = await p;
    assert.equal(r.status, 'invalid');
    const issue = r.issues?.[0];
    assert.equal(issue?.code, TATACLIQ_ISSUE_CODES.notInCatalogue);
    assert.match(issue?.message ?? '', /not in the Tata CliQ catalogue.*seller portal/);
    assert.equal(t.calls.length, 1, 'no stock sent after the price was rejected');
  });

  it('delists by sending inventory 0 at every configured SlaveID, as urgent', async () => {
    const t = setup();
    const r = await windowed(t, () => t.adapter.delist('A'));
    assert.deepEqual(r, { status: 'applied' });
    const [call] = inventoryCalls(t.calls);
    assert.deepEqual(
      call?.items.map((i) => [i.sku, i.slaveId, i.inventory]),
      [
        ['A', 'MUM003', 0],
        ['A', 'BLR014', 0],
        ['A', 'DEL001', 0],
      ],
    );
    assert.equal(call?.opts?.priority, CALL_PRIORITY.urgent);
  });

  it('reads price, total stock over all slaves, and buyability', async () => {
    const t = setup({
      listing: {
        SKU: 'A',
        MRP: 1000,
        SellingPrice: 900,
        Inventory: [
          { SlaveID: 'MUM003', Inventory: 2 },
          { SlaveID: 'DEL001', Inventory: 5 },
        ],
        Status: 'ACTIVE',
      },
    });
    const rb = await t.adapter.read('A');
    assert.deepEqual(rb, { found: true, price: 900, quantity: 7, buyable: true });
    assert.equal(t.adapter.isDelisted(rb), false);
    assert.equal(t.calls[0]?.op === 'get' && t.calls[0].opts?.priority, 'read');
  });

  it('sees a listing with no stock anywhere, or unknown to CliQ, as delisted', async () => {
    const empty = setup({
      listing: { SKU: 'A', SellingPrice: 900, Inventory: [{ SlaveID: 'X', Inventory: 0 }] },
    });
    const rb = await empty.adapter.read('A');
    assert.deepEqual(rb, { found: true, price: 900, quantity: 0, buyable: false });
    assert.equal(empty.adapter.isDelisted(rb), true);
    const gone = setup({ listing: null });
    assert.equal(gone.adapter.isDelisted(await gone.adapter.read('A')), true);
  });

  it('does not call an inactive listing buyable', async () => {
    const t = setup({
      listing: { SKU: 'A', Inventory: [{ SlaveID: 'X', Inventory: 3 }], Status: 'INACTIVE' },
    });
    const rb = await t.adapter.read('A');
    assert.equal(rb.buyable, false);
    assert.equal(rb.issues?.[0]?.code, 'STATUS_INACTIVE');
    assert.equal(t.adapter.isDelisted(rb), false);
  });
});
