import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Migrator } from '@mikro-orm/migrations';
import { type EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { ALL_ENTITIES } from './entities.js';
import { Migration20261203000000 } from './migrations/Migration20261203000000.js';
import { Migration20261204000000 } from './migrations/Migration20261204000000.js';

/** Runs SQL with `?` parameters, inside whatever transaction its EntityManager is in. */
/** Every table marketbridge writes (the demo's and the benchmark's `--fresh` empty these). */
export const DATA_TABLES = [
  'actor_inbox',
  'event_log',
  'actor_snapshot',
  'listing',
  'marketplace_call',
  'queue_message',
  'backout_message',
  'outbox',
  'poll_cursor',
  'marketplace_order',
] as const;

export interface Sql {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
}

export interface Database extends Sql {
  readonly orm: MikroORM;
  /** Where the data lives, for messages (`postgres://…` without password, or the PGlite folder). */
  readonly description: string;
  readonly embedded: boolean;
  /** Runs `fn` in one transaction; everything it writes commits together or not at all. */
  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** A real PostgreSQL server; when absent, an embedded PGlite in `dataDir/pg` serves. */
  databaseUrl?: string | undefined;
  dataDir: string;
  /** Connections in the pool (real Postgres only; PGlite serves one session). */
  poolMax?: number;
  debug?: boolean;
}

const MIGRATIONS = [
  { name: 'Migration20261203000000', class: Migration20261203000000 },
  { name: 'Migration20261204000000', class: Migration20261204000000 },
];

function sqlOn(em: EntityManager): Sql {
  return {
    query: async <T>(sql: string, params: unknown[] = []) =>
      (await em.getConnection().execute(sql, params, 'all', em.getTransactionContext())) as T[],
  };
}

interface Embedded {
  url: string;
  stop(): Promise<void>;
}

/**
 * PGlite (Postgres in WASM) served over a loopback socket by pglite-socket, so the same
 * `pg` driver and SQL run against it as against a real server. It serves one session: the
 * pool is { min: 0, max: 1 } and nothing may query on a second connection inside a transaction.
 */
async function startEmbedded(dataDir: string): Promise<Embedded> {
  const dir = resolve(dataDir, 'pg');
  mkdirSync(dir, { recursive: true });
  const release = lockDataDir(dir);
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  let db: Awaited<ReturnType<typeof PGlite.create>>;
  let server: InstanceType<typeof PGLiteSocketServer>;
  try {
    db = await PGlite.create(dir);
    server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0 });
    await server.start();
  } catch (err) {
    release();
    throw err;
  }
  const conn = server.getServerConn();
  const port = Number(conn.split(':').pop());
  if (!Number.isInteger(port) || port <= 0)
    throw new Error(`embedded Postgres did not report a port (${conn})`);
  return {
    url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    stop: async () => {
      await server.stop();
      await db.close();
      release();
    },
  };
}

/**
 * PGlite files must be opened by one process at a time. A lock file holds the owner's pid; a
 * lock left by a process that no longer runs (killed) is taken over.
 */
function lockDataDir(dir: string): () => void {
  const lock = join(dir, '..', 'pg.lock');
  try {
    const owner = Number(readFileSync(lock, 'utf8').trim());
    if (owner && owner !== process.pid && isAlive(owner)) {
      throw new Error(
        `the embedded database in ${dir} is in use by process ${owner} (another marketbridge start or demo). ` +
          'Stop it first, or set DATABASE_URL to a PostgreSQL server to run several processes.',
      );
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  writeFileSync(lock, String(process.pid));
  return () => rmSync(lock, { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A killed process not yet reaped by its parent (zombie) answers the signal but holds nothing.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return true; // no /proc here: the signal said it lives
    return code === 'EPERM';
  }
}

export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  const embedded = opts.databaseUrl ? undefined : await startEmbedded(opts.dataDir);
  const clientUrl = opts.databaseUrl ?? embedded!.url;
  let orm: MikroORM;
  try {
    orm = await MikroORM.init({
      clientUrl,
      entities: ALL_ENTITIES,
      discovery: { warnWhenNoEntities: false },
      extensions: [Migrator],
      migrations: {
        migrationsList: MIGRATIONS,
        transactional: true,
        allOrNothing: true,
        snapshot: false,
        silent: true,
      },
      pool: embedded ? { min: 0, max: 1 } : { min: 0, max: opts.poolMax ?? 10 },
      // Let the pg driver read the whole URL too, so `?sslmode=require` and friends take effect.
      ...(embedded ? {} : { driverOptions: { connection: { connectionString: clientUrl } } }),
      debug: opts.debug ?? false,
      allowGlobalContext: true,
      // Keep timestamps as UTC instants and bigint ids as strings (no precision loss).
      forceUtcTimezone: true,
      // A DATABASE_URL naming a database that does not exist is a mistake to report, not to create.
      ensureDatabase: false,
    });
  } catch (err) {
    await embedded?.stop();
    throw err;
  }
  try {
    // Fails if the database does not exist (the migrator would otherwise create it silently).
    await orm.em.getConnection().execute('select 1');
  } catch (err) {
    await orm.close(true);
    await embedded?.stop();
    const code = (err as { code?: string }).code;
    if (code === '3D000') {
      throw new Error(
        `database ${new URL(clientUrl).pathname.slice(1)} does not exist (DATABASE_URL): create it first`,
      );
    }
    throw new Error(`cannot connect to the database (DATABASE_URL): ${(err as Error).message}`);
  }
  const root = orm.em;
  const url = new URL(clientUrl);
  url.password = '';
  url.search = '';
  return {
    orm,
    embedded: !!embedded,
    description: embedded ? `embedded PGlite in ${join(opts.dataDir, 'pg')}` : url.toString(),
    query: (sql, params) => sqlOn(root.fork()).query(sql, params),
    transaction: (fn) => root.fork().transactional((em) => fn(sqlOn(em as EntityManager))),
    close: async () => {
      await orm.close(true);
      await embedded?.stop();
    },
  };
}

/** Applies pending migrations; safe to call on every start. */
export async function migrate(db: Database): Promise<string[]> {
  const applied = await db.orm.getMigrator().up();
  return applied.map((m) => m.name);
}

/**
 * True when the database refused the data itself (invalid value, out of range, too large for an
 * index, a constraint) or it could not be serialised: retrying the same message cannot help.
 */
export function isContentError(err: unknown): boolean {
  if (err instanceof RangeError || err instanceof TypeError) return true;
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && /^(22|23|54)/.test(code);
}

/**
 * True when the database cannot do any work now, whatever the message: it is unreachable,
 * shutting down, out of resources, read-only, or its schema or rights are not what marketbridge
 * needs. Retrying the same message later can help; counting it towards backout would be unfair.
 */
export function isInfrastructureError(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  if (typeof code !== 'string') {
    // node-postgres says so in words when the connection itself failed.
    const message = err instanceof Error ? err.message : '';
    return /connection terminated|connection timeout|timeout exceeded when trying to connect|connection error/i.test(
      message,
    );
  }
  if (/^E[A-Z]+$/.test(code)) return true; // a socket error: ECONNREFUSED, ECONNRESET, ETIMEDOUT…
  return /^(08|40|53|57|58|3D|25006|42501|42P01|42703|55P03)/.test(code);
}
