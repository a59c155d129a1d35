/**
 * The Feeds client against the local sandbox over real HTTP (127.0.0.1): JSON_LISTINGS_FEED with
 * partial success, a stalled feed, and the 5-per-5-minutes submission limit.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { ManualClock, systemClock } from '../../src/core/clock.js';
import { RetryableError, TerminalError } from '../../src/core/errors.js';
import {
  AmazonFeedsClient,
  AmazonListingAdapter,
  type AmazonSandbox,
  type AmazonSandboxOptions,
  AmazonSpApiClient,
  buildListingsFeed,
  createAmazonSandbox,
  type Feed,
  mapProcessingReport,
  messagesById,
  SANDBOX_CREDENTIALS,
} from '../../src/marketplaces/amazon/index.js';
import { eventually, TV_DRAFT } from './fakes.js';

const SELLER = SANDBOX_CREDENTIALS.sellerId;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function harness(opts: AmazonSandboxOptions = {}, clock = systemClock) {
  const sandbox: AmazonSandbox = createAmazonSandbox({
    rateScale: 100,
    applyDelayMs: 20,
    applyTickMs: 10,
    feeds: { queueDelayMs: 20, processingDelayMs: 60 },
    ...opts,
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
    clock,
    rateScale: 100,
  });
  const feeds = new AmazonFeedsClient({ client, endpoint: sandbox.url, rateScale: 100, clock });
  cleanups.push(
    () => client.stop(),
    () => feeds.stop(),
  );
  return { sandbox, client, feeds };
}

async function waitFor(feeds: AmazonFeedsClient, feedId: string, done: (f: Feed) => boolean): Promise<Feed> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const f = await feeds.getFeed(feedId);
    if (done(f)) return f;
    if (Date.now() > deadline) throw new Error(`feed ${feedId} still ${f.processingStatus}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('JSON_LISTINGS_FEED against the sandbox', () => {
  it('applies 27 of 30 messages and maps exactly the 3 invalid ones back by messageId', async () => {
    const { sandbox, client, feeds } = await harness();
    const adapter = new AmazonListingAdapter({ client });
    const skus = Array.from({ length: 30 }, (_, i) => `BULK-${String(i + 1).padStart(2, '0')}`);
    for (const sku of skus) await adapter.upsert({ ...TV_DRAFT, sku, price: 1000, quantity: 1 });
    await eventually(() => sandbox.control.pendingCount() === 0, 'seed listings applied');

    const doc = buildListingsFeed(
      SELLER,
      skus.map((sku, i) => ({ sku, price: 2000 + i, quantity: 10 + i })),
    );
    // Three invalid messages: a bad attribute, a negative quantity, an unknown productType on UPDATE.
    const bad = doc.messages[4]!;
    bad.patches![0]!.value = [{ currency: 'INR', our_price: [{ schedule: [{ value_with_tax: 'abc' }] }] }];
    const negative = doc.messages[11]!;
    negative.patches![1]!.value = [{ fulfillment_channel_code: 'DEFAULT', quantity: -3 }];
    const update = doc.messages[22] as unknown as Record<string, unknown>;
    update.operationType = 'UPDATE';
    update.productType = 'SPACESHIP';
    update.attributes = { item_name: [{ value: 'x' }] };
    delete update.patches;
    const invalidSkus = [bad.sku, negative.sku, String(update.sku)];

    const { feedId } = await feeds.submitListingsFeed(doc);
    const first = await feeds.getFeed(feedId);
    assert.equal(first.processingStatus, 'IN_QUEUE');
    const feed = await waitFor(feeds, feedId, (f) => f.processingStatus === 'DONE');
    assert.ok(feed.resultFeedDocumentId);
    assert.ok(feed.processingStartTime && feed.processingEndTime);

    const report = (await feeds.getProcessingReport(feed)) as {
      summary: { messagesProcessed: number; messagesAccepted: number; messagesInvalid: number };
    };
    assert.deepEqual(
      { ...report.summary, errors: undefined, warnings: undefined },
      {
        messagesProcessed: 30,
        messagesAccepted: 27,
        messagesInvalid: 3,
        errors: undefined,
        warnings: undefined,
      },
    );
    const outcomes = mapProcessingReport(report, messagesById(doc));
    const invalid = [...outcomes.values()].filter((o) => o.status === 'invalid');
    assert.deepEqual(
      invalid.map((o) => o.sku),
      invalidSkus,
    );
    assert.deepEqual(
      invalid.map((o) => o.messageId),
      [5, 12, 23],
    );
    for (const o of invalid)
      assert.ok(o.issues.length > 0 && o.issues.every((i) => i.messageId === o.messageId));

    await eventually(() => sandbox.control.pendingCount() === 0, 'feed changes applied');
    for (const [i, sku] of skus.entries()) {
      const item = await client.getListingsItem(sku, ['offers', 'fulfillmentAvailability']);
      assert.ok(item, sku);
      const price = Number(item.offers?.[0]?.price?.amount);
      const quantity = item.fulfillmentAvailability?.[0]?.quantity;
      if (invalidSkus.includes(sku)) {
        assert.deepEqual([price, quantity], [1000, 1], `${sku} unchanged`);
      } else {
        assert.deepEqual([price, quantity], [2000 + i, 10 + i], `${sku} updated`);
      }
    }
  });

  it('reports messages of failFeedMessages SKUs invalid', async () => {
    const { sandbox, feeds } = await harness();
    sandbox.control.failFeedMessages(['F-2']);
    const doc = buildListingsFeed(SELLER, [
      { sku: 'F-1', quantity: 1 },
      { sku: 'F-2', quantity: 1 },
    ]);
    const { feedId } = await feeds.submitListingsFeed(doc);
    const feed = await waitFor(feeds, feedId, (f) => f.processingStatus === 'DONE');
    const outcomes = mapProcessingReport(await feeds.getProcessingReport(feed), messagesById(doc));
    assert.deepEqual(
      [...outcomes.values()].map((o) => [o.sku, o.status]),
      [
        ['F-1', 'accepted'],
        ['F-2', 'invalid'],
      ],
    );
  });

  it('keeps a stalled feed IN_PROGRESS past its processing time', async () => {
    const { sandbox, feeds } = await harness();
    sandbox.control.stallFeeds(true);
    const { feedId } = await feeds.submitListingsFeed(buildListingsFeed(SELLER, [{ sku: 'S-1', price: 5 }]));
    await waitFor(feeds, feedId, (f) => f.processingStatus === 'IN_PROGRESS');
    await new Promise((r) => setTimeout(r, 300));
    const still = await feeds.getFeed(feedId);
    assert.equal(still.processingStatus, 'IN_PROGRESS');
    assert.equal(still.resultFeedDocumentId, undefined);
    sandbox.control.stallFeeds(false);
    await waitFor(feeds, feedId, (f) => f.processingStatus === 'DONE');
  });

  it('answers 429 to a 6th JSON_LISTINGS_FEED submission within 5 minutes', async () => {
    const { sandbox, feeds } = await harness();
    for (let i = 0; i < 5; i++) {
      await feeds.submitListingsFeed(buildListingsFeed(SELLER, [{ sku: `Q-${i}`, quantity: i }]));
    }
    await assert.rejects(
      feeds.submitListingsFeed(buildListingsFeed(SELLER, [{ sku: 'Q-5', quantity: 5 }])),
      (e: unknown) => e instanceof RetryableError && e.throttled && e.status === 429,
    );
    assert.equal(sandbox.control.feeds().length, 5);
  });

  it('rejects uploads after 5 minutes, with another content type, and feeds above 25,000 messages', async () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 20));
    const { feeds } = await harness({ clock }, clock);
    const late = await feeds.createFeedDocument();
    clock.advance(5 * 60_000);
    await assert.rejects(
      feeds.uploadFeedDocument(late.url, '{}'),
      (e: unknown) => e instanceof TerminalError && e.status === 403,
    );
    const typed = await feeds.createFeedDocument();
    await assert.rejects(feeds.uploadFeedDocument(typed.url, '{}', 'text/plain'), TerminalError);

    const messages = Array.from({ length: 25_001 }, (_, i) => ({
      messageId: i + 1,
      sku: `M-${i}`,
      operationType: 'DELETE',
    }));
    const big = await feeds.createFeedDocument();
    await feeds.uploadFeedDocument(
      big.url,
      JSON.stringify({ header: { sellerId: SELLER, version: '2.0' }, messages }),
    );
    await assert.rejects(
      feeds.createFeed({
        feedType: 'JSON_LISTINGS_FEED',
        marketplaceIds: ['A21TJRUUN4KGV'],
        inputFeedDocumentId: big.feedDocumentId,
      }),
      (e: unknown) => e instanceof TerminalError && e.status === 400,
    );
  });
});
