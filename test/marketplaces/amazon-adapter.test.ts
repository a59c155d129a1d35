import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type AmazonCallOptions,
  AmazonListingAdapter,
  type Item,
  type ListingsItemPatchRequest,
  type ListingsItemPutRequest,
  type ListingsItemSubmissionResponse,
  type ListingsItemsApi,
} from '../../src/marketplaces/amazon/index.js';
import { TV_DRAFT } from './fakes.js';

const MP = 'A21TJRUUN4KGV';

type Call =
  | { op: 'get'; sku: string; includedData?: string[]; opts?: AmazonCallOptions }
  | { op: 'put'; sku: string; body: ListingsItemPutRequest; opts?: AmazonCallOptions }
  | { op: 'patch'; sku: string; body: ListingsItemPatchRequest; opts?: AmazonCallOptions }
  | { op: 'delete'; sku: string; opts?: AmazonCallOptions };

/** A fake of the client's shape: records calls, answers from `item` / `submission`. */
function fakeApi(answers: { item?: Item | null; submission?: ListingsItemSubmissionResponse } = {}) {
  const calls: Call[] = [];
  const submission = (sku: string): ListingsItemSubmissionResponse =>
    answers.submission ?? { sku, status: 'ACCEPTED', submissionId: 'sub-1', issues: [] };
  const api: ListingsItemsApi = {
    marketplaceId: MP,
    getListingsItem: async (sku, includedData, opts) => {
      calls.push({ op: 'get', sku, includedData, opts });
      return answers.item === undefined ? null : answers.item;
    },
    putListingsItem: async (sku, body, opts) => {
      calls.push({ op: 'put', sku, body, opts });
      return submission(sku);
    },
    patchListingsItem: async (sku, body, opts) => {
      calls.push({ op: 'patch', sku, body, opts });
      return submission(sku);
    },
    deleteListingsItem: async (sku, opts) => {
      calls.push({ op: 'delete', sku, opts });
      return submission(sku);
    },
  };
  return { api, calls };
}

function item(overrides: Partial<Item> = {}): Item {
  return {
    sku: 'S',
    summaries: [{ marketplaceId: MP, status: ['BUYABLE', 'DISCOVERABLE'] }],
    attributes: {},
    issues: [],
    offers: [],
    fulfillmentAvailability: [],
    ...overrides,
  };
}

describe('AmazonListingAdapter.upsert', () => {
  it('PUTs a full LISTING with marketplace and language on each attribute', async () => {
    const { api, calls } = fakeApi();
    const adapter = new AmazonListingAdapter({ client: api });
    const result = await adapter.upsert(TV_DRAFT);
    assert.deepEqual(result, { status: 'accepted', submissionId: 'sub-1' });
    const call = calls[0];
    assert.equal(call?.op, 'put');
    if (call?.op !== 'put') return;
    assert.equal(call.sku, 'SAM-TV-1001');
    assert.equal(call.body.productType, 'TELEVISION');
    assert.equal(call.body.requirements, 'LISTING');
    const a = call.body.attributes;
    assert.deepEqual(a.item_name, [
      { value: TV_DRAFT.product.title, language_tag: 'en_IN', marketplace_id: MP },
    ]);
    assert.deepEqual(a.brand, [{ value: 'Samsung', language_tag: 'en_IN', marketplace_id: MP }]);
    assert.deepEqual(a.externally_assigned_product_identifier, [
      { type: 'ean', value: '8981519975873', marketplace_id: MP },
    ]);
    assert.deepEqual(a.condition_type, [{ value: 'new_new', marketplace_id: MP }]);
    assert.deepEqual(a.list_price, [{ marketplace_id: MP, currency: 'INR', value_with_tax: 39080 }]);
    assert.deepEqual(a.purchasable_offer, [
      {
        marketplace_id: MP,
        currency: 'INR',
        audience: 'ALL',
        our_price: [{ schedule: [{ value_with_tax: 35150 }] }],
      },
    ]);
    assert.deepEqual(a.fulfillment_availability, [{ fulfillment_channel_code: 'DEFAULT', quantity: 15 }]);
    assert.deepEqual(a.color, [{ value: 'Black', language_tag: 'en_IN', marketplace_id: MP }]);
    assert.deepEqual(a.warranty_months, [{ value: 24, marketplace_id: MP }]);
  });

  it('does not let product attributes override the ones it owns', () => {
    const adapter = new AmazonListingAdapter({ client: fakeApi().api });
    const body = adapter.putBody({
      ...TV_DRAFT,
      product: { ...TV_DRAFT.product, attributes: { itemName: 'spoof', purchasableOffer: 'x' } },
    });
    assert.deepEqual(body.attributes.item_name?.[0]?.value, TV_DRAFT.product.title);
  });

  it('maps INVALID to invalid with the issues', async () => {
    const { api } = fakeApi({
      submission: {
        sku: 'S',
        status: 'INVALID',
        submissionId: 'x',
        issues: [
          {
            code: '90220',
            message: "'item_name' is required but not supplied.",
            severity: 'ERROR',
            categories: ['MISSING_ATTRIBUTE'],
            attributeNames: ['item_name'],
          },
        ],
      },
    });
    const result = await new AmazonListingAdapter({ client: api }).upsert(TV_DRAFT);
    assert.deepEqual(result, {
      status: 'invalid',
      issues: [
        {
          code: '90220',
          message: "'item_name' is required but not supplied.",
          severity: 'ERROR',
          attributeNames: ['item_name'],
        },
      ],
    });
  });
});

describe('AmazonListingAdapter.update', () => {
  it('PATCHes only the fields present, price before stock, as productType PRODUCT', async () => {
    const { api, calls } = fakeApi();
    await new AmazonListingAdapter({ client: api }).update({
      sku: 'S',
      quantity: 4,
      price: 999.999,
      mrp: 1200,
    });
    const call = calls[0];
    assert.equal(call?.op, 'patch');
    if (call?.op !== 'patch') return;
    assert.equal(call.body.productType, 'PRODUCT');
    assert.deepEqual(
      call.body.patches.map((p) => [p.op, p.path]),
      [
        ['replace', '/attributes/purchasable_offer'],
        ['replace', '/attributes/list_price'],
        ['replace', '/attributes/fulfillment_availability'],
      ],
    );
    assert.deepEqual(call.body.patches[0]?.value, [
      {
        marketplace_id: MP,
        currency: 'INR',
        audience: 'ALL',
        our_price: [{ schedule: [{ value_with_tax: 1000 }] }],
      },
    ]);
  });

  it('sends only stock for a stock change', async () => {
    const { api, calls } = fakeApi();
    await new AmazonListingAdapter({ client: api }).update({ sku: 'S', quantity: 7 });
    const call = calls[0];
    assert.ok(call?.op === 'patch');
    assert.deepEqual(call.body.patches, [
      {
        op: 'replace',
        path: '/attributes/fulfillment_availability',
        value: [{ fulfillment_channel_code: 'DEFAULT', quantity: 7 }],
      },
    ]);
  });

  it('puts stock to zero in the urgent lane, stock in the stock lane, price in the price lane', async () => {
    const { api, calls } = fakeApi();
    const adapter = new AmazonListingAdapter({ client: api });
    await adapter.update({ sku: 'S', quantity: 0 });
    await adapter.update({ sku: 'S', quantity: 3 });
    await adapter.update({ sku: 'S', price: 10 });
    await adapter.update({ sku: 'S', price: 10 }, { priority: 'urgent' });
    assert.deepEqual(
      calls.map((c) => c.opts?.priority),
      ['urgent', 'stock', 'price', 'urgent'],
    );
  });

  it('makes no call for an empty change', async () => {
    const { api, calls } = fakeApi();
    assert.deepEqual(await new AmazonListingAdapter({ client: api }).update({ sku: 'S' }), {
      status: 'applied',
    });
    assert.equal(calls.length, 0);
  });
});

describe('AmazonListingAdapter.delist', () => {
  it('zero-stock mode (default) PATCHes quantity 0, urgently', async () => {
    const { api, calls } = fakeApi();
    const adapter = new AmazonListingAdapter({ client: api });
    assert.equal(adapter.delistMode, 'zero-stock');
    await adapter.delist('S');
    const call = calls[0];
    assert.ok(call?.op === 'patch');
    assert.equal(call.opts?.priority, 'urgent');
    assert.deepEqual(call.body.patches[0]?.value, [{ fulfillment_channel_code: 'DEFAULT', quantity: 0 }]);
  });

  it('delete mode DELETEs the SKU', async () => {
    const { api, calls } = fakeApi();
    await new AmazonListingAdapter({ client: api, delistMode: 'delete' }).delist('S');
    assert.deepEqual(
      calls.map((c) => [c.op, c.opts?.priority]),
      [['delete', 'urgent']],
    );
  });
});

describe('AmazonListingAdapter.read', () => {
  it('asks for summaries, attributes, issues, offers and fulfillment availability in the read lane', async () => {
    const { api, calls } = fakeApi({ item: item() });
    await new AmazonListingAdapter({ client: api }).read('S');
    const call = calls[0];
    assert.ok(call?.op === 'get');
    assert.deepEqual(call.includedData, [
      'summaries',
      'attributes',
      'issues',
      'offers',
      'fulfillmentAvailability',
    ]);
    assert.equal(call.opts?.priority, 'read');
  });

  it('is found:false on 404', async () => {
    const { api } = fakeApi({ item: null });
    assert.deepEqual(await new AmazonListingAdapter({ client: api }).read('S'), { found: false });
  });

  it('reads the price from purchasable_offer, accepting a string value_with_tax (F7)', () => {
    const adapter = new AmazonListingAdapter({ client: fakeApi().api });
    const rb = adapter.readback(
      item({
        attributes: {
          purchasable_offer: [
            {
              marketplace_id: MP,
              currency: 'INR',
              our_price: [{ schedule: [{ value_with_tax: '1299.50' }] }],
            },
          ],
          fulfillment_availability: [{ fulfillment_channel_code: 'DEFAULT', quantity: 3 }],
        },
        offers: [{ marketplaceId: MP, offerType: 'B2C', price: { currencyCode: 'INR', amount: '1.00' } }],
      }),
    );
    assert.deepEqual(rb, { found: true, price: 1299.5, quantity: 3, buyable: true });
  });

  it('falls back to offers[] for the price and fulfillmentAvailability for the quantity', () => {
    const adapter = new AmazonListingAdapter({ client: fakeApi().api });
    const rb = adapter.readback(
      item({
        offers: [{ marketplaceId: MP, offerType: 'B2C', price: { currencyCode: 'INR', amount: '999.00' } }],
        fulfillmentAvailability: [{ fulfillmentChannelCode: 'DEFAULT', quantity: 0 }],
      }),
    );
    assert.deepEqual(rb, { found: true, price: 999, quantity: 0, buyable: false });
  });

  it('is not buyable without BUYABLE status, and carries the issues', () => {
    const adapter = new AmazonListingAdapter({ client: fakeApi().api });
    const rb = adapter.readback(
      item({
        summaries: [{ marketplaceId: MP, status: ['DISCOVERABLE'] }],
        fulfillmentAvailability: [{ fulfillmentChannelCode: 'DEFAULT', quantity: 5 }],
        issues: [{ code: '18155', message: 'min price', severity: 'ERROR', categories: ['INVALID_PRICE'] }],
      }),
    );
    assert.equal(rb.buyable, false);
    assert.deepEqual(rb.issues, [{ code: '18155', message: 'min price', severity: 'ERROR' }]);
  });
});

describe('AmazonListingAdapter.isDelisted', () => {
  it('zero-stock mode: delisted when quantity is 0 or the SKU is gone', () => {
    const adapter = new AmazonListingAdapter({ client: fakeApi().api });
    assert.equal(adapter.isDelisted({ found: false }), true);
    assert.equal(adapter.isDelisted({ found: true, quantity: 0, buyable: false }), true);
    assert.equal(adapter.isDelisted({ found: true, quantity: 5, buyable: true }), false);
    assert.equal(
      adapter.isDelisted({ found: true, quantity: 5, buyable: false }),
      false,
      'suppressed ≠ delisted',
    );
  });

  it('delete mode: delisted only when the SKU is gone', () => {
    const adapter = new AmazonListingAdapter({ client: fakeApi().api, delistMode: 'delete' });
    assert.equal(adapter.isDelisted({ found: false }), true);
    assert.equal(adapter.isDelisted({ found: true, quantity: 0, buyable: false }), false);
  });
});
