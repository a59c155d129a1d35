import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Config, ConfigError, loadConfig, type RawEnv, redactConfig } from '../../src/config/index.js';

/** Distinctive secret values: none of them may be printed, whole or URL-encoded. */
const SECRETS = {
  clientSecret: 'amzn1.oa2-cs.v1.SECRET-CLIENT-7f3a9c',
  refreshToken: 'Atzr|SECRET-REFRESH-TOKEN-91bd42',
  dbPassword: 'SECRET-DB-PASS-5e8d',
  amqpPassword: 'SECRET:AMQP/p@ss#2c71',
} as const;
const encoded = (s: string) => encodeURIComponent(s);
const everyFormOfEverySecret = Object.values(SECRETS).flatMap((s) => [s, encoded(s)]);

const AMAZON_CREDENTIALS: RawEnv = {
  AMAZON_CLIENT_ID: 'amzn1.application-oa2-client.public-id',
  AMAZON_CLIENT_SECRET: SECRETS.clientSecret,
  AMAZON_REFRESH_TOKEN: SECRETS.refreshToken,
  AMAZON_SELLER_ID: 'A2SELLER00001',
};

const DATABASE_URL = `postgres://marketbridge:${encoded(SECRETS.dbPassword)}@db.internal:5432/marketbridge`;
const AMQP_URL = `amqps://mq-user:${encoded(SECRETS.amqpPassword)}@mq.internal:5671`;

/** Every setting that holds a secret, set to the distinctive values above. */
const WITH_ALL_SECRETS: RawEnv = {
  ...AMAZON_CREDENTIALS,
  DATABASE_URL,
  MQ_TRANSPORT: 'amqp',
  AMQP_URL,
};

function assertNoSecret(text: string, where: string): void {
  for (const s of everyFormOfEverySecret) {
    assert.ok(!text.includes(s), `${where} must not contain the secret ${JSON.stringify(s)}:\n${text}`);
  }
}

/** Runs loadConfig expecting a ConfigError; returns it. */
function configError(env: RawEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail(`loadConfig accepted ${JSON.stringify(env)}`);
}

/** Asserts that the error names each variable in its message and in one of its problems. */
function assertNames(err: ConfigError, ...variables: string[]): void {
  for (const v of variables) {
    assert.ok(err.message.includes(v), `the message names ${v}:\n${err.message}`);
    assert.ok(
      err.problems.some((p) => p.includes(v)),
      `a problem names ${v}: ${JSON.stringify(err.problems)}`,
    );
  }
}

describe('loadConfig', () => {
  describe('with only the Amazon credentials set', () => {
    it('fills every other setting with its default', () => {
      const config = loadConfig(AMAZON_CREDENTIALS);
      const expected: Config = {
        databaseUrl: undefined,
        dataDir: '.marketbridge',
        logLevel: 'info',
        queue: {
          transport: 'embedded',
          inbound: 'OMS.MARKETPLACE.EVENTS',
          outbound: 'MARKETPLACE.OMS.EVENTS',
          backout: 'OMS.MARKETPLACE.EVENTS.BACKOUT',
          backoutThreshold: 5,
          prefetch: 200,
          maxMessageBytes: 262144,
          amqp: undefined,
          ibmmq: undefined,
        },
        marketplaces: ['amazon'],
        amazon: {
          endpoint: 'https://sellingpartnerapi-eu.amazon.com',
          lwaEndpoint: 'https://api.amazon.com/auth/o2/token',
          clientId: 'amzn1.application-oa2-client.public-id',
          clientSecret: SECRETS.clientSecret,
          refreshToken: SECRETS.refreshToken,
          sellerId: 'A2SELLER00001',
          marketplaceId: 'A21TJRUUN4KGV',
          rateScale: 1,
          delistMode: 'zero-stock',
          feedThreshold: 100,
          feedLingerMs: 2_000,
          feedPollMs: 30_000,
          feedStuckMs: 1_800_000,
        },
        flipkart: undefined,
        tatacliq: undefined,
        actors: { idleMs: 60_000, flushMs: 25, retryBaseMs: 500, retryMaxMs: 60_000, verifyDelayMs: 1_000 },
        orders: {
          pollMs: { amazon: 180_000, flipkart: 60_000, tatacliq: 60_000 },
          lookbackHours: 24,
          outboxPollMs: 500,
          timerSweepMs: 1_000,
        },
      };
      assert.deepEqual(config, expected);
    });

    it('treats an empty variable as unset', () => {
      const config = loadConfig({
        ...AMAZON_CREDENTIALS,
        MQ_PREFETCH: '',
        MQ_TRANSPORT: '',
        DATABASE_URL: '',
      });
      assert.equal(config.queue.prefetch, 200);
      assert.equal(config.queue.transport, 'embedded');
      assert.equal(config.databaseUrl, undefined);
    });

    it('reads Flipkart and Tata CliQ settings, with location maps', () => {
      const config = loadConfig({
        ...AMAZON_CREDENTIALS,
        MARKETPLACES: 'amazon,flipkart,tatacliq',
        FLIPKART_APP_ID: 'fk-app',
        FLIPKART_APP_SECRET: 'fk-secret-value',
        FLIPKART_DEFAULT_LOCATION: 'LOC-DEL',
        FLIPKART_LOCATIONS: 'STORE-MUM-003=LOC-MUM, DC-DEL-01=LOC-DEL',
        TATACLIQ_BASE_URL: 'https://cliq.example/PartnerConnect',
        TATACLIQ_SELLER_ID: '123',
        TATACLIQ_TOKEN: 'cliq-token-value',
        TATACLIQ_SLAVE_IDS: 'DC-DEL-01=S1',
      });
      assert.deepEqual(config.flipkart?.locations, { 'STORE-MUM-003': 'LOC-MUM', 'DC-DEL-01': 'LOC-DEL' });
      assert.deepEqual(config.tatacliq?.slaveIds, { 'DC-DEL-01': 'S1' });
      const shown = JSON.stringify(redactConfig(config));
      assert.ok(!shown.includes('fk-secret-value') && !shown.includes('cliq-token-value'));
    });

    it('treats a value of only spaces as unset', () => {
      const config = loadConfig({ ...WITH_ALL_SECRETS, VERIFY_DELAY_MS: '   ', MQ_PREFETCH: ' ' });
      assert.equal(config.actors.verifyDelayMs, 1000);
      assert.equal(config.queue.prefetch, 200);
    });
  });

  describe('with values set', () => {
    it('parses numbers, lists and flags into typed settings', () => {
      const config = loadConfig({
        ...WITH_ALL_SECRETS,
        MQ_PREFETCH: '50',
        MQ_BACKOUT_THRESHOLD: '3',
        MARKETPLACES: ' amazon ',
        AMQP_QUEUE_CAPABILITY: 'yes',
        AMQP_ADDRESS_TEMPLATE: '/amq/queue/{queue}',
        ACTOR_IDLE_MS: '120000',
        AMAZON_RATE_SCALE: '0.5',
        AMAZON_DELIST_MODE: 'delete',
      });
      assert.equal(config.databaseUrl, DATABASE_URL);
      assert.equal(config.queue.transport, 'amqp');
      assert.equal(config.queue.prefetch, 50);
      assert.equal(config.queue.backoutThreshold, 3);
      assert.deepEqual(config.queue.amqp, {
        url: AMQP_URL,
        addressTemplate: '/amq/queue/{queue}',
        queueCapability: true,
      });
      assert.deepEqual(config.marketplaces, ['amazon']);
      assert.equal(config.actors.idleMs, 120_000);
      assert.equal(config.amazon?.rateScale, 0.5);
      assert.equal(config.amazon?.delistMode, 'delete');
    });

    it('needs no Amazon credentials when Amazon is not enabled, or when told so', () => {
      const sendOnly = loadConfig({}, { requireMarketplaceCredentials: false });
      assert.equal(sendOnly.amazon, undefined);
      assert.deepEqual(sendOnly.marketplaces, ['amazon']);
    });
  });

  it('reads the IBM MQ connection for MQ_TRANSPORT=ibmmq', () => {
    const config = loadConfig({
      ...AMAZON_CREDENTIALS,
      MQ_TRANSPORT: 'ibmmq',
      MQ_QMGR: 'QM1',
      MQ_CONNAME: 'mq1(1414),mq2(1414)',
      MQ_USER: 'app',
      MQ_PASSWORD: 'pw',
      MQ_TLS_CIPHER_SPEC: 'ANY_TLS13_OR_HIGHER',
      MQ_KEY_REPOSITORY: '/var/mqm/ssl/key',
      MQ_CLIENT_RECONNECT: 'qmgr',
    });
    assert.equal(config.queue.transport, 'ibmmq');
    assert.deepEqual(config.queue.ibmmq, {
      queueManager: 'QM1',
      channel: 'MARKETBRIDGE.SVRCONN',
      connectionName: 'mq1(1414),mq2(1414)',
      user: 'app',
      password: 'pw',
      tlsCipherSpec: 'ANY_TLS13_OR_HIGHER',
      keyRepository: '/var/mqm/ssl/key',
      clientReconnect: 'qmgr',
      waitMs: 5000,
      pollMs: 200,
    });
  });

  describe('with a wrong or missing value', () => {
    const cases: { name: string; env: RawEnv; variable: string }[] = [
      { name: 'an unknown transport', env: { MQ_TRANSPORT: 'kafka' }, variable: 'MQ_TRANSPORT' },
      { name: 'ibmmq without a queue manager', env: { MQ_TRANSPORT: 'ibmmq' }, variable: 'MQ_QMGR' },
      {
        name: 'a TLS CipherSpec without a key repository',
        env: { MQ_TRANSPORT: 'ibmmq', MQ_QMGR: 'QM1', MQ_TLS_CIPHER_SPEC: 'ANY_TLS13_OR_HIGHER' },
        variable: 'MQ_KEY_REPOSITORY',
      },
      {
        name: 'a marketplace without its credentials',
        env: { MARKETPLACES: 'amazon,flipkart' },
        variable: 'FLIPKART_APP_ID',
      },
      {
        name: 'a location map that is not OMS=ID pairs',
        env: { MARKETPLACES: 'tatacliq', TATACLIQ_SLAVE_IDS: 'STORE-MUM-003' },
        variable: 'TATACLIQ_SLAVE_IDS',
      },
      { name: 'a number in hex', env: { ACTOR_IDLE_MS: '0x10' }, variable: 'ACTOR_IDLE_MS' },
      {
        name: 'a delay longer than a timer can wait',
        env: { RETRY_MAX_MS: '99999999999' },
        variable: 'RETRY_MAX_MS',
      },
      { name: 'a negative number', env: { VERIFY_DELAY_MS: '-5' }, variable: 'VERIFY_DELAY_MS' },
      {
        name: 'credentials with a broken percent-escape',
        env: { MQ_TRANSPORT: 'amqp', AMQP_URL: 'amqp://guest:pa%zz@localhost:5672' },
        variable: 'AMQP_URL',
      },
      { name: 'a prefetch that is not a number', env: { MQ_PREFETCH: 'abc' }, variable: 'MQ_PREFETCH' },
      { name: 'a prefetch of zero', env: { MQ_PREFETCH: '0' }, variable: 'MQ_PREFETCH' },
      {
        name: 'a database URL that is not PostgreSQL',
        env: { DATABASE_URL: `mysql://marketbridge:${SECRETS.dbPassword}@db.internal/marketbridge` },
        variable: 'DATABASE_URL',
      },
      {
        name: 'a database URL that is not a URL',
        env: { DATABASE_URL: 'db.internal' },
        variable: 'DATABASE_URL',
      },
      {
        name: 'an AMQP URL with another scheme',
        env: {
          MQ_TRANSPORT: 'amqp',
          AMQP_URL: `https://mq-user:${encoded(SECRETS.amqpPassword)}@mq.internal`,
        },
        variable: 'AMQP_URL',
      },
      {
        name: 'AMQP_URL missing for the amqp transport',
        env: { MQ_TRANSPORT: 'amqp' },
        variable: 'AMQP_URL',
      },
      {
        name: 'an address template without {queue}',
        env: { AMQP_ADDRESS_TEMPLATE: '/amq/queue/OMS' },
        variable: 'AMQP_ADDRESS_TEMPLATE',
      },
      { name: 'an unknown marketplace', env: { MARKETPLACES: 'amazon,ebay' }, variable: 'MARKETPLACES' },
      { name: 'an unknown log level', env: { LOG_LEVEL: 'verbose' }, variable: 'LOG_LEVEL' },
    ];
    for (const c of cases) {
      it(`names ${c.variable} for ${c.name}`, () => {
        const err = configError({ ...AMAZON_CREDENTIALS, ...c.env });
        assertNames(err, c.variable);
        assertNoSecret(err.message, 'the error message');
      });
    }

    it('names each missing Amazon credential when MARKETPLACES includes amazon', () => {
      const all = configError({ MARKETPLACES: 'amazon,flipkart' });
      assertNames(
        all,
        'AMAZON_CLIENT_ID',
        'AMAZON_CLIENT_SECRET',
        'AMAZON_REFRESH_TOKEN',
        'AMAZON_SELLER_ID',
      );

      const { AMAZON_SELLER_ID: _omitted, ...threeOfFour } = AMAZON_CREDENTIALS;
      const one = configError(threeOfFour);
      assert.deepEqual(one.problems.length, 1);
      assertNames(one, 'AMAZON_SELLER_ID');
      assertNoSecret(one.message, 'the error message');
    });

    it('names every wrong value of the schema in one error', () => {
      const err = configError({
        ...AMAZON_CREDENTIALS,
        MQ_TRANSPORT: 'kafka',
        MQ_PREFETCH: 'abc',
        DATABASE_URL: 'mysql://db.internal/marketbridge',
      });
      assertNames(err, 'MQ_TRANSPORT', 'MQ_PREFETCH', 'DATABASE_URL');
    });

    // The ConfigError contract says it names "every offending variable". Today the checks that
    // span variables (credentials, AMQP_URL for amqp) only run once every single value parses.
    it('names wrong and missing variables in one error (a wrong value must not hide missing credentials)', () => {
      const err = configError({ MQ_TRANSPORT: 'amqp', MQ_PREFETCH: 'abc' });
      assertNames(err, 'MQ_PREFETCH', 'AMQP_URL', 'AMAZON_CLIENT_ID');
    });
  });

  describe('secrets', () => {
    it('never appear in a ConfigError, whatever else is wrong', () => {
      const wrong: RawEnv[] = [
        { MQ_PREFETCH: 'abc' },
        { MQ_TRANSPORT: 'kafka', LOG_LEVEL: 'loud' },
        { AMQP_URL: `http://mq-user:${encoded(SECRETS.amqpPassword)}@mq.internal` },
        { DATABASE_URL: `mysql://marketbridge:${encoded(SECRETS.dbPassword)}@db.internal/mb` },
        { DATABASE_URL: `postgres://marketbridge:${SECRETS.dbPassword}@db internal/mb` },
        { AMAZON_CLIENT_ID: '', AMAZON_SELLER_ID: '' },
      ];
      for (const w of wrong) {
        const err = configError({ ...WITH_ALL_SECRETS, ...w });
        assertNoSecret(err.message, `the message for ${Object.keys(w).join(', ')}`);
        assertNoSecret(JSON.stringify(err), 'the serialised error');
        assertNoSecret(err.problems.join('\n'), 'the problems');
        assertNoSecret(String(err.stack), 'the stack');
      }
    });

    it('are redacted by redactConfig, which keeps what helps an operator and changes nothing', () => {
      const config = loadConfig(WITH_ALL_SECRETS);
      const before = JSON.stringify(config);
      const shown = JSON.stringify(redactConfig(config));

      assertNoSecret(shown, 'redactConfig output');
      for (const visible of ['db.internal', 'mq.internal', 'marketbridge', 'mq-user', 'A2SELLER00001']) {
        assert.ok(shown.includes(visible), `${visible} is still shown`);
      }
      assert.equal(JSON.stringify(config), before, 'the config itself is not modified');
      assert.equal(config.amazon?.clientSecret, SECRETS.clientSecret);
      assert.equal(config.queue.amqp?.url, AMQP_URL);
    });

    it('are redacted when the database is embedded and no AMQP is configured', () => {
      const shown = JSON.stringify(redactConfig(loadConfig(AMAZON_CREDENTIALS)));
      assertNoSecret(shown, 'redactConfig output');
      assert.ok(shown.includes('embedded'), 'says the database is embedded');
    });
  });
});
