import type { Observable } from 'rxjs';

/** One message taken from a queue, not yet settled. */
export interface Delivery {
  /** UTF-8 body as received. */
  readonly body: string;
  /**
   * Set when the transport could not read the body as sent (not UTF-8, compressed): `body` is
   * then only a best-effort rendering, and the consumer refuses the message with this reason.
   */
  readonly bodyProblem?: string;
  /** The transport's own message id (AMQP message-id, MQ MsgId as hex), if any. */
  readonly messageId: string | undefined;
  /** 1 on first delivery; counted by the transport where the broker does not. */
  readonly deliveryCount: number;
  /** Application properties / headers. */
  readonly properties: Readonly<Record<string, string | number | boolean>>;
  /**
   * Settle: the message leaves the queue. Call only after its effect is committed. May resolve
   * only once other deliveries are settled too (IBM MQ commits a round at once), so a consumer
   * must not wait for it before settling the rest of what it was given.
   */
  accept(): Promise<void>;
  /** Give the message back; it will be delivered again (deliveryCount + 1). */
  release(): Promise<void>;
  /** Put the message on the backout queue with its reason, then settle it here. */
  backout(reason: string): Promise<void>;
}

export type TransportHealth = 'up' | 'degraded' | 'down';

export interface ConsumeOptions {
  /** Most deliveries unsettled at a time. */
  prefetch?: number;
  /**
   * The consumer moves messages delivered too often to the backout queue itself (it can tell one
   * already applied, whose acknowledgements were lost, from poison): a transport that would move
   * them by its own count (IBM MQ's BackoutCount) hands them out instead.
   */
  consumerHandlesBackout?: boolean;
}

/**
 * A queue transport (embedded Postgres queue, AMQP 1.0, IBM MQ). Deliveries of one queue
 * arrive in queue order; at most `prefetch` are unsettled at a time.
 */
export interface QueueTransport {
  readonly kind: 'embedded' | 'amqp' | 'ibmmq';
  /** Cold: subscribing attaches a consumer, unsubscribing detaches it. */
  consume(queue: string, opts?: ConsumeOptions): Observable<Delivery>;
  /** Put one message (durable). Resolves when the broker has it. */
  publish(queue: string, body: string, properties?: Record<string, string | number | boolean>): Promise<void>;
  health(): TransportHealth;
  close(): Promise<void>;
}
