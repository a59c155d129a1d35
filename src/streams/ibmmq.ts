/**
 * Native IBM MQ transport (MQI through the `ibmmq` package, behind the Mqi boundary of mqi.ts).
 *
 * Units of work. MQ has one unit of work per connection: MQCMIT commits every message got on it
 * since the last commit. So each consumer has a connection of its own and takes messages in
 * *rounds*: it gets up to `prefetch` messages under syncpoint (the first get waits up to
 * `waitMs`, the rest do not wait), stopping early when the queue is empty or the consumer has
 * begun to settle; hands them out; and only when every delivery of the round is settled does it
 * commit — or back out, when any was released. `accept()` therefore resolves when its round is
 * committed, and rejects (RetryableError) when the round was backed out or the connection was
 * lost: the message comes again and the consumer recognises it by its id. Two messages of one
 * round cannot be committed apart; that is the design, not a check.
 *
 * Poison. A message whose MQMD.BackoutCount is at or above `backoutThreshold` is not handed out:
 * it is put (under syncpoint, in the same round) on the backout queue with the reason in the
 * message property `marketbridge_reason`, and leaves its queue when the round commits — unless
 * the consumer handles backout itself (`consumerHandlesBackout`: marketbridge's inbound, which
 * acknowledges one already applied). A consumer's own `backout(reason)` does the same put for a
 * message it refuses.
 *
 * Connections. A broken connection (MQRC 2009 and kin) shows on the next MQI call; a waiting get
 * is one, so it is noticed while idle too. Health turns `degraded`, the consumer reconnects with
 * exponential backoff and carries on; what was got and not committed comes back (BackoutCount
 * + 1). Wrong names or no authority (2035, 2058, 2085, 2540) are terminal: the consumer errors.
 *
 * Outbound. `publish` puts under syncpoint and commits, on a connection of its own (so it never
 * commits a consumer's round): MQSTR, CCSID 1208, persistent, properties as message properties.
 */
import { Observable } from 'rxjs';
import { type Clock, systemClock } from '../core/clock.js';
import { RetryableError, TerminalError } from '../core/errors.js';
import { errorSummary } from '../core/text.js';
import {
  classifyMqError,
  isConfigurationError,
  type MqConnectOptions,
  type Mqi,
  type MqiConnection,
  type MqiMessage,
  type MqiPropertyValue,
} from './mqi.js';
import type { ConsumeOptions, Delivery, QueueTransport, TransportHealth } from './transport.js';

export interface IbmMqLogger {
  info(obj: Record<string, unknown>, msg?: string): void;
  warn(obj: Record<string, unknown>, msg?: string): void;
  error(obj: Record<string, unknown>, msg?: string): void;
}

export interface IbmMqTransportOptions {
  /** The MQI, loaded on first use (loadIbmMqi in production, a fake in tests). */
  mqi: () => Promise<Mqi>;
  connection: MqConnectOptions;
  backoutQueue: string;
  /** BackoutCount at or above this: to the backout queue. Default 5 (as MQ_BACKOUT_THRESHOLD). */
  backoutThreshold?: number;
  /** MQGET wait interval of an idle consumer (how soon a broken connection is noticed). Default 5000. */
  waitMs?: number;
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number };
  clock?: Clock;
  logger: IbmMqLogger;
}

/** A message property name the transport sets on what it moves to the backout queue. */
export const BACKOUT_REASON_PROPERTY = 'marketbridge_reason';
export const BACKOUT_SOURCE_PROPERTY = 'marketbridge_source_queue';

type Settlement = 'pending' | 'accepted' | 'released' | 'backedOut';

/** One round: the deliveries got on one connection since its last commit. */
class Round {
  readonly states: Settlement[] = [];
  private outcome: { resolve(): void; reject(e: Error): void; promise: Promise<void> };
  private allSettled!: () => void;
  readonly settled: Promise<void>;
  /** Set once something of this round is settled: no more gets into it. */
  anySettled = false;
  /** Messages moved to the backout queue by the transport itself (counted, not handed out). */
  internal = 0;

  constructor() {
    let resolve!: () => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    promise.catch(() => {}); // observed through the deliveries' promises
    this.outcome = { resolve, reject, promise };
    this.settled = new Promise((res) => {
      this.allSettled = res;
    });
  }

  get size(): number {
    return this.states.length;
  }
  get rollback(): boolean {
    return this.states.includes('released');
  }

  add(): number {
    this.states.push('pending');
    return this.states.length - 1;
  }

  settle(i: number, how: Exclude<Settlement, 'pending'>): Promise<void> {
    if (this.states[i] !== 'pending') {
      return Promise.reject(new TerminalError('ibmmq: delivery already settled'));
    }
    this.states[i] = how;
    this.anySettled = true;
    this.check();
    return this.outcome.promise;
  }

  /** All handed-out deliveries settled (also resolves for an empty round). */
  check(): void {
    if (this.states.every((s) => s !== 'pending')) this.allSettled();
  }

  /** The consumer is gone: whatever it holds is released. */
  abandon(): void {
    for (const [i, s] of this.states.entries()) if (s === 'pending') this.states[i] = 'released';
    this.check();
  }

  committed(): void {
    this.outcome.resolve();
  }
  failed(err: Error): void {
    this.outcome.reject(err);
  }
}

/** Runs one MQI call at a time per connection (the MQI allows one call per hConn at a time). */
class SerialConnection {
  private tail: Promise<unknown> = Promise.resolve();
  constructor(readonly conn: MqiConnection) {}
  run<T>(fn: (c: MqiConnection) => Promise<T>): Promise<T> {
    const next = this.tail.then(() => fn(this.conn));
    this.tail = next.catch(() => {});
    return next;
  }
}

export function createIbmMqTransport(opts: IbmMqTransportOptions): QueueTransport & {
  /** Connections made so far (reconnects included): for tests and ops. */
  readonly connects: number;
} {
  const clock = opts.clock ?? systemClock;
  const threshold = opts.backoutThreshold ?? 5;
  const waitMs = opts.waitMs ?? 5000;
  const initialDelayMs = opts.reconnect?.initialDelayMs ?? 200;
  const maxDelayMs = opts.reconnect?.maxDelayMs ?? 5000;
  const log = opts.logger;

  let closed = false;
  const closing = new AbortController();
  let mqiPromise: Promise<Mqi> | undefined;
  let connects = 0;
  /** Consumers and the publisher report whether their connection currently works. */
  const broken = new Set<object>();
  const consumers = new Set<{ stop(): Promise<void> }>();

  const mqi = () => {
    mqiPromise ??= opts.mqi().catch((err) => {
      mqiPromise = undefined;
      throw err;
    });
    return mqiPromise;
  };

  const connect = async (): Promise<SerialConnection> => {
    const m = await mqi();
    const conn = await m.connect(opts.connection);
    connects++;
    return new SerialConnection(conn);
  };

  const backoffMs = (attempt: number) => Math.min(maxDelayMs, initialDelayMs * 2 ** Math.min(attempt, 20));

  const sleep = (ms: number) => clock.sleep(ms, closing.signal).catch(() => {});

  const moveToBackout = (c: SerialConnection, queue: string, msg: MqiMessage, reason: string) =>
    c.run((conn) =>
      conn.put(opts.backoutQueue, msg.body, {
        [BACKOUT_REASON_PROPERTY]: reason.slice(0, 4000),
        [BACKOUT_SOURCE_PROPERTY]: queue,
      }),
    );

  const consume = (queue: string, consumeOpts: ConsumeOptions = {}): Observable<Delivery> =>
    new Observable<Delivery>((subscriber) => {
      const prefetch = Math.max(1, consumeOpts.prefetch ?? 50);
      const me = {};
      let stopped = false;
      let current: Round | undefined;
      let conn: SerialConnection | undefined;

      const makeDelivery = (c: SerialConnection, round: Round, msg: MqiMessage): Delivery => {
        const i = round.add();
        let backingOut = false;
        return {
          body: msg.body,
          ...(msg.bodyProblem ? { bodyProblem: msg.bodyProblem } : {}),
          messageId: msg.msgId,
          deliveryCount: msg.backoutCount + 1,
          properties: { backoutCount: msg.backoutCount },
          accept: () =>
            backingOut
              ? Promise.reject(new TerminalError('ibmmq: delivery already settled'))
              : round.settle(i, 'accepted'),
          // Settled at once: what the round does next (back out) is not the caller's to wait for.
          release: async () => {
            if (!backingOut) round.settle(i, 'released').catch(() => {});
          },
          backout: async (reason: string) => {
            // Once only, and never after accept or release: the message must not end up both
            // processed and on the backout queue, nor there twice.
            if (backingOut || round.states[i] !== 'pending') {
              throw new TerminalError('ibmmq: delivery already settled');
            }
            backingOut = true;
            try {
              await moveToBackout(c, queue, msg, reason);
            } catch (err) {
              // The connection is likely gone: the message comes back with the round.
              round.settle(i, 'released').catch(() => {});
              throw classifyMqError(err, `putting to ${opts.backoutQueue}`);
            }
            // Settled once the put is done; the move takes effect when the round commits.
            void round.settle(i, 'backedOut').catch(() => {});
          },
        };
      };

      /** One round on `c`: get, hand out, wait for every settlement, commit or back out. */
      const oneRound = async (c: SerialConnection, handle: { name: string }) => {
        const round = new Round();
        current = round;
        try {
          while (!stopped && round.size < prefetch && !round.anySettled) {
            const idle = round.size === 0 && round.internal === 0;
            const msg = await c.run((x) => x.get(handle, idle ? waitMs : 0));
            if (!msg) break;
            if (msg.backoutCount >= threshold && !consumeOpts.consumerHandlesBackout) {
              const reason = `backed out ${msg.backoutCount} times (threshold ${threshold})`;
              log.warn({ queue, msgId: msg.msgId, reason }, 'poison message moved to the backout queue');
              await moveToBackout(c, queue, msg, reason);
              round.internal++;
              continue;
            }
            subscriber.next(makeDelivery(c, round, msg));
          }
          if (round.size === 0 && round.internal === 0) return;
          if (stopped) round.abandon();
          round.check();
          await round.settled;
          if (round.rollback) await c.run((x) => x.backout());
          else await c.run((x) => x.commit());
          if (round.rollback) {
            round.failed(
              new RetryableError('ibmmq: round backed out (a delivery was released); redelivered'),
            );
          } else round.committed();
        } catch (err) {
          round.failed(classifyMqError(err, `consuming ${queue}`));
          throw err;
        } finally {
          current = undefined;
        }
      };

      const run = async () => {
        for (let attempt = 0; !stopped; ) {
          try {
            conn = await connect();
            const handle = await conn.run((x) => x.openInput(queue));
            if (attempt > 0) log.info({ queue, attempts: attempt }, 'ibmmq consumer reconnected');
            attempt = 0;
            broken.delete(me);
            while (!stopped) await oneRound(conn, handle);
          } catch (err) {
            if (stopped) break;
            if (isConfigurationError(err) || (err as Error)?.name === 'MqClientMissingError') {
              log.error({ queue, error: errorSummary(err) }, 'ibmmq consumer cannot go on');
              subscriber.error(
                err instanceof TerminalError
                  ? err
                  : new TerminalError(errorSummary(err), { code: 'MQ_CONFIGURATION', cause: err }),
              );
              return;
            }
            broken.add(me);
            const delay = backoffMs(attempt++);
            log.warn(
              { queue, error: errorSummary(err), retryInMs: delay },
              'ibmmq connection lost; reconnecting (uncommitted messages come back)',
            );
            await conn?.conn.disconnect();
            conn = undefined;
            await sleep(delay);
          }
        }
      };

      const consumer = {
        stop: async () => {
          stopped = true;
          current?.abandon();
          await running;
          broken.delete(me);
        },
      };
      consumers.add(consumer);
      const running = run()
        .catch((err) => {
          if (!stopped) subscriber.error(err);
        })
        .finally(async () => {
          await conn?.conn.disconnect();
          conn = undefined;
        });

      return () => {
        // Stays known until stopped, so close() waits for its connection to be let go.
        void consumer.stop().finally(() => consumers.delete(consumer));
      };
    });

  // Outbound: one connection, one put + commit at a time.
  const publisherKey = {};
  let publisher: Promise<SerialConnection> | undefined;
  let publishTail: Promise<unknown> = Promise.resolve();

  const putAndCommit = async (queue: string, body: string, properties: Record<string, MqiPropertyValue>) => {
    for (let attempt = 0; ; attempt++) {
      if (closed) throw new TerminalError('ibmmq: transport closed');
      let c: SerialConnection;
      try {
        publisher ??= connect();
        c = await publisher;
      } catch (err) {
        publisher = undefined;
        broken.add(publisherKey);
        throw classifyMqError(err, 'connecting to publish');
      }
      try {
        await c.run(async (x) => {
          await x.put(queue, body, properties);
          await x.commit();
        });
        broken.delete(publisherKey);
        return;
      } catch (err) {
        if (isConfigurationError(err) || attempt >= 1) {
          await c.run((x) => x.backout()).catch(() => {});
          throw classifyMqError(err, `putting to ${queue}`);
        }
        // A broken connection: once more on a new one (a put whose commit was lost may arrive
        // twice; receivers drop the second by its id).
        broken.add(publisherKey);
        publisher = undefined;
        await c.conn.disconnect();
      }
    }
  };

  return {
    kind: 'ibmmq',
    get connects() {
      return connects;
    },
    consume,
    publish(queue, body, properties = {}) {
      const next = publishTail.then(() => putAndCommit(queue, body, properties));
      publishTail = next.catch(() => {});
      return next;
    },
    health(): TransportHealth {
      if (closed) return 'down';
      return broken.size > 0 ? 'degraded' : 'up';
    },
    async close() {
      if (closed) return;
      closed = true;
      closing.abort();
      await Promise.all([...consumers].map((c) => c.stop()));
      await publishTail;
      const p = publisher;
      publisher = undefined;
      if (p) await (await p.catch(() => undefined))?.conn.disconnect();
    },
  };
}
