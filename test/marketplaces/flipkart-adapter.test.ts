import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { RetryableError, TerminalError } from '../../src/core/errors.js';
import type { ListingDraft } from '../../src/domain/types.js';
import {
  FLIPKART_ISSUE_CODES,
  type FlipkartClient,
  FlipkartListingAdapter,
  type FlipkartListingAdapterOptions,
} from '../../src/marketplaces/flipkart/index.js';
import { eventually, REFERENCE_TIMESTAMP } from './fakes.js';
import { bodyOf, type FakeFlipkart, fakeClient, fakeFlipkart, LOCATION } from './flipkart-fakes.js';

const clients: FlipkartClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.stop()));
});

const DRAFT: ListingDraft = {
  sku: 'SAM-TV-1001',
  product: {
    title: 'Samsung Crystal 4K UHD Smart LED TV 43 inch',
    brand: 'Samsung',
    ean: '8981519975873',
    productType: 'TELEVISION',
    attributes: { hsn: '85287217' },
  },
  price: 35149.5,
  mrp: 39080,
  quantity: 15,
};

function setup(
  adapterOpts: Partial<FlipkartListingAdapterOptions> = {},
  fake: FakeFlipkart = fakeFlipkart(),
) {
  const { client, recorder } = fakeClient(fake);
  clients.push(client);
  const clock = new ManualClock(REFERENCE_TIMESTAMP);
  const adapter = new FlipkartListingAdapter({
    client,
    defaultLocation: LOCATION,
    clock,
    ...adapterOpts,
  });
  const posts = (path: string) => fake.api().filter((r) => r.method === 'POST' && r.url.pathname === path);
  return { adapter, client, clock, fake, recorder, posts };
}

/**
 * Awaits `p` while moving the batch window's clock in 25 ms steps (a lone request waits for the
 * window; nothing else moves a ManualClock).
 */
async function drive<T>(clock: ManualClock, p: Promise<T>): Promise<T> {
  let done = false;
  p.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  for (let i = 0; !done; i++) {
    if (i > 10_000) throw new Error('drive: the promise never settled');
    clock.advance(25);
    await new Promise((r) => setImmediate(r));
  }
  return p;
}

const PRICE = '/sellers/listings/v3/update/price';
const INVENTORY = '/sellers/listings/v3/update/inventory';
const UPDATE = '/sellers/listings/v3/update';
const CREATE = '/sellers/listings/v3';

describe('FlipkartListingAdapter batching', () => {
  it('a batch of 10 where 3 SKUs fail: 7 applied, 3 invalid with issues, one HTTP call', async () => {
    const { adapter, fake, posts } = setup();
    for (const sku of ['S-2', 'S-5', 'S-7']) fake.failing.add(sku);
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => adapter.update({ sku: `S-${i}`, price: 100 + i })),
    );
    assert.equal(posts(PRICE).length, 1);
    assert.equal(Object.keys(bodyOf(posts(PRICE)[0]!)).length, 10);
    results.forEach((r, i) => {
      if (['S-2', 'S-5', 'S-7'].includes(`S-${i}`)) {
        assert.equal(r.status, 'invalid');
        assert.deepEqual(r.issues, [
          { code: '1002', message: `No listing found for SKU S-${i}`, severity: 'ERROR' },
          {
            code: '2001',
            message: 'selling_price must be positive (price.selling_price)',
            severity: 'ERROR',
            attributeNames: ['selling_price'],
          },
        ]);
      } else {
        assert.deepEqual(r, { status: 'applied' });
      }
    });
  });

  it('11 concurrent updates make 2 calls (10 at once, 1 after the window)', async () => {
    const { adapter, clock, posts } = setup();
    const pending = Promise.all(
      Array.from({ length: 11 }, (_, i) => adapter.update({ sku: `S-${i}`, quantity: i + 1 })),
    );
    await eventually(() => posts(INVENTORY).length === 1, 'the full batch is sent');
    assert.equal(Object.keys(bodyOf(posts(INVENTORY)[0]!)).length, 10);
    assert.equal(posts(INVENTORY).length, 1, 'the 11th waits for the window');
    clock.advance(25);
    const results = await pending;
    assert.equal(posts(INVENTORY).length, 2);
    assert.deepEqual(Object.keys(bodyOf(posts(INVENTORY)[1]!)), ['S-10']);
    assert.ok(results.every((r) => r.status === 'applied'));
    assert.equal(adapter.batchCalls().updateInventory, 2);
  });

  it('an expired token mid-batch: one new token, the batch replayed, every caller applied', async () => {
    const { adapter, clock, fake, recorder } = setup();
    await drive(clock, adapter.update({ sku: 'WARM', price: 1 }));
    fake.expireTokens();
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => adapter.update({ sku: `S-${i}`, price: 200 })),
    );
    assert.ok(results.every((r) => r.status === 'applied'));
    assert.equal(fake.tokenRequests().length, 2);
    assert.deepEqual(
      recorder.calls.filter((c) => c.operation === 'updatePrice').map((c) => [c.httpStatus, c.attempt]),
      [
        [200, 1],
        [401, 1],
        [200, 2],
      ],
    );
  });

  it('a transport error rejects every caller of that batch with the classified error', async () => {
    const { adapter, clock, fake } = setup();
    await drive(clock, adapter.read('WARM')); // token
    fake.script.push({ status: 503, body: { error: 'service_unavailable' } });
    const settled = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => adapter.update({ sku: `S-${i}`, price: 1 })),
    );
    assert.ok(
      settled.every(
        (s) => s.status === 'rejected' && s.reason instanceof RetryableError && s.reason.status === 503,
      ),
    );
  });

  it('a 400 for the call is terminal for every caller', async () => {
    const { adapter, clock, fake } = setup();
    await drive(clock, adapter.read('WARM'));
    fake.script.push({ status: 400, body: { errors: [{ code: 400, description: 'bad' }] } });
    const settled = await drive(
      clock,
      Promise.allSettled([adapter.update({ sku: 'A', price: 1 }), adapter.update({ sku: 'B', price: 1 })]),
    );
    assert.ok(settled.every((s) => s.status === 'rejected' && s.reason instanceof TerminalError));
  });

  it('a SKU the answer does not mention is a retryable error for that caller only', async () => {
    const { adapter, clock, fake } = setup();
    await drive(clock, adapter.read('WARM'));
    fake.script.push({ status: 200, body: { A: { status: 'SUCCESS' } } });
    const [a, b] = await drive(
      clock,
      Promise.allSettled([adapter.update({ sku: 'A', price: 1 }), adapter.update({ sku: 'B', price: 1 })]),
    );
    assert.deepEqual(a, { status: 'fulfilled', value: { status: 'applied' } });
    assert.ok(b.status === 'rejected' && b.reason instanceof RetryableError);
  });

  it('the same SKU twice goes into two calls, in order', async () => {
    const { adapter, clock, posts } = setup();
    const both = Promise.all([
      adapter.update({ sku: 'A', price: 100 }),
      adapter.update({ sku: 'A', price: 101 }),
    ]);
    await eventually(() => posts(PRICE).length === 1, 'first batch sent at once');
    await drive(clock, both);
    assert.deepEqual(
      posts(PRICE).map((r) => (bodyOf(r).A?.price as { selling_price?: number } | undefined)?.selling_price),
      [100, 101],
    );
  });

  it('a caller aborting before the batch is sent leaves the batch', async () => {
    const { adapter, clock, posts } = setup();
    const ac = new AbortController();
    const a = adapter.update({ sku: 'A', price: 1 }, { signal: ac.signal });
    const b = adapter.update({ sku: 'B', price: 1 });
    ac.abort(new Error('shutdown'));
    await assert.rejects(a, /shutdown/);
    await drive(clock, b);
    assert.deepEqual(Object.keys(bodyOf(posts(PRICE)[0]!)), ['B']);
  });
});

describe('FlipkartListingAdapter.update', () => {
  it('sends price first, then stock, each in its own call', async () => {
    const { adapter, clock, fake } = setup();
    const done = await drive(clock, adapter.update({ sku: 'A', price: 999.5, mrp: 1200, quantity: 4 }));
    assert.deepEqual(done, { status: 'applied' });
    assert.deepEqual(
      fake.api().map((r) => r.url.pathname),
      [PRICE, INVENTORY],
    );
    assert.deepEqual(bodyOf(fake.api()[0]!).A?.price, { mrp: 1200, selling_price: 1000, currency: 'INR' });
  });

  it('a price FAILURE skips the stock call', async () => {
    const { adapter, clock, fake } = setup();
    fake.failing.add('A');
    const r = await drive(clock, adapter.update({ sku: 'A', price: 10, quantity: 4 }));
    assert.equal(r.status, 'invalid');
    assert.deepEqual(
      fake.api().map((x) => x.url.pathname),
      [PRICE],
    );
  });

  it('stock to zero goes before the price', async () => {
    const { adapter, clock, fake } = setup();
    await drive(clock, adapter.update({ sku: 'A', price: 10, quantity: 0 }));
    assert.deepEqual(
      fake.api().map((x) => x.url.pathname),
      [INVENTORY, PRICE],
    );
  });

  it('WARNING is applied with the issues', async () => {
    const { adapter, clock, fake } = setup();
    fake.warning.add('A');
    assert.deepEqual(await drive(clock, adapter.update({ sku: 'A', price: 10 })), {
      status: 'applied',
      issues: [{ code: '5001', message: 'price is much lower than before', severity: 'WARNING' }],
    });
  });

  it('a total goes to the default location, the other configured locations get 0', () => {
    const { adapter } = setup({ locations: { 'STORE-MUM-003': 'LOC-MUM-1', 'DC-BLR': LOCATION } });
    assert.deepEqual(adapter.layout({ sku: 'A', quantity: 7 }).locations, [
      { id: LOCATION, inventory: 7, status: 'ENABLED' },
      { id: 'LOC-MUM-1', inventory: 0, status: 'ENABLED' },
    ]);
  });

  it('a breakdown is mapped (summed per Flipkart location); unmapped OMS locations are a warning', () => {
    const { adapter } = setup({
      locations: { 'STORE-MUM-003': 'LOC-MUM-1', 'STORE-MUM-004': 'LOC-MUM-1', 'DC-BLR': LOCATION },
    });
    const { locations, issues } = adapter.layout({
      sku: 'A',
      quantity: 12,
      locations: [
        { locationId: 'STORE-MUM-003', quantity: 2 },
        { locationId: 'STORE-MUM-004', quantity: 3 },
        { locationId: 'STORE-DEL-001', quantity: 7 },
      ],
    });
    assert.deepEqual(locations, [
      { id: LOCATION, inventory: 0, status: 'ENABLED' },
      { id: 'LOC-MUM-1', inventory: 5, status: 'ENABLED' },
    ]);
    assert.equal(issues.length, 1);
    assert.equal(issues[0]?.code, FLIPKART_ISSUE_CODES.locationNotMapped);
    assert.equal(issues[0]?.severity, 'WARNING');
  });

  it('rejects a fractional quantity or a non-positive price without a call', async () => {
    const { adapter, fake } = setup();
    assert.equal((await adapter.update({ sku: 'A', quantity: 1.5 })).status, 'invalid');
    assert.equal((await adapter.update({ sku: 'A', price: 0 })).status, 'invalid');
    assert.deepEqual(await adapter.update({ sku: 'A' }), { status: 'applied' });
    assert.equal(fake.requests.length, 0);
  });
});

describe('FlipkartListingAdapter upsert, delist, read', () => {
  it('upsert creates the full listing: product_id, whole-rupee price, ACTIVE, stock at the location', async () => {
    const { adapter, clock, posts } = setup({
      listingFields: (d) => ({ tax: { hsn: d.product.attributes.hsn, tax_code: 'GST_18' } }),
    });
    assert.deepEqual(await drive(clock, adapter.upsert(DRAFT)), { status: 'applied' });
    assert.deepEqual(bodyOf(posts(CREATE)[0]!), {
      'SAM-TV-1001': {
        tax: { hsn: '85287217', tax_code: 'GST_18' },
        product_id: 'SAM-TV-1001',
        price: { mrp: 39080, selling_price: 35150, currency: 'INR' },
        listing_status: 'ACTIVE',
        locations: [{ id: LOCATION, status: 'ENABLED', inventory: 15 }],
      },
    });
  });

  it('delist sets inventory 0 at every location and INACTIVE', async () => {
    const { adapter, clock, posts } = setup({ locations: { 'STORE-MUM-003': 'LOC-MUM-1' } });
    assert.deepEqual(await drive(clock, adapter.delist('A')), { status: 'applied' });
    assert.deepEqual(bodyOf(posts(INVENTORY)[0]!).A?.locations, [
      { id: LOCATION, status: 'ENABLED', inventory: 0 },
      { id: 'LOC-MUM-1', status: 'ENABLED', inventory: 0 },
    ]);
    assert.deepEqual(bodyOf(posts(UPDATE)[0]!), { A: { product_id: 'A', listing_status: 'INACTIVE' } });
  });

  it('read: selling price, stock summed over enabled locations, buyable when ACTIVE with stock', async () => {
    const { adapter, clock, fake } = setup();
    fake.listings.set('A', {
      product_id: 'A',
      listing_status: 'ACTIVE',
      price: { selling_price: 499, mrp: 599, currency: 'INR' },
      locations: [
        { id: 'L1', status: 'ENABLED', inventory: 2 },
        { id: 'L2', status: 'ENABLED', inventory: 3 },
        { id: 'L3', status: 'DISABLED', inventory: 9 },
      ],
    });
    fake.listings.set('OFF', { product_id: 'OFF', listing_status: 'INACTIVE', locations: [] });
    const [a, off, none] = await drive(
      clock,
      Promise.all([adapter.read('A'), adapter.read('OFF'), adapter.read('NONE')]),
    );
    assert.deepEqual(a, { found: true, price: 499, quantity: 5, buyable: true });
    assert.deepEqual(off, { found: true, quantity: 0, buyable: false });
    assert.deepEqual(none, { found: false });
    assert.equal(fake.api().length, 1, 'three reads, one GET');
    assert.equal(adapter.isDelisted(a), false);
    assert.equal(adapter.isDelisted(off), true);
    assert.equal(adapter.isDelisted(none), true);
  });
});
