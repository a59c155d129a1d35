import { readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { type App, startApp } from '../app.js';
import { type Config, loadConfig, type RawEnv } from '../config/index.js';
import { decodeOmsMessage, type OmsEvent } from '../domain/oms.js';
import { LISTING_REST_STATES } from '../machines/index.js';
import {
  callsPerOperation,
  coalescedUpdates,
  eventLogOutcomes,
  formatCounts,
  listingStates,
  pendingActorEvents,
} from '../ops/report.js';
import { DATA_TABLES, migrate, openDatabase } from '../persistence/database.js';
import { createEmbeddedTransport } from '../streams/embedded.js';
import { startDemoMarketplaces } from './demo-marketplaces.js';
import { runDemoOrders } from './demo-orders.js';
import { expectedListings, naiveUpdateCount } from './expectations.js';

export interface DemoOptions {
  env: RawEnv;
  logger: Logger;
  /** The OMS feed to send (JSONL). */
  feedFile: string;
  /** Start from nothing: remove the demo's data folder first. */
  fresh: boolean;
  /** Where progress and the summary go. */
  out: (line: string) => void;
  /** Give up waiting for the listings to settle after this long. */
  timeoutMs: number;
}

const REST: ReadonlySet<string> = new Set(LISTING_REST_STATES);

/**
 * The whole path on one machine: embedded Postgres (unless DATABASE_URL is set), the embedded
 * queue, the Amazon sandbox and the middleware. Sends the feed, waits until every listing has
 * settled, checks each against the feed's final state as read back from the sandbox, and prints
 * a summary. Resumable: killed half-way and run again, it ends in the same state.
 */
export async function runDemo(opts: DemoOptions): Promise<number> {
  const { out } = opts;
  // Its own folder, so the demo's sandbox data never mixes with a real `start` in .marketbridge.
  const dataDir = resolve(opts.env.MARKETBRIDGE_DATA_DIR ?? join('.marketbridge', 'demo'));
  if (opts.fresh) {
    rmSync(dataDir, { recursive: true, force: true });
    out(`removed ${dataDir}`);
  }
  const lines = readFileSync(opts.feedFile, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
  const events = lines.flatMap((l) => {
    const r = decodeOmsMessage(l);
    return r.ok ? [r.event as OmsEvent] : [];
  });

  const marketplaces = await startDemoMarketplaces({
    stateDir: dataDir,
    applyDelayMs: Number(opts.env.DEMO_SANDBOX_APPLY_DELAY_MS ?? 300),
  });
  for (const m of marketplaces) out(`${m.label} sandbox running`);
  const ids = marketplaces.map((m) => m.id);

  let app: App | undefined;
  const started = Date.now();
  try {
    const config: Config = loadConfig({
      LOG_LEVEL: 'warn',
      VERIFY_DELAY_MS: '400',
      ACTOR_IDLE_MS: '5000',
      AMAZON_ORDER_POLL_MS: '2000',
      FLIPKART_ORDER_POLL_MS: '1000',
      TATACLIQ_ORDER_POLL_MS: '1000',
      AMAZON_FEED_POLL_MS: '1000',
      OUTBOX_POLL_MS: '200',
      ...opts.env,
      MARKETBRIDGE_DATA_DIR: dataDir,
      MQ_TRANSPORT: 'embedded',
      MARKETPLACES: ids.join(','),
      ...Object.assign({}, ...marketplaces.map((m) => m.env)),
    });
    if (opts.fresh && config.databaseUrl) {
      const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir });
      await migrate(db);
      await db.query(`truncate ${DATA_TABLES.join(', ')} restart identity`);
      await db.close();
      out('emptied the marketbridge tables in DATABASE_URL (--fresh)');
    }
    app = await startApp(config, { logger: opts.logger });
    out(`database: ${app.db.description}`);
    const queue = createEmbeddedTransport({ db: app.db, backoutQueue: config.queue.backout });
    await queue.publishMany(config.queue.inbound, lines);
    out(`sent ${lines.length} OMS events from ${opts.feedFile} to ${config.queue.inbound}`);

    const callsSoFar = () => {
      const per: Record<string, { calls: number; throttled: number }> = {};
      for (const [k, v] of app!.recorder.totals) {
        const m = k.slice(0, k.indexOf(' '));
        const t = per[m] ?? { calls: 0, throttled: 0 };
        t.calls += v.calls;
        t.throttled += v.throttled;
        per[m] = t;
      }
      return per;
    };
    let stable = 0;
    for (;;) {
      await new Promise((r) => setTimeout(r, 1000));
      const depth = await queue.depth(config.queue.inbound);
      const inbox = await pendingActorEvents(app.db);
      const states = await listingStates(app.db);
      const per = callsSoFar();
      const s = app.inboundStats;
      const elapsed = ((Date.now() - started) / 1000).toFixed(0).padStart(3);
      out(
        `[${elapsed}s] queue ${depth} · events ${s.accepted} new, ${s.duplicates} duplicate, ${s.rejected} rejected · ` +
          `listings ${formatCounts(states)} · calls ${marketplaces
            .map((m) => `${m.label} ${per[m.id]?.calls ?? 0} (429: ${per[m.id]?.throttled ?? 0})`)
            .join(', ')}`,
      );
      const settled =
        depth === 0 &&
        inbox === 0 &&
        app.runtime.isSettled() &&
        Object.keys(states).every((st) => REST.has(st)) &&
        marketplaces.every((m) => m.pending() === 0);
      stable = settled ? stable + 1 : 0;
      if (stable >= 2) break;
      if (Date.now() - started > opts.timeoutMs) {
        out(`gave up after ${opts.timeoutMs / 1000}s: listings have not settled`);
        return 1;
      }
    }
    await app.recorder.flush();

    // Check every (SKU, marketplace) against the feed's final state, as each sandbox shows it.
    const expected = expectedListings(events, ids);
    const rows = await app.db.query<{
      sku: string;
      marketplace: string;
      state: string;
      confirmed_price: string | null;
      confirmed_quantity: number | null;
    }>('select sku, marketplace, state, confirmed_price, confirmed_quantity from listing');
    const byKey = new Map(rows.map((r) => [`${r.marketplace}|${r.sku}`, r]));
    const problems: string[] = [];
    for (const e of expected) {
      const m = marketplaces.find((x) => x.id === e.marketplace)!;
      const row = byKey.get(`${e.marketplace}|${e.sku}`);
      const where = `${m.label} ${e.sku}`;
      if (!row) {
        problems.push(`${where}: no listing row`);
        continue;
      }
      if (e.present && row.state !== 'listed') problems.push(`${where}: state ${row.state}, expected listed`);
      if (!e.present && row.state !== 'delisted' && row.state !== 'unlisted')
        problems.push(`${where}: state ${row.state}, expected delisted`);
      if (e.present && (Number(row.confirmed_price) !== e.price || row.confirmed_quantity !== e.quantity))
        problems.push(
          `${where}: confirmed ${row.confirmed_price}/${row.confirmed_quantity}, expected ${e.price}/${e.quantity}`,
        );
      for (const p of m.check(e)) problems.push(`${where}: ${p}`);
    }

    // The order half: the sandboxes place orders, the demo answers as the OMS.
    const listed: Record<string, string[]> = {};
    for (const e of expected) {
      if (!e.present) continue;
      const skus = listed[e.marketplace] ?? [];
      skus.push(e.sku);
      listed[e.marketplace] = skus;
    }
    const orders = await runDemoOrders({
      app,
      marketplaces,
      queue,
      listed,
      ordersPerMarketplace: 8,
      out,
      timeoutMs: opts.timeoutMs,
    });
    problems.push(...orders.problems);

    const outcomes = await eventLogOutcomes(app.db, 'oms');
    const states = await listingStates(app.db);
    out('');
    out('── marketbridge demo summary ─────────────────────────────────────────');
    out(`elapsed this run        ${((Date.now() - started) / 1000).toFixed(1)} s`);
    out(`OMS events (all runs)   ${formatCounts(outcomes)}`);
    for (const m of marketplaces) {
      const calls = await callsPerOperation(app.db, m.id);
      const coalesced = await coalescedUpdates(app.db, m.id);
      const naive = naiveUpdateCount(events, m.id);
      const total = calls.reduce((a, c) => a + c.calls, 0);
      const throttled = calls.reduce((a, c) => a + c.throttled, 0);
      out('');
      out(`${m.label}: listings ${formatCounts(await listingStates(app.db, m.id))}`);
      out(`  calls (all runs on this database), for ${naive} price and stock events in the feed:`);
      for (const c of calls)
        out(`    ${c.operation.padEnd(22)}${String(c.calls).padStart(6)}   429s: ${c.throttled}`);
      out(`  ${total} calls, ${throttled} × 429, ${coalesced} coalesced updates`);
    }
    out('');
    out('orders (this run):');
    for (const line of orders.summary) out(`  ${line}`);
    out('');
    out(`all listings            ${formatCounts(states)}`);
    out(
      `final state check       ${problems.length === 0 ? `OK: ${expected.length} (SKU, marketplace) pairs match the feed, and every order is where the OMS put it, read back from the sandboxes` : `${problems.length} mismatches`}`,
    );
    for (const p of problems.slice(0, 20)) out(`  ✗ ${p}`);
    return problems.length === 0 ? 0 : 1;
  } finally {
    await app?.stop();
    for (const m of marketplaces) await m.stop();
  }
}
