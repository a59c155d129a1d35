/**
 * Feeds API client, JSON_LISTINGS_FEED builder and processing-report mapper (unit): documents
 * validate against Amazon's schemas, requests against the Feeds model.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { ManualClock } from '../../src/core/clock.js';
import { RetryableError, TerminalError } from '../../src/core/errors.js';
import {
  AmazonFeedsClient,
  AmazonSpApiClient,
  buildListingsFeed,
  LISTINGS_FEED_CONTENT_TYPE,
  MAX_LISTINGS_FEED_MESSAGES,
  mapProcessingReport,
  messagesById,
} from '../../src/marketplaces/amazon/index.js';
import type { FetchLike } from '../../src/marketplaces/http.js';
import { isLwa, LWA_OK } from './amazon-fakes.js';
import { loadFeedsModel, readFeedsJson } from './amazon-feeds-model.js';
import { type CapturedRequest, type ScriptedResponse, scriptedFetch } from './fakes.js';

const model = loadFeedsModel();
const S3 = 'https://tortuga-prod-eu.s3-eu-west-1.amazonaws.com';

const stops: (() => Promise<void>)[] = [];
after(async () => {
  for (const s of stops) await s();
});

function feedsClient(answer: (req: CapturedRequest) => ScriptedResponse) {
  const s3: { method: string; url: string; headers: Headers; body: Buffer | undefined }[] = [];
  const reportBytes = gzipSync(
    Buffer.from(JSON.stringify(readFeedsJson('listings-feed-processing-report-schema-v2.example.json'))),
  );
  const { fetch: api, requests } = scriptedFetch((req) => (isLwa(req) ? LWA_OK : answer(req)));
  const fetchFn: FetchLike = async (input, init) => {
    if (!input.startsWith(S3)) return api(input, init);
    const body = init?.body === undefined ? undefined : Buffer.from(init.body as Uint8Array);
    s3.push({ method: init?.method ?? 'GET', url: input, headers: new Headers(init?.headers), body });
    if (init?.method === 'PUT') return new Response(null, { status: 200 });
    return new Response(reportBytes, { status: 200 });
  };
  const clock = new ManualClock(Date.UTC(2026, 10, 20));
  const client = new AmazonSpApiClient({
    endpoint: 'https://sellingpartnerapi-eu.amazon.com',
    lwaEndpoint: 'https://api.amazon.com',
    clientId: 'amzn1.application-oa2-client.test',
    clientSecret: () => 'secret',
    refreshToken: 'Atzr|r',
    sellerId: 'A2SELLER',
    fetch: fetchFn,
    clock,
    rateScale: 100,
  });
  const feeds = new AmazonFeedsClient({
    client,
    endpoint: 'https://sellingpartnerapi-eu.amazon.com',
    fetch: fetchFn,
    clock,
    rateScale: 100,
  });
  stops.push(
    () => client.stop(),
    () => feeds.stop(),
  );
  return { feeds, s3, api: () => requests.filter((r) => !isLwa(r)), all: requests };
}

const FEED = {
  feedId: '50012345',
  feedType: 'JSON_LISTINGS_FEED',
  marketplaceIds: ['A21TJRUUN4KGV'],
  createdTime: '2026-11-20T00:00:00Z',
  processingStatus: 'DONE',
  processingStartTime: '2026-11-20T00:00:10Z',
  processingEndTime: '2026-11-20T00:01:00Z',
  resultFeedDocumentId: 'amzn1.tortuga.4.eu.result',
};

function happyAnswer(req: CapturedRequest): ScriptedResponse {
  const p = req.url.pathname;
  if (req.method === 'POST' && p.endsWith('/documents')) {
    return { status: 201, body: { feedDocumentId: 'amzn1.tortuga.4.eu.input', url: `${S3}/input?sig=1` } };
  }
  if (req.method === 'POST' && p.endsWith('/feeds')) return { status: 202, body: { feedId: '50012345' } };
  if (p.includes('/2021-06-30/feeds/')) return { status: 200, body: FEED };
  return {
    status: 200,
    body: {
      feedDocumentId: 'amzn1.tortuga.4.eu.result',
      url: `${S3}/result?sig=2`,
      compressionAlgorithm: 'GZIP',
    },
  };
}

describe('buildListingsFeed', () => {
  it('builds a JSON_LISTINGS_FEED v2 document that validates against the schema', () => {
    const doc = buildListingsFeed('A2SELLER', [
      { sku: 'SAM-TV-1001', price: 34999.5, quantity: 3 },
      { sku: 'LG/WM 8KG+STEAM,BLK', quantity: 0 },
      { sku: 'सैमसंग-टीवी-43', price: 1 },
      { sku: 'OLD-1', delete: true },
    ]);
    assert.deepEqual(model.validateFeed(doc), []);
    assert.equal(doc.header.version, '2.0');
    assert.deepEqual(
      doc.messages.map((m) => m.messageId),
      [1, 2, 3, 4],
    );
    assert.equal(doc.messages[0]!.operationType, 'PATCH');
    assert.deepEqual(
      doc.messages[0]!.patches!.map((p) => p.path),
      ['/attributes/purchasable_offer', '/attributes/fulfillment_availability'],
    );
    assert.deepEqual(doc.messages[1]!.patches![0]!.value, [
      { fulfillment_channel_code: 'DEFAULT', quantity: 0 },
    ]);
    assert.equal(doc.messages[3]!.operationType, 'DELETE');
    assert.equal(doc.messages[3]!.patches, undefined);
    assert.equal(messagesById(doc).get(2), 'LG/WM 8KG+STEAM,BLK');
    // The published example validates with the same validator (the validator is not vacuous).
    assert.deepEqual(model.validateFeed(readFeedsJson('listings-feed-schema-v2.example.json')), []);
    assert.notDeepEqual(model.validateFeed({ header: { sellerId: 'A', version: '1.0' }, messages: [] }), []);
  });

  it('allows 25,000 messages and throws above', () => {
    const many = (n: number) => Array.from({ length: n }, (_, i) => ({ sku: `SKU-${i}`, quantity: i }));
    assert.equal(buildListingsFeed('A2SELLER', many(MAX_LISTINGS_FEED_MESSAGES)).messages.length, 25_000);
    assert.throws(() => buildListingsFeed('A2SELLER', many(MAX_LISTINGS_FEED_MESSAGES + 1)), TerminalError);
    assert.throws(() => buildListingsFeed('A2SELLER', []), TerminalError);
    assert.throws(() => buildListingsFeed('A2SELLER', [{ sku: 'A' }]), TerminalError);
    assert.throws(
      () =>
        buildListingsFeed('A2SELLER', [
          { sku: 'A', price: 1 },
          { sku: 'A', price: 2 },
        ]),
      TerminalError,
    );
  });
});

describe('mapProcessingReport', () => {
  it('maps the published example report back to SKUs by messageId', () => {
    const report = readFeedsJson('listings-feed-processing-report-schema-v2.example.json');
    assert.deepEqual(model.validateReport(report), []);
    const byId = new Map([
      [1, 'My-SKU-A'],
      [2, 'My-SKU-X'],
      [3, 'My-SKU-Y'],
      [4, 'My-SKU-B'],
      [5, 'My-SKU-C'],
    ]);
    const out = mapProcessingReport(report, byId);
    assert.equal(out.size, 5);
    assert.deepEqual(
      [...out.values()].filter((o) => o.status === 'invalid').map((o) => o.sku),
      ['My-SKU-B', 'My-SKU-C'],
    );
    assert.equal(out.get('My-SKU-B')!.issues.length, 2);
    assert.equal(out.get('My-SKU-C')!.issues[0]!.attributeName, 'purchasable_offer.our_price');
    assert.equal(out.get('My-SKU-A')!.status, 'accepted');
    assert.deepEqual(out.get('My-SKU-A')!.issues, []);
  });

  it('applies header-level issues (no messageId) to every SKU', () => {
    const report = {
      header: { sellerId: 'A2SELLER', version: '2.0', feedId: '1' },
      issues: [
        { code: '4002006', severity: 'ERROR', message: 'bad header version' },
        { messageId: 2, code: '18448', severity: 'WARNING', message: 'incomplete' },
      ],
      summary: { errors: 1, warnings: 1, messagesProcessed: 2, messagesAccepted: 0, messagesInvalid: 2 },
    };
    assert.deepEqual(model.validateReport(report), []);
    const out = mapProcessingReport(report, { 1: 'A', 2: 'B' });
    assert.equal(out.get('A')!.status, 'invalid');
    assert.equal(out.get('B')!.status, 'invalid');
    assert.equal(out.get('A')!.issues.length, 1);
    assert.equal(out.get('B')!.issues.length, 2);
    // A warning alone does not make a message invalid.
    const warnOnly = { ...report, issues: [report.issues[1]] };
    assert.equal(mapProcessingReport(warnOnly, { 2: 'B' }).get('B')!.status, 'accepted');
    assert.throws(() => mapProcessingReport({ nope: true }, {}), TerminalError);
  });
});

describe('AmazonFeedsClient', () => {
  it('sends model-valid requests through the whole flow and gunzips the report', async () => {
    const { feeds, s3, api } = feedsClient(happyAnswer);
    const doc = buildListingsFeed('A2SELLER', [
      { sku: 'My-SKU-B', price: 10 },
      { sku: 'My-SKU-C', quantity: 2 },
    ]);
    const created = await feeds.createFeedDocument();
    assert.deepEqual(created, { feedDocumentId: 'amzn1.tortuga.4.eu.input', url: `${S3}/input?sig=1` });
    await feeds.uploadFeedDocument(created.url, JSON.stringify(doc), LISTINGS_FEED_CONTENT_TYPE);
    const { feedId } = await feeds.createFeed({
      feedType: 'JSON_LISTINGS_FEED',
      marketplaceIds: ['A21TJRUUN4KGV'],
      inputFeedDocumentId: created.feedDocumentId,
    });
    const feed = await feeds.getFeed(feedId);
    assert.equal(feed.processingStatus, 'DONE');
    const resultDoc = await feeds.getFeedDocument(feed.resultFeedDocumentId!);
    assert.equal(resultDoc.compressionAlgorithm, 'GZIP');
    const bytes = await feeds.downloadFeedDocument(resultDoc.url, resultDoc.compressionAlgorithm);
    const report = JSON.parse(bytes.toString('utf8')) as unknown;
    assert.deepEqual(report, readFeedsJson('listings-feed-processing-report-schema-v2.example.json'));
    // The convenience path does the same three calls.
    await feeds.submitListingsFeed(doc);
    const viaHelper = await feeds.getProcessingReport(feed);
    assert.deepEqual(viaHelper, report);

    const ops = api().map((r) => {
      const v = model.validateRequest(r);
      assert.deepEqual(v.errors, [], `${r.method} ${r.url.pathname}`);
      return v.operationId;
    });
    assert.deepEqual(ops, [
      'createFeedDocument',
      'createFeed',
      'getFeed',
      'getFeedDocument',
      'createFeedDocument',
      'createFeed',
      'getFeedDocument',
    ]);
    assert.deepEqual(JSON.parse(api()[0]!.body!), { contentType: LISTINGS_FEED_CONTENT_TYPE });
    // Presigned uploads: same content type, the document bytes, no SP-API auth header.
    const put = s3.find((r) => r.method === 'PUT')!;
    assert.equal(put.headers.get('content-type'), LISTINGS_FEED_CONTENT_TYPE);
    assert.equal(put.headers.get('x-amz-access-token'), null);
    assert.deepEqual(JSON.parse(put.body!.toString('utf8')), doc);
    for (const r of s3) assert.equal(r.headers.get('x-amz-access-token'), null);
    // Responses of the scripted API are model-valid too (the fixtures are not made up).
    assert.deepEqual(model.validateDefinition('Feed', FEED), []);
  });

  it('maps 429 to a throttled RetryableError and 400 to TerminalError', async () => {
    const { feeds } = feedsClient((req) =>
      req.method === 'POST'
        ? { status: 429, body: { errors: [{ code: 'QuotaExceeded', message: 'You exceeded your quota' }] } }
        : { status: 400, body: { errors: [{ code: 'InvalidInput', message: 'bad id' }] } },
    );
    await assert.rejects(
      feeds.createFeed({
        feedType: 'JSON_LISTINGS_FEED',
        marketplaceIds: ['A21TJRUUN4KGV'],
        inputFeedDocumentId: 'x',
      }),
      (e: unknown) => e instanceof RetryableError && e.throttled === true,
    );
    await assert.rejects(feeds.getFeed('1'), TerminalError);
  });

  it('refreshes the shared token once when it expired mid-way', async () => {
    let calls = 0;
    const { feeds, all } = feedsClient(() => {
      calls++;
      return calls === 1
        ? {
            status: 403,
            body: {
              errors: [
                {
                  code: 'Unauthorized',
                  message: 'Access to requested resource is denied.',
                  details: 'The access token you provided has expired.',
                },
              ],
            },
          }
        : { status: 200, body: FEED };
    });
    const feed = await feeds.getFeed('50012345');
    assert.equal(feed.feedId, '50012345');
    assert.equal(all.filter(isLwa).length, 2);
  });
});
