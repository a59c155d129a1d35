import { z } from 'zod';
import { MARKETPLACES, type MarketplaceId } from '../domain/types.js';

/**
 * All settings come from the environment through this one pure function. A wrong or missing
 * setting throws ConfigError naming every offending variable and what is expected.
 */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Longest delay a Node timer takes (about 24.8 days); larger values would fire at once. */
const MAX_TIMER_MS = 2_147_483_647;

const int = (min: number, max = MAX_TIMER_MS) => {
  const expected = `expected a whole number from ${min} to ${max}`;
  return z
    .string()
    .regex(/^\d+$/, { error: expected })
    .transform(Number)
    .pipe(
      z
        .number({ error: expected })
        .int({ error: expected })
        .min(min, { error: expected })
        .max(max, { error: expected }),
    );
};
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => ['true', '1', 'yes'].includes(v));
const url = (protocols: string[]) =>
  z.string().refine(
    (v) => {
      try {
        const u = new URL(v);
        // Percent-escapes in the credentials must decode (the driver decodes them later).
        decodeURIComponent(u.username);
        decodeURIComponent(u.password);
        return protocols.includes(u.protocol.replace(':', ''));
      } catch {
        return false;
      }
    },
    { message: `expected a URL with scheme ${protocols.join(' or ')} (percent-encode special characters)` },
  );

/** `OMS-LOCATION=MARKETPLACE-LOCATION,…` (spaces around entries ignored). */
const locationMap = z.string().transform((v, ctx) => {
  const out: Record<string, string> = {};
  for (const raw of v.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const [from, to, ...rest] = entry.split('=').map((x) => x.trim());
    if (!from || !to || rest.length > 0) {
      ctx.addIssue({
        code: 'custom',
        message: `expected OMS-LOCATION=ID pairs separated by commas, got ${JSON.stringify(entry)}`,
      });
      return z.NEVER;
    }
    out[from] = to;
  }
  return out;
});
const scale = z
  .string()
  .regex(/^\d+(\.\d+)?$/, { error: 'expected a positive number up to 1000' })
  .transform(Number)
  .pipe(z.number().positive({ error: 'expected a positive number up to 1000' }).max(1000));

/** Marketplaces this version can drive (the others are in the contract but not built yet). */
const SUPPORTED_MARKETPLACES: readonly MarketplaceId[] = ['amazon', 'flipkart', 'tatacliq'];
/** Transports this version has. */
const SUPPORTED_TRANSPORTS = ['embedded', 'amqp', 'ibmmq'] as const;

/** One row per variable: the schema and the human description used in messages and the README. */
const schema = z.object({
  DATABASE_URL: url(['postgres', 'postgresql']).optional(),
  MARKETBRIDGE_DATA_DIR: z.string().min(1).default('.marketbridge'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  MQ_TRANSPORT: z
    .enum(SUPPORTED_TRANSPORTS, { error: 'expected embedded, amqp or ibmmq' })
    .default('embedded'),
  MQ_INBOUND_QUEUE: z.string().min(1).default('OMS.MARKETPLACE.EVENTS'),
  MQ_OUTBOUND_QUEUE: z.string().min(1).default('MARKETPLACE.OMS.EVENTS'),
  MQ_BACKOUT_QUEUE: z.string().min(1).default('OMS.MARKETPLACE.EVENTS.BACKOUT'),
  MQ_BACKOUT_THRESHOLD: int(1, 1000).default(5),
  MQ_PREFETCH: int(1, 10000).default(200),
  MQ_MAX_MESSAGE_BYTES: int(1024).default(262144),
  AMQP_URL: url(['amqp', 'amqps']).optional(),
  AMQP_ADDRESS_TEMPLATE: z
    .string()
    .refine((v) => v.includes('{queue}'), { message: 'must contain {queue}' })
    .default('/queue/{queue}'),
  AMQP_QUEUE_CAPABILITY: bool.default(false),
  MQ_QMGR: z.string().min(1).max(48).optional(),
  MQ_CHANNEL: z.string().min(1).max(20).default('MARKETBRIDGE.SVRCONN'),
  MQ_CONNAME: z.string().min(1).optional(),
  MQ_USER: z.string().min(1).optional(),
  MQ_PASSWORD: z.string().optional(),
  MQ_TLS_CIPHER_SPEC: z.string().min(1).optional(),
  MQ_KEY_REPOSITORY: z.string().min(1).optional(),
  MQ_CLIENT_RECONNECT: z.enum(['disabled', 'qmgr', 'any']).default('disabled'),
  MQ_WAIT_MS: int(10, 60_000).default(5_000),
  MQ_POLL_MS: int(10, 10_000).default(200),
  MARKETPLACES: z
    .string()
    .default('amazon')
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .pipe(
      z
        .array(
          z.enum(MARKETPLACES).refine((m) => SUPPORTED_MARKETPLACES.includes(m), {
            error: (i) =>
              `${String(i.input)} is not supported yet (supported: ${SUPPORTED_MARKETPLACES.join(', ')})`,
          }),
        )
        .min(1),
    ),
  AMAZON_ENDPOINT: url(['http', 'https']).default('https://sellingpartnerapi-eu.amazon.com'),
  AMAZON_LWA_ENDPOINT: url(['http', 'https']).default('https://api.amazon.com/auth/o2/token'),
  AMAZON_CLIENT_ID: z.string().min(1).optional(),
  AMAZON_CLIENT_SECRET: z.string().min(1).optional(),
  AMAZON_REFRESH_TOKEN: z.string().min(1).optional(),
  AMAZON_SELLER_ID: z.string().min(1).optional(),
  AMAZON_MARKETPLACE_ID: z.string().min(1).default('A21TJRUUN4KGV'),
  AMAZON_RATE_SCALE: scale.default(1),
  AMAZON_DELIST_MODE: z.enum(['zero-stock', 'delete']).default('zero-stock'),
  AMAZON_FEED_THRESHOLD: int(0, 1_000_000).default(100),
  AMAZON_FEED_LINGER_MS: int(0).default(2_000),
  AMAZON_FEED_POLL_MS: int(50).default(30_000),
  AMAZON_FEED_STUCK_MS: int(1_000).default(30 * 60_000),
  FLIPKART_BASE_URL: url(['http', 'https']).default('https://api.flipkart.net/sellers'),
  FLIPKART_TOKEN_URL: url(['http', 'https']).default('https://api.flipkart.net/oauth-service/oauth/token'),
  FLIPKART_APP_ID: z.string().min(1).optional(),
  FLIPKART_APP_SECRET: z.string().min(1).optional(),
  FLIPKART_LOCATIONS: locationMap.default({}),
  FLIPKART_DEFAULT_LOCATION: z.string().min(1).optional(),
  FLIPKART_RATE_SCALE: scale.default(1),
  TATACLIQ_BASE_URL: url(['http', 'https']).optional(),
  TATACLIQ_SELLER_ID: z.string().min(1).optional(),
  TATACLIQ_TOKEN: z.string().min(1).optional(),
  TATACLIQ_SLAVE_IDS: locationMap.optional(),
  TATACLIQ_DEFAULT_SLAVE_ID: z.string().min(1).optional(),
  TATACLIQ_RATE_SCALE: scale.default(1),
  ACTOR_IDLE_MS: int(100).default(60_000),
  SNAPSHOT_FLUSH_MS: int(1, 10_000).default(25),
  RETRY_BASE_MS: int(1).default(500),
  RETRY_MAX_MS: int(1).default(60_000),
  VERIFY_DELAY_MS: int(0).default(1_000),
  AMAZON_ORDER_POLL_MS: int(0).default(180_000),
  FLIPKART_ORDER_POLL_MS: int(0).default(60_000),
  TATACLIQ_ORDER_POLL_MS: int(0).default(60_000),
  ORDERS_LOOKBACK_HOURS: int(0, 24 * 30).default(24),
  OUTBOX_POLL_MS: int(10).default(500),
  TIMER_SWEEP_MS: int(10).default(1_000),
});

export type RawEnv = Record<string, string | undefined>;

export interface Config {
  databaseUrl: string | undefined;
  dataDir: string;
  logLevel: string;
  queue: {
    transport: 'embedded' | 'amqp' | 'ibmmq';
    inbound: string;
    outbound: string;
    backout: string;
    backoutThreshold: number;
    prefetch: number;
    maxMessageBytes: number;
    amqp: { url: string; addressTemplate: string; queueCapability: boolean } | undefined;
    ibmmq:
      | {
          queueManager: string;
          channel: string;
          connectionName: string | undefined;
          user: string | undefined;
          password: string | undefined;
          tlsCipherSpec: string | undefined;
          keyRepository: string | undefined;
          clientReconnect: 'disabled' | 'qmgr' | 'any';
          waitMs: number;
          pollMs: number;
        }
      | undefined;
  };
  marketplaces: MarketplaceId[];
  amazon:
    | {
        endpoint: string;
        lwaEndpoint: string;
        clientId: string;
        clientSecret: string;
        refreshToken: string;
        sellerId: string;
        marketplaceId: string;
        rateScale: number;
        delistMode: 'zero-stock' | 'delete';
        /** Price/stock changes waiting for a PATCH at which further ones go by feed (0: never). */
        feedThreshold: number;
        feedLingerMs: number;
        feedPollMs: number;
        feedStuckMs: number;
      }
    | undefined;
  flipkart:
    | {
        baseUrl: string;
        tokenUrl: string;
        appId: string;
        appSecret: string;
        locations: Record<string, string>;
        defaultLocation: string;
        rateScale: number;
      }
    | undefined;
  tatacliq:
    | {
        baseUrl: string;
        sellerId: string;
        token: string;
        slaveIds: Record<string, string>;
        defaultSlaveId: string | undefined;
        rateScale: number;
      }
    | undefined;
  actors: { idleMs: number; flushMs: number; retryBaseMs: number; retryMaxMs: number; verifyDelayMs: number };
  orders: {
    /** Between order polls once caught up, per marketplace (0: not polled). */
    pollMs: Record<MarketplaceId, number>;
    /** Where a marketplace never polled before starts: this many hours back. */
    lookbackHours: number;
    outboxPollMs: number;
    timerSweepMs: number;
  };
}

/** Variables whose values are never printed. */
export const SECRET_VARIABLES = [
  'AMAZON_CLIENT_SECRET',
  'AMAZON_REFRESH_TOKEN',
  'FLIPKART_APP_SECRET',
  'TATACLIQ_TOKEN',
  'DATABASE_URL',
  'AMQP_URL',
  'MQ_PASSWORD',
];

export interface LoadConfigOptions {
  /** False for commands that never call a marketplace (e.g. `send`). Default true. */
  requireMarketplaceCredentials?: boolean;
}

export function loadConfig(env: RawEnv, options: LoadConfigOptions = {}): Config {
  const cleaned = Object.fromEntries(
    Object.keys(schema.shape).map((k) => [k, env[k]?.trim() === '' ? undefined : env[k]?.trim()]),
  );
  const parsed = schema.safeParse(cleaned);
  const problems: string[] = parsed.success
    ? []
    : parsed.error.issues.map((i) => {
        const name = String(i.path[0]);
        const shown = SECRET_VARIABLES.includes(name) ? '(value hidden)' : JSON.stringify(cleaned[name]);
        return `${name}=${shown}: ${i.message}`;
      });
  // Checks across variables run on the raw values too, so one error lists everything to fix.
  const transport = cleaned.MQ_TRANSPORT ?? 'embedded';
  if (transport === 'amqp' && !cleaned.AMQP_URL) {
    problems.push('AMQP_URL is required when MQ_TRANSPORT=amqp (e.g. amqp://user:pass@host:5672)');
  }
  if (transport === 'ibmmq' && !cleaned.MQ_QMGR) {
    problems.push('MQ_QMGR is required when MQ_TRANSPORT=ibmmq (the queue manager name, e.g. QM1)');
  }
  if (cleaned.MQ_TLS_CIPHER_SPEC && !cleaned.MQ_KEY_REPOSITORY) {
    problems.push('MQ_KEY_REPOSITORY is required with MQ_TLS_CIPHER_SPEC (the key repository of the client)');
  }
  const marketplaces = (cleaned.MARKETPLACES ?? 'amazon').split(',').map((m) => m.trim());
  if (marketplaces.includes('amazon') && options.requireMarketplaceCredentials !== false) {
    for (const [v, what] of [
      ['AMAZON_CLIENT_ID', 'LWA credentials of the app'],
      ['AMAZON_CLIENT_SECRET', 'LWA credentials of the app'],
      ['AMAZON_REFRESH_TOKEN', "the seller's authorisation of the app"],
      ['AMAZON_SELLER_ID', 'the merchant token'],
    ] as const) {
      if (!cleaned[v]) problems.push(`${v} is required when MARKETPLACES includes amazon (${what})`);
    }
  }
  const required: Record<string, { vars: string[]; what: string }> = {
    flipkart: {
      vars: ['FLIPKART_APP_ID', 'FLIPKART_APP_SECRET', 'FLIPKART_DEFAULT_LOCATION'],
      what: 'the self-access app and the Flipkart location that takes stock given without a location',
    },
    tatacliq: {
      vars: ['TATACLIQ_BASE_URL', 'TATACLIQ_SELLER_ID', 'TATACLIQ_TOKEN', 'TATACLIQ_SLAVE_IDS'],
      what: 'PartnerConnect host, seller, bearer token and the OMS location → SlaveID map',
    },
  };
  for (const [m, r] of Object.entries(required)) {
    if (!marketplaces.includes(m) || options.requireMarketplaceCredentials === false) continue;
    for (const v of r.vars)
      if (!cleaned[v]) problems.push(`${v} is required when MARKETPLACES includes ${m} (${r.what})`);
  }
  if (problems.length > 0 || !parsed.success) throw new ConfigError([...new Set(problems)]);
  const e = parsed.data;

  return {
    databaseUrl: e.DATABASE_URL,
    dataDir: e.MARKETBRIDGE_DATA_DIR,
    logLevel: e.LOG_LEVEL,
    queue: {
      transport: e.MQ_TRANSPORT,
      inbound: e.MQ_INBOUND_QUEUE,
      outbound: e.MQ_OUTBOUND_QUEUE,
      backout: e.MQ_BACKOUT_QUEUE,
      backoutThreshold: e.MQ_BACKOUT_THRESHOLD,
      prefetch: e.MQ_PREFETCH,
      maxMessageBytes: e.MQ_MAX_MESSAGE_BYTES,
      amqp: e.AMQP_URL
        ? {
            url: e.AMQP_URL,
            addressTemplate: e.AMQP_ADDRESS_TEMPLATE,
            queueCapability: e.AMQP_QUEUE_CAPABILITY,
          }
        : undefined,
      ibmmq: e.MQ_QMGR
        ? {
            queueManager: e.MQ_QMGR,
            channel: e.MQ_CHANNEL,
            connectionName: e.MQ_CONNAME,
            user: e.MQ_USER,
            password: e.MQ_PASSWORD,
            tlsCipherSpec: e.MQ_TLS_CIPHER_SPEC,
            keyRepository: e.MQ_KEY_REPOSITORY,
            clientReconnect: e.MQ_CLIENT_RECONNECT,
            waitMs: e.MQ_WAIT_MS,
            pollMs: e.MQ_POLL_MS,
          }
        : undefined,
    },
    marketplaces: e.MARKETPLACES,
    amazon:
      e.MARKETPLACES.includes('amazon') && e.AMAZON_CLIENT_ID
        ? {
            endpoint: e.AMAZON_ENDPOINT,
            lwaEndpoint: e.AMAZON_LWA_ENDPOINT,
            clientId: e.AMAZON_CLIENT_ID!,
            clientSecret: e.AMAZON_CLIENT_SECRET!,
            refreshToken: e.AMAZON_REFRESH_TOKEN!,
            sellerId: e.AMAZON_SELLER_ID!,
            marketplaceId: e.AMAZON_MARKETPLACE_ID,
            rateScale: e.AMAZON_RATE_SCALE,
            delistMode: e.AMAZON_DELIST_MODE,
            feedThreshold: e.AMAZON_FEED_THRESHOLD,
            feedLingerMs: e.AMAZON_FEED_LINGER_MS,
            feedPollMs: e.AMAZON_FEED_POLL_MS,
            feedStuckMs: e.AMAZON_FEED_STUCK_MS,
          }
        : undefined,
    flipkart:
      e.MARKETPLACES.includes('flipkart') && e.FLIPKART_APP_ID
        ? {
            baseUrl: e.FLIPKART_BASE_URL,
            tokenUrl: e.FLIPKART_TOKEN_URL,
            appId: e.FLIPKART_APP_ID,
            appSecret: e.FLIPKART_APP_SECRET!,
            locations: e.FLIPKART_LOCATIONS,
            defaultLocation: e.FLIPKART_DEFAULT_LOCATION!,
            rateScale: e.FLIPKART_RATE_SCALE,
          }
        : undefined,
    tatacliq:
      e.MARKETPLACES.includes('tatacliq') && e.TATACLIQ_TOKEN
        ? {
            baseUrl: e.TATACLIQ_BASE_URL!,
            sellerId: e.TATACLIQ_SELLER_ID!,
            token: e.TATACLIQ_TOKEN,
            slaveIds: e.TATACLIQ_SLAVE_IDS ?? {},
            defaultSlaveId: e.TATACLIQ_DEFAULT_SLAVE_ID,
            rateScale: e.TATACLIQ_RATE_SCALE,
          }
        : undefined,
    actors: {
      idleMs: e.ACTOR_IDLE_MS,
      flushMs: e.SNAPSHOT_FLUSH_MS,
      retryBaseMs: e.RETRY_BASE_MS,
      retryMaxMs: e.RETRY_MAX_MS,
      verifyDelayMs: e.VERIFY_DELAY_MS,
    },
    orders: {
      pollMs: {
        amazon: e.AMAZON_ORDER_POLL_MS,
        flipkart: e.FLIPKART_ORDER_POLL_MS,
        tatacliq: e.TATACLIQ_ORDER_POLL_MS,
      },
      lookbackHours: e.ORDERS_LOOKBACK_HOURS,
      outboxPollMs: e.OUTBOX_POLL_MS,
      timerSweepMs: e.TIMER_SWEEP_MS,
    },
  };
}

/** The resolved configuration as it may be logged: secrets replaced, credentials in URLs hidden. */
export function redactConfig(config: Config): Record<string, unknown> {
  return {
    ...config,
    databaseUrl: config.databaseUrl ? redactUrl(config.databaseUrl) : '(embedded PGlite)',
    queue: {
      ...config.queue,
      amqp: config.queue.amqp ? { ...config.queue.amqp, url: redactUrl(config.queue.amqp.url) } : undefined,
    },
    amazon: config.amazon
      ? {
          ...config.amazon,
          endpoint: redactUrl(config.amazon.endpoint),
          lwaEndpoint: redactUrl(config.amazon.lwaEndpoint),
          clientSecret: '***',
          refreshToken: '***',
        }
      : undefined,
    flipkart: config.flipkart
      ? { ...config.flipkart, baseUrl: redactUrl(config.flipkart.baseUrl), appSecret: '***' }
      : undefined,
    tatacliq: config.tatacliq
      ? { ...config.tatacliq, baseUrl: redactUrl(config.tatacliq.baseUrl), token: '***' }
      : undefined,
  };
}

/** A URL as it may be shown: the password and secret-looking query parameters (`?password=`) hidden. */
export function redactUrl(u: string): string {
  try {
    const parsed = new URL(u);
    if (parsed.password) parsed.password = '***';
    for (const key of [...parsed.searchParams.keys()]) {
      if (/pass|secret|key|token/i.test(key)) parsed.searchParams.set(key, '***');
    }
    return parsed.toString();
  } catch {
    return '(invalid URL)';
  }
}

/** Names and defaults of every variable, for `--help` and the README. */
export const CONFIG_VARIABLES = Object.keys(schema.shape);
