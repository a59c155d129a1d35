/**
 * Order actors in the runtime against the real PostgreSQL: messages to the OMS land in `outbox`
 * with the snapshot (and the stored snapshot keeps no address), the read model follows, and the
 * ship-by deadline is a durable timer that fires once after a restart that happened past it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { orderKind } from '../../src/actors/order-kind.js';
import { ActorRuntime } from '../../src/actors/runtime.js';
import { systemClock } from '../../src/core/clock.js';
import type { MarketplaceOrder, OrderActionResult } from '../../src/domain/orders.js';
import type { OrderActions } from '../../src/marketplaces/orders.js';
import { createTestDatabase, type TestDatabase, waitFor } from '../helpers/db.js';

const logger = pino({ level: 'silent' });

class FakeOrderActions implements OrderActions {
  readonly marketplace = 'amazon' as const;
  readonly calls: string[] = [];
  shipAnswer: OrderActionResult = { status: 'done' };
  async ship(req: { orderId: string }): Promise<OrderActionResult> {
    this.calls.push(`ship ${req.orderId}`);
    return this.shipAnswer;
  }
  async cancel(req: { orderId: string }): Promise<OrderActionResult> {
    this.calls.push(`cancel ${req.orderId}`);
    return { status: 'done' };
  }
  async get(): Promise<MarketplaceOrder | null> {
    return null;
  }
}

function seen(orderId: string, shipBy: string): MarketplaceOrder {
  return {
    marketplace: 'amazon',
    orderId,
    status: 'unshipped',
    marketplaceStatus: 'Unshipped',
    purchasedAt: '2026-12-03T09:00:00Z',
    updatedAt: '2026-12-03T09:05:00Z',
    shipBy,
    total: 1499,
    currency: 'INR',
    lines: [{ lineId: `${orderId}-L1`, sku: 'SAM-TV-1001', quantity: 1, unitPrice: 1499 }],
    shippingAddress: {
      name: 'Asha Rao',
      addressLine1: '12 MG Road',
      city: 'Bengaluru',
      phone: '+919800000000',
    },
  };
}

function runtimeOn(t: TestDatabase, actions: OrderActions) {
  return new ActorRuntime({
    db: t.db,
    clock: systemClock,
    logger,
    idleMs: 60_000,
    flushMs: 5,
    wakeSweepMs: 30,
    kinds: [
      orderKind({
        actions: { amazon: actions },
        clock: systemClock,
        retryBaseMs: 10,
        retryMaxMs: 50,
        outboundQueue: 'MARKETPLACE.OMS.EVENTS',
      }),
    ],
  });
}

let t: TestDatabase;
before(async () => {
  t = await createTestDatabase();
});
after(async () => {
  await t.drop();
});

describe('order actors (real PostgreSQL)', () => {
  it('order.created goes to the outbox with the snapshot; the stored snapshot keeps no address', async () => {
    const actions = new FakeOrderActions();
    const rt = runtimeOn(t, actions);
    await rt.start();
    const key = 'order:amazon:171-0000001-0000001';
    await rt.deliver(key, {
      type: 'ORDER.SEEN',
      seq: 1,
      occurredAt: '2026-12-03T09:05:00Z',
      order: seen('171-0000001-0000001', '2099-01-01T00:00:00Z'),
    });
    await rt.deliver(key, {
      type: 'OMS.SHIP',
      seq: 2,
      occurredAt: '2026-12-03T10:00:00Z',
      omsEventId: 'OMS-SHIP-1',
      lines: [{ lineId: '171-0000001-0000001-L1', quantity: 1 }],
      carrier: 'Delhivery',
      trackingNumber: 'AWB1',
      shippedAt: '2026-12-03T10:00:00Z',
    });
    await waitFor('shipped and written', async () => {
      const r = await t.db.query<{ state: string }>(
        'select state from marketplace_order where order_id = ?',
        ['171-0000001-0000001'],
      );
      return r[0]?.state === 'shipped' && rt.isSettled();
    });
    await rt.stop();
    assert.deepEqual(actions.calls, ['ship 171-0000001-0000001']);
    const out = await t.db.query<{ id: string; payload: { shippingAddress?: { name: string } } }>(
      'select id, payload from outbox order by seq',
    );
    assert.deepEqual(
      out.map((o) => o.id),
      ['order.created:amazon:171-0000001-0000001'],
    );
    assert.equal(out[0]!.payload.shippingAddress?.name, 'Asha Rao', 'the OMS gets the address');
    const snap = await t.db.query<{ s: string }>(
      'select snapshot::text as s from actor_snapshot where actor_key = ?',
      [key],
    );
    assert.ok(!snap[0]!.s.includes('Asha Rao') && !snap[0]!.s.includes('+919800000000'));
  });

  it('a ship-by deadline that passes while the process is down fires once after the restart', async () => {
    const actions = new FakeOrderActions();
    const key = 'order:amazon:171-0000002-0000002';
    const shipBy = new Date(Date.now() + 400).toISOString();
    const first = runtimeOn(t, actions);
    await first.start();
    await first.deliver(key, {
      type: 'ORDER.SEEN',
      seq: 10,
      occurredAt: '2026-12-03T09:05:00Z',
      order: seen('171-0000002-0000002', shipBy),
    });
    await waitFor('written', () => first.isSettled());
    await first.stop(); // "down" before the deadline
    const row = await t.db.query<{ wake_at: string | null }>(
      'select wake_at from actor_snapshot where actor_key = ?',
      [key],
    );
    assert.equal(new Date(row[0]!.wake_at!).toISOString(), shipBy, 'the timer is stored with the snapshot');

    await new Promise((r) => setTimeout(r, 600)); // the deadline passes while nothing runs
    const second = runtimeOn(t, actions);
    await second.start();
    await waitFor('the deadline fired', async () => {
      const r = await t.db.query<{ missed: Date | null }>(
        'select ship_by_missed_at as missed from marketplace_order where order_id = ?',
        ['171-0000002-0000002'],
      );
      return r[0]?.missed != null;
    });
    await new Promise((r) => setTimeout(r, 200)); // more sweeps: it must not fire again
    await second.stop();
    const after1 = await t.db.query<{ missed: Date; wake_at: Date | null; version: number }>(
      `select o.ship_by_missed_at as missed, s.wake_at, s.version from marketplace_order o
       join actor_snapshot s on s.actor_key = 'order:amazon:' || o.order_id where o.order_id = ?`,
      ['171-0000002-0000002'],
    );
    assert.equal(after1[0]!.wake_at, null, 'nothing left to wake');

    const third = runtimeOn(t, actions);
    await third.start();
    await new Promise((r) => setTimeout(r, 200));
    await third.stop();
    const after2 = await t.db.query<{ missed: Date; version: number }>(
      `select o.ship_by_missed_at as missed, s.version from marketplace_order o
       join actor_snapshot s on s.actor_key = 'order:amazon:' || o.order_id where o.order_id = ?`,
      ['171-0000002-0000002'],
    );
    assert.equal(String(after2[0]!.missed), String(after1[0]!.missed));
    assert.equal(after2[0]!.version, after1[0]!.version, 'a third start does not touch it');
  });
});
