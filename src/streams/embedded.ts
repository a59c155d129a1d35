import { EventEmitter } from 'node:events';
import { Observable } from 'rxjs';
import { type Database, isInfrastructureError } from '../persistence/database.js';
import type { ConsumeOptions, Delivery, QueueTransport, TransportHealth } from './transport.js';

export interface EmbeddedTransportOptions {
  db: Database;
  /** Where `backout()` puts a message (the backout_message table, under this queue name). */
  backoutQueue: string;
  /** How often an idle consumer looks for new rows written by another process. */
  pollMs?: number;
}

type Props = Record<string, string | number | boolean>;

interface Row {
  id: string;
  body: string;
  properties: Props | null;
  delivery_count: number;
}

/**
 * A durable queue in the same PostgreSQL (table queue_message), so a fresh machine needs no
 * broker. One consumer per queue (as with an exclusive MQ input handle); a delivery stays in the
 * table until accepted, so a crash before accept redelivers it with delivery_count + 1.
 */
/** The embedded queue, with what the demo and tests use besides the transport itself. */
export type EmbeddedTransport = QueueTransport & {
  publishMany(queue: string, bodies: string[]): Promise<number>;
  depth(queue: string): Promise<number>;
};

export function createEmbeddedTransport(opts: EmbeddedTransportOptions): EmbeddedTransport {
  const { db, backoutQueue } = opts;
  const pollMs = opts.pollMs ?? 100;
  const wake = new EventEmitter();
  wake.setMaxListeners(0);
  let closed = false;

  // Accepts are batched: one DELETE for every accept issued in the same tick.
  let pendingAccepts: { id: string; done: () => void; fail: (e: unknown) => void }[] = [];
  let acceptScheduled = false;
  const flushAccepts = async () => {
    acceptScheduled = false;
    const batch = pendingAccepts;
    pendingAccepts = [];
    try {
      await db.query(
        'delete from queue_message where id in (select jsonb_array_elements_text(?::jsonb)::bigint)',
        [JSON.stringify(batch.map((b) => b.id))],
      );
      for (const b of batch) b.done();
    } catch (e) {
      for (const b of batch) b.fail(e);
    }
  };
  const accept = (id: string) =>
    new Promise<void>((done, fail) => {
      pendingAccepts.push({ id, done, fail });
      if (!acceptScheduled) {
        acceptScheduled = true;
        setImmediate(() => void flushAccepts());
      }
    });

  const consume = (queue: string, copts?: ConsumeOptions) =>
    new Observable<Delivery>((subscriber) => {
      const prefetch = copts?.prefetch ?? 100;
      const inFlight = new Set<string>();
      let cursor = '0';
      let stopped = false;
      let timer: NodeJS.Timeout | undefined;
      let running = false;
      let again = false;
      let pollFailures = 0;

      const settle = (id: string) => {
        inFlight.delete(id);
        schedule(0);
      };

      const makeDelivery = (row: Row): Delivery => {
        let settled = false;
        const once = () => {
          if (settled) throw new Error(`delivery ${row.id} already settled`);
          settled = true;
        };
        /** The row is still in the table: read again from just before it, and free its slot. */
        const giveBack = () => {
          if (BigInt(row.id) - 1n < BigInt(cursor)) cursor = (BigInt(row.id) - 1n).toString();
          settle(row.id);
        };
        /** A settlement that failed leaves the row where it was: delivered again, not stuck. */
        const orGiveBack = async (work: () => Promise<void>) => {
          try {
            await work();
          } catch (err) {
            giveBack();
            throw err;
          }
          settle(row.id);
        };
        return {
          body: row.body,
          messageId: typeof row.properties?.messageId === 'string' ? row.properties.messageId : undefined,
          deliveryCount: row.delivery_count,
          properties: row.properties ?? {},
          accept: async () => {
            once();
            await orGiveBack(() => accept(row.id));
          },
          release: async () => {
            once();
            giveBack();
          },
          backout: async (reason: string) => {
            once();
            await orGiveBack(() =>
              db.transaction(async (tx) => {
                await tx.query(
                  'insert into backout_message (queue, original_queue, body, properties, reason) values (?, ?, ?, ?::jsonb, ?)',
                  [backoutQueue, queue, row.body, JSON.stringify(row.properties ?? {}), reason],
                );
                await tx.query('delete from queue_message where id = ?', [row.id]);
              }),
            );
          },
        };
      };

      const poll = async () => {
        if (running) {
          again = true;
          return;
        }
        running = true;
        try {
          do {
            again = false;
            const room = prefetch - inFlight.size;
            if (room <= 0 || stopped) break;
            const rows = await db.query<Row>(
              `update queue_message set delivery_count = delivery_count + 1
               where id in (select id from queue_message where queue = ? and id > ?
                            and not (id = any (select jsonb_array_elements_text(?::jsonb)::bigint))
                            order by id limit ?)
               returning id, body, properties, delivery_count`,
              [queue, cursor, JSON.stringify([...inFlight]), room],
            );
            rows.sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
            for (const row of rows) {
              if (stopped) break;
              inFlight.add(row.id);
              if (BigInt(row.id) > BigInt(cursor)) cursor = row.id;
              subscriber.next(makeDelivery(row));
            }
            if (rows.length === room) again = true;
          } while (again && !stopped);
        } catch (err) {
          if (stopped || closed) return;
          if (!isInfrastructureError(err)) {
            subscriber.error(err);
            return;
          }
          // The database is away: what was delivered stays delivered (its consumer holds it for
          // the database too); look again later instead of tearing the consumer down, which
          // would deliver the same rows a second time.
          schedule(Math.min(5_000, pollMs * 2 ** Math.min(++pollFailures, 6)));
          return;
        } finally {
          running = false;
        }
        pollFailures = 0;
        schedule(pollMs);
      };

      const schedule = (ms: number) => {
        if (stopped) return;
        if (timer) clearTimeout(timer);
        timer = setTimeout(() => void poll(), ms);
      };
      const onWake = (q: string) => q === queue && schedule(0);
      wake.on('published', onWake);
      schedule(0);
      return () => {
        stopped = true;
        if (timer) clearTimeout(timer);
        wake.off('published', onWake);
      };
    });

  const publishMany = async (queue: string, bodies: string[]) => {
    if (bodies.length === 0) return 0;
    const chunk = 5000;
    for (let i = 0; i < bodies.length; i += chunk) {
      await db.query(
        `insert into queue_message (queue, body)
         select ?, b from jsonb_array_elements_text(?::jsonb) with ordinality as t(b, n) order by n`,
        [queue, JSON.stringify(bodies.slice(i, i + chunk))],
      );
    }
    wake.emit('published', queue);
    return bodies.length;
  };

  return {
    kind: 'embedded',
    consume,
    publish: async (queue, body, properties) => {
      await db.query('insert into queue_message (queue, body, properties) values (?, ?, ?::jsonb)', [
        queue,
        body,
        JSON.stringify(properties ?? {}),
      ]);
      wake.emit('published', queue);
    },
    publishMany,
    depth: async (queue) =>
      Number(
        (await db.query<{ n: string }>('select count(*) as n from queue_message where queue = ?', [queue]))[0]
          ?.n ?? 0,
      ),
    health: (): TransportHealth => (closed ? 'down' : 'up'),
    close: async () => {
      closed = true;
      if (pendingAccepts.length > 0) await flushAccepts();
    },
  };
}
