/**
 * The Tata CliQ client and adapter against the local PartnerConnect sandbox over real HTTP.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { type Clock, ManualClock, systemClock } from '../../src/core/clock.js';
import { RetryableError, TerminalError } from '../../src/core/errors.js';
import {
  createTataCliqSandbox,
  mintingTokenProvider,
  parseSlaveIds,
  TATACLIQ_ERROR_CODES,
  TATACLIQ_ISSUE_CODES,
  TATACLIQ_SANDBOX,
  TataCliqClient,
  type TataCliqClientOptions,
  TataCliqListingAdapter,
  type TataCliqSandbox,
  type TataCliqSandboxOptions,
  tataCliqSandboxEnv,
} from '../../src/marketplaces/tatacliq/index.js';
import { memoryRecorder, REFERENCE_TIMESTAMP, TV_DRAFT } from './fakes.js';

const SLAVES = TATACLIQ_SANDBOX.slaveIds;
const ALL_SLAVES = Object.values(SLAVES);
const ODD_SKUS = ['LG/WM 8KG+STEAM,BLK', 'टीवी-४३इंच', 'a%b#c?d', 'Café Noir 50 ml'];

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface HarnessOptions {
  clock?: Clock;
  sandbox?: TataCliqSandboxOptions;
  client?: Partial<TataCliqClientOptions>;
}

async function harness(opts: HarnessOptions = {}) {
  const clock = opts.clock ?? systemClock;
  const sandbox = createTataCliqSandbox({ clock, slaveIds: ALL_SLAVES, ...opts.sandbox });
  await sandbox.start();
  cleanups.push(() => sandbox.stop());
  const env = tataCliqSandboxEnv(sandbox.url);
  const recorder = memoryRecorder();
  const client = new TataCliqClient({
    baseUrl: env.TATACLIQ_BASE_URL!,
    sellerId: env.TATACLIQ_SELLER_ID!,
    token: env.TATACLIQ_TOKEN!,
    clock,
    recorder,
    rateScale: 50,
    ...opts.client,
  });
  cleanups.push(() => client.stop());
  const adapter = new TataCliqListingAdapter({
    client,
    slaveIds: parseSlaveIds(env.TATACLIQ_SLAVE_IDS!),
    defaultSlaveId: env.TATACLIQ_DEFAULT_SLAVE_ID,
    batchWindowMs: 10,
  });
  return { sandbox, control: sandbox.control, client, adapter, recorder, env };
}

async function raw(
  sandbox: TataCliqSandbox,
  method: string,
  path: string,
  body?: unknown,
  token?: string | null,
) {
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token ?? TATACLIQ_SANDBOX.token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${sandbox.url}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

const SELLER_PATH = `/PartnerConnect/PC_${TATACLIQ_SANDBOX.sellerId}`;

describe('Tata CliQ sandbox: listing lifecycle', () => {
  it('upserts (price + stock at the default slave) and reads it back', async () => {
    const t = await harness();
    assert.deepEqual(await t.adapter.upsert(TV_DRAFT), { status: 'applied' });
    assert.deepEqual(t.control.snapshot()[TV_DRAFT.sku], {
      price: 35150,
      mrp: 39080,
      inventory: { [TATACLIQ_SANDBOX.defaultSlaveId]: 15 },
      total: 15,
    });
    const rb = await t.adapter.read(TV_DRAFT.sku);
    assert.deepEqual(rb, { found: true, price: 35150, quantity: 15, buyable: true });
    assert.equal(t.adapter.isDelisted(rb), false);
  });

  it('keeps stock per location and delists by zeroing every slave', async () => {
    const t = await harness();
    await t.adapter.upsert(TV_DRAFT);
    const r = await t.adapter.update({
      sku: TV_DRAFT.sku,
      locations: [
        { locationId: 'STORE-MUM-003', quantity: 4 },
        { locationId: 'STORE-BLR-014', quantity: 6 },
      ],
    });
    assert.deepEqual(r, { status: 'applied' });
    // The breakdown is the whole picture: the upsert's total at the default slave is replaced.
    assert.equal(t.control.snapshot()[TV_DRAFT.sku]?.total, 10);
    assert.deepEqual(await t.adapter.delist(TV_DRAFT.sku), { status: 'applied' });
    const snap = t.control.snapshot()[TV_DRAFT.sku];
    assert.deepEqual(snap?.inventory, Object.fromEntries(ALL_SLAVES.map((s) => [s, 0])));
    assert.equal(snap?.total, 0);
    assert.equal(t.adapter.isDelisted(await t.adapter.read(TV_DRAFT.sku)), true);
  });

  it('reads an unknown SKU as not found', async () => {
    const t = await harness();
    const rb = await t.adapter.read('NEVER-SEEN');
    assert.deepEqual(rb, { found: false });
    assert.equal(t.adapter.isDelisted(rb), true);
  });

  it('round-trips SKUs with / + , space, % # ? and non-ASCII (path encoded, body raw)', async () => {
    const t = await harness();
    const results = await Promise.all(
      ODD_SKUS.map((sku, i) => t.adapter.upsert({ ...TV_DRAFT, sku, quantity: i + 1 })),
    );
    assert.deepEqual(results, Array(ODD_SKUS.length).fill({ status: 'applied' }));
    const snap = t.control.snapshot();
    for (const [i, sku] of ODD_SKUS.entries()) {
      assert.equal(snap[sku]?.total, i + 1, sku);
      assert.deepEqual(
        await t.adapter.read(sku),
        { found: true, price: 35150, quantity: i + 1, buyable: true },
        sku,
      );
    }
    const reads = t.control.requests().filter((r) => r.operation === 'getListing');
    assert.deepEqual(
      reads.map((r) => r.skus[0]),
      ODD_SKUS,
    );
  });
});

describe('Tata CliQ sandbox: batches', () => {
  it('sends 10 concurrent updates as one call; the 3 failing SKUs are invalid, the others applied', async () => {
    const t = await harness();
    const skus = Array.from({ length: 10 }, (_, i) => `BATCH-${i}`);
    t.control.failSkus(['BATCH-1', 'BATCH-4', 'BATCH-8']);
    const results = await Promise.all(skus.map((sku, i) => t.adapter.update({ sku, quantity: i + 10 })));
    const counters = t.control.counters().updateInventory;
    assert.equal(counters.calls, 1);
    assert.equal(counters.items, 10);
    assert.equal(counters.itemFailures, 3);
    for (const [i, sku] of skus.entries()) {
      const r = results[i]!;
      if (['BATCH-1', 'BATCH-4', 'BATCH-8'].includes(sku)) {
        assert.equal(r.status, 'invalid', sku);
        assert.equal(r.issues?.[0]?.code, 'ITEM_REJECTED');
        assert.equal(t.control.snapshot()[sku], undefined);
      } else {
        assert.deepEqual(r, { status: 'applied' }, sku);
        assert.equal(t.control.snapshot()[sku]?.total, i + 10);
      }
    }
  });

  it('splits more than 50 concurrent SKUs into calls of at most 50', async () => {
    const t = await harness();
    const skus = Array.from({ length: 120 }, (_, i) => `BULK-${i}`);
    const results = await Promise.all(skus.map((sku) => t.adapter.update({ sku, quantity: 1 })));
    assert.ok(results.every((r) => r.status === 'applied'));
    const sizes = t.control
      .requests()
      .filter((r) => r.operation === 'updateInventory')
      .map((r) => r.skus.length);
    assert.deepEqual(sizes, [50, 50, 20]);
  });

  it('rejects a call above its item cap with 400 (a client with a larger cap gets a terminal error)', async () => {
    const t = await harness({ sandbox: { maxItemsPerCall: 5 }, client: { maxBatchItems: 6 } });
    await assert.rejects(
      t.client.updateInventory(
        Array.from({ length: 6 }, (_, i) => ({ sku: `X${i}`, slaveId: ALL_SLAVES[0]!, inventory: 1 })),
      ),
      (e: unknown) => e instanceof TerminalError && e.status === 400 && /TOO_MANY_ITEMS/.test(e.message),
    );
  });

  it('maps an unknown SKU to SKU_NOT_IN_CATALOGUE when the catalogue is closed', async () => {
    const t = await harness({ sandbox: { autoCreateSkus: false, catalogue: ['KNOWN-1'] } });
    const [known, unknown] = await Promise.all([
      t.adapter.upsert({ ...TV_DRAFT, sku: 'KNOWN-1' }),
      t.adapter.upsert(TV_DRAFT),
    ]);
    assert.deepEqual(known, { status: 'applied' });
    assert.equal(unknown?.status, 'invalid');
    assert.equal(unknown?.issues?.[0]?.code, TATACLIQ_ISSUE_CODES.notInCatalogue);
    assert.equal(t.control.snapshot()[TV_DRAFT.sku], undefined);
  });

  it('validates each item: selling price above MRP and an unknown SlaveID fail alone', async () => {
    const t = await harness();
    const price = await t.client.updatePrice([
      { sku: 'P1', mrp: 100, sellingPrice: 120 },
      { sku: 'P2', mrp: 100, sellingPrice: 80 },
    ]);
    assert.deepEqual(
      price.items.map((i) => [i.sku, i.status, i.errorCode]),
      [
        ['P1', 'FAILURE', 'PRICE_ABOVE_MRP'],
        ['P2', 'SUCCESS', undefined],
      ],
    );
    const inv = await t.client.updateInventory([
      { sku: 'P2', slaveId: 'NOT-A-SLAVE', inventory: 1 },
      { sku: 'P2', slaveId: ALL_SLAVES[0]!, inventory: 1 },
    ]);
    assert.deepEqual(
      inv.items.map((i) => i.status),
      ['FAILURE', 'SUCCESS'],
    );
  });

  it('insists on string values, as observed', async () => {
    const t = await harness();
    const res = await raw(t.sandbox, 'POST', `${SELLER_PATH}/AP_INVENTORY/AV_1.0/OG_1`, {
      InventoryUpdate: {
        Item: [
          { SKU: 'N', SlaveID: ALL_SLAVES[0], Inventory: 5, SafetyStock: '0' },
          { SKU: 'N', SlaveID: ALL_SLAVES[0], Inventory: '-1', SafetyStock: '0' },
          { SKU: 'N', SlaveID: ALL_SLAVES[0], Inventory: '7', SafetyStock: '0' },
        ],
      },
    });
    assert.equal(res.status, 200);
    assert.equal(res.body.status, 'PARTIAL_SUCCESS');
    assert.deepEqual(
      (res.body.Item as { status: string; errorCode?: string }[]).map((i) => i.errorCode ?? i.status),
      ['INVALID_INVENTORY', 'INVALID_INVENTORY', 'SUCCESS'],
    );
  });
});

describe('Tata CliQ sandbox: tokens', () => {
  it('after expiry, replays once with a freshly minted token', async () => {
    let sandbox: TataCliqSandbox | null = null;
    let minted = 0;
    const t = await harness({
      client: {
        token: mintingTokenProvider(() => {
          minted++;
          return { accessToken: sandbox!.control.issueToken(), expiresAt: Date.now() + 24 * 3600_000 };
        }),
      },
    });
    sandbox = t.sandbox;
    await t.adapter.update({ sku: 'T1', quantity: 1 });
    t.control.expireToken();
    assert.deepEqual(await t.adapter.update({ sku: 'T1', quantity: 2 }), { status: 'applied' });
    assert.equal(minted, 2);
    assert.equal(t.control.counters().updateInventory.unauthorized, 1);
    assert.equal(t.control.snapshot().T1?.total, 2);
  });

  it('with the static token expired: terminal after one replay, asking for a new token', async () => {
    const t = await harness();
    t.control.expireToken();
    await assert.rejects(
      t.adapter.update({ sku: 'T1', quantity: 2 }),
      (e: unknown) =>
        e instanceof TerminalError &&
        e.code === TATACLIQ_ERROR_CODES.tokenExpired &&
        /account manager/.test(e.message),
    );
    assert.equal(t.control.counters().updateInventory.unauthorized, 2);
  });

  it('answers 401 without a bearer token and 403 for another seller', async () => {
    const t = await harness();
    const none = await raw(t.sandbox, 'GET', `${SELLER_PATH}/AP_LISTING/AV_1.0/OG_1/SKU_A/`, undefined, null);
    assert.equal(none.status, 401);
    assert.equal(none.body.status, 'FAILURE');
    const other = await raw(t.sandbox, 'GET', '/PartnerConnect/PC_999/AP_LISTING/AV_1.0/OG_1/SKU_A/');
    assert.equal(other.status, 403);
    const unknownApi = await raw(t.sandbox, 'POST', `${SELLER_PATH}/AP_NOPE/AV_1.0/OG_1`, {});
    assert.equal(unknownApi.status, 404);
  });
});

describe('Tata CliQ sandbox: throttling and failures', () => {
  it('answers 429 with Retry-After while throttled; the client pauses, then succeeds', async () => {
    const clock = new ManualClock(REFERENCE_TIMESTAMP);
    const t = await harness({ clock });
    t.control.throttleFor(2000);
    await assert.rejects(
      t.client.updateInventory([{ sku: 'R1', slaveId: ALL_SLAVES[0]!, inventory: 3 }]),
      (e: unknown) => e instanceof RetryableError && e.throttled && (e.retryAfterMs ?? 0) >= 2000,
    );
    const throttled = t.control.counters().updateInventory.throttled;
    assert.equal(throttled, 1);
    await assert.rejects(
      t.client.updateInventory([{ sku: 'R1', slaveId: ALL_SLAVES[0]!, inventory: 3 }]),
      /not sent/,
    );
    clock.advance(2001);
    const out = await t.client.updateInventory([{ sku: 'R1', slaveId: ALL_SLAVES[0]!, inventory: 3 }]);
    assert.equal(out.items[0]?.status, 'SUCCESS');
    assert.equal(t.control.counters().updateInventory.calls, 2);
  });

  it('enforces its optional rate limit with 429 + Retry-After', async () => {
    const clock = new ManualClock(REFERENCE_TIMESTAMP);
    const t = await harness({ clock, sandbox: { rateLimits: { getListing: { rate: 1, burst: 2 } } } });
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 3; i++) {
      const res = await raw(t.sandbox, 'GET', `${SELLER_PATH}/AP_LISTING/AV_1.0/OG_1/SKU_A/`);
      statuses.push(res.status);
      if (res.status === 429) retryAfter = res.headers.get('retry-after');
    }
    assert.deepEqual(statuses, [404, 404, 429]);
    assert.equal(retryAfter, '1');
  });

  it('fails the next calls on request (5xx → retryable), then works again', async () => {
    const t = await harness();
    t.control.failNext(1, 503);
    await assert.rejects(
      t.adapter.update({ sku: 'F1', quantity: 1 }),
      (e: unknown) => e instanceof RetryableError && e.status === 503,
    );
    assert.deepEqual(await t.adapter.update({ sku: 'F1', quantity: 1 }), { status: 'applied' });
  });
});

describe('Tata CliQ sandbox: state file', () => {
  it('keeps listings across a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tatacliq-sandbox-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const stateFile = join(dir, 'tatacliq.json');
    const first = await harness({ sandbox: { stateFile } });
    await first.adapter.upsert(TV_DRAFT);
    const second = createTataCliqSandbox({ stateFile });
    await second.start();
    cleanups.push(() => second.stop());
    assert.equal(second.control.snapshot()[TV_DRAFT.sku]?.total, 15);
  });

  it('names the environment for marketbridge', () => {
    const env = tataCliqSandboxEnv('http://127.0.0.1:4603/');
    assert.equal(env.TATACLIQ_BASE_URL, 'http://127.0.0.1:4603/PartnerConnect');
    assert.deepEqual(parseSlaveIds(env.TATACLIQ_SLAVE_IDS!), SLAVES);
    assert.throws(() => parseSlaveIds('STORE-1=A,STORE-2'), /expected OMS_LOCATION=SLAVE_ID/);
  });
});
