/**
 * AMQP 1.0 queue transport (rhea), for RabbitMQ 3.10 with rabbitmq_amqp1_0 and for IBM MQ AMQP
 * channels.
 *
 * Contracts and the broker behaviour they rest on (see STACK.md):
 * - Each consumer and each sender gets its own AMQP session. RabbitMQ maps a session to a
 *   channel: an error that ends a session (PRECONDITION_FAILED on a queue declared with other
 *   arguments) then takes down one link, not the whole transport. And on RabbitMQ 3.10 a
 *   message left unsettled on a detached receiver stays held by its session until the session
 *   ends, so unsubscribing ends the session to give such messages back to the queue.
 * - Credit is manual: at most `prefetch` deliveries are unsettled at a time. New credit is granted
 *   only when the link's credit is used up, because RabbitMQ 3.10 over-delivers when credit is
 *   topped up while transfers are in flight (see `topUp`).
 * - `release()` uses the `released` outcome only: `modified` is not supported on 3.10 and kills
 *   the session.
 * - RabbitMQ 3.10 does not count redeliveries in `delivery_count`; it does clear
 *   `first_acquirer`. `deliveryCount` is the highest of the broker's count, "at least 2" when the
 *   broker says the message was acquired before, and our own count of attempts per message.
 * - A delivery belongs to the connection (and link) it arrived on. After a disconnect or an
 *   unsubscribe the broker delivers it again; settling the old one cannot work, so `accept()` and
 *   `backout()` reject with a RetryableError (the consumer dedupes the redelivery by id), and
 *   `release()` resolves (the message is coming back anyway). A backout whose link dies between
 *   the copy and the accept leaves the copy on the backout queue and the original is delivered
 *   (and likely backed out) again: the backout queue is at-least-once too.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import rhea, {
  type AmqpError,
  type Connection,
  type ConnectionOptions,
  type EventContext,
  type Message,
  type Receiver,
  type Delivery as RheaDelivery,
  type Sender,
  type Session,
} from 'rhea';
import { Observable, type Subscriber } from 'rxjs';
import { RetryableError, TerminalError } from '../core/errors.js';
import { decodeUtf8 } from '../core/text.js';
import type { ConsumeOptions, Delivery, QueueTransport, TransportHealth } from './transport.js';

export interface AmqpLogger {
  info(obj: Record<string, unknown>, msg?: string): void;
  warn(obj: Record<string, unknown>, msg?: string): void;
  error(obj: Record<string, unknown>, msg?: string): void;
}

export interface AmqpReconnectOptions {
  /** First delay after a disconnect; doubles up to `maxDelayMs`. Default 100. */
  initialDelayMs?: number;
  /** Default 30 000. */
  maxDelayMs?: number;
  /** Attempts before giving up (health turns 'down', consumers error). Default: never give up. */
  limit?: number;
}

export interface AmqpTransportOptions {
  /** `amqp://user:pass@host:port[/vhost]`, `amqps://…` for TLS. A vhost becomes `vhost:<name>` (RabbitMQ). */
  url: string;
  /**
   * How a queue name becomes a link address; `{queue}` is replaced. Default `/queue/{queue}`:
   * on RabbitMQ 3.10 this declares a durable classic queue if missing (and fails if the queue
   * exists with other arguments, e.g. a quorum queue: use `/amq/queue/{queue}` for pre-declared
   * queues). For IBM MQ use `{queue}` with `queueCapability: true`.
   */
  addressTemplate?: string;
  /** Put the `queue` capability on link sources/targets (IBM MQ 9.2.1+). Default false. */
  queueCapability?: boolean;
  /** Where `backout()` sends a message. Default: `<queue>.BACKOUT`. */
  backoutQueue?: string;
  /** AMQP container id presented to the broker. Default `marketbridge-<random>`. */
  containerId?: string;
  /** Automatic reconnect with exponential backoff. Default on. `false` turns it off. */
  reconnect?: boolean | AmqpReconnectOptions;
  /** Heartbeat: the broker must send something this often; silence for twice this drops the connection. Default 20 000. */
  idleTimeoutMs?: number;
  /** How long `publish()`/`backout()` wait for the broker's settlement. Default 30 000. */
  settleTimeoutMs?: number;
  /** Extra TLS options for `amqps` (ca, cert, key, rejectUnauthorized…). */
  tls?: TlsOptions;
  logger?: AmqpLogger;
}

type Props = Record<string, string | number | boolean>;

const DEFAULT_ADDRESS_TEMPLATE = '/queue/{queue}';
const DEFAULT_PREFETCH = 10;
/** Remote close conditions after which rhea reconnects; any other is final. */
const NON_FATAL_CONDITIONS = ['amqp:connection:forced'];
/** Conditions that a retry will not fix: configuration or permissions. */
const TERMINAL_CONDITIONS = new Set([
  'amqp:not-found',
  'amqp:unauthorized-access',
  'amqp:not-allowed',
  'amqp:not-implemented',
  'amqp:precondition-failed',
  'amqp:invalid-field',
]);
const MAX_TRACKED_ATTEMPTS = 10_000;
const CLOSE_TIMEOUT_MS = 3_000;

export function createAmqpTransport(opts: AmqpTransportOptions): QueueTransport {
  return new AmqpTransport(opts);
}

class AmqpTransport implements QueueTransport {
  readonly kind = 'amqp' as const;
  private readonly connection: Connection;
  private readonly log: AmqpLogger | undefined;
  private readonly template: string;
  private readonly capabilities: string[] | undefined;
  private readonly settleTimeoutMs: number;
  private readonly senders = new Map<string, SenderLink>();
  private readonly consumers = new Set<ConsumerLink>();
  private readonly attempts = new AttemptCounter(MAX_TRACKED_ATTEMPTS);
  private readonly endpoint: string;
  private everOpened = false;
  /** Set when the connection is gone for good (fatal broker error, reconnect limit reached). */
  private failure: Error | undefined;
  private closing: Promise<void> | undefined;

  constructor(private readonly opts: AmqpTransportOptions) {
    this.log = opts.logger;
    this.template = opts.addressTemplate ?? DEFAULT_ADDRESS_TEMPLATE;
    if (!this.template.includes('{queue}')) {
      throw new TerminalError(`addressTemplate ${JSON.stringify(this.template)} must contain {queue}`);
    }
    this.capabilities = opts.queueCapability ? ['queue'] : undefined;
    this.settleTimeoutMs = opts.settleTimeoutMs ?? 30_000;

    const { connectionOptions, endpoint } = toConnectionOptions(opts);
    this.endpoint = endpoint;
    const container = rhea.create_container({ id: connectionOptions.container_id });
    // An 'error' event nobody listens to crashes the process (EventEmitter semantics).
    container.on('error', (err: unknown) => {
      this.log?.error({ err, endpoint }, 'AMQP error');
    });
    this.connection = container.connect(connectionOptions);
    this.connection.on('connection_open', () => {
      this.log?.info({ endpoint, reconnected: this.everOpened }, 'AMQP connection open');
      this.everOpened = true;
    });
    this.connection.on('connection_error', (ctx: EventContext) => {
      // A remote close with an error, or a failed SASL handshake (then only ctx.error is set).
      const error = (ctx.error ?? ctx.connection.error) as (AmqpError & { message?: string }) | undefined;
      const condition = error?.condition;
      // rhea's own rule: only the non-fatal conditions reconnect.
      const fatal = condition === undefined || !NON_FATAL_CONDITIONS.includes(condition);
      this.log?.[fatal ? 'error' : 'warn'](
        { endpoint, condition, description: error?.description ?? error?.message },
        fatal
          ? 'AMQP connection refused or closed by the broker; not reconnecting'
          : 'AMQP connection closed by the broker; reconnecting',
      );
      if (fatal) this.giveUp(describeError(error, 'connection closed by the broker'), condition);
    });
    this.connection.on('connection_close', () => {
      // Handled by connection_error (with an error) or by close() (ours); a clean remote close is unusual.
      if (!this.closing && !this.failure && !this.connection.error) {
        this.log?.warn({ endpoint }, 'AMQP connection closed by the broker');
      }
    });
    this.connection.on('disconnected', (ctx: EventContext) => {
      for (const sender of this.senders.values()) sender.onDisconnected();
      for (const consumer of this.consumers) consumer.onDisconnected();
      if (this.closing || this.failure) return;
      if (ctx.reconnecting) {
        // One line per attempt, without a stack: an unreachable broker is retried for as long
        // as it takes (with backoff up to 30 s), and the log should say so plainly.
        this.log?.warn(
          { endpoint, error: describeError(ctx.error, 'connection lost') },
          this.everOpened
            ? 'AMQP connection lost; reconnecting'
            : 'AMQP broker unreachable; retrying (health degraded until it answers)',
        );
      } else {
        this.log?.error({ endpoint, err: ctx.error }, 'AMQP connection lost; not reconnecting');
        this.giveUp(describeError(ctx.error, 'connection lost'), undefined);
      }
    });
    this.connection.on('error', (err: unknown) => {
      // After a refused handshake rhea may still try to write to the ended socket: not news.
      if (!this.failure) this.log?.error({ err, endpoint }, 'AMQP connection error');
    });
    this.connection.on('protocol_error', (err: unknown) => {
      const message = err instanceof Error ? err.message : String(err);
      if (message.startsWith('Unsupported AMQP version')) {
        // Something else listens there (RabbitMQ without its AMQP 1.0 plugin answers 0-9-1):
        // dialling again cannot help.
        this.connection.set_reconnect(false);
        this.log?.error({ endpoint, error: message }, 'the broker does not speak AMQP 1.0; not reconnecting');
        this.giveUp(
          `${message}: ${endpoint} does not speak AMQP 1.0 (RabbitMQ: rabbitmq-plugins enable rabbitmq_amqp1_0)`,
          'amqp:not-implemented',
        );
        return;
      }
      this.log?.error({ err, endpoint }, 'AMQP protocol error');
    });
  }

  health(): TransportHealth {
    if (this.closing || this.failure) return 'down';
    return this.connection.is_open() ? 'up' : 'degraded';
  }

  address(queue: string): string {
    return this.template.replaceAll('{queue}', queue);
  }

  backoutQueueFor(queue: string): string {
    return this.opts.backoutQueue ?? `${queue}.BACKOUT`;
  }

  consume(queue: string, consumeOpts: ConsumeOptions = {}): Observable<Delivery> {
    const prefetch = consumeOpts.prefetch ?? DEFAULT_PREFETCH;
    return new Observable<Delivery>((subscriber) => {
      if (!Number.isInteger(prefetch) || prefetch < 1) {
        subscriber.error(new TerminalError(`prefetch must be a positive integer, got ${prefetch}`));
        return;
      }
      if (this.closing || this.failure) {
        subscriber.error(this.unavailable());
        return;
      }
      const consumer = new ConsumerLink(this, queue, prefetch, subscriber);
      this.consumers.add(consumer);
      return () => {
        this.consumers.delete(consumer);
        consumer.stop();
      };
    });
  }

  publish(queue: string, body: string, properties: Props = {}): Promise<void> {
    return this.send(this.address(queue), body, properties, {
      message_id: randomUUID(),
      content_type: 'application/json',
    });
  }

  /** One durable message; resolves when the broker accepts it. */
  send(address: string, body: string | Buffer, properties: Props, headers: Partial<Message>): Promise<void> {
    if (this.closing || this.failure) return Promise.reject(this.unavailable());
    let sender = this.senders.get(address);
    if (!sender) {
      sender = new SenderLink(this, address, () => this.senders.delete(address));
      this.senders.set(address, sender);
    }
    return sender.send(
      {
        ...headers,
        durable: true,
        application_properties: properties,
        body: rhea.message.data_section(typeof body === 'string' ? Buffer.from(body, 'utf8') : body),
      },
      this.settleTimeoutMs,
    );
  }

  close(): Promise<void> {
    if (this.closing) return this.closing;
    const closed = new TerminalError('AMQP transport closed');
    this.closing = new Promise<void>((resolve) => {
      for (const consumer of [...this.consumers]) consumer.complete();
      this.consumers.clear();
      for (const sender of [...this.senders.values()]) sender.fail(closed);
      this.senders.clear();

      const conn = this.connection;
      // Stop a scheduled reconnect; after close() rhea must not dial again.
      conn.set_reconnect(false);
      if (conn.scheduled_reconnect !== undefined) {
        clearTimeout(conn.scheduled_reconnect);
        conn.scheduled_reconnect = undefined;
      }
      if (!conn.is_open()) {
        conn.close();
        conn.socket?.destroy?.();
        resolve();
        return;
      }
      const timer = setTimeout(() => {
        conn.socket?.destroy?.();
        done();
      }, CLOSE_TIMEOUT_MS);
      const done = () => {
        clearTimeout(timer);
        conn.removeListener('connection_close', done);
        resolve();
      };
      conn.on('connection_close', done);
      conn.close();
    });
    this.log?.info({ endpoint: this.endpoint }, 'AMQP transport closing');
    return this.closing;
  }

  // --- used by the links -------------------------------------------------------------------

  openSession(): Session {
    const session = this.connection.create_session();
    session.begin();
    return session;
  }

  get linkCapabilities(): string[] | undefined {
    return this.capabilities;
  }

  get attemptCounter(): AttemptCounter {
    return this.attempts;
  }

  get logger(): AmqpLogger | undefined {
    return this.log;
  }

  get isClosing(): boolean {
    return this.closing !== undefined;
  }

  private unavailable(): Error {
    if (this.closing) return new TerminalError('AMQP transport closed');
    return this.failure ?? new RetryableError('AMQP connection unavailable');
  }

  private giveUp(reason: string, condition: string | undefined): void {
    if (this.failure) return;
    const err = classifyAmqp(`AMQP connection unavailable: ${reason}`, condition);
    this.failure = err;
    for (const sender of [...this.senders.values()]) sender.fail(err);
    this.senders.clear();
    for (const consumer of [...this.consumers]) consumer.fail(err);
    this.consumers.clear();
  }
}

// ---------------------------------------------------------------------------------------------

interface PendingSend {
  message: Message;
  resolve(): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
  delivery?: RheaDelivery;
}

/** One sender per address, on its own session; sends wait for credit and for the broker's outcome. */
class SenderLink {
  private readonly session: Session;
  private readonly sender: Sender;
  private readonly waiting: PendingSend[] = [];
  private readonly inflight = new Map<RheaDelivery, PendingSend>();
  private dead = false;

  constructor(
    transport: AmqpTransport,
    private readonly address: string,
    private readonly onDead: () => void,
  ) {
    this.session = transport.openSession();
    this.sender = this.session.attach_sender({
      target: {
        address,
        // Terminus durability 2 (unsettled-state): RabbitMQ declares a missing queue durable.
        durable: 2,
        ...(transport.linkCapabilities ? { capabilities: transport.linkCapabilities } : {}),
      },
    });
    this.sender.on('sendable', () => this.pump());
    this.sender.on('accepted', (ctx: EventContext) => this.settle(ctx.delivery, undefined));
    this.sender.on('rejected', (ctx: EventContext) => {
      const error = (ctx.delivery?.remote_state as { error?: AmqpError } | undefined)?.error;
      this.settle(
        ctx.delivery,
        classifyAmqp(
          `broker rejected the message for ${address}: ${describeError(error, 'no reason given')}`,
          error?.condition,
        ),
      );
    });
    this.sender.on('released', (ctx: EventContext) =>
      this.settle(
        ctx.delivery,
        new RetryableError(`broker released the message for ${address} (not stored)`),
      ),
    );
    this.sender.on('settled', (ctx: EventContext) => {
      // Settled without an outcome: the broker took it (default outcome).
      this.settle(ctx.delivery, undefined);
    });
    this.sender.on('sender_error', (ctx: EventContext) => {
      const error = ctx.sender?.error as AmqpError | undefined;
      transport.logger?.error(
        { address, condition: error?.condition, description: error?.description },
        'AMQP sender closed by the broker',
      );
      this.fail(
        classifyAmqp(
          `AMQP sender for ${address} closed: ${describeError(error, 'no reason given')}`,
          error?.condition,
        ),
      );
    });
    this.sender.on('sender_close', () => {
      if (!this.dead) this.fail(new RetryableError(`AMQP sender for ${address} closed by the broker`));
    });
    this.session.on('session_error', (ctx: EventContext) => {
      const error = ctx.session?.error as AmqpError | undefined;
      transport.logger?.error(
        { address, condition: error?.condition, description: error?.description },
        'AMQP session ended by the broker',
      );
      this.fail(
        classifyAmqp(
          `AMQP session for ${address} ended: ${describeError(error, 'no reason given')}`,
          error?.condition,
        ),
      );
    });
    this.session.on('session_close', () => {
      if (!this.dead) this.fail(new RetryableError(`AMQP session for ${address} ended by the broker`));
    });
  }

  send(message: Message, timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const pending: PendingSend = {
        message,
        resolve,
        reject,
        timer: setTimeout(() => {
          const at = this.waiting.indexOf(pending);
          if (at >= 0) this.waiting.splice(at, 1);
          if (pending.delivery) this.inflight.delete(pending.delivery);
          reject(
            new RetryableError(`no settlement from the broker for ${this.address} within ${timeoutMs} ms`),
          );
        }, timeoutMs),
      };
      this.waiting.push(pending);
      this.pump();
    });
  }

  /** Connection lost: sent-but-unsettled messages will never be settled; unsent ones wait for the re-attach. */
  onDisconnected(): void {
    for (const pending of this.inflight.values()) {
      clearTimeout(pending.timer);
      pending.reject(
        new RetryableError(`AMQP connection lost before the broker confirmed a message for ${this.address}`),
      );
    }
    this.inflight.clear();
  }

  fail(err: Error): void {
    if (this.dead) return;
    this.dead = true;
    this.onDead();
    for (const pending of [...this.waiting, ...this.inflight.values()]) {
      clearTimeout(pending.timer);
      pending.reject(err);
    }
    this.waiting.length = 0;
    this.inflight.clear();
    try {
      this.sender.close();
      this.session.close();
    } catch {
      // Already gone with the connection.
    }
  }

  private pump(): void {
    // sendable(): the link has credit and the session buffer has room; rhea holds the rest.
    while (!this.dead && this.waiting.length > 0 && this.sender.sendable()) {
      const pending = this.waiting.shift()!;
      pending.delivery = this.sender.send(pending.message);
      this.inflight.set(pending.delivery, pending);
    }
  }

  private settle(delivery: RheaDelivery | undefined, err: Error | undefined): void {
    if (!delivery) return;
    const pending = this.inflight.get(delivery);
    if (!pending) return;
    this.inflight.delete(delivery);
    clearTimeout(pending.timer);
    if (err) pending.reject(err);
    else pending.resolve();
    this.pump();
  }
}

// ---------------------------------------------------------------------------------------------

interface DeliveryState {
  live: boolean;
  settled: 'accepted' | 'released' | 'backed out' | undefined;
  busy: boolean;
}

/** One subscription to a queue: a receiver on its own session with manual credit. */
class ConsumerLink {
  private readonly session: Session;
  private readonly receiver: Receiver;
  /** Deliveries handed to the subscriber on the current link and not settled yet. */
  private readonly unsettled = new Set<DeliveryState>();
  private stopped = false;

  constructor(
    private readonly transport: AmqpTransport,
    private readonly queue: string,
    private readonly prefetch: number,
    private readonly subscriber: Subscriber<Delivery>,
  ) {
    const address = transport.address(queue);
    const log = transport.logger;
    this.session = transport.openSession();
    this.receiver = this.session.attach_receiver({
      source: {
        address,
        durable: 2,
        ...(transport.linkCapabilities ? { capabilities: transport.linkCapabilities } : {}),
      },
      autoaccept: false,
      credit_window: 0,
    });
    // Also fires after every reconnect, when rhea has re-attached the link with zero credit.
    this.receiver.on('receiver_open', () => {
      log?.info({ queue, address, prefetch }, 'AMQP consumer attached');
      this.topUp();
    });
    this.receiver.on('message', (ctx: EventContext) => this.onMessage(ctx));
    this.receiver.on('receiver_error', (ctx: EventContext) => {
      const error = ctx.receiver?.error as AmqpError | undefined;
      log?.error(
        { queue, address, condition: error?.condition, description: error?.description },
        'AMQP consumer closed by the broker',
      );
      this.fail(
        classifyAmqp(
          `AMQP consumer of ${address} closed by the broker: ${describeError(error, 'no reason given')}`,
          error?.condition,
        ),
      );
    });
    this.receiver.on('receiver_close', () => {
      if (!this.stopped) this.fail(new RetryableError(`AMQP consumer of ${address} closed by the broker`));
    });
    this.session.on('session_error', (ctx: EventContext) => {
      const error = ctx.session?.error as AmqpError | undefined;
      log?.error(
        { queue, address, condition: error?.condition, description: error?.description },
        'AMQP consumer session ended by the broker',
      );
      this.fail(
        classifyAmqp(
          `AMQP session consuming ${address} ended: ${describeError(error, 'no reason given')}`,
          error?.condition,
        ),
      );
    });
    this.session.on('session_close', () => {
      if (!this.stopped)
        this.fail(new RetryableError(`AMQP session consuming ${address} ended by the broker`));
    });
  }

  /** The old link is gone: its deliveries come again from the broker on the re-attached link. */
  onDisconnected(): void {
    this.forgetUnsettled();
  }

  /** Unsubscribed: end the session so the broker requeues what we held (see header). */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.forgetUnsettled();
    if (this.transport.isClosing) return; // the connection close ends everything
    try {
      this.receiver.close();
      this.session.close();
    } catch {
      // Already gone with the connection.
    }
  }

  complete(): void {
    this.stop();
    this.subscriber.complete();
  }

  fail(err: Error): void {
    this.stop();
    this.subscriber.error(err);
  }

  private forgetUnsettled(): void {
    for (const state of this.unsettled) state.live = false;
    this.unsettled.clear();
  }

  /**
   * Grants credit only once the link's credit is used up, i.e. with no transfer in flight.
   * RabbitMQ 3.10 does not apply a flow's link-credit relative to the receiver's delivery-count
   * as the spec says: topping up while transfers are in flight made it send more than
   * `prefetch` (9 unsettled with prefetch 4 in the streaming test).
   */
  private topUp(): void {
    if (this.stopped) return;
    // rhea keeps the link's open credit (untyped); it is 0 again after a re-attach.
    const open = (this.receiver as Receiver & { credit?: number }).credit ?? 0;
    if (open > 0) return;
    const want = this.prefetch - this.unsettled.size;
    if (want > 0) this.receiver.add_credit(want);
  }

  private onMessage(ctx: EventContext): void {
    const rd = ctx.delivery!;
    const msg = ctx.message!;
    if (this.stopped) {
      rd.release();
      return;
    }
    const { text: body, problem: bodyProblem } = bodyText(msg);
    const messageId = messageIdText(msg.message_id);
    const key = `${this.queue}\u0000${messageId ?? `sha256:${createHash('sha256').update(body).digest('hex')}`}`;
    const attempts = this.transport.attemptCounter;
    const annotated = msg.message_annotations?.['x-delivery-count'];
    const deliveryCount = Math.max(
      attempts.bump(key),
      typeof msg.delivery_count === 'number' ? msg.delivery_count + 1 : 1,
      typeof annotated === 'number' ? annotated + 1 : 1,
      msg.first_acquirer === false ? 2 : 1,
    );
    const properties = toProps(msg.application_properties);
    const state: DeliveryState = { live: true, settled: undefined, busy: false };
    this.unsettled.add(state);

    const where = `${this.queue}${messageId ? ` (message ${messageId})` : ''}`;
    const lost = (what: string) =>
      new RetryableError(
        `cannot ${what} a delivery from ${where}: its link is gone; the broker will deliver it again`,
      );
    const begin = (what: string): Error | undefined => {
      if (state.settled) return new TerminalError(`delivery from ${where} already ${state.settled}`);
      if (state.busy) return new TerminalError(`delivery from ${where} is being backed out`);
      if (!state.live) return lost(what);
      return undefined;
    };
    const finish = (outcome: NonNullable<DeliveryState['settled']>) => {
      state.settled = outcome;
      this.unsettled.delete(state);
      if (outcome !== 'released') attempts.forget(key);
      this.topUp();
    };

    const delivery: Delivery = {
      body,
      ...(bodyProblem ? { bodyProblem } : {}),
      messageId,
      deliveryCount,
      properties,
      accept: async () => {
        const err = begin('accept');
        if (err) throw err;
        rd.accept();
        finish('accepted');
      },
      release: async () => {
        if (!state.live && !state.settled && !state.busy) {
          state.settled = 'released';
          return;
        }
        const err = begin('release');
        if (err) throw err;
        rd.release();
        finish('released');
      },
      backout: async (reason: string) => {
        const err = begin('back out');
        if (err) throw err;
        state.busy = true;
        const backoutQueue = this.transport.backoutQueueFor(this.queue);
        try {
          await this.transport.send(
            this.transport.address(backoutQueue),
            bodyBytes(msg.body) ?? body, // the bytes as sent, when they were bytes
            {
              ...properties,
              backout_reason: reason.length > 4096 ? `${reason.slice(0, 4095)}…` : reason,
              original_queue: this.queue,
              ...(messageId !== undefined ? { original_message_id: messageId } : {}),
              original_delivery_count: deliveryCount,
            },
            {
              ...(msg.message_id !== undefined ? { message_id: msg.message_id } : {}),
              ...(msg.content_type !== undefined ? { content_type: msg.content_type } : {}),
              ...(msg.content_encoding !== undefined ? { content_encoding: msg.content_encoding } : {}),
            },
          );
        } finally {
          state.busy = false;
        }
        if (!state.live) {
          throw new RetryableError(
            `copied a delivery from ${where} to ${backoutQueue}, but its link is gone: the broker will deliver it again`,
          );
        }
        rd.accept();
        finish('backed out');
        this.transport.logger?.warn(
          { queue: this.queue, backoutQueue, messageId, reason },
          'message moved to backout queue',
        );
      },
    };
    this.subscriber.next(delivery);
    // The last granted transfer may have arrived while earlier ones were settled: grant the rest.
    this.topUp();
  }
}

// ---------------------------------------------------------------------------------------------

/** Attempts per message, for brokers that do not count redeliveries. Bounded: oldest forgotten first. */
class AttemptCounter {
  private readonly counts = new Map<string, number>();
  constructor(private readonly max: number) {}

  bump(key: string): number {
    const n = (this.counts.get(key) ?? 0) + 1;
    this.counts.delete(key);
    this.counts.set(key, n);
    if (this.counts.size > this.max) {
      const oldest = this.counts.keys().next().value;
      if (oldest !== undefined) this.counts.delete(oldest);
    }
    return n;
  }

  forget(key: string): void {
    this.counts.delete(key);
  }
}

function toConnectionOptions(opts: AmqpTransportOptions): {
  connectionOptions: ConnectionOptions & { container_id: string };
  endpoint: string;
} {
  let url: URL;
  try {
    url = new URL(opts.url);
  } catch {
    throw new TerminalError('AMQP url is not a URL: expected amqp://user:pass@host:port or amqps://…');
  }
  const tls = url.protocol === 'amqps:';
  if (!tls && url.protocol !== 'amqp:') {
    throw new TerminalError(`AMQP url must start with amqp:// or amqps://, got ${url.protocol}//`);
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port ? Number(url.port) : tls ? 5671 : 5672;
  const vhost = decodeURIComponent(url.pathname.replace(/^\//, ''));
  const reconnect = opts.reconnect ?? true;
  const backoff: AmqpReconnectOptions = typeof reconnect === 'object' ? reconnect : {};

  const common = {
    host,
    port,
    container_id: opts.containerId ?? `marketbridge-${randomUUID().slice(0, 8)}`,
    reconnect: reconnect !== false,
    initial_reconnect_delay: backoff.initialDelayMs ?? 100,
    max_reconnect_delay: backoff.maxDelayMs ?? 30_000,
    ...(backoff.limit !== undefined ? { reconnect_limit: backoff.limit } : {}),
    non_fatal_errors: NON_FATAL_CONDITIONS,
    idle_time_out: opts.idleTimeoutMs ?? 20_000,
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(vhost ? { hostname: `vhost:${vhost}` } : {}),
  };
  const connectionOptions = tls
    ? ({ ...opts.tls, ...common, transport: 'tls' } as ConnectionOptions & { container_id: string })
    : ({ ...common, transport: 'tcp' } as ConnectionOptions & { container_id: string });
  // Never log the password.
  const endpoint = `${url.protocol}//${url.username ? `${decodeURIComponent(url.username)}@` : ''}${url.host}${vhost ? `/${vhost}` : ''}`;
  return { connectionOptions, endpoint };
}

/** The body's bytes when it is binary (a data section or a Buffer); undefined for a string or value. */
function bodyBytes(body: unknown): Buffer | undefined {
  if (Buffer.isBuffer(body)) return body;
  if (typeof body === 'object' && body !== null && 'typecode' in body && 'content' in body) {
    const section = body as { typecode: number; content: unknown; multiple?: boolean };
    if (section.typecode === 0x75) {
      const parts = section.multiple ? (section.content as Buffer[]) : [section.content as Buffer];
      return Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(String(p)))));
    }
  }
  return undefined;
}

/** A body that is not bytes: a string value as it is, other values (a map, a sequence) as JSON. */
function valueText(body: unknown): string {
  if (typeof body === 'string') return body;
  if (body === undefined || body === null) return '';
  if (typeof body === 'object' && 'typecode' in body && 'content' in body) {
    return safeJson((body as { content: unknown }).content);
  }
  return safeJson(body);
}

/** The body as text, and why it cannot be read as sent when it cannot. */
function bodyText(msg: Message): { text: string; problem?: string } {
  const body = msg.body as unknown;
  const encoding = msg.content_encoding;
  const bytes = bodyBytes(body);
  const read = bytes ? decodeUtf8(bytes) : { text: valueText(body) };
  if (encoding && !/^(identity|utf-?8)$/i.test(encoding)) {
    return {
      text: read.text,
      problem: `content-encoding "${encoding}" is not supported: send plain UTF-8 JSON`,
    };
  }
  return read;
}

function safeJson(value: unknown): string {
  try {
    return (
      JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? String(value)
    );
  } catch {
    return String(value);
  }
}

function messageIdText(id: unknown): string | undefined {
  if (id === undefined || id === null) return undefined;
  if (typeof id === 'string') return id === '' ? undefined : id;
  if (Buffer.isBuffer(id)) return id.toString('hex');
  return String(id);
}

function toProps(raw: Record<string, unknown> | undefined): Props {
  const out: Props = {};
  if (!raw) return out;
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = v;
    else if (typeof v === 'bigint') out[k] = Number(v);
    else if (v instanceof Date) out[k] = v.toISOString();
  }
  return out;
}

function describeError(error: unknown, fallback: string): string {
  if (!error) return fallback;
  if (error instanceof Error) return error.message || fallback;
  const e = error as AmqpError;
  const text = [e.condition, e.description].filter(Boolean).join(': ');
  return text || fallback;
}

function classifyAmqp(message: string, condition: string | undefined): Error {
  return condition !== undefined && TERMINAL_CONDITIONS.has(condition)
    ? new TerminalError(message, { code: condition })
    : new RetryableError(message);
}
