import { join } from 'node:path';
import type { OrderStatus } from '../domain/orders.js';
import type { MarketplaceId } from '../domain/types.js';
import { createAmazonSandbox, sandboxEnv } from '../marketplaces/amazon/index.js';
import { createFlipkartSandbox, flipkartSandboxEnv } from '../marketplaces/flipkart/index.js';
import { createTataCliqSandbox, tataCliqSandboxEnv } from '../marketplaces/tatacliq/index.js';
import type { ExpectedListing } from './expectations.js';

/** What the demo needs of one marketplace's sandbox: its environment and a check of a listing. */
export interface DemoMarketplace {
  id: MarketplaceId;
  label: string;
  url: string;
  env: Record<string, string>;
  /** Accepted changes the sandbox has not applied yet (0 for synchronous marketplaces). */
  pending(): number;
  /** Problems with one listing as the sandbox shows it, against the feed's final state. */
  check(e: ExpectedListing): string[];
  /** The sandbox's orders: place some, let a buyer cancel, see where they are. */
  orders: {
    create(count: number, skus: string[], seed: number): string[];
    buyerCancel(orderId: string): void;
    /** False where the marketplace shows a change only minutes later (Amazon's 2-minute rule). */
    buyerCancelShowsAtOnce: boolean;
    snapshot(): Record<string, { status: OrderStatus }>;
  };
  stop(): Promise<void>;
}

/** OMS locations of the sample feed → the demo's Flipkart locations. */
const FLIPKART_LOCATIONS: Record<string, string> = {
  'STORE-MUM-003': 'LOC-MUM-003',
  'STORE-BLR-014': 'LOC-BLR-014',
  'DC-DEL-01': 'LOC-DEL-001',
};
const FLIPKART_DEFAULT = 'LOC-DEL-001';

/**
 * Where stock should sit per marketplace location: the OMS breakdown mapped (locations that
 * share an id add up; configured ones not mentioned hold nothing), or the total at the default.
 */
export function expectedLayout(
  e: Pick<ExpectedListing, 'quantity' | 'locations'>,
  map: Record<string, string>,
  defaultId: string,
): Record<string, number> {
  const layout: Record<string, number> = Object.fromEntries(Object.values(map).map((id) => [id, 0]));
  layout[defaultId] = 0;
  if (Object.keys(e.locations).length === 0) {
    layout[defaultId] = e.quantity;
    return layout;
  }
  for (const [oms, q] of Object.entries(e.locations)) {
    const id = map[oms];
    if (id !== undefined) layout[id] = (layout[id] ?? 0) + q;
  }
  return layout;
}

const differs = (want: Record<string, number>, got: (id: string) => number) =>
  Object.entries(want)
    .filter(([id, q]) => got(id) !== q)
    .map(([id, q]) => `${id} ${got(id)} (expected ${q})`);

export interface SandboxesOptions {
  /** Keep each sandbox's listings in `<stateDir>/sandbox/<marketplace>.json` (resumable runs). */
  stateDir?: string;
  /** Amazon: time until an ACCEPTED change shows on GET. */
  applyDelayMs: number;
  /** Amazon's published rates × this (marketbridge must use the same scale). Default 1. */
  rateScale?: number;
  /** Amazon listens here, Flipkart on the next port, Tata CliQ on the one after; 0: any free ports. */
  basePort?: number;
}

/** Starts the three marketplace sandboxes on localhost (the demo and `marketbridge sandbox`). */
export async function startDemoMarketplaces(opts: SandboxesOptions): Promise<DemoMarketplace[]> {
  const state = (m: string) =>
    opts.stateDir ? { stateFile: join(opts.stateDir, 'sandbox', `${m}.json`) } : {};
  const port = (i: number) => (opts.basePort ? opts.basePort + i : 0);
  const rateScale = opts.rateScale ?? 1;
  const amazon = createAmazonSandbox({ ...state('amazon'), applyDelayMs: opts.applyDelayMs, rateScale });
  await amazon.start(port(0));
  const flipkart = createFlipkartSandbox({ ...state('flipkart') });
  await flipkart.start(port(1));
  const tatacliq = createTataCliqSandbox({ ...state('tatacliq') });
  await tatacliq.start(port(2));
  const cliq = tataCliqSandboxEnv(tatacliq.url);
  const slaveIds = Object.fromEntries(
    (cliq.TATACLIQ_SLAVE_IDS ?? '').split(',').map((p) => p.split('=') as [string, string]),
  );
  return [
    {
      id: 'amazon',
      label: 'Amazon',
      url: amazon.url,
      env: sandboxEnv(amazon.url, rateScale),
      pending: () => amazon.control.pendingCount(),
      orders: {
        // Placed three minutes ago and paid: Amazon shows an order only 2 minutes after its last change.
        create: (count, skus, seed) => {
          const ids = amazon.control.createOrders({ count, skus, seed, lateByMs: 180_000 });
          amazon.control.authorizeOrders(ids);
          return ids;
        },
        buyerCancel: (id) => amazon.control.buyerCancel(id),
        buyerCancelShowsAtOnce: false,
        snapshot: () => amazon.control.orderSnapshot(),
      },
      check: (e) => {
        const live = amazon.control.snapshot()[e.sku];
        if (!e.present) return live?.exists && live.buyable ? ['still buyable'] : [];
        if (!live?.exists || live.price !== e.price || live.quantity !== e.quantity)
          return [`shows ${live?.price}/${live?.quantity}, expected ${e.price}/${e.quantity}`];
        return [];
      },
      stop: () => amazon.stop(),
    },
    {
      id: 'flipkart',
      label: 'Flipkart',
      url: flipkart.url,
      env: {
        ...flipkartSandboxEnv(flipkart.url),
        FLIPKART_DEFAULT_LOCATION: FLIPKART_DEFAULT,
        FLIPKART_LOCATIONS: Object.entries(FLIPKART_LOCATIONS)
          .map(([k, v]) => `${k}=${v}`)
          .join(','),
      },
      pending: () => 0,
      orders: {
        create: (count, skus, seed) => flipkart.control.createOrders({ count, skus, seed }),
        buyerCancel: (id) => flipkart.control.buyerCancel(id),
        buyerCancelShowsAtOnce: true,
        snapshot: () => flipkart.control.orderSnapshot(),
      },
      check: (e) => {
        const live = flipkart.control.snapshot()[e.sku];
        if (!live) return ['not on Flipkart'];
        const at = (id: string) => live.locations[id]?.inventory ?? 0;
        if (!e.present)
          return live.status === 'INACTIVE' && live.quantity === 0 ? [] : ['still active or in stock'];
        const problems = differs(expectedLayout(e, FLIPKART_LOCATIONS, FLIPKART_DEFAULT), at);
        if (live.price !== Math.round(e.price))
          problems.push(`price ${live.price}, expected ${Math.round(e.price)}`);
        if (live.status !== 'ACTIVE') problems.push(`status ${live.status}`);
        return problems;
      },
      stop: () => flipkart.stop(),
    },
    {
      id: 'tatacliq',
      label: 'Tata CliQ',
      url: tatacliq.url,
      env: cliq,
      pending: () => 0,
      orders: {
        create: (count, skus, seed) => tatacliq.control.createOrders({ count, skus, seed }),
        buyerCancel: (id) => tatacliq.control.buyerCancel(id),
        buyerCancelShowsAtOnce: true,
        snapshot: () => tatacliq.control.orderSnapshot(),
      },
      check: (e) => {
        const live = tatacliq.control.snapshot()[e.sku];
        if (!live) return ['not on Tata CliQ'];
        const at = (id: string) => live.inventory[id] ?? 0;
        if (!e.present) return live.total === 0 ? [] : [`still ${live.total} in stock`];
        const problems = differs(expectedLayout(e, slaveIds, cliq.TATACLIQ_DEFAULT_SLAVE_ID ?? ''), at);
        if (live.price !== e.price) problems.push(`price ${live.price}, expected ${e.price}`);
        return problems;
      },
      stop: () => tatacliq.stop(),
    },
  ];
}
