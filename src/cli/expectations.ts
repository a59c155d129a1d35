import type { OmsEvent } from '../domain/oms.js';
import type { MarketplaceId } from '../domain/types.js';

/** What a (sku, marketplace) listing must end as once every event of a feed is applied. */
export interface ExpectedListing {
  sku: string;
  marketplace: MarketplaceId;
  present: boolean;
  price: number;
  quantity: number;
}

/**
 * Folds a feed of OMS events into the final state of every listing on the given marketplaces,
 * by the same rules the machines follow: the newest `occurredAt` wins for each value; price
 * updates without `marketplaces` apply wherever the SKU is listed; stock applies everywhere.
 */
export function expectedListings(
  events: OmsEvent[],
  marketplaces: readonly MarketplaceId[],
): ExpectedListing[] {
  const at = (iso: string) => Date.parse(iso);
  const state = new Map<
    string,
    ExpectedListing & { presentAt: number; priceAt: number; quantityAt: number; listedEver: boolean }
  >();
  const keysOf = (sku: string) => [...state.values()].filter((s) => s.sku === sku);
  for (const e of events) {
    switch (e.type) {
      case 'product.list':
        for (const m of e.marketplaces.filter((x) => marketplaces.includes(x))) {
          const k = `${m}|${e.sku}`;
          const t = at(e.occurredAt);
          const s = state.get(k) ?? {
            sku: e.sku,
            marketplace: m,
            present: false,
            price: e.price,
            quantity: e.quantity,
            presentAt: -Infinity,
            priceAt: -Infinity,
            quantityAt: -Infinity,
            listedEver: true,
          };
          if (t >= s.presentAt) Object.assign(s, { present: true, presentAt: t });
          if (t >= s.priceAt) Object.assign(s, { price: e.price, priceAt: t });
          if (t >= s.quantityAt) Object.assign(s, { quantity: e.quantity, quantityAt: t });
          state.set(k, s);
        }
        break;
      case 'product.unlist':
        for (const m of e.marketplaces) {
          const s = state.get(`${m}|${e.sku}`);
          const t = at(e.occurredAt);
          if (s && t >= s.presentAt) Object.assign(s, { present: false, presentAt: t });
        }
        break;
      case 'price.update':
        for (const s of keysOf(e.sku)) {
          if (e.marketplaces && !e.marketplaces.includes(s.marketplace)) continue;
          const t = at(e.occurredAt);
          if (t >= s.priceAt) Object.assign(s, { price: e.price, priceAt: t });
        }
        break;
      case 'stock.update':
        for (const s of keysOf(e.sku)) {
          const t = at(e.occurredAt);
          if (t >= s.quantityAt) Object.assign(s, { quantity: e.quantity, quantityAt: t });
        }
        break;
      default:
        break;
    }
  }
  return [...state.values()]
    .map(({ sku, marketplace, present, price, quantity }) => ({ sku, marketplace, present, price, quantity }))
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
