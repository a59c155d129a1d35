/**
 * Collects single-SKU requests from many callers into one batch call (Flipkart's listing calls
 * take up to 10 SKUs). A batch is sent when it is full or `windowMs` after its first request;
 * each caller gets the answer for its own SKU.
 *
 * Contract:
 *  - a SKU is at most once per batch (the body is a map keyed by SKU): a second request for a SKU
 *    already waiting sends the waiting batch at once and starts a new one;
 *  - batches holding the same SKU are sent one after the other, in submission order;
 *  - a failed call (transport, 429, 5xx, 4xx) rejects every caller of that batch with the
 *    classified error; a SKU missing from the answer rejects its caller with a RetryableError
 *    (outcome unknown, the write is idempotent);
 *  - a caller's abort before its batch is sent removes it from the batch; after, it only stops
 *    waiting (the others still need the call).
 */
import type { Clock } from '../../core/clock.js';
import { classify, RetryableError } from '../../core/errors.js';

export type SendBatch<I, R> = (items: I[], priority: number) => Promise<Map<string, R>>;

interface Waiter<I, R> {
  sku: string;
  item: I;
  priority: number;
  sent: boolean;
  settled: boolean;
  resolve: (r: R) => void;
  reject: (err: unknown) => void;
}

interface OpenBatch<I, R> {
  waiters: Waiter<I, R>[];
  skus: Set<string>;
  timer: AbortController;
}

export interface BatcherOptions {
  clock: Clock;
  windowMs: number;
  maxSize: number;
}

export class Batcher<I, R> {
  private open: OpenBatch<I, R> | null = null;
  /** SKU → completion of the last batch sent with it. Never rejects. */
  private readonly inflight = new Map<string, Promise<void>>();
  private calls = 0;

  constructor(
    readonly name: string,
    private readonly send: SendBatch<I, R>,
    private readonly opts: BatcherOptions,
  ) {}

  /** Batch calls made so far (metrics, tests). */
  get callCount(): number {
    return this.calls;
  }

  /** Requests waiting for their batch to be sent. */
  get waiting(): number {
    return this.open?.waiters.length ?? 0;
  }

  submit(sku: string, item: I, priority: number, signal?: AbortSignal): Promise<R> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<R>((resolve, reject) => {
      if (this.open?.skus.has(sku)) this.flush(this.open);
      const batch = this.open ?? this.start();
      let onAbort: (() => void) | undefined;
      const settle = () => {
        w.settled = true;
        if (onAbort) signal?.removeEventListener('abort', onAbort);
      };
      const w: Waiter<I, R> = {
        sku,
        item,
        priority,
        sent: false,
        settled: false,
        resolve: (r) => {
          if (w.settled) return;
          settle();
          resolve(r);
        },
        reject: (err) => {
          if (w.settled) return;
          settle();
          reject(err);
        },
      };
      if (signal) {
        onAbort = () => {
          if (!w.sent) {
            batch.waiters = batch.waiters.filter((x) => x !== w);
            batch.skus.delete(sku);
          }
          w.reject(signal.reason);
        };
        signal.addEventListener('abort', onAbort, { once: true });
      }
      batch.waiters.push(w);
      batch.skus.add(sku);
      if (batch.waiters.length >= this.opts.maxSize) this.flush(batch);
    });
  }

  /** Sends the waiting batch now (shutdown, tests). */
  flushNow(): void {
    if (this.open) this.flush(this.open);
  }

  private start(): OpenBatch<I, R> {
    const batch: OpenBatch<I, R> = { waiters: [], skus: new Set(), timer: new AbortController() };
    this.open = batch;
    this.opts.clock.sleep(this.opts.windowMs, batch.timer.signal).then(
      () => this.flush(batch),
      () => {},
    );
    return batch;
  }

  private flush(batch: OpenBatch<I, R>): void {
    if (this.open !== batch) return; // already sent
    this.open = null;
    batch.timer.abort();
    const waiters = batch.waiters.filter((w) => !w.settled);
    if (waiters.length === 0) return;
    for (const w of waiters) w.sent = true;
    const priority = Math.min(...waiters.map((w) => w.priority));
    const previous = [...new Set(waiters.map((w) => this.inflight.get(w.sku)))].filter(
      (p): p is Promise<void> => p !== undefined,
    );
    const done = (async () => {
      await Promise.all(previous);
      this.calls++;
      try {
        const results = await this.send(
          waiters.map((w) => w.item),
          priority,
        );
        for (const w of waiters) {
          if (results.has(w.sku)) w.resolve(results.get(w.sku) as R);
          else {
            w.reject(
              new RetryableError(
                `${this.name}: the answer has no result for SKU ${JSON.stringify(w.sku)} (outcome unknown)`,
              ),
            );
          }
        }
      } catch (err) {
        const classified = classify(err);
        for (const w of waiters) w.reject(classified);
      }
    })();
    for (const w of waiters) {
      this.inflight.set(w.sku, done);
      void done.then(() => {
        if (this.inflight.get(w.sku) === done) this.inflight.delete(w.sku);
      });
    }
  }
}
