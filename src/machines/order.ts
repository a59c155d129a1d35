/**
 * The order machine: one actor per marketplace order (`order:<marketplace>:<orderId>`).
 *
 * It tells the OMS about the order once (`order.created`), follows what the marketplace pollers
 * see (`ORDER.SEEN`), and carries the OMS's ship and cancel requests to the marketplace, one
 * call at a time. Requests that arrive while a call is in flight (or before the order has been
 * seen) wait in context and are handled when the machine is free again.
 *
 * Messages to the OMS are not sent from here: they are appended to `context.outbox`, which the
 * runtime writes to the outbox table in the same transaction as the snapshot. Their ids are
 * deterministic, so a message appended twice (a replay) is one row.
 *
 * Pure: effects are the invoked actors below, supplied by the runtime with
 * `.provide({ actors })`. No timers (the ship-by deadline is a timestamp the runtime arms, see
 * `nextDeadline`; retries wait in an invoked `backoff` promise), no clock, no randomness.
 * Context is plain JSON.
 */
import { assign, fromPromise, type SnapshotFrom, type StateValue, setup } from 'xstate';
import type {
  CancelRequest,
  MarketplaceOrder,
  OrderActionResult,
  OrderStatus,
  ShippingAddress,
  ShipRequest,
} from '../domain/orders.js';
import type { MarketplaceId } from '../domain/types.js';

/**
 * Bump when the context or state shape changes. The runtime stores it next to each snapshot
 * (`orderMachine.version` is the same number as a string) to migrate older ones on load.
 */
export const ORDER_MACHINE_VERSION = 1;

export const DEFAULT_ORDER_MAX_ATTEMPTS = 8;

export interface OrderInput {
  marketplace: MarketplaceId;
  orderId: string;
  /** Transient failures of one ship/cancel request before it is reported as failed (default 8). */
  maxAttempts?: number;
}

export interface LineQuantity {
  lineId: string;
  quantity: number;
}

// ---- messages to the OMS ---------------------------------------------------------------------

export type OutboundMessageType =
  | 'order.created'
  | 'order.cancelled'
  | 'order.ship.failed'
  | 'order.cancel.failed';

interface OutboundBase {
  /** Same as the message id: stable, so a replayed append is one outbox row. */
  id: string;
  /** The occurredAt of the event that caused the message. */
  occurredAt: string;
  marketplace: MarketplaceId;
  orderId: string;
}

export interface OrderCreatedLine {
  lineId: string;
  sku: string;
  quantity: number;
  unitPrice?: number;
  title?: string;
}

export interface OrderCreatedPayload extends OutboundBase {
  type: 'order.created';
  purchasedAt: string;
  shipBy?: string;
  total?: number;
  currency: string;
  lines: OrderCreatedLine[];
  shippingAddress?: ShippingAddress;
}

export type CancelledBy = 'buyer' | 'marketplace' | 'seller';

export interface OrderCancelledLine {
  lineId: string;
  sku?: string;
  quantity: number;
}

export interface OrderCancelledPayload extends OutboundBase {
  type: 'order.cancelled';
  cancelledBy: CancelledBy;
  reason: string;
  /** The lines cancelled (every line when the whole order was). */
  lines: OrderCancelledLine[];
  /** The OMS order.cancel that asked for it (seller cancellations only). */
  requestId?: string;
}

export interface OrderActionFailedPayload extends OutboundBase {
  type: 'order.ship.failed' | 'order.cancel.failed';
  /** The OMS request (its event id) that could not be carried out. */
  requestId: string;
  /** The marketplace's refusal code, or ALREADY_SHIPPED, ORDER_CANCELLED, FAILED. */
  code: string;
  reason: string;
}

export type OutboundPayload = OrderCreatedPayload | OrderCancelledPayload | OrderActionFailedPayload;

/** One row for the runtime's outbox table; `payload` is the full JSON body the OMS gets. */
export interface OutboundMessage {
  id: string;
  type: OutboundMessageType;
  occurredAt: string;
  payload: OutboundPayload;
}

// ---- context ---------------------------------------------------------------------------------

/** An OMS order.ship waiting for (or being carried out by) a call. */
export interface ShipRequestPending {
  omsEventId: string;
  lines: LineQuantity[];
  carrier: string;
  trackingNumber: string;
  shippedAt: string;
  seq: number;
  occurredAt: string;
}

/** An OMS order.cancel waiting for a call. */
export interface CancelRequestPending {
  omsEventId: string;
  /** Absent: the whole order. */
  lines?: LineQuantity[];
  reason: string;
  seq: number;
  occurredAt: string;
}

/** The marketplace call in flight (from `shipping`/`cancelling` entry until it ends). */
export type OrderCall =
  | ({ op: 'ship' } & ShipRequestPending)
  | {
      op: 'cancel';
      by: 'seller' | 'buyer';
      /** The OMS order.cancel; null for a cancellation the buyer asked for. */
      omsEventId: string | null;
      lines?: LineQuantity[];
      reason: string;
      /** The occurredAt of the event that started it (messages about it carry this). */
      occurredAt: string;
    };

/** Structurally the same as `FailureInfo` in src/core/errors.ts (machines import only xstate). */
export interface CallFailure {
  kind: 'retryable' | 'terminal';
  message: string;
  retryAfterMs?: number;
  throttled?: boolean;
  status?: number;
}

export interface OrderContext {
  marketplace: MarketplaceId;
  orderId: string;
  maxAttempts: number;
  /** The order as last seen on the marketplace (poller or read-back); null before. */
  order: MarketplaceOrder | null;
  /** occurredAt of the event that brought `order` (messages derived from it carry this). */
  orderAt: string | null;
  /** Every message for the OMS so far, in order. The runtime writes them, idempotent by id. */
  outbox: OutboundMessage[];
  call: OrderCall | null;
  /** Queued OMS requests (at most one of each kind, the newest wins). */
  pendingShip: ShipRequestPending | null;
  pendingCancel: CancelRequestPending | null;
  /** Quantities per line confirmed shipped / cancelled by our own calls. */
  shippedQuantities: Record<string, number>;
  cancelledQuantities: Record<string, number>;
  /** Lines whose buyer cancellation request has been acted on (or tried). */
  buyerCancelsHandled: string[];
  /** Transient failures of the call in flight. */
  attempt: number;
  retryAfterMs: number | null;
  lastError: string | null;
  /** When SHIP_BY.DUE fired (once) for an order neither shipped nor cancelled by its ship-by. */
  shipByMissedAt: string | null;
  /** External events ignored because their seq was not newer than `lastEventSeq`. */
  staleIgnored: number;
  /** The highest `seq` of the external events applied (0 before any). */
  lastEventSeq: number;
}

// ---- events ----------------------------------------------------------------------------------

interface ExternalEventMeta {
  seq: number;
  /** ISO-8601 with offset. */
  occurredAt: string;
}
export interface OrderSeenEvent extends ExternalEventMeta {
  type: 'ORDER.SEEN';
  order: MarketplaceOrder;
}
export interface OmsShipEvent extends ExternalEventMeta {
  type: 'OMS.SHIP';
  omsEventId: string;
  lines: LineQuantity[];
  carrier: string;
  trackingNumber: string;
  shippedAt: string;
}
export interface OmsCancelEvent extends ExternalEventMeta {
  type: 'OMS.CANCEL';
  omsEventId: string;
  lines?: LineQuantity[];
  reason: string;
}
/** Internal: the runtime's durable timer says the ship-by time has passed. */
export interface ShipByDueEvent {
  type: 'SHIP_BY.DUE';
  at: string;
}
export type ExternalOrderEvent = OrderSeenEvent | OmsShipEvent | OmsCancelEvent;
export type OrderEvent = ExternalOrderEvent | ShipByDueEvent;

// ---- inputs of the invoked actors ------------------------------------------------------------

export interface ShipOrderInput {
  marketplace: MarketplaceId;
  request: ShipRequest;
}
export interface CancelOrderInput {
  marketplace: MarketplaceId;
  request: CancelRequest;
}
export interface GetOrderInput {
  marketplace: MarketplaceId;
  orderId: string;
}
export interface OrderBackoffInput {
  /** Transient failures so far (1 after the first). */
  attempt: number;
  retryAfterMs: number | undefined;
}

// ---------------------------------------------------------------------------------------------
// Pure rules

const BUYER_REASON = 'buyer requested cancellation';

/** What every call's end resets. */
const endCall = { call: null, attempt: 0, retryAfterMs: null } as const;

const isShippedStatus = (status: OrderStatus | undefined): boolean =>
  status === 'shipped' || status === 'delivered';

function appendMessage(outbox: OutboundMessage[], payload: OutboundPayload): OutboundMessage[] {
  if (outbox.some((m) => m.id === payload.id)) return outbox;
  return [...outbox, { id: payload.id, type: payload.type, occurredAt: payload.occurredAt, payload }];
}

function createdPayload(
  context: OrderContext,
  order: MarketplaceOrder,
  occurredAt: string,
): OrderCreatedPayload {
  const payload: OrderCreatedPayload = {
    id: `order.created:${context.marketplace}:${context.orderId}`,
    type: 'order.created',
    occurredAt,
    marketplace: context.marketplace,
    orderId: context.orderId,
    purchasedAt: order.purchasedAt,
    currency: order.currency,
    lines: order.lines.map((l) => {
      const line: OrderCreatedLine = { lineId: l.lineId, sku: l.sku, quantity: l.quantity };
      if (l.unitPrice !== undefined) line.unitPrice = l.unitPrice;
      if (l.title !== undefined) line.title = l.title;
      return line;
    }),
  };
  if (order.shipBy !== undefined) payload.shipBy = order.shipBy;
  if (order.total !== undefined) payload.total = order.total;
  if (order.shippingAddress !== undefined) payload.shippingAddress = order.shippingAddress;
  return payload;
}

/** The order's lines as cancelled lines: all of them, or those of `only`. */
function cancelledLines(order: MarketplaceOrder | null, only?: LineQuantity[]): OrderCancelledLine[] {
  const skuOf = (lineId: string): string | undefined => order?.lines.find((l) => l.lineId === lineId)?.sku;
  const lines = only ?? order?.lines.map((l) => ({ lineId: l.lineId, quantity: l.quantity })) ?? [];
  return lines.map((l) => {
    const sku = skuOf(l.lineId);
    return sku === undefined ? { lineId: l.lineId, quantity: l.quantity } : { ...l, sku };
  });
}

function cancelledPayload(
  context: OrderContext,
  occurredAt: string,
  by: CancelledBy,
  reason: string,
  opts: { lines?: LineQuantity[]; partialKey?: string; requestId?: string } = {},
): OrderCancelledPayload {
  const base = `order.cancelled:${context.marketplace}:${context.orderId}`;
  const payload: OrderCancelledPayload = {
    id: opts.partialKey === undefined ? base : `${base}:${opts.partialKey}`,
    type: 'order.cancelled',
    occurredAt,
    marketplace: context.marketplace,
    orderId: context.orderId,
    cancelledBy: by,
    reason,
    lines: cancelledLines(context.order, opts.lines),
  };
  if (opts.requestId !== undefined) payload.requestId = opts.requestId;
  return payload;
}

function failedPayload(
  context: OrderContext,
  type: 'order.ship.failed' | 'order.cancel.failed',
  request: { omsEventId: string; occurredAt: string },
  code: string,
  reason: string,
): OrderActionFailedPayload {
  return {
    id: `${type}:${request.omsEventId}`,
    type,
    occurredAt: request.occurredAt,
    marketplace: context.marketplace,
    orderId: context.orderId,
    requestId: request.omsEventId,
    code,
    reason,
  };
}

/** Lines the buyer asked to cancel that have not been acted on yet. */
function unhandledBuyerLines(context: OrderContext): LineQuantity[] {
  const order = context.order;
  if (order === null) return [];
  return order.lines
    .filter((l) => l.buyerCancelRequested === true && !context.buyerCancelsHandled.includes(l.lineId))
    .map((l) => ({ lineId: l.lineId, quantity: l.quantity }));
}

function buyerReason(order: MarketplaceOrder | null, lines: LineQuantity[]): string {
  const reasons = lines
    .map((l) => order?.lines.find((o) => o.lineId === l.lineId)?.cancelReason)
    .filter((r): r is string => typeof r === 'string' && r.length > 0);
  return reasons[0] ?? BUYER_REASON;
}

/** Who cancelled an order the marketplace shows as cancelled. */
function marketplaceCancelledBy(order: MarketplaceOrder): CancelledBy {
  return order.lines.some((l) => l.buyerCancelRequested === true) ? 'buyer' : 'marketplace';
}

function marketplaceCancelReason(order: MarketplaceOrder, by: CancelledBy): string {
  const reason = order.lines.map((l) => l.cancelReason).find((r) => typeof r === 'string' && r.length > 0);
  return reason ?? (by === 'buyer' ? 'cancelled by the buyer' : 'cancelled by the marketplace');
}

function addQuantities(done: Record<string, number>, lines: LineQuantity[]): Record<string, number> {
  const next = { ...done };
  for (const l of lines) next[l.lineId] = (next[l.lineId] ?? 0) + l.quantity;
  return next;
}

/** Do these quantities cover every line of the order? */
function coversOrder(order: MarketplaceOrder | null, done: Record<string, number>): boolean {
  if (order === null || order.lines.length === 0) return true;
  return order.lines.every((l) => (done[l.lineId] ?? 0) >= l.quantity);
}

/** The read-back shows the call took effect (whole order, or every line it named). */
function orderShowsCall(call: OrderCall, order: MarketplaceOrder | null): boolean {
  if (order === null) return false;
  const lineDone = (lineId: string): boolean => {
    const status = order.lines.find((l) => l.lineId === lineId)?.status;
    return call.op === 'ship' ? isShippedStatus(status) : status === 'cancelled';
  };
  if (call.op === 'ship') {
    return (
      isShippedStatus(order.status) || (call.lines.length > 0 && call.lines.every((l) => lineDone(l.lineId)))
    );
  }
  if (order.status === 'cancelled') return true;
  return call.lines !== undefined && call.lines.length > 0 && call.lines.every((l) => lineDone(l.lineId));
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

function requireCall(context: OrderContext): OrderCall {
  if (context.call === null) throw new Error(`order machine: no call in flight for ${context.orderId}`);
  return context.call;
}

function requireOrder(context: OrderContext): MarketplaceOrder {
  if (context.order === null) throw new Error(`order machine: order ${context.orderId} not seen yet`);
  return context.order;
}

/** The message telling the OMS that the call in flight did not happen (none for buyer cancels). */
function callFailedMessage(context: OrderContext, code: string, reason: string): OutboundMessage[] {
  const call = requireCall(context);
  if (call.op === 'ship')
    return appendMessage(context.outbox, failedPayload(context, 'order.ship.failed', call, code, reason));
  if (call.omsEventId === null) return context.outbox;
  return appendMessage(
    context.outbox,
    failedPayload(
      context,
      'order.cancel.failed',
      { omsEventId: call.omsEventId, occurredAt: call.occurredAt },
      code,
      reason,
    ),
  );
}

function shipInput(context: OrderContext): ShipOrderInput {
  const call = requireCall(context);
  if (call.op !== 'ship') throw new Error(`order machine: ship expected in flight for ${context.orderId}`);
  return {
    marketplace: context.marketplace,
    request: {
      orderId: context.orderId,
      lines: call.lines,
      carrier: call.carrier,
      trackingNumber: call.trackingNumber,
      shippedAt: call.shippedAt,
      order: requireOrder(context),
    },
  };
}

function cancelInput(context: OrderContext): CancelOrderInput {
  const call = requireCall(context);
  if (call.op !== 'cancel')
    throw new Error(`order machine: cancel expected in flight for ${context.orderId}`);
  const request: CancelRequest = {
    orderId: context.orderId,
    reason: call.reason,
    order: requireOrder(context),
  };
  if (call.lines !== undefined) request.lines = call.lines;
  return { marketplace: context.marketplace, request };
}

/**
 * The context once the call in flight took effect. A cancellation is told to the OMS (a partial
 * one under its own id, so a later full cancellation is still a separate message); a shipment is
 * not (the OMS asked for it).
 */
function callDoneUpdate(context: OrderContext): Partial<OrderContext> {
  const call = requireCall(context);
  if (call.op === 'ship') {
    return {
      shippedQuantities: addQuantities(context.shippedQuantities, call.lines),
      lastError: null,
      ...endCall,
    };
  }
  const opts: { lines?: LineQuantity[]; partialKey?: string; requestId?: string } = {};
  if (call.omsEventId !== null) opts.requestId = call.omsEventId;
  if (call.lines !== undefined) {
    opts.lines = call.lines;
    if (!coversOrder(context.order, addQuantities(context.cancelledQuantities, call.lines))) {
      opts.partialKey = call.omsEventId ?? `buyer:${call.lines.map((l) => l.lineId).join(',')}`;
    }
  }
  const all = (context.order?.lines ?? []).map((l) => ({ lineId: l.lineId, quantity: l.quantity }));
  return {
    outbox: appendMessage(
      context.outbox,
      cancelledPayload(context, call.occurredAt, call.by, call.reason, opts),
    ),
    cancelledQuantities: addQuantities(context.cancelledQuantities, call.lines ?? all),
    lastError: null,
    ...endCall,
  };
}

function notProvided(name: string): () => Promise<never> {
  return async () => {
    throw new Error(`order machine: actor '${name}' not provided`);
  };
}

// ---------------------------------------------------------------------------------------------
// The machine

const machineSetup = setup({
  types: {
    context: {} as OrderContext,
    events: {} as OrderEvent,
    input: {} as OrderInput,
  },
  actors: {
    shipOrder: fromPromise<OrderActionResult, ShipOrderInput>(notProvided('shipOrder')),
    cancelOrder: fromPromise<OrderActionResult, CancelOrderInput>(notProvided('cancelOrder')),
    getOrder: fromPromise<MarketplaceOrder | null, GetOrderInput>(notProvided('getOrder')),
    backoff: fromPromise<void, OrderBackoffInput>(notProvided('backoff')),
  },
  guards: {
    /** Already applied (a replay after a restart, or out of order): ignored. */
    isStale: ({ context, event }) => event.type !== 'SHIP_BY.DUE' && event.seq <= context.lastEventSeq,
    seenCancelled: ({ event }) => event.type === 'ORDER.SEEN' && event.order.status === 'cancelled',
    orderCancelled: ({ context }) => context.order?.status === 'cancelled',
    orderShipped: ({ context }) => isShippedStatus(context.order?.status),
    /** Both kinds queued: the one the OMS sent first goes first. */
    cancelGoesFirst: ({ context }) =>
      context.pendingCancel !== null &&
      (context.pendingShip === null || context.pendingCancel.seq < context.pendingShip.seq),
    shipQueued: ({ context }) => context.pendingShip !== null,
    buyerCancelPending: ({ context }) => unhandledBuyerLines(context).length > 0,
    shipByCanFire: ({ context }) =>
      context.shipByMissedAt === null &&
      context.order !== null &&
      context.order.status !== 'cancelled' &&
      !isShippedStatus(context.order.status),
    isDone: (_, params: { result: OrderActionResult }) => params.result.status === 'done',
    /** Done, and with it every line of the order is shipped (or cancelled). */
    completesOrder: ({ context }, params: { result: OrderActionResult }) => {
      if (params.result.status !== 'done') return false;
      const call = requireCall(context);
      if (call.op === 'ship')
        return coversOrder(context.order, addQuantities(context.shippedQuantities, call.lines));
      return (
        call.lines === undefined ||
        coversOrder(context.order, addQuantities(context.cancelledQuantities, call.lines))
      );
    },
    /** Throttling says "slower", not "broken": it is waited out, never counted towards failing. */
    canRetry: ({ context }, params: { failure: CallFailure }) =>
      params.failure.kind === 'retryable' &&
      (params.failure.throttled === true || context.attempt + 1 < context.maxAttempts),
    readbackShowsCall: ({ context }, params: { order: MarketplaceOrder | null }) =>
      orderShowsCall(requireCall(context), params.order),
    /** Shipping, and the read-back shows the order cancelled (or cancelling, shows it shipped). */
    readbackContradicts: ({ context }, params: { order: MarketplaceOrder | null }) => {
      const call = requireCall(context);
      if (params.order === null) return false;
      return call.op === 'ship' ? params.order.status === 'cancelled' : isShippedStatus(params.order.status);
    },
  },
  actions: {
    recordSeq: assign(({ context, event }) =>
      event.type === 'SHIP_BY.DUE' ? {} : { lastEventSeq: Math.max(context.lastEventSeq, event.seq) },
    ),
    countStale: assign(({ context }) => ({ staleIgnored: context.staleIgnored + 1 })),
    storeOrder: assign(({ event }) =>
      event.type === 'ORDER.SEEN' ? { order: event.order, orderAt: event.occurredAt } : {},
    ),
    emitCreated: assign(({ context, event }) => {
      if (event.type !== 'ORDER.SEEN') return {};
      return {
        outbox: appendMessage(context.outbox, createdPayload(context, event.order, event.occurredAt)),
      };
    }),
    /** The newest request of each kind waits; an older one it replaces is dropped. */
    queueRequest: assign(({ event }) => {
      if (event.type === 'OMS.SHIP') {
        const { omsEventId, lines, carrier, trackingNumber, shippedAt, seq, occurredAt } = event;
        return { pendingShip: { omsEventId, lines, carrier, trackingNumber, shippedAt, seq, occurredAt } };
      }
      if (event.type === 'OMS.CANCEL') {
        const pending: CancelRequestPending = {
          omsEventId: event.omsEventId,
          reason: event.reason,
          seq: event.seq,
          occurredAt: event.occurredAt,
        };
        if (event.lines !== undefined) pending.lines = event.lines;
        return { pendingCancel: pending };
      }
      return {};
    }),
    /** Answers an OMS request that cannot be carried out any more. */
    refuseRequest: assign(({ context, event }, params: { code: string; reason: string }) => {
      if (event.type === 'OMS.SHIP') {
        return {
          outbox: appendMessage(
            context.outbox,
            failedPayload(context, 'order.ship.failed', event, params.code, params.reason),
          ),
        };
      }
      if (event.type === 'OMS.CANCEL') {
        return {
          outbox: appendMessage(
            context.outbox,
            failedPayload(context, 'order.cancel.failed', event, params.code, params.reason),
          ),
        };
      }
      return {};
    }),
    /** Entering `shipped`: a queued cancel is too late; a queued ship is a repeat. */
    answerQueuedWhenShipped: assign(({ context }) => {
      const outbox =
        context.pendingCancel === null
          ? context.outbox
          : appendMessage(
              context.outbox,
              failedPayload(
                context,
                'order.cancel.failed',
                context.pendingCancel,
                'ALREADY_SHIPPED',
                'the order has already shipped',
              ),
            );
      return { outbox, pendingShip: null, pendingCancel: null };
    }),
    /** Entering `cancelled`: a queued ship is refused; a queued cancel is a repeat. */
    answerQueuedWhenCancelled: assign(({ context }) => {
      const outbox =
        context.pendingShip === null
          ? context.outbox
          : appendMessage(
              context.outbox,
              failedPayload(
                context,
                'order.ship.failed',
                context.pendingShip,
                'ORDER_CANCELLED',
                'the order is cancelled',
              ),
            );
      return { outbox, pendingShip: null, pendingCancel: null };
    }),
    emitMarketplaceCancelled: assign(({ context }) => {
      const order = requireOrder(context);
      const by = marketplaceCancelledBy(order);
      const payload = cancelledPayload(
        context,
        context.orderAt ?? order.updatedAt,
        by,
        marketplaceCancelReason(order, by),
      );
      return { outbox: appendMessage(context.outbox, payload) };
    }),
    startShip: assign(({ context }) => {
      const pending = context.pendingShip;
      if (pending === null) throw new Error(`order machine: no ship request queued for ${context.orderId}`);
      return { call: { op: 'ship' as const, ...pending }, pendingShip: null, attempt: 0, retryAfterMs: null };
    }),
    startSellerCancel: assign(({ context }) => {
      const pending = context.pendingCancel;
      if (pending === null) throw new Error(`order machine: no cancel request queued for ${context.orderId}`);
      const call: OrderCall = {
        op: 'cancel',
        by: 'seller',
        omsEventId: pending.omsEventId,
        reason: pending.reason,
        occurredAt: pending.occurredAt,
      };
      if (pending.lines !== undefined) call.lines = pending.lines;
      return { call, pendingCancel: null, attempt: 0, retryAfterMs: null };
    }),
    /** Cancels what the buyer asked for: the whole order when every line is asked for. */
    startBuyerCancel: assign(({ context }) => {
      const order = requireOrder(context);
      const lines = unhandledBuyerLines(context);
      const call: OrderCall = {
        op: 'cancel',
        by: 'buyer',
        omsEventId: null,
        reason: buyerReason(order, lines),
        occurredAt: context.orderAt ?? order.updatedAt,
      };
      const whole = order.lines.every((l) => lines.some((b) => b.lineId === l.lineId));
      if (!whole) call.lines = lines;
      return {
        call,
        buyerCancelsHandled: [...context.buyerCancelsHandled, ...lines.map((l) => l.lineId)],
        attempt: 0,
        retryAfterMs: null,
      };
    }),
    /** The call took effect (its answer, or a read-back showing it). */
    callDone: assign(({ context }) => callDoneUpdate(context)),
    callRefused: assign(({ context }, params: { result: OrderActionResult }) => {
      const { code, reason } =
        params.result.status === 'refused' ? params.result : { code: 'REFUSED', reason: 'refused' };
      return {
        outbox: callFailedMessage(context, code, reason),
        lastError: `${code}: ${reason}`,
        ...endCall,
      };
    }),
    recordFailure: assign(({ context }, params: { failure: CallFailure }) => ({
      attempt: context.attempt + 1,
      lastError: params.failure.message,
      retryAfterMs: params.failure.retryAfterMs ?? null,
    })),
    /** Given up (terminal, or transient failures exhausted): the OMS hears FAILED. */
    callFailed: assign(({ context }, params: { failure: CallFailure }) => ({
      outbox: callFailedMessage(context, 'FAILED', params.failure.message),
      lastError: params.failure.message,
      ...endCall,
    })),
    /** The read-back shows the opposite of what the call wanted: the OMS hears why. */
    callContradicted: assign(({ context }) => {
      const call = requireCall(context);
      const outbox =
        call.op === 'ship'
          ? callFailedMessage(context, 'ORDER_CANCELLED', 'the order is cancelled')
          : callFailedMessage(context, 'ALREADY_SHIPPED', 'the order has already shipped');
      return { outbox, ...endCall };
    }),
    storeReadback: assign(({ context }, params: { order: MarketplaceOrder | null }) =>
      params.order === null ? {} : { order: params.order, orderAt: requireCall(context).occurredAt },
    ),
    markShipByMissed: assign(({ event }) =>
      event.type === 'SHIP_BY.DUE' ? { shipByMissedAt: event.at } : {},
    ),
  },
});

// Shared pieces of the state configs. Targets use ids so they resolve from any depth.

const toDecide = '#order.decide';
const toShipped = '#order.shipped';
const toCancelled = '#order.cancelled';

const result = ({ event }: { event: { output: OrderActionResult } }) => ({ result: event.output });
const failure = ({ event }: { event: { error: unknown } }) => ({ failure: toFailure(event.error) });
const readback = ({ event }: { event: { output: MarketplaceOrder | null } }) => ({ order: event.output });

/** A stale external event (seq not newer than the last applied): counted, nothing else. */
const stale = { guard: 'isStale', actions: 'countStale' } as const;

/** Waits before trying again (the runtime sleeps, with jitter), then checks the order first. */
const backoffState = machineSetup.createStateConfig({
  invoke: {
    id: 'backoff',
    src: 'backoff',
    input: ({ context }) => ({ attempt: context.attempt, retryAfterMs: context.retryAfterMs ?? undefined }),
    onDone: { target: 'checking' },
    onError: { target: 'checking' },
  },
});

/**
 * The failed call may have happened (a timeout): read the order before calling again, so a
 * ship or cancel is never sent twice once it has taken effect.
 */
const checkingState = machineSetup.createStateConfig({
  invoke: {
    id: 'getOrder',
    src: 'getOrder',
    input: ({ context }) => ({ marketplace: context.marketplace, orderId: context.orderId }),
    onDone: [
      {
        guard: { type: 'readbackShowsCall', params: readback },
        target: toDecide,
        actions: [{ type: 'storeReadback', params: readback }, 'callDone'],
      },
      {
        guard: { type: 'readbackContradicts', params: readback },
        target: toDecide,
        actions: [{ type: 'storeReadback', params: readback }, 'callContradicted'],
      },
      { target: 'calling', actions: { type: 'storeReadback', params: readback } },
    ],
    onError: [
      {
        guard: { type: 'canRetry', params: failure },
        target: 'backoff',
        actions: { type: 'recordFailure', params: failure },
      },
      { target: toDecide, actions: { type: 'callFailed', params: failure } },
    ],
  },
});

/** How a ship or cancel call ends. */
const callEnded = {
  onError: [
    {
      guard: { type: 'canRetry', params: failure },
      target: 'backoff',
      actions: { type: 'recordFailure', params: failure },
    },
    { target: toDecide, actions: { type: 'callFailed', params: failure } },
  ],
} as const;

export const orderMachine = machineSetup.createMachine({
  id: 'order',
  version: String(ORDER_MACHINE_VERSION),
  context: ({ input }) => ({
    marketplace: input.marketplace,
    orderId: input.orderId,
    maxAttempts: input.maxAttempts ?? DEFAULT_ORDER_MAX_ATTEMPTS,
    order: null,
    orderAt: null,
    outbox: [],
    call: null,
    pendingShip: null,
    pendingCancel: null,
    shippedQuantities: {},
    cancelledQuantities: {},
    buyerCancelsHandled: [],
    attempt: 0,
    retryAfterMs: null,
    lastError: null,
    shipByMissedAt: null,
    staleIgnored: 0,
    lastEventSeq: 0,
  }),
  initial: 'new',
  // During a call (`shipping`, `cancelling`): the order is stored, OMS requests wait. The states
  // at rest override these.
  on: {
    'ORDER.SEEN': [stale, { actions: ['recordSeq', 'storeOrder'] }],
    'OMS.SHIP': [stale, { actions: ['recordSeq', 'queueRequest'] }],
    'OMS.CANCEL': [stale, { actions: ['recordSeq', 'queueRequest'] }],
    'SHIP_BY.DUE': { guard: 'shipByCanFire', actions: 'markShipByMissed' },
  },
  states: {
    /** No order seen yet. OMS requests wait for it. */
    new: {
      on: {
        'ORDER.SEEN': [
          stale,
          // Cancelled before we ever saw it: the OMS never heard of it, so it hears nothing now.
          { guard: 'seenCancelled', target: 'cancelled', actions: ['recordSeq', 'storeOrder'] },
          { target: 'decide', actions: ['recordSeq', 'storeOrder', 'emitCreated'] },
        ],
        'SHIP_BY.DUE': {},
      },
    },

    /** Transient: what the order needs next, from what is seen and what is queued. */
    decide: {
      always: [
        { guard: 'orderCancelled', target: 'cancelled', actions: 'emitMarketplaceCancelled' },
        { guard: 'orderShipped', target: 'shipped' },
        { guard: 'cancelGoesFirst', target: 'cancelling', actions: 'startSellerCancel' },
        { guard: 'shipQueued', target: 'shipping', actions: 'startShip' },
        { guard: 'buyerCancelPending', target: 'cancelling', actions: 'startBuyerCancel' },
        { target: 'open' },
      ],
    },

    /** The OMS knows the order (order.created); nothing in flight. */
    open: {
      on: {
        'ORDER.SEEN': [stale, { target: 'decide', actions: ['recordSeq', 'storeOrder'] }],
        'OMS.SHIP': [stale, { target: 'decide', actions: ['recordSeq', 'queueRequest'] }],
        'OMS.CANCEL': [stale, { target: 'decide', actions: ['recordSeq', 'queueRequest'] }],
      },
    },

    /** Confirming the OMS's shipment to the marketplace. */
    shipping: {
      initial: 'calling',
      states: {
        calling: {
          invoke: {
            id: 'shipOrder',
            src: 'shipOrder',
            input: ({ context }) => shipInput(context),
            onDone: [
              { guard: { type: 'completesOrder', params: result }, target: toShipped, actions: 'callDone' },
              { guard: { type: 'isDone', params: result }, target: toDecide, actions: 'callDone' },
              { target: toDecide, actions: { type: 'callRefused', params: result } },
            ],
            ...callEnded,
          },
        },
        backoff: backoffState,
        checking: checkingState,
      },
    },

    /** Cancelling at the marketplace, for the OMS (seller) or because the buyer asked. */
    cancelling: {
      initial: 'calling',
      states: {
        calling: {
          invoke: {
            id: 'cancelOrder',
            src: 'cancelOrder',
            input: ({ context }) => cancelInput(context),
            onDone: [
              { guard: { type: 'completesOrder', params: result }, target: toCancelled, actions: 'callDone' },
              { guard: { type: 'isDone', params: result }, target: toDecide, actions: 'callDone' },
              { target: toDecide, actions: { type: 'callRefused', params: result } },
            ],
            ...callEnded,
          },
        },
        backoff: backoffState,
        checking: checkingState,
      },
    },

    /** At rest, not final: late requests still get answers. */
    shipped: {
      entry: 'answerQueuedWhenShipped',
      on: {
        'ORDER.SEEN': [stale, { actions: ['recordSeq', 'storeOrder'] }],
        'OMS.SHIP': [stale, { actions: 'recordSeq' }],
        'OMS.CANCEL': [
          stale,
          {
            actions: [
              'recordSeq',
              {
                type: 'refuseRequest',
                params: { code: 'ALREADY_SHIPPED', reason: 'the order has already shipped' },
              },
            ],
          },
        ],
        'SHIP_BY.DUE': {},
      },
    },

    /** At rest, not final: late requests still get answers. */
    cancelled: {
      entry: 'answerQueuedWhenCancelled',
      on: {
        'ORDER.SEEN': [stale, { actions: ['recordSeq', 'storeOrder'] }],
        'OMS.SHIP': [
          stale,
          {
            actions: [
              'recordSeq',
              {
                type: 'refuseRequest',
                params: { code: 'ORDER_CANCELLED', reason: 'the order is cancelled' },
              },
            ],
          },
        ],
        'OMS.CANCEL': [stale, { actions: 'recordSeq' }],
        'SHIP_BY.DUE': {},
      },
    },
  },
});

export type OrderMachine = typeof orderMachine;
export type OrderSnapshot = SnapshotFrom<typeof orderMachine>;

/** The states in which the order waits for the next event (see `isOrderAtRest` for the rest). */
export const ORDER_REST_STATES = ['new', 'open', 'shipped', 'cancelled'] as const;
const REST: ReadonlySet<string> = new Set(ORDER_REST_STATES);

/** The top-level state name ('shipping', 'open', …). Works on persisted snapshots too. */
export function orderStateName(snapshot: { value: StateValue }): string {
  const { value } = snapshot;
  if (typeof value === 'string') return value;
  return Object.keys(value)[0] ?? '';
}

type RestView = Pick<OrderContext, 'call' | 'pendingShip' | 'pendingCancel'>;

/** In a rest state with no call in flight and no OMS request waiting. */
export function isOrderAtRest(snapshot: { value: StateValue; context: RestView }): boolean {
  const { context } = snapshot;
  const name = orderStateName(snapshot);
  if (!REST.has(name) || context.call !== null) return false;
  // In `new` a queued OMS request waits for the order to be seen: nothing to do until then.
  return name === 'new' || (context.pendingShip === null && context.pendingCancel === null);
}

/** The highest seq applied: the runtime skips redelivered events at or below it. */
export function orderLastEventSeq(snapshot: { context: Pick<OrderContext, 'lastEventSeq'> }): number {
  return snapshot.context.lastEventSeq;
}

/**
 * The ship-by instant the runtime should arm a durable timer on (and re-arm after hydration),
 * or undefined: no ship-by known, already fired, or the order is shipped or cancelled.
 */
export function nextDeadline(snapshot: {
  value: StateValue;
  context: Pick<OrderContext, 'order' | 'shipByMissedAt'>;
}): string | undefined {
  const { order, shipByMissedAt } = snapshot.context;
  const name = orderStateName(snapshot);
  if (name === 'shipped' || name === 'cancelled') return undefined;
  if (order === null || shipByMissedAt !== null) return undefined;
  if (order.status === 'cancelled' || isShippedStatus(order.status)) return undefined;
  return order.shipBy;
}
