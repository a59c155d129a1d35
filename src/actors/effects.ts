/** What the effects of every actor kind share: error mapping and the backoff wait. */
import type { Clock } from '../core/clock.js';
import { toFailureInfo } from '../core/errors.js';

/** Runs `fn` and turns whatever it throws into the plain FailureInfo the machines expect. */
export async function effect<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toFailureInfo(err);
  }
}

export interface BackoffSettings {
  clock: Clock;
  retryBaseMs: number;
  retryMaxMs: number;
}

/** The wait after the n-th transient failure: full jitter over base·2ⁿ⁻¹, capped, never sooner than asked. */
export async function backoffWait(
  opts: BackoffSettings,
  random: () => number,
  input: { attempt: number; retryAfterMs?: number | null },
  signal: AbortSignal,
): Promise<void> {
  const ceiling = Math.min(opts.retryMaxMs, opts.retryBaseMs * 2 ** Math.max(0, input.attempt - 1));
  const wait = Math.max(input.retryAfterMs ?? 0, Math.round(random() * ceiling));
  await opts.clock.sleep(wait, signal);
}
