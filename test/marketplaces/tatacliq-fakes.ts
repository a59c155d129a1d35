/** Test doubles for the Tata CliQ slice: scripted PartnerConnect answers and a fake client. */
import { ManualClock } from '../../src/core/clock.js';
import {
  type BatchOutcome,
  type InventoryItem,
  type ItemOutcome,
  type PriceItem,
  type TataCliqCallOptions,
  TataCliqClient,
  type TataCliqClientOptions,
  type TataCliqListing,
  type TataCliqListingApi,
} from '../../src/marketplaces/tatacliq/index.js';
import {
  type CapturedRequest,
  memoryRecorder,
  REFERENCE_TIMESTAMP,
  type Responder,
  type ScriptedResponse,
  scriptedFetch,
} from './fakes.js';

export const BASE_URL = 'https://intapppreprod2.tataunistore.com/PartnerConnect';
export const SELLER = '100421';

/** A real TataCliqClient over a scripted fetch (static token 'jwt-static'), with its clock and recorder. */
export function scriptedClient(respond: Responder, overrides: Partial<TataCliqClientOptions> = {}) {
  const clock = new ManualClock(REFERENCE_TIMESTAMP);
  const recorder = memoryRecorder();
  const { fetch, requests } = scriptedFetch(respond);
  const client = new TataCliqClient({
    baseUrl: BASE_URL,
    sellerId: SELLER,
    token: 'jwt-static',
    fetch,
    clock,
    recorder,
    ...overrides,
  });
  return { client, clock, recorder, requests };
}

/** The items of a captured update request (InventoryUpdate or PriceUpdate). */
export function itemsOf(req: CapturedRequest): Record<string, string>[] {
  const body = JSON.parse(req.body ?? '{}') as Record<string, { Item: Record<string, string>[] }>;
  const wrapper = body.InventoryUpdate ?? body.PriceUpdate;
  return wrapper?.Item ?? [];
}

/** HTTP 200, SUCCESS for every item except the SKUs in `failing`. */
export function batchAnswer(
  req: CapturedRequest,
  failing: ReadonlySet<string> = new Set(),
): ScriptedResponse {
  const Item = itemsOf(req).map((i) =>
    failing.has(i.SKU ?? '')
      ? { SKU: i.SKU, SlaveID: i.SlaveID, status: 'FAILURE', errorCode: 'E42', errorMessage: `bad ${i.SKU}` }
      : { SKU: i.SKU, SlaveID: i.SlaveID, status: 'SUCCESS' },
  );
  const failed = Item.filter((i) => i.status === 'FAILURE').length;
  return { status: 200, body: { status: failed === 0 ? 'SUCCESS' : 'PARTIAL_SUCCESS', Item } };
}

export const UNAUTHORIZED: ScriptedResponse = {
  status: 401,
  body: { status: 'FAILURE', errorCode: 'TOKEN_EXPIRED', errorMessage: 'The access token has expired' },
};

export type FakeCall =
  | { op: 'inventory'; items: InventoryItem[]; opts?: TataCliqCallOptions }
  | { op: 'price'; items: PriceItem[]; opts?: TataCliqCallOptions }
  | { op: 'get'; sku: string; opts?: TataCliqCallOptions };

export interface FakeClientOptions {
  maxBatchItems?: number;
  /** Per-item answer; default SUCCESS. */
  answer?: (item: InventoryItem | PriceItem, op: 'inventory' | 'price') => Partial<ItemOutcome>;
  /** Replaces the whole call (e.g. to throw or to hold the answer). */
  call?: (call: FakeCall) => Promise<BatchOutcome> | undefined;
  listing?: TataCliqListing | null;
}

/** A fake of the client's shape: records calls, answers per item. */
export function fakeClient(o: FakeClientOptions = {}) {
  const calls: FakeCall[] = [];
  const outcome = async (call: FakeCall, items: (InventoryItem | PriceItem)[], op: 'inventory' | 'price') => {
    calls.push(call);
    const custom = o.call?.(call);
    if (custom) return custom;
    return {
      items: items.map((i): ItemOutcome => {
        const base: ItemOutcome = { sku: i.sku, status: 'SUCCESS' };
        if ('slaveId' in i) base.slaveId = i.slaveId;
        return { ...base, ...o.answer?.(i, op) };
      }),
    };
  };
  const api: TataCliqListingApi = {
    maxBatchItems: o.maxBatchItems ?? 50,
    updateInventory: (items, opts) => outcome({ op: 'inventory', items, opts }, items, 'inventory'),
    updatePrice: (items, opts) => outcome({ op: 'price', items, opts }, items, 'price'),
    getListing: async (sku, opts) => {
      calls.push({ op: 'get', sku, opts });
      return o.listing === undefined ? null : o.listing;
    },
  };
  return { api, calls };
}
