/**
 * Pieces shared by the slices' local sandbox servers: the state file, the server-side token
 * buckets that answer 429, and listening on a local port.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { FastifyInstance } from 'fastify';

/** Writes a sandbox's state as JSON, atomically (a temp file renamed over the old one). */
export function writeStateFile(path: string, state: { version: number }): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(state));
  renameSync(tmp, path);
}

/** Reads a sandbox's state; undefined when the file does not exist. Only version 1 is known. */
export function readStateFile<T extends { version: number }>(path: string): T | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const state = JSON.parse(text) as T;
  if (state.version !== 1) throw new Error(`${path}: unknown state version ${String(state.version)}`);
  return state;
}

export interface SandboxBucket {
  tokens: number;
  /** Epoch ms of the last refill. */
  last: number;
}

/**
 * Takes a token from the bucket `key` (created full), refilled continuously at `rate` per second
 * up to `burst`. Returns 0 when a token was taken, else the ms until one will be there.
 */
export function takeToken<K>(
  buckets: Map<K, SandboxBucket>,
  key: K,
  rate: number,
  burst: number,
  now: number,
): number {
  const b = buckets.get(key) ?? { tokens: burst, last: now };
  b.tokens = Math.min(burst, b.tokens + (Math.max(0, now - b.last) * rate) / 1000);
  b.last = now;
  buckets.set(key, b);
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return 0;
  }
  return Math.max(1, Math.ceil(((1 - b.tokens) * 1000) / rate));
}

/** Starts `app` on `host:port` (0: any free port) and returns its base URL. */
export async function listen(
  app: FastifyInstance,
  name: string,
  port: number,
  host: string,
): Promise<string> {
  await app.listen({ port, host });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error(`${name} sandbox: no TCP address`);
  return `http://${host}:${address.port}`;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
