import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AMAZON_RATE_LIMITS } from '../../src/marketplaces/amazon/index.js';

describe('published rate table', () => {
  it('has the Listings Items rows of the current model', () => {
    assert.deepEqual(AMAZON_RATE_LIMITS.getListingsItem, { rate: 5, burst: 10 });
    assert.deepEqual(AMAZON_RATE_LIMITS.putListingsItem, { rate: 5, burst: 10 });
    assert.deepEqual(AMAZON_RATE_LIMITS.patchListingsItem, { rate: 5, burst: 5 });
    assert.deepEqual(AMAZON_RATE_LIMITS.deleteListingsItem, { rate: 5, burst: 5 });
  });

  it('also has the Feeds and Orders rows for later', () => {
    assert.deepEqual(AMAZON_RATE_LIMITS.createFeed, { rate: 0.0083, burst: 15 });
    assert.deepEqual(AMAZON_RATE_LIMITS.getOrders, { rate: 0.0167, burst: 20 });
    assert.deepEqual(AMAZON_RATE_LIMITS.searchOrders, { rate: 0.0056, burst: 20 });
  });
});
