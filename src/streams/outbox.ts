/**
 * The outbox relay: messages to the OMS are written to `outbox` in the same transaction as the
 * state change that caused them (by the actor runtime's snapshot flush); this relay publishes the
 * unsent ones in the order they were written and marks them sent.
 *
 * At least once on the wire, exactly once in effect: a crash between publishing and marking sent
 * publishes the message again with the same `id` in its body, which the OMS drops as a repeat.
 * Publishing stops at the first failure, so messages never overtake one another; the relay backs
 * off and tries again. Once a message is sent, personal data (the buyer's address) is removed from
 * its stored copy: the OMS has it, marketbridge does not need to keep it.
 */
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { errorSummary, storableText } from '../core/text.js';
import type { Database } from '../persistence/database.js';
import type { QueueTransport } from './transport.js';

export interface OutboxRelayOptions {
  db: Database;
  transport: QueueTransport;
  clock: Clock;
  logger: Logger;
  /** Looks for unsent messages this often when not woken. Default 500 ms. */
  pollMs?: number;
  /** Messages per round. Default 200. */
  batch?: number;
  /** Pause after a failed publish, doubling up to 30 s. Default 1000 ms. */
  retryMs?: number;
}

export interface OutboxRelay {
  /** Publish now (called after a flush that wrote outbox rows). */
  kick(): void;
  /** Runs one round (tests); resolves with the number of messages published. */
  drain(): Promise<number>;
  readonly stats: { published: number; failures: number };
  stop(): Promise<void>;
}

export function startOutboxRelay(opts: OutboxRelayOptions): OutboxRelay {
  const log = opts.logger.child({ component: 'outbox' });
  const pollMs = opts.pollMs ?? 500;
  const batch = opts.batch ?? 200;
  const retryMs = opts.retryMs ?? 1000;
  const stats = { published: 0, failures: 0 };
  let stopped = false;
  let failuresInRow = 0;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;
  let again = false;

  const round = async (): Promise<number> => {
    const rows = await opts.db.query<{ id: string; queue: string; type: string; payload: unknown }>(
      'select id, queue, type, payload from outbox where sent_at is null order by seq limit ?',
      [batch],
    );
    const sent: string[] = [];
    try {
      for (const r of rows) {
        if (stopped) break;
        await opts.transport.publish(r.queue, JSON.stringify(r.payload), { type: r.type, id: r.id });
        sent.push(r.id);
      }
    } catch (err) {
      stats.failures++;
      const failed = rows[sent.length];
      log.warn(
        { error: errorSummary(err), id: failed?.id, unsent: rows.length - sent.length },
        'could not publish to the OMS; trying again',
      );
      if (failed) {
        await opts.db
          .query('update outbox set attempts = attempts + 1, last_error = ? where id = ?', [
            storableText(errorSummary(err), 2000),
            failed.id,
          ])
          .catch(() => {});
      }
      throw err;
    } finally {
      if (sent.length > 0) {
        await opts.db.query(
          `update outbox set sent_at = ?::timestamptz, attempts = attempts + 1, last_error = null,
             payload = case when jsonb_exists(payload, 'shippingAddress')
                            then (payload - 'shippingAddress') || '{"shippingAddressRemoved": true}'::jsonb
                            else payload end
           where id in (select jsonb_array_elements_text(?::jsonb))`,
          [new Date(opts.clock.now()).toISOString(), JSON.stringify(sent)],
        );
        stats.published += sent.length;
        log.debug({ messages: sent.length }, 'published to the OMS');
      }
    }
    return sent.length;
  };

  const run = (): Promise<number> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      let total = 0;
      try {
        for (;;) {
          again = false;
          const n = await round();
          total += n;
          failuresInRow = 0;
          if (n < batch && !again) break;
        }
      } catch {
        failuresInRow++;
      }
      return total;
    })().finally(() => {
      running = undefined;
    });
    return running;
  };

  const schedule = (ms: number) => {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(async () => {
      timer = undefined;
      await run().catch(() => 0);
      const wait = failuresInRow > 0 ? Math.min(30_000, retryMs * 2 ** (failuresInRow - 1)) : pollMs;
      schedule(wait);
    }, ms);
  };
  schedule(0);

  return {
    kick: () => {
      if (failuresInRow === 0) schedule(0);
    },
    drain: run,
    stats,
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
