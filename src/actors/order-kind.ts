import { type AnyMachineSnapshot, fromPromise } from 'xstate';
import type { Clock } from '../core/clock.js';
import { TerminalError } from '../core/errors.js';
import type { MarketplaceId } from '../domain/types.js';
import {
  type CancelOrderInput,
  type GetOrderInput,
  isOrderAtRest,
  nextDeadline,
  ORDER_MACHINE_VERSION,
  ORDER_REST_STATES,
  type OrderBackoffInput,
  type OrderContext,
  orderLastEventSeq,
  orderMachine,
  orderStateName,
  type ShipOrderInput,
} from '../machines/index.js';
import type { OrderActions } from '../marketplaces/orders.js';
import type { Sql } from '../persistence/database.js';
import { parseOrderKey } from '../streams/routing.js';
import { backoffWait, effect } from './effects.js';
import type { ActorKind } from './runtime.js';

export interface OrderEffectsOptions {
  actions: Partial<Record<MarketplaceId, OrderActions>>;
  clock: Clock;
  retryBaseMs: number;
  retryMaxMs: number;
  /** Where messages to the OMS go (the outbox rows name it). */
  outboundQueue: string;
  random?: () => number;
}

/**
 * The order machine with its effects: ship, cancel and read through each marketplace's
 * OrderActions, backoff on the clock; its messages to the OMS and the `marketplace_order` read
 * model are written with its snapshot; its ship-by deadline is a durable timer (`wake_at`).
 */
export function orderKind(opts: OrderEffectsOptions): ActorKind {
  const random = opts.random ?? Math.random;
  const actions = (m: MarketplaceId) => {
    const a = opts.actions[m];
    if (!a) throw new TerminalError(`orders on ${m} are not enabled`);
    return a;
  };
  const logic = orderMachine.provide({
    actors: {
      shipOrder: fromPromise(({ input, signal }: { input: ShipOrderInput; signal: AbortSignal }) =>
        effect(() => actions(input.marketplace).ship(input.request, { signal })),
      ),
      cancelOrder: fromPromise(({ input, signal }: { input: CancelOrderInput; signal: AbortSignal }) =>
        effect(() => actions(input.marketplace).cancel(input.request, { signal })),
      ),
      getOrder: fromPromise(({ input, signal }: { input: GetOrderInput; signal: AbortSignal }) =>
        effect(() => actions(input.marketplace).get(input.orderId, { signal })),
      ),
      backoff: fromPromise(({ input, signal }: { input: OrderBackoffInput; signal: AbortSignal }) =>
        backoffWait(opts, random, input, signal),
      ),
    },
  });

  return {
    prefix: 'order',
    machine: 'order',
    version: ORDER_MACHINE_VERSION,
    logic,
    restStates: ORDER_REST_STATES,
    input: (key) => parseOrderKey(key),
    isAtRest: (s) => isOrderAtRest(s as never),
    stateName: (s) => orderStateName(s),
    lastEventSeq: (s) => orderLastEventSeq(s as never),
    writeReadModels: (tx, items) => writeOrderRows(tx, items, opts.outboundQueue),
    wakeAt: (s) => nextDeadline(s as never),
    wakeEvent: (at) => ({ type: 'SHIP_BY.DUE', at }),
    persistable: (persisted) => withoutBuyerData(persisted),
  };
}

/**
 * The snapshot as stored: the buyer's address is dropped from the order and from the messages
 * (the outbox row written in the same transaction keeps it until the OMS has it).
 */
function withoutBuyerData(persisted: unknown): unknown {
  const p = persisted as { context?: OrderContext };
  const c = p.context;
  if (!c) return persisted;
  const order = c.order?.shippingAddress ? { ...c.order, shippingAddress: undefined } : c.order;
  const outbox = c.outbox.map((m) => {
    const payload = m.payload as { shippingAddress?: unknown };
    if (payload.shippingAddress === undefined) return m;
    return { ...m, payload: { ...m.payload, shippingAddress: undefined } };
  });
  return JSON.parse(JSON.stringify({ ...p, context: { ...c, order, outbox } }));
}

/** `marketplace_order` rows and the actors' messages to the OMS, in the snapshot transaction. */
async function writeOrderRows(
  tx: Sql,
  items: { key: string; snapshot: AnyMachineSnapshot }[],
  queue: string,
): Promise<void> {
  const rows = items.map(({ snapshot }) => {
    const c = snapshot.context as OrderContext;
    return {
      marketplace: c.marketplace,
      order_id: c.orderId,
      state: orderStateName(snapshot),
      marketplace_status: c.order?.marketplaceStatus ?? null,
      purchased_at: c.order?.purchasedAt ?? null,
      ship_by: c.order?.shipBy ?? null,
      ship_by_missed_at: c.shipByMissedAt,
      total: c.order?.total ?? null,
      currency: c.order?.currency ?? null,
      line_count: c.order?.lines.length ?? 0,
      last_error: c.lastError,
      last_event_id: c.lastEventSeq,
    };
  });
  await tx.query(
    `insert into marketplace_order (marketplace, order_id, state, marketplace_status, purchased_at, ship_by,
                                    ship_by_missed_at, total, currency, line_count, last_error, last_event_id, updated_at)
     select r.marketplace, r.order_id, r.state, r.marketplace_status, r.purchased_at, r.ship_by, r.ship_by_missed_at,
            r.total, r.currency, r.line_count, r.last_error, r.last_event_id, now()
     from jsonb_to_recordset(?::jsonb) as r(marketplace text, order_id text, state text, marketplace_status text,
          purchased_at timestamptz, ship_by timestamptz, ship_by_missed_at timestamptz, total numeric, currency text,
          line_count int, last_error text, last_event_id bigint)
     on conflict (marketplace, order_id) do update set state = excluded.state,
       marketplace_status = excluded.marketplace_status, purchased_at = excluded.purchased_at,
       ship_by = excluded.ship_by, ship_by_missed_at = excluded.ship_by_missed_at, total = excluded.total,
       currency = excluded.currency, line_count = excluded.line_count, last_error = excluded.last_error,
       last_event_id = excluded.last_event_id, updated_at = excluded.updated_at`,
    [JSON.stringify(rows)],
  );
  const messages = items.flatMap(({ key, snapshot }) =>
    (snapshot.context as OrderContext).outbox.map((m) => ({
      id: m.id,
      type: m.type,
      actor_key: key,
      payload: m.payload,
    })),
  );
  if (messages.length > 0) {
    await tx.query(
      `insert into outbox (id, queue, type, actor_key, payload)
       select r.id, ?, r.type, r.actor_key, r.payload
       from jsonb_to_recordset(?::jsonb) as r(id text, type text, actor_key text, payload jsonb)
       on conflict (id) do nothing`,
      [queue, JSON.stringify(messages)],
    );
  }
}
