/**
 * The whole path through the composition root: real PostgreSQL, the embedded queue, the Amazon
 * sandbox over HTTP, and the app as `marketbridge start` builds it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { type App, startApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/index.js';
import { type AmazonSandbox, createAmazonSandbox, sandboxEnv } from '../../src/marketplaces/amazon/index.js';
import { callsPerOperation, pendingActorEvents } from '../../src/ops/report.js';
import { createEmbeddedTransport } from '../../src/streams/embedded.js';
import { createTestDatabase, type TestDatabase, waitFor } from '../helpers/db.js';

const logger = pino({ level: 'silent' });
const QUEUE = 'OMS.MARKETPLACE.EVENTS';
const T0 = Date.parse('2026-11-20T09:00:00+05:30');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

const product = (id: string, sku: string, s: number, price: number, quantity: number) =>
  JSON.stringify({
    id,
    type: 'product.list',
    occurredAt: at(s),
    sku,
    marketplaces: ['amazon'],
    title: `TV ${sku}`,
    brand: 'Acme',
    ean: '8901234567890',
    productType: 'TELEVISION',
    price,
    mrp: 99_000,
    quantity,
    attributes: { color: 'Black' },
  });

/** Three SKUs listed; a burst of 20 prices and 10 stock updates on one; the third delisted. */
function feed(): { lines: string[]; last: { price: number; quantity: number } } {
  const lines = [
    product('E2E-1', 'E2E-TV-1', 0, 50_000, 10),
    product('E2E-2', 'LG/WM 8KG+STEAM,BLK', 1, 30_000, 5),
    product('E2E-3', 'E2E-TV-3', 2, 40_000, 7),
  ];
  let price = 0;
  let quantity = 0;
  for (let i = 0; i < 20; i++) {
    price = 45_000 + i * 100;
    lines.push(
      JSON.stringify({
        id: `E2E-P-${i}`,
        type: 'price.update',
        occurredAt: at(10 + i),
        sku: 'E2E-TV-1',
        price,
        mrp: 99_000,
      }),
    );
  }
  for (let i = 0; i < 10; i++) {
    quantity = 20 - i;
    lines.push(
      JSON.stringify({
        id: `E2E-S-${i}`,
        type: 'stock.update',
        occurredAt: at(40 + i),
        sku: 'E2E-TV-1',
        quantity,
      }),
    );
  }
  lines.push(
    JSON.stringify({
      id: 'E2E-U-3',
      type: 'product.unlist',
      occurredAt: at(60),
      sku: 'E2E-TV-3',
      marketplaces: ['amazon'],
    }),
  );
  lines.push('{"id":"E2E-BAD","type":"price.update","sku":"E2E-TV-1","price":"₹1,299"}');
  return { lines, last: { price, quantity } };
}

describe('marketbridge end to end: OMS feed → Amazon sandbox (real PostgreSQL, embedded queue)', () => {
  let t: TestDatabase;
  let sandbox: AmazonSandbox;
  let app: App | undefined;
  const config = () =>
    loadConfig({
      DATABASE_URL: t.url,
      MQ_TRANSPORT: 'embedded',
      ...sandboxEnv(sandbox.url),
      VERIFY_DELAY_MS: '50',
      RETRY_BASE_MS: '50',
      RETRY_MAX_MS: '1000',
      AMAZON_ORDER_POLL_MS: '0', // listings only: no order polls
    });
  const settled = async (a: App) =>
    (await createEmbeddedTransport({ db: a.db, backoutQueue: 'x' }).depth(QUEUE)) === 0 &&
    (await pendingActorEvents(a.db)) === 0 &&
    a.runtime.isSettled() &&
    sandbox.control.pendingCount() === 0;

  before(async () => {
    t = await createTestDatabase();
    sandbox = createAmazonSandbox({ applyDelayMs: 100 });
    await sandbox.start(0);
  });
  after(async () => {
    await app?.stop();
    await sandbox.stop();
    await t.drop();
  });

  it('ends every listing in the feed’s final state, read back from the sandbox, with one call per burst', async () => {
    const { lines, last } = feed();
    app = await startApp(config(), { logger, db: t.db });
    await createEmbeddedTransport({ db: t.db, backoutQueue: 'x' }).publishMany(QUEUE, lines);
    await waitFor('the feed to settle', () => settled(app!), 60_000);

    const live = sandbox.control.snapshot();
    assert.equal(live['E2E-TV-1']?.price, last.price);
    assert.equal(live['E2E-TV-1']?.quantity, last.quantity);
    assert.equal(
      live['LG/WM 8KG+STEAM,BLK']?.price,
      30_000,
      'the SKU with / + , and space reached Amazon intact',
    );
    assert.equal(live['E2E-TV-3']?.buyable, false, 'delisted');

    const rows = await t.db.query<{
      sku: string;
      state: string;
      confirmed_price: string;
      confirmed_quantity: number;
    }>('select sku, state, confirmed_price, confirmed_quantity from listing order by sku');
    const bySku = Object.fromEntries(rows.map((r) => [r.sku, r]));
    assert.equal(bySku['E2E-TV-1']?.state, 'listed');
    assert.equal(Number(bySku['E2E-TV-1']?.confirmed_price), last.price);
    assert.equal(bySku['E2E-TV-1']?.confirmed_quantity, last.quantity);
    assert.equal(bySku['E2E-TV-3']?.state, 'delisted');
    assert.equal(bySku['E2E-TV-3']?.confirmed_quantity, 0);

    const calls = await callsPerOperation(t.db, 'amazon');
    const patches = calls.find((c) => c.operation === 'patchListingsItem')?.calls ?? 0;
    // 30 price/stock events and one delist: coalescing leaves a handful of PATCHes.
    assert.ok(patches <= 6, `${patches} PATCH calls for 30 updates and a delist`);
    assert.equal(
      calls.reduce((n, c) => n + c.throttled, 0),
      0,
      'never faster than Amazon allows',
    );
    const rejected = await t.db.query<{ reason: string }>(
      "select reason from event_log where status = 'rejected'",
    );
    assert.equal(rejected.length, 1);
    assert.match(rejected[0]!.reason, /price/);
  });

  it('after a restart, the same feed again changes nothing and calls Amazon no more', async () => {
    await app!.stop();
    const before = (await callsPerOperation(t.db, 'amazon')).reduce((n, c) => n + c.calls, 0);
    const snapshotBefore = sandbox.control.snapshot();
    app = await startApp(config(), { logger, db: t.db });
    const { lines } = feed();
    await createEmbeddedTransport({ db: t.db, backoutQueue: 'x' }).publishMany(QUEUE, lines);
    await waitFor(
      'the redelivered feed to settle',
      async () => (await settled(app!)) && app!.inboundStats.duplicates === lines.length - 1,
      30_000,
    );
    await app.recorder.flush();
    const afterCalls = (await callsPerOperation(t.db, 'amazon')).reduce((n, c) => n + c.calls, 0);
    assert.equal(afterCalls, before, 'no marketplace call');
    assert.deepEqual(sandbox.control.snapshot(), snapshotBefore);
    const accepted = await t.db.query<{ n: string }>(
      "select count(*) as n from event_log where status = 'accepted' group by idempotency_key having count(*) > 1",
    );
    assert.equal(accepted.length, 0, 'one accepted row per id');
  });
});
