/**
 * An in-memory queue manager behind the Mqi interface, with the MQ semantics the transport rests
 * on: one unit of work per connection (gets and puts under syncpoint are invisible to others until
 * MQCMIT; MQBACK or a lost connection gives the gotten messages back with BackoutCount + 1 and
 * drops the puts), reason codes as MQError-like errors (`mqrc`), and faults on demand: every
 * connection broken at once (2009, also to a get that is waiting), the queue manager down
 * (connects fail with 2059), unknown queues (2085).
 */
import type {
  MqConnectOptions,
  Mqi,
  MqiConnection,
  MqiMessage,
  MqiPropertyValue,
  MqiQueue,
} from '../../src/streams/mqi.js';
import { MQRC } from '../../src/streams/mqi.js';

export class FakeMqError extends Error {
  constructor(
    readonly mqrc: number,
    readonly verb: string,
  ) {
    super(`${verb}: MQCC=2 MQRC=${mqrc}`);
    this.name = 'MQError';
  }
}

export interface StoredMessage {
  msgId: string;
  body: string;
  backoutCount: number;
  properties: Record<string, MqiPropertyValue>;
  /** The connection whose unit of work got it (invisible to the others). */
  heldBy?: FakeConnection;
}

let nextMsgId = 1;
const newMsgId = () => (nextMsgId++).toString(16).padStart(48, '0');

export class FakeQueueManager implements Mqi {
  readonly queues = new Map<string, StoredMessage[]>();
  readonly connections = new Set<FakeConnection>();
  readonly calls: string[] = [];
  commits = 0;
  backouts = 0;
  connectAttempts = 0;
  private downUntil = 0;
  private wake = new Set<() => void>();

  constructor(queueNames: string[]) {
    for (const q of queueNames) this.queues.set(q, []);
  }

  async connect(_opts: MqConnectOptions): Promise<MqiConnection> {
    this.connectAttempts++;
    if (Date.now() < this.downUntil) throw new FakeMqError(MQRC.Q_MGR_NOT_AVAILABLE, 'CONNX');
    const c = new FakeConnection(this);
    this.connections.add(c);
    return c;
  }

  /** Puts a committed message (what the OMS would do). */
  send(queue: string, body: string, backoutCount = 0): string {
    const msgId = newMsgId();
    this.queue(queue, 'PUT').push({ msgId, body, backoutCount, properties: {} });
    this.notify();
    return msgId;
  }

  /** Committed messages on a queue (what another application could get). */
  visible(queue: string): StoredMessage[] {
    return this.queue(queue, 'INQ').filter((m) => !m.heldBy);
  }

  depth(queue: string): number {
    return this.queue(queue, 'INQ').length;
  }

  /** Every connection breaks now (MQRC 2009): a waiting get fails, the next call on any fails. */
  breakConnections(): void {
    for (const c of [...this.connections]) c.lose();
    this.notify();
  }

  /** The queue manager goes away for `ms`: connections break and connects fail meanwhile. */
  restart(ms: number): void {
    this.downUntil = Date.now() + ms;
    this.breakConnections();
  }

  queue(name: string, verb: string): StoredMessage[] {
    const q = this.queues.get(name);
    if (!q) throw new FakeMqError(MQRC.UNKNOWN_OBJECT_NAME, verb);
    return q;
  }

  waitForChange(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake.add(done);
    });
  }

  notify(): void {
    for (const w of [...this.wake]) w();
  }
}

export class FakeConnection implements MqiConnection {
  private lost = false;
  private disconnected = false;
  private puts: { queue: string; message: StoredMessage }[] = [];
  private inFlightCalls = 0;
  /** Most MQI calls at once on this connection (the MQI allows one). */
  maxConcurrentCalls = 0;

  constructor(private readonly qm: FakeQueueManager) {}

  private async call<T>(verb: string, fn: () => Promise<T> | T): Promise<T> {
    this.inFlightCalls++;
    this.maxConcurrentCalls = Math.max(this.maxConcurrentCalls, this.inFlightCalls);
    this.qm.calls.push(verb);
    try {
      this.check(verb);
      return await fn();
    } finally {
      this.inFlightCalls--;
    }
  }

  private check(verb: string): void {
    if (this.disconnected) throw new FakeMqError(MQRC.HCONN_ERROR, verb);
    if (this.lost) throw new FakeMqError(MQRC.CONNECTION_BROKEN, verb);
  }

  /** The connection is broken: the queue manager backs its unit of work out. */
  lose(): void {
    if (this.lost || this.disconnected) return;
    this.lost = true;
    this.rollback();
    this.qm.connections.delete(this);
  }

  openInput(queue: string): Promise<MqiQueue> {
    return this.call('OPEN', () => {
      this.qm.queue(queue, 'OPEN');
      return { name: queue };
    });
  }

  get(queue: MqiQueue, waitMs: number): Promise<MqiMessage | null> {
    return this.call('GET', async () => {
      const deadline = Date.now() + waitMs;
      for (;;) {
        this.check('GET');
        const m = this.qm.queue(queue.name, 'GET').find((x) => !x.heldBy);
        if (m) {
          m.heldBy = this;
          return { body: m.body, msgId: m.msgId, backoutCount: m.backoutCount };
        }
        const left = deadline - Date.now();
        if (left <= 0) return null;
        await this.qm.waitForChange(left);
      }
    });
  }

  put(queue: string, body: string, properties: Readonly<Record<string, MqiPropertyValue>>): Promise<string> {
    return this.call('PUT1', () => {
      this.qm.queue(queue, 'PUT1');
      const message = { msgId: newMsgId(), body, backoutCount: 0, properties: { ...properties } };
      this.puts.push({ queue, message });
      return message.msgId;
    });
  }

  commit(): Promise<void> {
    return this.call('CMIT', () => {
      for (const [, q] of this.qm.queues) {
        for (let i = q.length - 1; i >= 0; i--) if (q[i]!.heldBy === this) q.splice(i, 1);
      }
      for (const p of this.puts) this.qm.queue(p.queue, 'CMIT').push(p.message);
      this.puts = [];
      this.qm.commits++;
      this.qm.notify();
    });
  }

  backout(): Promise<void> {
    return this.call('BACK', () => {
      this.rollback();
      this.qm.backouts++;
    });
  }

  private rollback(): void {
    for (const [, q] of this.qm.queues) {
      for (const m of q) {
        if (m.heldBy === this) {
          m.heldBy = undefined;
          m.backoutCount++;
        }
      }
    }
    this.puts = [];
    this.qm.notify();
  }

  async disconnect(): Promise<void> {
    if (this.disconnected) return;
    if (!this.lost) this.rollback();
    this.disconnected = true;
    this.qm.connections.delete(this);
  }
}
