import type { Logger } from 'pino';
import { listingKind } from './actors/listing-kind.js';
import { orderKind } from './actors/order-kind.js';
import { ActorRuntime } from './actors/runtime.js';
import type { Config } from './config/index.js';
import { redactConfig } from './config/index.js';
import { type Clock, systemClock } from './core/clock.js';
import type { MarketplaceId } from './domain/types.js';
import {
  AmazonFeedsClient,
  AmazonListingAdapter,
  AmazonOrderActions,
  AmazonOrderSource,
  AmazonOrdersClient,
  AmazonSpApiClient,
  LISTINGS_FEED_SUBMISSIONS,
  ListingsFeedQueue,
} from './marketplaces/amazon/index.js';
import {
  FlipkartClient,
  FlipkartListingAdapter,
  FlipkartOrderActions,
  FlipkartOrderSource,
  FlipkartOrdersClient,
} from './marketplaces/flipkart/index.js';
import type { OrderActions, OrderSource } from './marketplaces/orders.js';
import {
  TataCliqClient,
  TataCliqListingAdapter,
  TataCliqOrderActions,
  TataCliqOrderSource,
  TataCliqOrdersClient,
} from './marketplaces/tatacliq/index.js';
import type { ListingAdapter } from './marketplaces/types.js';
import { DbCallRecorder } from './persistence/call-recorder.js';
import { type Database, migrate, openDatabase } from './persistence/database.js';
import { type AmqpTransportOptions, createAmqpTransport } from './streams/amqp.js';
import { createEmbeddedTransport } from './streams/embedded.js';
import { createIbmMqTransport } from './streams/ibmmq.js';
import { type InboundStats, startInbound } from './streams/inbound.js';
import { loadIbmMqi } from './streams/mqi.js';
import { type OutboxRelay, startOutboxRelay } from './streams/outbox.js';
import { type OrderPoller, startOrderPoller } from './streams/pollers.js';
import type { QueueTransport } from './streams/transport.js';

export interface App {
  readonly config: Config;
  readonly db: Database;
  readonly transport: QueueTransport;
  readonly runtime: ActorRuntime;
  readonly recorder: DbCallRecorder;
  readonly inboundStats: InboundStats;
  /** Publishes what the actors wrote to the outbox (messages to the OMS). */
  readonly outbox: OutboxRelay;
  /** One per marketplace whose orders are polled. */
  readonly pollers: readonly OrderPoller[];
  /** Resolves with the error when the app cannot go on (e.g. the broker refuses the credentials). */
  readonly fatal: Promise<Error>;
  /** Drains: stops taking messages, persists every actor, closes connections. */
  stop(): Promise<void>;
}

export interface AppDeps {
  logger: Logger;
  clock?: Clock;
  /** Replace the marketplace adapters (tests); by default they are built from config. */
  adapters?: Partial<Record<MarketplaceId, ListingAdapter>>;
  /** Replace the order sides of marketplaces (tests); by default they are built from config. */
  orderActions?: Partial<Record<MarketplaceId, OrderActions>>;
  orderSources?: OrderSource[];
  /** Replace the queue transport (tests); by default it is built from config. */
  transport?: QueueTransport;
  /** An open database to use instead of opening one from config. */
  db?: Database;
}

export interface TransportDeps {
  logger: Logger;
  /** Needed by the embedded transport only. */
  db?: Database;
  /** Overrides for the AMQP transport (e.g. a short reconnect limit for one-shot commands). */
  amqp?: Partial<AmqpTransportOptions>;
}

export function createTransport(config: Config, deps: TransportDeps): QueueTransport {
  switch (config.queue.transport) {
    case 'embedded':
      if (!deps.db) throw new Error('the embedded queue needs the database');
      return createEmbeddedTransport({ db: deps.db, backoutQueue: config.queue.backout });
    case 'amqp': {
      const amqp = config.queue.amqp!;
      return createAmqpTransport({
        url: amqp.url,
        addressTemplate: amqp.addressTemplate,
        queueCapability: amqp.queueCapability,
        backoutQueue: config.queue.backout,
        logger: deps.logger.child({ component: 'amqp' }),
        ...deps.amqp,
      });
    }
    case 'ibmmq': {
      const mq = config.queue.ibmmq!;
      return createIbmMqTransport({
        mqi: () => loadIbmMqi({ pollMs: mq.pollMs }),
        connection: {
          queueManager: mq.queueManager,
          channel: mq.channel,
          ...(mq.connectionName ? { connectionName: mq.connectionName } : {}),
          ...(mq.user ? { user: mq.user } : {}),
          ...(mq.password !== undefined ? { password: mq.password } : {}),
          ...(mq.tlsCipherSpec ? { tlsCipherSpec: mq.tlsCipherSpec } : {}),
          ...(mq.keyRepository ? { keyRepository: mq.keyRepository } : {}),
          clientReconnect: mq.clientReconnect,
          applicationName: 'marketbridge',
        },
        backoutQueue: config.queue.backout,
        backoutThreshold: config.queue.backoutThreshold,
        waitMs: mq.waitMs,
        logger: deps.logger.child({ component: 'ibmmq' }),
      });
    }
    default: {
      const never: never = config.queue.transport;
      throw new Error(`unknown transport ${String(never)}`);
    }
  }
}

/**
 * The composition root: config → logger → database → queue → limiters/clients → actors →
 * streams. Nothing else in the code base starts anything at import time.
 */
export async function startApp(config: Config, deps: AppDeps): Promise<App> {
  const { logger } = deps;
  const clock = deps.clock ?? systemClock;
  logger.info({ config: redactConfig(config) }, 'starting marketbridge');

  const db = deps.db ?? (await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir }));
  const stops: (() => Promise<void> | void)[] = [];
  try {
    const applied = await migrate(db);
    if (applied.length > 0) logger.info({ migrations: applied }, 'database migrated');
    const recorder = new DbCallRecorder(db, logger);

    const adapters: Partial<Record<MarketplaceId, ListingAdapter>> = { ...deps.adapters };
    const orderActions: Partial<Record<MarketplaceId, OrderActions>> = { ...deps.orderActions };
    const orderSources: OrderSource[] = [...(deps.orderSources ?? [])];
    if (!adapters.amazon && config.amazon) {
      const a = config.amazon;
      const client = new AmazonSpApiClient({
        endpoint: a.endpoint,
        lwaEndpoint: a.lwaEndpoint,
        clientId: a.clientId,
        clientSecret: () => a.clientSecret,
        refreshToken: a.refreshToken,
        sellerId: a.sellerId,
        marketplaceId: a.marketplaceId,
        rateScale: a.rateScale,
        clock,
        recorder,
      });
      const feeds = new AmazonFeedsClient({
        client,
        endpoint: a.endpoint,
        rateScale: a.rateScale,
        clock,
        recorder,
      });
      const queue = new ListingsFeedQueue({
        feeds,
        sellerId: a.sellerId,
        clock,
        logger: logger.child({ component: 'amazon-feeds' }),
        submissions: {
          max: LISTINGS_FEED_SUBMISSIONS.max,
          windowMs: LISTINGS_FEED_SUBMISSIONS.windowMs / a.rateScale,
        },
        lingerMs: a.feedLingerMs,
        pollMs: a.feedPollMs,
        stuckAfterMs: a.feedStuckMs,
      });
      stops.push(async () => {
        await queue.stop();
        await feeds.stop();
        await client.stop();
      });
      adapters.amazon = new AmazonListingAdapter({
        client,
        delistMode: a.delistMode,
        bulk: { queue, threshold: a.feedThreshold },
      });
      const orders = new AmazonOrdersClient({
        client,
        endpoint: a.endpoint,
        rateScale: a.rateScale,
        clock,
        recorder,
      });
      if (!deps.orderSources) orderSources.push(new AmazonOrderSource({ orders, clock }));
      orderActions.amazon ??= new AmazonOrderActions({
        orders,
        feeds,
        sellerId: a.sellerId,
        clock,
        feedPollIntervalMs: a.feedPollMs,
      });
    }

    if (!adapters.flipkart && config.flipkart) {
      const f = config.flipkart;
      const client = new FlipkartClient({
        baseUrl: f.baseUrl,
        tokenUrl: f.tokenUrl,
        appId: f.appId,
        appSecret: () => f.appSecret,
        rateScale: f.rateScale,
        clock,
        recorder,
      });
      const adapter = new FlipkartListingAdapter({
        client,
        defaultLocation: f.defaultLocation,
        locations: f.locations,
        clock,
      });
      stops.push(async () => {
        await adapter.flush();
        await client.stop();
      });
      adapters.flipkart = adapter;
      const orders = new FlipkartOrdersClient({ client, baseUrl: f.baseUrl });
      if (!deps.orderSources) orderSources.push(new FlipkartOrderSource({ api: orders, clock }));
      orderActions.flipkart ??= new FlipkartOrderActions({ api: orders, clock });
    }
    if (!adapters.tatacliq && config.tatacliq) {
      const t = config.tatacliq;
      const client = new TataCliqClient({
        baseUrl: t.baseUrl,
        sellerId: t.sellerId,
        token: t.token,
        rateScale: t.rateScale,
        clock,
        recorder,
      });
      const adapter = new TataCliqListingAdapter({
        client,
        slaveIds: t.slaveIds,
        ...(t.defaultSlaveId ? { defaultSlaveId: t.defaultSlaveId } : {}),
        clock,
      });
      stops.push(async () => {
        await adapter.flush();
        await client.stop();
      });
      adapters.tatacliq = adapter;
      const orders = new TataCliqOrdersClient({ client, rateScale: t.rateScale });
      if (!deps.orderSources) orderSources.push(new TataCliqOrderSource({ api: orders, clock }));
      orderActions.tatacliq ??= new TataCliqOrderActions({ api: orders, clock });
    }

    const transport = deps.transport ?? createTransport(config, { db, logger });
    stops.push(() => transport.close());

    const outbox = startOutboxRelay({
      db,
      transport,
      clock,
      logger,
      pollMs: config.orders.outboxPollMs,
    });
    stops.push(() => outbox.stop());

    const runtime = new ActorRuntime({
      db,
      clock,
      logger,
      onFlushed: () => outbox.kick(),
      wakeSweepMs: config.orders.timerSweepMs,
      idleMs: config.actors.idleMs,
      flushMs: config.actors.flushMs,
      kinds: [
        listingKind({
          adapters,
          clock,
          retryBaseMs: config.actors.retryBaseMs,
          retryMaxMs: config.actors.retryMaxMs,
          verifyDelayMs: config.actors.verifyDelayMs,
        }),
        orderKind({
          actions: orderActions,
          clock,
          retryBaseMs: config.actors.retryBaseMs,
          retryMaxMs: config.actors.retryMaxMs,
          outboundQueue: config.queue.outbound,
        }),
      ],
    });
    stops.push(() => runtime.stop());
    const recovered = await runtime.start();
    if (recovered.woken + recovered.pending > 0) logger.info(recovered, 'resumed work left by the last run');

    let onFatal: (err: Error) => void = () => {};
    const fatal = new Promise<Error>((resolve) => {
      onFatal = resolve;
    });
    const inbound = startInbound({
      transport,
      db,
      queue: config.queue.inbound,
      prefetch: config.queue.prefetch,
      backoutThreshold: config.queue.backoutThreshold,
      maxMessageBytes: config.queue.maxMessageBytes,
      messageIdAsKey: transport.kind === 'ibmmq',
      marketplaces: config.marketplaces,
      clock,
      logger,
      onRouted: (events) => {
        runtime.deliverMany(events);
      },
      onFatal: (err) => onFatal(err),
    });
    stops.push(() => inbound.stop());

    const pollers: OrderPoller[] = [];
    const since = new Date(clock.now() - config.orders.lookbackHours * 3_600_000);
    for (const source of orderSources) {
      const intervalMs = config.orders.pollMs[source.marketplace];
      if (!(intervalMs > 0)) continue;
      pollers.push(
        startOrderPoller({
          source,
          db,
          clock,
          logger,
          intervalMs,
          since,
          onCommitted: (events) => {
            runtime.deliverMany(events);
          },
        }),
      );
    }
    stops.push(async () => {
      await Promise.all(pollers.map((p) => p.stop()));
    });

    let stopping: Promise<void> | undefined;
    return {
      config,
      db,
      transport,
      runtime,
      recorder,
      inboundStats: inbound.stats,
      outbox,
      pollers,
      fatal,
      stop: () => {
        stopping ??= (async () => {
          // Reverse order of start: stop consuming, persist every actor, close clients and queue.
          for (const s of stops.reverse()) await s();
          await recorder.flush();
          if (!deps.db) await db.close();
          logger.info('stopped');
        })();
        return stopping;
      },
    };
  } catch (err) {
    for (const s of stops.reverse()) await s();
    if (!deps.db) await db.close();
    throw err;
  }
}
