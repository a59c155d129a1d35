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

const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce
    .number({ error: `expected an integer from ${min} to ${max}` })
    .int({ error: `expected an integer from ${min} to ${max}` })
    .min(min, { error: `expected an integer from ${min} to ${max}` })
    .max(max, { error: `expected an integer from ${min} to ${max}` });
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => ['true', '1', 'yes'].includes(v));
const url = (protocols: string[]) =>
  z.string().refine(
    (v) => {
      try {
        return protocols.includes(new URL(v).protocol.replace(':', ''));
      } catch {
        return false;
      }
    },
    { message: `expected a URL with scheme ${protocols.join(' or ')}` },
  );

/** One row per variable: the schema and the human description used in messages and the README. */
const schema = z.object({
  DATABASE_URL: url(['postgres', 'postgresql']).optional(),
  MARKETBRIDGE_DATA_DIR: z.string().min(1).default('.marketbridge'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  MQ_TRANSPORT: z.enum(['embedded', 'amqp', 'ibmmq']).default('embedded'),
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
  MARKETPLACES: z
    .string()
    .default('amazon')
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.enum(MARKETPLACES)).min(1)),
  AMAZON_ENDPOINT: url(['http', 'https']).default('https://sellingpartnerapi-eu.amazon.com'),
  AMAZON_LWA_ENDPOINT: url(['http', 'https']).default('https://api.amazon.com/auth/o2/token'),
  AMAZON_CLIENT_ID: z.string().min(1).optional(),
  AMAZON_CLIENT_SECRET: z.string().min(1).optional(),
  AMAZON_REFRESH_TOKEN: z.string().min(1).optional(),
  AMAZON_SELLER_ID: z.string().min(1).optional(),
  AMAZON_MARKETPLACE_ID: z.string().min(1).default('A21TJRUUN4KGV'),
  AMAZON_RATE_SCALE: z.coerce.number().positive().max(1000).default(1),
  AMAZON_DELIST_MODE: z.enum(['zero-stock', 'delete']).default('zero-stock'),
  ACTOR_IDLE_MS: int(100).default(60_000),
  SNAPSHOT_FLUSH_MS: int(1, 10_000).default(25),
  RETRY_BASE_MS: int(1).default(500),
  RETRY_MAX_MS: int(1).default(60_000),
  VERIFY_DELAY_MS: int(0).default(1_000),
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
      }
    | undefined;
  actors: { idleMs: number; flushMs: number; retryBaseMs: number; retryMaxMs: number; verifyDelayMs: number };
}

/** Variables whose values are never printed. */
export const SECRET_VARIABLES = ['AMAZON_CLIENT_SECRET', 'AMAZON_REFRESH_TOKEN', 'DATABASE_URL', 'AMQP_URL'];

export interface LoadConfigOptions {
  /** False for commands that never call a marketplace (e.g. `send`). Default true. */
  requireMarketplaceCredentials?: boolean;
}

export function loadConfig(env: RawEnv, options: LoadConfigOptions = {}): Config {
  const cleaned = Object.fromEntries(
    Object.keys(schema.shape).map((k) => [k, env[k] === '' ? undefined : env[k]]),
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
  const marketplaces = (cleaned.MARKETPLACES ?? 'amazon').split(',').map((m) => m.trim());
  if (marketplaces.includes('amazon') && options.requireMarketplaceCredentials !== false) {
    for (const v of [
      'AMAZON_CLIENT_ID',
      'AMAZON_CLIENT_SECRET',
      'AMAZON_REFRESH_TOKEN',
      'AMAZON_SELLER_ID',
    ]) {
      if (!cleaned[v])
        problems.push(`${v} is required when MARKETPLACES includes amazon (LWA credentials of the app)`);
    }
  }
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems);
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
          }
        : undefined,
    actors: {
      idleMs: e.ACTOR_IDLE_MS,
      flushMs: e.SNAPSHOT_FLUSH_MS,
      retryBaseMs: e.RETRY_BASE_MS,
      retryMaxMs: e.RETRY_MAX_MS,
      verifyDelayMs: e.VERIFY_DELAY_MS,
    },
  };
}

/** The resolved configuration as it may be logged: secrets replaced, credentials in URLs hidden. */
export function redactConfig(config: Config): Record<string, unknown> {
  const hideUrl = (u: string | undefined) => {
    if (!u) return u;
    const parsed = new URL(u);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  };
  return {
    ...config,
    databaseUrl: config.databaseUrl ? hideUrl(config.databaseUrl) : '(embedded PGlite)',
    queue: {
      ...config.queue,
      amqp: config.queue.amqp ? { ...config.queue.amqp, url: hideUrl(config.queue.amqp.url) } : undefined,
    },
    amazon: config.amazon ? { ...config.amazon, clientSecret: '***', refreshToken: '***' } : undefined,
  };
}

/** Names and defaults of every variable, for `--help` and the README. */
export const CONFIG_VARIABLES = Object.keys(schema.shape);
