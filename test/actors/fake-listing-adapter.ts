/**
 * A ListingAdapter of the same shape as the real ones, for runtime tests. It keeps what the
 * "marketplace" shows per SKU (shareable between adapters, so a restarted runtime talks to the
 * same marketplace), records every call with its timing, and can be told to fail, answer
 * differently, slow down, or hold a call until released.
 */
import type {
  ListingChange,
  ListingDraft,
  ListingReadback,
  MarketplaceId,
  SubmitResult,
} from '../../src/domain/types.js';
import type { CallOptions, ListingAdapter } from '../../src/marketplaces/types.js';

export type FakeOp = 'upsert' | 'update' | 'delist' | 'read';

export interface FakeCall {
  op: FakeOp;
  sku: string;
  /** The draft, change or nothing (delist, read), as received. */
  args: ListingDraft | ListingChange | undefined;
  priority: CallOptions['priority'];
  /** Set when the call has returned or thrown. */
  settled: boolean;
  outcome: 'pending' | 'ok' | 'error' | 'aborted';
}

/** What the fake marketplace shows for one SKU. */
export interface Shown {
  price: number;
  mrp: number;
  quantity: number;
  buyable: boolean;
}

export interface Hold {
  /** Resolves when the held call has arrived. */
  readonly started: Promise<FakeCall>;
  /** Lets the held call go on (it then takes effect and answers). */
  release(): void;
}

function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

export class FakeListingAdapter implements ListingAdapter {
  readonly marketplace: MarketplaceId = 'amazon';
  readonly calls: FakeCall[] = [];
  /** How writes answer: `accepted` (confirm by read-back) or `applied`. */
  answer: 'accepted' | 'applied' = 'accepted';
  /** Real delay of every call, to make calls overlap in time. */
  delayMs = 0;
  /** Highest number of calls in flight at once, per SKU and over all SKUs. */
  maxInFlightPerSku = 0;
  maxInFlight = 0;
  private readonly inFlight = new Map<string, number>();
  private inFlightTotal = 0;
  private readonly failures: { op: FakeOp; error: Error }[] = [];
  private readonly holds: {
    op: FakeOp;
    started: (c: FakeCall) => void;
    gate: Promise<void>;
  }[] = [];

  constructor(readonly shown: Map<string, Shown> = new Map()) {}

  /** The next call of `op` throws `error` (queued: several may be set up). */
  failNext(op: FakeOp, error: Error): void {
    this.failures.push({ op, error });
  }

  /** The next call of `op` waits until released (or aborted by the caller's signal). */
  holdNext(op: FakeOp): Hold {
    const started = deferred<FakeCall>();
    const gate = deferred<void>();
    this.holds.push({ op, started: started.resolve, gate: gate.promise });
    return { started: started.promise, release: () => gate.resolve() };
  }

  callsOf(op: FakeOp, sku?: string): FakeCall[] {
    return this.calls.filter((c) => c.op === op && (sku === undefined || c.sku === sku));
  }

  /** Calls that write (everything but read-backs). */
  writes(sku?: string): FakeCall[] {
    return this.calls.filter((c) => c.op !== 'read' && (sku === undefined || c.sku === sku));
  }

  upsert(draft: ListingDraft, opts?: CallOptions): Promise<SubmitResult> {
    return this.run('upsert', draft.sku, draft, opts, () => {
      this.shown.set(draft.sku, {
        price: draft.price,
        mrp: draft.mrp,
        quantity: draft.quantity,
        buyable: true,
      });
      return this.submitted();
    });
  }

  update(change: ListingChange, opts?: CallOptions): Promise<SubmitResult> {
    return this.run('update', change.sku, change, opts, () => {
      const now = this.shown.get(change.sku);
      if (!now)
        return {
          status: 'invalid',
          issues: [{ code: 'NOT_FOUND', message: 'no such listing', severity: 'ERROR' }],
        };
      this.shown.set(change.sku, {
        ...now,
        price: change.price ?? now.price,
        mrp: change.mrp ?? now.mrp,
        quantity: change.quantity ?? now.quantity,
      });
      return this.submitted();
    });
  }

  delist(sku: string, opts?: CallOptions): Promise<SubmitResult> {
    return this.run('delist', sku, undefined, opts, () => {
      const now = this.shown.get(sku);
      if (now) this.shown.set(sku, { ...now, buyable: false });
      return this.submitted();
    });
  }

  read(sku: string, opts?: CallOptions): Promise<ListingReadback> {
    return this.run('read', sku, undefined, opts, () => {
      const now = this.shown.get(sku);
      if (!now) return { found: false };
      return { found: true, price: now.price, quantity: now.quantity, buyable: now.buyable };
    });
  }

  isDelisted(readback: ListingReadback): boolean {
    return !readback.found || readback.buyable === false;
  }

  private submitted(): SubmitResult {
    return this.answer === 'accepted'
      ? { status: 'accepted', submissionId: `sub-${this.calls.length}` }
      : { status: 'applied' };
  }

  private async run<T>(
    op: FakeOp,
    sku: string,
    args: FakeCall['args'],
    opts: CallOptions | undefined,
    takeEffect: () => T,
  ): Promise<T> {
    const call: FakeCall = { op, sku, args, priority: opts?.priority, settled: false, outcome: 'pending' };
    this.calls.push(call);
    const perSku = (this.inFlight.get(sku) ?? 0) + 1;
    this.inFlight.set(sku, perSku);
    this.inFlightTotal++;
    this.maxInFlightPerSku = Math.max(this.maxInFlightPerSku, perSku);
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlightTotal);
    try {
      const holdAt = this.holds.findIndex((h) => h.op === op);
      if (holdAt >= 0) {
        const [hold] = this.holds.splice(holdAt, 1);
        hold!.started(call);
        await abortable(hold!.gate, opts?.signal);
      }
      if (this.delayMs > 0) {
        await abortable(new Promise<void>((r) => setTimeout(r, this.delayMs)), opts?.signal);
      }
      const failAt = this.failures.findIndex((f) => f.op === op);
      if (failAt >= 0) {
        const [failure] = this.failures.splice(failAt, 1);
        throw failure!.error;
      }
      const result = takeEffect();
      call.outcome = 'ok';
      return result;
    } catch (err) {
      call.outcome = opts?.signal?.aborted ? 'aborted' : 'error';
      throw err;
    } finally {
      call.settled = true;
      this.inFlight.set(sku, (this.inFlight.get(sku) ?? 1) - 1);
      this.inFlightTotal--;
    }
  }
}

function abortable(p: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      (err) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
