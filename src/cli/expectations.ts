import type { OmsEvent } from '../domain/oms.js';
import type { MarketplaceId } from '../domain/types.js';

/** What a (sku, marketplace) listing must end as once every event of a feed is applied. */
export interface ExpectedListing {
  sku: string;
  marketplace: MarketplaceId;
  present: boolean;
  price: number;
  quantity: number;
  /** Newest quantity per OMS location, from stock updates that named one. */
  locations: Record<string, number>;
}

/**
 * Folds a feed of OMS events into the final state of every listing on the given marketplaces,
 * by the same rules the machines follow: the newest `occurredAt` wins for each value; price
 * updates without `marketplaces` apply wherever the SKU is listed; stock applies everywhere;
 * only listings that some product.list named are returned.
 */
export function expectedListings(
  events: OmsEvent[],
  marketplaces: readonly MarketplaceId[],
): ExpectedListing[] {
  const at = (iso: string) => Date.parse(iso);
  interface Entry {
    sku: string;
    marketplace: MarketplaceId;
    present: boolean;
    price: number;
    quantity: number;
    presentAt: number;
    priceAt: number;
    quantityAt: number;
    listedEver: boolean;
    locations: Record<string, { quantity: number; at: number }>;
  }
  const state = new Map<string, Entry>();
  // An event naming a marketplace reaches that listing's actor even before its product.list
  // (out of order after a redelivery), and is kept there if newer: so it opens an entry too.
  const entry = (m: MarketplaceId, sku: string): Entry => {
    const k = `${m}|${sku}`;
    let s = state.get(k);
    if (!s) {
      s = {
        sku,
        marketplace: m,
        present: false,
        price: 0,
        quantity: 0,
        presentAt: -Infinity,
        priceAt: -Infinity,
        quantityAt: -Infinity,
        listedEver: false,
        locations: {},
      };
      state.set(k, s);
    }
    return s;
  };
  const enabled = (ms: readonly MarketplaceId[]) => ms.filter((m) => marketplaces.includes(m));
  const entriesOf = (sku: string) => [...state.values()].filter((s) => s.sku === sku);
  for (const e of events) {
    const t = at(e.occurredAt);
    switch (e.type) {
      case 'product.list':
        for (const m of enabled(e.marketplaces)) {
          const s = entry(m, e.sku);
          s.listedEver = true;
          if (t >= s.presentAt) Object.assign(s, { present: true, presentAt: t });
          if (t >= s.priceAt) Object.assign(s, { price: e.price, priceAt: t });
          if (t >= s.quantityAt) Object.assign(s, { quantity: e.quantity, quantityAt: t });
        }
        break;
      case 'product.unlist':
        for (const m of enabled(e.marketplaces)) {
          const s = entry(m, e.sku);
          if (t >= s.presentAt) Object.assign(s, { present: false, presentAt: t });
        }
        break;
      case 'price.update':
        for (const s of e.marketplaces
          ? enabled(e.marketplaces).map((m) => entry(m, e.sku))
          : entriesOf(e.sku)) {
          if (t >= s.priceAt) Object.assign(s, { price: e.price, priceAt: t });
        }
        break;
      case 'stock.update':
        for (const s of entriesOf(e.sku)) {
          if (t >= s.quantityAt) Object.assign(s, { quantity: e.quantity, quantityAt: t });
          const known = e.locationId === undefined ? undefined : s.locations[e.locationId];
          if (e.locationId !== undefined && (!known || t >= known.at)) {
            s.locations[e.locationId] = { quantity: e.quantity, at: t };
          }
        }
        break;
      default:
        break;
    }
  }
  return [...state.values()]
    .filter((s) => s.listedEver)
    .map(({ sku, marketplace, present, price, quantity, locations }) => ({
      sku,
      marketplace,
      present,
      price,
      quantity,
      locations: Object.fromEntries(Object.entries(locations).map(([id, l]) => [id, l.quantity])),
    }))
    .sort((a, b) => (a.marketplace + a.sku).localeCompare(b.marketplace + b.sku));
}

/** Counts the feed's price and stock events that concern each marketplace (the naive call count). */
export function naiveUpdateCount(events: OmsEvent[], marketplace: MarketplaceId): number {
  const listed = new Set<string>();
  let n = 0;
  for (const e of events) {
    if (e.type === 'product.list' && e.marketplaces.includes(marketplace)) listed.add(e.sku);
    if (
      e.type === 'price.update' &&
      listed.has(e.sku) &&
      (!e.marketplaces || e.marketplaces.includes(marketplace))
    )
      n++;
    if (e.type === 'stock.update' && listed.has(e.sku)) n++;
  }
  return n;
}
