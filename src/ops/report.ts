import type { MarketplaceId } from '../domain/types.js';
import type { Sql } from '../persistence/database.js';

/** Read-only questions ops (and the demo) ask of the database. */

/** Listings per state, on one marketplace or all. */
export async function listingStates(db: Sql, marketplace?: MarketplaceId): Promise<Record<string, number>> {
  const rows = await db.query<{ state: string; n: string }>(
    'select state, count(*) as n from listing where (?::text is null or marketplace = ?) group by state order by state',
    [marketplace ?? null, marketplace ?? null],
  );
  return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
}

/** Calls and 429s per operation on one marketplace (the `marketplace_call` audit). */
export async function callsPerOperation(
  db: Sql,
  marketplace: MarketplaceId,
): Promise<{ operation: string; calls: number; throttled: number }[]> {
  const rows = await db.query<{ operation: string; n: string; throttled: string }>(
    `select operation, count(*) as n, count(*) filter (where throttled) as throttled
     from marketplace_call where marketplace = ? group by operation order by operation`,
    [marketplace],
  );
  return rows.map((r) => ({ operation: r.operation, calls: Number(r.n), throttled: Number(r.throttled) }));
}

/** event_log rows per outcome (accepted / duplicate / rejected); `source` 'oms': the OMS's messages only. */
export async function eventLogOutcomes(db: Sql, source?: string): Promise<Record<string, number>> {
  const rows = await db.query<{ status: string; n: string }>(
    source === undefined
      ? 'select status, count(*) as n from event_log group by status order by status'
      : 'select status, count(*) as n from event_log where source = ? group by status order by status',
    source === undefined ? [] : [source],
  );
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

/** OMS price/stock events absorbed into another call instead of costing their own. */
export async function coalescedUpdates(db: Sql, marketplace: MarketplaceId): Promise<number> {
  const rows = await db.query<{ n: string }>(
    'select coalesce(sum(coalesced_updates), 0) as n from listing where marketplace = ?',
    [marketplace],
  );
  return Number(rows[0]?.n ?? 0);
}

/** Actor events committed but not yet covered by a snapshot. */
export async function pendingActorEvents(db: Sql): Promise<number> {
  const rows = await db.query<{ n: string }>('select count(*) as n from actor_inbox');
  return Number(rows[0]?.n ?? 0);
}

export const formatCounts = (counts: Record<string, number>) =>
  Object.entries(counts)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ') || 'none';
