import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { RetryableError, TerminalError } from '../../src/core/errors.js';
import {
  AMAZON_ERROR_CODES,
  AmazonSpApiClient,
  type AmazonSpApiClientOptions,
} from '../../src/marketplaces/amazon/index.js';
import { ACCEPTED, isLwa, LWA_OK } from './amazon-fakes.js';
import {
  type CapturedRequest,
  memoryRecorder,
  never,
  REFERENCE_TIMESTAMP,
  type Responder,
  type ScriptedResponse,
  scriptedFetch,
} from './fakes.js';

const SELLER = 'A2SELLER';
const EXPIRED = {
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
};

const clients: AmazonSpApiClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.stop()));
});

function setup(respond: Responder, overrides: Partial<AmazonSpApiClientOptions> = {}) {
  const clock = new ManualClock(REFERENCE_TIMESTAMP);
  const recorder = memoryRecorder();
  const { fetch, requests } = scriptedFetch(respond);
  const client = new AmazonSpApiClient({
    endpoint: 'https://sellingpartnerapi-eu.amazon.com',
    lwaEndpoint: 'https://api.amazon.com',
    clientId: 'amzn1.application-oa2-client.test',
    clientSecret: () => 'secret-1',
    refreshToken: 'Atzr|refresh',
    sellerId: SELLER,
    fetch,
    clock,
    recorder,
    rateScale: 20,
    ...overrides,
  });
  clients.push(client);
  const api = () => requests.filter((r) => !isLwa(r));
  const lwa = () => requests.filter(isLwa);
  return { client, clock, recorder, requests, api, lwa };
}

/** LWA answers, the API answers through `api`. */
function withLwa(api: Responder, lwa: Responder = () => LWA_OK): Responder {
  return (req) => (isLwa(req) ? lwa(req) : api(req));
}

describe('AmazonSpApiClient requests', () => {
  it('exchanges the refresh token form-encoded and sends the access token, user agent and JSON', async () => {
    const t = setup(withLwa((req) => ACCEPTED(decodeURIComponent(req.url.pathname.split('/').pop()!))));
    await t.client.patchListingsItem('SKU-1', {
      productType: 'PRODUCT',
      patches: [{ op: 'replace', path: '/attributes/fulfillment_availability', value: [{ quantity: 1 }] }],
    });
    const [lwa] = t.lwa();
    assert.equal(lwa?.method, 'POST');
    assert.equal(lwa?.url.href, 'https://api.amazon.com/auth/o2/token');
    assert.match(lwa?.headers['content-type'] ?? '', /^application\/x-www-form-urlencoded/);
    const form = new URLSearchParams(lwa?.body);
    assert.deepEqual(Object.fromEntries(form), {
      grant_type: 'refresh_token',
      refresh_token: 'Atzr|refresh',
      client_id: 'amzn1.application-oa2-client.test',
      client_secret: 'secret-1',
    });
    const [req] = t.api();
    assert.equal(req?.method, 'PATCH');
    assert.equal(req?.headers['x-amz-access-token'], 'Atza|token-1');
    assert.match(req?.headers['user-agent'] ?? '', /^marketbridge\//);
    assert.equal(req?.headers['content-type'], 'application/json');
    assert.equal(req?.url.searchParams.get('marketplaceIds'), 'A21TJRUUN4KGV');
  });

  it('encodes the seller id and SKU as one path segment each', async () => {
    const t = setup(
      withLwa(() => ({ status: 404, body: { errors: [{ code: 'NOT_FOUND', message: 'nope' }] } })),
    );
    for (const sku of ['LG/WM 8KG+STEAM,BLK', 'टीवी-४३इंच', 'a%b#c?d']) {
      assert.equal(await t.client.getListingsItem(sku, ['summaries', 'offers']), null);
    }
    const paths = t.api().map((r) => r.url.pathname);
    assert.deepEqual(paths, [
      `/listings/2021-08-01/items/${SELLER}/LG%2FWM%208KG%2BSTEAM%2CBLK`,
      `/listings/2021-08-01/items/${SELLER}/${encodeURIComponent('टीवी-४३इंच')}`,
      `/listings/2021-08-01/items/${SELLER}/a%25b%23c%3Fd`,
    ]);
    assert.equal(t.api()[0]?.url.searchParams.get('includedData'), 'summaries,offers');
  });

  it('never sends SKU "." / ".." / "" to another path (URL parsing treats %2E as a dot): terminal, no request', async () => {
    const t = setup(withLwa((req) => ACCEPTED(decodeURIComponent(req.url.pathname.split('/').pop()!))));
    for (const sku of ['.', '..', '']) {
      await assert.rejects(
        t.client.deleteListingsItem(sku),
        (err: unknown) =>
          err instanceof TerminalError &&
          err.code === AMAZON_ERROR_CODES.badRequest &&
          /cannot be addressed/.test(err.message),
        `SKU ${JSON.stringify(sku)}`,
      );
      await assert.rejects(t.client.getListingsItem(sku), TerminalError);
    }
    assert.equal(t.api().length, 0);
    // Dots with other characters, or more than two, are ordinary segments.
    for (const sku of ['...', '.a', 'a..b']) await t.client.deleteListingsItem(sku);
    assert.deepEqual(
      t.api().map((r) => r.url.pathname),
      [
        `/listings/2021-08-01/items/${SELLER}/%2E%2E%2E`,
        `/listings/2021-08-01/items/${SELLER}/.a`,
        `/listings/2021-08-01/items/${SELLER}/a..b`,
      ],
    );

    const dots = setup(
      withLwa(() => ACCEPTED('S')),
      { sellerId: '..' },
    );
    await assert.rejects(dots.client.deleteListingsItem('S'), TerminalError);
    assert.equal(dots.api().length, 0);
  });

  it('records every HTTP call with operation, SKU, status and attempt', async () => {
    const t = setup(withLwa(() => ACCEPTED('SKU-1')));
    await t.client.deleteListingsItem('SKU-1');
    const api = t.recorder.calls.filter((c) => c.operation !== 'lwaToken');
    assert.equal(api.length, 1);
    assert.deepEqual(
      { ...api[0], startedAt: api[0]?.startedAt.getTime() },
      {
        marketplace: 'amazon',
        operation: 'deleteListingsItem',
        entityKey: 'SKU-1',
        httpStatus: 200,
        throttled: false,
        startedAt: REFERENCE_TIMESTAMP,
        durationMs: 0,
        attempt: 1,
        error: null,
      },
    );
    assert.equal(t.recorder.calls.filter((c) => c.operation === 'lwaToken').length, 1);
  });
});

describe('AmazonSpApiClient access token', () => {
  it('reuses the token until 60 s before expiry, then refreshes', async () => {
    const t = setup(withLwa(() => ACCEPTED('S')));
    await t.client.deleteListingsItem('S');
    t.clock.advance(3600_000 - 61_000);
    await t.client.deleteListingsItem('S');
    assert.equal(t.lwa().length, 1);
    t.clock.advance(2_000);
    await t.client.deleteListingsItem('S');
    assert.equal(t.lwa().length, 2);
  });

  it('shares one refresh between concurrent callers', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const t = setup(
      withLwa(
        () => ACCEPTED('S'),
        async () => {
          await gate;
          return LWA_OK;
        },
      ),
    );
    const calls = Array.from({ length: 5 }, (_, i) => t.client.deleteListingsItem(`S-${i}`));
    await new Promise((r) => setImmediate(r));
    release();
    await Promise.all(calls);
    assert.equal(t.lwa().length, 1);
  });

  it('invalid_grant is terminal: the seller must re-authorise', async () => {
    const t = setup(
      withLwa(
        () => ACCEPTED('S'),
        () => ({
          status: 400,
          body: {
            error: 'invalid_grant',
            error_description: 'The request has an invalid grant parameter : refresh_token',
          },
        }),
      ),
    );
    await assert.rejects(
      t.client.deleteListingsItem('S'),
      (err: unknown) =>
        err instanceof TerminalError && err.code === AMAZON_ERROR_CODES.reauthorisationRequired,
    );
    assert.equal(t.api().length, 0);
  });

  it('invalid_client is terminal, fails fast afterwards, and a rotated secret is picked up without restart', async () => {
    let secret = 'expired-secret';
    const t = setup(
      withLwa(
        () => ACCEPTED('S'),
        (req) =>
          new URLSearchParams(req.body).get('client_secret') === 'rotated-secret'
            ? LWA_OK
            : {
                status: 401,
                body: { error: 'invalid_client', error_description: 'Client authentication failed' },
              },
      ),
      { clientSecret: () => secret },
    );
    const isSecretRejected = (err: unknown) =>
      err instanceof TerminalError && err.code === AMAZON_ERROR_CODES.clientSecretRejected;
    await assert.rejects(t.client.deleteListingsItem('S'), isSecretRejected);
    await assert.rejects(t.client.deleteListingsItem('S'), isSecretRejected);
    assert.equal(t.lwa().length, 1, 'the same rejected secret is not sent again');
    secret = 'rotated-secret';
    await t.client.deleteListingsItem('S');
    assert.equal(t.lwa().length, 2);
    assert.equal(t.api().length, 1);
  });

  it('LWA 5xx and network failures are retryable', async () => {
    let mode: '500' | 'network' = '500';
    const t = setup(
      withLwa(
        () => ACCEPTED('S'),
        () => {
          if (mode === 'network') throw new TypeError('fetch failed');
          return { status: 500, body: { error: 'server_error' } };
        },
      ),
    );
    await assert.rejects(t.client.deleteListingsItem('S'), (err: unknown) => err instanceof RetryableError);
    t.clock.advance(t.client.tokenRefreshHold().remainingMs); // the shared hold after a failure
    mode = 'network';
    await assert.rejects(
      t.client.deleteListingsItem('S'),
      (err: unknown) => err instanceof RetryableError && /network/.test(err.message),
    );
  });

  it('an expired token mid-way is refreshed once and only that request is replayed', async () => {
    let first = true;
    const t = setup(
      withLwa(
        () => {
          if (first) {
            first = false;
            return EXPIRED;
          }
          return ACCEPTED('S');
        },
        (() => {
          let n = 0;
          return () => ({ ...LWA_OK, body: { access_token: `Atza|token-${++n}`, expires_in: 3600 } });
        })(),
      ),
    );
    const res = await t.client.patchListingsItem('S', {
      productType: 'PRODUCT',
      patches: [{ op: 'delete', path: '/attributes/x' }],
    });
    assert.equal(res.status, 'ACCEPTED');
    assert.deepEqual(
      t.api().map((r) => r.headers['x-amz-access-token']),
      ['Atza|token-1', 'Atza|token-2'],
    );
    assert.deepEqual(
      t.recorder.calls
        .filter((c) => c.operation === 'patchListingsItem')
        .map((c) => [c.httpStatus, c.attempt]),
      [
        [403, 1],
        [200, 2],
      ],
    );
  });

  it('a second expired answer after the refresh is retryable, not a loop', async () => {
    const t = setup(withLwa(() => EXPIRED));
    await assert.rejects(
      t.client.deleteListingsItem('S'),
      (err: unknown) => err instanceof RetryableError && err.status === 403,
    );
    assert.equal(t.api().length, 2);
    assert.equal(t.lwa().length, 2);
  });

  it('any other 403 is terminal', async () => {
    const t = setup(
      withLwa(() => ({
        status: 403,
        body: {
          errors: [{ code: 'Unauthorized', message: 'Access to requested resource is denied.', details: '' }],
        },
      })),
    );
    await assert.rejects(
      t.client.deleteListingsItem('S'),
      (err: unknown) => err instanceof TerminalError && err.code === AMAZON_ERROR_CODES.unauthorized,
    );
    assert.equal(t.lwa().length, 1);
  });
});

describe('AmazonSpApiClient error mapping', () => {
  it('429 is a throttled retryable error, recorded, and not retried by the client', async () => {
    const t = setup(
      withLwa(() => ({
        status: 429,
        body: {
          errors: [{ message: 'You exceeded your quota for the requested resource.', code: 'QuotaExceeded' }],
        },
      })),
    );
    await assert.rejects(
      t.client.patchListingsItem('S', {
        productType: 'PRODUCT',
        patches: [{ op: 'delete', path: '/attributes/x' }],
      }),
      (err: unknown) =>
        err instanceof RetryableError && err.throttled && err.status === 429 && (err.retryAfterMs ?? 0) > 0,
    );
    assert.equal(t.api().length, 1);
    const rec = t.recorder.calls.find((c) => c.operation === 'patchListingsItem');
    assert.equal(rec?.throttled, true);
    assert.match(rec?.error ?? '', /QuotaExceeded/);
  });

  for (const status of [500, 503]) {
    it(`${status} is retryable`, async () => {
      const t = setup(
        withLwa(() => ({ status, body: { errors: [{ code: 'InternalFailure', message: 'x' }] } })),
      );
      await assert.rejects(
        t.client.getListingsItem('S'),
        (err: unknown) => err instanceof RetryableError && err.status === status && !err.throttled,
      );
    });
  }

  it('a timeout is retryable', async () => {
    const keepAlive = setTimeout(() => {}, 5_000);
    try {
      const t = setup(
        withLwa(() => never()),
        { requestTimeoutMs: 30 },
      );
      await assert.rejects(
        t.client.getListingsItem('S'),
        (err: unknown) => err instanceof RetryableError && /timed out/.test(err.message),
      );
      assert.equal(t.recorder.calls.at(-1)?.httpStatus, null);
    } finally {
      clearTimeout(keepAlive);
    }
  });

  it("the caller's abort is passed through unchanged", async () => {
    const keepAlive = setTimeout(() => {}, 5_000);
    try {
      const t = setup(withLwa(() => never()));
      const ctrl = new AbortController();
      const call = t.client.getListingsItem('S', ['summaries'], { signal: ctrl.signal });
      setTimeout(() => ctrl.abort(new Error('shutting down')), 10);
      await assert.rejects(call, /shutting down/);
    } finally {
      clearTimeout(keepAlive);
    }
  });

  for (const status of [400, 413, 415]) {
    it(`${status} is terminal with Amazon's message`, async () => {
      const t = setup(
        withLwa(() => ({
          status,
          body: {
            errors: [
              { code: 'InvalidInput', message: 'Request has missing or invalid parameters.', details: '' },
            ],
          },
        })),
      );
      await assert.rejects(
        t.client.putListingsItem('S', { productType: 'TELEVISION', attributes: {} }),
        (err: unknown) =>
          err instanceof TerminalError &&
          err.status === status &&
          err.code === AMAZON_ERROR_CODES.badRequest &&
          /Request has missing or invalid parameters/.test(err.message),
      );
    });
  }

  it('GET 404 is null, not an error', async () => {
    const t = setup(
      withLwa(() => ({ status: 404, body: { errors: [{ code: 'NOT_FOUND', message: 'SKU not found' }] } })),
    );
    assert.equal(await t.client.getListingsItem('missing'), null);
  });

  it('a 2xx body without the documented shape is terminal', async () => {
    const t = setup(withLwa(() => ({ status: 200, body: { hello: 'world' } })));
    await assert.rejects(
      t.client.deleteListingsItem('S'),
      (err: unknown) => err instanceof TerminalError && err.code === AMAZON_ERROR_CODES.unexpectedResponse,
    );
  });

  it('parses responses tolerantly (extra fields, string decimals)', async () => {
    const t = setup(
      withLwa(() => ({
        status: 200,
        body: {
          sku: 'S',
          somethingNew: true,
          summaries: [{ marketplaceId: 'A21TJRUUN4KGV', status: ['BUYABLE', 'DISCOVERABLE'], extra: 1 }],
          offers: [
            {
              marketplaceId: 'A21TJRUUN4KGV',
              offerType: 'B2C',
              price: { currencyCode: 'INR', amount: '999.00' },
            },
          ],
        },
      })),
    );
    const item = await t.client.getListingsItem('S');
    assert.equal(item?.offers[0]?.price?.amount, '999.00');
    assert.deepEqual(item?.issues, []);
  });
});

describe('AmazonSpApiClient rate limits', () => {
  it('adopts x-amzn-RateLimit-Limit from a response', async () => {
    const t = setup(
      withLwa((req: CapturedRequest) => ({
        ...ACCEPTED('S'),
        headers: { 'x-amzn-RateLimit-Limit': req.method === 'PATCH' ? '2.0' : '5.0' },
      })),
      { rateScale: 1 },
    );
    assert.equal(t.client.limiter('patchListingsItem').rate, 5);
    await t.client.patchListingsItem('S', {
      productType: 'PRODUCT',
      patches: [{ op: 'delete', path: '/attributes/x' }],
    });
    assert.equal(t.client.limiter('patchListingsItem').rate, 2);
    assert.equal(t.client.limiter('getListingsItem').rate, 5);
  });

  it('keeps the table rate when a 429 carries no header', async () => {
    const t = setup(
      withLwa(() => ({ status: 429, body: { errors: [{ code: 'QuotaExceeded', message: 'q' }] } })),
      {
        rateScale: 1,
      },
    );
    await assert.rejects(t.client.deleteListingsItem('S'));
    assert.equal(t.client.limiter('deleteListingsItem').rate, 5);
  });
});

const QUOTA: ScriptedResponse = { status: 429, body: { errors: [{ code: 'QuotaExceeded', message: 'q' }] } };
const PATCH = { productType: 'PRODUCT', patches: [{ op: 'delete' as const, path: '/attributes/x' }] };
const throttledWith = (retryAfterMs?: number) => (err: unknown) =>
  err instanceof RetryableError &&
  err.throttled &&
  err.status === 429 &&
  (retryAfterMs === undefined || err.retryAfterMs === retryAfterMs);
const tick = () => new Promise((r) => setTimeout(r, 50));
/** Polls (real time) until `cond` holds, then waits a little more so extra sends would show. */
async function sentWhen(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  await tick();
}
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('AmazonSpApiClient 429 pause', () => {
  it('pauses the operation for every caller: nothing of it is sent until the pause ends', async () => {
    let patch: ScriptedResponse = QUOTA;
    const t = setup(
      withLwa((req) => (req.method === 'PATCH' ? patch : ACCEPTED('S'))),
      { random: () => 0, throttleBackoff: { initialMs: 1000, maxMs: 5000 } },
    );
    await assert.rejects(t.client.patchListingsItem('S', PATCH), throttledWith(1000));
    assert.deepEqual(t.client.circuit('patchListingsItem'), {
      state: 'open',
      reason: 'throttled',
      pausedUntil: REFERENCE_TIMESTAMP + 1000,
      remainingMs: 1000,
      strikes: 1,
      serverErrors: 0,
    });
    assert.equal(t.client.limiter('patchListingsItem').pausedUntil, REFERENCE_TIMESTAMP + 1000);

    t.clock.advance(400);
    const during = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => t.client.patchListingsItem(`S-${i}`, PATCH)),
    );
    assert.ok(during.every((r) => r.status === 'rejected' && throttledWith(600)(r.reason)));
    assert.equal(t.api().length, 1, 'nothing sent during the pause');
    assert.equal(t.recorder.calls.filter((c) => c.operation === 'patchListingsItem').length, 1);
    // Another operation has its own limiter and is not paused.
    await t.client.deleteListingsItem('S');
    assert.equal(t.client.circuit('deleteListingsItem').state, 'closed');

    // Consecutive 429s double the pause, up to the cap.
    t.clock.advance(600);
    assert.equal(t.client.circuit('patchListingsItem').state, 'half-open');
    for (const pause of [2000, 4000, 5000, 5000]) {
      await assert.rejects(t.client.patchListingsItem('S', PATCH), throttledWith(pause));
      await assert.rejects(t.client.patchListingsItem('S', PATCH), throttledWith(pause), 'not sent');
      t.clock.advance(pause);
    }
    assert.equal(t.api().filter((r) => r.method === 'PATCH').length, 5);

    // A success resets it: the next 429 pauses for the initial time again.
    patch = ACCEPTED('S');
    await t.client.patchListingsItem('S', PATCH);
    assert.equal(t.client.circuit('patchListingsItem').state, 'closed');
    assert.equal(t.client.circuit('patchListingsItem').strikes, 0);
    patch = QUOTA;
    await assert.rejects(t.client.patchListingsItem('S', PATCH), throttledWith(1000));
  });

  it('429s of requests already in flight do not escalate; after the pause one probe goes first', async () => {
    let answer: ScriptedResponse = QUOTA;
    let gate = deferred();
    const t = setup(
      withLwa(async (req) => {
        if (req.method !== 'PATCH') return ACCEPTED('S');
        await gate.promise;
        return answer;
      }),
      { random: () => 0 },
    );
    const patchPaths = () => t.api().filter((r) => r.method === 'PATCH').length;

    // Three requests in flight when the storm starts: one pause, not three doublings.
    let calls = [1, 2, 3].map((i) => t.client.patchListingsItem(`S-${i}`, PATCH));
    await sentWhen(() => patchPaths() >= 3);
    assert.equal(patchPaths(), 3);
    gate.resolve();
    const first = await Promise.allSettled(calls);
    assert.ok(first.every((r) => r.status === 'rejected' && throttledWith(1000)(r.reason)));
    assert.equal(t.client.circuit('patchListingsItem').strikes, 1);

    // Pause over: only a probe is sent; the others wait for its answer (429: paused again).
    t.clock.advance(1000);
    gate = deferred();
    calls = [1, 2, 3].map((i) => t.client.patchListingsItem(`S-${i}`, PATCH));
    await sentWhen(() => patchPaths() >= 4);
    assert.equal(patchPaths(), 4, 'one probe');
    gate.resolve();
    const second = await Promise.allSettled(calls);
    assert.ok(second.every((r) => r.status === 'rejected' && throttledWith(2000)(r.reason)));
    assert.equal(patchPaths(), 4);
    assert.equal(t.client.circuit('patchListingsItem').strikes, 2);

    // The next probe succeeds: the waiting callers are sent too.
    t.clock.advance(2000);
    answer = ACCEPTED('S');
    gate = deferred();
    calls = [1, 2, 3].map((i) => t.client.patchListingsItem(`S-${i}`, PATCH));
    await sentWhen(() => patchPaths() >= 5);
    assert.equal(patchPaths(), 5, 'one probe');
    gate.resolve();
    const third = await Promise.all(calls);
    assert.ok(third.every((r) => r.status === 'ACCEPTED'));
    assert.equal(patchPaths(), 7);
    assert.equal(t.client.circuit('patchListingsItem').state, 'closed');
  });
});

describe('AmazonSpApiClient LWA outage', () => {
  it('holds token refreshes for every caller after a failure, growing, reset by a success', async () => {
    let lwaStatus = 500;
    const t = setup(
      withLwa(
        () => ACCEPTED('S'),
        () => (lwaStatus === 200 ? LWA_OK : { status: lwaStatus, body: { error: 'server_error' } }),
      ),
      { random: () => 0 },
    );
    const heldFor = (ms: number) => (err: unknown) =>
      err instanceof RetryableError && err.retryAfterMs === ms && /held/.test(err.message);
    await assert.rejects(
      t.client.deleteListingsItem('S'),
      (err: unknown) => err instanceof RetryableError && err.status === 500 && err.retryAfterMs === 1000,
    );
    assert.equal(t.lwa().length, 1);

    t.clock.advance(300);
    const concurrent = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => t.client.deleteListingsItem(`S-${i}`)),
    );
    assert.ok(concurrent.every((r) => r.status === 'rejected' && heldFor(700)(r.reason)));
    for (let i = 0; i < 20; i++) await assert.rejects(t.client.accessToken(), heldFor(700));
    assert.equal(t.lwa().length, 1, 'no token request during the hold');
    assert.equal(t.api().length, 0);
    assert.deepEqual(t.client.tokenRefreshHold(), {
      pausedUntil: REFERENCE_TIMESTAMP + 1000,
      remainingMs: 700,
      failures: 1,
    });

    t.clock.advance(700);
    await assert.rejects(
      t.client.accessToken(),
      (err: unknown) => err instanceof RetryableError && err.status === 500 && err.retryAfterMs === 2000,
    );
    assert.equal(t.lwa().length, 2);

    t.clock.advance(2000);
    lwaStatus = 200;
    await t.client.deleteListingsItem('S');
    assert.equal(t.lwa().length, 3);
    assert.equal(t.client.tokenRefreshHold().failures, 0);

    t.clock.advance(3600_000);
    lwaStatus = 503;
    await assert.rejects(
      t.client.accessToken(),
      (err: unknown) => err instanceof RetryableError && err.retryAfterMs === 1000,
    );
  });
});
