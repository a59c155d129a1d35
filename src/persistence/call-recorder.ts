import type { Logger } from 'pino';
import type { CallRecorder, MarketplaceCallRecord } from '../marketplaces/types.js';
import type { Database } from './database.js';

/**
 * Writes the marketplace call audit in batches (one INSERT per flush), off the hot path.
 * Counters are kept in memory too, for progress lines and metrics.
 */
export class DbCallRecorder implements CallRecorder {
  private buffer: MarketplaceCallRecord[] = [];
  private timer: NodeJS.Timeout | undefined;
  private pending: Promise<void> = Promise.resolve();
  readonly totals = new Map<string, { calls: number; throttled: number; errors: number }>();

  constructor(
    private readonly db: Database,
    private readonly logger: Logger,
    private readonly flushMs = 250,
  ) {}

  record(call: MarketplaceCallRecord): void {
    this.buffer.push(call);
    const k = `${call.marketplace} ${call.operation}`;
    const t = this.totals.get(k) ?? { calls: 0, throttled: 0, errors: 0 };
    t.calls++;
    if (call.throttled) t.throttled++;
    if (call.error) t.errors++;
    this.totals.set(k, t);
    if (!this.timer) this.timer = setTimeout(() => void this.flush(), this.flushMs);
  }

  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.buffer;
    this.buffer = [];
    if (batch.length === 0) return this.pending;
    this.pending = this.pending.then(async () => {
      try {
        await this.db.query(
          `insert into marketplace_call (marketplace, operation, entity_key, http_status, throttled, started_at, duration_ms, attempt, error)
           select r.marketplace, r.operation, r.entity_key, r.http_status, r.throttled, r.started_at, r.duration_ms, r.attempt, r.error
           from jsonb_to_recordset(?::jsonb) as r(marketplace text, operation text, entity_key text, http_status int,
             throttled boolean, started_at timestamptz, duration_ms int, attempt int, error text)`,
          [
            JSON.stringify(
              batch.map((c) => ({
                marketplace: c.marketplace,
                operation: c.operation,
                entity_key: c.entityKey,
                http_status: c.httpStatus,
                throttled: c.throttled,
                started_at: c.startedAt.toISOString(),
                duration_ms: Math.round(c.durationMs),
                attempt: c.attempt,
                error: c.error,
              })),
            ),
          ],
        );
      } catch (err) {
        this.logger.warn({ err, calls: batch.length }, 'could not write marketplace call audit');
      }
    });
    return this.pending;
  }
}
