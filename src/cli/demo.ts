import { readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { type App, startApp } from '../app.js';
import { type Config, loadConfig, type RawEnv } from '../config/index.js';
import { decodeOmsMessage, type OmsEvent } from '../domain/oms.js';
import { LISTING_REST_STATES } from '../machines/index.js';
import { createAmazonSandbox, sandboxEnv } from '../marketplaces/amazon/index.js';
import {
  callsPerOperation,
  coalescedUpdates,
  eventLogOutcomes,
  formatCounts,
  listingStates,
  pendingActorEvents,
} from '../ops/report.js';
import { migrate, openDatabase } from '../persistence/database.js';
import { createEmbeddedTransport } from '../streams/embedded.js';
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

/** Everything marketbridge writes; `--fresh` empties these when the demo runs on DATABASE_URL. */
const DEMO_TABLES = [
  'actor_inbox',
  'event_log',
  'actor_snapshot',
  'listing',
  'marketplace_call',
  'queue_message',
  'backout_message',
];

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

  const sandbox = createAmazonSandbox({
    stateFile: join(dataDir, 'sandbox', 'amazon.json'),
    applyDelayMs: Number(opts.env.DEMO_SANDBOX_APPLY_DELAY_MS ?? 300),
  });
  await sandbox.start(0);
  out(`Amazon sandbox listening on ${sandbox.url}`);

  let app: App | undefined;
  const started = Date.now();
  try {
    const config: Config = loadConfig({
      LOG_LEVEL: 'warn',
      VERIFY_DELAY_MS: '400',
      ACTOR_IDLE_MS: '5000',
      ...opts.env,
      MARKETBRIDGE_DATA_DIR: dataDir,
      MQ_TRANSPORT: 'embedded',
      MARKETPLACES: 'amazon',
      ...sandboxEnv(sandbox.url),
    });
    if (opts.fresh && config.databaseUrl) {
      const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir });
      await migrate(db);
      await db.query(`truncate ${DEMO_TABLES.join(', ')} restart identity`);
      await db.close();
      out('emptied the marketbridge tables in DATABASE_URL (--fresh)');
    }
    app = await startApp(config, { logger: opts.logger });
    out(`database: ${app.db.description}`);
    const queue = createEmbeddedTransport({ db: app.db, backoutQueue: config.queue.backout });
    await queue.publishMany(config.queue.inbound, lines);
    out(`sent ${lines.length} OMS events from ${opts.feedFile} to ${config.queue.inbound}`);

    const amazonCalls = () => {
      let calls = 0;
      let throttled = 0;
      for (const [k, v] of app!.recorder.totals) {
        if (!k.startsWith('amazon ')) continue;
        calls += v.calls;
        throttled += v.throttled;
      }
      return { calls, throttled };
    };
    let stable = 0;
    for (;;) {
      await new Promise((r) => setTimeout(r, 1000));
      const depth = await queue.depth(config.queue.inbound);
      const inbox = await pendingActorEvents(app.db);
      const states = await listingStates(app.db, 'amazon');
      const { calls, throttled } = amazonCalls();
      const s = app.inboundStats;
      const elapsed = ((Date.now() - started) / 1000).toFixed(0).padStart(3);
      out(
        `[${elapsed}s] queue ${depth} · events ${s.accepted} new, ${s.duplicates} duplicate, ${s.rejected} rejected · ` +
          `listings ${formatCounts(states)} · Amazon calls ${calls} (429: ${throttled})`,
      );
      const settled =
        depth === 0 &&
        inbox === 0 &&
        app.runtime.isSettled() &&
        Object.keys(states).every((st) => REST.has(st)) &&
        sandbox.control.pendingCount() === 0;
      stable = settled ? stable + 1 : 0;
      if (stable >= 2) break;
      if (Date.now() - started > opts.timeoutMs) {
        out(`gave up after ${opts.timeoutMs / 1000}s: listings have not settled`);
        return 1;
      }
    }
    await app.recorder.flush();

    // Check every listing against the feed's final state, as the sandbox shows it.
    const expected = expectedListings(events, ['amazon']);
    const shown = sandbox.control.snapshot();
    const rows = await app.db.query<{
      sku: string;
      state: string;
      confirmed_price: string | null;
      confirmed_quantity: number | null;
    }>("select sku, state, confirmed_price, confirmed_quantity from listing where marketplace = 'amazon'");
    const bySku = new Map(rows.map((r) => [r.sku, r]));
    const problems: string[] = [];
    for (const e of expected) {
      const row = bySku.get(e.sku);
      const live = shown[e.sku];
      if (!row) {
        problems.push(`${e.sku}: no listing row`);
        continue;
      }
      if (e.present) {
        if (row.state !== 'listed') problems.push(`${e.sku}: state ${row.state}, expected listed`);
        if (Number(row.confirmed_price) !== e.price || row.confirmed_quantity !== e.quantity)
          problems.push(
            `${e.sku}: confirmed ${row.confirmed_price}/${row.confirmed_quantity}, expected ${e.price}/${e.quantity}`,
          );
        if (!live?.exists || live.price !== e.price || live.quantity !== e.quantity)
          problems.push(
            `${e.sku}: sandbox shows ${live?.price}/${live?.quantity}, expected ${e.price}/${e.quantity}`,
          );
      } else {
        if (row.state !== 'delisted' && row.state !== 'unlisted')
          problems.push(`${e.sku}: state ${row.state}, expected delisted`);
        if (live?.exists && live.buyable) problems.push(`${e.sku}: still buyable on the sandbox`);
      }
    }

    const calls = await callsPerOperation(app.db, 'amazon');
    const outcomes = await eventLogOutcomes(app.db);
    const coalesced = await coalescedUpdates(app.db, 'amazon');
    const states = await listingStates(app.db, 'amazon');
    const patches = calls.find((c) => c.operation === 'patchListingsItem')?.calls ?? 0;
    const naive = naiveUpdateCount(events, 'amazon');
    const total429 = calls.reduce((a, c) => a + c.throttled, 0);

    out('');
    out('── marketbridge demo summary ─────────────────────────────────────────');
    out(`elapsed this run        ${((Date.now() - started) / 1000).toFixed(1)} s`);
    out(`OMS events (event_log)  ${formatCounts(outcomes)}`);
    out(`Amazon listings         ${formatCounts(states)}`);
    out('Amazon calls            (all runs on this database)');
    for (const c of calls)
      out(`  ${c.operation.padEnd(22)}${String(c.calls).padStart(6)}   429s: ${c.throttled}`);
    out(`429 responses           ${total429}`);
    out(`coalesced updates       ${coalesced}`);
    out(`Amazon PATCH calls      ${patches}, for ${naive} Amazon price and stock events in the feed`);
    out(
      `final state check       ${problems.length === 0 ? `OK: ${expected.length} listings match the feed, read back from the sandbox` : `${problems.length} mismatches`}`,
    );
    for (const p of problems.slice(0, 20)) out(`  ✗ ${p}`);
    return problems.length === 0 ? 0 : 1;
  } finally {
    await app?.stop();
    await sandbox.stop();
  }
}
