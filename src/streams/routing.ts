import type { ListingEvent, OmsEvent, OrderEvent } from '../domain/oms.js';
import type { MarketplaceId } from '../domain/types.js';

/** One actor event produced by an OMS event (the actor runtime adds `seq`). */
export interface RoutedEvent {
  key: string;
  event: { type: string; occurredAt: string; [k: string]: unknown };
}

export const listingKey = (marketplace: MarketplaceId, sku: string) => `listing:${marketplace}:${sku}`;

/** Parses `listing:<marketplace>:<sku>`; the SKU may itself contain `:`. */
export function parseListingKey(key: string): { marketplace: MarketplaceId; sku: string } {
  const [prefix, marketplace, ...rest] = key.split(':');
  if (prefix !== 'listing' || !marketplace || rest.length === 0) throw new Error(`not a listing key: ${key}`);
  return { marketplace: marketplace as MarketplaceId, sku: rest.join(':') };
}

/**
 * Which listing actors an OMS event goes to. `listedOn` answers which marketplaces the SKU is
 * listed on (rows of the `listing` table, including ones created earlier in the same batch);
 * only enabled marketplaces are served.
 */
export function routeListingEvent(
  event: ListingEvent,
  enabled: readonly MarketplaceId[],
  listedOn: (sku: string) => readonly MarketplaceId[],
): RoutedEvent[] {
  const on = (ms: readonly MarketplaceId[]) => ms.filter((m) => enabled.includes(m));
  const base = { occurredAt: event.occurredAt };
  switch (event.type) {
    case 'product.list':
      return on(event.marketplaces).map((m) => ({
        key: listingKey(m, event.sku),
        event: {
          ...base,
          type: 'LIST',
          product: {
            title: event.title,
            brand: event.brand,
            ean: event.ean,
            productType: event.productType,
            attributes: event.attributes,
          },
          price: event.price,
          mrp: event.mrp,
          quantity: event.quantity,
        },
      }));
    case 'product.unlist':
      return on(event.marketplaces).map((m) => ({
        key: listingKey(m, event.sku),
        event: { ...base, type: 'UNLIST' },
      }));
    case 'price.update':
      return on(event.marketplaces ?? listedOn(event.sku)).map((m) => ({
        key: listingKey(m, event.sku),
        event: { ...base, type: 'PRICE', price: event.price, mrp: event.mrp },
      }));
    case 'stock.update':
      return on(listedOn(event.sku)).map((m) => ({
        key: listingKey(m, event.sku),
        event: {
          ...base,
          type: 'STOCK',
          quantity: event.quantity,
          ...(event.locationId ? { locationId: event.locationId } : {}),
        },
      }));
    default: {
      const unreachable: never = event;
      throw new Error(`unhandled listing event ${JSON.stringify(unreachable)}`);
    }
  }
}

export function isListingEvent(e: OmsEvent): e is ListingEvent {
  return (
    e.type === 'product.list' ||
    e.type === 'product.unlist' ||
    e.type === 'price.update' ||
    e.type === 'stock.update'
  );
}

export const orderKey = (marketplace: MarketplaceId, orderId: string) => `order:${marketplace}:${orderId}`;

/** Parses `order:<marketplace>:<orderId>`; the order id may itself contain `:`. */
export function parseOrderKey(key: string): { marketplace: MarketplaceId; orderId: string } {
  const [prefix, marketplace, ...rest] = key.split(':');
  if (prefix !== 'order' || !marketplace || rest.length === 0) throw new Error(`not an order key: ${key}`);
  return { marketplace: marketplace as MarketplaceId, orderId: rest.join(':') };
}

/** The order actor event an OMS `order.ship` / `order.cancel` becomes. */
export function routeOrderEvent(event: OrderEvent): RoutedEvent {
  const key = orderKey(event.marketplace, event.orderId);
  const base = { occurredAt: event.occurredAt, omsEventId: event.id };
  if (event.type === 'order.ship') {
    return {
      key,
      event: {
        ...base,
        type: 'OMS.SHIP',
        lines: event.lines,
        carrier: event.carrier,
        trackingNumber: event.trackingNumber,
        shippedAt: event.shippedAt,
      },
    };
  }
  return {
    key,
    event: {
      ...base,
      type: 'OMS.CANCEL',
      ...(event.lines ? { lines: event.lines } : {}),
      reason: event.reason,
    },
  };
}
