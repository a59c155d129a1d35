import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createActor, fromPromise, initialTransition, transition, waitFor } from 'xstate';
import type { MarketplaceOrder, OrderActionResult } from '../../src/domain/orders.js';
import type { MarketplaceId } from '../../src/domain/types.js';
import {
  isOrderAtRest,
  nextDeadline,
  ORDER_MACHINE_VERSION,
  ORDER_REST_STATES,
  type OrderEvent,
  type OrderInput,
  type OrderSnapshot,
  orderLastEventSeq,
  orderMachine,
  orderStateName,
} from '../../src/machines/index.js';

// ---- fixtures ---------------------------------------------------------------------------------

const ORDER_ID = '403-1234567-1234567';
const PURCHASED_AT = '2025-03-01T09:00:00+05:30';
const T0 = '2025-03-01T10:00:00+05:30';
const T1 = '2025-03-01T10:05:00+05:30';
const T2 = '2025-03-01T10:10:00+05:30';
const T3 = '2025-03-01T10:15:00+05:30';
const SHIP_BY = '2025-03-03T23:59:59+05:30';
const AFTER_SHIP_BY = '2025-03-04T00:00:05+05:30';

const ADDRESS = { name: 'A. Buyer', addressLine1: '12 MG Road', city: 'Bengaluru', postalCode: '560001' };

function marketplaceOrder(over: Partial<MarketplaceOrder> = {}): MarketplaceOrder {
  return {
    marketplace: 'amazon',
    orderId: ORDER_ID,
    status: 'unshipped',
    marketplaceStatus: 'Unshipped',
    purchasedAt: PURCHASED_AT,
    updatedAt: PURCHASED_AT,
    shipBy: SHIP_BY,
    total: 1998,
    currency: 'INR',
    lines: [{ lineId: 'L1', sku: 'KURTA-BLU-M', quantity: 2, unitPrice: 999, title: 'Cotton kurta' }],
    shippingAddress: ADDRESS,
    ...over,
  };
}

const SHIPPED = marketplaceOrder({ status: 'shipped', marketplaceStatus: 'Shipped' });
const CANCELLED = marketplaceOrder({ status: 'cancelled', marketplaceStatus: 'Canceled' });

let seq = 0;
const nextSeq = (): number => {
  seq += 1;
  return seq;
};

const seen = (at: string, order: MarketplaceOrder = marketplaceOrder()): OrderEvent => ({
  type: 'ORDER.SEEN',
  seq: nextSeq(),
  occurredAt: at,
  order,
});
const omsShip = (at: string, omsEventId = 'oms-ship-1'): OrderEvent => ({
  type: 'OMS.SHIP',
  seq: nextSeq(),
  occurredAt: at,
  omsEventId,
  lines: [{ lineId: 'L1', quantity: 2 }],
  carrier: 'Delhivery',
  trackingNumber: 'DLV123456',
  shippedAt: T1,
});
const omsCancel = (at: string, omsEventId = 'oms-cancel-1'): OrderEvent => ({
  type: 'OMS.CANCEL',
  seq: nextSeq(),
  occurredAt: at,
  omsEventId,
  reason: 'out of stock',
});
const due = (at: string): OrderEvent => ({ type: 'SHIP_BY.DUE', at });

type ActorId = 'shipOrder' | 'cancelOrder' | 'getOrder' | 'backoff';

/** The events xstate sends when an invoked actor resolves or rejects. */
const done = (id: ActorId, output: unknown): OrderEvent =>
  ({ type: `xstate.done.actor.${id}`, output }) as unknown as OrderEvent;
const fail = (id: ActorId, error: unknown): OrderEvent =>
  ({ type: `xstate.error.actor.${id}`, error }) as unknown as OrderEvent;

const DONE: OrderActionResult = { status: 'done' };
const RETRYABLE = { kind: 'retryable', message: 'timeout after 30000 ms', retryAfterMs: 2000 };
const TERMINAL = { kind: 'terminal', message: 'HTTP 403 forbidden', status: 403 };

// ---- driving the machine through pure transitions ----------------------------------------------

interface Call {
  id: string;
  input: Record<string, unknown>;
}

interface Step {
  snapshot: OrderSnapshot;
  calls: Call[];
}

function start(input: Partial<OrderInput> = {}): OrderSnapshot {
  const [snapshot] = initialTransition(orderMachine, { marketplace: 'amazon', orderId: ORDER_ID, ...input });
  return snapshot;
}

function send(snapshot: OrderSnapshot, event: OrderEvent): Step {
  const [next, actions] = transition(orderMachine, snapshot, event);
  const calls = actions
    .filter((a) => a.type === 'xstate.spawnChild')
    .map((a) => {
      // spawnChild's params carry the resolved input, though its declared type omits it.
      const params = a.params as unknown as { id: string; input: Record<string, unknown> };
      return { id: params.id, input: params.input };
    });
  return { snapshot: next, calls };
}

function run(snapshot: OrderSnapshot, ...events: OrderEvent[]): Step {
  let current = snapshot;
  const calls: Call[] = [];
  for (const event of events) {
    const step = send(current, event);
    current = step.snapshot;
    calls.push(...step.calls);
  }
  return { snapshot: current, calls };
}

const types = (snapshot: OrderSnapshot): string[] => snapshot.context.outbox.map((m) => m.type);
const lastMessage = (snapshot: OrderSnapshot) => snapshot.context.outbox.at(-1);
function lastPayload(snapshot: OrderSnapshot): Record<string, unknown> {
  const message = lastMessage(snapshot);
  assert.ok(message, 'expected a message');
  return message.payload as unknown as Record<string, unknown>;
}

/** Seen once (order.created sent), nothing in flight. */
function openSnapshot(input: Partial<OrderInput> = {}, order = marketplaceOrder()): OrderSnapshot {
  const { snapshot } = send(start(input), seen(T0, order));
  assert.equal(snapshot.value, 'open');
  return snapshot;
}

function shippingSnapshot(input: Partial<OrderInput> = {}): OrderSnapshot {
  const { snapshot } = send(openSnapshot(input), omsShip(T1));
  assert.deepEqual(snapshot.value, { shipping: 'calling' });
  return snapshot;
}

// ---- specifications ---------------------------------------------------------------------------

describe('new', () => {
  it('starts with nothing seen and nothing to send', () => {
    const snapshot = start();
    assert.equal(snapshot.value, 'new');
    assert.deepEqual(snapshot.context.outbox, []);
    assert.equal(snapshot.context.maxAttempts, 8);
    assert.equal(ORDER_MACHINE_VERSION, 1);
    assert.equal(orderMachine.version, '1');
  });

  it('tells the OMS about the order on first sight: one order.created with the order', () => {
    const { snapshot, calls } = send(start(), seen(T0));
    assert.equal(snapshot.value, 'open');
    assert.deepEqual(calls, []);
    const id = `order.created:amazon:${ORDER_ID}`;
    assert.deepEqual(snapshot.context.outbox, [
      {
        id,
        type: 'order.created',
        occurredAt: T0,
        payload: {
          id,
          type: 'order.created',
          occurredAt: T0,
          marketplace: 'amazon',
          orderId: ORDER_ID,
          purchasedAt: PURCHASED_AT,
          shipBy: SHIP_BY,
          total: 1998,
          currency: 'INR',
          lines: [{ lineId: 'L1', sku: 'KURTA-BLU-M', quantity: 2, unitPrice: 999, title: 'Cotton kurta' }],
          shippingAddress: ADDRESS,
        },
      },
    ]);
  });

  it('sends nothing for an order already cancelled when first seen', () => {
    const { snapshot } = run(start(), seen(T0, CANCELLED), seen(T1, CANCELLED));
    assert.equal(snapshot.value, 'cancelled');
    assert.deepEqual(snapshot.context.outbox, []);
  });

  it('keeps an OMS ship that arrives first and ships once the order is seen', () => {
    const early = send(start(), omsShip(T0));
    assert.equal(early.snapshot.value, 'new');
    assert.equal(early.snapshot.context.pendingShip?.omsEventId, 'oms-ship-1');
    assert.equal(
      isOrderAtRest(early.snapshot),
      true,
      'the request waits for the order to be seen: nothing to do until then',
    );

    const { snapshot, calls } = send(early.snapshot, seen(T1));
    assert.deepEqual(snapshot.value, { shipping: 'calling' });
    assert.deepEqual(types(snapshot), ['order.created']);
    assert.deepEqual(
      calls.map((c) => c.id),
      ['shipOrder'],
    );
  });
});

describe('open', () => {
  it('sends no second order.created when the order is seen again', () => {
    const { snapshot } = run(openSnapshot(), seen(T1), seen(T2, marketplaceOrder({ updatedAt: T2 })));
    assert.equal(snapshot.value, 'open');
    assert.deepEqual(types(snapshot), ['order.created']);
    assert.equal(snapshot.context.order?.updatedAt, T2, 'the latest order is kept');
  });

  it('tells the OMS once when the buyer cancelled (status cancelled)', () => {
    const byBuyer = marketplaceOrder({
      status: 'cancelled',
      marketplaceStatus: 'Canceled',
      lines: [
        {
          lineId: 'L1',
          sku: 'KURTA-BLU-M',
          quantity: 2,
          buyerCancelRequested: true,
          cancelReason: 'ordered by mistake',
        },
      ],
    });
    const { snapshot } = run(openSnapshot(), seen(T1, byBuyer), seen(T2, byBuyer));
    assert.equal(snapshot.value, 'cancelled');
    assert.deepEqual(types(snapshot), ['order.created', 'order.cancelled']);
    assert.deepEqual(lastMessage(snapshot)?.payload, {
      id: `order.cancelled:amazon:${ORDER_ID}`,
      type: 'order.cancelled',
      occurredAt: T1,
      marketplace: 'amazon',
      orderId: ORDER_ID,
      cancelledBy: 'buyer',
      reason: 'ordered by mistake',
      lines: [{ lineId: 'L1', sku: 'KURTA-BLU-M', quantity: 2 }],
    });
  });

  it('says the marketplace cancelled when no buyer asked', () => {
    const { snapshot } = send(openSnapshot(), seen(T1, CANCELLED));
    assert.equal(snapshot.value, 'cancelled');
    assert.equal(lastMessage(snapshot)?.payload.type, 'order.cancelled');
    assert.equal(lastPayload(snapshot)['cancelledBy'], 'marketplace');
  });

  it('moves to shipped without a message when the marketplace shows it shipped', () => {
    const { snapshot } = send(openSnapshot(), seen(T1, SHIPPED));
    assert.equal(snapshot.value, 'shipped');
    assert.deepEqual(types(snapshot), ['order.created']);
  });

  it('cancels at the marketplace when the buyer asks on an unshipped order', () => {
    const asked = marketplaceOrder({
      lines: [{ lineId: 'L1', sku: 'KURTA-BLU-M', quantity: 2, buyerCancelRequested: true }],
    });
    const step = send(openSnapshot(), seen(T1, asked));
    assert.deepEqual(step.snapshot.value, { cancelling: 'calling' });
    assert.deepEqual(step.calls, [
      {
        id: 'cancelOrder',
        input: {
          marketplace: 'amazon',
          request: { orderId: ORDER_ID, reason: 'buyer requested cancellation', order: asked },
        },
      },
    ]);
    const { snapshot } = run(step.snapshot, done('cancelOrder', DONE), seen(T2, asked));
    assert.equal(snapshot.value, 'cancelled');
    assert.deepEqual(types(snapshot), ['order.created', 'order.cancelled']);
    const payload = lastMessage(snapshot)?.payload as { cancelledBy: string; occurredAt: string };
    assert.equal(payload.cancelledBy, 'buyer');
    assert.equal(payload.occurredAt, T1);
  });

  it('cancels a buyer request seen on first sight, after order.created', () => {
    const asked = marketplaceOrder({
      lines: [{ lineId: 'L1', sku: 'KURTA-BLU-M', quantity: 2, buyerCancelRequested: true }],
    });
    const { snapshot, calls } = send(start(), seen(T0, asked));
    assert.deepEqual(snapshot.value, { cancelling: 'calling' });
    assert.deepEqual(types(snapshot), ['order.created']);
    assert.equal(calls[0]?.id, 'cancelOrder');
  });
});

describe('shipping', () => {
  it('confirms the OMS shipment to the marketplace and ends shipped', () => {
    const step = send(openSnapshot(), omsShip(T1));
    assert.deepEqual(step.calls, [
      {
        id: 'shipOrder',
        input: {
          marketplace: 'amazon',
          request: {
            orderId: ORDER_ID,
            lines: [{ lineId: 'L1', quantity: 2 }],
            carrier: 'Delhivery',
            trackingNumber: 'DLV123456',
            shippedAt: T1,
            order: marketplaceOrder(),
          },
        },
      },
    ]);
    const { snapshot } = send(step.snapshot, done('shipOrder', DONE));
    assert.equal(snapshot.value, 'shipped');
    assert.deepEqual(types(snapshot), ['order.created']);
    assert.equal(isOrderAtRest(snapshot), true);
  });

  it('tells the OMS when the marketplace refuses (Amazon 400: carrier code missing)', () => {
    const refused: OrderActionResult = {
      status: 'refused',
      code: 'InvalidInput',
      reason: 'carrierCode is required when carrierName is not a known carrier',
    };
    const { snapshot } = send(shippingSnapshot(), done('shipOrder', refused));
    assert.equal(snapshot.value, 'open');
    assert.deepEqual(lastMessage(snapshot), {
      id: 'order.ship.failed:oms-ship-1',
      type: 'order.ship.failed',
      occurredAt: T1,
      payload: {
        id: 'order.ship.failed:oms-ship-1',
        type: 'order.ship.failed',
        occurredAt: T1,
        marketplace: 'amazon',
        orderId: ORDER_ID,
        requestId: 'oms-ship-1',
        code: 'InvalidInput',
        reason: 'carrierCode is required when carrierName is not a known carrier',
      },
    });
  });

  it('checks the order after a retryable failure and does not ship twice when it shows shipped', () => {
    const { snapshot, calls } = run(
      shippingSnapshot(),
      fail('shipOrder', RETRYABLE),
      done('backoff', undefined),
      done('getOrder', SHIPPED),
    );
    assert.equal(snapshot.value, 'shipped');
    assert.deepEqual(
      calls.map((c) => c.id),
      ['backoff', 'getOrder'],
    );
    assert.deepEqual(calls[0]?.input, { attempt: 1, retryAfterMs: 2000 });
    assert.deepEqual(calls[1]?.input, { marketplace: 'amazon', orderId: ORDER_ID });
    assert.deepEqual(types(snapshot), ['order.created']);
  });

  it('ships again when the check shows it not shipped', () => {
    const { snapshot, calls } = run(
      shippingSnapshot(),
      fail('shipOrder', RETRYABLE),
      done('backoff', undefined),
      done('getOrder', marketplaceOrder()),
    );
    assert.deepEqual(snapshot.value, { shipping: 'calling' });
    assert.deepEqual(
      calls.map((c) => c.id),
      ['backoff', 'getOrder', 'shipOrder'],
    );
  });

  it('gives up after maxAttempts retryable failures with order.ship.failed FAILED', () => {
    const { snapshot } = run(
      shippingSnapshot({ maxAttempts: 2 }),
      fail('shipOrder', RETRYABLE),
      done('backoff', undefined),
      done('getOrder', null),
      fail('shipOrder', RETRYABLE),
    );
    assert.equal(snapshot.value, 'open');
    const payload = lastMessage(snapshot)?.payload as { code: string; reason: string; type: string };
    assert.equal(payload.type, 'order.ship.failed');
    assert.equal(payload.code, 'FAILED');
    assert.equal(payload.reason, 'timeout after 30000 ms');
  });

  it('gives up at once on a terminal failure', () => {
    const { snapshot, calls } = send(shippingSnapshot(), fail('shipOrder', TERMINAL));
    assert.equal(snapshot.value, 'open');
    assert.deepEqual(calls, []);
    assert.equal(lastPayload(snapshot)['code'], 'FAILED');
  });

  it('answers an OMS cancel queued during the call with ALREADY_SHIPPED once it ships', () => {
    const { snapshot } = run(shippingSnapshot(), omsCancel(T2), done('shipOrder', DONE));
    assert.equal(snapshot.value, 'shipped');
    assert.equal(lastMessage(snapshot)?.id, 'order.cancel.failed:oms-cancel-1');
    assert.equal(lastPayload(snapshot)['code'], 'ALREADY_SHIPPED');
    assert.equal(snapshot.context.pendingCancel, null);
  });

  it('reports ORDER_CANCELLED and the cancellation when the check shows the order cancelled', () => {
    const { snapshot, calls } = run(
      shippingSnapshot(),
      fail('shipOrder', RETRYABLE),
      done('backoff', undefined),
      done('getOrder', CANCELLED),
    );
    assert.equal(snapshot.value, 'cancelled');
    assert.deepEqual(
      calls.map((c) => c.id),
      ['backoff', 'getOrder'],
    );
    assert.deepEqual(types(snapshot), ['order.created', 'order.ship.failed', 'order.cancelled']);
    assert.equal(snapshot.context.outbox[1]?.id, 'order.ship.failed:oms-ship-1');
  });

  it('stays open after a shipment of some lines only', () => {
    const twoLines = marketplaceOrder({
      lines: [
        { lineId: 'L1', sku: 'KURTA-BLU-M', quantity: 2 },
        { lineId: 'L2', sku: 'KURTA-RED-M', quantity: 1 },
      ],
    });
    const { snapshot } = run(openSnapshot({}, twoLines), omsShip(T1), done('shipOrder', DONE));
    assert.equal(snapshot.value, 'open');
    assert.deepEqual(snapshot.context.shippedQuantities, { L1: 2 });
  });

  it('only stores an order seen during the call', () => {
    const { snapshot } = send(shippingSnapshot(), seen(T2, marketplaceOrder({ updatedAt: T2 })));
    assert.deepEqual(snapshot.value, { shipping: 'calling' });
    assert.equal(snapshot.context.order?.updatedAt, T2);
  });
});

describe('cancelling', () => {
  it('cancels for the OMS and tells it cancelledBy seller', () => {
    const step = send(openSnapshot(), omsCancel(T1));
    assert.deepEqual(step.snapshot.value, { cancelling: 'calling' });
    assert.deepEqual(step.calls[0]?.input, {
      marketplace: 'amazon',
      request: { orderId: ORDER_ID, reason: 'out of stock', order: marketplaceOrder() },
    });
    const { snapshot } = send(step.snapshot, done('cancelOrder', DONE));
    assert.equal(snapshot.value, 'cancelled');
    const payload = lastMessage(snapshot)?.payload as {
      cancelledBy: string;
      reason: string;
      requestId: string;
    };
    assert.equal(payload.cancelledBy, 'seller');
    assert.equal(payload.reason, 'out of stock');
    assert.equal(payload.requestId, 'oms-cancel-1');
  });

  it('handles requests queued during a call in the order the OMS sent them', () => {
    const { snapshot, calls } = run(
      shippingSnapshot(),
      omsCancel(T2),
      omsShip(T3, 'oms-ship-2'),
      done('shipOrder', { status: 'refused', code: 'InvalidInput', reason: 'bad carrier' }),
    );
    assert.deepEqual(snapshot.value, { cancelling: 'calling' });
    assert.deepEqual(
      calls.map((c) => c.id),
      ['cancelOrder'],
    );
    assert.equal(snapshot.context.pendingShip?.omsEventId, 'oms-ship-2');
    const after = send(snapshot, done('cancelOrder', DONE)).snapshot;
    assert.equal(after.value, 'cancelled');
    assert.equal(lastMessage(after)?.id, 'order.ship.failed:oms-ship-2', 'the later ship is refused');
  });

  it('tells the OMS when Flipkart refuses a cancel after PACKED', () => {
    const packed = marketplaceOrder({
      marketplace: 'flipkart',
      status: 'packed',
      marketplaceStatus: 'PACKED',
    });
    const open = openSnapshot({ marketplace: 'flipkart' as MarketplaceId }, packed);
    const refused: OrderActionResult = {
      status: 'refused',
      code: 'CANCELLATION_NOT_ALLOWED',
      reason: 'Order item cannot be cancelled in PACKED state',
    };
    const { snapshot } = run(open, omsCancel(T1, 'oms-cancel-7'), done('cancelOrder', refused));
    assert.equal(snapshot.value, 'open');
    assert.deepEqual(lastMessage(snapshot)?.payload, {
      id: 'order.cancel.failed:oms-cancel-7',
      type: 'order.cancel.failed',
      occurredAt: T1,
      marketplace: 'flipkart',
      orderId: ORDER_ID,
      requestId: 'oms-cancel-7',
      code: 'CANCELLATION_NOT_ALLOWED',
      reason: 'Order item cannot be cancelled in PACKED state',
    });
  });

  it('takes a check that shows the order cancelled as done, without cancelling again', () => {
    const { snapshot, calls } = run(
      openSnapshot(),
      omsCancel(T1),
      fail('cancelOrder', RETRYABLE),
      done('backoff', undefined),
      done('getOrder', CANCELLED),
    );
    assert.equal(snapshot.value, 'cancelled');
    assert.deepEqual(
      calls.map((c) => c.id),
      ['cancelOrder', 'backoff', 'getOrder'],
    );
    assert.deepEqual(types(snapshot), ['order.created', 'order.cancelled']);
    assert.equal(lastPayload(snapshot)['cancelledBy'], 'seller');
  });
});

describe('shipped', () => {
  const shipped = (): OrderSnapshot => run(shippingSnapshot(), done('shipOrder', DONE)).snapshot;

  it('answers an OMS cancel with order.cancel.failed ALREADY_SHIPPED', () => {
    const { snapshot, calls } = send(shipped(), omsCancel(T2, 'oms-cancel-9'));
    assert.equal(snapshot.value, 'shipped');
    assert.deepEqual(calls, []);
    assert.equal(lastMessage(snapshot)?.id, 'order.cancel.failed:oms-cancel-9');
    assert.equal(lastPayload(snapshot)['code'], 'ALREADY_SHIPPED');
  });

  it('ignores a repeated OMS ship', () => {
    const before = shipped();
    const { snapshot, calls } = send(before, omsShip(T2, 'oms-ship-2'));
    assert.equal(snapshot.value, 'shipped');
    assert.deepEqual(calls, []);
    assert.deepEqual(snapshot.context.outbox, before.context.outbox);
  });
});

describe('cancelled', () => {
  it('answers an OMS ship with ORDER_CANCELLED and ignores a repeated cancel', () => {
    const cancelled = send(openSnapshot(), seen(T1, CANCELLED)).snapshot;
    const { snapshot } = run(cancelled, omsShip(T2), omsCancel(T3));
    assert.equal(snapshot.value, 'cancelled');
    assert.deepEqual(types(snapshot), ['order.created', 'order.cancelled', 'order.ship.failed']);
    assert.equal(lastPayload(snapshot)['code'], 'ORDER_CANCELLED');
  });
});

describe('event order', () => {
  it('ignores an OMS event whose seq is not newer than the last applied', () => {
    const open = openSnapshot();
    const last = orderLastEventSeq(open);
    const old: OrderEvent = { ...(omsCancel(T1) as Extract<OrderEvent, { type: 'OMS.CANCEL' }>), seq: last };
    const { snapshot, calls } = send(open, old);
    assert.equal(snapshot.value, 'open');
    assert.deepEqual(calls, []);
    assert.equal(snapshot.context.staleIgnored, 1);
    assert.equal(orderLastEventSeq(snapshot), last);

    const fresh = send(open, omsCancel(T1));
    assert.equal(orderLastEventSeq(fresh.snapshot), seq);
  });
});

describe('ship-by', () => {
  it('records a missed ship-by once, without a message', () => {
    const open = openSnapshot();
    assert.equal(nextDeadline(open), SHIP_BY);
    const { snapshot } = run(open, due(AFTER_SHIP_BY), due('2025-03-05T00:00:00+05:30'));
    assert.equal(snapshot.context.shipByMissedAt, AFTER_SHIP_BY);
    assert.deepEqual(types(snapshot), ['order.created']);
    assert.equal(nextDeadline(snapshot), undefined, 'fired: no timer to re-arm');
  });

  it('does not fire for a shipped or cancelled order', () => {
    const shipped = run(shippingSnapshot(), done('shipOrder', DONE), due(AFTER_SHIP_BY)).snapshot;
    assert.equal(shipped.context.shipByMissedAt, null);
    const cancelled = run(openSnapshot(), seen(T1, CANCELLED), due(AFTER_SHIP_BY)).snapshot;
    assert.equal(cancelled.context.shipByMissedAt, null);
  });

  it('gives the deadline to arm while the order can still ship', () => {
    assert.equal(nextDeadline(start()), undefined, 'not seen: no ship-by known');
    assert.equal(nextDeadline(shippingSnapshot()), SHIP_BY);
    assert.equal(nextDeadline(run(shippingSnapshot(), done('shipOrder', DONE)).snapshot), undefined);
    assert.equal(nextDeadline(send(openSnapshot(), seen(T1, CANCELLED)).snapshot), undefined);
    assert.equal(nextDeadline(openSnapshot({}, marketplaceOrder({ shipBy: undefined }))), undefined);
  });
});

describe('a persisted snapshot', () => {
  it('restores into an actor with its state and outbox', () => {
    const shipping = shippingSnapshot();
    const stored: unknown = JSON.parse(JSON.stringify(orderMachine.getPersistedSnapshot(shipping)));
    const actor = createActor(orderMachine, {
      snapshot: stored as OrderSnapshot,
      input: { marketplace: 'amazon', orderId: ORDER_ID },
    });
    assert.deepEqual(actor.getSnapshot().value, { shipping: 'calling' });
    assert.deepEqual(actor.getSnapshot().context, shipping.context);
    assert.deepEqual(types(actor.getSnapshot()), ['order.created']);
  });

  it('keeps the context JSON-safe', () => {
    const { snapshot } = run(shippingSnapshot(), omsCancel(T2), done('shipOrder', DONE));
    assert.deepEqual(JSON.parse(JSON.stringify(snapshot.context)), snapshot.context);
  });
});

describe('running with the effects provided', () => {
  it('retries through backoff and a read-back, as the runtime drives it', async () => {
    let shipCalls = 0;
    const machine = orderMachine.provide({
      actors: {
        shipOrder: fromPromise(async (): Promise<OrderActionResult> => {
          shipCalls += 1;
          if (shipCalls === 1) throw RETRYABLE;
          return DONE;
        }),
        cancelOrder: fromPromise(async (): Promise<OrderActionResult> => DONE),
        getOrder: fromPromise(async (): Promise<MarketplaceOrder | null> => marketplaceOrder()),
        backoff: fromPromise(async (): Promise<void> => {}),
      },
    });
    const actor = createActor(machine, { input: { marketplace: 'amazon', orderId: ORDER_ID } });
    actor.start();
    actor.send(seen(T0));
    actor.send(omsShip(T1));
    const snapshot = await waitFor(actor, (s) => s.matches('shipped'), { timeout: 1000 });
    actor.stop();
    assert.equal(shipCalls, 2);
    assert.deepEqual(types(snapshot), ['order.created']);
  });
});

describe('orderStateName and isOrderAtRest', () => {
  it('name the top-level state of nested and atomic values', () => {
    assert.equal(orderStateName({ value: { shipping: 'checking' } }), 'shipping');
    assert.equal(orderStateName({ value: 'open' }), 'open');
  });

  it('are at rest only with nothing in flight or waiting', () => {
    const idle = { call: null, pendingShip: null, pendingCancel: null };
    for (const name of ORDER_REST_STATES)
      assert.equal(isOrderAtRest({ value: name, context: idle }), true, name);
    for (const name of ['shipping', 'cancelling']) {
      assert.equal(isOrderAtRest({ value: { [name]: 'calling' }, context: idle }), false, name);
    }
    assert.equal(isOrderAtRest(shippingSnapshot()), false);
  });
});
