/**
 * The demo's order half: once the listings have settled, each sandbox produces orders for SKUs it
 * lists; marketbridge polls them and tells the OMS (`order.created`); the demo answers as an OMS
 * would — it ships most, cancels some — and a buyer cancels one per marketplace where the
 * marketplace shows that at once. At the end every order must be where its answer put it, on the
 * marketplace as well as in `marketplace_order`.
 */
import type { App } from '../app.js';
import type { OrderStatus } from '../domain/orders.js';
import type { MarketplaceId } from '../domain/types.js';
import type { EmbeddedTransport } from '../streams/embedded.js';
import type { DemoMarketplace } from './demo-marketplaces.js';

export interface DemoOrdersOptions {
  app: App;
  marketplaces: DemoMarketplace[];
  /** The embedded queue (inbound for the OMS's answers, outbound for what marketbridge sends). */
  queue: EmbeddedTransport;
  /** SKUs each marketplace lists at the end of the feed. */
  listed: Record<string, string[]>;
  ordersPerMarketplace: number;
  out: (line: string) => void;
  timeoutMs: number;
}

interface OutMessage {
  id: string;
  type: string;
  marketplace: MarketplaceId;
  orderId: string;
  lines?: { lineId: string; quantity: number }[];
  cancelledBy?: string;
  reason?: string;
}

type Plan = 'ship' | 'oms-cancel' | 'buyer-cancel';

export interface DemoOrdersResult {
  problems: string[];
  summary: string[];
}

export async function runDemoOrders(opts: DemoOrdersOptions): Promise<DemoOrdersResult> {
  const { app, queue, out } = opts;
  const plans = new Map<string, Plan>(); // `${marketplace}:${orderId}`
  const labels = new Map(opts.marketplaces.map((m) => [m.id, m.label]));
  const seed = Math.floor(Date.now() / 1000) % 100_000;
  for (const [i, m] of opts.marketplaces.entries()) {
    const skus = opts.listed[m.id] ?? [];
    if (skus.length === 0) continue;
    const ids = m.orders.create(opts.ordersPerMarketplace, skus, seed + i);
    ids.forEach((id, k) => {
      // The first order the buyer cancels (where the marketplace shows that at once), every
      // fourth the OMS cancels (no stock at the store), the rest it ships.
      const plan: Plan =
        k === 0 && m.orders.buyerCancelShowsAtOnce ? 'buyer-cancel' : k % 4 === 1 ? 'oms-cancel' : 'ship';
      plans.set(`${m.id}:${id}`, plan);
    });
  }
  out(`orders: the sandboxes placed ${plans.size} orders; answering as the OMS would`);

  const seen = new Map<string, OutMessage[]>();
  let requestSeq = 0;
  const sub = queue.consume(app.config.queue.outbound, { prefetch: 50 }).subscribe({
    next: (d) => {
      void (async () => {
        let msg: OutMessage | undefined;
        try {
          msg = JSON.parse(d.body) as OutMessage;
        } catch {
          msg = undefined;
        }
        if (msg) {
          const key = `${msg.marketplace}:${msg.orderId}`;
          seen.set(key, [...(seen.get(key) ?? []), msg]);
          const plan = plans.get(key);
          if (msg.type === 'order.created' && plan) {
            const m = opts.marketplaces.find((x) => x.id === msg!.marketplace);
            const now = new Date().toISOString();
            const base = {
              id: `DEMO-OMS-${seed}-${++requestSeq}`,
              occurredAt: now,
              marketplace: msg.marketplace,
              orderId: msg.orderId,
            };
            if (plan === 'buyer-cancel') m?.orders.buyerCancel(msg.orderId);
            else if (plan === 'oms-cancel')
              await queue.publish(
                app.config.queue.inbound,
                JSON.stringify({ ...base, type: 'order.cancel', reason: 'no stock at the store' }),
              );
            else
              await queue.publish(
                app.config.queue.inbound,
                JSON.stringify({
                  ...base,
                  type: 'order.ship',
                  lines: (msg.lines ?? []).map((l) => ({ lineId: l.lineId, quantity: l.quantity })),
                  carrier: 'Delhivery',
                  trackingNumber: `DL${seed}${String(requestSeq).padStart(5, '0')}`,
                  shippedAt: now,
                }),
              );
          }
        }
        await d.accept();
      })();
    },
  });

  const want = (plan: Plan): string => (plan === 'ship' ? 'shipped' : 'cancelled');
  const started = Date.now();
  let states = new Map<string, string>();
  try {
    for (;;) {
      await new Promise((r) => setTimeout(r, 1000));
      const rows = await app.db.query<{ k: string; state: string }>(
        `select marketplace || ':' || order_id as k, state from marketplace_order`,
      );
      states = new Map(rows.map((r) => [r.k, r.state]));
      const done = [...plans].filter(([k, p]) => states.get(k) === want(p)).length;
      const unsent = await app.db.query<{ n: string }>(
        'select count(*) as n from outbox where sent_at is null',
      );
      out(
        `[orders ${((Date.now() - started) / 1000).toFixed(0).padStart(3)}s] ${done} of ${plans.size} orders where the OMS put them · ` +
          `${[...seen.values()].filter((v) => v.some((x) => x.type === 'order.created')).length} forwarded · outbox unsent ${unsent[0]?.n ?? 0}`,
      );
      if (done === plans.size && Number(unsent[0]?.n ?? 0) === 0) break;
      if (Date.now() - started > opts.timeoutMs) {
        out(`gave up after ${opts.timeoutMs / 1000}s: orders have not all settled`);
        break;
      }
    }
    await new Promise((r) => setTimeout(r, 500)); // the last messages reach the OMS
  } finally {
    sub.unsubscribe();
  }

  const problems: string[] = [];
  for (const [key, plan] of plans) {
    const [marketplace, ...rest] = key.split(':');
    const orderId = rest.join(':');
    const m = opts.marketplaces.find((x) => x.id === marketplace)!;
    const where = `${m.label} order ${orderId}`;
    if (states.get(key) !== want(plan))
      problems.push(`${where}: ${states.get(key) ?? 'not imported'}, expected ${want(plan)}`);
    const shown: OrderStatus | undefined = m.orders.snapshot()[orderId]?.status;
    const ok = plan === 'ship' ? shown === 'shipped' || shown === 'packed' : shown === 'cancelled';
    if (!ok) problems.push(`${where}: the marketplace shows ${shown ?? 'nothing'} (${plan})`);
    const msgs = seen.get(key) ?? [];
    const created = msgs.filter((x) => x.type === 'order.created').length;
    if (created !== 1) problems.push(`${where}: ${created} × order.created`);
    const cancelled = msgs.filter((x) => x.type === 'order.cancelled').length;
    if (cancelled !== (plan === 'ship' ? 0 : 1)) problems.push(`${where}: ${cancelled} × order.cancelled`);
  }

  const summary: string[] = [];
  for (const m of opts.marketplaces) {
    const mine = [...plans].filter(([k]) => k.startsWith(`${m.id}:`));
    if (mine.length === 0) continue;
    const count = (p: Plan) => mine.filter(([k, plan]) => plan === p && states.get(k) === want(plan)).length;
    const msgs = mine.flatMap(([k]) => seen.get(k) ?? []);
    summary.push(
      `${(labels.get(m.id) ?? m.id).padEnd(10)} imported ${mine.filter(([k]) => states.has(k)).length}, ` +
        `forwarded ${msgs.filter((x) => x.type === 'order.created').length}, shipped ${count('ship')}, ` +
        `cancelled ${count('oms-cancel')} by the OMS + ${count('buyer-cancel')} by the buyer, ` +
        `refused ${msgs.filter((x) => x.type.endsWith('.failed')).length}`,
    );
  }
  return { problems, summary };
}
