/**
 * `npm run bench`: a catalog-wide price change of N SKUs (default 50,000) to Amazon and to Flipkart,
 * on the sandboxes with their published rate limits scaled (default 5×), by marketbridge and by a
 * naive baseline that makes one call per OMS event (no coalescing, no batching, no feeds).
 *
 * Per marketplace:
 *  1. setup (not timed): the N SKUs are listed through marketbridge at a high scale;
 *  2. marketbridge: the app restarts at the benchmark scale, the OMS publishes one price.update per
 *     SKU, and the clock runs until the sandbox shows every new price (converged); it then waits
 *     until every listing actor has settled (marketbridge's own confirmation);
 *  3. naive: a second catalog-wide price change, sent by a loop of one call per event through the
 *     same published-rate limiter. It runs at most `--baseline-seconds`; when cut short, its time
 *     to converge is projected from the rate it reached (marked so).
 *
 * Ideal = the least time the published limits (× scale) allow for the work, with the sandbox's
 * own processing time where a marketplace has one (Amazon feeds), printed with the table.
 *
 * DATABASE_URL (a Postgres database the bench may empty) gives figures like the README's; without
 * it an embedded Postgres in a temporary folder is used.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { type App, startApp } from '../src/app.js';
import { loadConfig } from '../src/config/index.js';
import { systemClock } from '../src/core/clock.js';
import {
  AMAZON_RATE_LIMITS,
  AmazonSpApiClient,
  createAmazonSandbox,
  MAX_LISTINGS_FEED_MESSAGES,
  SANDBOX_CREDENTIALS,
  sandboxEnv,
} from '../src/marketplaces/amazon/index.js';
import {
  createFlipkartSandbox,
  FLIPKART_RATE_LIMITS,
  FlipkartClient,
  flipkartSandboxEnv,
} from '../src/marketplaces/flipkart/index.js';
import { FLIPKART_SANDBOX_CREDENTIALS } from '../src/marketplaces/flipkart/sandbox.js';
import { DATA_TABLES, migrate, openDatabase } from '../src/persistence/database.js';
import { createEmbeddedTransport } from '../src/streams/embedded.js';

const { values: args } = parseArgs({
  options: {
    skus: { type: 'string', default: '50000' },
    scale: { type: 'string', default: '5' },
    'setup-scale': { type: 'string', default: '200' },
    'baseline-seconds': { type: 'string', default: '60' },
    only: { type: 'string' },
  },
});
const N = Number(args.skus);
const SCALE = Number(args.scale);
const SETUP_SCALE = Number(args['setup-scale']);
const BASELINE_MS = Number(args['baseline-seconds']) * 1000;
const ONLY = args.only;

/**
 * The Amazon sandbox's feed processing model at 1× (ASSUMED; Amazon publishes no figure): a feed
 * waits 60 s in IN_QUEUE, then a seller's feeds are processed one after another at 50 messages/s
 * (a 25,000-message feed takes about 8 minutes). Scaled like the rate limits.
 */
const FEED_MODEL = { queueDelayMs: 60_000, processingDelayMs: 0, messagesPerSecond: 50 };

const out = (line = '') => process.stdout.write(`${line}\n`);
const logger = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

interface Figures {
  run: string;
  events: number;
  convergedMs: number;
  projected: boolean;
  settledMs?: number;
  calls: Map<string, number>;
  throttled: number;
  throttledBy?: Map<string, number>;
}

interface Target {
  id: 'amazon' | 'flipkart';
  label: string;
  env(scale: number): Record<string, string>;
  setRateScale(scale: number): void;
  /** The SKU's price as the marketplace shows it (cheap: it is asked five times a second). */
  priceOf(sku: string): number | undefined;
  /** Calls one price change the naive way (one event, one call). */
  naiveCall(sku: string, price: number, signal: AbortSignal): Promise<unknown>;
  naiveStats(): { calls: Map<string, number>; throttled: number };
  idealMs(skus: number): { ms: number; how: string };
  stop(): Promise<void>;
}

async function amazonTarget(): Promise<Target> {
  const sandbox = createAmazonSandbox({
    rateScale: SETUP_SCALE,
    applyDelayMs: 0,
    feedMessagesPerSecond: FEED_MODEL.messagesPerSecond * SCALE,
    feeds: {
      queueDelayMs: FEED_MODEL.queueDelayMs / SCALE,
      processingDelayMs: FEED_MODEL.processingDelayMs / SCALE,
    },
  });
  await sandbox.start(0);
  let naive: AmazonSpApiClient | undefined;
  const naiveCalls = new Map<string, number>();
  let naiveThrottled = 0;
  return {
    id: 'amazon',
    label: 'Amazon',
    env: (scale) => ({
      ...sandboxEnv(sandbox.url, scale),
      AMAZON_FEED_POLL_MS: '1000',
    }),
    setRateScale: (scale) => sandbox.control.setRateScale(scale),
    priceOf: (sku) => sandbox.control.priceOf(sku),
    naiveCall: (sku, price, signal) => {
      naive ??= new AmazonSpApiClient({
        endpoint: sandbox.url,
        lwaEndpoint: sandbox.url,
        clientId: SANDBOX_CREDENTIALS.clientId,
        clientSecret: () => SANDBOX_CREDENTIALS.clientSecret,
        refreshToken: SANDBOX_CREDENTIALS.refreshToken,
        sellerId: SANDBOX_CREDENTIALS.sellerId,
        rateScale: SCALE,
        recorder: {
          record: (c) => {
            naiveCalls.set(c.operation, (naiveCalls.get(c.operation) ?? 0) + 1);
            if (c.throttled) naiveThrottled++;
          },
        },
      });
      return naive.patchListingsItem(
        sku,
        {
          productType: 'PRODUCT',
          patches: [
            {
              op: 'replace',
              path: '/attributes/purchasable_offer',
              value: [
                {
                  marketplace_id: 'A21TJRUUN4KGV',
                  currency: 'INR',
                  audience: 'ALL',
                  our_price: [{ schedule: [{ value_with_tax: price }] }],
                },
              ],
            },
          ],
        },
        { priority: 'price', signal },
      );
    },
    naiveStats: () => ({ calls: naiveCalls, throttled: naiveThrottled }),
    idealMs: (skus) => {
      // Per SKU: one PATCH each at the published rate (the burst goes at once).
      const patch = AMAZON_RATE_LIMITS.patchListingsItem;
      const perSku = (Math.max(0, skus - patch.burst) / (patch.rate * SCALE)) * 1000;
      // Feeds: ⌈N/25,000⌉ feeds, at most 5 per 5 minutes (this N needs no wait), then the
      // sandbox's processing: the first queue wait, and every message at the modelled rate.
      const feeds = Math.ceil(skus / MAX_LISTINGS_FEED_MESSAGES);
      const windows = Math.floor((feeds - 1) / 5);
      const feed =
        (windows * 300_000) / SCALE +
        FEED_MODEL.queueDelayMs / SCALE +
        (feeds * FEED_MODEL.processingDelayMs) / SCALE +
        (skus / (FEED_MODEL.messagesPerSecond * SCALE)) * 1000;
      return feed < perSku
        ? {
            ms: feed,
            how: `${feeds} JSON_LISTINGS_FEED, queue ${seconds(FEED_MODEL.queueDelayMs / SCALE)} + ${skus} messages at ${FEED_MODEL.messagesPerSecond * SCALE}/s (one PATCH per SKU: ${seconds(perSku)})`,
          }
        : { ms: perSku, how: `${skus} PATCH at ${patch.rate * SCALE}/s` };
    },
    stop: async () => {
      await naive?.stop();
      await sandbox.stop();
    },
  };
}

async function flipkartTarget(): Promise<Target> {
  const sandbox = createFlipkartSandbox({ rateLimit: true, rateScale: SETUP_SCALE });
  await sandbox.start(0);
  let naive: FlipkartClient | undefined;
  const naiveCalls = new Map<string, number>();
  let naiveThrottled = 0;
  return {
    id: 'flipkart',
    label: 'Flipkart',
    env: (scale) => flipkartSandboxEnv(sandbox.url, scale),
    setRateScale: (scale) => sandbox.control.setRateScale(scale),
    priceOf: (sku) => sandbox.control.priceOf(sku),
    naiveCall: (sku, price, signal) => {
      const env = flipkartSandboxEnv(sandbox.url, SCALE);
      naive ??= new FlipkartClient({
        baseUrl: env.FLIPKART_BASE_URL!,
        tokenUrl: env.FLIPKART_TOKEN_URL!,
        appId: FLIPKART_SANDBOX_CREDENTIALS.appId,
        appSecret: () => FLIPKART_SANDBOX_CREDENTIALS.appSecret,
        rateScale: SCALE,
        clock: systemClock,
        recorder: {
          record: (c) => {
            naiveCalls.set(c.operation, (naiveCalls.get(c.operation) ?? 0) + 1);
            if (c.throttled) naiveThrottled++;
          },
        },
      });
      return naive.updatePrice([{ sku, sellingPrice: price, mrp: MRP }], { signal });
    },
    naiveStats: () => ({ calls: naiveCalls, throttled: naiveThrottled }),
    idealMs: (skus) => {
      const limit = FLIPKART_RATE_LIMITS.updatePrice;
      const calls = Math.ceil(skus / 10);
      return {
        ms: (Math.max(0, calls - limit.burst) / (limit.rate * SCALE)) * 1000,
        how: `${calls} price updates of 10 SKUs at ${limit.rate * SCALE}/s`,
      };
    },
    stop: async () => {
      await naive?.stop();
      await sandbox.stop();
    },
  };
}

const MRP = 100_000;
const skuOf = (i: number) => `BENCH-${String(i).padStart(6, '0')}`;
const listPrice = (i: number) => 10_000 + (i % 5000);

function listEvent(i: number, marketplace: string): string {
  return JSON.stringify({
    id: `BENCH-LIST-${i}`,
    type: 'product.list',
    occurredAt: '2026-12-01T09:00:00+05:30',
    sku: skuOf(i),
    marketplaces: [marketplace],
    title: `Benchmark product ${i}`,
    brand: 'Bench',
    ean: '8981519975873',
    productType: 'TELEVISION',
    price: listPrice(i),
    mrp: MRP,
    quantity: 5,
    attributes: {},
  });
}

function priceEvent(i: number, marketplace: string, price: number): string {
  return JSON.stringify({
    id: `BENCH-PRICE-${i}`,
    type: 'price.update',
    occurredAt: '2026-12-02T09:00:00+05:30',
    sku: skuOf(i),
    price,
    mrp: MRP,
    marketplaces: [marketplace],
  });
}

/**
 * Counts the SKUs whose marketplace price equals the expected one. Only SKUs not yet seen right
 * are looked at (a price once shown stays: nothing else changes it), so polling costs little.
 */
function convergence(target: Target, expected: Map<string, number>): () => number {
  const waiting = new Set(expected.keys());
  return () => {
    for (const sku of waiting) if (target.priceOf(sku) === expected.get(sku)) waiting.delete(sku);
    return expected.size - waiting.size;
  };
}

async function settle(app: App, label: string, since: number): Promise<void> {
  let last = 0;
  for (let stable = 0; stable < 2; ) {
    await sleep(500);
    stable = app.runtime.isSettled() ? stable + 1 : 0;
    if (Date.now() - last > 10_000) {
      last = Date.now();
      out(`    ${label}: ${app.inboundStats.accepted} events in, ${seconds(Date.now() - since)}`);
    }
  }
}

interface CallCounts {
  calls: Map<string, number>;
  throttled: number;
  /** 429s per operation. */
  throttledBy?: Map<string, number>;
}

function callsOf(app: App, marketplace: string): CallCounts {
  const calls = new Map<string, number>();
  const throttledBy = new Map<string, number>();
  let throttled = 0;
  for (const [k, v] of app.recorder.totals) {
    if (!k.startsWith(`${marketplace} `)) continue;
    calls.set(k.slice(marketplace.length + 1), v.calls);
    throttledBy.set(k.slice(marketplace.length + 1), v.throttled);
    throttled += v.throttled;
  }
  return { calls, throttled, throttledBy };
}

function diff(after: CallCounts, before: CallCounts): CallCounts {
  const calls = new Map<string, number>();
  const throttledBy = new Map<string, number>();
  for (const [k, v] of after.calls) {
    const d = v - (before.calls.get(k) ?? 0);
    if (d > 0) calls.set(k, d);
    const t = (after.throttledBy?.get(k) ?? 0) - (before.throttledBy?.get(k) ?? 0);
    if (t > 0) throttledBy.set(k, t);
  }
  return { calls, throttled: after.throttled - before.throttled, throttledBy };
}

async function benchMarketplace(target: Target, dbUrl: string | undefined, dataDir: string) {
  out(`\n${target.label}: ${N.toLocaleString('en')} SKUs, limits × ${SCALE}`);
  const db = await openDatabase({ databaseUrl: dbUrl, dataDir });
  await migrate(db);
  await db.query(`truncate ${DATA_TABLES.join(', ')} restart identity`);
  const start = (scale: number) =>
    startApp(
      loadConfig({
        LOG_LEVEL: 'warn',
        VERIFY_DELAY_MS: '200',
        ACTOR_IDLE_MS: '10000',
        MQ_TRANSPORT: 'embedded',
        MARKETPLACES: target.id,
        MARKETBRIDGE_DATA_DIR: dataDir,
        // Listings only: no order polls in the figures.
        AMAZON_ORDER_POLL_MS: '0',
        FLIPKART_ORDER_POLL_MS: '0',
        ...target.env(scale),
      }),
      { logger, db },
    );
  try {
    // 1. Setup: every SKU listed, through marketbridge, at a high scale (not timed).
    let t0 = Date.now();
    let app = await start(SETUP_SCALE);
    const queue = createEmbeddedTransport({ db, backoutQueue: app.config.queue.backout });
    const inbound = app.config.queue.inbound;
    await queue.publishMany(
      inbound,
      Array.from({ length: N }, (_, i) => listEvent(i, target.id)),
    );
    await settle(app, 'setup', t0);
    const listed = new Map(Array.from({ length: N }, (_, i) => [skuOf(i), listPrice(i)]));
    const shown = convergence(target, listed)();
    const setupCalls = [...callsOf(app, target.id).calls].map(([k, v]) => `${k} ${v}`).join(', ');
    out(`  setup: ${shown} of ${N} listed in ${seconds(Date.now() - t0)} (not timed; ${setupCalls})`);
    if (shown !== N) throw new Error(`setup incomplete: ${N - shown} SKUs not listed`);
    await app.stop();
    // The setup may have left the marketplace's buckets empty; the timed run starts as after any
    // quiet moment, with them refilled (a fresh process assumes full buckets).
    await sleep(5_000);

    // 2. marketbridge at the benchmark scale.
    target.setRateScale(SCALE);
    app = await start(SCALE);
    const before = callsOf(app, target.id);
    const expected = new Map(Array.from({ length: N }, (_, i) => [skuOf(i), listPrice(i) - 1000]));
    t0 = Date.now();
    await queue.publishMany(
      inbound,
      Array.from({ length: N }, (_, i) => priceEvent(i, target.id, listPrice(i) - 1000)),
    );
    let convergedMs = 0;
    let lastReport = t0;
    const matching = convergence(target, expected);
    for (;;) {
      await sleep(200);
      const n = matching();
      if (n === N) {
        convergedMs = Date.now() - t0;
        break;
      }
      if (Date.now() - lastReport > 10_000) {
        lastReport = Date.now();
        out(`    marketbridge: ${n} of ${N} new prices live, ${seconds(Date.now() - t0)}`);
      }
    }
    await settle(app, 'confirming', t0);
    const settledMs = Date.now() - t0;
    await app.recorder.flush();
    const mb = diff(callsOf(app, target.id), before);
    await app.stop();
    const marketbridge: Figures = {
      run: 'marketbridge',
      events: N,
      convergedMs,
      projected: false,
      settledMs,
      ...mb,
    };

    // 3. The naive baseline: one call per event, in order, through the same published limiter.
    const naivePrice = (i: number) => listPrice(i) - 2000;
    const naiveExpected = new Map(Array.from({ length: N }, (_, i) => [skuOf(i), naivePrice(i)]));
    const abort = new AbortController();
    t0 = Date.now();
    let done = 0;
    const calls = Array.from({ length: N }, (_, i) =>
      target.naiveCall(skuOf(i), naivePrice(i), abort.signal).then(
        () => done++,
        () => {},
      ),
    );
    let naiveMs = 0;
    let projected = false;
    const naiveMatching = convergence(target, naiveExpected);
    for (;;) {
      await sleep(200);
      if (naiveMatching() === N) {
        naiveMs = Date.now() - t0;
        break;
      }
      if (Date.now() - t0 >= BASELINE_MS) {
        const elapsed = Date.now() - t0;
        naiveMs = (elapsed * N) / Math.max(1, done);
        projected = true;
        abort.abort(new Error('baseline cut short'));
        break;
      }
    }
    await Promise.allSettled(calls);
    const naive: Figures = {
      run: 'naive',
      events: N,
      convergedMs: naiveMs,
      projected,
      ...target.naiveStats(),
    };
    if (projected) {
      out(
        `  naive: ${done} of ${N} calls answered in ${seconds(BASELINE_MS)}; the rest projected at that rate`,
      );
    }
    return { marketbridge, naive, ideal: target.idealMs(N) };
  } finally {
    await db.close();
  }
}

function table(label: string, r: Awaited<ReturnType<typeof benchMarketplace>>): string[] {
  const rows: string[] = [];
  for (const f of [r.marketbridge, r.naive]) {
    const total = [...f.calls.values()].reduce((a, b) => a + b, 0);
    const ops = [...f.calls]
      .sort((a, b) => b[1] - a[1])
      .map(([op, n]) => {
        const t = f.throttledBy?.get(op) ?? 0;
        return t > 0 ? `${op} ${n} (429: ${t})` : `${op} ${n}`;
      })
      .join(', ');
    rows.push(
      [
        label.padEnd(9),
        f.run.padEnd(13),
        String(f.events).padStart(7),
        `${f.projected ? '~' : ' '}${seconds(f.convergedMs)}`.padStart(11),
        seconds(r.ideal.ms).padStart(9),
        `${(f.convergedMs / r.ideal.ms).toFixed(2)}×`.padStart(7),
        (f.settledMs !== undefined ? seconds(f.settledMs) : '—').padStart(10),
        String(total).padStart(7),
        String(f.throttled).padStart(5),
        `  ${ops}`,
      ].join(' '),
    );
  }
  return rows;
}

const dbUrl = process.env.DATABASE_URL;
const dataDir = mkdtempSync(join(tmpdir(), 'marketbridge-bench-'));
out(
  `marketbridge benchmark: catalog-wide price change of ${N} SKUs, published limits × ${SCALE}, database ${dbUrl ? 'DATABASE_URL' : 'embedded'}`,
);
const results: string[] = [];
const ideals: string[] = [];
try {
  for (const make of [amazonTarget, flipkartTarget]) {
    const target = await make();
    try {
      if (ONLY && ONLY !== target.id) continue;
      const r = await benchMarketplace(target, dbUrl, dataDir);
      results.push(...table(target.label, r));
      ideals.push(`  ${target.label}: ${seconds(r.ideal.ms)} = ${r.ideal.how}`);
    } finally {
      await target.stop();
    }
  }
} catch (err) {
  // Expected failures (no such database, a port taken) read as one line.
  process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
if (process.exitCode === 1) process.exit(1);
out('');
out(
  `${'market'.padEnd(9)} ${'run'.padEnd(13)} ${'events'.padStart(7)} ${'converged'.padStart(11)} ${'ideal'.padStart(9)} ${'ratio'.padStart(7)} ${'confirmed'.padStart(10)} ${'calls'.padStart(7)} ${'429s'.padStart(5)}`,
);
for (const r of results) out(r);
out('');
out('converged: from the first OMS event published until the sandbox shows every new price.');
out('confirmed: until every marketbridge listing actor has settled (its own read-back or feed report).');
out('~: the naive run was cut short; its time is projected from the calls it got answered.');
out('ideal (the least time the published limits, scaled, allow for the work):');
for (const i of ideals) out(i);
