/**
 * The Amazon bulk path end to end over real HTTP (127.0.0.1): the listing adapter spilling price
 * and stock changes into JSON_LISTINGS_FEED documents through the Feeds client, against the
 * sandbox — odd SKUs, messages the sandbox reports INVALID, an access token that expires between
 * feeds, and a feed that stays IN_PROGRESS too long.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { systemClock } from '../../src/core/clock.js';
import { RetryableError } from '../../src/core/errors.js';
import type { SubmitResult } from '../../src/domain/types.js';
import {
  AmazonFeedsClient,
  AmazonListingAdapter,
  type AmazonSandbox,
  AmazonSpApiClient,
  createAmazonSandbox,
  ListingsFeedQueue,
  SANDBOX_CREDENTIALS,
} from '../../src/marketplaces/amazon/index.js';
import { TV_DRAFT } from './fakes.js';

const SELLER = SANDBOX_CREDENTIALS.sellerId;
const ODD_SKUS = ['LG/WM 8KG+STEAM,BLK', 'टीवी-४३इंच', 'a b', 'x%y#z?', 'Größe-XL'];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function harness(queueOpts: { stuckAfterMs?: number } = {}) {
  const sandbox: AmazonSandbox = createAmazonSandbox({
    rateScale: 100,
    applyDelayMs: 10,
    applyTickMs: 10,
    feeds: { queueDelayMs: 20, processingDelayMs: 40 },
  });
  await sandbox.start();
  cleanups.push(() => sandbox.stop());
  const client = new AmazonSpApiClient({
    endpoint: sandbox.url,
    lwaEndpoint: sandbox.url,
    clientId: SANDBOX_CREDENTIALS.clientId,
    clientSecret: () => SANDBOX_CREDENTIALS.clientSecret,
    refreshToken: SANDBOX_CREDENTIALS.refreshToken,
    sellerId: SELLER,
    rateScale: 100,
  });
  const feeds = new AmazonFeedsClient({ client, endpoint: sandbox.url, rateScale: 100 });
  const queue = new ListingsFeedQueue({
    feeds,
    sellerId: SELLER,
    clock: systemClock,
    lingerMs: 50,
    pollMs: 50,
    stuckAfterMs: queueOpts.stuckAfterMs ?? 10_000,
    submissions: { max: 5, windowMs: 3_000 },
  });
  // Threshold 1 with nothing else in flight: the first change takes the PATCH lane, the rest feeds.
  const adapter = new AmazonListingAdapter({ client, bulk: { queue, threshold: 1 } });
  cleanups.push(
    () => client.stop(),
    () => feeds.stop(),
    () => queue.stop(),
  );
  return { sandbox, client, adapter, queue };
}

async function listAll(h: Awaited<ReturnType<typeof harness>>, skus: string[]) {
  for (const sku of skus) await h.adapter.upsert({ ...TV_DRAFT, sku, price: 1000, quantity: 1 });
  const deadline = Date.now() + 5000;
  while (h.sandbox.control.pendingCount() > 0 && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 10));
}

describe('the Amazon bulk path against the sandbox', () => {
  it('sends a backlog as one feed: odd SKUs arrive intact, 3 INVALID messages come back to their SKUs only', async () => {
    const h = await harness();
    const skus = [...ODD_SKUS, ...Array.from({ length: 6 }, (_, i) => `BULK-${i}`)];
    await listAll(h, skus);
    const failing = ['टीवी-४३इंच', 'BULK-2', 'BULK-5'];
    h.sandbox.control.failFeedMessages(failing);

    // The first change holds the PATCH lane (threshold 1), so the other ten go by feed.
    const results = await Promise.all(
      skus.map((sku, i) => h.adapter.update({ sku, price: 2000 + i, quantity: 5 })),
    );
    assert.equal(h.queue.stats.feedsSubmitted, 1);
    assert.equal(h.queue.stats.messagesSubmitted, skus.length - 1);
    const byStatus = (s: SubmitResult['status']) => skus.filter((_, i) => results[i]!.status === s);
    assert.deepEqual(
      byStatus('accepted'),
      [skus[0]],
      'the PATCH answer is ACCEPTED (confirmed by read-back)',
    );
    assert.deepEqual(byStatus('invalid'), failing);
    assert.equal(byStatus('applied').length, skus.length - 1 - failing.length);
    const invalid = results[skus.indexOf('BULK-2')] as Extract<SubmitResult, { status: 'invalid' }>;
    assert.equal(invalid.issues[0]?.severity, 'ERROR');

    const deadline = Date.now() + 5000;
    while (h.sandbox.control.pendingCount() > 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    const live = h.sandbox.control.snapshot();
    for (const [i, sku] of skus.entries()) {
      const want = failing.includes(sku) ? [1000, 1] : [2000 + i, 5];
      assert.deepEqual([live[sku]?.price, live[sku]?.quantity], want, sku);
    }
    // What Amazon shows for each odd SKU, read back through the per-SKU path.
    for (const sku of ODD_SKUS.filter((s) => !failing.includes(s))) {
      const rb = await h.adapter.read(sku);
      assert.equal(rb.price, 2000 + skus.indexOf(sku), sku);
    }
  });

  it('an access token that expires between two feeds costs one refresh; both feeds are answered', async () => {
    const h = await harness();
    const skus = Array.from({ length: 8 }, (_, i) => `TOK-${i}`);
    await listAll(h, skus);
    const first = await Promise.all(skus.slice(0, 4).map((sku) => h.adapter.update({ sku, price: 3000 })));
    h.sandbox.control.expireTokens();
    const second = await Promise.all(skus.slice(4).map((sku) => h.adapter.update({ sku, price: 3001 })));
    assert.ok([...first, ...second].every((r) => r.status === 'applied' || r.status === 'accepted'));
    assert.equal(h.queue.stats.feedsSubmitted, 2);
    assert.equal(h.sandbox.control.counters().lwaToken.ok, 2, 'one token, then one refresh');
  });

  it('a feed stuck IN_PROGRESS is given up on: its SKUs get a RetryableError and are sent again once Amazon moves', async () => {
    const h = await harness({ stuckAfterMs: 400 });
    const skus = ['STUCK-0', 'STUCK-1', 'STUCK-2'];
    await listAll(h, skus);
    h.sandbox.control.stallFeeds(true);
    const outcomes = await Promise.allSettled(skus.map((sku) => h.adapter.update({ sku, price: 4000 })));
    const rejected = outcomes.filter((o) => o.status === 'rejected');
    assert.equal(rejected.length, 2, 'the two SKUs in the feed (the first took the PATCH lane)');
    for (const r of rejected) {
      assert.ok(r.reason instanceof RetryableError);
      assert.match(r.reason.message, /not finished after/);
    }
    // The machine sends again after its backoff; by then Amazon processes feeds again.
    h.sandbox.control.stallFeeds(false);
    const again = await Promise.all(skus.slice(1).map((sku) => h.adapter.update({ sku, price: 4000 })));
    assert.ok(again.every((r) => r.status === 'applied' || r.status === 'accepted'));
    const deadline = Date.now() + 5000;
    while (h.sandbox.control.pendingCount() > 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    for (const sku of skus) assert.equal(h.sandbox.control.snapshot()[sku]?.price, 4000, sku);
  });
});
