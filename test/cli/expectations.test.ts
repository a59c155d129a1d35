import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { type ExpectedListing, expectedListings, naiveUpdateCount } from '../../src/cli/expectations.js';
import {
  decodeOmsMessage,
  type OmsEvent,
  type PriceUpdateEvent,
  type ProductListEvent,
  type ProductUnlistEvent,
  type StockUpdateEvent,
} from '../../src/domain/oms.js';
import type { MarketplaceId } from '../../src/domain/types.js';

// ---- a small hand-written feed -----------------------------------------------------------------

/** OMS instants, in order (IST). */
const T0 = '2026-11-20T09:00:00+05:30';
const T1 = '2026-11-20T10:00:00+05:30';
const T2 = '2026-11-20T11:00:00+05:30';
const T3 = '2026-11-20T12:00:00+05:30';
const T4 = '2026-11-20T13:00:00+05:30';

let n = 0;
const id = () => `OMS-TEST-${++n}`;

const listed = (
  sku: string,
  marketplaces: MarketplaceId[],
  occurredAt: string,
  price: number,
  quantity: number,
): ProductListEvent => ({
  id: id(),
  type: 'product.list',
  occurredAt,
  sku,
  marketplaces,
  title: `Product ${sku}`,
  brand: 'Acme',
  ean: '8901234567890',
  productType: 'TELEVISION',
  price,
  mrp: 99_999,
  quantity,
  attributes: {},
});
const unlisted = (sku: string, marketplaces: MarketplaceId[], occurredAt: string): ProductUnlistEvent => ({
  id: id(),
  type: 'product.unlist',
  occurredAt,
  sku,
  marketplaces,
});
const priced = (
  sku: string,
  occurredAt: string,
  price: number,
  marketplaces?: MarketplaceId[],
): PriceUpdateEvent => ({
  id: id(),
  type: 'price.update',
  occurredAt,
  sku,
  price,
  mrp: 99_999,
  ...(marketplaces ? { marketplaces } : {}),
});
const stocked = (sku: string, occurredAt: string, quantity: number): StockUpdateEvent => ({
  id: id(),
  type: 'stock.update',
  occurredAt,
  sku,
  quantity,
});

const ALL: MarketplaceId[] = ['amazon', 'flipkart', 'tatacliq'];
const one = (list: ExpectedListing[], marketplace: MarketplaceId, sku: string) => {
  const found = list.find((l) => l.marketplace === marketplace && l.sku === sku);
  assert.ok(found, `a listing for ${marketplace} ${sku}`);
  return found;
};

describe('expectedListings on a hand-written feed', () => {
  it('gives one listing per selected marketplace of a product.list, sorted by marketplace then SKU', () => {
    const out = expectedListings(
      [
        listed('TV-2', ['amazon', 'flipkart', 'tatacliq'], T1, 500, 3),
        listed('TV-1', ['amazon'], T1, 400, 2),
      ],
      ['amazon', 'flipkart'],
    );
    assert.deepEqual(out, [
      { sku: 'TV-1', marketplace: 'amazon', present: true, price: 400, quantity: 2, locations: {} },
      { sku: 'TV-2', marketplace: 'amazon', present: true, price: 500, quantity: 3, locations: {} },
      { sku: 'TV-2', marketplace: 'flipkart', present: true, price: 500, quantity: 3, locations: {} },
    ]);
  });

  it('keeps the newest value: an older occurredAt does not overwrite, whatever the feed order', () => {
    const out = expectedListings(
      [
        listed('TV', ['amazon'], T1, 500, 3),
        priced('TV', T3, 450),
        priced('TV', T2, 470), // older than the price already applied
        stocked('TV', T3, 8),
        stocked('TV', T0, 1), // older than the product.list
        listed('TV', ['amazon'], T2, 480, 4), // a redelivered, older list: presence stays, values older
      ],
      ['amazon'],
    );
    assert.deepEqual(out, [
      { sku: 'TV', marketplace: 'amazon', present: true, price: 450, quantity: 8, locations: {} },
    ]);
  });

  it('keeps the newest quantity per OMS location, each on its own', () => {
    const out = expectedListings(
      [
        listed('TV', ['flipkart'], T0, 500, 3),
        { ...stocked('TV', T2, 4), locationId: 'DC-DEL-01' },
        { ...stocked('TV', T3, 9), locationId: 'STORE-MUM-003' },
        { ...stocked('TV', T1, 1), locationId: 'DC-DEL-01' }, // older for DC-DEL-01
      ],
      ['flipkart'],
    );
    assert.deepEqual(one(out, 'flipkart', 'TV').locations, { 'DC-DEL-01': 4, 'STORE-MUM-003': 9 });
  });

  it('compares occurredAt as instants, not as strings', () => {
    // 10:30 IST written in UTC sorts before "10:15+05:30" as a string but happened after it.
    const at1015Ist = '2026-11-20T10:15:00+05:30';
    const at1030IstInUtc = '2026-11-20T05:00:00Z';
    const newerLast = expectedListings(
      [listed('TV', ['amazon'], T1, 500, 3), priced('TV', at1015Ist, 490), priced('TV', at1030IstInUtc, 480)],
      ['amazon'],
    );
    assert.equal(one(newerLast, 'amazon', 'TV').price, 480);
    const newerFirst = expectedListings(
      [listed('TV', ['amazon'], T1, 500, 3), priced('TV', at1030IstInUtc, 480), priced('TV', at1015Ist, 490)],
      ['amazon'],
    );
    assert.equal(one(newerFirst, 'amazon', 'TV').price, 480);
  });

  it('lets the later event of the feed win when two happened at the same instant', () => {
    const out = expectedListings(
      [
        listed('TV', ['amazon'], T1, 500, 3),
        priced('TV', T2, 490),
        priced('TV', '2026-11-20T05:30:00Z', 485),
      ],
      ['amazon'],
    );
    assert.equal(one(out, 'amazon', 'TV').price, 485);
  });

  it('marks an unlisted listing not present on that marketplace only; an older list does not bring it back', () => {
    const out = expectedListings(
      [
        listed('TV', ['amazon', 'flipkart'], T1, 500, 3),
        unlisted('TV', ['amazon'], T3),
        listed('TV', ['amazon', 'flipkart'], T2, 500, 3),
      ],
      ALL,
    );
    assert.equal(one(out, 'amazon', 'TV').present, false);
    assert.equal(one(out, 'flipkart', 'TV').present, true);

    const relisted = expectedListings(
      [
        listed('TV', ['amazon'], T1, 500, 3),
        unlisted('TV', ['amazon'], T2),
        listed('TV', ['amazon'], T3, 510, 3),
      ],
      ['amazon'],
    );
    assert.equal(one(relisted, 'amazon', 'TV').present, true);
    assert.equal(one(relisted, 'amazon', 'TV').price, 510);
  });

  it('applies a price.update without marketplaces to every marketplace the SKU is listed on', () => {
    const out = expectedListings(
      [listed('TV', ['amazon', 'flipkart'], T1, 500, 3), priced('TV', T2, 450)],
      ['amazon', 'flipkart'],
    );
    assert.equal(one(out, 'amazon', 'TV').price, 450);
    assert.equal(one(out, 'flipkart', 'TV').price, 450);
  });

  it('applies a price.update with marketplaces to those only', () => {
    const out = expectedListings(
      [listed('TV', ['amazon', 'flipkart'], T1, 500, 3), priced('TV', T2, 450, ['flipkart'])],
      ['amazon', 'flipkart'],
    );
    assert.equal(one(out, 'amazon', 'TV').price, 500);
    assert.equal(one(out, 'flipkart', 'TV').price, 450);
  });

  it('applies a stock.update to every marketplace of the SKU, listed or since unlisted', () => {
    const out = expectedListings(
      [
        listed('TV', ['amazon', 'flipkart'], T1, 500, 3),
        unlisted('TV', ['flipkart'], T2),
        stocked('TV', T3, 0),
      ],
      ['amazon', 'flipkart'],
    );
    assert.equal(one(out, 'amazon', 'TV').quantity, 0);
    assert.equal(one(out, 'flipkart', 'TV').quantity, 0);
    assert.equal(one(out, 'flipkart', 'TV').present, false);
  });

  it('gives nothing for a SKU that was never listed, and ignores order events', () => {
    const events: OmsEvent[] = [
      priced('GHOST', T1, 100),
      stocked('GHOST', T1, 5),
      unlisted('GHOST', ['amazon'], T1),
      {
        id: id(),
        type: 'order.cancel',
        occurredAt: T1,
        marketplace: 'amazon',
        orderId: '402-0000000-0000000',
        reason: 'no stock',
      },
    ];
    assert.deepEqual(expectedListings(events, ALL), []);
  });

  // DESIGN §2: events for one SKU may arrive out of order after a redelivery. The listing actor
  // gets an unlist (or a price.update naming its marketplace) even before any product.list, and
  // keeps it if it is newer; expectedListings drops it when it has no state for the listing yet.
  it('keeps a listing absent when its newer unlist arrived before its product.list', () => {
    const out = expectedListings(
      [unlisted('TV', ['amazon'], T4), listed('TV', ['amazon'], T1, 500, 3)],
      ['amazon'],
    );
    assert.equal(one(out, 'amazon', 'TV').present, false);
  });

  it('keeps the newer price of a price.update for a marketplace that arrived before the product.list', () => {
    const out = expectedListings(
      [priced('TV', T4, 450, ['amazon']), listed('TV', ['amazon'], T1, 500, 3)],
      ['amazon'],
    );
    assert.equal(one(out, 'amazon', 'TV').price, 450);
  });
});

describe('naiveUpdateCount on a hand-written feed', () => {
  it('counts price and stock events for SKUs listed on the marketplace, from their listing on', () => {
    const events: OmsEvent[] = [
      priced('TV', T0, 510), // before the list: not counted
      listed('TV', ['amazon', 'flipkart'], T1, 500, 3),
      priced('TV', T2, 450), // every marketplace
      priced('TV', T2, 440, ['flipkart']), // not amazon
      priced('TV', T2, 430, ['amazon']),
      stocked('TV', T3, 2),
      stocked('OTHER', T3, 2), // never listed
    ];
    assert.equal(naiveUpdateCount(events, 'amazon'), 3);
    assert.equal(naiveUpdateCount(events, 'flipkart'), 3);
    assert.equal(naiveUpdateCount(events, 'tatacliq'), 0);
  });
});

describe('expectedListings on the OMS sample feed', () => {
  // Relative to the repository root (the tests run from there).
  const lines = readFileSync('../shared/samples/oms-events.jsonl', 'utf8').trim().split('\n');
  const decoded = lines.map((l) => decodeOmsMessage(l));
  const events = decoded.flatMap((r) => (r.ok ? [r.event] : []));

  it('decodes every line', () => {
    assert.equal(events.length, lines.length);
  });

  it('expects 40 Amazon listings, all present but SAM-REF-1006', () => {
    const amazon = expectedListings(events, ['amazon']);
    assert.equal(amazon.length, 40);
    assert.ok(amazon.every((l) => l.marketplace === 'amazon'));
    assert.equal(new Set(amazon.map((l) => l.sku)).size, 40, 'one listing per SKU');
    assert.deepEqual(
      amazon.filter((l) => !l.present).map((l) => l.sku),
      ['SAM-REF-1006'],
    );
  });

  it('counts 625 naive Amazon updates', () => {
    assert.equal(naiveUpdateCount(events, 'amazon'), 625);
  });
});
