import { randomBytes } from 'node:crypto';
import { type Database, migrate, openDatabase } from '../../src/persistence/database.js';

/** The real PostgreSQL of this machine (and of CI); override with TEST_DATABASE_URL. */
export const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  db: Database;
  url: string;
  /** Closes the connection and drops the database. */
  drop(): Promise<void>;
}

/** A fresh, migrated database of its own, so test files can run in parallel. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `mb_test_${randomBytes(5).toString('hex')}`;
  const admin = await openDatabase({ databaseUrl: ADMIN_URL, dataDir: '/nonexistent', poolMax: 1 });
  await admin.query(`create database ${name}`);
  await admin.close();
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const db = await openDatabase({ databaseUrl: url.toString(), dataDir: '/nonexistent' });
  await migrate(db);
  return {
    db,
    url: url.toString(),
    drop: async () => {
      await db.close();
      const a = await openDatabase({ databaseUrl: ADMIN_URL, dataDir: '/nonexistent', poolMax: 1 });
      await a.query(`drop database if exists ${name} with (force)`);
      await a.close();
    },
  };
}

/** Resolves when `check` returns true; fails with `what` after `timeoutMs`. */
export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
