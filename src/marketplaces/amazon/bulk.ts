/**
 * The bulk path for Amazon price and stock (reference §1.6, §4 F9): listing changes collected into
 * JSON_LISTINGS_FEED documents instead of one PATCH per SKU.
 *
 * Each submitter waits for its own SKU's outcome, read from the feed's processing report by
 * messageId: no ERROR → `applied` (the report is Amazon's answer after processing, so the machine
 * does not read each SKU back; warnings ride along as issues), an ERROR → `invalid` with the issues.
 * A feed that ends FATAL without a usable report, is CANCELLED, or stays unfinished past
 * `stuckAfterMs` fails only its own SKUs with a RetryableError: the listing machine sends them again
 * with the newest values it holds, through whichever path the backlog then calls for.
 *
 * Limits kept: at most 25,000 messages per feed, at most `submissions.max` feeds per window (5 per
 * 5 minutes, scaled with the rate scale), at most `maxUnfinished` feeds waiting at Amazon at once
 * (a seller's feeds are processed one after another, so a third one would only wait in Amazon's
 * queue while our batch could still grow). The Feeds API calls themselves go through the feeds
 * client's own limiters.
 */
import type { Logger } from 'pino';
import type { Clock } from '../../core/clock.js';
import { RetryableError, TerminalError } from '../../core/errors.js';
import { errorSummary } from '../../core/text.js';
import type { ListingIssue, SubmitResult } from '../../domain/types.js';
import type { AmazonCallOptions } from './client.js';
import {
  type BuildListingsFeedOptions,
  buildListingsFeed,
  type Feed,
  type FeedSkuOutcome,
  type ListingsFeedDocument,
  type ListingsFeedMessageInput,
  MAX_LISTINGS_FEED_MESSAGES,
  mapProcessingReport,
  messagesById,
} from './feeds.js';
import { LISTINGS_FEED_SUBMISSIONS } from './limits.js';

/** What the bulk path needs of the Feeds API client (AmazonFeedsClient, or a fake in tests). */
export interface ListingsFeedApi {
  submitListingsFeed(
    doc: ListingsFeedDocument,
    opts?: AmazonCallOptions,
  ): Promise<{ feedId: string; feedDocumentId: string }>;
  getFeed(feedId: string, opts?: AmazonCallOptions): Promise<Feed>;
  getProcessingReport(feed: Feed, opts?: AmazonCallOptions): Promise<unknown | null>;
}

export interface ListingsFeedQueueOptions {
  feeds: ListingsFeedApi;
  sellerId: string;
  clock: Clock;
  logger?: Logger;
  /** Messages per feed. Default (and most) 25,000. */
  maxMessages?: number;
  /** Feed submissions per sliding window. Default 5 per 5 minutes. */
  submissions?: { max: number; windowMs: number };
  /**
   * How long a batch waits for company after its first message, when no feed of ours waits in
   * Amazon's queue. While one does (a seller's feeds are processed one after another, so another
   * would only queue behind it), the batch keeps growing until that feed is being processed,
   * the batch is full, or it is `maxBatchAgeMs` old. Default 2 s.
   */
  lingerMs?: number;
  /** The longest a batch waits behind a feed still IN_QUEUE. Default 15 × lingerMs. */
  maxBatchAgeMs?: number;
  /** Feeds submitted and not yet finished, at most. Default 2. */
  maxUnfinished?: number;
  /** Between two getFeed polls of a feed. Default 30 s. */
  pollMs?: number;
  /** A feed not finished this long after submission is given up on. Default 30 minutes. */
  stuckAfterMs?: number;
  build?: BuildListingsFeedOptions;
}

interface Waiter {
  message: ListingsFeedMessageInput;
  settled: boolean;
  resolve(r: SubmitResult): void;
  reject(e: unknown): void;
}

interface Batch {
  firstAt: number;
  bySku: Map<string, Waiter>;
}

interface SubmittedFeed {
  feedId: string;
  /** Seen IN_PROGRESS (or later): Amazon is processing it. */
  started: boolean;
  submittedAt: number;
  nextPollAt: number;
  messages: Map<number, string>;
  waiters: Map<string, Waiter>;
}

export interface ListingsFeedQueueStats {
  feedsSubmitted: number;
  messagesSubmitted: number;
  messagesApplied: number;
  messagesInvalid: number;
  messagesRetried: number;
}

export class ListingsFeedQueue {
  readonly stats: ListingsFeedQueueStats = {
    feedsSubmitted: 0,
    messagesSubmitted: 0,
    messagesApplied: 0,
    messagesInvalid: 0,
    messagesRetried: 0,
  };
  private readonly maxMessages: number;
  private readonly submissions: { max: number; windowMs: number };
  private readonly lingerMs: number;
  private readonly maxBatchAgeMs: number;
  private readonly maxUnfinished: number;
  private readonly pollMs: number;
  private readonly stuckAfterMs: number;
  private readonly batches: Batch[] = [];
  private readonly unfinished = new Set<SubmittedFeed>();
  private submittedAt: number[] = [];
  private sending = false;
  private stopped = false;
  private wake: () => void = () => {};
  private loop: Promise<void> | undefined;

  constructor(private readonly opts: ListingsFeedQueueOptions) {
    this.maxMessages = Math.min(opts.maxMessages ?? MAX_LISTINGS_FEED_MESSAGES, MAX_LISTINGS_FEED_MESSAGES);
    this.submissions = opts.submissions ?? LISTINGS_FEED_SUBMISSIONS;
    this.lingerMs = opts.lingerMs ?? 2000;
    this.maxBatchAgeMs = opts.maxBatchAgeMs ?? 15 * this.lingerMs;
    this.maxUnfinished = Math.max(1, opts.maxUnfinished ?? 2);
    this.pollMs = opts.pollMs ?? 30_000;
    this.stuckAfterMs = opts.stuckAfterMs ?? 30 * 60_000;
  }

  /** Messages waiting for a feed plus messages in feeds not yet finished. */
  get backlog(): number {
    let n = 0;
    for (const b of this.batches) n += b.bySku.size;
    for (const f of this.unfinished) n += f.waiters.size;
    return n;
  }

  /** True while anything waits for or sits in a feed. */
  get active(): boolean {
    return this.batches.length > 0 || this.unfinished.size > 0;
  }

  /**
   * Queues one SKU's change for the next feed; resolves when that feed's report says what became
   * of it. An abort before the feed is submitted takes the message out; after, it only stops waiting.
   */
  submit(message: ListingsFeedMessageInput, signal?: AbortSignal): Promise<SubmitResult> {
    if (this.stopped) return Promise.reject(new RetryableError('the Amazon feed queue is stopped'));
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<SubmitResult>((resolve, reject) => {
      const onAbort = () => {
        for (const b of this.batches) if (b.bySku.get(message.sku) === waiter) b.bySku.delete(message.sku);
        this.dropEmptyBatches();
        waiter.reject(signal?.reason);
      };
      const waiter: Waiter = {
        message,
        settled: false,
        resolve: (r) => {
          if (waiter.settled) return;
          waiter.settled = true;
          signal?.removeEventListener('abort', onAbort);
          resolve(r);
        },
        reject: (e) => {
          if (waiter.settled) return;
          waiter.settled = true;
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.enqueue(waiter);
      this.ensureLoop();
      this.wake();
    });
  }

  /** Stops the loop; every waiter not yet answered gets a RetryableError (sent again after restart). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.loop;
    const err = new RetryableError('stopped before the Amazon feed was answered');
    for (const b of this.batches.splice(0)) for (const w of b.bySku.values()) w.reject(err);
    for (const f of this.unfinished) for (const w of f.waiters.values()) w.reject(err);
    this.unfinished.clear();
  }

  // ---------------------------------------------------------------------------------------------

  private enqueue(waiter: Waiter): void {
    const sku = waiter.message.sku;
    // The same SKU twice in one feed is refused by Amazon; the newer change replaces the older,
    // whose submitter is told to send again (it would have been superseded anyway).
    for (const b of this.batches) {
      const older = b.bySku.get(sku);
      if (older) {
        b.bySku.set(sku, waiter);
        older.reject(new RetryableError(`a newer change of ${sku} replaced this one in the feed`));
        return;
      }
    }
    let last = this.batches.at(-1);
    if (!last || last.bySku.size >= this.maxMessages) {
      last = { firstAt: this.opts.clock.now(), bySku: new Map() };
      this.batches.push(last);
    }
    last.bySku.set(sku, waiter);
  }

  private dropEmptyBatches(): void {
    for (let i = this.batches.length - 1; i >= 0; i--) {
      if (this.batches[i]!.bySku.size === 0) this.batches.splice(i, 1);
    }
  }

  private ensureLoop(): void {
    this.loop ??= this.run().finally(() => {
      this.loop = undefined;
      if (!this.stopped && this.active) this.ensureLoop();
    });
  }

  /** One loop per queue: sends batches when allowed, polls feeds when due, sleeps until the next. */
  private async run(): Promise<void> {
    while (!this.stopped && this.active) {
      const now = this.opts.clock.now();
      const sendAt = this.nextSendAt(now);
      if (sendAt !== undefined && sendAt <= now && !this.sending) {
        await this.sendHead();
        continue;
      }
      const due = [...this.unfinished].filter((f) => f.nextPollAt <= now);
      for (const f of due) await this.poll(f);
      if (due.length > 0) continue; // what they showed may let the next batch go
      const next = Math.min(
        sendAt ?? Number.POSITIVE_INFINITY,
        ...[...this.unfinished].map((f) => f.nextPollAt),
      );
      const wait = Number.isFinite(next) ? Math.max(1, next - this.opts.clock.now()) : this.pollMs;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        void this.opts.clock.sleep(wait).then(resolve);
      });
      this.wake = () => {};
    }
  }

  /** When the head batch may go: full or lingered, a free slot at Amazon and in the window. */
  private nextSendAt(now: number): number | undefined {
    const head = this.batches[0];
    if (!head || head.bySku.size === 0) return undefined;
    if (this.unfinished.size >= this.maxUnfinished) return undefined; // woken by a finished feed
    const full = head.bySku.size >= this.maxMessages || this.batches.length > 1;
    let at: number;
    if (full) at = now;
    else if ([...this.unfinished].every((f) => f.started)) at = head.firstAt + this.lingerMs;
    else at = head.firstAt + this.maxBatchAgeMs;
    // A little more than the window: our clock and Amazon's do not count the same instant.
    const windowMs = this.submissions.windowMs * 1.02 + 1000;
    this.submittedAt = this.submittedAt.filter((t) => t > now - windowMs);
    if (this.submittedAt.length >= this.submissions.max) {
      at = Math.max(at, this.submittedAt[0]! + windowMs);
    }
    return at;
  }

  private async sendHead(): Promise<void> {
    const batch = this.batches.shift();
    if (!batch) return;
    const waiters = [...batch.bySku.values()].filter((w) => !w.settled);
    if (waiters.length === 0) return;
    this.sending = true;
    try {
      let doc: ListingsFeedDocument;
      try {
        doc = buildListingsFeed(
          this.opts.sellerId,
          waiters.map((w) => w.message),
          this.opts.build,
        );
      } catch (err) {
        // A message the builder refuses is the submitter's fault; the others go in the next feed.
        for (const w of waiters) w.reject(err);
        return;
      }
      const { feedId } = await this.opts.feeds.submitListingsFeed(doc, { priority: 'price' });
      const now = this.opts.clock.now();
      // Amazon counts the submission when createFeed arrives: the end of submitListingsFeed.
      this.submittedAt.push(now);
      this.stats.feedsSubmitted++;
      this.stats.messagesSubmitted += waiters.length;
      this.unfinished.add({
        feedId,
        started: false,
        submittedAt: now,
        nextPollAt: now + this.pollMs,
        messages: messagesById(doc),
        waiters: new Map(waiters.map((w) => [w.message.sku, w])),
      });
      this.opts.logger?.info({ feedId, messages: waiters.length }, 'Amazon listings feed submitted');
    } catch (err) {
      // Nothing reached Amazon that we know of: the machine retries each SKU with its own backoff.
      this.opts.logger?.warn({ error: errorSummary(err), messages: waiters.length }, 'feed not submitted');
      const retry =
        err instanceof RetryableError || err instanceof TerminalError
          ? err
          : new RetryableError(`feed submission failed: ${errorSummary(err)}`, { cause: err });
      for (const w of waiters) w.reject(retry);
    } finally {
      this.sending = false;
    }
  }

  private async poll(f: SubmittedFeed): Promise<void> {
    const now = this.opts.clock.now();
    f.nextPollAt = now + this.pollMs;
    let feed: Feed;
    try {
      feed = await this.opts.feeds.getFeed(f.feedId);
    } catch (err) {
      if (err instanceof TerminalError) return this.finish(f, null, err);
      return this.giveUpIfStuck(f, `getFeed failed: ${errorSummary(err)}`);
    }
    switch (feed.processingStatus) {
      case 'IN_QUEUE':
      case 'IN_PROGRESS':
        if (feed.processingStatus === 'IN_PROGRESS' && !f.started) {
          f.started = true;
          this.wake(); // the next batch may go now, to wait its turn while this one is processed
        }
        return this.giveUpIfStuck(f, `still ${feed.processingStatus}`);
      case 'CANCELLED':
        return this.finish(f, null, new RetryableError(`feed ${f.feedId} was cancelled; sending again`));
      case 'DONE':
      case 'FATAL': {
        let outcomes: Map<string, FeedSkuOutcome> | null = null;
        try {
          const report = await this.opts.feeds.getProcessingReport(feed);
          if (report !== null) outcomes = mapProcessingReport(report, f.messages);
        } catch (err) {
          if (!(err instanceof TerminalError)) {
            return this.giveUpIfStuck(f, `processing report not read: ${errorSummary(err)}`);
          }
          this.opts.logger?.warn({ feedId: f.feedId, error: errorSummary(err) }, 'unusable feed report');
        }
        return this.finish(
          f,
          outcomes,
          new RetryableError(`feed ${f.feedId} ended ${feed.processingStatus} without a usable report`),
        );
      }
    }
  }

  private giveUpIfStuck(f: SubmittedFeed, why: string): void {
    if (this.opts.clock.now() - f.submittedAt < this.stuckAfterMs) return;
    const minutes = Math.round(this.stuckAfterMs / 60_000);
    this.opts.logger?.warn(
      { feedId: f.feedId, messages: f.waiters.size },
      'feed given up on; SKUs sent again',
    );
    this.finish(
      f,
      null,
      new RetryableError(`feed ${f.feedId} not finished after ${minutes} min (${why}); sending again`),
    );
  }

  /** Answers every waiter of a feed: by its report outcome, or with `otherwise`. */
  private finish(f: SubmittedFeed, outcomes: Map<string, FeedSkuOutcome> | null, otherwise: Error): void {
    this.unfinished.delete(f);
    for (const [sku, w] of f.waiters) {
      const o = outcomes?.get(sku);
      if (!o) {
        this.stats.messagesRetried++;
        w.reject(otherwise);
        continue;
      }
      const issues: ListingIssue[] = o.issues.map((i) => {
        const issue: ListingIssue = { code: i.code, message: i.message, severity: i.severity };
        if (i.attributeName) issue.attributeNames = [i.attributeName];
        return issue;
      });
      if (o.status === 'invalid') {
        this.stats.messagesInvalid++;
        w.resolve({ status: 'invalid', issues });
      } else {
        this.stats.messagesApplied++;
        w.resolve(issues.length > 0 ? { status: 'applied', issues } : { status: 'applied' });
      }
    }
    this.opts.logger?.info({ feedId: f.feedId, ...this.stats }, 'Amazon listings feed answered');
    this.wake();
  }
}
