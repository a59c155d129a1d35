import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { RetryableError } from '../../src/core/errors.js';
import type { SubmitResult } from '../../src/domain/types.js';
import { AmazonListingAdapter } from '../../src/marketplaces/amazon/adapter.js';
import { type ListingsFeedApi, ListingsFeedQueue } from '../../src/marketplaces/amazon/bulk.js';
import type { ListingsItemsApi } from '../../src/marketplaces/amazon/client.js';
import type {
  Feed,
  FeedProcessingStatus,
  ListingsFeedDocument,
} from '../../src/marketplaces/amazon/feeds.js';

/** A Feeds API whose feeds finish when the test says so, with the report the test writes. */
class FakeFeeds implements ListingsFeedApi {
  readonly docs: ListingsFeedDocument[] = [];
  readonly status = new Map<string, FeedProcessingStatus>();
  readonly reports = new Map<string, unknown>();
  submitError: Error | undefined;
  getFeedCalls = 0;

  async submitListingsFeed(doc: ListingsFeedDocument) {
    if (this.submitError) throw this.submitError;
    this.docs.push(doc);
    const feedId = `F${this.docs.length}`;
    this.status.set(feedId, 'IN_QUEUE');
    return { feedId, feedDocumentId: `D${this.docs.length}` };
  }

  async getFeed(feedId: string): Promise<Feed> {
    this.getFeedCalls++;
    const status = this.status.get(feedId) ?? 'IN_QUEUE';
    const feed: Feed = {
      feedId,
      feedType: 'JSON_LISTINGS_FEED',
      createdTime: '2026-12-03T10:00:00Z',
      processingStatus: status,
    };
    if (this.reports.has(feedId)) feed.resultFeedDocumentId = `R-${feedId}`;
    return feed;
  }

  async getProcessingReport(feed: Feed) {
    return this.reports.get(feed.feedId) ?? null;
  }

  /** Marks feed `n` (1-based) DONE with ERROR issues for these messageIds. */
  finish(n: number, invalidMessageIds: number[] = [], status: FeedProcessingStatus = 'DONE'): void {
    const feedId = `F${n}`;
    this.status.set(feedId, status);
    const processed = this.docs[n - 1]?.messages.length ?? 0;
    this.reports.set(feedId, {
      header: { sellerId: 'A2SELLER00001', version: '2.0', feedId },
      summary: {
        errors: invalidMessageIds.length,
        warnings: 0,
        messagesProcessed: processed,
        messagesAccepted: processed - invalidMessageIds.length,
        messagesInvalid: invalidMessageIds.length,
      },
      issues: invalidMessageIds.map((messageId) => ({
        messageId,
        code: '4000001',
        severity: 'ERROR',
        message: 'The provided value for purchasable_offer is invalid.',
        attributeName: 'purchasable_offer',
      })),
    });
  }
}

/** Lets the queue's loop run: advances the clock in steps, yielding to pending promises between. */
async function run(clock: ManualClock, ms: number, step = 100): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    clock.advance(Math.min(step, ms - t));
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  }
}

function queue(
  feeds: FakeFeeds,
  clock: ManualClock,
  extra: Partial<ConstructorParameters<typeof ListingsFeedQueue>[0]> = {},
) {
  return new ListingsFeedQueue({
    feeds,
    sellerId: 'A2SELLER00001',
    clock,
    lingerMs: 1000,
    pollMs: 1000,
    stuckAfterMs: 60_000,
    ...extra,
  });
}

/** Collects outcome or error of each submission without unhandled rejections. */
function track(p: Promise<SubmitResult>) {
  const out: { result?: SubmitResult; error?: unknown } = {};
  p.then(
    (r) => {
      out.result = r;
    },
    (e) => {
      out.error = e;
    },
  );
  return out;
}

describe('ListingsFeedQueue (the Amazon bulk path)', () => {
  it('puts changes arriving together into one feed and maps the report back by messageId: 3 of 10 invalid, 7 applied', async () => {
    const clock = new ManualClock(0);
    const feeds = new FakeFeeds();
    const q = queue(feeds, clock);
    const skus = Array.from({ length: 10 }, (_, i) => `SKU ${i}/+,é`);
    const outs = skus.map((sku, i) => track(q.submit({ sku, price: 100 + i })));
    await run(clock, 500);
    assert.equal(feeds.docs.length, 0, 'waits for company during the linger');
    await run(clock, 700);
    assert.equal(feeds.docs.length, 1);
    const doc = feeds.docs[0]!;
    assert.deepEqual(
      doc.messages.map((m) => m.sku),
      skus,
    );
    // Messages 2, 5 and 9 (SKUs 1, 4, 8) fail; the report names them by messageId only.
    feeds.finish(1, [2, 5, 9]);
    await run(clock, 1500);
    const invalid = skus.filter((_, i) => outs[i]!.result?.status === 'invalid');
    const applied = skus.filter((_, i) => outs[i]!.result?.status === 'applied');
    assert.deepEqual(invalid, [skus[1], skus[4], skus[8]]);
    assert.equal(applied.length, 7);
    const bad = outs[1]!.result as Extract<SubmitResult, { status: 'invalid' }>;
    assert.equal(bad.issues[0]?.code, '4000001');
    assert.deepEqual(bad.issues[0]?.attributeNames, ['purchasable_offer']);
    assert.equal(q.active, false);
    assert.deepEqual(q.stats, {
      feedsSubmitted: 1,
      messagesSubmitted: 10,
      messagesApplied: 7,
      messagesInvalid: 3,
      messagesRetried: 0,
    });
    await q.stop();
  });

  it('never puts more than 25,000 messages in one feed: a full batch goes at once, the rest once the first is processed', async () => {
    const clock = new ManualClock(0);
    const feeds = new FakeFeeds();
    const q = queue(feeds, clock);
    for (let i = 0; i < 25_001; i++) track(q.submit({ sku: `S${i}`, quantity: 1 }));
    await run(clock, 100);
    assert.equal(feeds.docs.length, 1);
    assert.equal(feeds.docs[0]!.messages.length, 25_000);
    await run(clock, 1000);
    assert.equal(feeds.docs.length, 1, 'the rest waits while the first is still IN_QUEUE');
    feeds.status.set('F1', 'IN_PROGRESS');
    await run(clock, 1200);
    assert.equal(feeds.docs.length, 2);
    assert.equal(feeds.docs[1]!.messages.length, 1);
    await q.stop();
  });

  it('keeps to the submission window (here 2 feeds per 10 s) and to the feeds unfinished at once', async () => {
    const clock = new ManualClock(0);
    const feeds = new FakeFeeds();
    const q = queue(feeds, clock, {
      submissions: { max: 2, windowMs: 10_000 },
      maxUnfinished: 5,
      maxMessages: 1,
    });
    for (const sku of ['A', 'B', 'C']) track(q.submit({ sku, price: 1 }));
    await run(clock, 200);
    assert.equal(feeds.docs.length, 2, 'two feeds go at once');
    await run(clock, 9_000);
    assert.equal(feeds.docs.length, 2, 'the third waits for the window');
    // The window plus its margin (2 % and 1 s: our clock and Amazon's differ a little).
    await run(clock, 1_800);
    assert.equal(feeds.docs.length, 2, 'not before the margin has passed');
    await run(clock, 600);
    assert.equal(feeds.docs.length, 3);
    await q.stop();

    const clock2 = new ManualClock(0);
    const feeds2 = new FakeFeeds();
    const q2 = queue(feeds2, clock2, { maxUnfinished: 1, maxMessages: 1 });
    for (const sku of ['A', 'B']) track(q2.submit({ sku, price: 1 }));
    await run(clock2, 5_000);
    assert.equal(feeds2.docs.length, 1, 'the second feed waits until the first is answered');
    feeds2.finish(1);
    await run(clock2, 1_500);
    assert.equal(feeds2.docs.length, 2);
    await q2.stop();
  });

  it('behind a feed still IN_QUEUE the next batch grows; once that feed is processed, it goes', async () => {
    const clock = new ManualClock(0);
    const feeds = new FakeFeeds();
    const q = queue(feeds, clock, { maxBatchAgeMs: 10_000 });
    track(q.submit({ sku: 'FIRST', price: 1 }));
    await run(clock, 1_200);
    assert.equal(feeds.docs.length, 1, 'nothing at Amazon: the first goes after the linger');
    for (let i = 0; i < 8; i++) {
      track(q.submit({ sku: `B${i}`, price: 1 }));
      await run(clock, 500);
    }
    assert.equal(feeds.docs.length, 1, 'the first is still IN_QUEUE: the batch keeps growing');
    feeds.status.set('F1', 'IN_PROGRESS');
    await run(clock, 1_200);
    assert.equal(feeds.docs.length, 2, 'the first is being processed: the next queues behind it');
    assert.equal(feeds.docs[1]!.messages.length, 8);
    // Behind a feed that stays IN_QUEUE, a batch goes at the latest when maxBatchAgeMs old.
    feeds.finish(1);
    for (let i = 0; i < 30; i++) {
      track(q.submit({ sku: `C${i}`, price: 1 }));
      await run(clock, 500);
    }
    assert.equal(feeds.docs.length, 3);
    assert.ok(
      feeds.docs[2]!.messages.length <= 21,
      `${feeds.docs[2]!.messages.length} messages: at most 10 s worth`,
    );
    await q.stop();
  });

  it('gives up on a feed that stays IN_PROGRESS too long: its SKUs get a RetryableError, later feeds go on', async () => {
    const clock = new ManualClock(0);
    const feeds = new FakeFeeds();
    const q = queue(feeds, clock);
    const stuck = track(q.submit({ sku: 'STUCK', price: 5 }));
    await run(clock, 1_200);
    feeds.status.set('F1', 'IN_PROGRESS');
    await run(clock, 50_000);
    assert.equal(stuck.error, undefined, 'still waiting before the limit');
    await run(clock, 12_000);
    assert.ok((stuck.error as unknown) instanceof RetryableError);
    assert.match((stuck.error as unknown as Error).message, /F1 not finished after 1 min/);
    // Sent again (as the machine would): a new feed, answered normally.
    const again = track(q.submit({ sku: 'STUCK', price: 5 }));
    await run(clock, 1_200);
    assert.equal(feeds.docs.length, 2);
    feeds.finish(2);
    await run(clock, 1_200);
    assert.equal(again.result?.status, 'applied');
    assert.equal(q.stats.messagesRetried, 1);
    await q.stop();
  });

  it('a FATAL feed without a report and a CANCELLED feed fail their SKUs as retryable', async () => {
    for (const status of ['FATAL', 'CANCELLED'] as const) {
      const clock = new ManualClock(0);
      const feeds = new FakeFeeds();
      const q = queue(feeds, clock);
      const out = track(q.submit({ sku: 'X', price: 5 }));
      await run(clock, 1_200);
      feeds.status.set('F1', status);
      await run(clock, 1_200);
      assert.ok(out.error instanceof RetryableError, status);
      await q.stop();
    }
  });

  it('a header-level ERROR in the report (4002006) makes every SKU of the feed invalid', async () => {
    const clock = new ManualClock(0);
    const feeds = new FakeFeeds();
    const q = queue(feeds, clock);
    const outs = ['A', 'B'].map((sku) => track(q.submit({ sku, price: 5 })));
    await run(clock, 1_200);
    feeds.status.set('F1', 'DONE');
    feeds.reports.set('F1', {
      header: { sellerId: 'A2SELLER00001', version: '2.0', feedId: 'F1' },
      summary: { errors: 1, warnings: 0, messagesProcessed: 2, messagesAccepted: 0, messagesInvalid: 2 },
      issues: [{ code: '4002006', severity: 'ERROR', message: 'header version not supported' }],
    });
    await run(clock, 1_200);
    assert.deepEqual(
      outs.map((o) => o.result?.status),
      ['invalid', 'invalid'],
    );
    await q.stop();
  });

  it('a newer change of a SKU replaces the older one in the waiting batch; an abort takes a message out', async () => {
    const clock = new ManualClock(0);
    const feeds = new FakeFeeds();
    const q = queue(feeds, clock);
    const older = track(q.submit({ sku: 'A', price: 1 }));
    const newer = track(q.submit({ sku: 'A', price: 2 }));
    const abort = new AbortController();
    const aborted = track(q.submit({ sku: 'B', price: 3 }, abort.signal));
    abort.abort(new Error('stopped waiting'));
    await run(clock, 1_200);
    assert.ok(older.error instanceof RetryableError);
    assert.equal((aborted.error as Error).message, 'stopped waiting');
    assert.equal(feeds.docs.length, 1);
    assert.deepEqual(feeds.docs[0]!.messages, [
      {
        messageId: 1,
        sku: 'A',
        operationType: 'PATCH',
        productType: 'PRODUCT',
        patches: [
          {
            op: 'replace',
            path: '/attributes/purchasable_offer',
            value: [
              {
                marketplace_id: 'A21TJRUUN4KGV',
                currency: 'INR',
                our_price: [{ schedule: [{ value_with_tax: 2 }] }],
              },
            ],
          },
        ],
      },
    ]);
    feeds.finish(1);
    await run(clock, 1_200);
    assert.equal(newer.result?.status, 'applied');
    await q.stop();
  });

  it('a failed submission fails each waiting SKU with the error, so each retries on its own backoff', async () => {
    const clock = new ManualClock(0);
    const feeds = new FakeFeeds();
    feeds.submitError = new RetryableError('createFeedDocument: 503', { status: 503 });
    const q = queue(feeds, clock);
    const outs = ['A', 'B'].map((sku) => track(q.submit({ sku, price: 5 })));
    await run(clock, 1_200);
    assert.deepEqual(
      outs.map((o) => (o.error as Error | undefined)?.message),
      ['createFeedDocument: 503', 'createFeedDocument: 503'],
    );
    assert.equal(q.active, false);
    await q.stop();
  });

  it('stop() answers every waiting SKU with a RetryableError (sent again after the restart)', async () => {
    const clock = new ManualClock(0);
    const feeds = new FakeFeeds();
    const q = queue(feeds, clock);
    const inFeed = track(q.submit({ sku: 'A', price: 5 }));
    await run(clock, 1_200);
    const waiting = track(q.submit({ sku: 'B', price: 5 }));
    await q.stop();
    await run(clock, 10);
    assert.ok(inFeed.error instanceof RetryableError);
    assert.ok(waiting.error instanceof RetryableError);
  });
});

describe('AmazonListingAdapter with the bulk path', () => {
  it('sends PATCHes until `threshold` wait for an answer, then feeds; stock to zero keeps its PATCH lane', async () => {
    const clock = new ManualClock(0);
    const feeds = new FakeFeeds();
    const q = queue(feeds, clock);
    const pending: (() => void)[] = [];
    const patched: string[] = [];
    const client: ListingsItemsApi = {
      marketplaceId: 'A21TJRUUN4KGV',
      getListingsItem: async () => null,
      putListingsItem: async () => ({ sku: '', status: 'ACCEPTED', submissionId: 's', issues: [] }),
      deleteListingsItem: async () => ({ sku: '', status: 'ACCEPTED', submissionId: 's', issues: [] }),
      patchListingsItem: (sku) => {
        patched.push(sku);
        return new Promise((resolve) =>
          pending.push(() => resolve({ sku, status: 'ACCEPTED', submissionId: 's', issues: [] })),
        );
      },
    };
    const adapter = new AmazonListingAdapter({ client, bulk: { queue: q, threshold: 3 } });
    const viaPatch = ['P1', 'P2', 'P3'].map((sku) => adapter.update({ sku, price: 10 }));
    const viaFeed = ['F1', 'F2'].map((sku) => track(adapter.update({ sku, price: 10, mrp: 12 })));
    const zero = adapter.update({ sku: 'Z', quantity: 0 });
    assert.deepEqual(patched, ['P1', 'P2', 'P3', 'Z']);
    assert.equal(adapter.patchBacklog, 4);
    for (const p of pending) p();
    assert.deepEqual(
      (await Promise.all([...viaPatch, zero])).map((r) => r.status),
      ['accepted', 'accepted', 'accepted', 'accepted'],
    );
    assert.equal(adapter.patchBacklog, 0);
    await run(clock, 1_200);
    assert.equal(feeds.docs.length, 1);
    const msg = feeds.docs[0]!.messages[0]!;
    assert.equal(msg.sku, 'F1');
    // The feed carries the adapter's own PATCH operations (price with audience ALL, then MRP).
    assert.deepEqual(msg.patches, adapter.patches({ sku: 'F1', price: 10, mrp: 12 }));
    feeds.finish(1);
    await run(clock, 1_200);
    assert.deepEqual(
      viaFeed.map((o) => o.result?.status),
      ['applied', 'applied'],
    );
    await q.stop();
  });
});
