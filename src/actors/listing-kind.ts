import { type AnyMachineSnapshot, fromPromise } from 'xstate';
import type { Clock } from '../core/clock.js';
import type { MarketplaceId } from '../domain/types.js';
import {
  type BackoffInput,
  type DelistListingInput,
  isAtRest,
  LISTING_MACHINE_VERSION,
  LISTING_REST_STATES,
  type ListingContext,
  listingMachine,
  listingStateName,
  migrateListingSnapshot,
  type ReadListingInput,
  type UpdateListingInput,
  type UpsertListingInput,
} from '../machines/index.js';
import type { ListingAdapter } from '../marketplaces/types.js';
import type { Sql } from '../persistence/database.js';
import { parseListingKey } from '../streams/routing.js';
import { backoffWait, effect } from './effects.js';
import type { ActorKind } from './runtime.js';

export interface ListingEffectsOptions {
  adapters: Partial<Record<MarketplaceId, ListingAdapter>>;
  clock: Clock;
  /** Backoff after the n-th transient failure: full jitter over base·2ⁿ, capped. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** First read-back after an ACCEPTED write waits this long, growing 1.5× per attempt. */
  verifyDelayMs: number;
  /** Jitter source, injectable for tests. */
  random?: () => number;
}

/** The listing machine with its effects: marketplace calls through the adapters, waits on the clock. */
export function listingKind(opts: ListingEffectsOptions): ActorKind {
  const random = opts.random ?? Math.random;
  const adapter = (m: MarketplaceId) => {
    const a = opts.adapters[m];
    if (!a) throw new Error(`marketplace ${m} is not enabled`);
    return a;
  };
  const logic = listingMachine.provide({
    actors: {
      upsertListing: fromPromise(({ input, signal }: { input: UpsertListingInput; signal: AbortSignal }) =>
        effect(() => adapter(input.marketplace).upsert(input.draft, { priority: input.priority, signal })),
      ),
      updateListing: fromPromise(({ input, signal }: { input: UpdateListingInput; signal: AbortSignal }) =>
        effect(() => {
          const { marketplace, priority, ...change } = input;
          return adapter(marketplace).update(change, { priority, signal });
        }),
      ),
      delistListing: fromPromise(({ input, signal }: { input: DelistListingInput; signal: AbortSignal }) =>
        effect(() => adapter(input.marketplace).delist(input.sku, { priority: input.priority, signal })),
      ),
      readListing: fromPromise(({ input, signal }: { input: ReadListingInput; signal: AbortSignal }) =>
        effect(async () => {
          const wait = Math.min(opts.retryMaxMs, opts.verifyDelayMs * 1.5 ** input.verifyAttempt);
          await opts.clock.sleep(wait, signal);
          return adapter(input.marketplace).read(input.sku, { priority: input.priority, signal });
        }),
      ),
      backoff: fromPromise(({ input, signal }: { input: BackoffInput; signal: AbortSignal }) =>
        backoffWait(opts, random, input, signal),
      ),
    },
  });

  return {
    prefix: 'listing',
    machine: 'listing',
    version: LISTING_MACHINE_VERSION,
    logic,
    restStates: LISTING_REST_STATES,
    input: (key) => parseListingKey(key),
    isAtRest: (s) => isAtRest(s),
    stateName: (s) => listingStateName(s),
    lastEventSeq: (s) => (s.context as ListingContext).lastEventSeq,
    writeReadModels: (tx, items) => writeListingRows(tx, items),
    migrateSnapshot: (stored, version) => migrateListingSnapshot(stored, version),
  };
}

/** The `listing` read model: one row per (sku, marketplace), rewritten with each snapshot. */
async function writeListingRows(
  tx: Sql,
  items: { key: string; snapshot: AnyMachineSnapshot }[],
): Promise<void> {
  const rows = items.map(({ snapshot }) => {
    const c = snapshot.context as ListingContext;
    return {
      sku: c.sku,
      marketplace: c.marketplace,
      state: listingStateName(snapshot),
      desired_price: c.desired.price,
      confirmed_price: c.confirmed.price,
      mrp: c.desired.mrp,
      desired_quantity: c.desired.quantity,
      confirmed_quantity: c.confirmed.quantity,
      last_error: c.lastError,
      issues: c.issues.length > 0 ? c.issues : null,
      coalesced_updates: c.coalesced,
      last_event_id: c.lastEventSeq,
    };
  });
  await tx.query(
    `insert into listing (sku, marketplace, state, desired_price, confirmed_price, mrp, desired_quantity,
                          confirmed_quantity, last_error, issues, coalesced_updates, last_event_id, updated_at)
     select r.sku, r.marketplace, r.state, r.desired_price, r.confirmed_price, r.mrp, r.desired_quantity,
            r.confirmed_quantity, r.last_error, r.issues, r.coalesced_updates, r.last_event_id, now()
     from jsonb_to_recordset(?::jsonb) as r(sku text, marketplace text, state text, desired_price numeric,
          confirmed_price numeric, mrp numeric, desired_quantity int, confirmed_quantity int, last_error text,
          issues jsonb, coalesced_updates int, last_event_id bigint)
     on conflict (sku, marketplace) do update set state = excluded.state, desired_price = excluded.desired_price,
       confirmed_price = excluded.confirmed_price, mrp = excluded.mrp, desired_quantity = excluded.desired_quantity,
       confirmed_quantity = excluded.confirmed_quantity, last_error = excluded.last_error, issues = excluded.issues,
       coalesced_updates = excluded.coalesced_updates, last_event_id = excluded.last_event_id,
       updated_at = excluded.updated_at`,
    [JSON.stringify(rows)],
  );
}
