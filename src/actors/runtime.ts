import type { Logger } from 'pino';
import { type Actor, type AnyActorLogic, type AnyMachineSnapshot, createActor } from 'xstate';
import type { Clock } from '../core/clock.js';
import { errorSummary } from '../core/text.js';
import type { Database, Sql } from '../persistence/database.js';

/** How one kind of actor (listing, order, …) is created, stored and shown. */
export interface ActorKind {
  /** Key prefix this kind serves, e.g. `listing` for `listing:amazon:SKU-1`. */
  readonly prefix: string;
  readonly machine: string;
  readonly version: number;
  /** Machine with its effects provided. */
  readonly logic: AnyActorLogic;
  /** Input for an actor that has no snapshot yet. */
  input(key: string): unknown;
  /** True when nothing is in flight and nothing needs doing until the next event. */
  isAtRest(snapshot: AnyMachineSnapshot): boolean;
  stateName(snapshot: AnyMachineSnapshot): string;
  /** Sequence number of the last external event the actor applied. */
  lastEventSeq(snapshot: AnyMachineSnapshot): number;
  /** Top-level state names that are at rest (used to find actors to wake on start). */
  readonly restStates: readonly string[];
  /** Upserts read-model rows for these actors, inside the snapshot transaction. */
  writeReadModels?(tx: Sql, items: { key: string; snapshot: AnyMachineSnapshot }[]): Promise<void>;
  /** Upgrades a stored snapshot of an older machine version; returns it unchanged if current. */
  migrateSnapshot?(stored: unknown, storedVersion: number): unknown;
  /**
   * A durable timer: when the actor wants to be woken (ISO-8601), or undefined. Stored with the
   * snapshot (`actor_snapshot.wake_at`), so it survives restarts and passivation; when it is due
   * the runtime delivers `wakeEvent(at)` (without a seq: the machine must make it idempotent).
   */
  wakeAt?(snapshot: AnyMachineSnapshot): string | undefined;
  wakeEvent?(at: string): { type: string; [k: string]: unknown };
  /** The persisted snapshot as it may be stored (e.g. without personal data). Default: as is. */
  persistable?(persisted: unknown): unknown;
}

interface StoredSnapshot {
  snapshot: unknown;
  machine_version: number;
}

export interface RuntimeOptions {
  db: Database;
  clock: Clock;
  logger: Logger;
  kinds: ActorKind[];
  /** Idle actors at rest longer than this are persisted and stopped. */
  idleMs: number;
  /** Snapshot writes are batched over this window. */
  flushMs: number;
  /** Called after each snapshot transaction commits (e.g. to wake the outbox relay). */
  onFlushed?: () => void;
  /** How often due durable timers (`wake_at`) are looked for. Default 1000 ms. */
  wakeSweepMs?: number;
  /** Optional observer of every actor (e.g. the Stately inspector). */
  inspect?: Parameters<typeof createActor>[1] extends infer O
    ? O extends { inspect?: infer I }
      ? I
      : never
    : never;
}

interface Entry {
  key: string;
  kind: ActorKind;
  actor: Actor<AnyActorLogic>;
  /** Bumped on every snapshot change; compared after a flush to know if it is still dirty. */
  changes: number;
  flushed: number;
  lastActiveMs: number;
  log: Logger;
}

export interface ActorEvent {
  type: string;
  seq: number;
  [k: string]: unknown;
}

/**
 * One actor per key, created on first event or hydrated from its snapshot; events for one key
 * are applied one at a time in order, keys run concurrently. Each applied event and each
 * transition marks the actor dirty; dirty snapshots are written in batches, in one transaction
 * with the read models and the removal of the inbox rows they have applied. Idle actors at rest
 * are passivated (persisted, then stopped) and rehydrate on their next event. All per-key work
 * enters through `deliver`, the one place that could later ask whether this instance owns the key.
 */
export class ActorRuntime {
  private readonly entries = new Map<string, Entry>();
  /** Snapshot reads started for a batch of keys (deliverMany); null: no snapshot; undefined: read failed. */
  private readonly prefetched = new Map<string, Promise<StoredSnapshot | null | undefined>>();
  /** Entries with changes not yet written (kept apart so a flush never scans every actor). */
  private readonly dirty = new Set<Entry>();
  private readonly mailboxes = new Map<string, Promise<void>>();
  private flushTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private wakeTimer: NodeJS.Timeout | undefined;
  /** Wake-ups delivered and not yet written back (key → wake_at), so a sweep does not repeat them. */
  private readonly woken = new Map<string, string>();
  private stopped = false;
  private failures = 0;

  constructor(private readonly opts: RuntimeOptions) {}

  private kindOf(key: string): ActorKind {
    const prefix = key.slice(0, key.indexOf(':'));
    const kind = this.opts.kinds.find((k) => k.prefix === prefix);
    if (!kind) throw new Error(`no actor kind serves key ${key}`);
    return kind;
  }

  /** Applies `event` to the actor for `key` after every event delivered before it. */
  deliver(key: string, event: ActorEvent): Promise<void> {
    return this.enqueue(key, event, false);
  }

  /**
   * Delivers a batch (e.g. what one inbound commit produced), in order per key. The snapshots of
   * actors not in memory are read in one query first, instead of one query per actor.
   */
  deliverMany(events: { key: string; event: ActorEvent }[]): void {
    const missing = [...new Set(events.map((e) => e.key))].filter(
      (k) => !this.entries.has(k) && !this.prefetched.has(k),
    );
    if (missing.length > 1) {
      // The array goes as one JSON text (the driver would expand a JS array into a list).
      const load = this.opts.db
        .query<{ actor_key: string; snapshot: unknown; machine_version: number }>(
          `select actor_key, snapshot, machine_version from actor_snapshot
           where actor_key in (select jsonb_array_elements_text(?::jsonb))`,
          [JSON.stringify(missing)],
        )
        .then((rows) => new Map(rows.map((r) => [r.actor_key, r])))
        .catch((err) => {
          this.opts.logger.warn(
            { error: errorSummary(err) },
            'batch snapshot read failed; actors read their own',
          );
          return undefined;
        });
      for (const k of missing) {
        this.prefetched.set(
          k,
          load.then((m) => (m === undefined ? undefined : (m.get(k) ?? null))),
        );
      }
    }
    for (const e of events) void this.deliver(e.key, e.event);
  }

  /** An internal event (a durable timer), applied in order but without a seq check. */
  private enqueue(key: string, event: { type: string; seq?: number }, internal: boolean): Promise<void> {
    const prev = this.mailboxes.get(key) ?? Promise.resolve();
    const next = prev
      .then(async () => {
        if (this.stopped) return;
        const entry = await this.ensure(key);
        const snap = entry.actor.getSnapshot() as AnyMachineSnapshot;
        // Already applied before a restart.
        if (!internal && (event.seq ?? 0) <= entry.kind.lastEventSeq(snap)) return;
        entry.actor.send(event);
        this.touch(entry);
      })
      .catch((err) => {
        this.failures++;
        this.opts.logger.error(
          { error: errorSummary(err), key, event: event.type },
          'could not apply event; it stays in the inbox',
        );
      });
    this.mailboxes.set(key, next);
    void next.finally(() => {
      if (this.mailboxes.get(key) === next) this.mailboxes.delete(key);
    });
    return next;
  }

  private async ensure(key: string): Promise<Entry> {
    // A batch read is used once, by the first hydration after it (never later: it may be stale).
    const prefetched = this.prefetched.get(key);
    this.prefetched.delete(key);
    const existing = this.entries.get(key);
    if (existing) return existing;
    const kind = this.kindOf(key);
    const fromBatch = prefetched ? await prefetched : undefined;
    const rows: StoredSnapshot[] =
      fromBatch !== undefined
        ? fromBatch === null
          ? []
          : [fromBatch]
        : await this.opts.db.query<StoredSnapshot>(
            'select snapshot, machine_version from actor_snapshot where actor_key = ?',
            [key],
          );
    const again = this.entries.get(key);
    if (again) return again;
    const log = this.opts.logger.child({ actor: key });
    const row = rows[0];
    const options: Record<string, unknown> = { id: key };
    if (this.opts.inspect) options.inspect = this.opts.inspect;
    if (row) {
      const stored = kind.migrateSnapshot
        ? kind.migrateSnapshot(row.snapshot, row.machine_version)
        : row.snapshot;
      options.snapshot = stored;
    } else {
      options.input = kind.input(key);
    }
    const actor = createActor(kind.logic, options as never);
    const entry: Entry = {
      key,
      kind,
      actor,
      changes: 0,
      flushed: -1,
      lastActiveMs: this.opts.clock.now(),
      log,
    };
    this.entries.set(key, entry);
    let last: string | undefined;
    actor.subscribe({
      next: (snap) => {
        const name = kind.stateName(snap as AnyMachineSnapshot);
        if (name !== last) {
          // Arriving at rest is what ops want to see (listed, rejected, …); the steps between are detail.
          if (kind.isAtRest(snap as AnyMachineSnapshot) && last !== undefined)
            log.info({ state: name, from: last }, 'settled');
          else log.debug({ state: name, from: last }, 'transition');
          last = name;
        }
        this.touch(entry);
      },
      error: (err) => log.error({ err }, 'actor failed'),
    });
    actor.start();
    if (!row) this.touch(entry);
    log.debug({ hydrated: !!row }, row ? 'hydrated from snapshot' : 'created');
    return entry;
  }

  private touch(entry: Entry): void {
    entry.changes++;
    this.dirty.add(entry);
    entry.lastActiveMs = this.opts.clock.now();
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushTimer || this.stopped) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      void this.flush();
    }, this.opts.flushMs);
  }

  /** Writes every dirty snapshot (and its read model) in one transaction. */
  async flush(): Promise<void> {
    if (this.flushing) {
      await this.flushing;
      if (this.dirty.size > 0) return this.flush();
      return;
    }
    this.flushing = this.doFlush().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private async doFlush(): Promise<void> {
    const dirty = [...this.dirty];
    if (dirty.length === 0) return;
    const taken = dirty.map((e) => {
      const snapshot = e.actor.getSnapshot() as AnyMachineSnapshot;
      return { e, changes: e.changes, snapshot, persisted: e.actor.getPersistedSnapshot() };
    });
    try {
      await this.write(taken);
    } catch (err) {
      this.failures++;
      this.opts.logger.error({ error: errorSummary(err), actors: taken.length }, 'snapshot flush failed');
      // One actor whose row the database refuses must not hold back every other actor's state.
      if (taken.length > 1) {
        for (const t of taken) {
          try {
            await this.write([t]);
          } catch (one) {
            this.opts.logger.error(
              { error: errorSummary(one), actor: t.e.key },
              'snapshot of this actor not written',
            );
          }
        }
      }
      if (!this.stopped && taken.some((t) => t.e.flushed !== t.changes)) {
        setTimeout(() => this.scheduleFlush(), 500);
      }
    }
  }

  /** Snapshots, inbox clean-up and read models of these actors, in one transaction. */
  private async write(
    taken: { e: Entry; changes: number; snapshot: AnyMachineSnapshot; persisted: unknown }[],
  ): Promise<void> {
    const rows = taken.map(({ e, snapshot, persisted }) => ({
      actor_key: e.key,
      machine: e.kind.machine,
      machine_version: e.kind.version,
      state: e.kind.stateName(snapshot),
      snapshot: e.kind.persistable ? e.kind.persistable(persisted) : persisted,
      last_event_id: e.kind.lastEventSeq(snapshot),
      wake_at: e.kind.wakeAt?.(snapshot) ?? null,
    }));
    const now = new Date(this.opts.clock.now()).toISOString();
    await this.opts.db.transaction(async (tx) => {
      await tx.query(
        `insert into actor_snapshot (actor_key, machine, machine_version, state, snapshot, last_event_id, wake_at, version, updated_at)
         select r.actor_key, r.machine, r.machine_version, r.state, r.snapshot, r.last_event_id, r.wake_at, 1, ?::timestamptz
         from jsonb_to_recordset(?::jsonb) as r(actor_key text, machine text, machine_version int, state text,
                                               snapshot jsonb, last_event_id bigint, wake_at timestamptz)
         on conflict (actor_key) do update set machine = excluded.machine, machine_version = excluded.machine_version,
           state = excluded.state, snapshot = excluded.snapshot, last_event_id = excluded.last_event_id,
           wake_at = excluded.wake_at, version = actor_snapshot.version + 1, updated_at = excluded.updated_at`,
        [now, JSON.stringify(rows)],
      );
      await tx.query(
        `delete from actor_inbox i using jsonb_to_recordset(?::jsonb) as r(actor_key text, last_event_id bigint)
         where i.actor_key = r.actor_key and i.event_id <= r.last_event_id`,
        [JSON.stringify(rows.map((r) => ({ actor_key: r.actor_key, last_event_id: r.last_event_id })))],
      );
      const byKind = new Map<ActorKind, { key: string; snapshot: AnyMachineSnapshot }[]>();
      for (const { e, snapshot } of taken) {
        if (!e.kind.writeReadModels) continue;
        const list = byKind.get(e.kind) ?? [];
        list.push({ key: e.key, snapshot });
        byKind.set(e.kind, list);
      }
      for (const [kind, items] of byKind) await kind.writeReadModels!(tx, items);
    });
    this.opts.onFlushed?.();
    for (const [i, t] of taken.entries()) {
      t.e.flushed = t.changes;
      if (t.e.changes === t.e.flushed) this.dirty.delete(t.e);
      if (this.woken.get(t.e.key) !== rows[i]!.wake_at) this.woken.delete(t.e.key);
    }
  }

  /** Starts passivation and wakes what was in flight before the last stop or crash. */
  async start(): Promise<{ woken: number; pending: number }> {
    const sweepEvery = Math.max(50, Math.floor(this.opts.idleMs / 4));
    this.sweepTimer = setInterval(() => void this.passivateIdle(), sweepEvery);
    if (this.opts.kinds.some((k) => k.wakeAt)) {
      const wakeEvery = this.opts.wakeSweepMs ?? 1000;
      const loop = () => {
        this.wakeTimer = setTimeout(() => {
          void this.wakeDue().finally(() => {
            if (!this.stopped) loop();
          });
        }, wakeEvery);
      };
      loop();
    }
    let woken = 0;
    for (const kind of this.opts.kinds) {
      const rows = await this.opts.db.query<{ actor_key: string }>(
        `select actor_key from actor_snapshot where machine = ? and not (state = any (select jsonb_array_elements_text(?::jsonb)))`,
        [kind.machine, JSON.stringify(kind.restStates)],
      );
      for (const r of rows) {
        await this.ensure(r.actor_key); // invoked effects that were in flight run again
        woken++;
      }
    }
    // Events committed to the inbox but not yet covered by a snapshot are applied again, in order.
    const pending = await this.opts.db.query<{ actor_key: string; event: ActorEvent }>(
      'select actor_key, event from actor_inbox order by event_id, actor_key',
    );
    for (const p of pending) void this.deliver(p.actor_key, p.event);
    return { woken, pending: pending.length };
  }

  /**
   * Delivers the wake event to every actor whose durable timer is due (also those passivated or
   * not yet hydrated since a restart: the timer lives in `actor_snapshot.wake_at`).
   */
  async wakeDue(): Promise<number> {
    if (this.stopped) return 0;
    const now = new Date(this.opts.clock.now()).toISOString();
    let rows: { actor_key: string; wake_at: string }[];
    try {
      rows = await this.opts.db.query<{ actor_key: string; wake_at: string }>(
        `select actor_key, to_char(wake_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as wake_at
         from actor_snapshot where wake_at is not null and wake_at <= ?::timestamptz order by wake_at limit 1000`,
        [now],
      );
    } catch (err) {
      this.opts.logger.warn({ error: errorSummary(err) }, 'could not look for due timers');
      return 0;
    }
    let n = 0;
    for (const r of rows) {
      if (this.woken.get(r.actor_key) === r.wake_at) continue;
      const kind = this.kindOf(r.actor_key);
      if (!kind.wakeEvent) continue;
      this.woken.set(r.actor_key, r.wake_at);
      void this.enqueue(r.actor_key, kind.wakeEvent(r.wake_at), true);
      n++;
    }
    return n;
  }

  /** Actors that are idle and at rest are persisted and stopped (they rehydrate on demand). */
  async passivateIdle(): Promise<number> {
    const cutoff = this.opts.clock.now() - this.opts.idleMs;
    const idle = [...this.entries.values()].filter(
      (e) =>
        e.lastActiveMs <= cutoff &&
        !this.mailboxes.has(e.key) &&
        e.kind.isAtRest(e.actor.getSnapshot() as AnyMachineSnapshot),
    );
    if (idle.length === 0) return 0;
    await this.flush();
    let n = 0;
    for (const e of idle) {
      if (e.changes !== e.flushed || this.mailboxes.has(e.key)) continue;
      e.actor.stop();
      this.entries.delete(e.key);
      n++;
    }
    return n;
  }

  /** Keys in memory, with their state (for ops and tests). */
  live(): { key: string; state: string; atRest: boolean }[] {
    return [...this.entries.values()].map((e) => {
      const snap = e.actor.getSnapshot() as AnyMachineSnapshot;
      return { key: e.key, state: e.kind.stateName(snap), atRest: e.kind.isAtRest(snap) };
    });
  }

  /** True when no event is queued, every actor is at rest and every snapshot is written. */
  isSettled(): boolean {
    if (this.mailboxes.size > 0 || this.flushing || this.dirty.size > 0) return false;
    for (const e of this.entries.values()) {
      if (!e.kind.isAtRest(e.actor.getSnapshot() as AnyMachineSnapshot)) return false;
    }
    return true;
  }

  get failureCount(): number {
    return this.failures;
  }

  /** Persists everything and stops every actor. In-flight effects are abandoned; they re-run on hydration. */
  async stop(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    await Promise.allSettled([...this.mailboxes.values()]);
    this.stopped = true;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    await this.flushing;
    await this.doFlush();
    for (const e of this.entries.values()) e.actor.stop();
    this.entries.clear();
    this.dirty.clear();
  }
}
