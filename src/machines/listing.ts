/**
 * The listing machine: one actor per (marketplace, sku).
 *
 * It keeps what the OMS wants (`desired`) apart from what the marketplace has shown us
 * (`confirmed`), and makes one marketplace call at a time to close the gap. OMS events never
 * interrupt a call: they only move `desired`, and when the call is confirmed `decide` compares
 * again. A burst of changes during one call therefore costs at most one more call, carrying the
 * newest values (coalescing).
 *
 * Pure: effects are the invoked actors below, supplied by the runtime with
 * `.provide({ actors })`. No timers (`after:` delays are lost on snapshot restore; an invoked
 * `backoff` promise re-runs instead), no clock, no randomness. Context is plain JSON.
 */
import { assign, fromPromise, type SnapshotFrom, type StateValue, setup } from 'xstate';
import type {
  CallPriority,
  ListingDraft,
  ListingIssue,
  ListingReadback,
  LocationQuantity,
  MarketplaceId,
  ProductInfo,
  SubmitResult,
} from '../domain/types.js';

/**
 * Bump when the context or state shape changes. The runtime stores it next to each snapshot
 * (`listingMachine.version` is the same number as a string) to migrate older ones on load.
 */
export const LISTING_MACHINE_VERSION = 2;

export const DEFAULT_MAX_ATTEMPTS = 8;
export const DEFAULT_MAX_VERIFY_ATTEMPTS = 10;

export interface ListingInput {
  sku: string;
  marketplace: MarketplaceId;
  /** Transient failures of one call before `failed` (default 8). */
  maxAttempts?: number;
  /** Read-backs of one accepted call before it is considered lost and sent again (default 10). */
  maxVerifyAttempts?: number;
}

/** What the OMS wants. Each value remembers the instant (ISO-8601) of the event that set it. */
export interface DesiredListing {
  present: boolean;
  presentAt: string | null;
  product: ProductInfo | null;
  price: number | null;
  mrp: number | null;
  priceAt: string | null;
  quantity: number | null;
  quantityAt: string | null;
  /**
   * Stock per OMS location, each with the instant that set it (STOCK events naming a location).
   * Marketplaces with per-location stock use these; `quantity` stays the newest figure overall.
   */
  locations: Record<string, { quantity: number; at: string }>;
}

/**
 * What the marketplace has confirmed (read-back, or an `applied` answer). `product` and `mrp`
 * cannot be read back everywhere: they are the values of the last confirmed call.
 */
export interface ConfirmedListing {
  present: boolean;
  product: ProductInfo | null;
  price: number | null;
  mrp: number | null;
  quantity: number | null;
  /** Stock per OMS location as last sent and taken effect. */
  locations: Record<string, number>;
}

/** The call being made (from `sending` until it is confirmed, rejected or given up). */
export type InFlightCall =
  | { op: 'upsert'; product: ProductInfo; price: number; mrp: number; quantity: number }
  | { op: 'update'; price?: number; mrp?: number; quantity?: number; locations?: LocationQuantity[] }
  | { op: 'delist' };

/** Structurally the same as `FailureInfo` in src/core/errors.ts (machines import only xstate). */
export interface CallFailure {
  kind: 'retryable' | 'terminal';
  message: string;
  retryAfterMs?: number;
  throttled?: boolean;
  status?: number;
}

export interface ListingContext {
  sku: string;
  marketplace: MarketplaceId;
  maxAttempts: number;
  maxVerifyAttempts: number;
  desired: DesiredListing;
  confirmed: ConfirmedListing;
  inFlight: InFlightCall | null;
  /** Transient failures since the last confirmation (reset by a confirmation or a retry). */
  attempt: number;
  /** Read-backs done for the call in flight. */
  verifyAttempt: number;
  /** The marketplace's hint from the last retryable failure, for `backoff`. */
  retryAfterMs: number | null;
  lastError: string | null;
  /** Issues from the last marketplace answer (all of them on INVALID). */
  issues: ListingIssue[];
  /** OMS price/stock events that replaced a value not sent yet while a call was in flight. */
  coalesced: number;
  /** OMS events that changed nothing because they were older than what they would overwrite. */
  staleIgnored: number;
  /** The highest `seq` of the OMS events applied (0 before any). */
  lastEventSeq: number;
}

/** Every OMS event carries its sequence number and when it happened in the OMS. */
interface OmsEventMeta {
  seq: number;
  /** ISO-8601 with offset; compared as instants. */
  occurredAt: string;
}
export interface ListEvent extends OmsEventMeta {
  type: 'LIST';
  product: ProductInfo;
  price: number;
  mrp: number;
  quantity: number;
}
export interface UnlistEvent extends OmsEventMeta {
  type: 'UNLIST';
}
export interface PriceEvent extends OmsEventMeta {
  type: 'PRICE';
  price: number;
  mrp: number;
}
export interface StockEvent extends OmsEventMeta {
  type: 'STOCK';
  quantity: number;
  /** Informational: the quantity is the sellable total for this marketplace. */
  locationId?: string;
}
/** Ops: try again from `failed` or `rejected`. */
export interface RetryEvent extends OmsEventMeta {
  type: 'RETRY';
}
export type OmsListingEvent = ListEvent | UnlistEvent | PriceEvent | StockEvent;
export type ListingEvent = OmsListingEvent | RetryEvent;

// Inputs of the invoked actors. `priority` is the lane the runtime's limiter should use.
export interface UpsertListingInput {
  marketplace: MarketplaceId;
  sku: string;
  draft: ListingDraft;
  priority: CallPriority;
}
export interface UpdateListingInput {
  marketplace: MarketplaceId;
  sku: string;
  price?: number;
  mrp?: number;
  quantity?: number;
  locations?: LocationQuantity[];
  priority: CallPriority;
}
export interface DelistListingInput {
  marketplace: MarketplaceId;
  sku: string;
  priority: CallPriority;
}
export interface ReadListingInput {
  marketplace: MarketplaceId;
  sku: string;
  /** 0 for the first read-back of a call; the runtime waits longer as it grows. */
  verifyAttempt: number;
  priority: CallPriority;
}
export interface BackoffInput {
  /** Transient failures so far (1 after the first). */
  attempt: number;
  retryAfterMs: number | undefined;
}

/** The steps `decide` can choose: the working states and the states at rest. */
type Step = 'listing' | 'pending-price' | 'pending-stock' | 'delisting' | 'listed' | 'delisted' | 'unlisted';
type WorkingStep = 'listing' | 'pending-price' | 'pending-stock' | 'delisting';

// ---------------------------------------------------------------------------------------------
// Pure rules

const paise = (rupees: number): number => Math.round(rupees * 100);

function sameMoney(a: number | null | undefined, b: number | null | undefined): boolean {
  if (a == null || b == null) return a == null && b == null;
  return paise(a) === paise(b);
}

function sameCount(a: number | null | undefined, b: number | null | undefined): boolean {
  if (a == null || b == null) return a == null && b == null;
  return a === b;
}

/** Deep equality of JSON data; keys holding `undefined` count as absent (as after JSON). */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const ka = Object.keys(ra).filter((k) => ra[k] !== undefined);
  const kb = Object.keys(rb).filter((k) => rb[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => sameJson(ra[k], rb[k]));
}

/** True when `at` is strictly older than `than`. Equal instants apply (a later seq wins). */
function isOlder(at: string, than: string | null): boolean {
  return than !== null && Date.parse(at) < Date.parse(than);
}

interface AppliedEvent {
  desired: DesiredListing;
  /** False when every value the event carries is older than the one it would overwrite. */
  fresh: boolean;
}

function applyToDesired(desired: DesiredListing, event: OmsListingEvent): AppliedEvent {
  const next = { ...desired };
  const at = event.occurredAt;
  let fresh = false;
  if (event.type === 'LIST' || event.type === 'UNLIST') {
    if (!isOlder(at, next.presentAt)) {
      next.present = event.type === 'LIST';
      next.presentAt = at;
      if (event.type === 'LIST') next.product = event.product;
      fresh = true;
    }
  }
  if (event.type === 'LIST' || event.type === 'PRICE') {
    if (!isOlder(at, next.priceAt)) {
      next.price = event.price;
      next.mrp = event.mrp;
      next.priceAt = at;
      fresh = true;
    }
  }
  if (event.type === 'LIST' || event.type === 'STOCK') {
    if (!isOlder(at, next.quantityAt)) {
      next.quantity = event.quantity;
      next.quantityAt = at;
      fresh = true;
    }
  }
  if (event.type === 'STOCK' && event.locationId !== undefined) {
    const known = next.locations[event.locationId];
    if (!known || !isOlder(at, known.at)) {
      next.locations = { ...next.locations, [event.locationId]: { quantity: event.quantity, at } };
      fresh = true;
    }
  }
  return { desired: next, fresh };
}

/**
 * While a call is in flight, did this price/stock event replace a desired value that had not
 * been sent yet? The value that will be confirmed is the one in flight, or the confirmed one
 * when the call does not carry that field.
 */
function replacesUnsent(context: ListingContext, event: OmsListingEvent): boolean {
  const call = context.inFlight;
  if (call === null) return false;
  const { desired, confirmed } = context;
  if (event.type === 'PRICE') {
    const sentPrice = call.op !== 'delist' && call.price !== undefined ? call.price : confirmed.price;
    const sentMrp = call.op !== 'delist' && call.mrp !== undefined ? call.mrp : confirmed.mrp;
    return !sameMoney(desired.price, sentPrice) || !sameMoney(desired.mrp, sentMrp);
  }
  if (event.type === 'STOCK') {
    const sent = call.op !== 'delist' && call.quantity !== undefined ? call.quantity : confirmed.quantity;
    return !sameCount(desired.quantity, sent);
  }
  return false;
}

/** A full draft when the OMS has said enough to create the listing. */
function completeDraft(
  d: DesiredListing,
): { product: ProductInfo; price: number; mrp: number; quantity: number } | null {
  if (d.product === null || d.price === null || d.mrp === null || d.quantity === null) return null;
  return { product: d.product, price: d.price, mrp: d.mrp, quantity: d.quantity };
}

function priceDiffers(d: DesiredListing, c: ConfirmedListing): boolean {
  return (d.price !== null && !sameMoney(d.price, c.price)) || (d.mrp !== null && !sameMoney(d.mrp, c.mrp));
}

/** Locations whose desired stock has not taken effect on the marketplace. */
function locationChanges(d: DesiredListing, c: ConfirmedListing): LocationQuantity[] {
  return Object.entries(d.locations)
    .filter(([id, l]) => c.locations[id] !== l.quantity)
    .map(([locationId, l]) => ({ locationId, quantity: l.quantity }))
    .sort((a, b) => a.locationId.localeCompare(b.locationId));
}

function quantityDiffers(d: DesiredListing, c: ConfirmedListing): boolean {
  return (d.quantity !== null && !sameCount(d.quantity, c.quantity)) || locationChanges(d, c).length > 0;
}

/**
 * The stock fields of an update: the total where it differs, and, when any location differs, the
 * whole breakdown (per-location marketplaces lay out all their locations from it).
 */
function stockFields(
  d: DesiredListing,
  c: ConfirmedListing,
): { quantity?: number; locations?: LocationQuantity[] } {
  const fields: { quantity?: number; locations?: LocationQuantity[] } = {};
  if (d.quantity !== null && !sameCount(d.quantity, c.quantity)) fields.quantity = d.quantity;
  if (locationChanges(d, c).length > 0) {
    fields.locations = Object.entries(d.locations)
      .map(([locationId, l]) => ({ locationId, quantity: l.quantity }))
      .sort((a, b) => a.locationId.localeCompare(b.locationId));
  }
  return fields;
}

/** Where the listing should go next, from desired vs confirmed. */
function nextStep(context: ListingContext): Step {
  const { desired: d, confirmed: c } = context;
  // Absent and never confirmed as created: nothing of ours is on the marketplace.
  const absent: Step = c.product !== null ? 'delisted' : 'unlisted';
  if (!d.present) return c.present ? 'delisting' : absent;
  if (!c.present || !sameJson(d.product, c.product)) {
    if (completeDraft(d) !== null) return 'listing';
    if (!c.present) return absent;
  }
  if (priceDiffers(d, c)) return 'pending-price';
  if (quantityDiffers(d, c)) return 'pending-stock';
  return 'listed';
}

/** What a working state sends, from the desired values at the moment it sends. */
function planCall(step: WorkingStep, context: ListingContext): InFlightCall {
  const { desired: d, confirmed: c } = context;
  switch (step) {
    case 'listing': {
      const draft = completeDraft(d);
      // `decide` (and the guard before a resend) only choose `listing` with a complete draft.
      if (draft === null) throw new Error(`listing machine: no complete draft for ${context.sku}`);
      return { op: 'upsert', ...draft };
    }
    case 'pending-price': {
      const call: InFlightCall = { op: 'update' };
      if (d.price !== null) call.price = d.price;
      if (d.mrp !== null) call.mrp = d.mrp;
      return { ...call, ...stockFields(d, c) };
    }
    case 'pending-stock':
      return { op: 'update', ...stockFields(d, c) };
    case 'delisting':
      return { op: 'delist' };
    default: {
      const unreachable: never = step;
      throw new Error(`listing machine: unknown step ${String(unreachable)}`);
    }
  }
}

/** Limiter lane: stock to zero and delists first, then stock (and creates), then price. */
function priorityOf(call: InFlightCall): CallPriority {
  if (call.op === 'delist') return 'urgent';
  if (call.op === 'upsert') return call.quantity === 0 ? 'urgent' : 'stock';
  if (call.quantity === 0 || call.locations?.some((l) => l.quantity === 0)) return 'urgent';
  return call.quantity !== undefined || call.locations !== undefined ? 'stock' : 'price';
}

/** The confirmed state once `call` has taken effect. */
function confirmedAfter(confirmed: ConfirmedListing, call: InFlightCall): ConfirmedListing {
  switch (call.op) {
    case 'upsert':
      return {
        present: true,
        product: call.product,
        price: call.price,
        mrp: call.mrp,
        quantity: call.quantity,
        locations: confirmed.locations,
      };
    case 'update':
      return {
        ...confirmed,
        price: call.price ?? confirmed.price,
        mrp: call.mrp ?? confirmed.mrp,
        quantity: call.quantity ?? confirmed.quantity,
        locations: {
          ...confirmed.locations,
          ...Object.fromEntries((call.locations ?? []).map((l) => [l.locationId, l.quantity])),
        },
      };
    case 'delist':
      // Nothing sellable any more, anywhere.
      return {
        ...confirmed,
        present: false,
        quantity: 0,
        locations: Object.fromEntries(Object.keys(confirmed.locations).map((id) => [id, 0])),
      };
    default: {
      const unreachable: never = call;
      throw new Error(`listing machine: unknown call ${JSON.stringify(unreachable)}`);
    }
  }
}

/** The confirmed state when `call` may or may not have taken effect: its values become unknown. */
function forgetSent(confirmed: ConfirmedListing, call: InFlightCall | null): ConfirmedListing {
  if (call === null || call.op === 'delist') return confirmed;
  return {
    ...confirmed,
    price: call.price !== undefined ? null : confirmed.price,
    mrp: call.mrp !== undefined ? null : confirmed.mrp,
    quantity: call.quantity !== undefined ? null : confirmed.quantity,
    locations: Object.fromEntries(
      Object.entries(confirmed.locations).filter(
        ([id]) => call.op !== 'update' || !call.locations?.some((l) => l.locationId === id),
      ),
    ),
  };
}

/**
 * Does the read-back show what the call sent? Only the fields sent are compared (price in
 * paise). A created listing must also be buyable (unless created with no stock): a listing we
 * delisted earlier may still show the old price and quantity while not buyable.
 */
function readbackShows(call: InFlightCall, rb: ListingReadback): boolean {
  switch (call.op) {
    case 'delist':
      return rb.buyable === false || rb.found === false;
    case 'upsert':
      return (
        rb.found &&
        (rb.buyable !== false || call.quantity === 0) &&
        sameMoney(call.price, rb.price) &&
        sameCount(call.quantity, rb.quantity)
      );
    case 'update':
      return (
        rb.found &&
        (call.price === undefined || sameMoney(call.price, rb.price)) &&
        (call.quantity === undefined || sameCount(call.quantity, rb.quantity))
      );
    default: {
      const unreachable: never = call;
      throw new Error(`listing machine: unknown call ${JSON.stringify(unreachable)}`);
    }
  }
}

/** What invoked actors reject with should be a FailureInfo; anything else counts as retryable. */
function toFailure(error: unknown): CallFailure {
  if (typeof error === 'object' && error !== null && 'kind' in error) {
    const kind = error.kind;
    if (kind === 'retryable' || kind === 'terminal') {
      const e = error as Partial<CallFailure>;
      const failure: CallFailure = { kind, message: typeof e.message === 'string' ? e.message : kind };
      if (typeof e.retryAfterMs === 'number') failure.retryAfterMs = e.retryAfterMs;
      if (e.throttled === true) failure.throttled = true;
      if (typeof e.status === 'number') failure.status = e.status;
      return failure;
    }
  }
  return { kind: 'retryable', message: error instanceof Error ? error.message : String(error) };
}

function describeIssues(issues: ListingIssue[]): string {
  if (issues.length === 0) return 'invalid (no issues given)';
  return issues.map((i) => `${i.code}: ${i.message}`).join('; ');
}

function requireInFlight(context: ListingContext): InFlightCall {
  if (context.inFlight === null) throw new Error(`listing machine: no call in flight for ${context.sku}`);
  return context.inFlight;
}

function notProvided(name: string): () => Promise<never> {
  return async () => {
    throw new Error(`listing machine: actor '${name}' not provided`);
  };
}

// ---------------------------------------------------------------------------------------------
// The machine

const afterCall = {
  inFlight: null,
  attempt: 0,
  verifyAttempt: 0,
  retryAfterMs: null,
} as const;

const machineSetup = setup({
  types: {
    context: {} as ListingContext,
    events: {} as ListingEvent,
    input: {} as ListingInput,
  },
  actors: {
    upsertListing: fromPromise<SubmitResult, UpsertListingInput>(notProvided('upsertListing')),
    updateListing: fromPromise<SubmitResult, UpdateListingInput>(notProvided('updateListing')),
    delistListing: fromPromise<SubmitResult, DelistListingInput>(notProvided('delistListing')),
    readListing: fromPromise<ListingReadback, ReadListingInput>(notProvided('readListing')),
    backoff: fromPromise<void, BackoffInput>(notProvided('backoff')),
  },
  guards: {
    /** The OMS event carries at least one value newer than the one it would overwrite. */
    eventIsFresh: ({ context, event }) =>
      event.type !== 'RETRY' && applyToDesired(context.desired, event).fresh,
    nextStepIs: ({ context }, params: { step: Step }) => nextStep(context) === params.step,
    isAccepted: (_, params: { result: SubmitResult }) => params.result.status === 'accepted',
    isApplied: (_, params: { result: SubmitResult }) => params.result.status === 'applied',
    /** Throttling says "slower", not "broken": it is waited out, never counted towards failing. */
    canRetry: ({ context }, params: { failure: CallFailure }) =>
      params.failure.kind === 'retryable' &&
      (params.failure.throttled === true || context.attempt + 1 < context.maxAttempts),
    isTerminal: (_, params: { failure: CallFailure }) => params.failure.kind === 'terminal',
    readbackConfirms: ({ context }, params: { readback: ListingReadback }) =>
      readbackShows(requireInFlight(context), params.readback),
    canVerifyAgain: ({ context }) => context.verifyAttempt + 1 < context.maxVerifyAttempts,
    canResend: ({ context }) => context.attempt + 1 < context.maxAttempts,
  },
  actions: {
    /** Records an OMS event in `desired`; never interrupts a call in flight. */
    applyOmsEvent: assign(({ context, event }) => {
      const lastEventSeq = Math.max(context.lastEventSeq, event.seq);
      if (event.type === 'RETRY') return { lastEventSeq };
      const { desired, fresh } = applyToDesired(context.desired, event);
      if (!fresh) return { lastEventSeq, staleIgnored: context.staleIgnored + 1 };
      const coalesced = replacesUnsent(context, event) ? context.coalesced + 1 : context.coalesced;
      return { lastEventSeq, desired, coalesced };
    }),
    /** Leaving `failed`/`rejected` (RETRY or a newer OMS event): a fresh budget of attempts. */
    resetAttempts: assign({ attempt: 0, verifyAttempt: 0, retryAfterMs: null, lastError: null }),
    startCall: assign(({ context }, params: { step: WorkingStep }) => ({
      inFlight: planCall(params.step, context),
      verifyAttempt: 0,
    })),
    recordSubmit: assign((_, params: { result: SubmitResult }) => ({ issues: params.result.issues ?? [] })),
    /** The call took effect: what it sent is now confirmed. */
    confirmCall: assign(({ context }) => ({
      confirmed: confirmedAfter(context.confirmed, requireInFlight(context)),
      lastError: null,
      ...afterCall,
    })),
    /** INVALID: nothing applied; desired stays as it is until the OMS sends something newer. */
    recordRejection: assign((_, params: { issues: ListingIssue[] }) => ({
      issues: params.issues,
      lastError: describeIssues(params.issues),
      ...afterCall,
    })),
    recordFailure: assign(({ context }, params: { failure: CallFailure }) => ({
      attempt: context.attempt + 1,
      lastError: params.failure.message,
      retryAfterMs: params.failure.retryAfterMs ?? null,
    })),
    /**
     * The call is given up (`failed`): nothing is in flight any more, and the values it carried
     * are no longer known on the marketplace (it may have applied them), so `decide` sends them
     * again on RETRY or the next OMS event.
     */
    abandonCall: assign(({ context }) => ({
      confirmed: forgetSent(context.confirmed, context.inFlight),
      inFlight: null,
      verifyAttempt: 0,
      retryAfterMs: null,
    })),
    noteReadback: assign(({ context }, params: { readback: ListingReadback }) => ({
      issues: params.readback.issues ?? context.issues,
    })),
    nextVerify: assign(({ context }) => ({ verifyAttempt: context.verifyAttempt + 1 })),
    /** Read-backs exhausted without seeing the change: the call was lost, send it again. */
    verifyLost: assign(({ context }) => ({
      attempt: context.attempt + 1,
      lastError: `not confirmed by read-back after ${context.verifyAttempt + 1} checks`,
      verifyAttempt: 0,
      retryAfterMs: null,
    })),
  },
});

// Shared pieces of the state configs. Targets use ids so they resolve from any depth.

const toDecide = '#listing.decide';
const toRejected = '#listing.rejected';
const toFailed = '#listing.failed';

const submitResult = ({ event }: { event: { output: SubmitResult } }) => ({ result: event.output });
const submitIssues = ({ event }: { event: { output: SubmitResult } }) => ({
  issues: event.output.issues ?? [],
});
const failure = ({ event }: { event: { error: unknown } }) => ({ failure: toFailure(event.error) });
const readback = ({ event }: { event: { output: ListingReadback } }) => ({ readback: event.output });

/** How every marketplace write ends: the same for upsert, update and delist. */
const submitted = {
  onDone: [
    {
      guard: { type: 'isAccepted', params: submitResult },
      target: 'verifying',
      actions: { type: 'recordSubmit', params: submitResult },
    },
    {
      guard: { type: 'isApplied', params: submitResult },
      target: toDecide,
      actions: [{ type: 'recordSubmit', params: submitResult }, 'confirmCall'],
    },
    { target: toRejected, actions: { type: 'recordRejection', params: submitIssues } },
  ],
  onError: [
    {
      guard: { type: 'canRetry', params: failure },
      target: 'backoff',
      actions: { type: 'recordFailure', params: failure },
    },
    { target: toFailed, actions: [{ type: 'recordFailure', params: failure }, 'abandonCall'] },
  ],
} as const;

/**
 * Waits before sending again (the runtime sleeps, with jitter), then resends whatever is desired
 * now. It always resends: the failed call may have been applied (a timeout), so even a desired
 * value that went back to the confirmed one is sent again.
 */
const backoffState = machineSetup.createStateConfig({
  invoke: {
    id: 'backoff',
    src: 'backoff',
    input: ({ context }) => ({ attempt: context.attempt, retryAfterMs: context.retryAfterMs ?? undefined }),
    onDone: { target: 'sending' },
    onError: { target: 'sending' },
  },
});

/** Reads the listing back until it shows what the call sent. */
const verifyingState = machineSetup.createStateConfig({
  invoke: {
    id: 'readListing',
    src: 'readListing',
    input: ({ context }) => ({
      marketplace: context.marketplace,
      sku: context.sku,
      verifyAttempt: context.verifyAttempt,
      priority: 'read' as const,
    }),
    onDone: [
      {
        guard: { type: 'readbackConfirms', params: readback },
        target: toDecide,
        actions: [{ type: 'noteReadback', params: readback }, 'confirmCall'],
      },
      {
        guard: 'canVerifyAgain',
        target: 'verifying',
        reenter: true,
        actions: [{ type: 'noteReadback', params: readback }, 'nextVerify'],
      },
      {
        guard: 'canResend',
        target: 'sending',
        actions: [{ type: 'noteReadback', params: readback }, 'verifyLost'],
      },
      {
        target: toFailed,
        actions: [{ type: 'noteReadback', params: readback }, 'verifyLost', 'abandonCall'],
      },
    ],
    onError: [
      {
        guard: { type: 'isTerminal', params: failure },
        target: toFailed,
        actions: [{ type: 'recordFailure', params: failure }, 'abandonCall'],
      },
      { guard: 'canVerifyAgain', target: 'verifying', reenter: true, actions: 'nextVerify' },
      { guard: 'canResend', target: 'sending', actions: 'verifyLost' },
      { target: toFailed, actions: ['verifyLost', 'abandonCall'] },
    ],
  },
});

/** At rest: a fresh OMS event is recorded and `decide` runs; a stale one is only counted. */
const recordThenDecide = [
  { guard: 'eventIsFresh', target: toDecide, actions: 'applyOmsEvent' },
  { actions: 'applyOmsEvent' },
] as const;

/** Stuck (`rejected`, `failed`): a fresh OMS event or RETRY tries again with a new budget. */
const retryThenDecide = [
  { guard: 'eventIsFresh', target: toDecide, actions: ['applyOmsEvent', 'resetAttempts'] },
  { actions: 'applyOmsEvent' },
] as const;

const atRest = machineSetup.createStateConfig({
  on: { LIST: recordThenDecide, UNLIST: recordThenDecide, PRICE: recordThenDecide, STOCK: recordThenDecide },
});

const stuck = machineSetup.createStateConfig({
  on: {
    LIST: retryThenDecide,
    UNLIST: retryThenDecide,
    PRICE: retryThenDecide,
    STOCK: retryThenDecide,
    RETRY: { target: toDecide, actions: ['applyOmsEvent', 'resetAttempts'] },
  },
});

function upsertInput(context: ListingContext): UpsertListingInput {
  const call = requireInFlight(context);
  if (call.op !== 'upsert') throw new Error(`listing machine: upsert expected in flight for ${context.sku}`);
  const { product, price, mrp, quantity } = call;
  return {
    marketplace: context.marketplace,
    sku: context.sku,
    draft: { sku: context.sku, product, price, mrp, quantity },
    priority: priorityOf(call),
  };
}

function updateInput(context: ListingContext): UpdateListingInput {
  const call = requireInFlight(context);
  if (call.op !== 'update') throw new Error(`listing machine: update expected in flight for ${context.sku}`);
  const input: UpdateListingInput = {
    marketplace: context.marketplace,
    sku: context.sku,
    priority: priorityOf(call),
  };
  if (call.price !== undefined) input.price = call.price;
  if (call.mrp !== undefined) input.mrp = call.mrp;
  if (call.quantity !== undefined) input.quantity = call.quantity;
  if (call.locations !== undefined) input.locations = call.locations;
  return input;
}

function delistInput(context: ListingContext): DelistListingInput {
  return { marketplace: context.marketplace, sku: context.sku, priority: 'urgent' };
}

/** The two update states differ only in the step they record (which the read model shows). */
function pendingUpdate(step: 'pending-price' | 'pending-stock') {
  return machineSetup.createStateConfig({
    initial: 'sending',
    states: {
      sending: {
        entry: { type: 'startCall', params: { step } },
        invoke: {
          id: 'updateListing',
          src: 'updateListing',
          input: ({ context }) => updateInput(context),
          ...submitted,
        },
      },
      backoff: backoffState,
      verifying: verifyingState,
    },
  });
}

export const listingMachine = machineSetup.createMachine({
  id: 'listing',
  version: String(LISTING_MACHINE_VERSION),
  context: ({ input }) => ({
    sku: input.sku,
    marketplace: input.marketplace,
    maxAttempts: input.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    maxVerifyAttempts: input.maxVerifyAttempts ?? DEFAULT_MAX_VERIFY_ATTEMPTS,
    desired: {
      present: false,
      presentAt: null,
      product: null,
      price: null,
      mrp: null,
      priceAt: null,
      quantity: null,
      quantityAt: null,
      locations: {},
    },
    confirmed: { present: false, product: null, price: null, mrp: null, quantity: null, locations: {} },
    inFlight: null,
    attempt: 0,
    verifyAttempt: 0,
    retryAfterMs: null,
    lastError: null,
    issues: [],
    coalesced: 0,
    staleIgnored: 0,
    lastEventSeq: 0,
  }),
  initial: 'unlisted',
  // In the working states OMS events only move `desired` (coalescing): they never interrupt the
  // call in flight. The states at rest override these.
  on: {
    LIST: { actions: 'applyOmsEvent' },
    UNLIST: { actions: 'applyOmsEvent' },
    PRICE: { actions: 'applyOmsEvent' },
    STOCK: { actions: 'applyOmsEvent' },
    RETRY: { actions: 'applyOmsEvent' },
  },
  states: {
    /** Transient: picks the next state from desired vs confirmed. */
    decide: {
      always: [
        { guard: { type: 'nextStepIs', params: { step: 'delisting' } }, target: 'delisting' },
        { guard: { type: 'nextStepIs', params: { step: 'listing' } }, target: 'listing' },
        { guard: { type: 'nextStepIs', params: { step: 'pending-price' } }, target: 'pending-price' },
        { guard: { type: 'nextStepIs', params: { step: 'pending-stock' } }, target: 'pending-stock' },
        { guard: { type: 'nextStepIs', params: { step: 'listed' } }, target: 'listed' },
        { guard: { type: 'nextStepIs', params: { step: 'delisted' } }, target: 'delisted' },
        { target: 'unlisted' },
      ],
    },

    /** Nothing desired yet, or never listed by us: OMS events are recorded. */
    unlisted: atRest,
    /** Confirmed == desired. */
    listed: atRest,
    /** Taken down by us. PRICE/STOCK are only recorded (decide comes back here); LIST re-lists. */
    delisted: atRest,
    /** The marketplace said INVALID; desired stays. Waits for a newer OMS event or RETRY. */
    rejected: stuck,
    /** Transient failures exhausted `maxAttempts`, or a terminal error. Same exits as `rejected`. */
    failed: stuck,

    /** Creates (or fully replaces) the listing. */
    listing: {
      initial: 'sending',
      states: {
        sending: {
          entry: { type: 'startCall', params: { step: 'listing' } },
          invoke: {
            id: 'upsertListing',
            src: 'upsertListing',
            input: ({ context }) => upsertInput(context),
            ...submitted,
          },
        },
        backoff: backoffState,
        verifying: verifyingState,
      },
    },
    /** Sends a price change (with the quantity too, when that also differs). */
    'pending-price': pendingUpdate('pending-price'),
    /** Sends a stock-only change. */
    'pending-stock': pendingUpdate('pending-stock'),
    /** Takes the listing down. */
    delisting: {
      initial: 'sending',
      states: {
        sending: {
          entry: { type: 'startCall', params: { step: 'delisting' } },
          invoke: {
            id: 'delistListing',
            src: 'delistListing',
            input: ({ context }) => delistInput(context),
            ...submitted,
          },
        },
        backoff: backoffState,
        verifying: verifyingState,
      },
    },
  },
});

export type ListingMachine = typeof listingMachine;
export type ListingSnapshot = SnapshotFrom<typeof listingMachine>;

/** The states in which nothing is in flight and nothing needs doing until the next event. */
export const LISTING_REST_STATES = ['listed', 'delisted', 'unlisted', 'rejected', 'failed'] as const;
const AT_REST: ReadonlySet<string> = new Set(LISTING_REST_STATES);

/** The top-level state name ('pending-price', 'listed', …). Works on persisted snapshots too. */
export function listingStateName(snapshot: { value: StateValue }): string {
  const { value } = snapshot;
  if (typeof value === 'string') return value;
  return Object.keys(value)[0] ?? '';
}

/** True when no marketplace call is needed and none is in flight. */
export function isAtRest(snapshot: { value: StateValue }): boolean {
  return AT_REST.has(listingStateName(snapshot));
}

/**
 * Brings a persisted snapshot of an older machine version up to this one (pure; JSON in and out).
 * v1 → v2: stock per OMS location (`desired.locations`, `confirmed.locations`), empty at first.
 */
export function migrateListingSnapshot(stored: unknown, storedVersion: number): unknown {
  if (storedVersion >= LISTING_MACHINE_VERSION) return stored;
  const snap = stored as {
    context?: { desired?: Record<string, unknown>; confirmed?: Record<string, unknown> };
  };
  if (!snap?.context?.desired || !snap.context.confirmed) return stored;
  return {
    ...snap,
    context: {
      ...snap.context,
      desired: { locations: {}, ...snap.context.desired },
      confirmed: { locations: {}, ...snap.context.confirmed },
    },
  };
}
