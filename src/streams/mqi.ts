/**
 * The boundary between the IBM MQ transport (ibmmq.ts) and IBM's MQI: the few verbs the transport
 * uses, promise-shaped, with the queue manager's reason codes. `loadIbmMqi()` builds it from the
 * `ibmmq` package, loaded only when MQ_TRANSPORT=ibmmq (the package needs IBM's C client library,
 * libmqm_r.so, which most machines do not have); tests use a fake of the same shape.
 *
 * Every call on a connection belongs to that connection's one unit of work: MQGET and MQPUT1
 * under syncpoint stay invisible to everyone else until `commit()`, and `backout()` (or a broken
 * connection) gives every message got since the last commit back to its queue with
 * BackoutCount + 1.
 */
import { RetryableError, TerminalError } from '../core/errors.js';
import { decodeUtf8 } from '../core/text.js';

/** Reason codes (MQRC_*) the transport acts on. */
export const MQRC = {
  NONE: 0,
  /** The unit of work was backed out (e.g. a client reconnect happened under it). */
  BACKED_OUT: 2003,
  CONNECTION_BROKEN: 2009,
  HCONN_ERROR: 2018,
  HOBJ_ERROR: 2019,
  NOT_AUTHORIZED: 2035,
  NO_MSG_AVAILABLE: 2033,
  Q_MGR_NAME_ERROR: 2058,
  Q_MGR_NOT_AVAILABLE: 2059,
  UNKNOWN_OBJECT_NAME: 2085,
  Q_MGR_QUIESCING: 2161,
  Q_MGR_STOPPING: 2162,
  CONNECTION_QUIESCING: 2202,
  CONNECTION_STOPPING: 2203,
  CHANNEL_NOT_AVAILABLE: 2537,
  HOST_NOT_AVAILABLE: 2538,
  UNKNOWN_CHANNEL_NAME: 2540,
  RECONNECT_FAILED: 2548,
  CALL_INTERRUPTED: 2549,
} as const;

/**
 * The connection is gone or going (MQRC 2009 and kin): drop it, reconnect with backoff. Whatever
 * was got under syncpoint on it is backed out by the queue manager.
 */
const CONNECTION_LOST = new Set<number>([
  MQRC.BACKED_OUT,
  MQRC.CONNECTION_BROKEN,
  MQRC.HCONN_ERROR,
  MQRC.HOBJ_ERROR,
  MQRC.Q_MGR_NOT_AVAILABLE,
  MQRC.Q_MGR_QUIESCING,
  MQRC.Q_MGR_STOPPING,
  MQRC.CONNECTION_QUIESCING,
  MQRC.CONNECTION_STOPPING,
  MQRC.CHANNEL_NOT_AVAILABLE,
  MQRC.HOST_NOT_AVAILABLE,
  MQRC.RECONNECT_FAILED,
  MQRC.CALL_INTERRUPTED,
]);

/** Configuration that reconnecting cannot fix: wrong names, no authority. */
const CONFIGURATION = new Set<number>([
  MQRC.NOT_AUTHORIZED,
  MQRC.Q_MGR_NAME_ERROR,
  MQRC.UNKNOWN_OBJECT_NAME,
  MQRC.UNKNOWN_CHANNEL_NAME,
]);

/** The MQRC of an error thrown by the MQI (ibmmq's MQError and the fake both carry `mqrc`). */
export function mqrcOf(err: unknown): number | undefined {
  const rc = (err as { mqrc?: unknown } | null)?.mqrc;
  return typeof rc === 'number' ? rc : undefined;
}

export const isConnectionLost = (err: unknown) => CONNECTION_LOST.has(mqrcOf(err) ?? -1);
export const isConfigurationError = (err: unknown) => CONFIGURATION.has(mqrcOf(err) ?? -1);

/** Retryable or terminal, with the MQRC in the message. */
export function classifyMqError(err: unknown, what: string): RetryableError | TerminalError {
  const rc = mqrcOf(err);
  const text = err instanceof Error ? err.message : String(err);
  const message = `ibmmq: ${what}: ${text}${rc !== undefined && !text.includes(String(rc)) ? ` [MQRC ${rc}]` : ''}`;
  return isConfigurationError(err)
    ? new TerminalError(message, { code: `MQRC_${rc}`, cause: err })
    : new RetryableError(message, { cause: err });
}

export interface MqConnectOptions {
  queueManager: string;
  /** SVRCONN channel; with `connectionName` a client connection, else local bindings. */
  channel?: string;
  /** `host(port)`, or a comma-separated list of them (multi-instance queue managers). */
  connectionName?: string;
  user?: string;
  password?: string;
  /** TLS CipherSpec of the channel, e.g. `ANY_TLS13_OR_HIGHER`. */
  tlsCipherSpec?: string;
  /** Key repository stem (`/var/mqm/ssl/key` for key.kdb) or a PEM/P12 file path. */
  keyRepository?: string;
  /** IBM MQ client auto-reconnect: off (marketbridge reconnects itself), same queue manager, any. */
  clientReconnect: 'disabled' | 'qmgr' | 'any';
  applicationName: string;
}

export interface MqiMessage {
  /** The body, decoded as UTF-8 (the transport puts MQSTR in CCSID 1208 and asks for conversion). */
  body: string;
  /** Why `body` is not the message as sent (not UTF-8 after conversion), if it is not. */
  bodyProblem?: string;
  /** MQMD.MsgId in hex. */
  msgId: string;
  /** MQMD.BackoutCount: how often a get of this message was backed out. */
  backoutCount: number;
}

export type MqiPropertyValue = string | number | boolean;

export interface MqiConnection {
  /** MQOPEN for shared input. */
  openInput(queue: string): Promise<MqiQueue>;
  /**
   * MQGET under syncpoint, waiting up to `waitMs` without blocking the event loop. Null when no
   * message came (MQRC 2033).
   */
  get(queue: MqiQueue, waitMs: number): Promise<MqiMessage | null>;
  /** MQPUT1 under syncpoint: MQSTR, CCSID 1208, persistent, with message properties. Returns the MsgId (hex). */
  put(queue: string, body: string, properties: Readonly<Record<string, MqiPropertyValue>>): Promise<string>;
  /** MQCMIT: everything got and put on this connection since the last commit. */
  commit(): Promise<void>;
  /** MQBACK: everything got goes back (BackoutCount + 1), everything put is dropped. */
  backout(): Promise<void>;
  /** MQDISC (an uncommitted unit of work is backed out). Never throws. */
  disconnect(): Promise<void>;
}

export interface MqiQueue {
  readonly name: string;
}

export interface Mqi {
  connect(opts: MqConnectOptions): Promise<MqiConnection>;
}

/** The MQ client library (or the ibmmq package) is not installed: nothing to retry. */
export class MqClientMissingError extends Error {
  constructor(cause: unknown) {
    const message = typeof cause === 'string' ? cause : (cause as { message?: unknown } | null)?.message;
    const detail = typeof message === 'string' ? message.split('\n')[0] : 'unknown error';
    super(
      `MQ_TRANSPORT=ibmmq needs the IBM MQ C client library (libmqm_r.so), which was not found (${detail}). ` +
        'Install the IBM MQ redistributable client (e.g. in /opt/mqm) and set MQ_INSTALLATION_PATH to it, ' +
        'or use MQ_TRANSPORT=amqp with the queue manager’s AMQP channel.',
      { cause },
    );
    this.name = 'MqClientMissingError';
  }
}

// --- the real MQI, from the ibmmq package ------------------------------------------------------

/** The parts of the `ibmmq` module used here (it ships no ESM types we can rely on). */
// biome-ignore lint/suspicious/noExplicitAny: the ibmmq module is untyped at this boundary
type IbmMq = any;

let loaded: Promise<IbmMq> | undefined;

/**
 * Imports `ibmmq` once; rejects with MqClientMissingError when it or the C client is missing.
 * The package prints its own lines to stderr when it cannot find the C library: they are held back
 * while it loads and their gist goes into the one error instead.
 */
export function loadIbmMqModule(importer: () => Promise<unknown> = () => import('ibmmq')): Promise<IbmMq> {
  loaded ??= (async () => {
    const said: string[] = [];
    const consoleError = console.error;
    console.error = (...args: unknown[]) => {
      said.push(args.map(String).join(' '));
    };
    try {
      const m = await importer();
      return (m as { default?: unknown }).default ?? m;
    } catch (err) {
      loaded = undefined;
      throw new MqClientMissingError(said[0] ?? err);
    } finally {
      console.error = consoleError;
    }
  })();
  return loaded;
}

/** Milliseconds between the ibmmq package's MQGET polls while a get waits (its default is 10 s). */
export interface IbmMqiOptions {
  pollMs?: number;
}

/** The MQI over the `ibmmq` package. */
export async function loadIbmMqi(opts: IbmMqiOptions = {}): Promise<Mqi> {
  const mq = await loadIbmMqModule();
  const MQC = mq.MQC;
  mq.setTuningParameters({ getLoopPollTimeMs: opts.pollMs ?? 200, getLoopDelayTimeMs: 0 });
  const callback =
    (resolve: () => void, reject: (e: unknown) => void) =>
    (err: unknown): void => {
      if (err) reject(err);
      else resolve();
    };

  return {
    async connect(o: MqConnectOptions): Promise<MqiConnection> {
      const cno = new mq.MQCNO();
      cno.Options =
        o.clientReconnect === 'qmgr'
          ? MQC.MQCNO_RECONNECT_Q_MGR
          : o.clientReconnect === 'any'
            ? MQC.MQCNO_RECONNECT
            : MQC.MQCNO_RECONNECT_DISABLED;
      cno.ApplName = o.applicationName.slice(0, 28);
      if (o.connectionName) {
        cno.Options |= MQC.MQCNO_CLIENT_BINDING;
        const cd = new mq.MQCD();
        cd.ConnectionName = o.connectionName;
        cd.ChannelName = o.channel ?? 'SYSTEM.DEF.SVRCONN';
        if (o.tlsCipherSpec) {
          cd.SSLCipherSpec = o.tlsCipherSpec;
          const sco = new mq.MQSCO();
          if (o.keyRepository) sco.KeyRepository = o.keyRepository;
          cno.SSLConfig = sco;
        }
        cno.ClientConn = cd;
      }
      if (o.user) {
        const csp = new mq.MQCSP();
        csp.UserId = o.user;
        csp.Password = o.password ?? '';
        cno.SecurityParms = csp;
      }
      const hConn = await mq.ConnxPromise(o.queueManager, cno);
      /** Messages the package's get loop handed over after the one a get() asked for. */
      const early = new Map<unknown, MqiMessage[]>();

      const toMessage = (md: IbmMq, data: Buffer | null): MqiMessage => {
        const { text, problem } = decodeUtf8(data ?? Buffer.alloc(0));
        return {
          body: text,
          ...(problem ? { bodyProblem: problem } : {}),
          msgId: Buffer.from(md.MsgId).toString('hex'),
          backoutCount: Number(md.BackoutCount ?? 0),
        };
      };

      return {
        async openInput(queue) {
          const od = new mq.MQOD();
          od.ObjectName = queue;
          od.ObjectType = MQC.MQOT_Q;
          const hObj = await mq.OpenPromise(hConn, od, MQC.MQOO_INPUT_AS_Q_DEF | MQC.MQOO_FAIL_IF_QUIESCING);
          return { name: queue, hObj } as MqiQueue;
        },
        get(queue, waitMs) {
          const hObj = (queue as MqiQueue & { hObj: unknown }).hObj;
          const waiting = early.get(hObj);
          if (waiting && waiting.length > 0) return Promise.resolve(waiting.shift()!);
          return new Promise((resolve, reject) => {
            const md = new mq.MQMD();
            const gmo = new mq.MQGMO();
            gmo.Options =
              MQC.MQGMO_SYNCPOINT | MQC.MQGMO_WAIT | MQC.MQGMO_CONVERT | MQC.MQGMO_FAIL_IF_QUIESCING;
            gmo.MatchOptions = MQC.MQMO_NONE;
            gmo.WaitInterval = waitMs;
            let settled = false;
            mq.Get(
              hObj,
              md,
              gmo,
              (err: IbmMq, _obj: unknown, _gmo: unknown, gotMd: IbmMq, data: Buffer | null) => {
                if (!settled) {
                  settled = true;
                  mq.GetDone(hObj);
                  if (err) {
                    if (mqrcOf(err) === MQRC.NO_MSG_AVAILABLE) resolve(null);
                    else reject(err);
                  } else resolve(toMessage(gotMd, data));
                  return;
                }
                // The package may hand over more before GetDone takes effect: they are in this unit
                // of work, so they are kept for the next get() instead of being dropped.
                if (!err) early.set(hObj, [...(early.get(hObj) ?? []), toMessage(gotMd, data)]);
              },
            );
          });
        },
        async put(queue, body, properties) {
          const od = new mq.MQOD();
          od.ObjectName = queue;
          od.ObjectType = MQC.MQOT_Q;
          const md = new mq.MQMD();
          md.Format = MQC.MQFMT_STRING;
          md.CodedCharSetId = 1208;
          md.Persistence = MQC.MQPER_PERSISTENT;
          const pmo = new mq.MQPMO();
          pmo.Options =
            MQC.MQPMO_SYNCPOINT |
            MQC.MQPMO_NEW_MSG_ID |
            MQC.MQPMO_NEW_CORREL_ID |
            MQC.MQPMO_FAIL_IF_QUIESCING;
          let mh: unknown;
          const names = Object.keys(properties);
          if (names.length > 0) {
            mh = mq.CrtMh(hConn, new mq.MQCMHO());
            for (const name of names) {
              mq.SetMp(hConn, mh, new mq.MQSMPO(), name, new mq.MQPD(), properties[name]);
            }
            pmo.OriginalMsgHandle = mh;
          }
          try {
            await mq.Put1Promise(hConn, od, md, pmo, Buffer.from(body, 'utf8'));
          } finally {
            if (mh !== undefined) mq.DltMh(hConn, mh, new mq.MQDMHO());
          }
          return Buffer.from(md.MsgId).toString('hex');
        },
        commit: () => new Promise<void>((resolve, reject) => mq.Cmit(hConn, callback(resolve, reject))),
        backout: () => new Promise<void>((resolve, reject) => mq.Back(hConn, callback(resolve, reject))),
        async disconnect() {
          try {
            await mq.DiscPromise(hConn);
          } catch {
            // already gone
          }
        },
      };
    },
  };
}
