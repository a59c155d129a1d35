/**
 * Micro-batching of concurrent submissions into one marketplace call, shared by the slices whose
 * APIs take several SKUs per call (Flipkart: 10 SKUs, Tata CliQ: a list of items).
 *
 * Submissions that arrive within `windowMs` of the first one share a call of at most `maxItems`
 * items; a full batch goes at once. Each submitter gets the outcomes of its own items; a failed
 * call rejects every submitter of that batch with the sender's error.
 *
 * Order per key: a batch never holds the same key twice (a second submission for a key closes the
 * open batch and starts the next one), and a batch waits until every earlier batch sharing one of
 * its keys has been answered, so two changes of one SKU reach the marketplace in submission order.
 *
 * Abort: a submitter's abort before its batch is sent takes its items out of the batch; after, it
 * only stops waiting (the others still need the call). Either way it rejects with the signal's reason.
 */
import type { Clock } from '../core/clock.js';

export interface MicroBatcherOptions<I, O> {
  /** Names the batcher in errors and metrics (e.g. `flipkart:updatePrice`). Default 'batch'. */
  name?: string;
  /** Items per call. A submission larger than this is sent alone (the sender may split it). */
  maxItems: number;
  /** How long the first submission waits for company. 0: only submissions of the same tick. */
  windowMs: number;
  clock: Clock;
  /** Sends one batch; returns one outcome per item, in order. */
  send(items: I[], priority: number): Promise<O[]>;
}

interface Entry<I, O> {
  keys: string[];
  items: I[];
  priority: number;
  settled: boolean;
  resolve(outcomes: O[]): void;
  reject(err: unknown): void;
}

interface OpenBatch<I, O> {
  entries: Entry<I, O>[];
  count: number;
  keys: Set<string>;
  closed: boolean;
  timer: AbortController;
}

interface InFlight {
  keys: Set<string>;
  done: Promise<void>;
}

export class MicroBatcher<I, O> {
  readonly name: string;
  private open: OpenBatch<I, O> | null = null;
  private readonly inFlight = new Set<InFlight>();
  /**
   * Per key, the `done` of the latest in-flight batch holding it. That batch waits for the earlier
   * ones sharing the key, so waiting for it alone keeps the order per key.
   */
  private readonly latest = new Map<string, Promise<void>>();
  private calls = 0;

  constructor(private readonly opts: MicroBatcherOptions<I, O>) {
    if (!Number.isInteger(opts.maxItems) || opts.maxItems < 1) {
      throw new RangeError(`maxItems must be >= 1, got ${opts.maxItems}`);
    }
    this.name = opts.name ?? 'batch';
  }

  /** Batch calls made so far (metrics, tests). */
  get callCount(): number {
    return this.calls;
  }

  /** Items waiting in the open batch (metrics, tests). */
  get waiting(): number {
    return this.open?.count ?? 0;
  }

  /** Batches sent and not yet answered (metrics, tests). */
  get pending(): number {
    return this.inFlight.size;
  }

  /**
   * Queues `items` (one submitter; `keys` are what must not be in one batch twice, e.g. its SKU)
   * and resolves with their outcomes. An abort before the answer rejects with the signal's reason;
   * before sending, the items are also taken out of the batch.
   */
  submit(keys: string[], items: I[], priority: number, signal?: AbortSignal): Promise<O[]> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (items.length === 0) return Promise.resolve([]);
    let batch = this.open;
    if (batch && (keys.some((k) => batch?.keys.has(k)) || batch.count + items.length > this.opts.maxItems)) {
      this.close(batch);
      batch = null;
    }
    const target = batch ?? this.openBatch();
    return new Promise<O[]>((resolve, reject) => {
      const onAbort = () => {
        if (entry.settled) return;
        if (!target.closed) this.remove(target, entry);
        entry.reject(signal?.reason);
      };
      const entry: Entry<I, O> = {
        keys,
        items,
        priority,
        settled: false,
        resolve: (o) => {
          if (entry.settled) return;
          entry.settled = true;
          signal?.removeEventListener('abort', onAbort);
          resolve(o);
        },
        reject: (e) => {
          if (entry.settled) return;
          entry.settled = true;
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      target.entries.push(entry);
      target.count += items.length;
      for (const k of keys) target.keys.add(k);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (target.count >= this.opts.maxItems) this.close(target);
    });
  }

  /** One item under one key (e.g. a SKU); resolves with its outcome. */
  async submitOne(key: string, item: I, priority: number, signal?: AbortSignal): Promise<O> {
    const [outcome] = await this.submit([key], [item], priority, signal);
    return outcome as O;
  }

  /** Sends the open batch now and waits until every batch has been answered (shutdown, tests). */
  async flush(): Promise<void> {
    if (this.open) this.close(this.open);
    await Promise.allSettled([...this.inFlight].map((f) => f.done));
  }

  /** Closes a batch and sends it (after earlier batches sharing a key have been answered). */
  private close(batch: OpenBatch<I, O>): void {
    if (batch.closed) return;
    batch.closed = true;
    batch.timer.abort();
    if (this.open === batch) this.open = null;
    const entries = batch.entries.filter((e) => !e.settled);
    if (entries.length === 0) return;
    const keys = new Set(entries.flatMap((e) => e.keys));
    const earlier = new Set<Promise<void>>();
    for (const k of keys) {
      const done = this.latest.get(k);
      if (done) earlier.add(done);
    }
    const flight: InFlight = { keys, done: this.run(entries, [...earlier]) };
    this.inFlight.add(flight);
    for (const k of keys) this.latest.set(k, flight.done);
    void flight.done.finally(() => {
      this.inFlight.delete(flight);
      for (const k of flight.keys) if (this.latest.get(k) === flight.done) this.latest.delete(k);
    });
  }

  private async run(entries: Entry<I, O>[], earlier: Promise<void>[]): Promise<void> {
    if (earlier.length > 0) await Promise.allSettled(earlier);
    const live = entries.filter((e) => !e.settled);
    if (live.length === 0) return;
    const items = live.flatMap((e) => e.items);
    const priority = Math.min(...live.map((e) => e.priority));
    this.calls++;
    try {
      const outcomes = await this.opts.send(items, priority);
      if (outcomes.length !== items.length) {
        throw new Error(
          `${this.name}: batch sender returned ${outcomes.length} outcomes for ${items.length} items`,
        );
      }
      let at = 0;
      for (const e of live) {
        e.resolve(outcomes.slice(at, at + e.items.length));
        at += e.items.length;
      }
    } catch (err) {
      for (const e of live) e.reject(err);
    }
  }

  private openBatch(): OpenBatch<I, O> {
    const batch: OpenBatch<I, O> = {
      entries: [],
      count: 0,
      keys: new Set(),
      closed: false,
      timer: new AbortController(),
    };
    this.open = batch;
    if (this.opts.windowMs <= 0) {
      queueMicrotask(() => this.close(batch));
    } else {
      this.opts.clock.sleep(this.opts.windowMs, batch.timer.signal).then(
        () => this.close(batch),
        () => {},
      );
    }
    return batch;
  }

  private remove(batch: OpenBatch<I, O>, entry: Entry<I, O>): void {
    batch.entries = batch.entries.filter((e) => e !== entry);
    batch.count -= entry.items.length;
    batch.keys = new Set(batch.entries.flatMap((e) => e.keys));
  }
}
