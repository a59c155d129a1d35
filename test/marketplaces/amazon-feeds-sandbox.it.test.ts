/**
 * The Feeds client against the local sandbox over real HTTP (127.0.0.1): JSON_LISTINGS_FEED with
 * partial success, a stalled feed, the 5-per-5-minutes submission limit (scaled by rateScale), and
 * the processing model: one app's feeds one after another, with a per-message processing time.
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

  it('answers 429 to a 6th JSON_LISTINGS_FEED submission within the (scaled) window', async () => {
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

const T0 = Date.UTC(2026, 10, 20, 4, 0, 0);

/** A JSON_LISTINGS_FEED document of `n` quantity updates. */
function feedOf(prefix: string, n: number) {
  return buildListingsFeed(
    SELLER,
    Array.from({ length: n }, (_, i) => ({ sku: `${prefix}-${i}`, quantity: i })),
  );
}

describe('sandbox feed processing model', () => {
  it("processes one app's feeds one after another, taking messagesPerSecond into account", async () => {
    const clock = new ManualClock(T0);
    const { sandbox, feeds } = await harness(
      { clock, feeds: { queueDelayMs: 1000, processingDelayMs: 2000, messagesPerSecond: 10 } },
      clock,
    );
    const a = await feeds.submitListingsFeed(feedOf('A', 30)); // 1000 + 2000 + 3000 ms
    clock.advance(500);
    const b = await feeds.submitListingsFeed(feedOf('B', 10)); // behind A: 2000 + 1000 ms

    clock.advance(500); // T0 + 1000
    assert.equal((await feeds.getFeed(a.feedId)).processingStatus, 'IN_PROGRESS');
    assert.equal((await feeds.getFeed(b.feedId)).processingStatus, 'IN_QUEUE', 'due, but A is not done');

    clock.advance(4999); // T0 + 5999
    assert.equal((await feeds.getFeed(a.feedId)).processingStatus, 'IN_PROGRESS');
    clock.advance(1); // T0 + 6000
    const doneA = await feeds.getFeed(a.feedId);
    assert.equal(doneA.processingStatus, 'DONE');
    assert.equal(doneA.processingStartTime, new Date(T0 + 1000).toISOString());
    assert.equal(doneA.processingEndTime, new Date(T0 + 6000).toISOString());
    const runningB = await feeds.getFeed(b.feedId);
    assert.equal(runningB.processingStatus, 'IN_PROGRESS');
    assert.equal(runningB.processingStartTime, new Date(T0 + 6000).toISOString());

    clock.advance(2999);
    assert.equal((await feeds.getFeed(b.feedId)).processingStatus, 'IN_PROGRESS');
    clock.advance(1); // T0 + 9000
    const doneB = await feeds.getFeed(b.feedId);
    assert.equal(doneB.processingStatus, 'DONE');
    assert.equal(doneB.processingEndTime, new Date(T0 + 9000).toISOString());
    assert.deepEqual(
      sandbox.control.feeds().map((f) => [f.status, f.messages]),
      [
        ['DONE', 30],
        ['DONE', 10],
      ],
    );
  });

  it('derives statuses and times from the clock alone, whether or not anyone polled', async () => {
    const clock = new ManualClock(T0);
    const { feeds } = await harness(
      {
        clock,
        applyTickMs: 0,
        feeds: { queueDelayMs: 1000, processingDelayMs: 2000, messagesPerSecond: 10 },
      },
      clock,
    );
    const ids: string[] = [];
    for (const n of [30, 10, 20]) ids.push((await feeds.submitListingsFeed(feedOf(`N${n}`, n))).feedId);
    clock.advance(60_000); // nobody looked in between
    const got = await Promise.all(ids.map((id) => feeds.getFeed(id)));
    const rel = (t: string | undefined) => (t === undefined ? undefined : Date.parse(t) - T0);
    assert.deepEqual(
      got.map((f) => [f.processingStatus, rel(f.processingStartTime), rel(f.processingEndTime)]),
      [
        ['DONE', 1000, 6000],
        ['DONE', 6000, 9000],
        ['DONE', 9000, 13_000],
      ],
    );
  });

  it('setFeedDelays takes messagesPerSecond as a third argument (for feeds not yet started)', async () => {
    const clock = new ManualClock(T0);
    const { sandbox, feeds } = await harness(
      { clock, feeds: { queueDelayMs: 0, processingDelayMs: 0 } },
      clock,
    );
    sandbox.control.setFeedDelays(100, 400, 20);
    const { feedId } = await feeds.submitListingsFeed(feedOf('D', 40)); // 100 + 400 + 2000 ms
    clock.advance(2499);
    assert.equal((await feeds.getFeed(feedId)).processingStatus, 'IN_PROGRESS');
    clock.advance(1);
    assert.equal((await feeds.getFeed(feedId)).processingStatus, 'DONE');
    assert.throws(() => sandbox.control.setFeedDelays(0, 0, 0), RangeError);
  });

  it('a stalled feed holds back the next feed of the app; lifting the stall ends it then', async () => {
    const clock = new ManualClock(T0);
    const { sandbox, feeds } = await harness(
      { clock, feeds: { queueDelayMs: 100, processingDelayMs: 200 } },
      clock,
    );
    sandbox.control.stallFeeds(true);
    const first = await feeds.submitListingsFeed(feedOf('S', 1));
    const second = await feeds.submitListingsFeed(feedOf('T', 1));
    clock.advance(10_000);
    assert.deepEqual(
      [
        (await feeds.getFeed(first.feedId)).processingStatus,
        (await feeds.getFeed(second.feedId)).processingStatus,
      ],
      ['IN_PROGRESS', 'IN_QUEUE'],
    );
    sandbox.control.stallFeeds(false); // at T0 + 10000
    clock.advance(150);
    const a = await feeds.getFeed(first.feedId);
    const b = await feeds.getFeed(second.feedId);
    assert.equal(a.processingStatus, 'DONE');
    assert.equal(a.processingEndTime, new Date(T0 + 10_000).toISOString());
    assert.equal(b.processingStatus, 'IN_PROGRESS');
    assert.equal(b.processingStartTime, new Date(T0 + 10_000).toISOString());
    clock.advance(50);
    const doneB = await feeds.getFeed(second.feedId);
    assert.equal(doneB.processingStatus, 'DONE');
    assert.equal(doneB.processingEndTime, new Date(T0 + 10_200).toISOString());
  });
});

describe('sandbox JSON_LISTINGS_FEED submission window', () => {
  /** createFeed over raw HTTP (no client pause after a 429) for one uploaded document. */
  async function rawSubmitter(opts: AmazonSandboxOptions, clock: ManualClock) {
    const { sandbox, client, feeds } = await harness({ clock, ...opts }, clock);
    const doc = await feeds.createFeedDocument();
    await feeds.uploadFeedDocument(doc.url, JSON.stringify(feedOf('W', 1)));
    const token = await client.accessToken();
    const submit = async () => {
      const res = await fetch(`${sandbox.url}/feeds/2021-06-30/feeds`, {
        method: 'POST',
        headers: { 'x-amz-access-token': token, 'content-type': 'application/json' },
        body: JSON.stringify({
          feedType: 'JSON_LISTINGS_FEED',
          marketplaceIds: ['A21TJRUUN4KGV'],
          inputFeedDocumentId: doc.feedDocumentId,
        }),
      });
      await res.arrayBuffer();
      return { status: res.status, limit: res.headers.get('x-amzn-ratelimit-limit') };
    };
    const statuses = async (n: number) => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) out.push((await submit()).status);
      return out;
    };
    return { sandbox, submit, statuses };
  }

  it('allows 5 per 300000 / rateScale ms, and follows setRateScale', async () => {
    const clock = new ManualClock(T0);
    const { sandbox, submit, statuses } = await rawSubmitter({ rateScale: 100 }, clock);
    assert.deepEqual(await statuses(6), [202, 202, 202, 202, 202, 429]);
    clock.advance(2999);
    assert.deepEqual(await statuses(1), [429], 'the window is 3000 ms at rateScale 100');
    clock.advance(1);
    const next = await submit();
    assert.equal(next.status, 202);
    assert.equal(next.limit, '0.83');

    sandbox.control.setRateScale(200); // window 1500 ms from now on
    assert.deepEqual(await statuses(5), [202, 202, 202, 202, 429]);
    clock.advance(1500);
    const after = await submit();
    assert.equal(after.status, 202);
    assert.equal(after.limit, '1.66');
  });

  it('an explicit submissions limit is not scaled', async () => {
    const clock = new ManualClock(T0);
    const { statuses } = await rawSubmitter(
      { rateScale: 100, feeds: { submissions: { max: 2, windowMs: 60_000 } } },
      clock,
    );
    assert.deepEqual(await statuses(3), [202, 202, 429]);
    clock.advance(59_999);
    assert.deepEqual(await statuses(1), [429]);
    clock.advance(1);
    assert.deepEqual(await statuses(1), [202]);
  });
});
