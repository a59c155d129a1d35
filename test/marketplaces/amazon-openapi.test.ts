/**
 * Contract: every request the client sends is valid against Amazon's Listings Items model, and the
 * client parses the model's own sandbox example responses.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { TerminalError } from '../../src/core/errors.js';
import { decodeOmsMessage } from '../../src/domain/oms.js';
import type { ListingDraft } from '../../src/domain/types.js';
import { AmazonListingAdapter, AmazonSpApiClient } from '../../src/marketplaces/amazon/index.js';
import { ACCEPTED, isLwa, LWA_OK } from './amazon-fakes.js';
import { loadListingsModel } from './amazon-model.js';
import { type ScriptedResponse, scriptedFetch, TV_DRAFT } from './fakes.js';

const model = loadListingsModel();
const SAMPLE_EVENTS = resolve(process.cwd(), '../shared/samples/oms-events.jsonl');

/** The sample feed's product.list events as drafts, decoded by the real OMS decoder. */
function sampleDrafts(): ListingDraft[] {
  return readFileSync(SAMPLE_EVENTS, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .flatMap((l) => {
      const r = decodeOmsMessage(l);
      if (!r.ok || r.event.type !== 'product.list') return [];
      const e = r.event;
      const product = {
        title: e.title,
        brand: e.brand,
        ean: e.ean,
        productType: e.productType,
        attributes: e.attributes,
      };
      return [{ sku: e.sku, product, price: e.price, mrp: e.mrp, quantity: e.quantity }];
    });
}

const clients: AmazonSpApiClient[] = [];
after(async () => {
  await Promise.all(clients.map((c) => c.stop()));
});

function clientAnswering(answer: (method: string) => ScriptedResponse) {
  const { fetch, requests } = scriptedFetch((req) => (isLwa(req) ? LWA_OK : answer(req.method)));
  const client = new AmazonSpApiClient({
    endpoint: 'https://sellingpartnerapi-eu.amazon.com',
    lwaEndpoint: 'https://api.amazon.com',
    clientId: 'amzn1.application-oa2-client.test',
    clientSecret: () => 'secret',
    refreshToken: 'Atzr|r',
    sellerId: 'A2SELLER',
    fetch,
    clock: new ManualClock(Date.UTC(2026, 10, 20)),
    rateScale: 100,
  });
  clients.push(client);
  return { client, api: () => requests.filter((r) => !isLwa(r)) };
}

describe('requests the client sends', () => {
  const { client, api } = clientAnswering((method) =>
    method === 'GET'
      ? { status: 200, body: { sku: 'S' }, headers: { 'x-amzn-RateLimit-Limit': '500' } }
      : { ...ACCEPTED('S'), headers: { 'x-amzn-RateLimit-Limit': '500' } },
  );
  const zeroStock = new AmazonListingAdapter({ client });
  const deleting = new AmazonListingAdapter({ client, delistMode: 'delete' });

  it('validate against the model for every adapter operation and awkward SKUs', async () => {
    const drafts = sampleDrafts();
    assert.ok(drafts.length > 0, 'the sample feed has product.list events');
    for (const draft of drafts) await zeroStock.upsert(draft);
    for (const sku of ['SAM-TV-1001', 'LG/WM 8KG+STEAM,BLK', 'सैमसंग-टीवी-43']) {
      await zeroStock.upsert({ ...TV_DRAFT, sku });
      await zeroStock.update({ sku, price: 34999.5 });
      await zeroStock.update({ sku, quantity: 0 });
      await zeroStock.update({ sku, price: 1, mrp: 2, quantity: 3 });
      await zeroStock.delist(sku);
      await deleting.delist(sku);
      await zeroStock.read(sku);
    }
    const seen = new Set<string>();
    for (const req of api()) {
      const { operationId, errors } = model.validateRequest(req);
      assert.deepEqual(errors, [], `${req.method} ${req.url.pathname}${req.url.search}`);
      if (operationId) seen.add(operationId);
    }
    assert.deepEqual([...seen].sort(), [
      'deleteListingsItem',
      'getListingsItem',
      'patchListingsItem',
      'putListingsItem',
    ]);
  });

  it('the validator itself rejects what the model forbids', () => {
    const url = new URL(
      'https://x/listings/2021-08-01/items/A2SELLER/SKU?marketplaceIds=A21TJRUUN4KGV,ATVPDKIKX0DER&includedData=bogus',
    );
    const put = model.validateRequest({
      method: 'PUT',
      url,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ attributes: {} }),
    });
    assert.ok(put.errors.some((e) => e.includes('max 1')));
    assert.ok(put.errors.some((e) => e.includes('bogus')));
    assert.ok(put.errors.some((e) => e.includes('productType')));
    const post = model.validateRequest({ method: 'POST', url, headers: {}, body: undefined });
    assert.equal(post.operationId, null);
  });
});

describe("the model's sandbox examples", () => {
  for (const operationId of [
    'getListingsItem',
    'putListingsItem',
    'patchListingsItem',
    'deleteListingsItem',
  ]) {
    const examples = model.sandboxExamples(operationId);

    it(`${operationId}: has static examples`, () => {
      assert.ok(examples.some((e) => e.status === 200));
      assert.ok(examples.some((e) => e.status === 400));
    });

    for (const [i, example] of examples.entries()) {
      it(`${operationId}: parses example ${i} (HTTP ${example.status})`, async () => {
        const { client } = clientAnswering(() => ({ status: example.status, body: example.response }));
        const call = () => {
          switch (operationId) {
            case 'getListingsItem':
              return client.getListingsItem('GM-ZDPI-9B4E', ['summaries', 'offers', 'issues']);
            case 'putListingsItem':
              return client.putListingsItem('GM-ZDPI-9B4E', { productType: 'LUGGAGE', attributes: {} });
            case 'patchListingsItem':
              return client.patchListingsItem('GM-ZDPI-9B4E', {
                productType: 'PRODUCT',
                patches: [
                  { op: 'delete', path: '/attributes/x', value: [{ marketplace_id: 'A21TJRUUN4KGV' }] },
                ],
              });
            default:
              return client.deleteListingsItem('GM-ZDPI-9B4E');
          }
        };
        if (example.status !== 200) {
          await assert.rejects(
            call(),
            (err: unknown) => err instanceof TerminalError && /Invalid input/.test(err.message),
          );
          return;
        }
        const parsed = await call();
        const expected = example.response as { sku: string; status?: string; issues?: unknown[] };
        assert.equal(parsed?.sku, expected.sku);
        if (expected.status) assert.equal((parsed as { status: string }).status, expected.status);
        assert.equal(parsed?.issues.length, expected.issues?.length ?? 0);
      });
    }
  }

  it('the adapter reads the getListingsItem example', () => {
    const example = model.sandboxExamples('getListingsItem').find((e) => e.status === 200);
    const { client } = clientAnswering(() => ({ status: 200, body: example?.response }));
    const adapter = new AmazonListingAdapter({ client });
    return client
      .getListingsItem('GM-ZDPI-9B4E', ['summaries', 'offers', 'issues', 'fulfillmentAvailability'])
      .then((item) => {
        assert.ok(item);
        // The example is for amazon.com/.ca: only the channel quantity applies to amazon.in.
        const rb = adapter.readback(item);
        assert.deepEqual(rb, { found: true, quantity: 100, buyable: false });
      });
  });
});
