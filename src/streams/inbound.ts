import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { bufferTime, concatMap, defer, filter, Observable, retry, type Subscription, timer } from 'rxjs';
import type { Clock } from '../core/clock.js';
import { RetryableError, TerminalError } from '../core/errors.js';
import { errorSummary, storableText } from '../core/text.js';
import { decodeOmsMessage, entityKeyOf, type ListingEvent, type OmsEvent } from '../domain/oms.js';
import type { MarketplaceId } from '../domain/types.js';
import { type Database, isContentError, isInfrastructureError, type Sql } from '../persistence/database.js';
import {
  isListingEvent,
  parseListingKey,
  type RoutedEvent,
  routeListingEvent,
  routeOrderEvent,
} from './routing.js';
import type { Delivery, QueueTransport } from './transport.js';

export interface InboundOptions {
  transport: QueueTransport;
  db: Database;
  queue: string;
  prefetch: number;
  /** A delivery seen more often than this without being committed goes to the backout queue. */
  backoutThreshold: number;
  maxMessageBytes: number;
  /**
   * A body without `id` takes the transport's message id as its idempotency key (`mq:<MsgId>`):
   * IBM MQ, whose MsgId is unique per message put. Otherwise such a body is rejected.
   */
  messageIdAsKey?: boolean;
  marketplaces: readonly MarketplaceId[];
  clock: Clock;
  logger: Logger;
  /** Called after commit with the actor events the batch produced, in order. */
  onRouted(events: (RoutedEvent & { event: { seq: number } })[]): void;
  /** Called once when consuming cannot go on (a terminal transport error, e.g. bad credentials). */
  onFatal?(err: Error): void;
  /** Deliveries are committed in batches of at most `batchMax`, gathered for at most `batchMs`. */
  batchMs?: number;
  batchMax?: number;
}

export interface InboundStats {
  accepted: number;
  duplicates: number;
  rejected: number;
  failedBatches: number;
}

type Decided =
  | { d: Delivery; kind: 'rejected'; key: string; type: string; reason: string }
  | {
      d: Delivery;
      kind: 'event';
      event: OmsEvent;
      /** Delivered past the backout threshold: rejected with this reason unless already applied. */
      pastThreshold?: string;
    };

const hashKey = (body: string) => `sha256:${createHash('sha256').update(body).digest('hex')}`;

/**
 * The backout queue refused a rejected message (it was given back). Not a database failure: the
 * consumer stops, for good when the refusal is terminal (a missing or forbidden backout queue),
 * else to start again after a pause (a full one), rather than cycle through the same poison.
 */
function backoutRefused(reason: unknown): Error {
  const message = `could not move a rejected message to the backout queue: ${errorSummary(reason)}`;
  return reason instanceof TerminalError
    ? new TerminalError(message, { cause: reason })
    : new RetryableError(message, { cause: reason });
}

/**
 * Turns the inbound queue into committed events. For each batch, in one transaction: rejected
 * messages get an `event_log` row with their reason; valid ones are inserted once per idempotency
 * key (a key seen before gets a `duplicate` row and is not applied again), routed to actors, and
 * their actor events written to `actor_inbox`. Only after the commit are deliveries settled
 * (accepted, or moved to the backout queue) and the actors told.
 */
export function startInbound(opts: InboundOptions): { stop(): void; stats: InboundStats } {
  const stats: InboundStats = { accepted: 0, duplicates: 0, rejected: 0, failedBatches: 0 };
  const log = opts.logger.child({ component: 'inbound', queue: opts.queue });

  const decide = (d: Delivery): Decided => {
    if (d.bodyProblem) {
      return {
        d,
        kind: 'rejected',
        key: d.messageId ?? hashKey(d.body),
        type: 'unknown',
        reason: d.bodyProblem,
      };
    }
    const r = decodeOmsMessage(d.body, {
      maxBytes: opts.maxMessageBytes,
      now: opts.clock.now(),
      ...(opts.messageIdAsKey && d.messageId ? { fallbackId: `mq:${d.messageId}` } : {}),
    });
    if (d.deliveryCount > opts.backoutThreshold) {
      const reason = `delivered ${d.deliveryCount} times without being committed (backout threshold ${opts.backoutThreshold})`;
      // A valid one may have been applied already, its settlement lost each time: then it is a
      // duplicate to acknowledge, not poison (decided in the transaction, see pastThreshold).
      if (r.ok) return { d, kind: 'event', event: r.event, pastThreshold: reason };
      return {
        d,
        kind: 'rejected',
        key: r.id ?? d.messageId ?? hashKey(d.body),
        type: r.type ?? 'unknown',
        reason,
      };
    }
    if (r.ok) return { d, kind: 'event', event: r.event };
    return {
      d,
      kind: 'rejected',
      key: r.id ?? d.messageId ?? hashKey(d.body),
      type: r.type ?? 'unknown',
      reason: r.reason,
    };
  };

  type Committed = Awaited<ReturnType<typeof commit>>;

  /** Commits the items in one transaction and tells the actors. Throws what the database says. */
  const commit = async (decided: Decided[]) => {
    const receivedAt = new Date(opts.clock.now()).toISOString();
    const committed = await opts.db.transaction(async (tx) => {
      const items = await resolvePastThreshold(tx, decided);
      return { ...(await write(tx, items, receivedAt)), items };
    });
    opts.onRouted(committed.routed);
    log.info(
      {
        messages: decided.length,
        actorEvents: committed.routed.length,
        duplicates: committed.duplicates.size,
      },
      'inbound messages committed',
    );
    return committed;
  };

  /**
   * Committed: settle. A failed accept means a redelivery, recognised then as a duplicate; a
   * failed backout gives the message back and stops the consumer (backoutRefused).
   */
  const settleAll = async ({ items, duplicates }: Committed) => {
    // Counted once settled (or its settlement failed: then it comes again and counts as a
    // duplicate, as it is), so a count is what was applied. Not waited for: on IBM MQ an accept
    // resolves when its whole round is committed, and the rest of the round may be in the next
    // batch (waiting here would wait for ourselves).
    let refused: unknown;
    for (const [i, it] of items.entries()) {
      if (it.kind === 'rejected') {
        log.warn(
          { idempotencyKey: storableText(it.key, 200), reason: it.reason },
          'message rejected to backout',
        );
        try {
          await it.d.backout(it.reason); // in arrival order
          stats.rejected++;
        } catch (err) {
          await releaseAll([it]); // not moved aside: it must not hold a prefetch slot
          refused ??= err;
        }
      } else {
        void it.d
          .accept()
          .catch((err) =>
            log.warn({ error: errorSummary(err) }, 'settling a delivery failed; it may be redelivered'),
          )
          .then(() => {
            if (duplicates.has(i)) stats.duplicates++;
            else stats.accepted++;
          });
      }
    }
    if (refused !== undefined) throw backoutRefused(refused);
  };

  const releaseAll = (items: Decided[]) => Promise.allSettled(items.map((it) => it.d.release()));

  /**
   * Whether the database can work at all, told apart from one that refuses this data: not an
   * infrastructure error, and it answers a probe.
   */
  const databaseCanWork = async (err: unknown) => !isInfrastructureError(err) && (await databaseAnswers());

  const databaseAnswers = async () => {
    try {
      await opts.db.query('select 1');
      return true;
    } catch {
      return false;
    }
  };

  /**
   * One batch's work: abandoned (its deliveries given back, nothing more committed) when its
   * subscription is torn down (the consumer stops, or the transport restarts and the same
   * messages are about to come again to a new consumer).
   */
  interface Run {
    signal: AbortSignal;
    /** Holds so far: the backoff goes on growing while the database keeps refusing. */
    holds: number;
    lastHoldLog: number;
  }

  /**
   * The database cannot work: the deliveries in hand are held, not released, until it answers
   * again. Released, they would come back counted, and an outage of a few seconds would push
   * good messages past the backout threshold. Held, they keep their order, and consumption
   * pauses (the transport's prefetch bounds what waits). False when the run was abandoned.
   */
  const holdUntilDatabaseAnswers = async (run: Run, held: number, err: unknown): Promise<boolean> => {
    const now = opts.clock.now();
    if (run.holds === 0 || now - run.lastHoldLog >= 60_000) {
      run.lastHoldLog = now;
      log.error(
        { error: errorSummary(err), messages: held, attempts: run.holds + 1 },
        'database unavailable; holding the messages until it answers',
      );
    }
    for (;;) {
      const delay = Math.min(5_000, 250 * 2 ** Math.min(run.holds++, 5));
      await opts.clock.sleep(delay, run.signal).catch(() => {});
      if (run.signal.aborted) return false;
      if (await databaseAnswers()) return true;
    }
  };

  /**
   * A batch that cannot be committed: while the database cannot work, it is held and tried
   * again. If the database works but refuses the batch, it is committed one message at a time,
   * so one message cannot hold back the others: one refused for what it contains is rejected to
   * backout with the database's reason; one refused otherwise (a trigger, a bug) is released,
   * comes back with a higher delivery count, and goes to backout past the threshold.
   */
  const ingest = async (batch: Delivery[], signal: AbortSignal) => {
    const run: Run = { signal, holds: 0, lastHoldLog: 0 };
    const items = batch.map(decide);
    let committed: Committed;
    for (;;) {
      try {
        committed = await commit(items);
        break;
      } catch (err) {
        stats.failedBatches++;
        if (isContentError(err) || (await databaseCanWork(err))) {
          // A batch of one has had its try: decide on that error rather than try it again.
          if (items.length === 1) return afterFailure(run, items[0]!, err);
          log.warn(
            { error: errorSummary(err), messages: items.length },
            'inbound batch failed; committing one by one',
          );
          return ingestOneByOne(run, items);
        }
        if (!(await holdUntilDatabaseAnswers(run, items.length, err))) {
          await releaseAll(items); // abandoned: delivered again to the next consumer
          return;
        }
      }
    }
    if (run.holds > 0)
      log.info({ messages: items.length }, 'database answers again; held messages committed');
    await settleAll(committed);
  };

  const ingestOneByOne = async (run: Run, items: Decided[]) => {
    for (const [n, it] of items.entries()) {
      try {
        await ingestOne(run, it);
      } catch (err) {
        await releaseAll(items.slice(n + 1)); // the consumer stops: nothing left holding a slot
        throw err;
      }
    }
  };

  const ingestOne = async (run: Run, it: Decided): Promise<void> => {
    if (run.signal.aborted) {
      await releaseAll([it]);
      return;
    }
    let committed: Committed;
    try {
      committed = await commit([it]);
    } catch (err) {
      return afterFailure(run, it, err);
    }
    await settleAll(committed);
  };

  /** One message could not be committed: rejected, released, or held while the database is away. */
  const afterFailure = async (run: Run, it: Decided, err: unknown): Promise<void> => {
    if (isContentError(err)) return rejectStored(it, err);
    if (await databaseCanWork(err)) {
      log.error(
        { error: errorSummary(err) },
        'could not commit an inbound message; releasing it for redelivery',
      );
      await releaseAll([it]);
      return;
    }
    if (await holdUntilDatabaseAnswers(run, 1, err)) return ingestOne(run, it);
    await releaseAll([it]);
  };

  /** The database refused the message for what it contains: rejected with the database's reason. */
  const rejectStored = async (it: Decided, err: unknown) => {
    const reason = `could not be stored: ${errorSummary(err)}`;
    const key = it.kind === 'event' ? it.event.id : it.key;
    const type = it.kind === 'event' ? it.event.type : it.type;
    const rejected: Decided = { d: it.d, kind: 'rejected', key, type, reason };
    let committed: Committed;
    try {
      committed = await commit([rejected]);
    } catch (again) {
      // Not even its rejection can be recorded: move it aside all the same, nothing is lost.
      log.error(
        { error: errorSummary(again), reason },
        'rejected message backed out without an event_log row',
      );
      committed = { items: [rejected], routed: [], duplicates: new Set() };
    }
    await settleAll(committed);
  };

  /**
   * Messages delivered past the backout threshold: one whose id is already accepted stays an
   * event (recorded as a duplicate and acknowledged), any other is rejected to backout.
   */
  const resolvePastThreshold = async (tx: Sql, items: Decided[]): Promise<Decided[]> => {
    const keys = items.flatMap((it) => (it.kind === 'event' && it.pastThreshold ? [it.event.id] : []));
    if (keys.length === 0) return items;
    const rows = await tx.query<{ idempotency_key: string }>(
      `select idempotency_key from event_log where status = 'accepted'
         and idempotency_key in (select jsonb_array_elements_text(?::jsonb))`,
      [JSON.stringify(keys)],
    );
    const applied = new Set(rows.map((r) => r.idempotency_key));
    return items.map((it) =>
      it.kind === 'event' && it.pastThreshold && !applied.has(it.event.id)
        ? { d: it.d, kind: 'rejected', key: it.event.id, type: it.event.type, reason: it.pastThreshold }
        : it,
    );
  };

  const write = async (tx: Sql, items: Decided[], receivedAt: string) => {
    const rejected = items.flatMap((it) =>
      it.kind === 'rejected'
        ? [
            {
              k: storableText(it.key, 2000),
              t: storableText(it.type, 100),
              r: storableText(it.reason, 2000),
              m: it.d.messageId === undefined ? null : storableText(it.d.messageId, 200),
              b: storableText(it.d.body, 4096),
            },
          ]
        : [],
    );
    if (rejected.length > 0) {
      await tx.query(
        `insert into event_log (idempotency_key, source, type, payload, received_at, status, reason, message_id)
         select r.k, 'oms', r.t, jsonb_build_object('body', r.b), ?::timestamptz, 'rejected', r.r, r.m
         from jsonb_to_recordset(?::jsonb) as r(k text, t text, r text, m text, b text)`,
        [receivedAt, JSON.stringify(rejected)],
      );
    }
    const events = items.flatMap((it, i) =>
      it.kind === 'event'
        ? [{ i, e: it.event, m: it.d.messageId === undefined ? null : storableText(it.d.messageId, 200) }]
        : [],
    );
    const duplicates = new Set<number>();
    const routed: (RoutedEvent & { event: { seq: number } })[] = [];
    if (events.length === 0) return { routed, duplicates };

    const inserted = await tx.query<{ id: string; idempotency_key: string }>(
      `insert into event_log (idempotency_key, source, type, entity_key, payload, occurred_at, received_at, status, message_id)
       select x.v->'e'->>'id', 'oms', x.v->'e'->>'type', x.v->>'k', x.v->'e', (x.v->'e'->>'occurredAt')::timestamptz,
              ?::timestamptz, 'accepted', x.v->>'m'
       from jsonb_array_elements(?::jsonb) with ordinality as x(v, n)
       order by x.n
       on conflict (idempotency_key) where status = 'accepted' do nothing
       returning id, idempotency_key`,
      [receivedAt, JSON.stringify(events.map(({ e, m }) => ({ e, k: entityKeyOf(e), m })))],
    );
    const idByKey = new Map(inserted.map((r) => [r.idempotency_key, Number(r.id)]));
    const fresh: { e: OmsEvent; seq: number }[] = [];
    const dupRows: { k: string; t: string; m: string | null }[] = [];
    for (const { i, e, m } of events) {
      const seq = idByKey.get(e.id);
      if (seq === undefined) {
        duplicates.add(i);
        dupRows.push({ k: e.id, t: e.type, m });
      } else {
        idByKey.delete(e.id); // a second copy in the same batch is a duplicate too
        fresh.push({ e, seq });
      }
    }
    if (dupRows.length > 0) {
      await tx.query(
        `insert into event_log (idempotency_key, source, type, received_at, status, reason, message_id)
         select r.k, 'oms', r.t, ?::timestamptz, 'duplicate', 'idempotency key already accepted; not applied again', r.m
         from jsonb_to_recordset(?::jsonb) as r(k text, t text, m text)`,
        [receivedAt, JSON.stringify(dupRows)],
      );
    }

    const listingEvents = fresh.filter((f) => isListingEvent(f.e));
    if (listingEvents.length > 0) {
      const skus = [...new Set(listingEvents.map((f) => (f.e as { sku: string }).sku))];
      const rows = await tx.query<{ sku: string; marketplace: MarketplaceId }>(
        'select sku, marketplace from listing where sku in (select jsonb_array_elements_text(?::jsonb))',
        [JSON.stringify(skus)],
      );
      const listed = new Map<string, Set<MarketplaceId>>();
      for (const r of rows) listed.set(r.sku, (listed.get(r.sku) ?? new Set()).add(r.marketplace));
      const history = await stockAndPriceHistory(tx, listingEvents);
      const newRows: { sku: string; marketplace: MarketplaceId }[] = [];
      for (const { e, seq } of listingEvents) {
        if (!isListingEvent(e)) continue;
        const out = routeListingEvent(e, opts.marketplaces, (sku) => [...(listed.get(sku) ?? [])]);
        for (const r of out) {
          const { marketplace, sku } = parseListingKey(r.key);
          const set = listed.get(sku) ?? new Set<MarketplaceId>();
          if (!set.has(marketplace)) {
            set.add(marketplace);
            listed.set(sku, set);
            newRows.push({ sku, marketplace });
            // A new listing actor first learns the SKU's newest stock and price that came before
            // it (they may be newer than this event: out of order after a redelivery).
            for (const h of history.latestBefore(sku, seq)) {
              for (const seed of routeListingEvent(h.e, opts.marketplaces, () => [marketplace])) {
                routed.push({ key: seed.key, event: { ...seed.event, seq: h.seq } });
              }
            }
          }
          routed.push({ key: r.key, event: { ...r.event, seq } });
        }
      }
      if (newRows.length > 0) {
        await tx.query(
          `insert into listing (sku, marketplace, state, updated_at)
           select r.sku, r.marketplace, 'unlisted', ?::timestamptz from jsonb_to_recordset(?::jsonb) as r(sku text, marketplace text)
           on conflict (sku, marketplace) do nothing`,
          [receivedAt, JSON.stringify(newRows)],
        );
      }
    }
    for (const { e, seq } of fresh) {
      if (isListingEvent(e)) continue;
      const r = routeOrderEvent(e);
      routed.push({ key: r.key, event: { ...r.event, seq } });
    }
    if (routed.length > 0) {
      await tx.query(
        `insert into actor_inbox (actor_key, event_id, event, created_at)
           select r.k, r.s, r.e, ?::timestamptz from jsonb_to_recordset(?::jsonb) as r(k text, s bigint, e jsonb)
           on conflict do nothing`,
        [receivedAt, JSON.stringify(routed.map((r) => ({ k: r.key, s: r.event.seq, e: r.event })))],
      );
    }
    return { routed, duplicates };
  };

  /**
   * Stock updates and price updates for every marketplace, per SKU: the newest before the batch
   * (from event_log) and those in the batch, to seed a listing actor created by this batch.
   */
  const stockAndPriceHistory = async (tx: Sql, batch: { e: OmsEvent; seq: number }[]) => {
    const candidates = [
      ...new Set(
        batch.flatMap(({ e }) =>
          e.type === 'product.list' ||
          e.type === 'product.unlist' ||
          (e.type === 'price.update' && e.marketplaces)
            ? [e.sku]
            : [],
        ),
      ),
    ];
    const seeds: { e: OmsEvent; seq: number }[] = [];
    if (candidates.length > 0) {
      const firstSeq = Math.min(...batch.map((b) => b.seq));
      const rows = await tx.query<{ id: string; payload: OmsEvent }>(
        `select distinct on (entity_key, type) id, payload from event_log
         where status = 'accepted' and id < ? and type in ('stock.update', 'price.update')
           and entity_key in (select 'sku:' || s from jsonb_array_elements_text(?::jsonb) as t(s))
           and (type = 'stock.update' or payload->'marketplaces' is null)
         order by entity_key, type, occurred_at desc, id desc`,
        [firstSeq, JSON.stringify(candidates)],
      );
      seeds.push(...rows.map((r) => ({ e: r.payload, seq: Number(r.id) })));
    }
    const inBatch = batch.filter(
      ({ e }) => e.type === 'stock.update' || (e.type === 'price.update' && !e.marketplaces),
    );
    return {
      latestBefore(sku: string, seq: number): { e: ListingEvent; seq: number }[] {
        const newest = new Map<string, { e: ListingEvent; seq: number }>();
        for (const c of [...seeds, ...inBatch]) {
          if (c.seq >= seq || !isListingEvent(c.e) || c.e.sku !== sku) continue;
          const prev = newest.get(c.e.type);
          if (!prev || Date.parse(c.e.occurredAt) >= Date.parse(prev.e.occurredAt))
            newest.set(c.e.type, { e: c.e, seq: c.seq });
        }
        return [...newest.values()].sort((a, b) => a.seq - b.seq);
      },
    };
  };

  const subscription: Subscription = defer(() =>
    opts.transport.consume(opts.queue, { prefetch: opts.prefetch, consumerHandlesBackout: true }),
  )
    .pipe(
      bufferTime(opts.batchMs ?? 20, null, opts.batchMax ?? 500),
      filter((b) => b.length > 0),
      // Torn down with the consumer: a batch held for the database is then abandoned.
      concatMap(
        (batch) =>
          new Observable<void>((subscriber) => {
            const abandon = new AbortController();
            ingest(batch, abandon.signal).then(
              () => subscriber.complete(),
              (err) => subscriber.error(err),
            );
            return () => abandon.abort();
          }),
      ),
      retry({
        resetOnSuccess: true,
        delay: (err, n) => {
          if (err instanceof TerminalError) throw err; // e.g. credentials refused: retrying cannot help
          log.warn({ error: errorSummary(err), attempt: n }, 'inbound consumer restarting');
          return timer(Math.min(30_000, 250 * 2 ** Math.min(n, 7)));
        },
      }),
    )
    .subscribe({
      error: (err) => {
        log.error({ error: errorSummary(err) }, 'inbound consumer stopped');
        opts.onFatal?.(err instanceof Error ? err : new Error(String(err)));
      },
    });

  // Unsubscribing tears the batch in hand down too (see ingest's signal).
  return { stop: () => subscription.unsubscribe(), stats };
}
